// Opening the engine on a database: the one place that wires the SQLite store to the engine.
import type { Logger } from 'pino';
import type { BootBackend } from '../boot/http/backend.js';
import type { Registry } from '../metrics.js';
import { SqliteBootStore } from '../store/boot-store.js';
import { SqliteRepository } from '../store/sqlite.js';
import { templateServiceFor } from '../templates/service.js';
import { Engine } from './engine.js';

export { Engine } from './engine.js';
export type * from './types.js';

export interface OpenedEngine {
  engine: Engine;
  repo: SqliteRepository;
  close(): void;
}

/** dbPath ':memory:' gives a throwaway database (tests, previews). */
export function openEngine(opts: { dbPath: string; logger?: Logger }): OpenedEngine {
  const repo = opts.dbPath === ':memory:' ? SqliteRepository.openInMemory() : SqliteRepository.open(opts.dbPath);
  const engine = new Engine(repo, opts.logger ? { logger: opts.logger } : {});
  return { engine, repo, close: () => repo.close() };
}

/**
 * The HTTP boot chain's backend on the engine's database: the repository for host lookups, the
 * SQLite boot store, and the template service the API's previews share (one per database).
 */
export function sqliteBootBackend(opened: OpenedEngine, opts: { metrics?: Registry; logger?: Logger } = {}): BootBackend {
  return {
    hosts: opened.repo,
    store: new SqliteBootStore(opened.repo, opts),
    templates: templateServiceFor(opened.engine, opened.repo),
  };
}
