// End-to-end: unmodified firmware (SeaBIOS or OVMF with QEMU's iPXE ROM) PXE-boots diskless QEMU blades
// from `tabula serve` alone, inside the virtual rack of src/lab (its own network namespace, removed in
// afterAll). One rack is shared by the tests below, which run in this order and keep at most three
// QEMU blades running at once:
//   (1) three blades in parallel, two BIOS and one UEFI, each verified exactly as planned
//   (7) an unknown machine enrols and gets the management network only
//   (2) statelessness: new config, reset, nothing of the old remains
//   (6) rollback: management on a VLAN the server cannot reach
//   (4) live re-apply without reboot
//   (5) failover: one bond member's link cut through QMP
//   (3) a NIC pulled out: partial bond, host out of sync; put back: in sync
//   (8) a second lab through the CLI, beside this one: an Open vSwitch blade with four NICs
// A failing test names the folder holding the blades' serial logs and the server log.
// Needs root, qemu-system-x86, ovmf, ipxe-qemu, dnsmasq-base and busybox-static; skipped otherwise.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InterfaceState } from '../../src/domain/plan-types.js';
import { type BladeRecord, type LabState, apiOk, blade, createLab, destroyLab, resetBlade, startBlade, stopBlade } from '../../src/lab/rack.js';
import { qmp } from '../../src/lab/qmp.js';
import { PEER_PING } from '../../src/lab/spec.js';
import { type BladeResult, bootEvents, watchBlades } from '../../src/lab/watch.js';
import { ARTEFACTS, TFTP_ROOT, buildLabCli, runWithEnv, compareWithPlan, e2eUnavailable, ensureImage, pingFromServer, plan, reported, withArtefacts } from './support.js';

