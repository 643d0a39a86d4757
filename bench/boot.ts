// Boot: BIOS QEMU blades (SeaBIOS + QEMU's iPXE ROM, TCG) from power-on to verified, one blade and
// three at once, against the floor: the same chain served by dnsmasq (DHCP + TFTP) and nginx serving
// what Tabula would have rendered, pre-rendered once. Both run in the same `tabula lab` rack (one
// namespace, bridge, taps, radvd), one after the other: the blades boot the same image, get the same
// provisioning address and apply the same network; only the server side changes.
//
//   tabula: `tabula serve` as the lab starts it (DHCP full mode with the engine's reservations, TFTP,
//           HTTP); "verified" = the boot timeline's `verified` event (what `tabula lab` and the e2e
//           tests watch), its time from the event itself.
//   floor:  after Tabula's run the lab's serve is stopped; dnsmasq and nginx take its address and port.
//           "verified" = the blade's report POST arrives at nginx (access log, with its body) with
//           verified true and every non-advisory check ok.
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { labUnavailable } from '../src/cli/commands/lab.js';
import { type BladeRecord, type LabState, alive, api, createLab, destroyLab, saveState, spawnIn, startBlade, stopBlade, tail } from '../src/lab/rack.js';
import { API_PORT, BRIDGE, DHCP_RANGE, SERVER_IP, SERVER_PREFIX } from '../src/lab/spec.js';
import { type ReportCheck, bootEvents, hostReport, watchBlades } from '../src/lab/watch.js';
import { CLI, ROOT, ensurePackage, finish, load, sleep } from './lib.js';

const TFTP_ROOT = path.join(ROOT, 'pxe', 'build');
const RUN_ROOT = path.join(os.tmpdir(), 'tabula-bench-boot');
const FAILED_DIR = path.join(ROOT, 'node_modules', '.cache', 'tabula-bench-boot');
/** Per boot run (all blades of one shape); TCG boots take ~20-60 s. */
const BOOT_TIMEOUT_MS = 180_000;
const NICS = 2;
const SHAPES = [1, 3] as const;
/**
 * How often the end of a run is looked for (times come from the timeline and the access log, not from
 * this): rarely, so that watching Tabula's API costs its server little CPU on a 2-core machine.
 */
const POLL_MS = 2000;
const BASE = `http://${SERVER_IP}:${API_PORT}`;
/** Columns of the stage table, in boot order. */
const STAGES = ['dhcp', 'ipxe', 'kernel', 'initrd', 'inventory', 'config', 'verified'] as const;
type Stage = (typeof STAGES)[number];

type Server = 'tabula' | 'floor';

interface BladeTime {
  name: string;
  /** Seconds from this blade's QEMU start. */
  stages: Partial<Record<Stage, number>>;
  verifiedAtMs: number;
  generation: number;
  checks: number;
  advisoryFailed: number;
}

interface RunResult {
  server: Server;
  blades: BladeTime[];
  /** From the first QEMU start to the last blade verified. */
  allSeconds: number;
  /** CPU seconds (user + system) the server side used during the run. */
  serverCpu: number;
  /** The 1-minute load average when the run started (the machine is shared). */
  loadAtStart: string;
}

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The lab being used, for Ctrl-C and failures: everything it made goes (QEMU first, by PID). */
let current: LabState | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`\n${sig}: removing the rack`);
    if (current) destroyLab(current);
    process.exit(130);
  });
}

const hexhyp = (mac: string): string => mac.replace(/:/g, '-');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** The server side's processes: everything in the lab's namespace but the blades, radvd and the API forwarder. */
function serverPids(s: LabState): number[] {
  const lab = new Set(s.processes.filter((p) => /^(qemu|radvd|dnsmasq-ra|forward)/.test(p.role)).map((p) => p.pid));
  const out = execFileSync('ip', ['netns', 'pids', s.namespace], { encoding: 'utf8' });
  return out
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && !lab.has(pid));
}

/** CPU seconds (user + system) per PID, from /proc/PID/stat. */
function cpuOf(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      m.set(pid, (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      // gone
    }
  }
  return m;
}

/** Measures the server side's CPU from now until the returned function is called. */
function serverCpuMeter(s: LabState): () => number {
  const pids = serverPids(s);
  const before = cpuOf(pids);
  return () => {
    let sum = 0;
    for (const [pid, after] of cpuOf(pids)) sum += after - (before.get(pid) ?? 0);
    return sum;
  };
}
const seconds = (ms: number, b: BladeRecord): number => (ms - b.startedAt) / 1000;

