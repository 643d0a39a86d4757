// Shared test harness: a real engine on an in-memory database behind the real app on 127.0.0.1:0.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Express } from 'express';
import { createApp } from '../../src/api/app.js';
import { type OpenedEngine, openEngine } from '../../src/engine/index.js';
import type { InventoryReport } from '../../src/domain/model.js';

export interface Harness {
  opened: OpenedEngine;
  app: Express;
  server: Server;
  base: string;
  token: string;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Raw log output, to prove what is never logged. */
  rawLog(): string;
  close(): Promise<void>;
}

export async function startHarness(opts: { bodyLimit?: string } = {}): Promise<Harness> {
  const opened = openEngine({ dbPath: ':memory:' });
  const token = opened.engine.createToken('test').token;
  const chunks: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      chunks.push(text);
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  const app = createApp({ engine: opened.engine, logger, ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}) });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    opened,
    app,
    server,
    base: `http://127.0.0.1:${port}`,
    token,
    logs,
    rawLog: () => chunks.join(''),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      opened.close();
    },
  };
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (no JSON encoding). */
  raw?: string | Buffer;
  contentType?: string | null;
  /** undefined = the harness token; null = no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, when the response is JSON. */
  json: unknown;
}

export async function call(h: Harness, method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const token = o.token === undefined ? h.token : o.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | Blob | undefined;
  // A Buffer goes as an untyped Blob, so that fetch adds no Content-Type of its own.
  if (o.raw !== undefined) body = typeof o.raw === 'string' ? o.raw : new Blob([new Uint8Array(o.raw)]);
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
  const res = await fetch(`${h.base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, text, json: isJson && text ? (JSON.parse(text) as unknown) : undefined };
}

export const mac = (n: number): string => `52:54:00:00:03:${n.toString(16).padStart(2, '0')}`;

export function report(macs: number[], boot = macs[0] as number): InventoryReport {
  return {
    bootMac: mac(boot),
    nics: macs.map((n) => ({ mac: mac(n), name: `eth${n - 1}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: `0000:00:0${n}.0` })),
  };
}

/** Asserts the API's error shape and returns the error. */
export function errorOf(r: CallResult): { code: string; message: string; details: Record<string, unknown> } {
  const body = r.json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  if (!body || typeof body !== 'object' || !body.error) throw new Error(`not an error body (status ${r.status}): ${r.text}`);
  const keys = Object.keys(body).sort();
  const errKeys = Object.keys(body.error).sort();
  if (keys.join() !== 'error' || errKeys.join() !== 'code,details,message') throw new Error(`bad error shape: ${r.text}`);
  const { code, message, details } = body.error;
  if (typeof code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(code)) throw new Error(`code is not SCREAMING_SNAKE: ${String(code)}`);
  if (typeof message !== 'string' || message.length === 0) throw new Error('empty message');
  if (!details || typeof details !== 'object' || Array.isArray(details)) throw new Error('details is not an object');
  return { code, message, details: details as Record<string, unknown> };
}
