// A blade of an `ovs` cluster boots the stateless image directly in QEMU (harness.ts: TCG, taps in a
// namespace of its own, no disk) with the apply script a real engine renders for it (engine-ovs-blade.ts):
// /init's apply starts ovsdb-server and ovs-vswitchd on a fresh database in /run, builds bridge ovsbr0
// with the active-backup bond eth0+eth1 (primary eth0) and the internal ports mgmt (VLAN 100) and storage (VLAN 200),
// verifies it by reading Open vSwitch back (ovs-vsctl, ovs-appctl bond/show), reaches the server over
// VLAN 100 (the lab's VLAN tagger) and reports. The report goes through the engine's real
// POST /boot/{mac}/report: the stored report must show the switch as planned (in sync, no differences).
// Then the same plan while the lab switch does not carry VLAN 100: the server check fails, /init stops
// Open vSwitch (datapath and internal ports gone, NICs free) and reports from the provisioning address.
// One VM at a time. Needs root, qemu-system-x86 and python3; skipped with the reason otherwise. Artefacts of the
// run stay in node_modules/.cache/tabula-image/runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootReportSchema } from '../../src/boot/http/router.js';
import type { HostReport } from '../../src/engine/types.js';
import { type BootHarness, hyp, send, startBootHarness, tokenOf } from '../boot/http/helpers.js';
import type { SeededBlade } from './engine-blade.js';
import { OVS_BLADE_IP, OVS_STORAGE_IP, seedOvsBlade } from './engine-ovs-blade.js';
import { BladeRun, type Report, VLAN_SERVER_IP, buildImage, imageUnavailable } from './harness.js';

const skip = imageUnavailable();
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/image/ovs-boot.test.ts skipped: ${skip}`);

const BOOT_TIMEOUT_MS = 180_000;

function check(report: Report, name: string): { name: string; ok: boolean; detail?: string; advisory?: boolean } {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check '${name}' in the report: ${report.checks.map((x) => x.name).join(', ')}`);
  return c;
}

