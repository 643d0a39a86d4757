// Plans of ovs clusters and of attachment QoS (issue 8): golden files, and what the plan holds.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/domain/model.js';
import { formatPlan, planHost } from '../../src/domain/plan.js';
import { validateHost } from '../../src/domain/validate.js';
import { attachOnNic, cluster, codes, mac, network, hostConfig } from '../support/builders.js';
import { linuxQos, ovsLacpTrunkHybrid } from '../support/ovs-scenarios.js';
import { activeBackupVlanBridgeMgmt, lacpThreeVlans, partialBond } from '../support/scenarios.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/** Compares with test/golden/NAME; UPDATE_GOLDEN=1 rewrites the file (review the diff before committing). */
function golden(name: string, actual: string): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const scenarios: [string, () => HostConfig][] = [
  ['ovs-lacp-two-vlan-ports-trunk-hybrid-qos', ovsLacpTrunkHybrid],
  ['linux-qos', linuxQos],
];

describe('planHost golden files (Open vSwitch, QoS)', () => {
  for (const [name, build] of scenarios) {
    it(`${name}: the configuration is valid`, () => expect(codes(validateHost(build()))).toEqual([]));
    it(`${name}: YAML matches`, () => golden(`${name}.yaml`, formatPlan(planHost(build()), 'yaml')));
    it(`${name}: JSON matches`, () => golden(`${name}.json`, formatPlan(planHost(build()), 'json')));
    it(`${name}: byte-identical whatever the input order`, () => {
      const b = build();
      const shuffled: HostConfig = { ...b, nics: [...b.nics].reverse(), bonds: [...b.bonds].reverse(), attachments: [...b.attachments].reverse(), networks: [...b.networks].reverse() };
      expect(formatPlan(planHost(shuffled), 'yaml')).toBe(formatPlan(planHost(build()), 'yaml'));
    });
  }
});

const asOvs = (cfg: HostConfig): HostConfig => ({ ...cfg, cluster: { ...cfg.cluster, switchType: 'ovs' } });

