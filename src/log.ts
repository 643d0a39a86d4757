// Tabula's one logger factory: structured JSON lines (pino), shared by the engine, the API, the CLI
// and the boot services.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The level itself, or an Error naming the bad value and the accepted ones. */
export function parseLogLevel(value: string): LogLevel {
  const v = value.trim().toLowerCase();
  if (!isLogLevel(v)) throw new Error(`invalid log level '${value}': expected one of ${LOG_LEVELS.join(', ')}`);
  return v;
}

export interface LoggerOptions {
  /** Default 'info'. Validated: an unknown level throws. */
  level?: string;
  /** The `name` field of every line; default 'tabula'. */
  name?: string;
  /** Default 'stdout'. */
  destination?: 'stdout' | 'stderr';
  /** Write here instead of a standard stream (tests, embedding); takes precedence over destination. */
  stream?: DestinationStream;
}

/**
 * A pino logger writing one JSON object per line: `level` as a label ("info"), ISO `time`, `name`,
 * `pid`, `hostname`, `msg` and the structured fields given at the call site.
 * Writes are synchronous so that nothing is lost when a short-lived command exits.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = parseLogLevel(opts.level ?? 'info');
  const stream = opts.stream ?? pino.destination({ dest: opts.destination === 'stderr' ? 2 : 1, sync: true });
  return pino(
    {
      name: opts.name ?? 'tabula',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}
