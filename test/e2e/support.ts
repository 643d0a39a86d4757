// Shared pieces of the end-to-end tests: the rack's lifecycle, what a blade reported (the server's
// report route when it has one, else the checks the blade printed on its serial console), and the
// failure folder every test names when it fails.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { labUnavailable } from '../../src/cli/commands/lab.js';
import type { HostPlan, InterfaceState } from '../../src/domain/plan-types.js';
import { type LabState, apiOk } from '../../src/lab/rack.js';
import { type ReportCheck, hostReport } from '../../src/lab/watch.js';
import { REPO, commandPath, run } from '../support/netns.js';

export const ARTEFACTS = path.join(REPO, 'node_modules', '.cache', 'tabula-e2e');
export const TFTP_ROOT = path.join(REPO, 'pxe', 'build');

/** Why the e2e tests cannot run here, or null. */
export function e2eUnavailable(): string | null {
  const why = labUnavailable('mixed');
  if (why) return why;
  if (!commandPath('busybox')) return "'busybox' is not installed (apt-get install busybox-static)";
  const built = existsSync(path.join(TFTP_ROOT, 'vmlinuz')) && existsSync(path.join(TFTP_ROOT, 'initrd.img'));
  if (!built && !commandPath('apt-get')) return 'pxe/build is empty and npm run build:pxe needs Debian';
  return null;
}

