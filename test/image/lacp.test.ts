// Two blades of an `ovs` cluster bonded with LACP toward each other. A Linux bridge does not forward
// LACP frames (01:80:c2:00:00:02), so each bond member is a direct point-to-point link: a QEMU socket
// netdev (UDP on the namespace's loopback) from blade A's ethN to blade B's ethN. Topology, all inside
// one namespace of the test's own (test/support/netns.ts):
//
//   blade A eth0 ─ tap ─┐                                   ┌─ tap ─ eth0 blade B
//                       bridge br (10.77.0.1/24): server.mjs :8081 (A), :8082 (B)
//   blade A eth1 ═══════ UDP 127.0.0.1 ══════ eth1 blade B
//   blade A eth2 ═══════ UDP 127.0.0.1 ══════ eth2 blade B
//
// Each blade: management untagged on eth0 (an OVS bridge of its own, internal port mgmt), and bond0 =
// eth1+eth2, balance-tcp with LACP active and fast, carrying storage on VLAN 300 (10.30.0.1 / .2).
// Both boot at once (two VMs, TCG); each must verify, report ovs:lacp:bond0 as negotiated with the
// other blade as partner, and reach the other over the bond (the advisory peer check).
// The apply scripts are Tabula's real renderApplyScript(planHost(config)); the stand-in servers only
// carry bytes. Needs root, qemu-system-x86 and python3; skipped with the reason otherwise.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/domain/model.js';
import { parseLacpShow } from '../../src/domain/observed.js';
import { planHost } from '../../src/domain/plan.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { type LabProcess, NetnsLab, REPO } from '../support/netns.js';
import { attachOnBond, attachOnNic, bond, cluster, hostConfig, network, nic } from '../support/builders.js';
import { INITRD, KERNEL, RUNS, type Report, SERVER_IP, TOKEN, buildImage, imageUnavailable } from './harness.js';

