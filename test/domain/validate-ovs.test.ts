// Rules of issue 8: switch types, OVS bonds and LACP, VM-facing port types, trunk lists, QoS.
import { describe, expect, it } from 'vitest';
import type { AttachmentQos, BondMode, BondOptions, HostConfig, LogicalNetwork } from '../../src/domain/model.js';
import { validateHost, validateNetwork } from '../../src/domain/validate.js';
import { attachOnBond, attachOnNic, bond, cluster, codes, hostConfig, mac, mgmtOf, network, nic } from '../support/builders.js';
import { linuxQos, ovsLacpTrunkHybrid } from '../support/ovs-scenarios.js';

const ovsCluster = () => cluster({ switchType: 'ovs' });

/** A host with bond0 (eth1+eth2) carrying `networks`, management untagged with DHCP on eth0. */
function withBond(switchType: 'linux' | 'ovs', mode: BondMode, options: BondOptions, networks: LogicalNetwork[] = []): HostConfig {
  const mgmt = network('mgmt', { role: 'management' });
  const cfg = hostConfig({ networks: [mgmt, ...networks] });
  cfg.cluster = cluster({ switchType });
  cfg.bonds = [bond(1, 'bond0', mode, [mac(2), mac(3)], options)];
  cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' }), ...networks.map((n) => attachOnBond(n, 1))];
  return cfg;
}

describe('bond modes and options per switch type', () => {
  it.each([
    ['balance-rr', 'ovs'],
    ['broadcast', 'ovs'],
    ['balance-xor', 'ovs'],
    ['balance-alb', 'ovs'],
    ['balance-slb', 'linux'],
    ['balance-tcp', 'linux'],
  ] as const)('%s is refused on %s', (mode, switchType) => {
    expect(codes(validateHost(withBond(switchType, mode, {})))).toContain('BOND_MODE_SWITCH_TYPE');
  });

  it.each([
    ['active-backup', {}],
    ['balance-slb', {}],
    ['balance-slb', { lacp: 'active' }],
    ['balance-tcp', { lacp: 'active' }],
    ['balance-tcp', { lacp: 'passive', lacp_rate: 'slow' }],
    ['802.3ad', {}],
    ['active-backup', { primary: 'eth1', miimon: 100, updelay: 100, downdelay: 100 }],
  ] as [BondMode, BondOptions][])('%s %j is accepted on ovs', (mode, options) => {
    expect(codes(validateHost(withBond('ovs', mode, options)))).toEqual([]);
  });

  it('balance-tcp needs LACP, and so does 802.3ad when lacp says off', () => {
    expect(codes(validateHost(withBond('ovs', 'balance-tcp', {})))).toEqual(['BOND_LACP_REQUIRED']);
    expect(codes(validateHost(withBond('ovs', 'balance-tcp', { lacp: 'off' })))).toEqual(['BOND_LACP_REQUIRED']);
    expect(codes(validateHost(withBond('ovs', '802.3ad', { lacp: 'off' })))).toEqual(['BOND_LACP_REQUIRED']);
    const v = validateHost(withBond('ovs', 'balance-tcp', {}));
    expect(v[0]?.message).toBe("bond 'bond0': mode balance-tcp needs LACP; set lacp to active or passive (balance-slb balances without it)");
  });

  it('Linux-only options are refused on ovs, the OVS lacp option on linux', () => {
    expect(codes(validateHost(withBond('ovs', 'balance-slb', { xmit_hash_policy: 'layer3+4' })))).toEqual(['BOND_OPTION_SWITCH_TYPE']);
    expect(codes(validateHost(withBond('ovs', 'active-backup', { arp_interval: 100, arp_ip_target: ['10.0.0.1'] })))).toEqual([
      'BOND_OPTION_SWITCH_TYPE',
      'BOND_OPTION_SWITCH_TYPE',
    ]);
    expect(codes(validateHost(withBond('linux', '802.3ad', { lacp: 'active' })))).toEqual(['BOND_OPTION_SWITCH_TYPE']);
    expect(codes(validateHost(withBond('ovs', 'balance-slb', { lacp: 'sometimes' as never })))).toEqual(['BOND_OPTION_INVALID']);
  });

  it('up- and downdelay work with carrier detection too on ovs, not on linux', () => {
    expect(codes(validateHost(withBond('ovs', 'balance-slb', { updelay: 200, downdelay: 100 })))).toEqual([]);
    expect(codes(validateHost(withBond('linux', 'active-backup', { miimon: 0, updelay: 200 })))).toEqual(['BOND_DELAY_WITHOUT_MIIMON']);
  });

  it('lacp_rate (lacp-time) needs LACP on; primary needs active-backup and a member', () => {
    expect(codes(validateHost(withBond('ovs', 'balance-slb', { lacp_rate: 'fast' })))).toEqual(['BOND_LACP_RATE_MODE']);
    expect(codes(validateHost(withBond('ovs', 'balance-slb', { primary: 'eth1' })))).toEqual(['BOND_PRIMARY_MODE']);
    expect(codes(validateHost(withBond('ovs', 'active-backup', { primary: 'eth9' })))).toEqual(['BOND_PRIMARY_NOT_MEMBER']);
  });

  it('every OVS bond carries bridged networks (BOND_MODE_NOT_BRIDGEABLE is a Linux bridge rule)', () => {
    const vm = network('vm', { vlan: 100, bridged: true });
    expect(codes(validateHost(withBond('ovs', 'balance-slb', {}, [vm])))).toEqual([]);
    expect(codes(validateHost(withBond('linux', 'balance-rr', {}, [network('vm2', { vlan: 100, bridged: true })])))).toEqual(['BOND_MODE_NOT_BRIDGEABLE']);
  });
});

