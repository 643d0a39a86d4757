// The console's topology graph builders (pure): the Open vSwitch shape (NIC → OVS bond → OVS bridge →
// internal port → network) from real plans, QoS on the node that carries it for both switch types,
// and the Linux shape as it was.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/domain/model.js';
import { planHost } from '../../src/domain/plan.js';
import { COLUMNS, type Graph, OVS_COLUMNS, graphFromPlan, graphFromStored, kbit, layout, portVlan, vlanList } from '../../ui/src/graph.js';
import type { HostPlan, Nic } from '../../ui/src/types.js';
import { ovsLacpTrunkHybrid } from '../support/ovs-scenarios.js';
import { activeBackupVlanBridgeMgmt, lacpThreeVlans } from '../support/scenarios.js';

const golden = (name: string): HostPlan => JSON.parse(readFileSync(new URL(`../golden/${name}.json`, import.meta.url), 'utf8')) as HostPlan;
const asOvs = (cfg: HostConfig): HostConfig => ({ ...cfg, cluster: { ...cfg.cluster, switchType: 'ovs' } });
const plan = (cfg: HostConfig): HostPlan => planHost(cfg) as HostPlan;
const nicsOf = (cfg: HostConfig): Nic[] => cfg.nics.map((n) => ({ id: n.id, mac: n.mac, name: n.name, driver: n.driver, speed: n.speed, carrier: n.carrier, labels: n.labels }));
const node = (g: Graph, id: string) => g.nodes.find((n) => n.id === id);
const edges = (g: Graph): string[] => g.edges.map((e) => `${e.from} > ${e.to}`).sort();

