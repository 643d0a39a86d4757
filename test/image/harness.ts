// Boots the built image (pxe/build/vmlinuz + initrd.img) directly in QEMU inside a network namespace
// of its own, next to a tiny stand-in server (server.mjs) and, when asked, a VLAN "switch port"
// (vlan-tagger.py). Topology, all inside one namespace (test/support/netns.ts names and removes it):
//
//   [QEMU blade] eth0 ─ tap t0 ─┐
//                eth1 ─ tap t1 ─┤ bridge br (MTU 9000, 10.77.0.1/24)   node server.mjs :8080
//                eth2 ─ tap t2 ─┤
//                  vlan-tagger ─ tap tg (trunk)  ⇄  tap ta (VLAN 100 untagged, 10.100.0.1/24)
//
// Rules (pxe-lab.md): QEMU with -accel tcg, no -netdev user, no -drive; taps only inside the namespace;
// every process killed by PID; `ip netns pids` as the safety net; bounded waits everywhere.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type LabProcess, NetnsLab, REPO, commandPath } from '../support/netns.js';

export const BUILD = path.join(REPO, 'pxe', 'build');
export const KERNEL = path.join(BUILD, 'vmlinuz');
export const INITRD = path.join(BUILD, 'initrd.img');
export const SERVER_IP = '10.77.0.1';
export const VLAN_SERVER_IP = '10.100.0.1';
export const PORT = 8080;
export const TOKEN = 't';
export const RUNS = path.join(REPO, 'node_modules', '.cache', 'tabula-image', 'runs');

const HERE = path.join(REPO, 'test', 'image');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function mac(n: number): string {
  return `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`;
}

/** Why these tests cannot run here, or null. */
export function imageUnavailable(): string | null {
  if (process.platform !== 'linux') return 'QEMU boot tests need Linux';
  if (process.getuid?.() !== 0) return 'QEMU boot tests need root (network namespace, taps; npm run build:pxe installs Debian packages)';
  for (const cmd of ['ip', 'qemu-system-x86_64', 'python3', 'busybox']) if (!commandPath(cmd)) return `'${cmd}' is not installed (apt-get install iproute2 qemu-system-x86 python3 busybox-static)`;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  const built = existsSync(KERNEL) && existsSync(INITRD);
  if (!built && (!commandPath('dpkg-query') || !commandPath('apt-get'))) return 'pxe/build is empty and npm run build:pxe needs a Debian system (dpkg, apt-get)';
  return null;
}

