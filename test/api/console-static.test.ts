// /ui: the web console's static files, served without the API token (they hold no secrets), with
// index.html for client routes, a strict Content-Security-Policy, and a clear 503 when not built.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { type OpenedEngine, openEngine } from '../../src/engine/index.js';

const INDEX = '<!doctype html><title>console</title><script type="module" src="/ui/assets/app-1.js"></script>';

interface Served {
  base: string;
  close(): Promise<void>;
}

async function serve(opened: OpenedEngine, uiDir: string | false): Promise<Served> {
  const app = createApp({ engine: opened.engine, logger: pino({ level: 'silent' }), uiDir });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let dir: string;
let opened: OpenedEngine;
let built: Served;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabula-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("tabula")');
  opened = openEngine({ dbPath: ':memory:' });
  built = await serve(opened, dir);
});
afterAll(async () => {
  await built.close();
  opened.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (s: Served, path: string, init: RequestInit = {}) => fetch(`${s.base}${path}`, { redirect: 'manual', ...init });

describe('/ui static console', () => {
  it('redirects /ui to /ui/ (relative asset URLs need the slash)', async () => {
    const r = await get(built, '/ui');
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/ui/');
  });

  it('serves index.html at /ui/ without a token, with a CSP that allows only its own scripts', async () => {
    const r = await get(built, '/ui/');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(INDEX);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers index.html for client routes (a reload on /ui/hosts/blade1 works)', async () => {
    for (const path of ['/ui/hosts/blade1', '/ui/templates/apply.sh', '/ui/networks']) {
      const r = await get(built, path);
      expect(r.status, path).toBe(200);
      expect(await r.text(), path).toBe(INDEX);
    }
  });

  it('serves hashed assets as immutable, and a missing asset is a 404, not index.html', async () => {
    const r = await get(built, '/ui/assets/app-1.js');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('console.log("tabula")');
    expect(r.headers.get('cache-control')).toContain('immutable');
    const missing = await get(built, '/ui/assets/app-2.js');
    expect(missing.status).toBe(404);
    expect(await missing.text()).not.toContain('<!doctype html>');
  });

  it('does not read outside its directory', async () => {
    const r = await get(built, '/ui/..%2f..%2f..%2fetc%2fpasswd');
    expect(await r.text()).not.toContain('root:');
  });

  it('leaves other methods to the API (404 ROUTE_NOT_FOUND) and keeps /api/v1 authenticated', async () => {
    const post = await get(built, '/ui/', { method: 'POST' });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('ROUTE_NOT_FOUND');
    expect((await get(built, '/api/v1/hosts')).status).toBe(401);
  });

  it('says the console is not built (503 CONSOLE_NOT_BUILT) when its directory has no index.html', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tabula-ui-empty-'));
    const s = await serve(opened, empty);
    try {
      const r = await get(s, '/ui/');
      expect(r.status).toBe(503);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('CONSOLE_NOT_BUILT');
      expect(body.error.message).toContain('npm run build:ui');
    } finally {
      await s.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('serves nothing at /ui when the console is turned off', async () => {
    const s = await serve(opened, false);
    try {
      expect((await get(s, '/ui/')).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
