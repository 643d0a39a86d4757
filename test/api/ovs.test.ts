// Issue 8 through HTTP: a cluster's switchType, a network's port type, a bond's lacp and an
// attachment's qos reach the engine; wrong shapes are 400, broken rules 422, each writing nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, call, errorOf, report, startHarness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

type Obj = Record<string, unknown>;

async function ok(method: string, path: string, body?: unknown, status = method === 'POST' ? 201 : 200): Promise<Obj> {
  const r = await call(h, method, path, body === undefined ? {} : { body });
  if (r.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${r.status}: ${r.text}`);
  return r.json as Obj;
}

describe('Open vSwitch and QoS through HTTP', () => {
  it('switches the cluster to ovs, builds an LACP bond, a hybrid network and a limited attachment, and plans them', async () => {
    const host = (await ok('POST', '/api/v1/inventory', report([1, 2, 3]), 201)).host as Obj;
    const gen = host.generation as number;
    expect((await ok('PATCH', '/api/v1/clusters/default', { switchType: 'ovs' })).switchType).toBe('ovs');
    expect((await ok('GET', `/api/v1/hosts/${String(host.id)}`)).generation).toBe(gen + 1);
    await ok('POST', `/api/v1/hosts/${String(host.id)}/bonds`, { mode: 'balance-tcp', members: ['eth1', 'eth2'], options: { lacp: 'active', lacp_rate: 'fast' } });
    const net = await ok('POST', '/api/v1/clusters/default/networks', { name: 'vmhybrid', vlan: 400, bridged: true, portType: 'hybrid', trunks: [401, 402] });
    expect(net).toMatchObject({ portType: 'hybrid', trunks: [401, 402] });
    const att = await ok('POST', `/api/v1/hosts/${String(host.id)}/attachments`, {
      network: 'vmhybrid',
      interface: 'bond0',
      qos: { egress: { maxRate: 100_000, maxBurst: 10_000 } },
    });
    expect(att.qos).toEqual({ egress: { maxRate: 100_000, maxBurst: 10_000 } });
    const plan = await ok('GET', `/api/v1/hosts/${String(host.id)}/plan`);
    expect(plan.switchType).toBe('ovs');
    const state = plan.state as { interfaces: { name: string; type: string; qos?: unknown }[] };
    expect(state.interfaces.find((i) => i.name === 'vmhybrid')).toMatchObject({ type: 'ovs-interface', qos: { egress: { 'max-rate': 100_000, 'max-burst': 10_000 } } });
  });

  it('refuses unknown values with 400 and broken rules with 422, writing nothing', async () => {
    await ok('GET', '/api/v1/clusters'); // the token's first use is recorded; after that it is quiet for a minute
    const before = h.opened.repo.dumpTables();
    const bad = await call(h, 'PATCH', '/api/v1/clusters/default', { body: { switchType: 'bridge' } });
    expect([bad.status, errorOf(bad).code]).toEqual([400, 'INVALID_REQUEST']);
    const shape = await call(h, 'POST', '/api/v1/clusters/default/networks', { body: { name: 'x', portType: 'tagged' } });
    expect([shape.status, errorOf(shape).code]).toEqual([400, 'INVALID_REQUEST']);
    const rule = await call(h, 'POST', '/api/v1/clusters/default/networks', { body: { name: 'trunk', bridged: true, portType: 'trunk', trunks: [300] } });
    expect([rule.status, errorOf(rule).code]).toEqual([422, 'PORT_TYPE_NEEDS_OVS']);
    expect(h.opened.repo.dumpTables()).toEqual(before);
    const host = (await ok('POST', '/api/v1/inventory', report([1, 2]), 201)).host as Obj;
    const qos = await call(h, 'PATCH', `/api/v1/hosts/${String(host.id)}/attachments/mgmt`, { body: { qos: { egress: { maxRate: 1000 } } } });
    expect([qos.status, errorOf(qos).code]).toEqual([400, 'INVALID_REQUEST']);
    const small = await call(h, 'PATCH', `/api/v1/hosts/${String(host.id)}/attachments/mgmt`, { body: { qos: { ingress: { maxRate: 1_000_000, maxBurst: 100 } } } });
    expect([small.status, errorOf(small).code]).toEqual([422, 'QOS_BURST_TOO_SMALL']);
  });
});
