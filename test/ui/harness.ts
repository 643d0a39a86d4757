// What the browser tests of the console share: the built console (dist/ui when it is fresh, else a
// vite build into a temporary directory), Debian's chromium, and startConsole: the seeded API and
// a browser page a test file runs against.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, pino } from 'pino';
import { type Browser, type Page, chromium } from 'playwright-core';
import { type AppOptions, DEFAULT_UI_DIR, createApp } from '../../src/api/app.js';
import { type OpenedEngine, openEngine } from '../../src/engine/index.js';

export const CHROMIUM = process.env.TABULA_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const IS_ROOT = process.getuid?.() === 0;
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const SHOTS = join(REPO, 'docs', 'console');
/** chromium flags for a root container without a GPU. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];

/** Newest modification time under a directory (the console's sources). */
function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/** dist/ui when it is newer than ui/, else a fresh vite build into a temporary directory. */
export async function consoleDir(tmp: string): Promise<string> {
  const index = join(DEFAULT_UI_DIR, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(REPO, 'ui'))) return DEFAULT_UI_DIR;
  const out = join(tmp, 'ui');
  const { build } = await import('vite');
  await build({ configFile: join(REPO, 'ui', 'vite.config.ts'), logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  return out;
}

/** A running console for one test file: a seeded temporary database, the API on 127.0.0.1, chromium. */
export interface ConsoleRig {
  tmp: string;
  opened: OpenedEngine;
  server: Server;
  /** http://127.0.0.1:PORT */
  base: string;
  /** The console's API token (already in sessionStorage when `login` was asked for). */
  token: string;
  browser: Browser;
  page: Page;
  /** Closes the browser, the server and the database and removes the temporary directory. */
  stop(): Promise<void>;
}

export interface ConsoleRigOptions {
  /** Prefix of the temporary directory, e.g. 'tabula-console-ovs-'. */
  prefix: string;
  seed(opened: OpenedEngine): void;
  /** Extra createApp options built once the engine is open (the boot chain, for example). */
  app?(opened: OpenedEngine, tmp: string, logger: Logger): Partial<AppOptions>;
  /** Put the token in sessionStorage before the first test, so pages open logged in. */
  login?: boolean;
  /** The page's default timeout in ms. */
  waitMs: number;
}

/** Starts what a console test file needs; the caller's afterAll calls stop() (also after a failed start). */
export async function startConsole(opts: ConsoleRigOptions): Promise<ConsoleRig> {
  if (!HAVE_CHROMIUM) throw new Error(`chromium is missing at ${CHROMIUM}: run test/support/ensure-deps.sh (it installs Debian's chromium), or set TABULA_CHROMIUM`);
  const tmp = mkdtempSync(join(tmpdir(), opts.prefix));
  let opened: OpenedEngine | undefined;
  let server: Server | undefined;
  let browser: Browser | undefined;
  const stop = async (): Promise<void> => {
    await browser?.close();
    if (server) {
      const s = server;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    opened?.close();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const uiDir = await consoleDir(tmp);
    const logger = pino({ level: 'silent' });
    opened = openEngine({ dbPath: join(tmp, 'tabula.db'), logger });
    const token = opened.engine.createToken('console').token;
    opts.seed(opened);
    server = createServer(createApp({ engine: opened.engine, logger, uiDir, ...opts.app?.(opened, tmp, logger) }));
    const s = server;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(opts.waitMs);
    // Script errors in the page fail the run loudly rather than as a mysterious timeout.
    page.on('pageerror', (err) => console.error(`console page error: ${err.message}`));
    if (opts.login) {
      await page.goto(`${base}/ui/`);
      await page.evaluate((t) => sessionStorage.setItem('tabula.token', t), token);
    }
    return { tmp, opened, server, base, token, browser, page, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
