// The kernel's state (as a blade reports it) in the plan's nmstate shape, and the diff against the plan.
// Fixtures: reports captured from real image boots (test/image/direct-boot.test.ts, Debian 12 kernel
// 6.1, iproute2 6.1) of the seed's blade: bond0 (active-backup, miimon 100) → bond0.100 → bridge mgmt,
// MTU 9000; verified-report.json as applied, rollback-report.json after the rollback,
// miimon200-report.json after the same blade applied generation 2 (miimon 200) from scratch;
// dhcp-report.json: a plan with DHCP on eth0, verified with a lease from busybox udhcpd.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootReportSchema } from '../../src/boot/http/router.js';
import { kernelStateSchema } from '../../src/boot/http/kernel-schema.js';
import type { HostConfig } from '../../src/domain/model.js';
import { type KernelState, type StoredReport, describeDifference, diffState, observe, observeInterfaces, reportSyncReasons, sameOptionValue } from '../../src/domain/observed.js';
import { planHost } from '../../src/domain/plan.js';
import { attachOnBond, attachOnNic, bond, hostConfig, mac, network } from '../support/builders.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'kernel');
const report = (name: string) => bootReportSchema.parse(JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')));
const kernelOf = (name: string): KernelState => {
  const k = report(name).kernel;
  if (!k) throw new Error(`${name} has no kernel state`);
  return k;
};
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function bladeConfig(opts: { miimon?: number } = {}): HostConfig {
  const mgmt = network('mgmt', { role: 'management', vlan: 100, bridged: true, mtu: 9000, required: true });
  const cfg = hostConfig({ name: 'blade1', networks: [mgmt], custom: { 'sysctl/net.ipv4.conf.all.arp_announce': '2' } });
  cfg.bonds = [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)], { miimon: opts.miimon ?? 100, primary: 'eth0' })];
  cfg.attachments = [attachOnBond(mgmt, 1, { method: 'static', address: '10.100.0.11', prefix: 24, gateway: '10.100.0.1' })];
  return cfg;
}

describe('observeInterfaces', () => {
  it('reads the verified boot as bond → VLAN → bridge, MTU 9000, in the plan shape', () => {
    const ifs = observeInterfaces(kernelOf('verified-report.json'));
    expect(ifs.map((i) => [i.name, i.type, i.state, i.mtu])).toEqual([
      ['bond0', 'bond', 'up', 9000],
      ['bond0.100', 'vlan', 'up', 9000],
      ['eth0', 'ethernet', 'up', 9000],
      ['eth1', 'ethernet', 'up', 9000],
      ['eth2', 'ethernet', 'up', 1500],
      ['mgmt', 'linux-bridge', 'up', 9000],
    ]);
    const byName = new Map(ifs.map((i) => [i.name, i]));
    expect(byName.get('bond0')?.['link-aggregation']).toEqual({
      mode: 'active-backup',
      port: ['eth0', 'eth1'],
      options: expect.objectContaining({ miimon: 100, primary: 'eth0', updelay: 0, downdelay: 0, xmit_hash_policy: 'layer2', lacp_rate: 'slow' }),
    });
    expect(byName.get('bond0.100')).toMatchObject({ vlan: { 'base-iface': 'bond0', id: 100 }, controller: 'mgmt' });
    expect(byName.get('mgmt')?.bridge).toEqual({ options: { stp: { enabled: false }, 'forward-delay': 0 }, port: [{ name: 'bond0.100' }] });
    // Link-local IPv6 is the kernel's own: not an address the plan could hold.
    expect(byName.get('mgmt')?.ipv4).toEqual({ enabled: true, address: [{ ip: '10.100.0.11', 'prefix-length': 24 }] });
    expect(byName.get('mgmt')?.ipv6).toEqual({ enabled: false });
    // A bond port's own MAC is its permanent one, not the bond's.
    expect(byName.get('eth1')).toMatchObject({ 'mac-address': mac(2), controller: 'bond0' });
    // Outside a bond, the current address counts, whatever the permanent one.
    const k = clone(kernelOf('verified-report.json'));
    const eth2 = (k.link ?? []).find((l) => l.ifname === 'eth2');
    if (eth2) Object.assign(eth2, { address: '02:00:00:00:00:09', permaddr: mac(3) });
    expect(observeInterfaces(k).find((i) => i.name === 'eth2')?.['mac-address']).toBe('02:00:00:00:00:09');
    expect(byName.has('lo')).toBe(false);
  });

  it('reads the rolled-back boot as three bare NICs with the provisioning address', () => {
    const o = observe(kernelOf('rollback-report.json'));
    expect(o.interfaces.map((i) => [i.name, i.type, i.controller ?? null])).toEqual([
      ['eth0', 'ethernet', null],
      ['eth1', 'ethernet', null],
      ['eth2', 'ethernet', null],
    ]);
    expect(o.interfaces[0]?.ipv4.address).toEqual([{ ip: '10.77.0.21', 'prefix-length': 24 }]);
    expect(o.routes).toEqual([]);
  });

  it('takes bond facts from ip -d when sysfs is missing', () => {
    const k = clone(kernelOf('verified-report.json'));
    delete k.bonds;
    const b = observeInterfaces(k).find((i) => i.name === 'bond0');
    expect(b?.['link-aggregation']).toMatchObject({ mode: 'active-backup', port: ['eth0', 'eth1'], options: { miimon: 100, primary: 'eth0', lacp_rate: 'slow' } });
  });

  it('turns default routes into the plan shape and skips kernel subnet routes', () => {
    expect(observe(kernelOf('verified-report.json')).routes).toEqual([{ destination: '0.0.0.0/0', 'next-hop-address': '10.100.0.1', 'next-hop-interface': 'mgmt' }]);
  });
});

