// The virtual rack: one network namespace of its own (`tabula-lab-NAME`) holding a bridge as the
// rack's switch, one tap per blade NIC, IPv6 router advertisements (an RA-only dnsmasq: iPXE waits
// ~15 s for them otherwise), `tabula serve` with DHCP on the bridge, a Unix-socket forwarder to its API,
// and diskless QEMU blades. Every process is started detached (the rack outlives `tabula lab up`) and
// recorded with its PID in the lab's state file, which `tabula lab down` reads to remove it all.
//
// Rules (pxe-lab.md): nothing is created in the root namespace; QEMU only on taps in the lab namespace
// with -accel tcg; processes are ended by PID; `ip netns pids` is the safety net before `ip netns del`.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEngine } from '../engine/index.js';
import { seedDemo } from './seed.js';
import {
  API_PORT,
  BRIDGE,
  type BladeSpec,
  DHCP_RANGE,
  type FirmwareChoice,
  OVMF_VARS,
  RACK_MTU,
  SERVER_IP,
  SERVER_IP6,
  SERVER_PREFIX,
  type SwitchType,
  bladeSpecs,
  checkLabName,
  checkShape,
  labError,
  namespaceOf,
  qemuArgs,
} from './spec.js';

export interface LabOptions {
  name?: string;
  blades: number;
  nics: number;
  firmware: FirmwareChoice;
  /** The demo cluster's switch type; default linux. */
  switchType?: SwitchType;
  /** The built CLI (dist/cli/main.js) that runs `tabula serve`; its lab/forward.js is used too. */
  cliMain: string;
  /** TFTP root and boot directory (pxe/build). */
  tftpRoot: string;
  /** Parent of the lab's run folder; default $TABULA_LAB_DIR or <tmp>/tabula-lab. */
  runRoot?: string;
  /** Progress lines (human). */
  say?: (line: string) => void;
}

export interface ProcessRecord {
  role: string;
  pid: number;
}

export interface BladeRecord extends BladeSpec {
  serial: string;
  qmp: string;
  vars?: string;
  /** QEMU's PID while it runs. */
  pid: number | null;
  /** Epoch ms of the last QEMU start (or reset). */
  startedAt: number;
}

