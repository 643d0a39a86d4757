// Shared plumbing for the benchmarks: peer installation, machine facts, the RESULT line and the
// docs/benchmarks.md record. Namespaces come from test/support/netns.ts (same rules as the tests).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, commandPath, netnsUnavailable } from '../test/support/netns.js';

/** The repository root (this file runs from node_modules/.cache/tabula-bench/bench/). */
export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
/** The CLI compiled alongside the benchmarks. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');

function findRoot(from: string): string {
  for (let d = from; d !== path.dirname(d); d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json')) && existsSync(path.join(d, 'bench'))) return d;
  }
  throw new Error(`no repository root above ${from}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Installs a Debian package when `binary` is missing. Needs root; services are not started here. */
export function ensurePackage(pkg: string, binary: string): string {
  const found = commandPath(binary);
  if (found) return found;
  console.log(`installing ${pkg} (apt-get) for ${binary}`);
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const after = commandPath(binary);
  if (!after) throw new Error(`${pkg} installed but ${binary} is not on PATH`);
  return after;
}

export function requireNetns(needs: readonly string[] = []): void {
  const why = netnsUnavailable(needs);
  if (why) throw new Error(`cannot benchmark: ${why}`);
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${os.release()}, Node ${process.version}`;
}

/** The 1-minute load average, printed next to every figure (the machine is shared). */
export const load = (): string => os.loadavg()[0]!.toFixed(2);

/** A lab whose namespaces go away on exit, on an uncaught error and on Ctrl-C / SIGTERM. */
export function benchLab(label: string): NetnsLab {
  const lab = new NetnsLab(`bench-${label}`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: removing namespaces`);
      lab.cleanupSync();
      process.exit(130);
    });
  }
  return lab;
}

export interface Record {
  name: string;
  command: string;
  peers: string[];
  /** Markdown lines: the figures. */
  lines: string[];
  result: { value: number; unit: string; ratio: number | null; peer: string };
}

/** Prints the RESULT line last and appends the run to docs/benchmarks.md. */
export function finish(r: Record): void {
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const md = [
    '',
    `### ${r.name} — ${when}`,
    '',
    `Machine: ${machine()}. Command: \`${process.env['TABULA_BENCH_COMMAND'] ?? r.command}\`.`,
    '',
    ...r.peers.map((p) => `- Peer: ${p}`),
    '',
    ...r.lines,
    '',
  ];
  appendFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), md.join('\n'));
  const ratio = r.result.ratio === null ? 'n/a' : r.result.ratio.toFixed(2);
  console.log(`RESULT ${r.name} ${fmt(r.result.value)} ${r.result.unit} ratio=${ratio} peer=${r.result.peer}`);
}

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Geometric mean: the summary ratio over several configurations. */
export function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}
