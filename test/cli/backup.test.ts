// tabula backup: a consistent, checked copy of the database that opens as a Tabula database with the
// same content; refusals (missing database, existing file without --force, missing directory, the
// database itself) leave nothing behind.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEngine } from '../../src/engine/index.js';
import { backupDatabase } from '../../src/store/backup.js';
import { Sandbox, mac } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

async function seed(): Promise<void> {
  await sb.ok(['cluster', 'create', 'rack1']);
  await sb.ok(['network', 'create', 'rack1', 'storage', '--vlan', '200', '--mtu', '9000', '--role', 'storage']);
  for (const n of [1, 2, 3]) await sb.ok(['host', 'create', `blade${n}`, '--cluster', 'rack1', '--boot-mac', mac(n)]);
}

const errorOf = (stderr: string): { code: string; message: string } => (JSON.parse(stderr) as { error: { code: string; message: string } }).error;

describe('tabula backup', () => {
  it('writes a copy that opens as the same database, says what it holds, and --json gives the figures', async () => {
    await seed();
    const file = join(sb.dir, 'tabula-backup.db');
    const r = await sb.run(['backup', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^copying .*tabula\.db \(\d+\.\d MiB\)\.\.\.\n$/);
    expect(r.stdout).toMatch(new RegExp(`written to ${file}: \\d+\\.\\d MiB, schema \\d{3}, 3 host\\(s\\), integrity ok, \\d+ ms\\n$`));

    // The copy opens through the engine (migrations find nothing to do) with the same content.
    const copy = openEngine({ dbPath: file });
    try {
      expect(copy.engine.listHosts().map((h) => h.name)).toEqual(['blade1', 'blade2', 'blade3']);
      expect(copy.engine.listNetworks('rack1').map((n) => [n.name, n.vlan, n.mtu])).toContainEqual(['storage', 200, 9000]);
    } finally {
      copy.close();
    }

    const again = JSON.parse(await sb.ok(['--json', 'backup', file, '--force'])) as { file: string; hosts: number; schemaVersion: number; integrity: string; bytes: number };
    expect(again).toMatchObject({ file, hosts: 3, integrity: 'ok' });
    expect(again.schemaVersion).toBeGreaterThanOrEqual(10);
    expect(again.bytes).toBeGreaterThan(0);
    expect(readdirSync(sb.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('copies the state committed at the moment of the backup while another connection holds the database open and writes', async () => {
    await seed();
    // A second connection, as `tabula serve` would hold: it writes before and after the backup.
    const writer = new Database(sb.db);
    try {
      writer.prepare("UPDATE hosts SET state = 'maintenance' WHERE name = 'blade1'").run();
      const r = backupDatabase(sb.db, join(sb.dir, 'snap.db'));
      writer.prepare("UPDATE hosts SET state = 'active' WHERE name = 'blade1'").run();
      expect(r.hosts).toBe(3);
    } finally {
      writer.close();
    }
    const snap = new Database(join(sb.dir, 'snap.db'), { readonly: true });
    try {
      expect(snap.prepare("SELECT state FROM hosts WHERE name = 'blade1'").get()).toEqual({ state: 'maintenance' });
    } finally {
      snap.close();
    }
  });

  it('refuses, with a code and without leaving a file: an existing file, a missing directory, the database itself, no database, an in-memory one, a file that is no database', async () => {
    await seed();
    const existing = join(sb.dir, 'old.db');
    writeFileSync(existing, 'an older backup');
    const exists = await sb.run(['--json', 'backup', existing]);
    expect(exists.code).toBe(1);
    expect(errorOf(exists.stderr)).toMatchObject({ code: 'BACKUP_EXISTS', message: expect.stringContaining('pass --force') });
    expect(readFileSync(existing, 'utf8')).toBe('an older backup');

    const nodir = await sb.run(['--json', 'backup', join(sb.dir, 'no', 'such', 'dir', 'b.db')]);
    expect(nodir.code).toBe(1);
    expect(errorOf(nodir.stderr).code).toBe('BACKUP_UNWRITABLE');

    const self = await sb.run(['--json', 'backup', sb.db]);
    expect(self.code).toBe(1);
    expect(errorOf(self.stderr).code).toBe('BACKUP_IS_SOURCE');

    const missing = await sb.runRaw(['--json', '--db', join(sb.dir, 'never.db'), 'backup', join(sb.dir, 'b.db')]);
    expect(missing.code).toBe(1);
    expect(errorOf(missing.stderr).code).toBe('DATABASE_MISSING');

    const memory = await sb.runRaw(['--json', '--db', ':memory:', 'backup', join(sb.dir, 'b.db')]);
    expect(memory.code).toBe(1);
    expect(errorOf(memory.stderr).code).toBe('BACKUP_IN_MEMORY');

    // Bad input: a file that is not a Tabula database.
    const notDb = join(sb.dir, 'notes.txt');
    writeFileSync(notDb, 'not a database at all, just some text that is long enough to fill a page header');
    const garbage = await sb.runRaw(['--json', '--db', notDb, 'backup', join(sb.dir, 'b.db')]);
    expect(garbage.code).toBe(1);
    expect(errorOf(garbage.stderr)).toMatchObject({ code: 'BACKUP_FAILED', message: expect.stringContaining('notes.txt') });

    // Nothing but the database's own files and the untouched old backup.
    expect(readdirSync(sb.dir).filter((f) => !f.startsWith('tabula.db')).sort()).toEqual(['notes.txt', 'old.db']);
  });
});