const skip = e2eUnavailable();
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/e2e/rack.test.ts skipped: ${skip}`);

const BOOT_MS = 300_000;
let lab: LabState | null = null;
let cliDir: string | null = null;
const cliMainPath = (): string => {
  if (!cliDir) throw new Error('the CLI was not built (see beforeAll)');
  return path.join(cliDir, 'cli', 'main.js');
};
const L = (): LabState => {
  if (!lab) throw new Error('the rack did not come up (see beforeAll)');
  return lab;
};

interface HostView {
  name: string;
  bootMac: string | null;
  state: string;
  generation: number;
  appliedGeneration: number | null;
  inSync: boolean;
  syncReasons: unknown[];
}

const host = (name: string): Promise<HostView> => apiOk<HostView>(L(), 'GET', `/api/v1/hosts/${name}`);

async function watchOne(b: BladeRecord, opts: { host?: string; sinceMs?: number; minGeneration?: number; sameBoot?: boolean; timeoutMs?: number } = {}): Promise<BladeResult> {
  const { timeoutMs: _t, ...target } = opts;
  const [r] = await watchBlades(L(), [{ blade: b, ...target }], {
    timeoutMs: opts.timeoutMs ?? BOOT_MS,
  });
  return r as BladeResult;
}

d('the virtual rack, end to end', () => {
  beforeAll(async () => {
    ensureImage();
    const cli = await buildLabCli();
    cliDir = cli.dir;
    lab = await createLab({ blades: 3, nics: 2, firmware: 'mixed', cliMain: cli.main, tftpRoot: TFTP_ROOT, runRoot: path.join(ARTEFACTS, 'run') });
  }, 400_000);

  afterAll(() => {
    if (lab) destroyLab(lab);
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  });

  it('(1) boots three blades in parallel, two BIOS and one UEFI, each verified with exactly its planned network and no disks', async () => {
    await withArtefacts(() => lab, 'e2e-1-three-blades', async () => {
      const s = L();
      expect(s.blades.map((b) => b.firmware)).toEqual(['bios', 'bios', 'uefi']);
      for (const b of s.blades) startBlade(s, b.name);
      const results = await watchBlades(
        s,
        s.blades.map((b) => ({ blade: b })),
        { timeoutMs: BOOT_MS },
      );
      for (const r of results) {
        expect({ blade: r.name, outcome: r.outcome, detail: r.detail }).toEqual({ blade: r.name, outcome: 'verified', detail: undefined });
        expect(r.stages.kernel).toBeDefined();
        expect(r.stages.inventory).toBeDefined();
      }
      for (const b of s.blades) {
        const rep = await reported(s, b.name, b.serial);
        expect(compareWithPlan(await plan(s, b.name), rep), `${b.name} (${rep.source})`).toEqual([]);
        // Jumbo frames through the bridge, the active-backup bond and the blade's mgmt bridge.
        expect(await pingFromServer(s, b.mgmtIp, { size: 8972 }), `${b.name} ${b.mgmtIp} answers a 9000-byte ping`).toBe(true);
        const h = await host(b.name);
        expect({ blade: b.name, applied: h.appliedGeneration, inSync: h.inSync, reasons: h.syncReasons }).toEqual({ blade: b.name, applied: h.generation, inSync: true, reasons: [] });
      }
    });
  }, 400_000);

  it('(7) an unknown machine PXE-boots, enrols as a new host and gets the management network only', async () => {
    await withArtefacts(() => lab, 'e2e-7-unknown', async () => {
      const s = L();
      // A machine nobody registered, plugged into blade2's first port (blade2 is powered off meanwhile).
      await stopBlade(s, 'blade2');
      const b2 = blade(s, 'blade2');
      const stranger: BladeRecord = { ...b2, name: 'stranger', firmware: 'bios', macs: ['52:54:00:7a:99:01'], nicNames: ['eth0'], taps: [b2.taps[0] as string], serial: path.join(s.dir, 'stranger.serial'), qmp: path.join(s.dir, 'stranger.qmp'), pid: null, startedAt: 0 };
      s.blades.push(stranger);
      try {
        const before = await apiOk<HostView[]>(s, 'GET', '/api/v1/hosts');
        expect(before.some((h) => h.bootMac === stranger.macs[0])).toBe(false);
        startBlade(s, 'stranger');
        let enrolled: HostView | undefined;
        for (let i = 0; i < 240 && !enrolled; i++) {
          enrolled = (await apiOk<HostView[]>(s, 'GET', '/api/v1/hosts')).find((h) => h.bootMac === stranger.macs[0]);
          if (!enrolled) await new Promise((r) => setTimeout(r, 500));
        }
        expect(enrolled, 'an enrolled host with the stranger boot MAC').toBeDefined();
        const name = (enrolled as HostView).name;
        const r = await watchOne(stranger, { host: name });
        expect({ outcome: r.outcome, detail: r.detail }).toEqual({ outcome: 'verified', detail: undefined });
        const p = await plan(s, name);
        expect(Object.keys(p.state.networks)).toEqual(['mgmt']);
        expect(p.state.interfaces.filter((i) => i.type === 'bond' || i.type === 'vlan')).toEqual([]);
        const attachments = await apiOk<{ network: string; ipv4: { method: string } }[]>(s, 'GET', `/api/v1/hosts/${name}/attachments`);
        expect(attachments.map((a) => [a.network, a.ipv4.method])).toEqual([['mgmt', 'dhcp']]);
        expect((await host(name)).state).toBe('new');
        const rep = await reported(s, name, stranger.serial);
        expect(compareWithPlan(p, rep), rep.source).toEqual([]);
        expect(rep.checks.find((c) => c.name === 'dhcp:mgmt')?.ok).toBe(true);
      } finally {
        await stopBlade(s, 'stranger');
      }
    });
  }, 400_000);

  it('(2) statelessness: another bond mode, a new VLAN and a network removed; after a reset the new config is applied and nothing of the old remains', async () => {
    await withArtefacts(() => lab, 'e2e-2-stateless', async () => {
      const s = L();
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade1/bonds/bond0', { mode: 'balance-xor' });
      await apiOk(s, 'POST', '/api/v1/clusters/rack1/networks', { name: 'backup', vlan: 300, mtu: 9000, role: 'other' });
      await apiOk(s, 'POST', '/api/v1/hosts/blade1/attachments', { network: 'backup', interface: 'bond0', ipv4: { method: 'static', address: '10.30.0.11', prefix: 24 } });
      await apiOk(s, 'DELETE', '/api/v1/hosts/blade1/attachments/storage');
      // blade3 stops pinging the storage address blade1 gave up; blade1 pings only blade3 from now on
      // (blade2 is off, then rolled back: waiting for it would cost every later boot of blade1 a minute).
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade3', { custom: { [PEER_PING]: '10.100.0.11' } });
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade1', { custom: { [PEER_PING]: '10.100.0.13' } });
      const gen = (await host('blade1')).generation;
      const b1 = await resetBlade(s, 'blade1');
      const r = await watchOne(b1, { minGeneration: gen });
      expect({ outcome: r.outcome, generation: r.generation, detail: r.detail }).toEqual({ outcome: 'verified', generation: gen, detail: undefined });
      expect(r.stages.ipxe, 'a real PXE boot').toBeDefined();
      const p = await plan(s, 'blade1');
      const rep = await reported(s, 'blade1', b1.serial);
      expect(compareWithPlan(p, rep), rep.source).toEqual([]);
      expect(rep.checks.find((c) => c.name === 'bond:bond0:mode')?.detail).toMatch(/^balance-xor/);
      expect(rep.checks.find((c) => c.name === 'vlan:bond0.300')?.ok).toBe(true);
      // Nothing of the old configuration: no storage VLAN, no storage address, not in checks nor interfaces.
      const old = rep.checks.filter((c) => c.name.includes('bond0.200') || c.name.includes('10.200.0.11') || (c.detail ?? '').includes('active-backup'));
      expect(old).toEqual([]);
      if (rep.interfaces) expect(rep.interfaces.map((i) => i.name)).not.toContain('bond0.200');
      expect(await pingFromServer(s, '10.77.0.11')).toBe(true);
    });
  }, 400_000);

  it('(6) rollback: management moved onto a VLAN the server cannot reach rolls back; the blade reports it and stays reachable', async () => {
    await withArtefacts(() => lab, 'e2e-6-rollback', async () => {
      const s = L();
      // Same networks by name, but management tagged (VLAN 999), which the rack's switch does not carry.
      await apiOk(s, 'POST', '/api/v1/clusters', { name: 'tagged', managementNetwork: { name: 'mgmt', vlan: 999, mtu: 9000, bridged: true } });
      await apiOk(s, 'POST', '/api/v1/clusters/tagged/networks', { name: 'storage', vlan: 200, mtu: 9000, role: 'storage' });
      await apiOk(s, 'POST', '/api/v1/clusters/tagged/networks', { name: 'vmnet', vlan: 100, mtu: 1500, bridged: true, role: 'vm' });
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade2', { state: 'maintenance' });
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade2', { cluster: 'tagged', custom: {} });
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade2', { state: 'active' });
      const gen = (await host('blade2')).generation;
      const b2 = startBlade(s, 'blade2');
      const r = await watchOne(b2, { minGeneration: gen });
      expect({ outcome: r.outcome, generation: r.generation }).toEqual({ outcome: 'rolled-back', generation: gen });
      expect(r.failedChecks).toContain('server');
      const h = await host('blade2');
      expect(h.appliedGeneration === gen).toBe(false);
      expect(h.inSync).toBe(false);
      // Reachable on its provisioning address (the lease iPXE got) after the rollback.
      const events = await bootEvents(s, 'blade2', b2.startedAt);
      const ack = events.find((e) => e.stage === 'dhcp-ack');
      expect(typeof ack?.data['ip']).toBe('string');
      expect(await pingFromServer(s, ack?.data['ip'] as string), `blade2 answers on ${String(ack?.data['ip'])}`).toBe(true);
    });
  }, 400_000);

  it('(4) live re-apply: a new generation while the blade runs is applied without a reboot', async () => {
    await withArtefacts(() => lab, 'e2e-4-live', async () => {
      const s = L();
      const b3 = blade(s, 'blade3');
      const pid = b3.pid;
      const since = Date.now();
      await apiOk(s, 'PATCH', '/api/v1/hosts/blade3/bonds/bond0', { options: { miimon: 200 } });
      const gen = (await host('blade3')).generation;
      const r = await watchOne(b3, { sinceMs: since, minGeneration: gen, sameBoot: true, timeoutMs: 240_000 });
      expect({ outcome: r.outcome, generation: r.generation }).toEqual({ outcome: 'verified', generation: gen });
      expect(r.stages.ipxe, 'no new PXE boot').toBeUndefined();
      expect(r.stages.kernel, 'no new kernel').toBeUndefined();
      expect(b3.pid).toBe(pid);
      const rep = await reported(s, 'blade3', b3.serial);
      expect(rep.checks.find((c) => c.name === 'bond:bond0:miimon')?.detail).toMatch(/^200/);
      expect(compareWithPlan(await plan(s, 'blade3'), rep), rep.source).toEqual([]);
    });
  }, 300_000);

  it('(5) failover: with one bond member cut through QMP the blade stays reachable on management', async () => {
    await withArtefacts(() => lab, 'e2e-5-failover', async () => {
      const s = L();
      const b3 = blade(s, 'blade3');
      expect(await pingFromServer(s, b3.mgmtIp)).toBe(true);
      await qmp(b3.qmp, 'set_link', { name: 'n0', up: false });
      try {
        // miimon 200: the bond notices within a few hundred ms; give it a second.
        await new Promise((r) => setTimeout(r, 1500));
        expect(await pingFromServer(s, b3.mgmtIp, { count: 3 }), 'reachable with eth0 cut').toBe(true);
      } finally {
        await qmp(b3.qmp, 'set_link', { name: 'n0', up: true });
      }
      await qmp(b3.qmp, 'set_link', { name: 'n1', up: false });
      try {
        await new Promise((r) => setTimeout(r, 1500));
        expect(await pingFromServer(s, b3.mgmtIp, { count: 3 }), 'reachable with eth1 cut').toBe(true);
      } finally {
        await qmp(b3.qmp, 'set_link', { name: 'n1', up: true });
      }
    });
  }, 120_000);

  it('(3) a NIC pulled out: the engine deletes it, the bond runs partial and the host is out of sync; put back, it returns', async () => {
    await withArtefacts(() => lab, 'e2e-3-nic-missing', async () => {
      const s = L();
      const full = { macs: [...blade(s, 'blade1').macs], taps: [...blade(s, 'blade1').taps], nicNames: [...blade(s, 'blade1').nicNames] };
      const b1 = await resetBlade(s, 'blade1', (b) => {
        b.macs = full.macs.slice(0, 1);
        b.taps = full.taps.slice(0, 1);
        b.nicNames = full.nicNames.slice(0, 1);
      });
      const r = await watchOne(b1);
      expect(r.outcome).toBe('verified');
      const nics = await apiOk<{ mac: string }[]>(s, 'GET', '/api/v1/hosts/blade1/nics');
      expect(nics.map((n) => n.mac)).toEqual([full.macs[0]]);
      const bond = await apiOk<{ partial: boolean; members: { mac: string; present: boolean }[] }>(s, 'GET', '/api/v1/hosts/blade1/bonds/bond0');
      expect(bond.partial).toBe(true);
      expect(bond.members.find((m) => m.mac === full.macs[1])?.present).toBe(false);
      const h = await host('blade1');
      expect(h.inSync).toBe(false);
      expect(JSON.stringify(h.syncReasons)).toContain('BOND_PARTIAL');
      const rep = await reported(s, 'blade1', b1.serial);
      expect(rep.checks.find((c) => c.name === 'bond:bond0:ports')?.detail).toMatch(/^eth0 \(/);

      const back = await resetBlade(s, 'blade1', (b) => {
        b.macs = full.macs;
        b.taps = full.taps;
        b.nicNames = full.nicNames;
      });
      const r2 = await watchOne(back);
      expect(r2.outcome).toBe('verified');
      expect((await apiOk<{ mac: string }[]>(s, 'GET', '/api/v1/hosts/blade1/nics')).map((n) => n.mac).sort()).toEqual([...full.macs].sort());
      expect((await apiOk<{ partial: boolean }>(s, 'GET', '/api/v1/hosts/blade1/bonds/bond0')).partial).toBe(false);
      const h2 = await host('blade1');
      expect(JSON.stringify(h2.syncReasons)).not.toContain('BOND_PARTIAL');
      expect(h2.inSync).toBe(true);
    });
  }, 600_000);

  it('a second lab (the CLI, --once --json, four NICs, --switch ovs) boots its blade, which verifies its Open vSwitch; prints the JSON summary and leaves nothing behind', async () => {
    await withArtefacts(() => lab, 'e2e-cli-second-lab', async () => {
      const s = L();
      // Keep to three VMs in all: the first rack keeps two.
      await stopBlade(s, 'blade2');
      const runRoot = path.join(ARTEFACTS, 'run-cli');
      const name = `cli${process.pid % 100000}`;
      const r = await runWithEnv(process.execPath, [cliMainPath(), '--json', 'lab', 'up', '--switch', 'ovs', '--blades', '1', '--firmware', 'bios', '--nics', '4', '--once', '--timeout', '300', '--name', name], 400_000, { ...process.env, TABULA_LAB_DIR: runRoot });
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      type Check = { name: string; ok: boolean; detail?: string };
      const out = JSON.parse(r.stdout) as { name: string; mac: string; firmware: string; switchType: string; verified: boolean; secondsToVerified: number; checks: Check[]; interfaces: InterfaceState[] }[];
      expect(out).toHaveLength(1);
      expect(out[0]).toMatchObject({ name: 'blade1', mac: '52:54:00:7a:01:01', firmware: 'bios', switchType: 'ovs', verified: true });
      expect(out[0]?.secondsToVerified).toBeGreaterThan(0);
      // The blade verified its switch by reading Open vSwitch back, and no check failed (advisory ones included).
      const checks = out[0]?.checks ?? [];
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      const check = (name: string): Check | undefined => checks.find((c) => c.name === name);
      expect(check('ovs:bridge:ovsbr0')).toEqual({ name: 'ovs:bridge:ovsbr0', ok: true, detail: 'ports bond0 mgmt (planned bond0 mgmt)' });
      expect(check('ovs:bridge:ovsbr1')).toEqual({ name: 'ovs:bridge:ovsbr1', ok: true, detail: 'ports bond1 storage vmnet (planned bond1 storage vmnet)' });
      expect(check('ovs:port:bond0:bond_mode')?.detail).toBe('active-backup (planned active-backup)');
      expect(check('ovs:port:bond0:other_config:bond-primary')?.detail).toBe('eth0 (planned eth0)');
      expect(check('ovs:port:bond1:bond_mode')?.detail).toBe('balance-slb (planned balance-slb)');
      expect(check('ovs:bond:bond0:enabled')?.detail).toMatch(/^enabled: eth0 eth1; active eth0$/);
      expect(check('ovs:bond:bond1:enabled')?.detail).toMatch(/^enabled: eth2 eth3; active eth[23]$/);
      expect(check('ovs:port:mgmt:tag')?.detail).toBe('0 (planned 0)');
      expect(check('ovs:port:storage:tag')?.detail).toBe('200 (planned 200)');
      expect(check('ovs:port:vmnet:tag')?.detail).toBe('100 (planned 100)');
      expect(check('server')?.ok).toBe(true);
      // Four NICs on ovs: management on bridge ovsbr0 over the active-backup bond0, the tagged networks'
      // internal ports on ovsbr1 over the balance-slb bond1; no kernel bond, VLAN device or Linux bridge.
      const ifs = new Map((out[0]?.interfaces ?? []).map((i) => [i.name, i]));
      const port = (bridge: string, name: string): NonNullable<InterfaceState['bridge']>['port'][number] | undefined => ifs.get(bridge)?.bridge?.port.find((p) => p.name === name);
      expect(port('ovsbr0', 'bond0')?.['link-aggregation']).toMatchObject({ mode: 'active-backup', lacp: 'off', port: [{ name: 'eth0' }, { name: 'eth1' }] });
      expect(port('ovsbr1', 'bond1')?.['link-aggregation']).toMatchObject({ mode: 'balance-slb', lacp: 'off', port: [{ name: 'eth2' }, { name: 'eth3' }] });
      expect(port('ovsbr1', 'storage')?.vlan).toEqual({ mode: 'access', tag: 200 });
      expect(ifs.get('storage')).toMatchObject({ type: 'ovs-interface', controller: 'ovsbr1', ipv4: { address: [{ ip: '10.200.0.11', 'prefix-length': 24 }] } });
      expect(ifs.get('mgmt')).toMatchObject({ type: 'ovs-interface', controller: 'ovsbr0', ipv4: { address: [{ ip: '10.77.0.11', 'prefix-length': 24 }] } });
      expect([...ifs.values()].filter((i) => ['bond', 'vlan', 'linux-bridge'].includes(i.type)).map((i) => i.name)).toEqual([]);
      // --once removed its namespace and run folder; the first rack is untouched.
      const { execFileSync } = await import('node:child_process');
      const spaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(spaces).not.toContain(`tabula-lab-${name}`);
      expect(spaces).toContain(s.namespace);
      expect(existsSync(path.join(runRoot, name))).toBe(false);
      expect(await pingFromServer(s, blade(s, 'blade3').mgmtIp)).toBe(true);
    });
  }, 450_000);
});
