// A consistent copy of the database while `tabula serve` keeps running: VACUUM INTO reads one
// snapshot (a single read transaction, so WAL writers are not blocked and nothing half-written is
// copied) into a temporary file beside the destination, which is checked (integrity_check, schema
// version) and only then renamed into place. A failed or refused backup leaves no file behind.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { TabulaError, badRequest, conflict } from '../domain/errors.js';

export interface BackupResult {
  /** The backup's absolute path. */
  file: string;
  bytes: number;
  /** The newest migration the copy holds (db/migrations). */
  schemaVersion: number;
  hosts: number;
  /** What `PRAGMA integrity_check` said of the copy. */
  integrity: 'ok';
  ms: number;
}

/** Copies the database at `source` to `dest`; `force` replaces an existing `dest`. */
export function backupDatabase(source: string, dest: string, opts: { force?: boolean } = {}): BackupResult {
  const started = Date.now();
  if (source === ':memory:') throw badRequest('BACKUP_IN_MEMORY', 'an in-memory database cannot be backed up: name a database file with --db');
  const from = resolve(source);
  const to = resolve(dest);
  if (!existsSync(from)) throw new TabulaError('not-found', 'DATABASE_MISSING', `database '${source}' does not exist: nothing to back up`, { database: source });
  if (to === from) throw badRequest('BACKUP_IS_SOURCE', `the backup '${dest}' is the database itself: name another file`, { file: dest });
  if (!existsSync(dirname(to)) || !statSync(dirname(to)).isDirectory()) {
    throw badRequest('BACKUP_UNWRITABLE', `cannot write '${dest}': directory '${dirname(to)}' does not exist`, { file: dest });
  }
  if (existsSync(to)) {
    if (!opts.force) throw conflict('BACKUP_EXISTS', `'${dest}' already exists: pass --force to replace it`, { file: dest });
    if (!statSync(to).isFile()) throw badRequest('BACKUP_UNWRITABLE', `cannot replace '${dest}': it is not a regular file`, { file: dest });
  }
  const tmp = join(dirname(to), `.${basename(to)}.${process.pid}.partial`);
  rmSync(tmp, { force: true });
  try {
    const db = new Database(from, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare('VACUUM INTO ?').run(tmp);
    } finally {
      db.close();
    }
    const copy = new Database(tmp, { readonly: true, fileMustExist: true });
    let integrity: string;
    let schemaVersion: number;
    let hosts: number;
    try {
      integrity = String(copy.pragma('integrity_check', { simple: true }));
      schemaVersion = (copy.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
      hosts = (copy.prepare('SELECT COUNT(*) AS n FROM hosts').get() as { n: number }).n;
    } finally {
      copy.close();
    }
    if (integrity !== 'ok') throw new Error(`the copy failed its integrity check: ${integrity.slice(0, 200)}`);
    renameSync(tmp, to);
    return { file: to, bytes: statSync(to).size, schemaVersion, hosts, integrity: 'ok', ms: Date.now() - started };
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof TabulaError) throw e;
    throw new TabulaError('internal', 'BACKUP_FAILED', `backup of '${source}' to '${dest}' failed: ${(e as Error).message}`, { database: source, file: dest });
  }
}
