// Boots the stateless image (pxe/build) directly in QEMU (-kernel/-initrd, TCG, no disk) inside a
// network namespace (harness.ts) against a stand-in server that hands out an apply script rendered by
// Tabula's real renderApplyScript(planHost(config)), and checks what the blade reports:
//   1. active-backup bond (eth0+eth1, miimon 100), VLAN 100 on it, bridge "mgmt" with MTU 9000 and the
//      management address, the server reached over VLAN 100: verified, exactly as planned, no disks;
//   2. the same plan while the "switch" does not carry VLAN 100: verification fails on the server
//      check, the blade rolls back to its provisioning address and reports the failure from there;
//   3. a script that fails half-way (a bond member the kernel does not have): everything it built is
//      deleted and the failure reported from the provisioning address;
//   4. without an iPXE lease the blade gets its provisioning address by DHCP, and a plan with DHCP
//      on the management NIC is applied and verified with a lease;
//   5. a blade left running (no tabula.once) applies a new generation from scratch when the server
//      hands one out, and keeps its network while the server is down;
//   6. admin hooks: a before-apply and an after-apply hook run with the plan's facts (checks
//      hook:PHASE:NAME); a new generation is held while the server says maintenance (204); once
//      released, its failing after-apply hook fails the apply and the blade rolls back.
// Tests 1 and 2 take their apply script from a real engine behind the real boot services (in this
// process, engine-blade.ts), and hand the blade's report to the real POST /boot/{mac}/report: the
// engine's stored report (GET /api/v1/hosts/{host}/report) must show the kernel state as planned.
// The stand-in server only carries the bytes across the namespace boundary.
// Needs root, qemu-system-x86 and python3; skipped with the reason otherwise. Artefacts of every run
// (serial console, server log, apply script, inventory, reports) stay in node_modules/.cache/tabula-image.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inventoryReportSchema } from '../../src/api/schemas.js';
import { bootReportSchema } from '../../src/boot/http/router.js';
import type { HostConfig } from '../../src/domain/model.js';
import { planHost } from '../../src/domain/plan.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { type ApplyHook, type Hook, applyHooks } from '../../src/domain/hooks.js';
import { attachOnBond, attachOnNic, bond, hostConfig, network, nic } from '../support/builders.js';
import type { HostReport } from '../../src/engine/types.js';
import { type BootHarness, hyp, send, startBootHarness, tokenOf } from '../boot/http/helpers.js';
import { type SeededBlade, seedBlade } from './engine-blade.js';
import { BladeRun, type Report, VLAN_SERVER_IP, buildImage, imageUnavailable, mac } from './harness.js';

const skip = imageUnavailable();
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/image/direct-boot.test.ts skipped: ${skip}`);

const BOOT_TIMEOUT_MS = 120_000;
const BLADE_IP = '10.100.0.11';

/** The seed's blade: active-backup bond of eth0+eth1 (miimon 100), management on VLAN 100, bridged, MTU 9000. */
function bladeConfig(opts: { generation?: number; miimon?: number } = {}): HostConfig {
  const mgmt = network('mgmt', { role: 'management', vlan: 100, bridged: true, mtu: 9000, required: true });
  const cfg = hostConfig({ name: 'blade1', networks: [mgmt], custom: { 'sysctl/net.ipv4.conf.all.arp_announce': '2' } });
  cfg.host.generation = opts.generation ?? 1;
  cfg.bonds = [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)], { miimon: opts.miimon ?? 100, primary: 'eth0' })];
  cfg.attachments = [attachOnBond(mgmt, 1, { method: 'static', address: BLADE_IP, prefix: 24, gateway: VLAN_SERVER_IP })];
  return cfg;
}

/** The hooks an engine would deliver for blade1: host hooks, in run order. */
function hooks(list: [Hook['phase'], string, string][]): ApplyHook[] {
  const at = '2026-01-01T00:00:00.000Z';
  return applyHooks([], list.map(([phase, name, script], i) => ({ id: i + 1, scope: 'host', owner: 'blade1', phase, name, order: 50, script, createdAt: at, updatedAt: at })));
}

/** A boot of the blade on the engine side: a fresh boot token and the apply script the engine renders. */
async function engineBoot(h: BootHarness, blade: SeededBlade): Promise<{ token: string; script: string; generation: number }> {
  const token = tokenOf((await send(h, 'GET', `/boot/${hyp(blade.mac)}/ipxe`)).text);
  const config = await send(h, 'GET', `/boot/${hyp(blade.mac)}/config`, { token });
  if (config.status !== 200) throw new Error(`config ${config.status}: ${config.text}`);
  return { token, script: config.text, generation: Number(config.headers.get('x-tabula-generation')) };
}

/** The report the blade sent, through the engine's real report handler; then the engine's stored report. */
async function engineReport(h: BootHarness, blade: SeededBlade, token: string, report: Report): Promise<HostReport> {
  const posted = await send(h, 'POST', `/boot/${hyp(blade.mac)}/report`, { token, json: report });
  if (posted.status !== 200) throw new Error(`report ${posted.status}: ${posted.text}`);
  const stored = await send(h, 'GET', `/api/v1/hosts/${blade.name}/report`, { token: h.adminToken });
  if (stored.status !== 200) throw new Error(`GET report ${stored.status}: ${stored.text}`);
  return stored.json as HostReport;
}

function check(report: Report, name: string): { name: string; ok: boolean; detail?: string } {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check '${name}' in the report: ${report.checks.map((x) => x.name).join(', ')}`);
  return c;
}

