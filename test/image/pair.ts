// Two blades booted side by side from the built image, for the tests that need a partner: LACP
// toward each other (test/image/lacp.test.ts) and QoS measured between them (test/image/qos.test.ts).
// Topology, all inside one namespace of the test's own (test/support/netns.ts):
//
//   blade 1 eth0 ─ tap ─┐                                   ┌─ tap ─ eth0 blade 2
//                       bridge br (10.77.0.1/24): server.mjs :8081 (1), :8082 (2)
//   blade 1 eth1 ═══════ UDP 127.0.0.1 ══════ eth1 blade 2      (only with `links`)
//   blade 1 eth2 ═══════ UDP 127.0.0.1 ══════ eth2 blade 2
//
// The socket links are direct point-to-point wires (QEMU socket netdevs on the namespace's loopback):
// a Linux bridge does not forward LACP frames (01:80:c2:00:00:02). Each blade gets its own stand-in
// server carrying the apply script the test rendered; both stay up (no tabula.once) until cleanup.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type LabProcess, type NetnsLab, REPO } from '../support/netns.js';
import { INITRD, KERNEL, RUNS, type Report, SERVER_IP, TOKEN } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** MAC of blade `blade` (1 or 2), NIC `n` (1-based: eth0 is 1). */
export const pairMac = (blade: number, n: number): string => `52:54:00:00:0${blade}:0${n}`;
/** Provisioning / management address of blade 1 or 2 on the lab bridge. */
export const pairIp = (blade: number): string => `10.77.0.2${blade}`;

export interface PairBlade {
  n: number;
  dir: string;
  server: LabProcess;
  qemu: LabProcess | null;
}

export interface PairOptions {
  label: string;
  /** The apply script of blade 1 and of blade 2. */
  scripts: [string, string];
  /** Point-to-point links besides eth0 (eth1..ethN wired blade to blade). */
  links: number;
}

const reportPath = (b: PairBlade): string => path.join(b.dir, 'report-1.json');

function reportOf(b: PairBlade): Report | null {
  return existsSync(reportPath(b)) ? (JSON.parse(readFileSync(reportPath(b), 'utf8')) as Report) : null;
}

/** The blade's serial log so far. */
export function serialOf(b: PairBlade): string {
  const f = path.join(b.dir, 'serial.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

/** The blade's last /init lines, for failure messages. */
export function tail(b: PairBlade): string {
  return `blade ${b.n} (${b.dir}):\n${serialOf(b)
    .split('\n')
    .filter((l) => l.includes('tabula'))
    .slice(-40)
    .join('\n')}`;
}

/** The blade's first report (generation 1), waiting for it; throws when QEMU exits first or on timeout. */
export async function waitForReport(b: PairBlade, timeoutMs: number): Promise<Report> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = reportOf(b);
    if (r) return r;
    if (b.qemu?.exit) {
      await sleep(200);
      const again = reportOf(b);
      if (again) return again;
      throw new Error(`QEMU of blade ${b.n} exited before its report: ${b.qemu.stderr.slice(-1000)}\n${tail(b)}`);
    }
    if (Date.now() > until) throw new Error(`no report from blade ${b.n} within ${timeoutMs / 1000} s\n${tail(b)}`);
    await sleep(250);
  }
}

/** Runs `inspect` on each blade's report; a failure carries that blade's last /init lines. */
export function eachBlade(blades: PairBlade[], reports: Report[], inspect: (r: Report, b: PairBlade) => void): void {
  for (const [i, report] of reports.entries()) {
    const b = blades[i] as PairBlade;
    try {
      inspect(report, b);
    } catch (err) {
      (err as Error).message = `${(err as Error).message}\n${tail(b)}`;
      throw err;
    }
  }
}

/** Sets up the bridge, the two servers and the two VMs in `lab`; returns once both QEMUs started. */
export async function bootPair(lab: NetnsLab, opts: PairOptions): Promise<PairBlade[]> {
  const ns = lab.netns('n');
  const br = lab.bridge(ns, 'br', []);
  lab.ip(ns, 'link', 'set', br, 'type', 'bridge', 'stp_state', '0');
  lab.ip(ns, 'link', 'set', br, 'up');
  lab.addr(ns, br, `${SERVER_IP}/24`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const blades: PairBlade[] = [];
  for (const n of [1, 2]) {
    const dir = path.join(RUNS, `${opts.label}${n}-${stamp}-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.sh'), opts.scripts[n - 1] as string);
    const tap = lab.name(`t${n}`);
    lab.ip(ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
    lab.ip(ns, 'link', 'set', tap, 'master', br);
    lab.ip(ns, 'link', 'set', tap, 'up');
    const server = lab.spawn(ns, `server${n}`, process.execPath, [path.join(REPO, 'test', 'image', 'server.mjs'), '--dir', dir, '--port', String(8080 + n), '--token', TOKEN]);
    blades.push({ n, dir, server, qemu: null });
  }
  for (const b of blades) {
    const until = Date.now() + 10_000;
    while (!b.server.stdout.includes('listening')) {
      if (Date.now() > until || b.server.exit) throw new Error(`server ${b.n} did not start: ${b.server.stderr}`);
      await sleep(100);
    }
  }
  for (const b of blades) {
    const n = b.n;
    const other = 3 - n;
    // ethK of blade n sends to blade other's ethK (UDP port 40000 + 10 * blade + K). A speed and full
    // duplex as a real NIC reports them: a Linux 802.3ad bond sends no LACPDU on a port of unknown
    // duplex (virtio's default), and both ends then stay "defaulted".
    const link = (k: number): string[] => [
      '-netdev',
      `socket,id=n${k},udp=127.0.0.1:${40000 + 10 * other + k},localaddr=127.0.0.1:${40000 + 10 * n + k}`,
      '-device',
      `virtio-net-pci,netdev=n${k},mac=${pairMac(n, k + 1)},speed=10000,duplex=full,romfile=`,
    ];
    const append = [
      'console=ttyS0',
      'panic=-1',
      `BOOTIF=01-${pairMac(n, 1).replace(/:/g, '-')}`,
      `tabula.server=http://${SERVER_IP}:${8080 + n}`,
      `tabula.token=${TOKEN}`,
      `tabula.ip=${pairIp(n)}`,
      'tabula.mask=255.255.255.0',
      'tabula.gw=',
      // No tabula.once: a blade that powered off after its report would leave the other without its
      // partner. Both stay up until the lab is cleaned up.
      'tabula.poll=600',
      'tabula.reach=90',
    ].join(' ');
    // prettier-ignore
    const args = [
      '-name', `tabula-${opts.label}${n}`, '-accel', 'tcg', '-smp', '1', '-m', '256',
      '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
      '-serial', `file:${path.join(b.dir, 'serial.log')}`, '-monitor', 'none',
      '-kernel', KERNEL, '-initrd', INITRD, '-append', append,
      '-netdev', `tap,id=n0,ifname=${lab.name(`t${n}`)},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=n0,mac=${pairMac(n, 1)},romfile=`,
      ...Array.from({ length: opts.links }, (_, i) => link(i + 1)).flat(),
    ];
    writeFileSync(path.join(b.dir, 'qemu.args'), `${args.join('\n')}\n`);
    b.qemu = lab.spawn(ns, `qemu${n}`, 'qemu-system-x86_64', args);
  }
  return blades;
}
