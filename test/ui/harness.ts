// What the browser tests of the console share: the built console (dist/ui when it is fresh, else a
// vite build into a temporary directory) and Debian's chromium.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_UI_DIR } from '../../src/api/app.js';

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