/** Attaches the run's folder to any assertion failure. */
async function explained<T>(run: BladeRun, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error;
    err.message = `${err.message}\n/init said:\n${run.tail()}\n${run.where()}`;
    throw err;
  }
}

d('stateless boot image, direct QEMU boot', () => {
  let run: BladeRun | null = null;
  let engine: BootHarness | null = null;
  let blade: SeededBlade;

  beforeAll(async () => {
    const out = buildImage();
    if (process.env['TABULA_IMAGE_VERBOSE']) console.log(out);
    engine = await startBootHarness({ withArtefacts: false });
    // The VLAN's server address answers pings: an advisory peer check that passes.
    blade = await seedBlade(engine, { peers: VLAN_SERVER_IP });
  }, 900_000);

  afterAll(async () => {
    await engine?.close();
  });

  afterEach(async () => {
    await run?.close();
    run = null;
  });

  it('applies bond + VLAN 100 + bridge MTU 9000, verifies it and reports over the new network', async () => {
    const e = engine as BootHarness;
    const boot = await engineBoot(e, blade);
    run = new BladeRun({ label: 'verified', script: boot.script, vlanPort: true, kernelArgs: 'tabula.once=1 tabula.reach=20' });
    const r = run;
    await r.start();
    const report = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await r.waitForExit(30_000);
    console.log(`verified boot: QEMU start -> report ${r.secondsToReport(1)} s (${r.dir})`);
    await explained(r, () => {
      expect(bootReportSchema.safeParse(report).success).toBe(true);
      const failed = report.checks.filter((c) => !c.ok);
      expect(failed).toEqual([]);
      expect(report).toMatchObject({ generation: boot.generation, verified: true });
      expect(report.rolledBack).toBeUndefined();
      expect(check(report, 'bond:bond0:mode').detail).toMatch(/^active-backup 1 \(planned active-backup\)$/);
      expect(check(report, 'bond:bond0:miimon').detail).toBe('100 (planned 100)');
      expect(check(report, 'bond:bond0:primary').detail).toBe('eth0 (planned eth0)');
      expect(check(report, 'bond:bond0:ports').detail).toBe('eth0 eth1 (planned eth0 eth1)');
      expect(check(report, 'bond:bond0:carrier').detail).toMatch(/^members with carrier: eth0 eth1; active eth0/);
      expect(check(report, 'vlan:bond0.100').detail).toBe('id 100 on bond0 (planned id 100 on bond0)');
      expect(check(report, 'bridge:mgmt').detail).toMatch(/^ports bond0\.100 \(planned bond0\.100\), stp_state 0 \(planned 0\)/);
      for (const dev of ['bond0', 'bond0.100', 'mgmt']) expect(check(report, `mtu:${dev}`).detail).toBe('9000 (planned 9000)');
      expect(check(report, `addr:mgmt:${BLADE_IP}/24`).ok).toBe(true);
      expect(check(report, 'route:0.0.0.0/0').detail).toContain(`via ${VLAN_SERVER_IP} dev mgmt`);
      expect(check(report, 'sysctl:net.ipv4.conf.all.arp_announce').detail).toBe('2 (planned 2)');
      expect(check(report, 'server').ok).toBe(true);
      expect(check(report, 'block-devices').detail).toBe('none');
      expect(check(report, `peer:${VLAN_SERVER_IP}`)).toMatchObject({ ok: true, advisory: true });
      for (const k of ['kernel', 'modules', 'nics', 'inventory', 'config', 'apply', 'verify', 'uptime']) expect(report.durationsMs?.[k]).toBeTypeOf('number');

      // The inventory: three virtio NICs, named as the kernel named them, with PCI addresses.
      const inv = inventoryReportSchema.parse(r.inventory());
      expect(inv.bootMac).toBe(mac(1));
      expect(inv.nics.map((n) => [n.name, n.mac, n.driver, n.carrier])).toEqual([
        ['eth0', mac(1), 'virtio_net', true],
        ['eth1', mac(2), 'virtio_net', true],
        ['eth2', mac(3), 'virtio_net', true],
      ]);
      for (const n of inv.nics) expect(n.pciAddress).toMatch(/^0000:00:[0-9a-f]{2}\.0$/);

      // Inventory and config came over the provisioning address; the report over VLAN 100.
      const log = r.serverLog();
      expect(log.find((l) => l.path?.endsWith('/inventory'))?.remote).toBe(r.provisioningIp);
      expect(log.find((l) => l.path?.endsWith('/report'))?.remote).toBe(BLADE_IP);
      expect(r.serial()).not.toMatch(/Kernel panic|Attempted to kill init/);
    });

    // The engine's view: the kernel held exactly the plan, so the host is in sync.
    const stored = await engineReport(e, blade, boot.token, report);
    await explained(r, () => {
      expect(stored).toMatchObject({ generation: boot.generation, verified: true, rolledBack: false, observed: true, compared: true, differences: [], inSync: true, syncReasons: [] });
      const byName = new Map(stored.interfaces.map((i) => [i.name, i]));
      expect(byName.get('bond0')).toMatchObject({ type: 'bond', state: 'up', mtu: 9000, 'link-aggregation': { mode: 'active-backup', port: ['eth0', 'eth1'], options: { miimon: 100, primary: 'eth0' } } });
      expect(byName.get('bond0.100')).toMatchObject({ type: 'vlan', mtu: 9000, controller: 'mgmt', vlan: { 'base-iface': 'bond0', id: 100 } });
      expect(byName.get('mgmt')).toMatchObject({
        type: 'linux-bridge',
        mtu: 9000,
        bridge: { options: { stp: { enabled: false } }, port: [{ name: 'bond0.100' }] },
        ipv4: { enabled: true, address: [{ ip: BLADE_IP, 'prefix-length': 24 }] },
      });
      for (const n of ['eth0', 'eth1']) expect(byName.get(n)).toMatchObject({ type: 'ethernet', mtu: 9000, controller: 'bond0' });
      expect(stored.checks.find((c) => c.name === 'block-devices')?.detail).toBe('none');
      expect(e.opened.engine.getHost(blade.name)).toMatchObject({ inSync: true, appliedGeneration: boot.generation });
    });
  }, 180_000);

  it('rolls back to the provisioning address and reports the failure when the switch lacks VLAN 100', async () => {
    const e = engine as BootHarness;
    const boot = await engineBoot(e, blade);
    run = new BladeRun({ label: 'rollback', script: boot.script, vlanPort: false, kernelArgs: 'tabula.once=1 tabula.reach=8' });
    const r = run;
    await r.start();
    const report = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await r.waitForExit(30_000);
    console.log(`rollback boot: QEMU start -> report ${r.secondsToReport(1)} s (${r.dir})`);
    await explained(r, () => {
      expect(bootReportSchema.safeParse(report).success).toBe(true);
      expect(report).toMatchObject({ generation: boot.generation, verified: false, rolledBack: true });
      // The configuration itself was right; only the engine was out of reach over it. The peer on
      // VLAN 100 did not answer either, but that check is advisory: it is not what rolled back.
      expect(report.checks.filter((c) => !c.ok && !c.advisory).map((c) => c.name)).toEqual(['server']);
      expect(check(report, `peer:${VLAN_SERVER_IP}`)).toMatchObject({ ok: false, advisory: true });
      expect(check(report, 'server').detail).toMatch(/healthz unreachable for 8s/);
      expect(check(report, 'bond:bond0:mode').ok).toBe(true);
      expect(check(report, 'vlan:bond0.100').ok).toBe(true);
      expect(report.durationsMs?.['rollback']).toBeTypeOf('number');
      // The report itself arrived from the restored provisioning address: the rollback worked.
      expect(r.serverLog().find((l) => l.path?.endsWith('/report'))?.remote).toBe(r.provisioningIp);
      expect(r.serial()).toMatch(/tabula: .*ROLLBACK/);
      expect(r.serial()).toMatch(/tabula: .*deleted mgmt/);
    });

    // The engine's view: out of sync, with the failed check, and the planned devices gone.
    const stored = await engineReport(e, blade, boot.token, report);
    await explained(r, () => {
      expect(stored).toMatchObject({ generation: boot.generation, verified: false, rolledBack: true, inSync: false });
      expect(stored.syncReasons[0]).toEqual({ code: 'REPORT_NOT_VERIFIED', message: `generation ${boot.generation} failed verification on the blade and was rolled back: server` });
      expect(stored.differences.filter((d) => d.field === 'present').map((d) => d.interface)).toEqual(['bond0', 'bond0.100', 'mgmt']);
      expect(stored.interfaces.find((i) => i.name === 'eth0')?.ipv4.address).toEqual([{ ip: r.provisioningIp, 'prefix-length': 24 }]);
      expect(e.opened.engine.getHost(blade.name).inSync).toBe(false);
    });
  }, 180_000);

  it('stays up: applies a new generation from scratch and keeps its network while the server is away', async () => {
    run = new BladeRun({ label: 'regenerate', script: renderApplyScript(planHost(bladeConfig())), vlanPort: true, kernelArgs: 'tabula.poll=2 tabula.reach=20' });
    const r = run;
    await r.start();
    const first = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await explained(r, () => expect(first).toMatchObject({ generation: 1, verified: true }));

    r.setScript(renderApplyScript(planHost(bladeConfig({ generation: 2, miimon: 200 }))));
    const second = await r.waitForReport(2, 60_000);
    await explained(r, () => {
      expect(second).toMatchObject({ generation: 2, verified: true });
      expect(check(second, 'bond:bond0:miimon').detail).toBe('200 (planned 200)');
      expect(r.serial()).toMatch(/tabula: .*generation 1 -> 2: applying from scratch/);
    });

    // Server gone: the blade keeps generation 2's network (it still answers on VLAN 100).
    await r.server?.stop('SIGTERM', 3000);
    await new Promise((res) => setTimeout(res, 6000));
    const ping = await r.exec('busybox', ['ping', '-c', '3', '-W', '2', BLADE_IP]);
    await explained(r, () => {
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
      expect(r.serial()).toMatch(/tabula: .*server unreachable .*keeping the network of generation 2/);
      expect(r.qemu?.exit).toBeNull();
    });
  }, 240_000);

  it('runs admin hooks around the apply; holds a new generation in maintenance; a failing hook rolls back', async () => {
    const okHooks = hooks([
      ['before-apply', 'hello', 'echo "hook hello: host $TABULA_HOST generation $TABULA_GENERATION phase $TABULA_HOOK_PHASE"\n[ ! -e /sys/class/net/bond0 ]\n'],
      ['after-apply', 'bond-mode', 'echo "hook bond-mode: $(cat /sys/class/net/bond0/bonding/mode)"\n'],
    ]);
    run = new BladeRun({ label: 'hooks', script: renderApplyScript(planHost(bladeConfig()), okHooks), vlanPort: true, kernelArgs: 'tabula.poll=2 tabula.reach=20' });
    const r = run;
    await r.start();
    const first = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await explained(r, () => {
      expect(first).toMatchObject({ generation: 1, verified: true });
      expect(check(first, 'hook:before-apply:hello')).toMatchObject({ ok: true, detail: 'exit 0' });
      expect(check(first, 'hook:after-apply:bond-mode')).toMatchObject({ ok: true, detail: 'exit 0' });
      expect(r.serial()).toMatch(/tabula: apply: hook hello: host blade1 generation 1 phase before-apply/);
      expect(r.serial()).toMatch(/tabula: apply: hook bond-mode: active-backup 1/);
    });

    // Maintenance: generation 2 (with a failing after-apply hook) waits while the server holds it.
    writeFileSync(join(r.dir, 'hold'), '');
    const badHooks = hooks([
      ['before-apply', 'hello', 'echo "hook hello: generation $TABULA_GENERATION"\n'],
      ['after-apply', 'must-fail', 'echo "hook must-fail: giving up"\nexit 3\n'],
    ]);
    r.setScript(renderApplyScript(planHost(bladeConfig({ generation: 2 })), badHooks));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && r.serverLog().filter((l) => l.status === 204).length < 3) await new Promise((res) => setTimeout(res, 500));
    await explained(r, () => {
      expect(r.serverLog().filter((l) => l.status === 204).length).toBeGreaterThanOrEqual(3);
      expect(r.serverLog().find((l) => l.status === 204)?.query).toBe('?applied=1');
      expect(r.serial()).toMatch(/tabula: .*held by the server \(maintenance\): generation 2 waits; keeping generation 1/);
      expect(r.serial()).not.toMatch(/server unreachable/);
      expect(r.reports()).toHaveLength(1);
    });
    const held = await r.exec('busybox', ['ping', '-c', '2', '-W', '2', BLADE_IP]);
    await explained(r, () => expect(held.code, held.stdout + held.stderr).toBe(0));

    // Active again: the next poll applies generation 2; its after-apply hook fails, the blade rolls back.
    rmSync(join(r.dir, 'hold'));
    const second = await r.waitForReport(2, 90_000);
    await explained(r, () => {
      expect(second).toMatchObject({ generation: 2, verified: false, rolledBack: true });
      expect(second.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['apply', 'hook:after-apply:must-fail']);
      expect(check(second, 'hook:after-apply:must-fail').detail).toBe('exit 3');
      expect(check(second, 'hook:before-apply:hello').ok).toBe(true);
      expect(r.serial()).toMatch(/tabula: .*hold \(maintenance\) lifted/);
      expect(r.serial()).toMatch(/tabula: apply: hook must-fail: giving up/);
      expect(r.serial()).toMatch(/tabula: .*ROLLBACK/);
      expect(r.serial()).toMatch(/tabula: .*deleted bond0/);
      expect(r.serverLog().filter((l) => l.path?.endsWith('/report')).at(-1)?.remote).toBe(r.provisioningIp);
    });
  }, 300_000);

  it('falls back to DHCP without an iPXE lease and applies a plan with DHCP on the management NIC; resends a refused report without the kernel state', async () => {
    const mgmt = network('mgmt', { role: 'management', required: true });
    const cfg = hostConfig({ name: 'blade1', networks: [mgmt] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' })];
    run = new BladeRun({ label: 'dhcp', script: renderApplyScript(planHost(cfg)), vlanPort: false, provisioningIp: null, dhcpServer: true, refuseKernel: true, kernelArgs: 'tabula.once=1 tabula.reach=20' });
    const r = run;
    await r.start();
    const report = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await r.waitForExit(30_000);
    console.log(`dhcp boot: QEMU start -> report ${r.secondsToReport(1)} s (${r.dir})`);
    await explained(r, () => {
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report).toMatchObject({ generation: 1, verified: true });
      expect(check(report, 'dhcp:eth0').detail).toMatch(/^ip=10\.77\.0\.1\d\d mask=24$/);
      // This server refused the report with the kernel state (400): the blade sent it again without.
      expect(report.kernel).toBeUndefined();
      expect(r.serverLog().filter((l) => l.path?.endsWith('/report')).map((l) => l.status)).toEqual([400, 200]);
      expect(r.serial()).toMatch(/tabula: .*report refused \(400\): sending it again without the kernel state/);
      expect(check(report, 'server').ok).toBe(true);
      expect(r.serial()).toMatch(/tabula: .*DHCP on eth0/);
      const log = r.serverLog();
      expect(log.find((l) => l.path?.endsWith('/inventory'))?.remote).toMatch(/^10\.77\.0\.1\d\d$/);
      expect(log.find((l) => l.path?.endsWith('/report'))?.remote).toMatch(/^10\.77\.0\.1\d\d$/);
    });
  }, 180_000);

  it('deletes what a failing script built and reports the failed step', async () => {
    // The engine believes the second NIC is called eth9: the script stops when it enslaves it.
    const cfg = bladeConfig();
    cfg.nics = [nic(1), nic(2, { name: 'eth9' }), nic(3)];
    run = new BladeRun({ label: 'apply-fails', script: renderApplyScript(planHost(cfg)), vlanPort: true, kernelArgs: 'tabula.once=1' });
    const r = run;
    await r.start();
    const report = await r.waitForReport(1, BOOT_TIMEOUT_MS);
    await r.waitForExit(30_000);
    await explained(r, () => {
      expect(report).toMatchObject({ generation: 1, verified: false, rolledBack: true });
      expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['apply']);
      expect(check(report, 'apply').detail).toMatch(/eth9/);
      expect(r.serial()).toMatch(/tabula: .*deleted bond0/);
      expect(r.serverLog().find((l) => l.path?.endsWith('/report'))?.remote).toBe(r.provisioningIp);
    });
  }, 180_000);
});
