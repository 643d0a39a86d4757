// Opening the engine on a database: the one place that wires the SQLite store to the engine.
import type { Logger } from 'pino';
import { SqliteRepository } from '../store/sqlite.js';
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
