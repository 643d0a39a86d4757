// Error mapping: engine error kinds to statuses, and unexpected failures to a logged, opaque 500.
// (A stub engine is fine here: nothing in this file asserts anything about the database.)
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { toErrorResponse } from '../../src/api/errors.js';
import { TabulaError } from '../../src/domain/errors.js';
import type { EngineApi } from '../../src/engine/types.js';

describe('toErrorResponse', () => {
  it('maps each TabulaError kind to its status and keeps code, message and details', () => {
    const cases: [TabulaError['kind'], number][] = [
      ['validation', 422],
      ['bad-request', 400],
      ['not-found', 404],
      ['conflict', 409],
      ['unauthorized', 401],
    ];
    for (const [kind, status] of cases) {
      const r = toErrorResponse(new TabulaError(kind, 'SOME_CODE', 'what went wrong', { a: 1 }));
      expect(r.status, kind).toBe(status);
      expect(r.internal).toBe(false);
      expect(r.body).toEqual({ error: { code: 'SOME_CODE', message: 'what went wrong', details: { a: 1 } } });
    }
  });

  it('hides internal errors behind INTERNAL', () => {
    for (const err of [new TabulaError('internal', 'DB_BROKEN', 'disk /var/lib/x is full'), new Error('SQLITE_CORRUPT at /secret'), 'a string', null]) {
      const r = toErrorResponse(err);
      expect(r.status).toBe(500);
      expect(r.internal).toBe(true);
      expect(r.body.error.code).toBe('INTERNAL');
      expect(JSON.stringify(r.body)).not.toMatch(/secret|disk|SQLITE/);
    }
  });
});

describe('an unexpected failure in a handler', () => {
  it('answers 500 INTERNAL with a generic message and logs the stack', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const engine = new Proxy({} as EngineApi, {
      get(_t, prop) {
        if (prop === 'verifyToken') return () => true;
        return () => {
          throw new Error('boom: /var/lib/tabula/tabula.db is locked');
        };
      },
    });
    const app = createApp({ engine, logger: pino({ level: 'info' }, stream) });
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/clusters`, { headers: { authorization: 'Bearer whatever-token' } });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: expect.any(String) as string, details: {} } });
      expect(text).not.toContain('boom');
      const logged = lines.find((l) => l.msg === 'unhandled error');
      expect(logged).toBeDefined();
      expect(String((logged?.err as { stack?: string } | undefined)?.stack)).toContain('boom');
      expect(JSON.stringify(lines)).not.toContain('whatever-token');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