describe('VM-facing port types (per bridged network)', () => {
  const check = (n: Partial<LogicalNetwork>, switchType: 'linux' | 'ovs' = 'ovs'): string[] => codes(validateNetwork(network('vm', { bridged: true, ...n }), [], switchType));

  it('accepts access, trunk and hybrid ports on ovs', () => {
    expect(check({ vlan: 100 })).toEqual([]);
    expect(check({ portType: 'trunk', trunks: [100, 200] })).toEqual([]);
    expect(check({ portType: 'hybrid', vlan: 300, trunks: [301] })).toEqual([]);
  });

  it('trunk and hybrid ports need an ovs cluster and a bridged network', () => {
    expect(check({ portType: 'trunk', trunks: [100] }, 'linux')).toEqual(['PORT_TYPE_NEEDS_OVS']);
    expect(check({ portType: 'trunk', trunks: [100], bridged: false })).toEqual(['PORT_TYPE_INVALID']);
    expect(check({ portType: 'tagged' as never })).toEqual(['PORT_TYPE_INVALID']);
  });

  it('a trunk has no VLAN of its own, a hybrid port needs its native VLAN', () => {
    expect(check({ portType: 'trunk', vlan: 100, trunks: [200] })).toEqual(['PORT_TYPE_VLAN_MISMATCH']);
    expect(check({ portType: 'hybrid', trunks: [200] })).toEqual(['PORT_TYPE_VLAN_MISMATCH']);
  });

  it('trunk lists: present for trunk and hybrid, absent for access, VLAN ids 1-4094, no duplicate, not the native VLAN', () => {
    expect(check({ portType: 'trunk' })).toEqual(['TRUNK_VLANS_INVALID']);
    expect(check({ vlan: 100, trunks: [200] })).toEqual(['TRUNK_VLANS_INVALID']);
    expect(check({ portType: 'trunk', trunks: [0, 4095, 100.5] })).toEqual(['VLAN_ID_OUT_OF_RANGE', 'VLAN_ID_OUT_OF_RANGE', 'VLAN_ID_OUT_OF_RANGE']);
    expect(check({ portType: 'trunk', trunks: [100, 100] })).toEqual(['TRUNK_VLANS_INVALID']);
    expect(check({ portType: 'hybrid', vlan: 300, trunks: [300, 301] })).toEqual(['TRUNK_VLANS_INVALID']);
    expect(validateNetwork(network('vm', { bridged: true, portType: 'trunk', trunks: [100, 100] }), [], 'ovs')[0]?.message).toBe(
      "network 'vm': trunk VLAN 100 is listed twice",
    );
  });
});

