// Two blades bonded with LACP active toward each other, once per switch type (test/image/pair.ts: each
// bond member is a direct point-to-point link to the other blade's, since a Linux bridge does not
// forward LACP frames):
//   ovs    bond0 = eth1+eth2, an Open vSwitch bond, balance-tcp with LACP active and fast;
//   linux  bond0 = eth1+eth2, a kernel bond, 802.3ad with lacp_rate fast.
// Management is untagged on eth0, storage on VLAN 300 over the bond (10.30.0.1 / .2). Both blades
// boot at once; each must verify, report LACP as negotiated with the other blade as partner, and
// reach the other over the bond (the advisory peer check). The apply scripts are Tabula's real
// renderApplyScript(planHost(config)). Needs root, qemu-system-x86 and python3; skipped otherwise.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig, SwitchType } from '../../src/domain/model.js';
import { parseLacpShow } from '../../src/domain/observed.js';
import { planHost } from '../../src/domain/plan.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { attachOnBond, attachOnNic, bond, cluster, hostConfig, network, nic } from '../support/builders.js';
import { NetnsLab } from '../support/netns.js';
import { type Report, buildImage, imageUnavailable } from './harness.js';
import { type PairBlade, bootPair, eachBlade, pairIp, pairMac, waitForReport } from './pair.js';

const skip = imageUnavailable();
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/image/lacp.test.ts skipped: ${skip}`);

const BOOT_TIMEOUT_MS = 240_000;
const storageIp = (blade: number): string => `10.30.0.${blade}`;

/** Blade 1 or 2: mgmt untagged on eth0, storage on VLAN 300 over an LACP bond of eth1+eth2. */
function bladeConfig(blade: number, switchType: SwitchType): HostConfig {
  const mgmt = network('mgmt', { role: 'management', required: true });
  const storage = network('storage', { role: 'storage', vlan: 300 });
  const nics = [1, 2, 3].map((n) => nic(n, { mac: pairMac(blade, n) }));
  const cfg = hostConfig({ name: `lacp${blade}`, nics, networks: [mgmt, storage], custom: { 'tabula.peer-ping': storageIp(3 - blade) } });
  cfg.cluster = cluster({ switchType });
  const members = [pairMac(blade, 2), pairMac(blade, 3)];
  cfg.bonds = [
    switchType === 'ovs'
      ? bond(1, 'bond0', 'balance-tcp', members, { lacp: 'active', lacp_rate: 'fast', miimon: 100 })
      : bond(1, 'bond0', '802.3ad', members, { lacp_rate: 'fast', miimon: 100 }),
  ];
  cfg.attachments = [
    attachOnNic(mgmt, pairMac(blade, 1), { method: 'static', address: pairIp(blade), prefix: 24 }),
    attachOnBond(storage, 1, { method: 'static', address: storageIp(blade), prefix: 24 }),
  ];
  return cfg;
}

const check = (r: Report, name: string): Report['checks'][number] | undefined => r.checks.find((c) => c.name === name);
const lacpShowOf = (r: Report): string => (r.kernel as { ovs?: { lacpShow?: string } } | undefined)?.ovs?.lacpShow ?? '';
const bondSysfsOf = (r: Report): Record<string, string> => (r.kernel as { bonds?: Record<string, Record<string, string>> } | undefined)?.bonds?.bond0 ?? {};

d('stateless boot image, two blades with an LACP bond toward each other', () => {
  let lab: NetnsLab | null = null;

  beforeAll(() => {
    buildImage();
  }, 900_000);

  afterEach(async () => {
    await lab?.cleanup();
    lab = null;
  });

  async function boot(switchType: SwitchType): Promise<{ blades: PairBlade[]; reports: Report[] }> {
    lab = new NetnsLab(`image-lacp-${switchType}`);
    const started = Date.now();
    const scripts: [string, string] = [renderApplyScript(planHost(bladeConfig(1, switchType))), renderApplyScript(planHost(bladeConfig(2, switchType)))];
    const blades = await bootPair(lab, { label: `${switchType}-lacp`, scripts, links: 2 });
    const reports = await Promise.all(blades.map((b) => waitForReport(b, BOOT_TIMEOUT_MS)));
    console.log(`${switchType} lacp: QEMU start -> both reports ${Math.round((Date.now() - started) / 100) / 10} s (${blades.map((b) => b.dir).join(', ')})`);
    eachBlade(blades, reports, (r, b) => {
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r).toMatchObject({ verified: true });
      // Over the bond and VLAN 300 to the other blade.
      expect(check(r, `peer:${storageIp(3 - b.n)}`)).toMatchObject({ ok: true, advisory: true });
    });
    return { blades, reports };
  }

  it('ovs: both blades negotiate LACP with each other, verify and reach each other over the bond', async () => {
    const { blades, reports } = await boot('ovs');
    eachBlade(blades, reports, (r) => {
      expect(check(r, 'ovs:port:bond0:lacp')?.detail).toBe('active (planned active)');
      expect(check(r, 'ovs:port:bond0:bond_mode')?.detail).toBe('balance-tcp (planned balance-tcp)');
      expect(check(r, 'ovs:bond:bond0:enabled')?.detail).toMatch(/^enabled: eth1 eth2/);
      expect(check(r, 'ovs:lacp:bond0')).toMatchObject({ ok: true, advisory: true });
      expect(check(r, 'ovs:lacp:bond0')?.detail).toMatch(/^status active negotiated; partner [0-9a-f:]{17}$/);
      // The engine's reading of lacp/show: negotiated, and the partner is not the blade itself.
      const shown = parseLacpShow(lacpShowOf(r));
      expect(shown.bond0?.negotiated).toBe(true);
      expect(shown.bond0?.partner).not.toBe(/^\s*sys_id: (\S+)/m.exec(lacpShowOf(r))?.[1]);
    });
    // Each blade's partner is the other blade's own system id.
    const sysIds = reports.map((r) => /^\s*sys_id: (\S+)/m.exec(lacpShowOf(r))?.[1]);
    const partners = reports.map((r) => parseLacpShow(lacpShowOf(r)).bond0?.partner);
    expect(partners).toEqual([sysIds[1], sysIds[0]]);
  }, 400_000);

  it('linux: both 802.3ad bonds find each other as LACP partner, verify and reach each other over the bond', async () => {
    const { blades, reports } = await boot('linux');
    eachBlade(blades, reports, (r) => {
      expect(check(r, 'bond:bond0:mode')?.detail).toBe('802.3ad 4 (planned 802.3ad)');
      expect(check(r, 'bond:bond0:lacp_rate')).toMatchObject({ ok: true });
      expect(check(r, 'lacp:bond0')).toMatchObject({ ok: true, advisory: true });
      // Both members in the one aggregator the partner agreed to.
      expect(check(r, 'lacp:bond0')?.detail).toMatch(/^partner [0-9a-f:]{17}; aggregator \d+ with 2 port\(s\); lacp_rate fast 1$/);
    });
    // Each blade's partner is the other blade's system: its bond's MAC (no ad_actor_system is set).
    const partners = reports.map((r) => bondSysfsOf(r).ad_partner_mac);
    const bondMacs = reports.map((r) => (r.kernel as { link?: { ifname: string; address?: string }[] }).link?.find((l) => l.ifname === 'bond0')?.address);
    expect(partners).toEqual([bondMacs[1], bondMacs[0]]);
  }, 400_000);
});