describe('planHost on ovs', () => {
  it('one bridge per uplink: the bond as an OVS bond port, one internal port per network with its VLAN', () => {
    const plan = planHost(ovsLacpTrunkHybrid());
    expect(plan.switchType).toBe('ovs');
    const br = plan.state.interfaces.find((i) => i.type === 'ovs-bridge');
    expect(br?.name).toBe('ovsbr0');
    expect(br?.bridge?.port).toEqual([
      {
        name: 'bond0',
        'link-aggregation': {
          mode: 'balance-tcp',
          lacp: 'active',
          port: [{ name: 'eth0' }, { name: 'eth1' }],
          'bond-updelay': 200,
          'ovs-db': { other_config: { 'bond-detect-mode': 'miimon', 'bond-miimon-interval': '100', 'lacp-time': 'fast' } },
        },
      },
      { name: 'mgmt', vlan: { mode: 'access', tag: 100 } },
      { name: 'storage', vlan: { mode: 'access', tag: 200 } },
      { name: 'vmhybrid', vlan: { mode: 'trunk', tag: 400, 'enable-native': true, 'trunk-tags': [{ id: 401 }, { id: 402 }] } },
      { name: 'vmtrunk', vlan: { mode: 'trunk', 'trunk-tags': [{ id: 300 }, { id: 301 }] } },
    ]);
    // Internal ports carry the bond's MAC (its primary member's), so DHCP by boot MAC keeps working.
    const mgmt = plan.state.interfaces.find((i) => i.name === 'mgmt');
    expect(mgmt).toMatchObject({ type: 'ovs-interface', controller: 'ovsbr0', 'mac-address': mac(1), mtu: 1500 });
    expect(plan.state.interfaces.find((i) => i.name === 'eth0')).toMatchObject({ controller: 'ovsbr0', mtu: 9000 });
    expect(plan.state.interfaces.some((i) => i.type === 'bond' || i.type === 'vlan' || i.type === 'linux-bridge')).toBe(false);
    expect(plan.state.networks.storage).toEqual({ role: 'storage', vlan: 200, mtu: 9000, bridged: false, interface: 'storage', base: 'bond0', 'ovs-bridge': 'ovsbr0' });
    // openvswitch, and the tc modules of the storage port's limits (htb for ingress, policing for egress)
    expect(plan.steps[0]).toEqual({ op: 'load-modules', modules: ['openvswitch', 'sch_htb', 'sch_ingress', 'cls_basic', 'cls_matchall', 'act_police'] });
    expect(plan.state.routes.config).toEqual([{ destination: '0.0.0.0/0', 'next-hop-address': '10.0.0.1', 'next-hop-interface': 'mgmt' }]);
  });

  it('the same host configuration in a linux cluster gives the linux plan (only the switch type differs)', () => {
    const linux = lacpThreeVlans();
    const ovs = asOvs(lacpThreeVlans());
    expect(planHost(linux).switchType).toBeUndefined();
    expect(JSON.stringify(planHost(ovs).state)).not.toBe(JSON.stringify(planHost(linux).state));
    // eth0 (untagged management) and bond0 each get their own bridge; the untagged network is an access port of VLAN 0.
    const ovsPlan = planHost(ovs);
    expect(ovsPlan.state.interfaces.filter((i) => i.type === 'ovs-bridge').map((i) => [i.name, i.bridge?.port.map((p) => p.name)])).toEqual([
      ['ovsbr0', ['bond0', 'migration', 'storage', 'vm']],
      ['ovsbr1', ['eth0', 'mgmt']],
    ]);
    expect(ovsPlan.state.interfaces.find((i) => i.name === 'ovsbr1')?.bridge?.port[1]).toEqual({ name: 'mgmt', vlan: { mode: 'access', tag: 0 } });
    // 802.3ad becomes balance-tcp with LACP active, its lacp_rate OVS's lacp-time; xmit_hash_policy is refused on ovs.
    expect(codes(validateHost(ovs))).toEqual(['BOND_OPTION_SWITCH_TYPE']);
    const port = ovsPlan.state.interfaces.find((i) => i.name === 'ovsbr0')?.bridge?.port[0];
    expect(port?.['link-aggregation']).toMatchObject({ mode: 'balance-tcp', lacp: 'active', 'ovs-db': { other_config: { 'lacp-time': 'fast' } } });
  });

  it('miimon 0 leaves OVS on carrier detection; primary becomes bond-primary', () => {
    const cfg = ovsLacpTrunkHybrid();
    cfg.bonds = cfg.bonds.map((b) => ({ ...b, mode: 'active-backup' as const, options: { miimon: 0, primary: 'eth1' } }));
    expect(codes(validateHost(cfg))).toEqual([]);
    const la = planHost(cfg).state.interfaces.find((i) => i.name === 'ovsbr0')?.bridge?.port[0]?.['link-aggregation'];
    expect(la).toEqual({ mode: 'active-backup', lacp: 'off', port: [{ name: 'eth0' }, { name: 'eth1' }], 'ovs-db': { other_config: { 'bond-primary': 'eth1' } } });
  });

  it('a bond without networks still gets its bridge; an unused NIC stays down', () => {
    const plan = planHost(asOvs(partialBond()));
    expect(plan.state.interfaces.find((i) => i.name === 'eth0')?.controller).toBe('ovsbr1');
    expect(plan.state.interfaces.find((i) => i.name === 'eth1')?.controller).toBe('ovsbr0');
    const cfg = asOvs(activeBackupVlanBridgeMgmt());
    cfg.nics.push({ ...cfg.nics[0]!, id: 9, mac: mac(9), name: 'eth9' });
    expect(planHost(cfg).state.interfaces.find((i) => i.name === 'eth9')?.state).toBe('down');
  });

  it('steps: modules, NIC MTUs, bridge, bond, internal ports with VLAN, MTU and MAC, limits, then addresses', () => {
    const steps = planHost(ovsLacpTrunkHybrid()).steps;
    const ops = steps.map((s) => `${s.op}:${'iface' in s ? s.iface : ''}${'port' in s ? `/${s.port}` : ''}`);
    expect(ops.indexOf('ovs-bridge-create:ovsbr0')).toBeLessThan(ops.indexOf('ovs-bond-add:ovsbr0'));
    expect(ops.indexOf('link-up:eth0')).toBeLessThan(ops.indexOf('ovs-bond-add:ovsbr0'));
    expect(ops.indexOf('ovs-internal-add:ovsbr0/storage')).toBeLessThan(ops.indexOf('qos-limit:storage'));
    expect(ops.indexOf('qos-limit:storage')).toBeLessThan(ops.indexOf('addr-add:storage'));
    expect(steps.find((s) => s.op === 'ovs-internal-add' && s.port === 'vmhybrid')).toEqual({
      op: 'ovs-internal-add',
      iface: 'ovsbr0',
      port: 'vmhybrid',
      vlanMode: 'native-untagged',
      tag: 400,
      trunks: [401, 402],
      mtu: 1500,
      mac: mac(1),
    });
    expect(steps.find((s) => s.op === 'ovs-bond-add')).toEqual({
      op: 'ovs-bond-add',
      iface: 'ovsbr0',
      bond: 'bond0',
      ports: ['eth0', 'eth1'],
      settings: {
        bond_mode: 'balance-tcp',
        lacp: 'active',
        bond_updelay: '200',
        'other_config:bond-detect-mode': 'miimon',
        'other_config:bond-miimon-interval': '100',
        'other_config:lacp-time': 'fast',
      },
    });
    expect(steps.filter((s) => s.op === 'qos-limit')).toEqual([
      { op: 'qos-limit', iface: 'storage', direction: 'egress', via: 'ovs', maxRate: 1_000_000, maxBurst: 100_000 },
      { op: 'qos-limit', iface: 'storage', direction: 'ingress', via: 'ovs', maxRate: 500_000, maxBurst: 50_000 },
    ]);
  });
});