function requirements(): void {
  ensurePackage('qemu-system-x86', 'qemu-system-x86_64');
  ensurePackage('radvd', 'radvd');
  ensurePackage('dnsmasq-base', 'dnsmasq');
  ensurePackage('nginx-light', 'nginx');
  if (!existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom')) {
    say('installing ipxe-qemu (apt-get) for the iPXE ROM');
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'ipxe-qemu'], { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  const why = labUnavailable('bios');
  if (why) throw new Error(`cannot benchmark boot: ${why}`);
  if (!existsSync(path.join(TFTP_ROOT, 'vmlinuz')) || !existsSync(path.join(TFTP_ROOT, 'initrd.img'))) {
    say('building the boot image (npm run build:pxe)');
    execFileSync('bash', [path.join(ROOT, 'pxe', 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  }
  // Page cache: the first boot must not pay for reading QEMU, its ROMs and the image from disk.
  for (const f of ['/usr/bin/qemu-system-x86_64', '/usr/lib/ipxe/qemu/efi-virtio.rom', '/usr/share/seabios/bios-256k.bin', path.join(TFTP_ROOT, 'vmlinuz'), path.join(TFTP_ROOT, 'initrd.img')]) {
    if (existsSync(f)) readFileSync(f);
  }
}

/** Keeps the lab's files of a failed run (serial logs, server/nginx/dnsmasq logs) and names the folder. */
function keepFiles(s: LabState, label: string): string {
  const dir = path.join(FAILED_DIR, `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  cpSync(s.dir, dir, { recursive: true, filter: (src) => !/\.(sock|qmp)$/.test(src) && !src.includes(`${path.sep}www`) });
  return dir;
}

async function stopBlades(s: LabState): Promise<void> {
  for (const b of s.blades) await stopBlade(s, b.name);
}

// ------------------------------------------------------------------ Tabula

async function bootTabula(s: LabState): Promise<RunResult> {
  const loadAtStart = load();
  const cpu = serverCpuMeter(s);
  const started = s.blades.map((b) => startBlade(s, b.name));
  const results = await watchBlades(
    s,
    started.map((blade) => ({ blade })),
    { timeoutMs: BOOT_TIMEOUT_MS, pollMs: POLL_MS, onStage: (name, stage, sec) => say(`  tabula ${name} ${stage} ${sec.toFixed(1)} s`) },
  );
  const serverCpu = cpu();
  await stopBlades(s);
  const bad = results.filter((r) => !r.verified);
  if (bad.length) {
    throw new Error(`tabula: ${bad.map((r) => `${r.name} ${r.outcome}${r.failedChecks.length ? ` (failed ${r.failedChecks.join(',')})` : ''}${r.detail ? `: ${r.detail}` : ''}`).join('; ')}`);
  }
  const blades: BladeTime[] = [];
  for (const b of started) {
    // The timeline's own timestamps (ms), not the watch's polling.
    const events = await bootEvents(s, b.name, b.startedAt, true);
    const first = (names: readonly string[]): number | undefined => {
      const e = events.find((x) => names.includes(x.stage));
      return e ? seconds(Date.parse(e.at), b) : undefined;
    };
    const verified = events.find((e) => e.stage === 'verified');
    if (!verified) throw new Error(`tabula: ${b.name} has no verified event in its timeline`);
    const report = await hostReport(s, b.name);
    const checks: ReportCheck[] = report?.checks ?? [];
    const stages: Partial<Record<Stage, number>> = {};
    const map: Record<Stage, readonly string[]> = {
      dhcp: ['dhcp-ack'],
      ipxe: ['host-script'],
      kernel: ['kernel'],
      initrd: ['initrd'],
      inventory: ['inventory'],
      config: ['config'],
      verified: ['verified'],
    };
    for (const st of STAGES) {
      const v = first(map[st]);
      if (v !== undefined) stages[st] = v;
    }
    blades.push({
      name: b.name,
      stages,
      verifiedAtMs: Date.parse(verified.at),
      generation: Number(verified.data['generation'] ?? report?.generation ?? -1),
      checks: checks.length,
      advisoryFailed: checks.filter((c) => !c.ok && c.advisory === true).length,
    });
  }
  return { server: 'tabula', blades, allSeconds: allSeconds(started, blades), serverCpu, loadAtStart };
}

function allSeconds(started: readonly BladeRecord[], blades: readonly BladeTime[]): number {
  return (Math.max(...blades.map((b) => b.verifiedAtMs)) - Math.min(...started.map((b) => b.startedAt))) / 1000;
}

// ------------------------------------------------------------------ the floor

interface Rendered {
  generations: Map<string, number>;
}

async function text(s: Pick<LabState, 'socket' | 'token'>, url: string): Promise<string> {
  const r = await api(s, 'GET', url);
  if (r.status !== 200 || typeof r.body !== 'string') throw new Error(`pre-render GET ${url}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

/**
 * What Tabula serves each blade, rendered by the running server once (after its timed run, so the
 * plan already holds what the blades' inventories changed): the generic script, each blade's iPXE
 * script and apply script. Kernel and initrd are the same files (symlinks). The URLs stay as they are:
 * nginx takes over Tabula's address and port.
 */
async function prerender(s: LabState, www: string): Promise<Rendered> {
  const generations = new Map<string, number>();
  writeFileSync(path.join(www, 'boot.ipxe'), await text(s, '/boot.ipxe'));
  for (const b of s.blades) {
    const mac = hexhyp(b.macs[0] as string);
    const dir = path.join(www, 'boot', mac);
    mkdirSync(dir, { recursive: true });
    const script = await text(s, `/boot/${mac}/ipxe`);
    if (!script.includes(`${BASE}/boot/${mac}/kernel`)) throw new Error(`the iPXE script of ${b.name} does not point at ${BASE}:\n${script}`);
    const token = /tabula\.token=(\S+)/.exec(script)?.[1];
    if (!token) throw new Error(`no boot token in the iPXE script of ${b.name}:\n${script}`);
    // Tabula's token header is sent by the floor's blades too; nginx ignores it.
    const apply = await text({ socket: s.socket, token }, `/boot/${mac}/config`);
    const gen = Number(/^#.*generation (\d+)/m.exec(apply.split('\n').slice(0, 10).join('\n'))?.[1] ?? NaN);
    if (!Number.isInteger(gen)) throw new Error(`no generation in the apply script of ${b.name}`);
    generations.set(b.name, gen);
    writeFileSync(path.join(dir, 'ipxe'), script);
    writeFileSync(path.join(dir, 'config'), apply);
    symlinkSync(path.join(TFTP_ROOT, 'vmlinuz'), path.join(dir, 'kernel'));
    symlinkSync(path.join(TFTP_ROOT, 'initrd.img'), path.join(dir, 'initrd'));
  }
  return { generations };
}

async function stopServe(s: LabState): Promise<void> {
  const serve = s.processes.find((p) => p.role === 'serve');
  if (!serve) throw new Error('the lab has no serve process');
  process.kill(serve.pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(serve.pid); i++) await sleep(50);
  if (alive(serve.pid)) process.kill(serve.pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive(serve.pid); i++) await sleep(50);
  s.processes = s.processes.filter((p) => p.pid !== serve.pid);
  saveState(s);
}

const NGINX_LOG_FORMAT =
  `log_format boot escape=json '{"t":$msec,"ip":"$remote_addr","method":"$request_method","uri":"$uri","status":$status,"body":"$request_body"}';`;

function nginxConf(s: LabState, www: string): string {
  const d = s.dir;
  return [
    'daemon off;',
    'worker_processes auto;',
    `pid ${path.join(d, 'nginx.pid')};`,
    `error_log ${path.join(d, 'nginx-error.log')};`,
    'events { worker_connections 256; }',
    'http {',
    `  ${NGINX_LOG_FORMAT}`,
    `  access_log ${path.join(d, 'nginx-access.log')} boot;`,
    '  sendfile on; tcp_nopush on;',
    `  client_body_temp_path ${d}/nginx-body; proxy_temp_path ${d}/nginx-proxy;`,
    // The report body must stay in memory for $request_body (the kernel state makes it tens of KiB).
    '  client_max_body_size 2m; client_body_buffer_size 2m; client_body_in_single_buffer on;',
    '  default_type text/plain;',
    `  server {`,
    `    listen ${SERVER_IP}:${API_PORT};`,
    `    root ${www};`,
    // init checks the server over the applied network (its `server` check), as against Tabula.
    `    location = /healthz { default_type application/json; return 200 '{"ok":true}'; }`,
    // init posts, and ignores the answer beyond its status.
    `    location ~ ^/boot/[^/]+/inventory$ { default_type application/json; return 200 '{"changes":[]}'; }`,
    // Proxied only so that nginx reads the body into $request_body for the access log.
    `    location ~ ^/boot/[^/]+/report$ { proxy_pass http://127.0.0.1:${API_PORT + 1}; }`,
    '  }',
    `  server { listen 127.0.0.1:${API_PORT + 1}; access_log off; default_type application/json; location / { return 200 '{"inSync":true}'; } }`,
    '}',
    '',
  ].join('\n');
}

function dnsmasqArgs(s: LabState): string[] {
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--port=0',
    '--user=root',
    `--interface=${BRIDGE}`,
    '--except-interface=lo',
    '--bind-interfaces',
    '--dhcp-authoritative',
    `--dhcp-range=${DHCP_RANGE.start},${DHCP_RANGE.end},${prefixMask(SERVER_PREFIX)},1h`,
    // Tabula's reservations: each blade's boot MAC gets its management address.
    ...s.blades.map((b) => `--dhcp-host=${b.macs[0]},${b.mgmtIp}`),
    // As Tabula's lab DHCP: no router, no DNS server.
    '--dhcp-option=3',
    '--dhcp-option=6',
    '--dhcp-userclass=set:ipxe,iPXE',
    `--dhcp-boot=tag:ipxe,${BASE}/boot.ipxe`,
    `--dhcp-boot=tag:!ipxe,undionly.kpxe,,${SERVER_IP}`,
    // iPXE no-pxedhcp (175.176 = 1): no ProxyDHCP wait, as Tabula sends it.
    '--dhcp-option=tag:ipxe,encap:175,176,1b',
    '--enable-tftp',
    `--tftp-root=${TFTP_ROOT}`,
    `--dhcp-leasefile=${path.join(s.dir, 'dnsmasq.leases')}`,
    `--pid-file=${path.join(s.dir, 'dnsmasq.pid')}`,
    '--log-facility=-',
  ];
}

function prefixMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.');
}

async function startFloor(s: LabState, www: string): Promise<void> {
  const conf = path.join(s.dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(s, www));
  const nginx = spawnIn(s.namespace, 'nginx', ['-c', conf, '-p', s.dir], path.join(s.dir, 'nginx.log'));
  s.processes.push({ role: 'nginx', pid: nginx });
  const dnsmasq = spawnIn(s.namespace, 'dnsmasq', dnsmasqArgs(s), path.join(s.dir, 'dnsmasq.log'));
  s.processes.push({ role: 'dnsmasq', pid: dnsmasq });
  saveState(s);
  // Both answer within a second; make sure before any blade starts.
  for (let i = 0; i < 40; i++) {
    if (!alive(nginx)) throw new Error(`nginx exited: ${tail(path.join(s.dir, 'nginx-error.log'), 10)}${tail(path.join(s.dir, 'nginx.log'), 10)}`);
    if (!alive(dnsmasq)) throw new Error(`dnsmasq exited: ${tail(path.join(s.dir, 'dnsmasq.log'), 10)}`);
    const r = await api(s, 'GET', '/boot.ipxe', undefined, 2000).catch(() => null);
    if (r?.status === 200 && readFileSync(path.join(s.dir, 'dnsmasq.log'), 'utf8').includes('started')) return;
    await sleep(250);
  }
  throw new Error(`the floor did not come up: ${tail(path.join(s.dir, 'nginx-error.log'), 10)}${tail(path.join(s.dir, 'dnsmasq.log'), 10)}`);
}

interface AccessLine {
  t: number;
  ip: string;
  method: string;
  uri: string;
  status: number;
  body: string;
}

interface FloorReport {
  generation: number;
  verified: boolean;
  checks?: ReportCheck[];
}

function accessLines(file: string): AccessLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AccessLine);
}

async function bootFloor(s: LabState, rendered: Rendered): Promise<RunResult> {
  const log = path.join(s.dir, 'nginx-access.log');
  const loadAtStart = load();
  const cpu = serverCpuMeter(s);
  const started = s.blades.map((b) => startBlade(s, b.name));
  const byMac = new Map(started.map((b) => [hexhyp(b.macs[0] as string), b]));
  const until = Date.now() + BOOT_TIMEOUT_MS;
  const done = new Map<string, BladeTime>();
  const seen = new Map<string, Partial<Record<Stage, number>>>(started.map((b) => [b.name, {}]));
  while (done.size < started.length) {
    for (const l of accessLines(log)) {
      const m = /^\/boot\/([0-9a-f-]{17})\/(ipxe|kernel|initrd|inventory|config|report)$/.exec(l.uri);
      const b = m ? byMac.get(m[1] as string) : undefined;
      if (!m || !b || l.t * 1000 < b.startedAt || done.has(b.name)) continue;
      const stage = m[2] === 'report' ? 'verified' : (m[2] as Stage);
      const st = seen.get(b.name) as Partial<Record<Stage, number>>;
      if (stage !== 'verified') {
        if (st[stage] === undefined) {
          st[stage] = seconds(l.t * 1000, b);
          say(`  floor  ${b.name} ${stage} ${st[stage].toFixed(1)} s`);
        }
        continue;
      }
      if (l.status !== 200) throw new Error(`floor: ${b.name}'s report got HTTP ${l.status}`);
      let report: FloorReport;
      try {
        report = JSON.parse(l.body) as FloorReport;
      } catch {
        throw new Error(`floor: ${b.name}'s report body is not JSON (nginx logged ${l.body.length} characters; is it over client_body_buffer_size?)`);
      }
      const checks = report.checks ?? [];
      const failed = checks.filter((c) => !c.ok && c.advisory !== true).map((c) => c.name);
      if (!report.verified || failed.length) throw new Error(`floor: ${b.name} reported verified=${report.verified}, failed checks: ${failed.join(',') || 'none'}`);
      const want = rendered.generations.get(b.name);
      if (report.generation !== want) throw new Error(`floor: ${b.name} applied generation ${report.generation}, the pre-rendered script is generation ${want}`);
      st.verified = seconds(l.t * 1000, b);
      say(`  floor  ${b.name} verified ${st.verified.toFixed(1)} s`);
      done.set(b.name, {
        name: b.name,
        stages: st,
        verifiedAtMs: l.t * 1000,
        generation: report.generation,
        checks: checks.length,
        advisoryFailed: checks.filter((c) => !c.ok && c.advisory === true).length,
      });
    }
    if (done.size === started.length) break;
    const dead = started.find((b) => !done.has(b.name) && b.pid !== null && !alive(b.pid));
    if (dead) throw new Error(`floor: ${dead.name}'s QEMU exited before it reported (serial log ${dead.serial})`);
    if (Date.now() > until) throw new Error(`floor: not every blade reported within ${BOOT_TIMEOUT_MS / 1000} s (${[...done.keys()].join(', ') || 'none'} did)`);
    await sleep(POLL_MS);
  }
  const serverCpu = cpu();
  await stopBlades(s);
  const blades = started.map((b) => done.get(b.name) as BladeTime);
  return { server: 'floor', blades, allSeconds: allSeconds(started, blades), serverCpu, loadAtStart };
}

// ------------------------------------------------------------------ one shape: Tabula, then the floor

async function shape(n: number): Promise<{ tabula: RunResult; floor: RunResult }> {
  say(`\n${n} blade(s): building the rack`);
  const s = await createLab({ blades: n, nics: NICS, firmware: 'bios', cliMain: CLI, tftpRoot: TFTP_ROOT, runRoot: RUN_ROOT, say: (l) => say(`  ${l}`) });
  current = s;
  try {
    say(`${n} blade(s): Tabula (load ${load()})`);
    const tabula = await bootTabula(s);
    const www = path.join(s.dir, 'www');
    mkdirSync(www);
    const rendered = await prerender(s, www);
    for (const b of tabula.blades) {
      if (rendered.generations.get(b.name) !== b.generation) throw new Error(`${b.name}: Tabula's blade verified generation ${b.generation}, the pre-rendered script is generation ${rendered.generations.get(b.name)}`);
    }
    await stopServe(s);
    await startFloor(s, www);
    say(`${n} blade(s): floor, dnsmasq + nginx (load ${load()})`);
    const floor = await bootFloor(s, rendered);
    return { tabula, floor };
  } catch (e) {
    const err = e as Error;
    err.message = `${err.message}\n(the rack's logs: ${keepFiles(s, `boot-${n}`)})`;
    throw err;
  } finally {
    destroyLab(s);
    current = null;
  }
}

// ------------------------------------------------------------------ report

function stageRows(n: number, runs: readonly RunResult[]): string[] {
  const rows: string[] = [];
  for (const r of runs) {
    for (const b of r.blades) {
      const cells = STAGES.map((st) => (b.stages[st] === undefined ? '–' : b.stages[st].toFixed(1)));
      const checks = `${b.checks}${b.advisoryFailed ? ` (${b.advisoryFailed} advisory failed)` : ''}`;
      rows.push(`| ${n} | ${r.server === 'tabula' ? 'Tabula' : 'floor'} | ${b.name} | ${cells.join(' | ')} | ${b.generation} | ${checks} |`);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  requirements();
  const results: Array<{ n: number; tabula: RunResult; floor: RunResult }> = [];
  for (const n of SHAPES) results.push({ n, ...(await shape(n)) });
  const stageTable = [`| blades | server | blade | ${STAGES.join(' | ')} | generation | checks |`, `|---|---|---|${STAGES.map(() => '---:').join('|')}|---:|---|`];
  for (const r of results) stageTable.push(...stageRows(r.n, [r.tabula, r.floor]));
  const summary = ['| blades | Tabula s | floor s | ratio floor/Tabula | server CPU s, Tabula / floor | load at start, Tabula / floor |', '|---|---:|---:|---:|---:|---:|'];
  for (const r of results) {
    const label = r.n === 1 ? '1 (verified)' : `${r.n} (all verified)`;
    summary.push(`| ${label} | ${r.tabula.allSeconds.toFixed(1)} | ${r.floor.allSeconds.toFixed(1)} | ${(r.floor.allSeconds / r.tabula.allSeconds).toFixed(2)} | ${r.tabula.serverCpu.toFixed(2)} / ${r.floor.serverCpu.toFixed(2)} | ${r.tabula.loadAtStart} / ${r.floor.loadAtStart} |`);
  }
  console.log(summary.join('\n'));
  console.log('');
  console.log(stageTable.join('\n'));
  const three = results.find((r) => r.n === 3) as (typeof results)[number];
  const ratio = three.floor.allSeconds / three.tabula.allSeconds;
  const lines = [
    ...summary,
    '',
    `Server CPU: user + system seconds of the server side's processes in the namespace during the run (Tabula: \`tabula serve\`, which also answers this benchmark's timeline polls every ${POLL_MS / 1000} s; floor: nginx master and workers, dnsmasq). Between the initrd and the inventory the blades only boot their kernel and /init (TCG, guest CPU): that stretch is the same work for both servers and varies with the machine's load.`,
    '',
    'Seconds from each blade\'s QEMU start (Tabula: the boot timeline\'s events; floor: nginx\'s access log, dhcp not timed). verified = the report arrived with every non-advisory check ok.',
    '',
    ...stageTable,
    '',
    `RESULT: Tabula seconds until all 3 blades are verified; ratio = floor / Tabula (> 1: Tabula faster; the issue's target "≤ 1.1× the floor" is ratio ≥ 0.91). 3 blades: ${ratio.toFixed(2)}; 1 blade: ${(results[0]!.floor.allSeconds / results[0]!.tabula.allSeconds).toFixed(2)}.`,
  ];
  finish({
    name: 'boot',
    command: 'npm run bench:boot',
    peers: [
      `Blades: \`tabula lab\` BIOS blades (SeaBIOS + the iPXE ROM of Debian's ipxe-qemu on NIC 0, ${NICS} virtio NICs, \`-accel tcg -smp 1 -m 256\`, no disk), pxe/build image; demo cluster (bond0 active-backup, VLAN 100 and 200, bridges, MTU 9000; with 3 blades each pings its peers' VLAN addresses). One rack per shape, Tabula first, then the floor on the same namespace, bridge, taps and radvd.`,
      `Tabula: \`tabula serve\` as \`tabula lab\` starts it (DHCP full mode on the bridge with the engine's reservations, TFTP, HTTP boot routes, a fresh SQLite database).`,
      `Floor: dnsmasq (Debian dnsmasq-base) in the foreground, \`--conf-file=/dev/null --port=0 --bind-interfaces --dhcp-authoritative\`, the same pool and lease time, a \`--dhcp-host\` per blade with Tabula's reserved address, no router or DNS option, iPXE user class → \`${BASE}/boot.ipxe\`, option 175.176 (no-pxedhcp), TFTP from pxe/build; nginx (Debian nginx-light) on Tabula's address and port, \`worker_processes auto\`, sendfile, serving the scripts Tabula rendered for each blade (generic, per-host iPXE, apply script; fetched once after Tabula's run) and the same kernel and initrd; inventory POST → \`return 200\` with a static JSON body; report POST proxied to a \`return 200\` so that the access log holds its body. The boot token header is ignored.`,
    ],
    lines,
    result: { value: three.tabula.allSeconds, unit: 's', ratio, peer: 'dnsmasq+nginx-floor' },
  });
}

main().catch((e: unknown) => {
  console.error(e);
  if (current) destroyLab(current);
  process.exitCode = 1;
});
