// Schema migrations: numbered SQL files in db/migrations (NNN_name.sql), applied in order at open and
// recorded in schema_migrations. A database holding a version this code does not know is refused.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';

let packageRoot: string | undefined;

/**
 * The directory holding Tabula's package.json, found by walking up from this module. Works from
 * src/ (vitest, tsx) and from dist/ (after tsc), so db/, templates/ and pxe/ can be located from it.
 */
export function findPackageRoot(): string {
  if (packageRoot !== undefined) return packageRoot;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      packageRoot = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json found above ${start}`);
  }
}

interface MigrationFile {
  version: number;
  name: string;
  file: string;
}

const FILE_RE = /^(\d+)_([A-Za-z0-9_.-]+)\.sql$/;

function readMigrations(dir: string): MigrationFile[] {
  const out: MigrationFile[] = [];
  for (const entry of fs.readdirSync(dir)) {
    const m = FILE_RE.exec(entry);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2] as string, file: path.join(dir, entry) });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    const prev = out[i - 1] as MigrationFile;
    const cur = out[i] as MigrationFile;
    if (prev.version === cur.version) {
      throw new Error(`two migrations share version ${cur.version}: ${path.basename(prev.file)} and ${path.basename(cur.file)}`);
    }
  }
  return out;
}

/**
 * Applies the migrations of `dir` (default: <package root>/db/migrations) that the database lacks,
 * each in its own transaction. Returns the names of the files applied (empty when up to date).
 */
export function migrate(db: Database.Database, dir?: string): { applied: string[] } {
  const migrations = readMigrations(dir ?? path.join(findPackageRoot(), 'db', 'migrations'));
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const done = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
  const known = new Set(migrations.map((m) => m.version));
  const latest = migrations.length > 0 ? (migrations[migrations.length - 1] as MigrationFile).version : 0;
  const unknown = done.filter((v) => !known.has(v));
  if (unknown.length > 0) {
    // Never touch a database written by newer code: its schema may mean something we would corrupt.
    throw new Error(
      `database schema version ${Math.max(...unknown)} is unknown to this version of Tabula (it knows versions up to ${latest}); refusing to open it`,
    );
  }
  const applied: string[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const doneSet = new Set(done);
  for (const m of migrations) {
    if (doneSet.has(m.version)) continue;
    const sql = fs.readFileSync(m.file, 'utf8');
    db.transaction(() => {
      db.exec(sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
    applied.push(path.basename(m.file));
  }
  return { applied };
}