describe('graphFromPlan, Open vSwitch', () => {
  const g = graphFromPlan(golden('ovs-lacp-two-vlan-ports-trunk-hybrid-qos'), nicsOf(ovsLacpTrunkHybrid()));

  it('uses the OVS columns and puts each device in its column', () => {
    expect(g.columns).toEqual(OVS_COLUMNS);
    const cols = Object.fromEntries(g.nodes.map((n) => [n.id, n.col]));
    expect(cols).toEqual({
      'if:eth0': 0, 'if:eth1': 0, 'if:eth2': 0,
      'if:bond0': 1,
      'if:ovsbr0': 2,
      'if:mgmt': 3, 'if:storage': 3, 'if:vmhybrid': 3, 'if:vmtrunk': 3,
      'net:mgmt': 4, 'net:storage': 4, 'net:vmhybrid': 4, 'net:vmtrunk': 4,
    });
  });

  it('wires NICs into the bond, the bond into the bridge, the bridge to its internal ports, each port to its network', () => {
    expect(edges(g)).toEqual([
      'if:bond0 > if:ovsbr0',
      'if:eth0 > if:bond0',
      'if:eth1 > if:bond0',
      'if:mgmt > net:mgmt',
      'if:ovsbr0 > if:mgmt',
      'if:ovsbr0 > if:storage',
      'if:ovsbr0 > if:vmhybrid',
      'if:ovsbr0 > if:vmtrunk',
      'if:storage > net:storage',
      'if:vmhybrid > net:vmhybrid',
      'if:vmtrunk > net:vmtrunk',
    ]);
  });

  it('labels the bond with its mode, LACP and LACP time, the ports with their VLAN settings', () => {
    expect(node(g, 'if:bond0')).toMatchObject({ sub: 'balance-tcp · LACP active', more: ['lacp-time fast · miimon 100 ms'] });
    expect(node(g, 'if:ovsbr0')?.sub).toBe('OVS bridge · MTU 9000');
    expect(node(g, 'if:mgmt')).toMatchObject({ sub: 'access · VLAN 100', more: ['internal · MTU 1500'] });
    expect(node(g, 'if:storage')).toMatchObject({ sub: 'access · VLAN 200', more: ['internal · MTU 9000'] });
    expect(node(g, 'if:vmtrunk')?.sub).toBe('trunk · 300-301');
    expect(node(g, 'if:vmhybrid')).toMatchObject({ sub: 'hybrid · native 400', more: ['trunks 401-402', 'internal · MTU 1500'] });
    expect(node(g, 'net:vmtrunk')?.sub).toBe('vm · trunk · VMs');
    expect(node(g, 'net:vmhybrid')?.sub).toBe('vm · VLAN 400 · VMs');
    expect(node(g, 'net:mgmt')?.sub).toBe('management · VLAN 100');
  });

  it('shows QoS on the internal port that carries it, and only there', () => {
    expect(node(g, 'if:storage')?.qos).toEqual(['egress ≤ 1 Gbit/s, burst 100 Mbit', 'ingress ≤ 500 Mbit/s, burst 50 Mbit']);
    expect(g.nodes.filter((n) => n.qos).map((n) => n.id)).toEqual(['if:storage']);
  });

  it('keeps a NIC without carrier flagged and its MAC', () => {
    const nics = nicsOf(ovsLacpTrunkHybrid()).map((n) => (n.name === 'eth1' ? { ...n, carrier: false } : n));
    const flagged = graphFromPlan(golden('ovs-lacp-two-vlan-ports-trunk-hybrid-qos'), nics);
    expect(node(flagged, 'if:eth1')).toMatchObject({ col: 0, warn: true, sub: '52:54:00:00:01:02 · no carrier' });
  });

  it('draws a plain NIC uplink straight into its own bridge, and an active-backup bond without LACP', () => {
    const cfg = asOvs(lacpThreeVlans());
    const lacp = graphFromPlan(plan(cfg), nicsOf(cfg));
    expect(edges(lacp)).toEqual(expect.arrayContaining(['if:bond0 > if:ovsbr0', 'if:eth0 > if:ovsbr1', 'if:ovsbr1 > if:mgmt', 'if:mgmt > net:mgmt', 'if:ovsbr0 > if:storage']));
    expect(lacp.edges.some((e) => e.from === 'if:eth0' && e.to === 'if:bond0')).toBe(false);
    expect(node(lacp, 'if:mgmt')?.sub).toBe('access · untagged');
    expect(node(lacp, 'net:mgmt')?.sub).toBe('management · untagged');
    // 802.3ad on ovs is planned as balance-tcp with LACP active.
    expect(node(lacp, 'if:bond0')).toMatchObject({ sub: 'balance-tcp · LACP active', more: ['lacp-time fast · miimon 100 ms'] });

    const ab = asOvs(activeBackupVlanBridgeMgmt());
    const g2 = graphFromPlan(plan(ab), nicsOf(ab));
    expect(node(g2, 'if:bond0')).toMatchObject({ sub: 'active-backup · LACP off', more: ['miimon 100 ms'] });
    expect(node(g2, 'if:mgmt')?.sub).toBe('access · VLAN 100');
    expect(node(g2, 'net:mgmt')?.sub).toBe('management · VLAN 100 · VMs');
  });
});

