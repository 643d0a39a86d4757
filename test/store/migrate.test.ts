import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPackageRoot, migrate } from '../../src/store/migrate.js';
import { SqliteRepository } from '../../src/store/sqlite.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tabula-store-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The shipped migrations (db/migrations), in version order: every boot-service migration joins this list. */
const shipped = (): string[] =>
  fs
    .readdirSync(path.join(findPackageRoot(), 'db', 'migrations'))
    .filter((f) => /^\d+_[A-Za-z0-9_.-]+\.sql$/.test(f))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
const shippedVersions = (): number[] => shipped().map((f) => parseInt(f, 10));

const versions = (db: Database.Database): number[] =>
  (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);

describe('findPackageRoot', () => {
  it('finds the directory holding Tabula’s package.json and db/migrations', () => {
    const root = findPackageRoot();
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe('tabula');
    expect(fs.existsSync(path.join(root, 'db', 'migrations', '001_initial.sql'))).toBe(true);
  });
});

describe('migrate', () => {
  it('applies every migration once and nothing on a second run', () => {
    const db = new Database(':memory:');
    try {
      expect(shipped().slice(0, 2)).toEqual(['001_initial.sql', '002_boot.sql']);
      expect(migrate(db).applied).toEqual(shipped());
      expect(versions(db)).toEqual(shippedVersions());
      expect(migrate(db).applied).toEqual([]);
      expect(versions(db)).toEqual(shippedVersions());
      const row = db.prepare('SELECT name, applied_at FROM schema_migrations WHERE version = 1').get() as { name: string; applied_at: string };
      expect(row.name).toBe('initial');
      expect(new Date(row.applied_at).toISOString()).toBe(row.applied_at);
    } finally {
      db.close();
    }
  });

  it('is idempotent when a file database is reopened, and keeps the data', () => {
    const file = path.join(tmp, 'nested', 'dir', 'tabula.db');
    const a = SqliteRepository.open(file);
    a.insertToken('ci', 'h1');
    a.close();
    const b = SqliteRepository.open(file);
    try {
      expect(versions(b.db)).toEqual(shippedVersions());
      expect(b.listClusters().map((c) => c.name)).toEqual(['default']);
      expect(b.listTokens().map((t) => t.name)).toEqual(['ci']);
    } finally {
      b.close();
    }
  });

  it('applies only the missing migrations, in version order, each recorded', () => {
    const dir = path.join(tmp, 'migrations');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '001_a.sql'), 'CREATE TABLE a (x INTEGER);');
    fs.writeFileSync(path.join(dir, '010_c.sql'), 'CREATE TABLE c (x INTEGER); INSERT INTO c VALUES (1);');
    fs.writeFileSync(path.join(dir, 'README.md'), 'not a migration');
    const db = new Database(':memory:');
    try {
      expect(migrate(db, dir).applied).toEqual(['001_a.sql', '010_c.sql']);
      fs.writeFileSync(path.join(dir, '011_d.sql'), 'CREATE TABLE d (x INTEGER);');
      expect(migrate(db, dir).applied).toEqual(['011_d.sql']);
      expect(versions(db)).toEqual([1, 10, 11]);
    } finally {
      db.close();
    }
  });

  it('rolls back a failing migration completely and records nothing for it', () => {
    const dir = path.join(tmp, 'migrations');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '001_ok.sql'), 'CREATE TABLE ok (x INTEGER);');
    fs.writeFileSync(path.join(dir, '002_bad.sql'), 'CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);');
    const db = new Database(':memory:');
    try {
      expect(() => migrate(db, dir)).toThrow(/nowhere/);
      expect(versions(db)).toEqual([1]);
      const half = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'half'").get() as { n: number };
      expect(half.n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('refuses a database holding a version the code does not know, naming both versions, and leaves it untouched', () => {
    const file = path.join(tmp, 'future.db');
    SqliteRepository.open(file).close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from_the_future', '2099-01-01T00:00:00.000Z')").run();
    raw.close();
    const latest = shippedVersions().at(-1) as number;
    expect(() => SqliteRepository.open(file)).toThrow(new RegExp(`999.*\\b${latest}\\b`));
    const after = new Database(file);
    try {
      expect(versions(after)).toEqual([...shippedVersions(), 999]);
    } finally {
      after.close();
    }
  });

  it('refuses two files with the same version', () => {
    const dir = path.join(tmp, 'migrations');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '001_a.sql'), 'SELECT 1;');
    fs.writeFileSync(path.join(dir, '1_b.sql'), 'SELECT 1;');
    const db = new Database(':memory:');
    try {
      expect(() => migrate(db, dir)).toThrow(/version 1/);
    } finally {
      db.close();
    }
  });
});

describe('SqliteRepository.open', () => {
  it('turns on WAL, foreign keys, busy timeout and synchronous=NORMAL for a file database', () => {
    const repo = SqliteRepository.open(path.join(tmp, 'x', 'tabula.db'));
    try {
      expect(repo.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(repo.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(repo.db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(repo.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    } finally {
      repo.close();
    }
  });

  it('turns on foreign keys for an in-memory database', () => {
    const repo = SqliteRepository.openInMemory();
    try {
      expect(repo.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(repo.db.pragma('journal_mode', { simple: true })).toBe('memory');
    } finally {
      repo.close();
    }
  });
});