describe('ports on one Open vSwitch bridge', () => {
  it('a trunk list may not contain the access tag of another port on the same bridge', () => {
    const cfg = ovsLacpTrunkHybrid();
    const trunk = cfg.networks.find((n) => n.name === 'vmtrunk') as LogicalNetwork;
    cfg.networks = cfg.networks.map((n) => (n === trunk ? { ...n, trunks: [100, 300] } : n));
    const v = validateHost(cfg);
    expect(codes(v)).toEqual(['TRUNK_CONTAINS_ACCESS_TAG']);
    expect(v[0]?.message).toBe("network 'vmtrunk' trunks VLAN 100, which network 'mgmt' carries on the same Open vSwitch bridge (bond0); its VMs would reach that network");
  });

  it('nor the native VLAN of a hybrid port; the same VLAN on another uplink is fine', () => {
    const cfg = ovsLacpTrunkHybrid();
    cfg.networks = cfg.networks.map((n) => (n.name === 'vmtrunk' ? { ...n, trunks: [400] } : n));
    expect(codes(validateHost(cfg))).toEqual(['TRUNK_CONTAINS_ACCESS_TAG']);
    // move the trunk network to eth2, its own bridge
    const moved = ovsLacpTrunkHybrid();
    moved.networks = moved.networks.map((n) => (n.name === 'vmtrunk' ? { ...n, trunks: [100, 400] } : n));
    const trunkId = moved.networks.find((n) => n.name === 'vmtrunk')?.id;
    moved.attachments = moved.attachments.map((a) => (a.networkId === trunkId ? { ...a, iface: { kind: 'nic' as const, mac: mac(3) } } : a));
    expect(codes(validateHost(moved))).toEqual([]);
  });

  it('a trunk port holds no address; on ovs a network has one port per host', () => {
    const cfg = ovsLacpTrunkHybrid();
    const trunkId = cfg.networks.find((n) => n.name === 'vmtrunk')?.id;
    cfg.attachments = cfg.attachments.map((a) => (a.networkId === trunkId ? { ...a, ipv4: { method: 'dhcp' } } : a));
    expect(codes(validateHost(cfg))).toEqual(['TRUNK_PORT_ADDRESS']);

    const vm = network('vm', { vlan: 100, bridged: true });
    const two = hostConfig({ networks: [network('mgmt', { role: 'management' }), vm], nics: [nic(1), nic(2), nic(3)] });
    two.attachments = [attachOnNic(mgmtOf(two), mac(1), { method: 'dhcp' }), attachOnNic(vm, mac(2)), attachOnNic(vm, mac(3))];
    expect(codes(validateHost(two))).toEqual([]); // linux: one bridge, two ports
    two.cluster = ovsCluster();
    expect(codes(validateHost(two))).toEqual(['NETWORK_ATTACHED_TWICE']);
  });

  it('untagged networks: a trunk port is not one; MTUs are per port on ovs', () => {
    const trunk = network('vmtrunk', { bridged: true, portType: 'trunk', trunks: [10] });
    const plain = network('plain', { mtu: 1500 });
    const jumbo = network('jumbo', { vlan: 20, mtu: 9000 });
    const cfg = withBond('ovs', 'balance-slb', {}, [trunk, plain, jumbo]);
    expect(codes(validateHost(cfg))).toEqual([]);
    cfg.cluster = cluster();
    cfg.networks = cfg.networks.map((n) => (n.name === 'vmtrunk' ? { ...n, portType: 'access', trunks: [] } : n));
    cfg.bonds = [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])];
    expect(codes(validateHost(cfg))).toEqual(['MULTIPLE_UNTAGGED_NETWORKS', 'BRIDGE_MTU_MISMATCH']);
  });

  it('bridge and port names do not collide with NICs', () => {
    const cfg = ovsLacpTrunkHybrid();
    cfg.nics = cfg.nics.map((n) => (n.name === 'eth2' ? { ...n, name: 'ovsbr0' } : n));
    expect(codes(validateHost(cfg))).toEqual(['INTERFACE_NAME_CONFLICT']);
    const net = ovsLacpTrunkHybrid();
    net.nics = net.nics.map((n) => (n.name === 'eth2' ? { ...n, name: 'storage' } : n));
    expect(codes(validateHost(net))).toEqual(['INTERFACE_NAME_CONFLICT']);
  });
});