describe('planHost QoS on linux', () => {
  it('limits sit on the device that carries the network: the VLAN device, or the bridge of a bridged network', () => {
    const plan = planHost(linuxQos());
    expect(plan.state.interfaces.find((i) => i.name === 'bond0.200')?.qos).toEqual({
      egress: { 'max-rate': 200_000, 'max-burst': 20_000 },
      ingress: { 'max-rate': 100_000, 'max-burst': 10_000 },
    });
    expect(plan.state.interfaces.find((i) => i.name === 'vm')?.qos).toEqual({ egress: { 'max-rate': 50_000, 'max-burst': 5_000 } });
    expect(plan.steps[0]).toEqual({ op: 'load-modules', modules: ['bonding', '8021q', 'bridge', 'sch_tbf', 'sch_ingress', 'cls_matchall', 'act_police'] });
    expect(plan.steps.filter((s) => s.op === 'qos-limit').map((s) => s.op === 'qos-limit' && `${s.iface} ${s.direction} ${s.via}`)).toEqual([
      'bond0.200 egress tc',
      'bond0.200 ingress tc',
      'vm egress tc',
    ]);
  });

  it('no QoS, no trace in the plan (linux plans read as before)', () => {
    const cfg = hostConfig({ networks: [network('mgmt', { role: 'management' })], nics: undefined });
    cfg.cluster = cluster();
    cfg.attachments = [attachOnNic(cfg.networks[0]!, mac(1), { method: 'dhcp' }, { qos: {} })];
    const text = formatPlan(planHost(cfg), 'json');
    expect(text).not.toMatch(/qos|switchType|ovs/);
  });
});
