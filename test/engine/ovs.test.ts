// The engine side of issue 8: a cluster's switch type, port types and attachment QoS, through the store.
import { beforeEach, describe, expect, it } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import type { InventoryReport } from '../../src/domain/model.js';
import type { OpenedEngine } from '../../src/engine/index.js';
import { rejectsWithoutWrites, useMemoryEngine } from '../support/engine-fixture.js';

const mac = (n: number): string => `52:54:00:00:03:${n.toString(16).padStart(2, '0')}`;
const report = (macs: number[]): InventoryReport => ({
  bootMac: mac(macs[0] as number),
  nics: macs.map((n) => ({ mac: mac(n), name: `eth${n - 1}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: null })),
});

const engine = useMemoryEngine();
let opened: OpenedEngine;
beforeEach(() => {
  opened = engine.current;
});

const rejects = (fn: () => unknown, code: string): TabulaError => rejectsWithoutWrites(opened, fn, code);

/** Two hosts in cluster rack1 (linux), each with an 802.3ad bond carrying a VLAN network. */
function rack(): void {
  const { engine } = opened;
  engine.createCluster({ name: 'rack1', isDefault: true });
  engine.createNetwork('rack1', { name: 'storage', vlan: 200 });
  for (const [name, first] of [
    ['blade1', 1],
    ['blade2', 4],
  ] as const) {
    const h = engine.reportInventory(null, report([first, first + 1, first + 2])).host;
    engine.updateHost(h.id, { name });
    engine.createBond(name, { mode: '802.3ad', members: ['eth' + first, 'eth' + (first + 1)], options: { miimon: 100, lacp_rate: 'fast' } });
    engine.createAttachment(name, { network: 'storage', interface: 'bond0', ipv4: { method: 'static', address: `10.20.0.${first}`, prefix: 24 } });
  }
}

describe('cluster switch type', () => {
  it('defaults to linux; changing it re-plans and bumps every host of the cluster, and nothing else changes', () => {
    rack();
    const { engine } = opened;
    expect(engine.getCluster('rack1').switchType).toBe('linux');
    const before = engine.listHosts({ cluster: 'rack1' }).map((h) => h.generation);
    const bondsBefore = engine.listBonds('blade1');
    const c = engine.updateCluster('rack1', { switchType: 'ovs' });
    expect(c.switchType).toBe('ovs');
    expect(engine.listHosts({ cluster: 'rack1' }).map((h) => h.generation)).toEqual(before.map((g) => g + 1));
    expect(engine.listBonds('blade1')).toEqual(bondsBefore);
    const plan = engine.getPlan('blade1');
    expect(plan.switchType).toBe('ovs');
    expect(plan.state.interfaces.find((i) => i.type === 'ovs-bridge')?.bridge?.port[0]?.['link-aggregation']).toMatchObject({
      mode: 'balance-tcp',
      lacp: 'active',
    });
    // the same type again changes nothing
    engine.updateCluster('rack1', { switchType: 'ovs' });
    expect(engine.listHosts({ cluster: 'rack1' }).map((h) => h.generation)).toEqual(before.map((g) => g + 1));
    // and back
    engine.updateCluster('rack1', { switchType: 'linux' });
    expect(engine.getPlan('blade1').switchType).toBeUndefined();
    expect(engine.listHosts({ cluster: 'rack1' }).map((h) => h.generation)).toEqual(before.map((g) => g + 2));
  });

  it('is refused, writing nothing, when a host has a bond the target switch type cannot build', () => {
    rack();
    const { engine } = opened;
    engine.updateBond('blade2', 'bond0', { mode: 'balance-xor', options: { miimon: 100 } });
    const e = rejects(() => engine.updateCluster('rack1', { switchType: 'ovs' }), 'BOND_MODE_SWITCH_TYPE');
    expect(e.message).toMatch(/bond 'bond0': mode balance-xor is a Linux bonding mode/);
    rejects(() => engine.updateCluster('rack1', { switchType: 'bridge' as never }), 'SWITCH_TYPE_INVALID');
    rejects(() => engine.createCluster({ name: 'x', switchType: 'vde' as never }), 'SWITCH_TYPE_INVALID');
  });

  it('OVS bond modes and options only in ovs clusters', () => {
    rack();
    const { engine } = opened;
    rejects(() => engine.updateBond('blade1', 'bond0', { options: { lacp: 'active' } }), 'BOND_OPTION_SWITCH_TYPE');
    rejects(() => engine.updateBond('blade1', 'bond0', { mode: 'balance-slb', options: {} }), 'BOND_MODE_SWITCH_TYPE');
    engine.updateCluster('rack1', { switchType: 'ovs' });
    rejects(() => engine.updateBond('blade1', 'bond0', { mode: 'balance-tcp', options: {} }), 'BOND_LACP_REQUIRED');
    const b = engine.updateBond('blade1', 'bond0', { mode: 'balance-tcp', options: { lacp: 'passive' } });
    expect(b).toMatchObject({ mode: 'balance-tcp', options: { lacp: 'passive' } });
    // going back to linux would leave a bond Linux cannot build
    rejects(() => engine.updateCluster('rack1', { switchType: 'linux' }), 'BOND_MODE_SWITCH_TYPE');
  });
});

describe('VM-facing port types', () => {
  it('trunk and hybrid networks need ovs, and a linux switch is refused while one exists', () => {
    rack();
    const { engine } = opened;
    rejects(() => engine.createNetwork('rack1', { name: 'trunk', bridged: true, portType: 'trunk', trunks: [300] }), 'PORT_TYPE_NEEDS_OVS');
    engine.updateCluster('rack1', { switchType: 'ovs' });
    const n = engine.createNetwork('rack1', { name: 'trunk', bridged: true, portType: 'trunk', trunks: [300, 301] });
    expect(n).toMatchObject({ portType: 'trunk', trunks: [300, 301] });
    engine.createAttachment('blade1', { network: 'trunk', interface: 'bond0' });
    rejects(() => engine.updateNetwork('rack1', 'trunk', { trunks: [200] }), 'TRUNK_CONTAINS_ACCESS_TAG');
    rejects(() => engine.updateCluster('rack1', { switchType: 'linux' }), 'PORT_TYPE_NEEDS_OVS');
    const hybrid = engine.updateNetwork('rack1', 'trunk', { portType: 'hybrid', vlan: 310 });
    expect(hybrid).toMatchObject({ portType: 'hybrid', vlan: 310, trunks: [300, 301] });
    const port = engine.getPlan('blade1').state.interfaces.find((i) => i.type === 'ovs-bridge')?.bridge?.port.find((p) => p.name === 'trunk');
    expect(port?.vlan).toEqual({ mode: 'trunk', tag: 310, 'enable-native': true, 'trunk-tags': [{ id: 300 }, { id: 301 }] });
  });
});

describe('attachment QoS', () => {
  it('is stored, shown, planned, replaced and removed; each change bumps the generation', () => {
    rack();
    const { engine } = opened;
    const gen = engine.getHost('blade1').generation;
    const a = engine.updateAttachment('blade1', 'storage', { qos: { egress: { maxRate: 100_000, maxBurst: 10_000 } } });
    expect(a.qos).toEqual({ egress: { maxRate: 100_000, maxBurst: 10_000 } });
    expect(engine.getAttachment('blade1', 'storage').qos).toEqual(a.qos);
    expect(engine.getHost('blade1').generation).toBe(gen + 1);
    expect(engine.getPlan('blade1').state.interfaces.find((i) => i.name === 'bond0.200')?.qos).toEqual({ egress: { 'max-rate': 100_000, 'max-burst': 10_000 } });
    engine.updateAttachment('blade1', 'storage', { ipv4: { method: 'static', address: '10.20.0.9', prefix: 24 } });
    expect(engine.getAttachment('blade1', 'storage').qos).toEqual(a.qos); // kept by other changes
    engine.updateAttachment('blade1', 'storage', { qos: {} });
    expect(engine.getAttachment('blade1', 'storage').qos).toEqual({});
    expect(engine.getPlan('blade1').state.interfaces.find((i) => i.name === 'bond0.200')?.qos).toBeUndefined();
  });

  it('bad limits are refused with their code and nothing written', () => {
    rack();
    const { engine } = opened;
    rejects(() => engine.updateAttachment('blade1', 'storage', { qos: { ingress: { maxRate: 100_000, maxBurst: 10 } } }), 'QOS_BURST_TOO_SMALL');
    rejects(() => engine.updateAttachment('blade1', 'storage', { qos: { egress: { maxRate: -5, maxBurst: 10 } } }), 'QOS_RATE_INVALID');
    engine.createNetwork('rack1', { name: 'backup', vlan: 300 });
    rejects(
      () => engine.createAttachment('blade2', { network: 'backup', interface: 'bond0', qos: { egress: { maxRate: 1000, maxBurst: 1_000_000 } } }),
      'QOS_BURST_TOO_LARGE',
    );
    const ok = engine.createAttachment('blade2', { network: 'backup', interface: 'bond0', qos: { ingress: { maxRate: 1000, maxBurst: 100 } } });
    expect(ok.qos).toEqual({ ingress: { maxRate: 1000, maxBurst: 100 } });
  });
});
