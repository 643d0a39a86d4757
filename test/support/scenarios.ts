// The host configurations of the plan golden files, shared by the plan and template tests.
import type { HostConfig } from '../../src/domain/model.js';
import { attachOnBond, attachOnNic, bond, hostConfig, mac, network, nic } from './builders.js';

export function activeBackupVlanBridgeMgmt(): HostConfig {
  const mgmt = network('mgmt', { role: 'management', vlan: 100, bridged: true, mtu: 9000, required: true });
  const cfg = hostConfig({ name: 'blade1', networks: [mgmt], custom: { 'sysctl/net.ipv4.conf.all.arp_announce': '2' } });
  cfg.bonds = [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)], { miimon: 100, primary: 'eth0' })];
  cfg.attachments = [
    attachOnBond(mgmt, 1, { method: 'static', address: '10.0.0.11', prefix: 24, gateway: '10.0.0.1' }, { custom: { 'ethtool/offload': 'gro off' } }),
  ];
  return cfg;
}

export function lacpThreeVlans(): HostConfig {
  const mgmt = network('mgmt', { role: 'management' });
  const storage = network('storage', { role: 'storage', vlan: 200, mtu: 9000 });
  const vm = network('vm', { role: 'vm', vlan: 100, bridged: true });
  const migration = network('migration', { role: 'migration', vlan: 300 });
  const cfg = hostConfig({ name: 'blade2', networks: [mgmt, storage, vm, migration] });
  cfg.bonds = [bond(1, 'bond0', '802.3ad', [mac(2), mac(3)], { miimon: 100, lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' })];
  cfg.attachments = [
    attachOnNic(mgmt, mac(1), { method: 'dhcp' }),
    attachOnBond(storage, 1, { method: 'static', address: '10.20.0.12', prefix: 24 }),
    attachOnBond(vm, 1),
    attachOnBond(migration, 1, { method: 'static', address: '10.30.0.12', prefix: 24 }, { ipv6: { method: 'static', address: 'FD30:0:0::12', prefix: 64 } }),
  ];
  return cfg;
}

export function partialBond(): HostConfig {
  const mgmt = network('mgmt', { role: 'management' });
  const storage = network('storage', { vlan: 200 });
  const cfg = hostConfig({ name: 'blade3', networks: [mgmt, storage], nics: [nic(1), nic(2)] });
  cfg.bonds = [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])];
  cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' }), attachOnBond(storage, 1, { method: 'static', address: '10.20.0.13', prefix: 24 })];
  return cfg;
}