describe('graphFromPlan, Linux', () => {
  it('keeps the NIC → bond → VLAN → bridge → network shape and labels', () => {
    const cfg = lacpThreeVlans();
    const g = graphFromPlan(golden('lacp-three-vlans-one-bridged'), nicsOf(cfg));
    expect(g.columns).toEqual(COLUMNS);
    expect(edges(g)).toEqual(
      expect.arrayContaining(['if:eth1 > if:bond0', 'if:eth2 > if:bond0', 'if:bond0 > if:bond0.100', 'if:bond0.100 > if:vm', 'if:vm > net:vm', 'if:eth0 > net:mgmt']),
    );
    expect(node(g, 'if:bond0')).toEqual({ id: 'if:bond0', col: 1, label: 'bond0', sub: '802.3ad · MTU 9000' });
    expect(node(g, 'if:bond0.200')).toEqual({ id: 'if:bond0.200', col: 2, label: 'bond0.200', sub: 'VLAN 200 · MTU 9000' });
    expect(node(g, 'net:mgmt')?.sub).toBe('management · untagged');
    expect(node(g, 'net:vm')?.sub).toBe('vm · VLAN 100');
    expect(g.nodes.some((n) => n.more || n.qos)).toBe(false);
    // Nothing longer than before: the nodes keep their 150 px and their row height.
    expect(layout(g)).toMatchObject({ width: 150, height: 26 + 4 * 52 });
  });

  it('shows QoS on the VLAN device and on the bridge that carry it', () => {
    const g = graphFromPlan(golden('linux-qos'), []);
    expect(node(g, 'if:bond0.200')?.qos).toEqual(['egress ≤ 200 Mbit/s, burst 20 Mbit', 'ingress ≤ 100 Mbit/s, burst 10 Mbit']);
    expect(node(g, 'if:vm')?.qos).toEqual(['egress ≤ 50 Mbit/s, burst 5 Mbit']);
    expect(g.nodes.filter((n) => n.qos).map((n) => n.id).sort()).toEqual(['if:bond0.200', 'if:vm']);
    // QoS lines widen the nodes and make their rows taller.
    const l = layout(g);
    expect(l.width).toBeGreaterThan(150);
    const plain = layout({ ...g, nodes: g.nodes.map(({ qos: _q, ...n }) => n) });
    expect(plain.width).toBe(150);
    expect(l.height - plain.height).toBe(3 * 13);
  });
});

describe('graphFromStored', () => {
  it('on ovs: OVS columns, LACP on the bond, QoS on the attached network', () => {
    const g = graphFromStored(
      [{ id: 1, mac: '52:54:00:00:01:01', name: 'eth0', driver: null, speed: null, carrier: true, labels: [] }],
      [{ id: 1, name: 'bond0', mode: 'balance-tcp', options: { lacp: 'passive' }, members: [{ mac: '52:54:00:00:01:01', name: 'eth0', present: true }], effectiveMac: null, primaryMember: 'eth0', labels: [], partial: true }],
      [{ id: 2, network: 'storage', interface: { kind: 'bond', name: 'bond0' }, viaLabel: null, qos: { egress: { maxRate: 100_000, maxBurst: 10_000 } } }],
      'ovs',
    );
    expect(g.columns).toEqual(OVS_COLUMNS);
    expect(node(g, 'if:bond0')).toMatchObject({ sub: 'balance-tcp · LACP passive', warn: true });
    expect(node(g, 'net:storage')?.qos).toEqual(['egress ≤ 100 Mbit/s, burst 10 Mbit']);
    expect(edges(g)).toEqual(['if:bond0 > net:storage', 'if:eth0 > if:bond0']);
  });
});

describe('helpers', () => {
  it('kbit: kbit, Mbit, Gbit', () => {
    expect([kbit(512), kbit(1_000), kbit(1_500), kbit(100_000), kbit(2_500_000)]).toEqual(['512 kbit', '1 Mbit', '1.5 Mbit', '100 Mbit', '2.5 Gbit']);
  });
  it('vlanList folds consecutive runs', () => {
    expect(vlanList([310, 300, 301, 302, 305])).toBe('300-302, 305, 310');
    expect(vlanList([])).toBe('');
  });
  it('portVlan: access, untagged, trunk, hybrid', () => {
    expect(portVlan({ mode: 'access', tag: 0 })).toEqual({ sub: 'access · untagged' });
    expect(portVlan({ mode: 'trunk', 'trunk-tags': [{ id: 20 }, { id: 30 }] })).toEqual({ sub: 'trunk · 20, 30' });
    expect(portVlan({ mode: 'trunk', tag: 5, 'enable-native': true, 'trunk-tags': [{ id: 6 }] })).toEqual({ sub: 'hybrid · native 5', more: ['trunks 6'] });
  });
});