describe('diffState', () => {
  it('finds no difference between the seed blade plan and its verified boot', () => {
    const plan = planHost(bladeConfig());
    expect(diffState(plan.state, observe(kernelOf('verified-report.json')))).toEqual([]);
  });

  it('finds every planned device missing after a rollback', () => {
    const d = diffState(planHost(bladeConfig()).state, observe(kernelOf('rollback-report.json')));
    expect(d.filter((x) => x.field === 'present').map((x) => x.interface)).toEqual(['bond0', 'bond0.100', 'mgmt']);
    expect(d).toContainEqual({ interface: 'eth0', field: 'controller', planned: 'bond0', observed: null });
    expect(d).toContainEqual({ interface: 'eth0', field: 'mtu', planned: 9000, observed: 1500 });
    expect(d).toContainEqual({ interface: 'mgmt', field: 'route 0.0.0.0/0', planned: 'via 10.100.0.1 dev mgmt', observed: null });
    expect(d.map(describeDifference)).toContain('bond0: planned but not in the kernel');
  });

  it('finds the one real difference when the blade runs generation 2 (miimon 200) against the generation 1 plan', () => {
    const observed = observe(kernelOf('miimon200-report.json'));
    expect(diffState(planHost(bladeConfig()).state, observed)).toEqual([{ interface: 'bond0', field: 'link-aggregation.options.miimon', planned: 100, observed: 200 }]);
    expect(diffState(planHost(bladeConfig({ miimon: 200 })).state, observed)).toEqual([]);
  });

  it('finds no difference for a DHCP plan verified with a lease', () => {
    const mgmt = network('mgmt', { role: 'management', required: true });
    const cfg = hostConfig({ name: 'blade1', networks: [mgmt] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' })];
    const observed = observe(kernelOf('dhcp-report.json'));
    expect(observed.interfaces.find((i) => i.name === 'eth0')?.ipv4.address?.[0]?.ip).toMatch(/^10\.77\.0\.1\d\d$/);
    expect(diffState(planHost(cfg).state, observed)).toEqual([]);
  });

  it('reports a bond option, an MTU, a VLAN id and an address that differ', () => {
    const k = clone(kernelOf('verified-report.json'));
    const bonds = k.bonds as Record<string, Record<string, string>>;
    (bonds.bond0 as Record<string, string>).miimon = '200';
    const links = k.link ?? [];
    const vlan = links.find((l) => l.ifname === 'bond0.100');
    if (vlan?.linkinfo?.info_data) vlan.linkinfo.info_data.id = 101;
    const br = links.find((l) => l.ifname === 'mgmt');
    if (br) br.mtu = 1500;
    const a = (k.addr ?? []).find((x) => x.ifname === 'mgmt')?.addr_info?.[0];
    if (a) a.local = '10.100.0.12';
    const d = diffState(planHost(bladeConfig()).state, observe(k));
    expect(d).toEqual([
      { interface: 'bond0', field: 'link-aggregation.options.miimon', planned: 100, observed: 200 },
      { interface: 'bond0.100', field: 'vlan.id', planned: 100, observed: 101 },
      { interface: 'mgmt', field: 'ipv4.address', planned: '10.100.0.11/24', observed: '10.100.0.12/24' },
      { interface: 'mgmt', field: 'mtu', planned: 9000, observed: 1500 },
    ]);
    expect(describeDifference(d[0] as (typeof d)[number])).toBe('bond0 link-aggregation.options.miimon: planned 100, observed 200');
  });

  it('ignores NICs the plan does not name, lo, link-local IPv6 and bond options the plan leaves alone', () => {
    const k = clone(kernelOf('verified-report.json'));
    const eth2 = (k.link ?? []).find((l) => l.ifname === 'eth2');
    k.link?.push({ ...clone(eth2 as NonNullable<typeof eth2>), ifname: 'eth7', address: '52:54:00:00:01:99', mtu: 1500 });
    (k.bonds?.bond0 as Record<string, string>).updelay = '400';
    const d = diffState(planHost(bladeConfig()).state, observe(k));
    expect(d).toEqual([]);
  });

  it('leaves an unused NIC alone (/init keeps NICs up for their carrier) but not a missing one', () => {
    const k = clone(kernelOf('verified-report.json'));
    k.link = (k.link ?? []).filter((l) => l.ifname !== 'eth2');
    expect(diffState(planHost(bladeConfig()).state, observe(k))).toEqual([{ interface: 'eth2', field: 'present', planned: true, observed: false }]);
  });

  it('accepts any lease for a DHCP-planned interface, but not none', () => {
    const mgmt = network('mgmt', { role: 'management', required: true });
    const cfg = hostConfig({ name: 'blade1', networks: [mgmt] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' })];
    const plan = planHost(cfg).state;
    const k = clone(kernelOf('rollback-report.json')); // eth0 holds 10.77.0.21/24
    const eth0 = plan.interfaces.find((i) => i.name === 'eth0');
    expect(eth0?.ipv4.dhcp).toBe(true);
    expect(diffState(plan, observe(k)).filter((x) => x.interface === 'eth0')).toEqual([]);
    const a = (k.addr ?? []).find((x) => x.ifname === 'eth0');
    if (a) a.addr_info = [];
    expect(diffState(plan, observe(k))).toContainEqual({ interface: 'eth0', field: 'ipv4.address', planned: 'dhcp', observed: null });
  });
});

describe('reportSyncReasons', () => {
  const base: StoredReport = {
    bootId: 1,
    generation: 4,
    verified: true,
    rolledBack: false,
    fallback: false,
    receivedAt: '2026-01-01T00:00:00.000Z',
    checks: [],
    observed: true,
    interfaces: [],
    routes: [],
    compared: true,
    differences: [],
  };
  const diff = (n: number) => ({ interface: `eth${n}`, field: 'mtu', planned: 9000, observed: 1500 });

  it('has nothing to say about a verified, identical report of the current generation', () => {
    expect(reportSyncReasons(base, 4)).toEqual([]);
  });

  it('leaves a report of another generation to NOT_APPLIED', () => {
    expect(reportSyncReasons({ ...base, verified: false, differences: [diff(0)] }, 5)).toEqual([]);
  });

  it('names the failed checks, but not the advisory ones', () => {
    const checks = [
      { name: 'server', ok: false },
      { name: 'peer:10.0.0.2', ok: false, advisory: true },
      { name: 'apply', ok: true },
    ];
    expect(reportSyncReasons({ ...base, verified: false, rolledBack: true, checks }, 4)).toEqual([
      { code: 'REPORT_NOT_VERIFIED', message: 'generation 4 failed verification on the blade and was rolled back: server' },
    ]);
  });

  it('says when the blade runs the fallback plan', () => {
    expect(reportSyncReasons({ ...base, fallback: true }, 4).map((r) => r.code)).toEqual(['FALLBACK_PLAN']);
  });

  it('turns at most 10 differences into reasons, then counts the rest', () => {
    const reasons = reportSyncReasons({ ...base, differences: Array.from({ length: 13 }, (_, i) => diff(i)) }, 4);
    expect(reasons).toHaveLength(11);
    expect(reasons[0]).toEqual({ code: 'STATE_DIFFERS', message: 'eth0 mtu: planned 9000, observed 1500' });
    expect(reasons[10]?.message).toBe("and 3 more difference(s): see the host's report");
  });
});

describe('sameOptionValue', () => {
  it('treats sysfs spellings and numbers as the plan does', () => {
    expect(sameOptionValue('active-backup', 'active-backup 1')).toBe(true);
    expect(sameOptionValue('active-backup', 'balance-rr 0')).toBe(false);
    expect(sameOptionValue(100, '100')).toBe(true);
    expect(sameOptionValue('100', 100)).toBe(true);
    expect(sameOptionValue(100, 200)).toBe(false);
    expect(sameOptionValue('fast', 'fast 1')).toBe(true);
    expect(sameOptionValue('1', 'fast 1')).toBe(true);
    expect(sameOptionValue('layer3+4', 'layer2+3 2')).toBe(false);
    expect(sameOptionValue(['10.0.0.2', '10.0.0.1'], '10.0.0.1 10.0.0.2')).toBe(true);
    expect(sameOptionValue(['10.0.0.1'], ['10.0.0.1', '10.0.0.3'])).toBe(false);
    expect(sameOptionValue(100, undefined)).toBe(false);
  });
});

describe('kernelStateSchema (the report edge)', () => {
  it('accepts the captured kernel state and keeps only the fields it knows', () => {
    const raw = JSON.parse(readFileSync(path.join(FIXTURES, 'verified-report.json'), 'utf8')) as { kernel: unknown };
    const k = kernelStateSchema.parse(raw.kernel);
    expect(k.link?.[0]).not.toHaveProperty('qdisc');
    expect(k.link?.find((l) => l.ifname === 'bond0')?.linkinfo?.info_data?.miimon).toBe(100);
  });

  it('refuses oversized or malformed kernel state', () => {
    const big = { link: Array.from({ length: 1025 }, (_, i) => ({ ifname: `x${i}` })) };
    expect(kernelStateSchema.safeParse(big).success).toBe(false);
    expect(kernelStateSchema.safeParse({ link: [{ ifname: 'x'.repeat(65) }] }).success).toBe(false);
    expect(kernelStateSchema.safeParse({ link: [{ ifname: 'eth0', mtu: 'big' }] }).success).toBe(false);
    const bonds = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`b${i}`, {}]));
    expect(kernelStateSchema.safeParse({ link: [], bonds }).success).toBe(false);
    // Nested objects in info_data (VLAN QoS maps) are dropped, not refused.
    const qos = kernelStateSchema.parse({ link: [{ ifname: 'v', linkinfo: { info_kind: 'vlan', info_data: { id: 5, egress_qos: [{ from: 0, to: 3 }] } } }] });
    expect(qos.link?.[0]?.linkinfo?.info_data).toEqual({ id: 5 });
  });

  it('lets a report carry an advisory check', () => {
    const r = bootReportSchema.safeParse({ generation: 1, verified: true, checks: [{ name: 'peer:10.0.0.2', ok: false, advisory: true }] });
    expect(r.success).toBe(true);
  });
});
