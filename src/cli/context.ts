// What every command action gets: output helpers, the global options, and the engine opened lazily so
// that a usage error never touches the database.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DestinationStream } from 'pino';
import { TabulaError } from '../domain/errors.js';
import { type OpenedEngine, openEngine } from '../engine/index.js';
import type { EngineApi } from '../engine/types.js';
import { type Logger, createLogger, parseLogLevel } from '../log.js';
import type { BootTimeline } from '../boot/events.js';
import { SqliteBootStore } from '../store/boot-store.js';
import { type Style, fields, table, type Column } from './format.js';
import { UsageError } from './parse.js';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export interface RunOptions {
  /** Environment for defaults (TABULA_DB, TABULA_LOG_LEVEL); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Stops long-running commands (serve) as SIGINT/SIGTERM would. */
  signal?: AbortSignal;
  /** Where structured logs go instead of stdout (serve) or stderr (other commands). */
  logStream?: DestinationStream;
  /** Reads standard input for `-` file arguments; default process.stdin. */
  readStdin?: () => Promise<string>;
  /** ANSI styling; default: only when writing to a terminal (and NO_COLOR is unset). */
  color?: boolean;
}

export const DEFAULT_DB = './data/tabula.db';

export interface GlobalOptions {
  db?: string;
  json?: boolean;
  logLevel?: string;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** One CLI invocation's shared state: the engine and logger, created on first use and closed at the end. */
export class Session {
  private opened: OpenedEngine | undefined;
  /** The command line as run() got it (without node and the script): `serve` re-runs itself with it. */
  argv: readonly string[] = [];
  private timeline: BootTimeline | undefined;
  private log: Logger | undefined;
  /** Set by commands that succeed but report a failure (e.g. `host check` finding errors). */
  exitCode = 0;

  constructor(
    readonly io: Io,
    readonly opts: RunOptions,
    readonly style: Style,
  ) {}

  get env(): Readonly<Record<string, string | undefined>> {
    return this.opts.env ?? process.env;
  }

  logger(globals: GlobalOptions, defaults: { level: string; destination: 'stdout' | 'stderr' }): Logger {
    if (!this.log) {
      const fromEnv = this.env['TABULA_LOG_LEVEL'];
      let level = globals.logLevel ?? defaults.level;
      if (globals.logLevel === undefined && fromEnv) {
        try {
          level = parseLogLevel(fromEnv);
        } catch (e) {
          throw new UsageError(`TABULA_LOG_LEVEL: ${(e as Error).message}`);
        }
      }
      this.log = createLogger({
        level,
        name: 'tabula',
        destination: defaults.destination,
        ...(this.opts.logStream ? { stream: this.opts.logStream } : {}),
      });
    }
    return this.log;
  }

  dbPath(globals: GlobalOptions): string {
    const p = globals.db ?? this.env['TABULA_DB'] ?? DEFAULT_DB;
    if (p.trim() === '') throw new UsageError('--db: the database path is empty');
    return p;
  }

  /** The engine with its repository, opened on first use (serve hands the database to the boot services). */
  open(globals: GlobalOptions): OpenedEngine {
    if (!this.opened) {
      const dbPath = this.dbPath(globals);
      if (dbPath !== ':memory:') mkdirSync(dirname(resolve(dbPath)), { recursive: true });
      const logger = this.logger(globals, { level: 'warn', destination: 'stderr' });
      this.opened = openEngine({ dbPath, logger });
    }
    return this.opened;
  }

  engine(globals: GlobalOptions): EngineApi {
    return this.open(globals).engine;
  }

  /** The boot timeline on the same database as the engine. */
  bootTimeline(globals: GlobalOptions): BootTimeline {
    this.timeline ??= new SqliteBootStore(this.open(globals).repo);
    return this.timeline;
  }

  close(): void {
    const o = this.opened;
    this.opened = undefined;
    this.timeline = undefined;
    o?.close();
  }

  async readInput(path: string): Promise<string> {
    if (path === '-') return (this.opts.readStdin ?? readProcessStdin)();
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
      throw new TabulaError('bad-request', 'FILE_UNREADABLE', `cannot read '${path}': ${reason}`, { file: path });
    }
  }
}

/** The per-action view of the session. */
export class Ctx {
  readonly globals: GlobalOptions;
  readonly json: boolean;

  constructor(
    readonly session: Session,
    readonly command: Command,
  ) {
    this.globals = command.optsWithGlobals<GlobalOptions>();
    this.json = this.globals.json === true;
  }

  get style(): Style {
    return this.session.style;
  }

  get signal(): AbortSignal | undefined {
    return this.session.opts.signal;
  }

  engine(): EngineApi {
    return this.session.engine(this.globals);
  }

  bootTimeline(): BootTimeline {
    return this.session.bootTimeline(this.globals);
  }

  out(s: string): void {
    this.session.io.stdout(s);
  }

  err(s: string): void {
    this.session.io.stderr(s);
  }

  /** --json: the value as JSON; otherwise the human rendering. */
  print(value: unknown, human: () => string): void {
    this.out(this.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  }

  table<T>(columns: Column<T>[], rows: readonly T[]): string {
    return table(columns, rows, this.style);
  }

  fields(pairs: readonly (readonly [string, unknown])[]): string {
    return fields(pairs, this.style);
  }

  /** Exit with this code although the command ran (e.g. `host check` found errors). */
  fail(code: number): void {
    this.session.exitCode = Math.max(this.session.exitCode, code);
  }

  /** Confirms a change that returns nothing (delete, revoke). */
  done(value: Record<string, unknown>, message: string): void {
    this.print(value, () => `${message}\n`);
  }
}

/**
 * Wraps a command's action: builds the Ctx and hands over the positional arguments (as commander
 * processed them) and the command's own options.
 */
export function action<O>(session: Session, fn: (ctx: Ctx, args: unknown[], opts: O) => Promise<void> | void): (...all: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const command = all[all.length - 1] as Command;
    await fn(new Ctx(session, command), command.processedArgs as unknown[], command.opts<O & Record<string, unknown>>());
  };
}
