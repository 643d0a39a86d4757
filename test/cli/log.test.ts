import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, createLogger, parseLogLevel } from '../../src/log.js';

describe('createLogger', () => {
  it('writes one JSON object per line with a level label, ISO time, name and the fields given', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', name: 'unit', stream: { write: (s: string) => void lines.push(s) } });
    log.debug({ host: 'blade1', changes: 2 }, 'inventory reconciled');
    log.trace('not written');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'debug', name: 'unit', host: 'blade1', changes: 2, msg: 'inventory reconciled' });
    expect(new Date(line['time'] as string).toISOString()).toBe(line['time']);
  });

  it('defaults to info and refuses an unknown level with a clear message', () => {
    const lines: string[] = [];
    const log = createLogger({ stream: { write: (s: string) => void lines.push(s) } });
    expect(log.level).toBe('info');
    log.debug('hidden');
    log.info('shown');
    expect(lines).toHaveLength(1);
    expect(() => createLogger({ level: 'verbose' })).toThrow("invalid log level 'verbose': expected one of fatal, error, warn, info, debug, trace, silent");
    expect(createLogger({ level: 'silent', destination: 'stderr' }).level).toBe('silent');
    expect(LOG_LEVELS.map(parseLogLevel)).toEqual([...LOG_LEVELS]);
    expect(parseLogLevel(' WARN ')).toBe('warn');
  });
});
