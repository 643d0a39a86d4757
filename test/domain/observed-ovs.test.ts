// Open vSwitch read back (issue 8): the `ovs` part of a boot report in the plan's nmstate shape, and
// the diff against an ovs plan. Fixture: test/fixtures/kernel/ovs-blade-kernel.json, the kernel state
// a real image boot reported (test/image/ovs-boot.test.ts; Debian 12, Open vSwitch 3.1): bridge
// ovsbr0, active-backup bond0 = eth0+eth1 (LACP off, miimon 100), internal ports mgmt (VLAN 100,
// 10.100.0.11/24) and storage (VLAN 200, 10.20.0.11/24).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelStateSchema } from '../../src/boot/http/kernel-schema.js';
import type { HostConfig } from '../../src/domain/model.js';
import { type KernelState, diffState, observe, ovsdbRows, parseBondShow, parseLacpShow } from '../../src/domain/observed.js';
import { planHost } from '../../src/domain/plan.js';
import type { InterfaceState } from '../../src/domain/plan-types.js';
import { attachOnBond, bond, cluster, hostConfig, mac, network } from '../support/builders.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'kernel', 'ovs-blade-kernel.json');
const kernel = (): KernelState => kernelStateSchema.parse(JSON.parse(readFileSync(FIXTURE, 'utf8')));

/** The blade of the fixture, as the image test's engine held it when the fixture was captured (no bond primary yet). */
function ovsBlade(): HostConfig {
  const mgmt = network('mgmt', { role: 'management', vlan: 100, required: true });
  const storage = network('storage', { role: 'storage', vlan: 200 });
  const cfg = hostConfig({ name: 'blade1', networks: [mgmt, storage] });
  cfg.cluster = cluster({ switchType: 'ovs' });
  cfg.bonds = [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)], { miimon: 100 })];
  cfg.attachments = [
    attachOnBond(mgmt, 1, { method: 'static', address: '10.100.0.11', prefix: 24, gateway: '10.100.0.1' }),
    attachOnBond(storage, 1, { method: 'static', address: '10.20.0.11', prefix: 24 }),
  ];
  return cfg;
}

const byName = (list: InterfaceState[], name: string): InterfaceState => {
  const i = list.find((x) => x.name === name);
  if (!i) throw new Error(`no ${name} in ${list.map((x) => x.name).join(', ')}`);
  return i;
};

// lacp/show and bond/show captured from test/image/lacp.test.ts (two ovs blades, balance-tcp, LACP
// active and fast): negotiated with the other blade as partner, and after the partner powered off.
const captured = (name: string): string => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'kernel', name), 'utf8');