d('stateless boot image, Open vSwitch blade (direct QEMU boot)', () => {
  let run: BladeRun | null = null;
  let engine: BootHarness | null = null;
  let blade: SeededBlade;

  beforeAll(async () => {
    buildImage();
    engine = await startBootHarness({ withArtefacts: false });
    blade = await seedOvsBlade(engine);
  }, 900_000);

  afterAll(async () => {
    await run?.close();
    await engine?.close();
  });

  it('starts OVS in RAM, builds the bridge, bond and VLAN internal ports, verifies them and reports in sync', async () => {
    const e = engine as BootHarness;
    const token = tokenOf((await send(e, 'GET', `/boot/${hyp(blade.mac)}/ipxe`)).text);
    const config = await send(e, 'GET', `/boot/${hyp(blade.mac)}/config`, { token });
    expect(config.status).toBe(200);
    const generation = Number(config.headers.get('x-tabula-generation'));
    expect(config.text).toContain('tabula_ovs_start');

    run = new BladeRun({ label: 'ovs', script: config.text, vlanPort: true, kernelArgs: 'tabula.once=1 tabula.reach=30' });
    const r = run;
    await r.start();
    const report = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await r.waitForExit(60_000);
    console.log(`ovs boot: QEMU start -> report ${r.secondsToReport(1)} s (${r.dir})`);
    try {
      expect(bootReportSchema.safeParse(report).success).toBe(true);
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report).toMatchObject({ generation, verified: true });
      expect(report.rolledBack).toBeUndefined();
      expect(check(report, 'ovs:bridge:ovsbr0').detail).toBe('ports bond0 mgmt storage (planned bond0 mgmt storage)');
      expect(check(report, 'ovs:bond:bond0:members').detail).toBe('eth0 eth1 (planned eth0 eth1)');
      expect(check(report, 'ovs:bond:bond0:enabled').detail).toBe('enabled: eth0 eth1; active eth0');
      expect(check(report, 'ovs:port:bond0:other_config:bond-primary').detail).toBe('eth0 (planned eth0)');
      expect(check(report, 'ovs:port:bond0:bond_mode').detail).toBe('active-backup (planned active-backup)');
      expect(check(report, 'ovs:port:mgmt:tag').detail).toBe('100 (planned 100)');
      expect(check(report, 'ovs:port:storage:tag').detail).toBe('200 (planned 200)');
      expect(check(report, 'ovs:port:mgmt:vlan_mode').detail).toBe('access (planned access)');
      expect(check(report, 'ovs:iface:mgmt:type').detail).toBe('type internal (planned internal)');
      expect(check(report, 'ovs:iface:mgmt:mac').detail).toBe('mac_in_use 52:54:00:00:01:01 (planned 52:54:00:00:01:01)');
      expect(check(report, `addr:mgmt:${OVS_BLADE_IP}/24`).ok).toBe(true);
      expect(check(report, `addr:storage:${OVS_STORAGE_IP}/24`).ok).toBe(true);
      expect(check(report, 'route:0.0.0.0/0').detail).toContain(`via ${VLAN_SERVER_IP} dev mgmt`);
      // The server answered over VLAN 100: the internal port's tag really reached the wire.
      expect(check(report, 'server').ok).toBe(true);

      // The switch as ovs-vsctl lists it, in the report's kernel state.
      const ovs = (report.kernel as { ovs?: { bridge?: unknown; bondShow?: string } } | undefined)?.ovs;
      expect(ovs?.bondShow).toMatch(/bond_mode: active-backup/);
      expect(JSON.stringify(ovs?.bridge)).toContain('ovsbr0');

      const posted = await send(e, 'POST', `/boot/${hyp(blade.mac)}/report`, { token, json: report });
      expect(posted.status).toBe(200);
      const stored = (await send(e, 'GET', `/api/v1/hosts/${blade.name}/report`, { token: e.adminToken })).json as HostReport;
      expect(stored).toMatchObject({ generation, verified: true, observed: true, compared: true, differences: [], inSync: true });
      const bridge = stored.interfaces.find((i) => i.name === 'ovsbr0');
      expect(bridge?.type).toBe('ovs-bridge');
      expect(bridge?.bridge?.port?.map((p) => p.name)).toEqual(['bond0', 'mgmt', 'storage']);
    } catch (err) {
      (err as Error).message = `${(err as Error).message}\n/init said:\n${r.tail(60)}\n${r.where()}`;
      throw err;
    }
  }, 300_000);

  it('rolls back when the switch lacks VLAN 100: stops Open vSwitch, frees the NICs, reports from the provisioning address', async () => {
    const e = engine as BootHarness;
    await run?.close();
    const token = tokenOf((await send(e, 'GET', `/boot/${hyp(blade.mac)}/ipxe`)).text);
    const config = await send(e, 'GET', `/boot/${hyp(blade.mac)}/config`, { token });
    run = new BladeRun({ label: 'ovs-rollback', script: config.text, vlanPort: false, kernelArgs: 'tabula.once=1 tabula.reach=8' });
    const r = run;
    await r.start();
    const report = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await r.waitForExit(60_000);
    console.log(`ovs rollback boot: QEMU start -> report ${r.secondsToReport(1)} s (${r.dir})`);
    try {
      expect(report).toMatchObject({ verified: false, rolledBack: true });
      expect(report.checks.filter((c) => !c.ok && !c.advisory).map((c) => c.name)).toEqual(['server']);
      expect(check(report, 'ovs:bridge:ovsbr0').ok).toBe(true);
      expect(r.serial()).toContain('tabula: [');
      expect(r.tail(80)).toMatch(/Open vSwitch stopped/);
      // After the rollback: no OVS state, eth0 is a plain NIC again with the provisioning address.
      const kernel = report.kernel as { ovs?: unknown; link?: { ifname: string; master?: string }[]; addr?: { ifname: string; addr_info?: { local: string }[] }[] };
      expect(kernel.ovs).toBeUndefined();
      expect(kernel.link?.map((l) => l.ifname)).not.toContain('ovsbr0');
      expect(kernel.link?.find((l) => l.ifname === 'eth0')?.master).toBeUndefined();
      expect(kernel.addr?.find((a) => a.ifname === 'eth0')?.addr_info?.map((a) => a.local)).toContain(r.provisioningIp);
    } catch (err) {
      (err as Error).message = `${(err as Error).message}\n/init said:\n${r.tail(60)}\n${r.where()}`;
      throw err;
    }
  }, 300_000);
});
