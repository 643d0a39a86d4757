// A throwaway database directory and an in-process `tabula` runner that captures stdout and stderr.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunOptions, run } from '../../src/cli/program.js';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'tabula-cli-'));
  readonly db = join(this.dir, 'tabula.db');
  /** Structured log lines written by every run. */
  readonly logs: string[] = [];

  /** `tabula --db <sandbox db> ...argv`, with an empty environment. */
  run(argv: string[], opts: RunOptions = {}): Promise<Result> {
    return this.runRaw(['--db', this.db, ...argv], opts);
  }

  /** `tabula ...argv` without --db. */
  async runRaw(argv: string[], opts: RunOptions = {}): Promise<Result> {
    let stdout = '';
    let stderr = '';
    const code = await run(
      argv,
      { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
      { env: {}, logStream: { write: (s: string) => void this.logs.push(s) }, ...opts },
    );
    return { code, stdout, stderr };
  }

  /** Runs and insists on exit code 0, showing stderr otherwise. */
  async ok(argv: string[], opts: RunOptions = {}): Promise<string> {
    const r = await this.run(argv, opts);
    if (r.code !== 0) throw new Error(`tabula ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async okJson<T = unknown>(argv: string[]): Promise<T> {
    return JSON.parse(await this.ok(['--json', ...argv])) as T;
  }

  file(name: string, content: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, content);
    return p;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const mac = (n: number): string => `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`;

export function inventory(macs: number[], boot = macs[0] as number): string {
  return JSON.stringify({
    bootMac: mac(boot),
    nics: macs.map((n) => ({ mac: mac(n), name: `eth${n - 1}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: `0000:00:0${n}.0` })),
  });
}

/** Polls fn every 20 ms until it returns a value; throws naming `what` after ms. */
export async function waitFor<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