describe('Open vSwitch readback', () => {
  it('the report schema keeps the ovs part (OVSDB tables, bond/show)', () => {
    const k = kernel();
    expect(ovsdbRows(k.ovs?.bridge).map((r) => r.name)).toEqual(['ovsbr0']);
    expect(ovsdbRows(k.ovs?.port).map((r) => r.name).sort()).toEqual(['bond0', 'mgmt', 'ovsbr0', 'storage']);
    expect(k.ovs?.bondShow).toContain('---- bond0 ----');
    expect(kernelStateSchema.safeParse({ link: [], ovs: { bridge: { headings: 'x', data: [] } } }).success).toBe(false);
  });

  it('parses bond/show: mode, LACP status, members and which one is active', () => {
    expect(parseBondShow(kernel().ovs?.bondShow ?? '')).toEqual({
      bond0: { mode: 'active-backup', lacpStatus: 'off', active: 'eth0', members: [{ name: 'eth0', enabled: true }, { name: 'eth1', enabled: true }] },
    });
    // OVS 2.x says "slave".
    expect(parseBondShow('---- b ----\nbond_mode: balance-slb\n\nslave eth3: disabled\n').b?.members).toEqual([{ name: 'eth3', enabled: false }]);
    expect(parseBondShow('')).toEqual({});
  });

  it('parses lacp/show: negotiated or not, the partner when one answered', () => {
    expect(parseLacpShow(captured('ovs-lacp-show-negotiated.txt'))).toEqual({ bond0: { status: 'active negotiated', negotiated: true, partner: '2e:2a:02:19:e5:45' } });
    expect(parseLacpShow(captured('ovs-lacp-show-partner-gone.txt'))).toEqual({ bond0: { status: 'active', negotiated: false, partner: null } });
    expect(parseLacpShow('')).toEqual({});
  });

  it('parses bond/show of a balance-tcp LACP bond', () => {
    expect(parseBondShow(captured('ovs-bond-show-balance-tcp.txt'))).toEqual({
      bond0: { mode: 'balance-tcp', lacpStatus: 'negotiated', active: 'eth1', members: [{ name: 'eth1', enabled: true }, { name: 'eth2', enabled: true }] },
    });
  });

  it('an observed LACP bond carries its status and partner, which the diff never compares', () => {
    const k = kernel();
    if (!k.ovs) throw new Error('fixture without ovs');
    k.ovs.lacpShow = captured('ovs-lacp-show-negotiated.txt');
    const la = byName(observe(k).interfaces, 'ovsbr0').bridge?.port.find((p) => p.name === 'bond0')?.['link-aggregation'];
    expect(la).toMatchObject({ 'lacp-status': 'active negotiated', 'lacp-partner': '2e:2a:02:19:e5:45' });
    expect(diffState(planHost(ovsBlade()).state, observe(k))).toEqual([]);
  });

  it('observes the bridge with its bond and VLAN ports, the internal ports with their addresses, NICs under the bridge', () => {
    const o = observe(kernel());
    expect(o.ovsdb).toBe(true);
    const br = byName(o.interfaces, 'ovsbr0');
    expect(br.type).toBe('ovs-bridge');
    expect(br.bridge).toEqual({
      options: { stp: { enabled: false }, 'mcast-snooping-enable': false },
      port: [
        {
          name: 'bond0',
          'link-aggregation': {
            mode: 'active-backup',
            lacp: 'off',
            port: [{ name: 'eth0' }, { name: 'eth1' }],
            'ovs-db': { other_config: { 'bond-detect-mode': 'miimon', 'bond-miimon-interval': '100' } },
            'members-enabled': ['eth0', 'eth1'],
          },
        },
        { name: 'mgmt', vlan: { mode: 'access', tag: 100 } },
        { name: 'storage', vlan: { mode: 'access', tag: 200 } },
      ],
    });
    expect(byName(o.interfaces, 'mgmt')).toMatchObject({ type: 'ovs-interface', state: 'up', mtu: 1500, controller: 'ovsbr0', 'mac-address': '52:54:00:00:01:01', ipv4: { enabled: true, address: [{ ip: '10.100.0.11', 'prefix-length': 24 }] } });
    expect(byName(o.interfaces, 'storage').ipv4.address).toEqual([{ ip: '10.20.0.11', 'prefix-length': 24 }]);
    expect(byName(o.interfaces, 'eth0').controller).toBe('ovsbr0');
    expect(byName(o.interfaces, 'eth2').controller).toBeUndefined();
    expect(o.interfaces.some((i) => i.name === 'ovs-system')).toBe(false);
  });

  it('the plan of the booted blade and its readback are identical', () => {
    expect(diffState(planHost(ovsBlade()).state, observe(kernel()))).toEqual([]);
  });

  it('reports a wrong tag, a missing member, another bond mode and a missing internal port', () => {
    const k = kernel();
    const ports = k.ovs?.port;
    if (!ports) throw new Error('fixture without ports');
    const col = (h: string): number => ports.headings.indexOf(h);
    for (const row of ports.data) {
      if (row[col('name')] === 'mgmt') row[col('tag')] = 101;
      if (row[col('name')] === 'bond0') {
        row[col('bond_mode')] = 'balance-slb';
        const ifaces = row[col('interfaces')] as [string, [string, string][]];
        row[col('interfaces')] = ['set', ifaces[1].slice(0, 1)];
      }
    }
    k.link = (k.link ?? []).filter((l) => l.ifname !== 'storage');
    const bridgeRows = k.ovs?.bridge?.data ?? [];
    const storageId = ovsdbRows(k.ovs?.port).find((r) => r.name === 'storage')?._uuid as [string, string];
    for (const row of bridgeRows) {
      const set = row[2] as [string, [string, string][]];
      row[2] = ['set', set[1].filter((u) => u[1] !== storageId[1])];
    }
    const diff = diffState(planHost(ovsBlade()).state, observe(k));
    expect(diff.map((d) => [d.interface, d.field, d.planned, d.observed])).toEqual([
      ['eth1', 'controller', 'ovsbr0', 'ovs-system'],
      ['ovsbr0', 'bridge.port', 'bond0,mgmt,storage', 'bond0,mgmt'],
      ['ovsbr0', 'port.bond0.link-aggregation.mode', 'active-backup', 'balance-slb'],
      ['ovsbr0', 'port.bond0.link-aggregation.port', 'eth0,eth1', 'eth0'],
      ['ovsbr0', 'port.mgmt.vlan.tag', 100, 101],
      ['storage', 'present', true, false],
    ]);
  });

  it('a report without the ovs part leaves the ovs interfaces alone, as before', () => {
    const k = kernel();
    delete k.ovs;
    const o = observe(k);
    expect(o.ovsdb).toBeUndefined();
    expect(diffState(planHost(ovsBlade()).state, o)).toEqual([]);
  });

  it('a hybrid port reads as a trunk with its native VLAN untagged', () => {
    const k = kernel();
    const ports = k.ovs?.port;
    if (!ports) throw new Error('fixture without ports');
    const col = (h: string): number => ports.headings.indexOf(h);
    const mgmt = ports.data.find((row) => row[col('name')] === 'mgmt');
    if (!mgmt) throw new Error('no mgmt');
    mgmt[col('vlan_mode')] = 'native-untagged';
    mgmt[col('trunks')] = ['set', [402, 401]];
    const port = byName(observe(k).interfaces, 'ovsbr0').bridge?.port.find((p) => p.name === 'mgmt');
    expect(port?.vlan).toEqual({ mode: 'trunk', tag: 100, 'enable-native': true, 'trunk-tags': [{ id: 401 }, { id: 402 }] });
  });
});