const skip = imageUnavailable();
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/image/ovs-lacp.test.ts skipped: ${skip}`);

const BOOT_TIMEOUT_MS = 240_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bladeMac = (blade: number, n: number): string => `52:54:00:00:0${blade}:0${n}`;
const storageIp = (blade: number): string => `10.30.0.${blade}`;

/** Blade 1 or 2: mgmt untagged on eth0, storage on VLAN 300 over an LACP bond of eth1+eth2. */
function bladeConfig(blade: number): HostConfig {
  const mgmt = network('mgmt', { role: 'management', required: true });
  const storage = network('storage', { role: 'storage', vlan: 300 });
  const nics = [1, 2, 3].map((n) => nic(n, { mac: bladeMac(blade, n) }));
  const cfg = hostConfig({ name: `lacp${blade}`, nics, networks: [mgmt, storage], custom: { 'tabula.peer-ping': storageIp(3 - blade) } });
  cfg.cluster = cluster({ switchType: 'ovs' });
  cfg.bonds = [bond(1, 'bond0', 'balance-tcp', [bladeMac(blade, 2), bladeMac(blade, 3)], { lacp: 'active', lacp_rate: 'fast', miimon: 100 })];
  cfg.attachments = [
    attachOnNic(mgmt, bladeMac(blade, 1), { method: 'static', address: `10.77.0.2${blade}`, prefix: 24 }),
    attachOnBond(storage, 1, { method: 'static', address: storageIp(blade), prefix: 24 }),
  ];
  return cfg;
}

interface Blade {
  n: number;
  dir: string;
  server: LabProcess;
  qemu: LabProcess | null;
}

function reportOf(b: Blade): Report | null {
  const f = readdirSync(b.dir).find((x) => x === 'report-1.json');
  return f ? (JSON.parse(readFileSync(path.join(b.dir, f), 'utf8')) as Report) : null;
}

function tail(b: Blade): string {
  const f = path.join(b.dir, 'serial.log');
  const lines = existsSync(f) ? readFileSync(f, 'utf8').split('\n') : [];
  return `blade ${b.n} (${b.dir}):\n${lines.filter((l) => l.includes('tabula')).slice(-40).join('\n')}`;
}

async function waitForReport(b: Blade, timeoutMs: number): Promise<Report> {
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

const check = (r: Report, name: string): Report['checks'][number] | undefined => r.checks.find((c) => c.name === name);

d('stateless boot image, two Open vSwitch blades with an LACP bond toward each other', () => {
  let lab: NetnsLab | null = null;
  const blades: Blade[] = [];

  beforeAll(() => {
    buildImage();
  }, 900_000);

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('both blades negotiate LACP with each other, verify and reach each other over the bond', async () => {
    lab = new NetnsLab('image-lacp');
    const ns = lab.netns('n');
    const br = lab.bridge(ns, 'br', []);
    lab.ip(ns, 'link', 'set', br, 'type', 'bridge', 'stp_state', '0');
    lab.ip(ns, 'link', 'set', br, 'up');
    lab.addr(ns, br, `${SERVER_IP}/24`);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const started = Date.now();
    for (const n of [1, 2]) {
      const dir = path.join(RUNS, `ovs-lacp${n}-${stamp}-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'config.sh'), renderApplyScript(planHost(bladeConfig(n))));
      const tap = lab.name(`t${n}`);
      lab.ip(ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
      lab.ip(ns, 'link', 'set', tap, 'master', br);
      lab.ip(ns, 'link', 'set', tap, 'up');
      const port = 8080 + n;
      const server = lab.spawn(ns, `server${n}`, process.execPath, [path.join(REPO, 'test', 'image', 'server.mjs'), '--dir', dir, '--port', String(port), '--token', TOKEN]);
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
      // ethN of blade n sends to blade other's ethN (UDP port 40000 + 10 * blade + N).
      const link = (nicNo: number): string[] => [
        '-netdev',
        `socket,id=n${nicNo},udp=127.0.0.1:${40000 + 10 * other + nicNo},localaddr=127.0.0.1:${40000 + 10 * n + nicNo}`,
        '-device',
        `virtio-net-pci,netdev=n${nicNo},mac=${bladeMac(n, nicNo + 1)},romfile=`,
      ];
      const append = [
        'console=ttyS0',
        'panic=-1',
        `BOOTIF=01-${bladeMac(n, 1).replace(/:/g, '-')}`,
        `tabula.server=http://${SERVER_IP}:${8080 + n}`,
        `tabula.token=${TOKEN}`,
        `tabula.ip=10.77.0.2${n}`,
        'tabula.mask=255.255.255.0',
        'tabula.gw=',
        // No tabula.once: a blade that powered off after its report would leave the other without a
        // partner (LACP defaulted, peer silent). Both stay up until the lab is cleaned up.
        'tabula.poll=600',
        'tabula.reach=90',
      ].join(' ');
      // prettier-ignore
      const args = [
        '-name', `tabula-lacp${n}`, '-accel', 'tcg', '-smp', '1', '-m', '256',
        '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
        '-serial', `file:${path.join(b.dir, 'serial.log')}`, '-monitor', 'none',
        '-kernel', KERNEL, '-initrd', INITRD, '-append', append,
        '-netdev', `tap,id=n0,ifname=${lab.name(`t${n}`)},script=no,downscript=no`,
        '-device', `virtio-net-pci,netdev=n0,mac=${bladeMac(n, 1)},romfile=`,
        ...link(1), ...link(2),
      ];
      writeFileSync(path.join(b.dir, 'qemu.args'), `${args.join('\n')}\n`);
      b.qemu = lab.spawn(ns, `qemu${n}`, 'qemu-system-x86_64', args);
    }

    const reports = await Promise.all(blades.map((b) => waitForReport(b, BOOT_TIMEOUT_MS)));
    console.log(`ovs lacp: QEMU start -> both reports ${Math.round((Date.now() - started) / 100) / 10} s (${blades.map((b) => b.dir).join(', ')})`);
    for (const [i, report] of reports.entries()) {
      const b = blades[i] as Blade;
      try {
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        expect(report).toMatchObject({ verified: true });
        expect(check(report, 'ovs:port:bond0:lacp')?.detail).toBe('active (planned active)');
        expect(check(report, 'ovs:port:bond0:bond_mode')?.detail).toBe('balance-tcp (planned balance-tcp)');
        expect(check(report, 'ovs:bond:bond0:enabled')?.detail).toMatch(/^enabled: eth1 eth2/);
        expect(check(report, 'ovs:lacp:bond0')).toMatchObject({ ok: true, advisory: true });
        expect(check(report, 'ovs:lacp:bond0')?.detail).toMatch(/^status active negotiated; partner [0-9a-f:]{17}$/);
        // Over the bond and VLAN 300 to the other blade.
        expect(check(report, `peer:${storageIp(3 - b.n)}`)).toMatchObject({ ok: true, advisory: true });
        // The engine's reading of lacp/show: negotiated, and the partner is the other blade's system.
        const shown = parseLacpShow((report.kernel as { ovs?: { lacpShow?: string } } | undefined)?.ovs?.lacpShow ?? '');
        expect(shown.bond0?.negotiated).toBe(true);
        const own = /^\s*sys_id: (\S+)/m.exec((report.kernel as { ovs?: { lacpShow?: string } }).ovs?.lacpShow ?? '')?.[1];
        expect(shown.bond0?.partner).not.toBe(own);
      } catch (err) {
        (err as Error).message = `${(err as Error).message}\n${tail(b)}`;
        throw err;
      }
    }
    // Each blade's partner is the other blade's own system id.
    const sysIds = reports.map((r) => /^\s*sys_id: (\S+)/m.exec((r.kernel as { ovs?: { lacpShow?: string } }).ovs?.lacpShow ?? '')?.[1]);
    const partners = reports.map((r) => parseLacpShow((r.kernel as { ovs?: { lacpShow?: string } }).ovs?.lacpShow ?? '').bond0?.partner);
    expect(partners).toEqual([sysIds[1], sysIds[0]]);
  }, 400_000);
});