export interface LabState {
  name: string;
  namespace: string;
  dir: string;
  createdAt: string;
  nics: number;
  firmware: FirmwareChoice;
  /** The demo cluster's switch type (absent in state files of older labs: linux). */
  switchType: SwitchType;
  cliMain: string;
  db: string;
  serverLog: string;
  /** Unix socket forwarded to the API inside the namespace. */
  socket: string;
  apiUrl: string;
  token: string;
  devices: string[];
  processes: ProcessRecord[];
  blades: BladeRecord[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function defaultRunRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['TABULA_LAB_DIR'] ?? path.join(tmpdir(), 'tabula-lab');
}

function sh(cmd: string, args: readonly string[], timeoutMs = 15_000): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw labError(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

const ipn = (ns: string, ...args: string[]): string => sh('ip', ['-n', ns, ...args]);

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function namespaces(): string[] {
  try {
    return sh('ip', ['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function stateFile(dir: string): string {
  return path.join(dir, 'state.json');
}

export function saveState(s: LabState): void {
  writeFileSync(`${stateFile(s.dir)}.tmp`, JSON.stringify(s, null, 2));
  execFileSync('mv', [`${stateFile(s.dir)}.tmp`, stateFile(s.dir)]);
}

export function loadState(runRoot: string, name: string): LabState {
  const file = stateFile(path.join(runRoot, name));
  if (!existsSync(file)) throw labError(`no lab '${name}' (no ${file}; tabula lab list shows the running ones)`, 'LAB_INVALID');
  const s = JSON.parse(readFileSync(file, 'utf8')) as Omit<LabState, 'switchType'> & { switchType?: SwitchType };
  // Labs started before --switch existed are linux racks.
  return { ...s, switchType: s.switchType ?? 'linux' };
}

export function listLabs(runRoot: string): string[] {
  if (!existsSync(runRoot)) return [];
  return readdirSync(runRoot).filter((n) => existsSync(stateFile(path.join(runRoot, n))));
}

/** Starts a detached process inside the namespace, output appended to `log`; `ip netns exec` execs, so the PID is the command's. */
export function spawnIn(ns: string, cmd: string, args: readonly string[], log: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw labError(`could not start ${cmd}`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

// ------------------------------------------------------------------ API over the forwarded socket

export interface ApiResponse {
  status: number;
  body: unknown;
}

export function api(s: Pick<LabState, 'socket' | 'token'>, method: string, url: string, body?: unknown, timeoutMs = 15_000): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        socketPath: s.socket,
        path: url,
        method,
        headers: { authorization: `Bearer ${s.token}`, host: `${SERVER_IP}:${API_PORT}`, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON (scripts, metrics)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** The API call, or an error naming the route, status and the server's error. */
export async function apiOk<T>(s: Pick<LabState, 'socket' | 'token'>, method: string, url: string, body?: unknown): Promise<T> {
  const r = await api(s, method, url, body);
  if (r.status < 200 || r.status >= 300) throw labError(`${method} ${url}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 600)}`);
  return r.body as T;
}

// ------------------------------------------------------------------ up

function uniqueName(): string {
  const taken = new Set(namespaces());
  for (;;) {
    const name = `l${Math.random().toString(36).slice(2, 7)}`;
    if (!taken.has(namespaceOf(name))) return name;
  }
}

/**
 * Builds the rack and starts the server (no blades yet: startBlades). On failure everything made so
 * far is removed and the error rethrown.
 */
export async function createLab(opts: LabOptions): Promise<LabState> {
  const say = opts.say ?? ((): void => undefined);
  const switchType = opts.switchType ?? 'linux';
  checkShape({ blades: opts.blades, nics: opts.nics, firmware: opts.firmware, switchType });
  const name = checkLabName(opts.name ?? uniqueName());
  const ns = namespaceOf(name);
  if (namespaces().includes(ns)) throw labError(`namespace ${ns} exists already: lab '${name}' is running (tabula lab down ${name})`);
  const runRoot = opts.runRoot ?? defaultRunRoot();
  const dir = path.join(runRoot, name);
  if (existsSync(stateFile(dir))) throw labError(`lab '${name}' has a state file (${stateFile(dir)}): tabula lab down ${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const specs = bladeSpecs({ blades: opts.blades, nics: opts.nics, firmware: opts.firmware });
  const s: LabState = {
    name,
    namespace: ns,
    dir,
    createdAt: new Date().toISOString(),
    nics: opts.nics,
    firmware: opts.firmware,
    switchType,
    cliMain: opts.cliMain,
    db: path.join(dir, 'tabula.db'),
    serverLog: path.join(dir, 'server.log'),
    socket: path.join(dir, 'api.sock'),
    apiUrl: `http://${SERVER_IP}:${API_PORT}`,
    token: '',
    devices: [],
    processes: [],
    blades: specs.map((b) => ({ ...b, serial: path.join(dir, `${b.name}.serial`), qmp: path.join(dir, `${b.name}.qmp`), pid: null, startedAt: 0 })),
  };
  saveState(s);
  try {
    // The namespace and the switch.
    sh('ip', ['netns', 'add', ns]);
    s.devices.push(`netns ${ns}`);
    saveState(s);
    ipn(ns, 'link', 'set', 'lo', 'up');
    for (const key of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables', 'bridge-nf-call-arptables']) {
      sh('ip', ['netns', 'exec', ns, 'sh', '-c', `[ -w /proc/sys/net/bridge/${key} ] && echo 0 > /proc/sys/net/bridge/${key} || true`]);
    }
    ipn(ns, 'link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    s.devices.push(`bridge ${BRIDGE}`);
    for (const b of s.blades) {
      for (const tap of b.taps) {
        ipn(ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
        ipn(ns, 'link', 'set', tap, 'mtu', String(RACK_MTU), 'master', BRIDGE, 'up');
        s.devices.push(`tap ${tap}`);
      }
    }
    // Taps have no carrier until QEMU opens them, and a bridge without a running port is not RUNNING,
    // which hides it from Node's os.networkInterfaces() (serve would not find --dhcp-interface). A veth
    // pair inside the namespace, one end on the bridge, keeps the bridge running.
    ipn(ns, 'link', 'add', 'rackkeep0', 'mtu', String(RACK_MTU), 'type', 'veth', 'peer', 'name', 'rackkeep1', 'mtu', String(RACK_MTU));
    ipn(ns, 'link', 'set', 'rackkeep0', 'master', BRIDGE, 'up');
    ipn(ns, 'link', 'set', 'rackkeep1', 'up');
    s.devices.push('veth rackkeep0/rackkeep1');
    ipn(ns, 'link', 'set', BRIDGE, 'mtu', String(RACK_MTU), 'up');
    ipn(ns, 'addr', 'add', `${SERVER_IP}/${SERVER_PREFIX}`, 'dev', BRIDGE);
    ipn(ns, '-6', 'addr', 'add', `${SERVER_IP6}/64`, 'dev', BRIDGE, 'nodad');
    // No default route in here: Node's DHCP broadcasts need this one (pxe-lab.md §6.4).
    ipn(ns, 'route', 'add', '255.255.255.255/32', 'dev', BRIDGE);
    saveState(s);
    say(`namespace ${ns}: bridge ${BRIDGE} ${SERVER_IP}/${SERVER_PREFIX} MTU ${RACK_MTU}, ${s.blades.length * opts.nics} taps`);

    // IPv6 router advertisements only (iPXE waits ~15 s for one otherwise); DHCPv4 comes from Tabula
    // alone. radvd can advertise a prefix that is not autonomous and no default router, so blades take
    // no SLAAC address or route their plan did not ask for; dnsmasq's ra-only cannot (its prefix is
    // autonomous), so it is only the fallback.
    const ra = raDaemon(s, ns);
    s.processes.push({ role: ra.role, pid: ra.pid });
    saveState(s);

    // A fresh database with the demo cluster.
    const opened = openEngine({ dbPath: s.db });
    try {
      s.token = seedDemo(opened.engine, s.blades, switchType).token;
    } finally {
      opened.close();
    }
    saveState(s);
    say(`database ${s.db}: cluster rack1 (switch ${switchType}) with ${s.blades.length} blades seeded`);

    const env = { ...process.env };
    delete env['TABULA_DHCP_FDS'];
    delete env['TABULA_DHCP_INTERFACE'];
    const serve = spawnIn(
      ns,
      process.execPath,
      [
        opts.cliMain,
        '--db',
        s.db,
        'serve',
        '--listen',
        `${SERVER_IP}:${API_PORT}`,
        '--public-url',
        s.apiUrl,
        '--tftp-listen',
        `${SERVER_IP}:69`,
        '--tftp-root',
        opts.tftpRoot,
        '--dhcp-interface',
        BRIDGE,
        '--dhcp-mode',
        'full',
        '--dhcp-range',
        `${DHCP_RANGE.start}-${DHCP_RANGE.end}`,
      ],
      s.serverLog,
      env,
    );
    s.processes.push({ role: 'serve', pid: serve });
    saveState(s);
    const forwarder = spawnIn(ns, process.execPath, [path.join(path.dirname(opts.cliMain), '..', 'lab', 'forward.js'), s.socket, SERVER_IP, String(API_PORT)], path.join(dir, 'forward.log'));
    s.processes.push({ role: 'forward', pid: forwarder });
    saveState(s);
    await waitHealthy(s, 60_000, serve);
    say(`tabula serve (pid ${serve}) on ${s.apiUrl}, DHCP on ${BRIDGE} ${DHCP_RANGE.start}-${DHCP_RANGE.end}`);
    return s;
  } catch (e) {
    destroyLab(s);
    throw e;
  }
}

function raDaemon(s: LabState, ns: string): ProcessRecord {
  const radvd = ['/usr/sbin/radvd', '/sbin/radvd'].find((p) => existsSync(p));
  if (radvd) {
    const conf = path.join(s.dir, 'radvd.conf');
    writeFileSync(
      conf,
      `interface ${BRIDGE} {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 10;\n  AdvDefaultLifetime 0;\n  prefix fd77::/64 {\n    AdvOnLink on;\n    AdvAutonomous off;\n  };\n};\n`,
    );
    // radvd wants forwarding on; this is the lab namespace's own setting, the host is untouched.
    sh('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding']);
    const pid = spawnIn(ns, radvd, ['--nodaemon', '--config', conf, '--pidfile', path.join(s.dir, 'radvd.pid'), '--logmethod', 'stderr', '--username', 'root'], path.join(s.dir, 'radvd.log'));
    return { role: 'radvd', pid };
  }
  const pid = spawnIn(
    ns,
    'dnsmasq',
    ['--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--user=root', `--interface=${BRIDGE}`, '--except-interface=lo', '--bind-interfaces', '--enable-ra', '--dhcp-range=fd77::,ra-only,64', `--pid-file=${path.join(s.dir, 'dnsmasq.pid')}`, '--log-facility=-'],
    path.join(s.dir, 'dnsmasq.log'),
  );
  return { role: 'dnsmasq-ra', pid };
}

async function waitHealthy(s: LabState, timeoutMs: number, servePid: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (!alive(servePid)) throw labError(`tabula serve exited during start:\n${tail(s.serverLog, 30)}`);
    if (existsSync(s.socket)) {
      try {
        const r = await api(s, 'GET', '/healthz', undefined, 3000);
        if (r.status === 200) return;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    await sleep(250);
  }
  throw labError(`tabula serve did not answer /healthz within ${timeoutMs / 1000} s (${last}):\n${tail(s.serverLog, 30)}`);
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ------------------------------------------------------------------ blades

/** Starts (or restarts) one blade's QEMU. A restart is a cold boot of the same machine: same MACs, taps and firmware. */
export function startBlade(s: LabState, name: string): BladeRecord {
  const b = blade(s, name);
  if (b.pid !== null && alive(b.pid)) throw labError(`${name} is running already (pid ${b.pid})`);
  if (b.firmware === 'uefi') {
    // Throwaway vars: nothing of a previous boot survives, not even the firmware's boot entries.
    b.vars = path.join(s.dir, `${b.name}.vars.fd`);
    copyFileSync(OVMF_VARS, b.vars);
  }
  rmSync(b.qmp, { force: true });
  const pidFile = path.join(s.dir, `${b.name}.pid`);
  const args = qemuArgs(b, { serial: b.serial, qmp: b.qmp, pid: pidFile, ...(b.vars ? { vars: b.vars } : {}) });
  writeFileSync(path.join(s.dir, `${b.name}.qemu-args`), args.join('\n') + '\n');
  // QEMU truncates the serial file on open: earlier boots of this blade move to <serial>.previous.
  if (existsSync(b.serial)) appendFileSync(`${b.serial}.previous`, `${readFileSync(b.serial, 'utf8')}\n===== tabula lab: ${b.name} started again =====\n`);
  b.pid = spawnIn(s.namespace, 'qemu-system-x86_64', args, path.join(s.dir, `${b.name}.qemu.log`));
  b.startedAt = Date.now();
  s.processes.push({ role: `qemu ${b.name}`, pid: b.pid });
  saveState(s);
  return b;
}

export function blade(s: LabState, name: string): BladeRecord {
  const b = s.blades.find((x) => x.name === name);
  if (!b) throw labError(`lab '${s.name}' has no blade '${name}'`);
  return b;
}

/** Ends one blade's QEMU (by PID) and waits for it to go. */
export async function stopBlade(s: LabState, name: string): Promise<void> {
  const b = blade(s, name);
  if (b.pid === null) return;
  const pid = b.pid;
  killPid(pid, 'SIGTERM');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  killPid(pid, 'SIGKILL');
  for (let i = 0; i < 20 && alive(pid); i++) await sleep(50);
  b.pid = null;
  s.processes = s.processes.filter((p) => p.pid !== pid);
  saveState(s);
}

function killPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

// ------------------------------------------------------------------ down

/**
 * Removes everything the lab made: its processes by PID (QEMU first, then the server), anything left
 * in its namespace, the namespace (and with it the bridge and taps), and its run folder unless
 * keepFiles.
 */
export function destroyLab(s: LabState, keepFiles = false): string[] {
  const done: string[] = [];
  const order = [...s.processes].sort((a, b) => Number(b.role.startsWith('qemu')) - Number(a.role.startsWith('qemu')));
  for (const p of order) {
    if (!alive(p.pid)) continue;
    killPid(p.pid, 'SIGTERM');
    done.push(`${p.role} (pid ${p.pid})`);
  }
  const until = Date.now() + 5000;
  while (Date.now() < until && order.some((p) => alive(p.pid))) execFileSync('sleep', ['0.1']);
  for (const p of order) if (alive(p.pid)) killPid(p.pid, 'SIGKILL');
  if (namespaces().includes(s.namespace)) {
    // Safety net: whatever still runs in our namespace is ours (we made it and ran everything in it).
    for (let round = 0; round < 20; round++) {
      let left: number[] = [];
      try {
        left = sh('ip', ['netns', 'pids', s.namespace])
          .split('\n')
          .map((x) => Number(x.trim()))
          .filter((n) => Number.isInteger(n) && n > 0);
      } catch {
        left = [];
      }
      if (!left.length) break;
      for (const pid of left) killPid(pid, 'SIGKILL');
      execFileSync('sleep', ['0.1']);
    }
    try {
      sh('ip', ['netns', 'del', s.namespace]);
      done.push(`namespace ${s.namespace} with ${s.devices.length - 1} devices`);
    } catch (e) {
      done.push(`namespace ${s.namespace} NOT removed: ${(e as Error).message}`);
    }
  }
  if (!keepFiles) rmSync(s.dir, { recursive: true, force: true });
  else rmSync(stateFile(s.dir), { force: true });
  return done;
}

/**
 * Reboots a blade: QMP system_reset. With -no-reboot QEMU turns the reset into a power-off, so the
 * same machine (same MACs, taps and firmware, fresh UEFI vars) is then powered on again: for a
 * stateless blade a reset and a cold boot are the same thing. `change` may alter the machine in between
 * (a NIC pulled out).
 */
export async function resetBlade(s: LabState, name: string, change?: (b: BladeRecord) => void): Promise<BladeRecord> {
  const b = blade(s, name);
  if (b.pid !== null && alive(b.pid)) {
    const { qmp } = await import('./qmp.js');
    try {
      await qmp(b.qmp, 'system_reset');
    } catch {
      // QEMU may close the socket as it goes down; the PID tells.
    }
    for (let i = 0; i < 100 && alive(b.pid); i++) await sleep(100);
  }
  await stopBlade(s, name);
  change?.(b);
  return startBlade(s, name);
}