/** The boot image (cached build: quick when nothing changed). */
export function ensureImage(): void {
  execFileSync('bash', [path.join(REPO, 'pxe', 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
}

/**
 * Builds the CLI into a folder of this test process alone: the rack's server runs from it for minutes,
 * and the namespace tests' shared build (test/support/netns.ts) may be rebuilt meanwhile by another
 * vitest run. Type errors still emit JavaScript; they are the type check's business.
 */
export async function buildLabCli(): Promise<{ main: string; dir: string }> {
  const dir = path.join(ARTEFACTS, `dist-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const r = await run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', dir], 300_000);
  const main = path.join(dir, 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`tsc produced no ${main} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return { main, dir };
}

/** Copies the blades' serial logs, QEMU logs and the server log to a fresh folder; returns it. */
export function saveArtefacts(s: LabState, label: string): string {
  const dir = path.join(ARTEFACTS, `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(s.dir)) {
    if (/\.(serial|previous|log|qemu-args|conf)$/.test(f) || f === 'state.json' || f.startsWith('tabula.db')) copyFileSync(path.join(s.dir, f), path.join(dir, f));
  }
  return dir;
}

/** Runs a test body; on failure the error names the folder holding the logs. */
export async function withArtefacts<T>(s: () => LabState | null, label: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const lab = s();
    const where = lab ? saveArtefacts(lab, label) : '(no lab)';
    const err = e as Error;
    err.message = `${err.message}\n(blade serial logs and server log: ${where})`;
    throw err;
  }
}

/** Checks the blade printed for its latest apply (`tabula: [t] check NAME: ok|FAILED|failed, advisory only (detail)`). */
export function serialChecks(serialFile: string): ReportCheck[] {
  const text = existsSync(serialFile) ? readFileSync(serialFile, 'utf8') : '';
  const lines = text.split(/\r?\n/);
  let start = 0;
  lines.forEach((l, i) => {
    if (/tabula: \[[0-9.]+\] applying generation/.test(l)) start = i;
  });
  const out: ReportCheck[] = [];
  for (const l of lines.slice(start)) {
    const m = /tabula: \[[0-9.]+\] check (\S+): (ok|FAILED|failed, advisory only)(?: \((.*)\))?\s*$/.exec(l);
    if (!m) continue;
    out.push({ name: m[1] as string, ok: m[2] === 'ok', ...(m[3] !== undefined ? { detail: m[3] } : {}), ...(m[2]?.startsWith('failed,') ? { advisory: true } : {}) });
  }
  return out;
}

export interface Reported {
  source: 'report' | 'serial';
  checks: ReportCheck[];
  interfaces: InterfaceState[] | null;
}

/** What the blade reported: GET /hosts/{host}/report when the server has it, else its serial console. */
export async function reported(s: LabState, host: string, serial: string): Promise<Reported> {
  const r = await hostReport(s, host);
  if (r && Array.isArray(r.checks)) return { source: 'report', checks: r.checks, interfaces: r.interfaces ?? null };
  return { source: 'serial', checks: serialChecks(serial), interfaces: null };
}

export function plan(s: LabState, host: string): Promise<HostPlan> {
  return apiOk<HostPlan>(s, 'GET', `/api/v1/hosts/${encodeURIComponent(host)}/plan`);
}

/** busybox ping from inside the lab namespace (the server's side of the rack). */
export async function pingFromServer(s: LabState, ip: string, opts: { size?: number; count?: number } = {}): Promise<boolean> {
  const args = ['netns', 'exec', s.namespace, 'busybox', 'ping', '-c', String(opts.count ?? 2), '-W', '2', ...(opts.size ? ['-s', String(opts.size)] : []), ip];
  const r = await run('ip', args, 20_000);
  return r.code === 0;
}

function addrList(i: InterfaceState): string[] {
  const v4 = i.ipv4 as { address?: { ip: string; 'prefix-length': number }[] };
  return (v4.address ?? []).map((a) => `${a.ip}/${a['prefix-length']}`).sort();
}

/**
 * Problems between what the plan wants and what the blade reported: every planned bond (mode,
 * options, ports), VLAN, bridge, MTU and address must be verified ok; with reported interfaces, the
 * reported bonds, VLANs and bridges must be exactly the planned ones.
 */
export function compareWithPlan(p: HostPlan, rep: Reported): string[] {
  const problems: string[] = [];
  const checks = new Map(rep.checks.map((c) => [c.name, c]));
  const need = (name: string, detailStarts?: string): void => {
    const c = checks.get(name);
    if (!c) problems.push(`no check ${name}`);
    else if (!c.ok) problems.push(`check ${name} failed: ${c.detail ?? ''}`);
    else if (detailStarts !== undefined && !(c.detail ?? '').startsWith(detailStarts)) problems.push(`check ${name}: '${c.detail}' does not start with '${detailStarts}'`);
  };
  for (const i of p.state.interfaces) {
    if (i.type === 'ethernet' && i.state === 'down') continue;
    if (i.type === 'bond' && i['link-aggregation']) {
      const la = i['link-aggregation'];
      need(`bond:${i.name}:mode`, la.mode);
      need(`bond:${i.name}:ports`, la.port.join(' '));
      for (const [k, v] of Object.entries(la.options)) need(`bond:${i.name}:${k}`, Array.isArray(v) ? v.join(',') : String(v));
    }
    if (i.type === 'vlan' && i.vlan) need(`vlan:${i.name}`, `id ${i.vlan.id} on ${i.vlan['base-iface']}`);
    if (i.type === 'linux-bridge' && i.bridge) need(`bridge:${i.name}`, `ports ${i.bridge.port.map((x) => x.name).join(' ')}`);
    if (i.type !== 'ethernet' || i.controller === undefined) need(`mtu:${i.name}`, String(i.mtu));
    for (const a of addrList(i)) need(`addr:${i.name}:${a}`);
    if ((i.ipv4 as { dhcp?: boolean }).dhcp) need(`dhcp:${i.name}`);
  }
  const block = checks.get('block-devices');
  if (!block) problems.push('no block-devices check');
  else if (block.detail !== 'none') problems.push(`block devices present: ${block.detail}`);
  if (rep.interfaces) {
    const dhcpOn = new Set(p.state.interfaces.filter((i) => (i.ipv4 as { dhcp?: boolean }).dhcp).map((i) => i.name));
    const kinds = (list: InterfaceState[]): string[] =>
      list
        .filter((i) => i.type !== 'ethernet')
        // DHCP addresses are not in the plan: compare them only when the plan has static ones.
        .map((i) => `${i.type}:${i.name}:${i.mtu}:${i['link-aggregation']?.mode ?? ''}:${i.vlan?.id ?? ''}:${dhcpOn.has(i.name) ? 'dhcp' : addrList(i).join(',')}`)
        .sort();
    const want = kinds(p.state.interfaces);
    const got = kinds(rep.interfaces);
    if (JSON.stringify(want) !== JSON.stringify(got)) problems.push(`reported interfaces ${JSON.stringify(got)} differ from the plan ${JSON.stringify(want)}`);
  }
  return problems;
}

/** Runs a command to completion with its own environment, killing it (by PID) after timeoutMs. */
export function runWithEnv(cmd: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
