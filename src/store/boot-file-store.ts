// The boot file overrides (src/boot/dhcp/boot-files.ts) in the boot_files table of migration 006.
import type Database from 'better-sqlite3';
import {
  type BootFileIndex,
  type BootFileKey,
  type BootFileMap,
  type BootFilePatch,
  BootFileService,
  type BootFileStore,
} from '../boot/dhcp/boot-files.js';
import { TabulaError } from '../domain/errors.js';
import type { EngineApi } from '../engine/types.js';
import { SqliteRepository } from './sqlite.js';

interface Row {
  cluster_id: number | null;
  host_id: number | null;
  key: BootFileKey;
  value: string;
}

export class SqliteBootFileStore implements BootFileStore {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  forCluster(clusterId: number): BootFileMap {
    return toMap(this.db.prepare('SELECT * FROM boot_files WHERE cluster_id = ?').all(clusterId) as Row[]);
  }

  forHost(hostId: number): BootFileMap {
    return toMap(this.db.prepare('SELECT * FROM boot_files WHERE host_id = ?').all(hostId) as Row[]);
  }

  all(): BootFileIndex {
    const idx: BootFileIndex = { clusters: new Map(), hosts: new Map() };
    for (const r of this.db.prepare('SELECT * FROM boot_files').all() as Row[]) {
      const [map, id] = r.cluster_id !== null ? [idx.clusters, r.cluster_id] : [idx.hosts, r.host_id as number];
      map.set(id, { ...(map.get(id) ?? {}), [r.key]: r.value });
    }
    return idx;
  }

  apply(owner: { clusterId: number } | { hostId: number }, patch: BootFilePatch): void {
    const [column, id] = 'clusterId' in owner ? (['cluster_id', owner.clusterId] as const) : (['host_id', owner.hostId] as const);
    const now = new Date().toISOString();
    const del = this.db.prepare(`DELETE FROM boot_files WHERE ${column} = ? AND key = ?`);
    const ins = this.db.prepare(`INSERT INTO boot_files (${column}, key, value, updated_at) VALUES (?, ?, ?, ?)`);
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(patch) as Array<[BootFileKey, string | null]>) {
        del.run(id, key);
        if (value !== null) ins.run(id, key, value, now);
      }
    })();
  }
}

function toMap(rows: Row[]): BootFileMap {
  const m: BootFileMap = {};
  for (const r of rows) m[r.key] = r.value;
  return m;
}

/** The service behind an engine opened on SQLite (the API gets only the engine). */
export function bootFileServiceOf(engine: EngineApi): BootFileService {
  const repo = (engine as { repo?: unknown }).repo;
  if (!(repo instanceof SqliteRepository)) {
    throw new TabulaError('internal', 'BOOT_FILES_UNAVAILABLE', 'boot file overrides need the engine to run on the SQLite store');
  }
  return new BootFileService(engine, new SqliteBootFileStore(repo.db));
}
