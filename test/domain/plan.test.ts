import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/domain/model.js';
import { formatPlan, planHost } from '../../src/domain/plan.js';
import { validateHost } from '../../src/domain/validate.js';
import { attachOnBond, attachOnNic, bond, codes, hostConfig, mac, network, nic } from '../support/builders.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/** Compares with test/golden/NAME; UPDATE_GOLDEN=1 rewrites the file (review the diff before committing). */
function golden(name: string, actual: string): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

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

const scenarios: [string, () => HostConfig][] = [
  ['active-backup-vlan-bridge-mgmt-9000', activeBackupVlanBridgeMgmt],
  ['lacp-three-vlans-one-bridged', lacpThreeVlans],
  ['partial-bond', partialBond],
];

describe('planHost golden files', () => {
  for (const [name, build] of scenarios) {
    it(`${name}: the configuration is valid`, () => {
      expect(codes(validateHost(build()))).toEqual([]);
    });
    it(`${name}: YAML matches`, () => golden(`${name}.yaml`, formatPlan(planHost(build()), 'yaml')));
    it(`${name}: JSON matches`, () => golden(`${name}.json`, formatPlan(planHost(build()), 'json')));
    it(`${name}: byte-identical whatever the input order`, () => {
      const a = build();
      const b = build();
      const shuffled: HostConfig = { ...b, nics: [...b.nics].reverse(), bonds: [...b.bonds].reverse(), attachments: [...b.attachments].reverse(), networks: [...b.networks].reverse() };
      expect(formatPlan(planHost(shuffled), 'yaml')).toBe(formatPlan(planHost(a), 'yaml'));
    });
  }
});

describe('planHost semantics', () => {
  it('builds bonds before VLANs before bridges, and sets MTUs bottom-up', () => {
    const plan = planHost(activeBackupVlanBridgeMgmt());
    const ops = plan.steps.map((s) => `${s.op}:${'iface' in s ? s.iface : ''}`);
    expect(ops.indexOf('bond-create:bond0')).toBeLessThan(ops.indexOf('vlan-create:bond0.100'));
    expect(ops.indexOf('vlan-create:bond0.100')).toBeLessThan(ops.indexOf('bridge-create:mgmt'));
    expect(ops.indexOf('link-mtu:bond0')).toBeLessThan(ops.indexOf('link-mtu:bond0.100'));
    expect(plan.steps[0]).toEqual({ op: 'load-modules', modules: ['bonding', '8021q', 'bridge'] });
    const bridge = plan.state.interfaces.find((i) => i.name === 'mgmt');
    expect(bridge?.mtu).toBe(9000);
    expect(bridge?.ipv4.address).toEqual([{ ip: '10.0.0.11', 'prefix-length': 24 }]);
    expect(plan.state.networks.mgmt).toEqual({ role: 'management', vlan: 100, mtu: 9000, bridged: true, interface: 'mgmt', base: 'bond0' });
    expect(plan.state.interfaces.find((i) => i.name === 'eth2')?.state).toBe('down');
  });
  it('a partial bond runs on the members present', () => {
    const plan = planHost(partialBond());
    expect(plan.state.interfaces.find((i) => i.name === 'bond0')?.['link-aggregation']?.port).toEqual(['eth1']);
  });
  it('the bond carries its primary member MAC, enslaving the primary first', () => {
    const cfg = lacpThreeVlans();
    cfg.bonds = [{ ...(cfg.bonds[0] as HostConfig['bonds'][number]), primaryMember: mac(3) }];
    const plan = planHost(cfg);
    const b = plan.state.interfaces.find((i) => i.name === 'bond0');
    expect(b?.['mac-address']).toBe(mac(3));
    expect(b?.['link-aggregation']?.port).toEqual(['eth2', 'eth1']);
  });
  it('makes the default link monitor explicit', () => {
    const cfg = partialBond();
    expect(planHost(cfg).state.interfaces.find((i) => i.name === 'bond0')?.['link-aggregation']?.options).toEqual({ miimon: 100 });
  });
});