/** `bash pxe/build.sh` (cached: quick when nothing changed). Throws with its output when it fails. */
export function buildImage(): string {
  try {
    return execFileSync('bash', [path.join(REPO, 'pxe', 'build.sh')], { encoding: 'utf8', timeout: 900_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string; status?: number | null; signal?: string | null };
    // execFileSync's message already ends with the build's stderr.
    throw new Error(`npm run build:pxe failed (exit ${err.status ?? '-'}, signal ${err.signal ?? '-'}): ${err.message}\n${err.stdout ?? ''}`);
  }
}

export interface BootOptions {
  /** Folder name prefix for the run's artefacts. */
  label: string;
  /** The apply script the server hands out (rendered by the test). */
  script: string;
  /** Start the VLAN 100 switch port (tagger) so that the server is reachable on VLAN 100. */
  vlanPort: boolean;
  /** Extra kernel arguments (tabula.once=1, tabula.poll=...). */
  kernelArgs: string;
  /** Provisioning address the "iPXE lease" hands to /init; null: none, /init falls back to DHCP. */
  provisioningIp?: string | null;
  /** Run busybox udhcpd on the lab bridge (10.77.0.100-120). */
  dhcpServer?: boolean;
  /** The stand-in server answers 400 to a report with a kernel field, as a server without it would. */
  refuseKernel?: boolean;
}

export interface Report {
  generation: number;
  verified: boolean;
  rolledBack?: boolean;
  checks: { name: string; ok: boolean; detail?: string; advisory?: boolean }[];
  durationsMs?: Record<string, number>;
  /** The kernel's network state (pxe/init.sh kernel_json). */
  kernel?: unknown;
}

export interface ServerLogLine {
  ms: number;
  method?: string;
  path?: string;
  /** The query string, '?...', when there was one. */
  query?: string;
  status?: number;
  remote?: string;
  listening?: number;
}

/** One blade booted in its own namespace. Always call close() (afterEach/finally). */
export class BladeRun {
  readonly dir: string;
  readonly lab: NetnsLab;
  readonly ns: string;
  qemu: LabProcess | null = null;
  server: LabProcess | null = null;
  tagger: LabProcess | null = null;
  dhcpd: LabProcess | null = null;
  /** Date.now() when QEMU was started. */
  startedAt = 0;
  private readonly taps: string[];

  constructor(private readonly opts: BootOptions) {
    this.dir = path.join(RUNS, `${opts.label}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(path.join(this.dir, 'config.sh'), opts.script);
    this.lab = new NetnsLab(`image-${opts.label}`);
    this.ns = this.lab.netns('n');
    const ns = this.ns;
    const br = this.lab.bridge(ns, 'br', []);
    this.lab.ip(ns, 'link', 'set', br, 'type', 'bridge', 'stp_state', '0');
    this.taps = ['t0', 't1', 't2'].map((t) => this.tap(t, br));
    if (opts.vlanPort) {
      this.tap('tg', br);
      const access = this.tap('ta', null);
      this.lab.addr(ns, access, `${VLAN_SERVER_IP}/24`);
    }
    this.lab.ip(ns, 'link', 'set', br, 'mtu', '9000', 'up');
    this.lab.addr(ns, br, `${SERVER_IP}/24`);
  }

  private tap(tag: string, master: string | null): string {
    const name = this.lab.name(tag);
    this.lab.ip(this.ns, 'tuntap', 'add', 'dev', name, 'mode', 'tap');
    this.lab.ip(this.ns, 'link', 'set', name, 'mtu', '9000');
    if (master) this.lab.ip(this.ns, 'link', 'set', name, 'master', master);
    this.lab.ip(this.ns, 'link', 'set', name, 'up');
    return name;
  }

  get provisioningIp(): string | null {
    return this.opts.provisioningIp === undefined ? '10.77.0.21' : this.opts.provisioningIp;
  }

  async start(): Promise<void> {
    const ns = this.ns;
    this.server = this.lab.spawn(ns, 'server', process.execPath, [path.join(HERE, 'server.mjs'), '--dir', this.dir, '--port', String(PORT), '--token', TOKEN, ...(this.opts.refuseKernel ? ['--refuse-kernel'] : [])]);
    await this.waitFor('the test server to listen', () => this.server?.stdout.includes('listening') ?? false, 10_000, this.server);
    if (this.opts.vlanPort) {
      const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
      this.tagger = this.lab.spawn(ns, 'tagger', py, ['-u', path.join(HERE, 'vlan-tagger.py'), this.lab.name('tg'), this.lab.name('ta'), '100']);
      await this.waitFor('the VLAN tagger', () => this.tagger?.stdout.includes('tagging') ?? false, 10_000, this.tagger);
    }
    if (this.opts.dhcpServer) {
      const conf = path.join(this.dir, 'udhcpd.conf');
      // prettier-ignore
      writeFileSync(conf, [
        'start 10.77.0.100', 'end 10.77.0.120', `interface ${this.lab.name('br')}`, 'max_leases 21',
        `lease_file ${path.join(this.dir, 'udhcpd.leases')}`, `pidfile ${path.join(this.dir, 'udhcpd.pid')}`,
        'opt subnet 255.255.255.0', 'opt lease 600', '',
      ].join('\n'));
      this.dhcpd = this.lab.spawn(ns, 'udhcpd', 'busybox', ['udhcpd', '-f', conf]);
      await sleep(300);
      if (this.dhcpd.exit) throw new Error(`udhcpd exited: ${this.dhcpd.stderr}\n${this.where()}`);
    }
    const provisioning = this.provisioningIp === null ? ['tabula.ip=', 'tabula.mask=', 'tabula.gw='] : [`tabula.ip=${this.provisioningIp}`, 'tabula.mask=255.255.255.0', 'tabula.gw='];
    const append = [
      'console=ttyS0',
      'panic=-1',
      `BOOTIF=01-${mac(1).replace(/:/g, '-')}`,
      `tabula.server=http://${SERVER_IP}:${PORT}`,
      `tabula.token=${TOKEN}`,
      ...provisioning,
      this.opts.kernelArgs,
    ].join(' ');
    const nics = this.taps.flatMap((tap, i) => ['-netdev', `tap,id=n${i},ifname=${tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n${i},mac=${mac(i + 1)},romfile=`]);
    // prettier-ignore
    const args = [
      '-name', `tabula-${this.opts.label}`, '-accel', 'tcg', '-smp', '1', '-m', '256',
      '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
      '-serial', `file:${path.join(this.dir, 'serial.log')}`, '-monitor', 'none',
      '-kernel', KERNEL, '-initrd', INITRD, '-append', append,
      ...nics,
    ];
    writeFileSync(path.join(this.dir, 'qemu.args'), `${args.join('\n')}\n`);
    this.startedAt = Date.now();
    this.qemu = this.lab.spawn(ns, 'qemu', 'qemu-system-x86_64', args);
  }

  private async waitFor(what: string, pred: () => boolean, timeoutMs: number, proc: LabProcess | null = null): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred()) {
      if (proc?.exit) throw new Error(`${proc.name} exited before ${what} (${JSON.stringify(proc.exit)}): ${proc.stderr.slice(-2000)}\n${this.where()}`);
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${this.where()}`);
      await sleep(100);
    }
  }

  /** The folder to look at, for failure messages. */
  where(): string {
    return `serial log, server log, apply script and reports: ${this.dir}`;
  }

  reports(): Report[] {
    return readdirSync(this.dir)
      .map((f) => /^report-(\d+)\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((m) => JSON.parse(readFileSync(path.join(this.dir, m[0]), 'utf8')) as Report);
  }

  /** Waits for report number n (1-based); fails early when QEMU exits without it. */
  async waitForReport(n: number, timeoutMs: number): Promise<Report> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const all = this.reports();
      const r = all[n - 1];
      if (r) return r;
      if (this.qemu?.exit) {
        await sleep(200);
        const again = this.reports()[n - 1];
        if (again) return again;
        throw new Error(`QEMU exited (${JSON.stringify(this.qemu.exit)}) before report ${n}: ${this.qemu.stderr.slice(-2000)}\n${this.tail()}\n${this.where()}`);
      }
      if (Date.now() > until) throw new Error(`no report ${n} within ${timeoutMs / 1000} s\n${this.tail()}\n${this.where()}`);
      await sleep(250);
    }
  }

  /** Waits for QEMU to power off by itself (tabula.once=1). */
  async waitForExit(timeoutMs: number): Promise<void> {
    if (!this.qemu) throw new Error('not started');
    const done = await Promise.race([this.qemu.exited, sleep(timeoutMs).then(() => null)]);
    if (!done) throw new Error(`QEMU did not power off within ${timeoutMs / 1000} s\n${this.tail()}\n${this.where()}`);
  }

  serial(): string {
    const f = path.join(this.dir, 'serial.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** The last lines of /init's console output, for failure messages. */
  tail(lines = 40): string {
    return this.serial()
      .split('\n')
      .filter((l) => l.includes('tabula'))
      .slice(-lines)
      .join('\n');
  }

  serverLog(): ServerLogLine[] {
    const f = path.join(this.dir, 'server.log');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ServerLogLine);
  }

  inventory(): unknown {
    return JSON.parse(readFileSync(path.join(this.dir, 'inventory.json'), 'utf8'));
  }

  /** Seconds from QEMU start to the arrival of report n (from the report file's mtime). */
  secondsToReport(n: number): number {
    const f = path.join(this.dir, `report-${n}.json`);
    return Math.round((statSync(f).mtimeMs - this.startedAt) / 100) / 10;
  }

  setScript(script: string): void {
    writeFileSync(path.join(this.dir, 'config.sh.tmp'), script);
    execFileSync('mv', [path.join(this.dir, 'config.sh.tmp'), path.join(this.dir, 'config.sh')]);
  }

  /** Runs a command inside the namespace (bounded). */
  exec(cmd: string, args: string[], timeoutMs = 15_000): ReturnType<NetnsLab['exec']> {
    return this.lab.exec(this.ns, cmd, args, timeoutMs);
  }

  /** Kills QEMU, the server and the tagger by PID, anything left in the namespace, deletes it. */
  async close(): Promise<void> {
    await this.lab.cleanup();
  }
}
