import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/domain/model.js';
import { formatPlan, planHost } from '../../src/domain/plan.js';
import { validateHost } from '../../src/domain/validate.js';
import { codes, mac } from '../support/builders.js';
import { activeBackupVlanBridgeMgmt, lacpThreeVlans, partialBond } from '../support/scenarios.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/** Compares with test/golden/NAME; UPDATE_GOLDEN=1 rewrites the file (review the diff before committing). */
function golden(name: string, actual: string): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
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
