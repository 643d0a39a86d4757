// A real engine (in memory unless a file is given) behind the real app with the boot services mounted,
// on 127.0.0.1:0, with a temporary boot directory holding small fake vmlinuz and initrd.img files.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { pino } from 'pino';
import { createApp } from '../../../src/api/app.js';
import { type BootServices, createBootServices } from '../../../src/boot/http/index.js';
import { type OpenedEngine, openEngine, sqliteBootBackend } from '../../../src/engine/index.js';
import { Registry } from '../../../src/metrics.js';

export const PUBLIC_URL = 'http://10.77.0.1:8080';

export interface BootHarness {
  opened: OpenedEngine;
  services: BootServices;
  metrics: Registry;
  app: Express;
  server: Server;
  base: string;
  /** An API token (for /api/v1). */
  adminToken: string;
  dir: string;
  bootDir: string;
  kernel: Buffer;
  initrd: Buffer;
  /** Everything the app and the engine logged. */
  rawLog(): string;
  close(): Promise<void>;
}

export async function startBootHarness(opts: { dbPath?: string; withArtefacts?: boolean } = {}): Promise<BootHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-boot-http-'));
  const bootDir = join(dir, 'pxe');
  const kernel = randomBytes(5000);
  const initrd = randomBytes(12345);
  mkdirSync(bootDir);
  if (opts.withArtefacts !== false) {
    writeFileSync(join(bootDir, 'vmlinuz'), kernel);
    writeFileSync(join(bootDir, 'initrd.img'), initrd);
  }
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  const opened = openEngine({ dbPath: opts.dbPath ?? ':memory:', logger });
  const adminToken = opened.engine.createToken('admin').token;
  const metrics = new Registry();
  const backend = sqliteBootBackend(opened, { metrics, logger });
  const services = createBootServices({ engine: opened.engine, backend, publicUrl: `${PUBLIC_URL}/`, bootDir, metrics, logger });
  const app = createApp({ engine: opened.engine, logger, boot: services, metrics, bootTimeline: services.store });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    opened,
    services,
    metrics,
    app,
    server,
    base: `http://127.0.0.1:${port}`,
    adminToken,
    dir,
    bootDir,
    kernel,
    initrd,
    rawLog: () => chunks.join(''),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
  json: unknown;
}

export interface RequestOptions {
  /** Sent as Authorization: Bearer. */
  token?: string;
  /** Sent as X-Tabula-Token. */
  xToken?: string;
  /** JSON-encoded. */
  json?: unknown;
  /** Sent as is. */
  raw?: string;
  headers?: Record<string, string>;
}

export async function send(h: BootHarness, method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.xToken !== undefined) headers['x-tabula-token'] = o.xToken;
  let body: string | undefined;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] ??= 'application/json';
  } else if (o.raw !== undefined) body = o.raw;
  const res = await fetch(`${h.base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, body: buf, text, json: isJson && text ? (JSON.parse(text) as unknown) : undefined };
}

export function errorCode(r: Reply): string {
  const e = (r.json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || typeof e.details !== 'object') throw new Error(`not an error body (${r.status}): ${r.text}`);
  return e.code;
}

/** 52:54:00:00:05:<n> */
export const mac = (n: number): string => `52:54:00:00:05:${n.toString(16).padStart(2, '0')}`;
export const hyp = (m: string): string => m.replace(/:/g, '-');

export function inventory(macs: number[], boot = macs[0] as number): { bootMac: string; nics: { mac: string; name: string; driver: string; speed: number; carrier: boolean }[] } {
  return { bootMac: mac(boot), nics: macs.map((n, i) => ({ mac: mac(n), name: `eth${i}`, driver: 'virtio_net', speed: 10000, carrier: true })) };
}

export function tokenOf(script: string): string {
  const m = /tabula\.token=(\S+)/.exec(script);
  if (!m?.[1]) throw new Error(`no token in script:\n${script}`);
  return m[1];
}

/** /ipxe then inventory: the host exists with its NICs; returns its id and the boot token. */
export async function bootHost(h: BootHarness, macs: number[]): Promise<{ hostId: number; token: string; mac: string }> {
  const m = mac(macs[0] as number);
  const script = await send(h, 'GET', `/boot/${hyp(m)}/ipxe`);
  if (script.status !== 200) throw new Error(`ipxe ${script.status}: ${script.text}`);
  const token = tokenOf(script.text);
  const inv = await send(h, 'POST', `/boot/${hyp(m)}/inventory`, { token, json: inventory(macs) });
  if (inv.status !== 200) throw new Error(`inventory ${inv.status}: ${inv.text}`);
  const host = h.opened.repo.findHostByMac(m);
  if (!host) throw new Error('host not enrolled');
  return { hostId: host.id, token, mac: m };
}