describe('attachment QoS', () => {
  const withQos = (qos: AttachmentQos, mtu = 1500): HostConfig => {
    const cfg = linuxQos();
    const storage = cfg.networks.find((n) => n.name === 'storage') as LogicalNetwork;
    cfg.networks = cfg.networks.map((n) => (n === storage ? { ...n, mtu } : n));
    cfg.attachments = cfg.attachments.map((a) => (a.networkId === storage.id ? { ...a, qos } : a));
    return cfg;
  };

  it('rates are whole kbit/s from 8 to 100 Gbit/s, bursts whole positive kbit', () => {
    expect(codes(validateHost(withQos({ egress: { maxRate: 0, maxBurst: 10 } })))).toEqual(['QOS_RATE_INVALID']);
    expect(codes(validateHost(withQos({ ingress: { maxRate: 100_000_001, maxBurst: 10 } })))).toEqual(['QOS_RATE_INVALID']);
    expect(codes(validateHost(withQos({ egress: { maxRate: 1.5, maxBurst: 10 } })))).toEqual(['QOS_RATE_INVALID']);
    expect(codes(validateHost(withQos({ egress: { maxRate: 1000, maxBurst: -1 } })))).toEqual(['QOS_BURST_INVALID']);
  });

  it('a burst holds at least one frame and 10 ms at the rate, at most 10 s', () => {
    expect(codes(validateHost(withQos({ egress: { maxRate: 1000, maxBurst: 13 } })))).toEqual([]);
    expect(codes(validateHost(withQos({ egress: { maxRate: 1000, maxBurst: 12 } })))).toEqual(['QOS_BURST_TOO_SMALL']);
    expect(codes(validateHost(withQos({ egress: { maxRate: 1000, maxBurst: 13 } }, 9000)))).toEqual(['QOS_BURST_TOO_SMALL']);
    expect(codes(validateHost(withQos({ egress: { maxRate: 1_000_000, maxBurst: 9_999 } })))).toEqual(['QOS_BURST_TOO_SMALL']);
    expect(codes(validateHost(withQos({ egress: { maxRate: 1_000_000, maxBurst: 10_000 } })))).toEqual([]);
    expect(codes(validateHost(withQos({ ingress: { maxRate: 1000, maxBurst: 10_001 } })))).toEqual(['QOS_BURST_TOO_LARGE']);
    expect(validateHost(withQos({ egress: { maxRate: 1000, maxBurst: 12 } }))[0]?.message).toBe(
      "QoS of network 'storage' on bond0: egress max burst 12 kbit is below 13 kbit (one 1500-byte frame and 10 ms at 1000 kbit/s); the limit would pass less than its rate",
    );
  });

  it('on linux, an untagged network whose device carries VLAN networks cannot be limited alone; on ovs it can', () => {
    const mgmt = network('mgmt', { role: 'management' });
    const storage = network('storage', { vlan: 200 });
    const cfg = hostConfig({ networks: [mgmt, storage] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' }, { qos: { egress: { maxRate: 10_000, maxBurst: 1_000 } } }), attachOnNic(storage, mac(1))];
    expect(codes(validateHost(cfg))).toEqual(['QOS_SHARED_DEVICE']);
    cfg.cluster = ovsCluster();
    expect(codes(validateHost(cfg))).toEqual([]);
  });

  it('a bridged network over two interfaces has one limit', () => {
    const vm = network('vm', { vlan: 100, bridged: true });
    const cfg = hostConfig({ networks: [network('mgmt', { role: 'management' }), vm] });
    cfg.attachments = [
      attachOnNic(mgmtOf(cfg), mac(1), { method: 'dhcp' }),
      attachOnNic(vm, mac(2), undefined, { qos: { egress: { maxRate: 10_000, maxBurst: 1_000 } } }),
      attachOnNic(vm, mac(3), undefined, { qos: { egress: { maxRate: 20_000, maxBurst: 1_000 } } }),
    ];
    expect(codes(validateHost(cfg))).toEqual(['QOS_CONFLICT']);
  });
});
