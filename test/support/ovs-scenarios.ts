// Host configurations of the Open vSwitch and QoS plan golden files (issue 8), shared by the plan and
// template tests.
import type { AttachmentQos, HostConfig } from '../../src/domain/model.js';
import { attachOnBond, attachOnNic, bond, cluster, hostConfig, mac, network, nic } from './builders.js';

/**
 * ovs cluster: an LACP bond (balance-tcp, LACP active, fast) carrying two VLAN internal ports
 * (management and storage, storage with QoS both ways), a trunk port and a hybrid port for VMs.
 */
export function ovsLacpTrunkHybrid(): HostConfig {
  const mgmt = network('mgmt', { role: 'management', vlan: 100, required: true });
  const storage = network('storage', { role: 'storage', vlan: 200, mtu: 9000 });
  const trunk = network('vmtrunk', { role: 'vm', bridged: true, portType: 'trunk', trunks: [300, 301] });
  const hybrid = network('vmhybrid', { role: 'vm', vlan: 400, bridged: true, portType: 'hybrid', trunks: [401, 402] });
  const cfg = hostConfig({ name: 'blade4', networks: [mgmt, storage, trunk, hybrid] });
  cfg.cluster = cluster({ name: 'rack-ovs', switchType: 'ovs' });
  cfg.bonds = [bond(1, 'bond0', 'balance-tcp', [mac(1), mac(2)], { lacp: 'active', lacp_rate: 'fast', miimon: 100, updelay: 200 })];
  cfg.attachments = [
    attachOnBond(mgmt, 1, { method: 'static', address: '10.0.0.14', prefix: 24, gateway: '10.0.0.1' }),
    attachOnBond(storage, 1, { method: 'static', address: '10.20.0.14', prefix: 24 }, {
      qos: { egress: { maxRate: 1_000_000, maxBurst: 100_000 }, ingress: { maxRate: 500_000, maxBurst: 50_000 } },
    }),
    attachOnBond(trunk, 1),
    attachOnBond(hybrid, 1, { method: 'static', address: '10.40.0.14', prefix: 24 }),
  ];
  return cfg;
}

/** linux cluster with QoS: a VLAN network limited both ways, a bridged network limited on egress. */
export function linuxQos(): HostConfig {
  const mgmt = network('mgmt', { role: 'management' });
  const storage = network('storage', { role: 'storage', vlan: 200 });
  const vm = network('vm', { role: 'vm', vlan: 100, bridged: true });
  const cfg = hostConfig({ name: 'blade5', networks: [mgmt, storage, vm] });
  cfg.bonds = [bond(1, 'bond0', '802.3ad', [mac(2), mac(3)], { miimon: 100, lacp_rate: 'fast' })];
  cfg.attachments = [
    attachOnNic(mgmt, mac(1), { method: 'dhcp' }),
    attachOnBond(storage, 1, { method: 'static', address: '10.20.0.15', prefix: 24 }, {
      qos: { egress: { maxRate: 200_000, maxBurst: 20_000 }, ingress: { maxRate: 100_000, maxBurst: 10_000 } },
    }),
    attachOnBond(vm, 1, { method: 'static', address: '10.10.0.15', prefix: 24 }, { qos: { egress: { maxRate: 50_000, maxBurst: 5_000 } } }),
  ];
  return cfg;
}

/** The two blades of test/image/qos.test.ts: the MAC of their one NIC and their management address. */
export const QOS_PAIR = {
  1: { switchType: 'linux', eth0: '52:54:00:00:01:01', mgmt: '10.77.0.21' },
  2: { switchType: 'ovs', eth0: '52:54:00:00:02:01', mgmt: '10.77.0.22' },
} as const;
/**
 * Limits in kbit/s, bursts in kbit: 100 ms at the rate for the egress shapers (tbf, htb queue); 500 ms
 * for the ingress policers, which drop rather than queue (with 100 ms a TCP flow through a policer
 * reached only 54-55 % of its rate on the QEMU pair).
 */
const limit = (kbit: number, burstMs: number): { maxRate: number; maxBurst: number } => ({ maxRate: kbit, maxBurst: (kbit * burstMs) / 1000 });
export const QOS_PAIR_LIMITS: Record<1 | 2, AttachmentQos> = {
  1: { egress: limit(16_000, 100), ingress: limit(8_000, 500) },
  2: { egress: limit(12_000, 100), ingress: limit(6_000, 500) },
};

/**
 * Blade 1 (linux cluster) or 2 (ovs cluster) of the QoS pair: one NIC; mgmt untagged, storage on VLAN 300
 * (10.30.0.N, limited on blade 1), backup on VLAN 400 (10.40.0.N, limited on blade 2).
 */
export function qosPairBlade(blade: 1 | 2, limits: Record<1 | 2, AttachmentQos> = QOS_PAIR_LIMITS): HostConfig {
  const me = QOS_PAIR[blade];
  const mgmt = network('mgmt', { role: 'management', required: true });
  const storage = network('storage', { role: 'storage', vlan: 300 });
  const backup = network('backup', { role: 'storage', vlan: 400 });
  const cfg = hostConfig({ name: `qos${blade}`, nics: [nic(1, { mac: me.eth0 })], networks: [mgmt, storage, backup] });
  cfg.cluster = cluster({ switchType: me.switchType });
  cfg.attachments = [
    attachOnNic(mgmt, me.eth0, { method: 'static', address: me.mgmt, prefix: 24 }),
    attachOnNic(storage, me.eth0, { method: 'static', address: `10.30.0.${blade}`, prefix: 24 }, blade === 1 ? { qos: limits[1] } : {}),
    attachOnNic(backup, me.eth0, { method: 'static', address: `10.40.0.${blade}`, prefix: 24 }, blade === 2 ? { qos: limits[2] } : {}),
  ];
  return cfg;
}
