// A blade whose stored configuration breaks a rule gets a safe fallback plan (only the management
// network, on its boot NIC, with DHCP), marked by X-Tabula-Fallback, and never an invalid plan.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fallbackPlan } from '../../../src/boot/http/index.js';
import { validateHost } from '../../../src/domain/validate.js';
import { openEngine } from '../../../src/engine/index.js';
import { type BootHarness, bootHost, errorCode, hyp, inventory, mac, send, startBootHarness } from './helpers.js';

let h: BootHarness;
beforeAll(async () => {
  h = await startBootHarness();
});
afterAll(async () => {
  await h.close();
});

describe('the fallback plan over HTTP', () => {
  it('a host made invalid by its inventory gets only the management network on the boot NIC', async () => {
    const { hostId, token, mac: m } = await bootHost(h, [1, 2, 3]);
    const e = h.opened.engine;
    e.createNetwork('default', { name: 'storage', vlan: 20, mtu: 1500 });
    e.createBond(hostId, { mode: 'active-backup', members: ['eth1', 'eth2'] });
    e.createAttachment(hostId, { network: 'storage', interface: 'bond0', ipv4: { method: 'static', address: '10.20.0.11', prefix: 24 } });
    const good = await send(h, 'GET', `/boot/${hyp(m)}/config`, { token });
    expect(good.status).toBe(200);
    expect(good.headers.get('x-tabula-fallback')).toBeNull();
    expect(good.text).toContain('step bond-create bond0 active-backup');
    expect(good.text).toContain('step vlan-create bond0.20 bond0 20');

    // the hardware now reports eth2 as "bond0": the configuration breaks DUPLICATE_INTERFACE_NAME
    const renamed = inventory([1, 2, 3]);
    (renamed.nics[2] as { name: string }).name = 'bond0';
    const inv = await send(h, 'POST', `/boot/${hyp(m)}/inventory`, { token, json: renamed });
    expect(inv.status).toBe(200);
    const plan = await send(h, 'GET', '/api/v1/hosts/' + hostId + '/plan', { token: h.adminToken });
    expect(plan.status).toBe(422);
    expect(errorCode(plan)).toBe('HOST_CONFIG_INVALID');

    const r = await send(h, 'GET', `/boot/${hyp(m)}/config`, { token });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tabula-fallback')).toBe('DUPLICATE_INTERFACE_NAME');
    const generation = e.getHost(hostId).generation;
    expect(r.headers.get('x-tabula-generation')).toBe(String(generation));
    const steps = r.text.split('\n').filter((l) => l.startsWith('step '));
    expect(steps).toEqual(['step dhcp eth0', `step done generation ${generation}`]);
    expect(r.text.split('\n').filter((l) => l.startsWith('"$IP"'))).toEqual(["\"$IP\" link set dev 'eth0' mtu 1500", "\"$IP\" link set dev 'eth0' up"]);
    expect(r.text).not.toMatch(/bond0|10\.20\.0\.11|eth1|eth2/);
    expect(spawnSync('sh', ['-n'], { input: r.text }).status).toBe(0);

    // verifying a fallback does not make the host look in sync
    const rep = await send(h, 'POST', `/boot/${hyp(m)}/report`, { token, json: { generation, verified: true } });
    expect(rep.status).toBe(200);
    expect(rep.json).toMatchObject({ fallback: true, appliedGeneration: null, inSync: false });
    expect(e.getHost(hostId).appliedGeneration).toBeNull();
    const boot = h.services.store.listBoots(hostId, 1)[0];
    expect(boot?.events.filter((x) => x.stage === 'config').map((x) => x.data)).toEqual([
      { generation: generation - 1, fallback: false },
      { generation, fallback: true, reason: 'DUPLICATE_INTERFACE_NAME' },
    ]);
    expect(boot?.events.find((x) => x.stage === 'verified')?.data).toEqual({ generation, fallback: true });
  });

  it('a rolled-back report records the stage and leaves the applied generation alone', async () => {
    const { hostId, token, mac: m } = await bootHost(h, [0x21, 0x22]);
    const generation = h.opened.engine.getHost(hostId).generation;
    const r = await send(h, 'POST', `/boot/${hyp(m)}/report`, { token, json: { generation, verified: false, rolledBack: true, checks: [{ name: 'ping-engine', ok: false, detail: 'timeout' }] } });
    expect(r.status).toBe(200);
    expect(h.opened.engine.getHost(hostId).appliedGeneration).toBeNull();
    const events = h.services.store.listBoots(hostId, 1)[0]?.events ?? [];
    expect(events.slice(-2)).toMatchObject([
      { stage: 'report', data: { verified: false, rolledBack: true, failed: 1, failedChecks: 'ping-engine' } },
      { stage: 'rolled-back', data: { generation, failed: 1 } },
    ]);
  });
});

describe('fallbackPlan', () => {
  it('keeps the management network as the cluster defines it when that validates', () => {
    const o = openEngine({ dbPath: ':memory:' });
    try {
      const e = o.engine;
      e.createCluster({ name: 'rack1', managementNetwork: { name: 'ovirtmgmt', vlan: 100, mtu: 9000, bridged: true } });
      e.createNetwork('rack1', { name: 'vms', vlan: 200, bridged: true, label: 'vm' });
      const host = e.createHost({ name: 'blade1', cluster: 'rack1', custom: { 'sysctl/net.ipv4.ip_forward': '1' } });
      e.reportInventory(host.id, inventory([1, 2, 3]));
      e.updateNic(host.id, 'eth1', { labels: ['vm'] });
      const safe = fallbackPlan(o.repo.loadHostConfig(host.id), mac(1));
      expect(safe).not.toBeNull();
      expect(validateHost(safe!.config).filter((v) => v.severity === 'error')).toEqual([]);
      expect(safe!.plan.state.networks).toEqual({ ovirtmgmt: { role: 'management', vlan: 100, mtu: 9000, bridged: true, interface: 'ovirtmgmt', base: 'eth0' } });
      expect(safe!.plan.state['custom-properties']).toEqual({});
      expect(safe!.plan.state.interfaces.filter((i) => i.state === 'up').map((i) => i.name)).toEqual(['eth0', 'eth0.100', 'ovirtmgmt']);
    } finally {
      o.close();
    }
  });

  it('falls back to untagged DHCP on the boot NIC when the defined network cannot be built, and to null without a boot NIC', () => {
    const o = openEngine({ dbPath: ':memory:' });
    try {
      const e = o.engine;
      e.createCluster({ name: 'rack1', managementNetwork: { name: 'mgmt', vlan: 100, bridged: true } });
      const host = e.createHost({ name: 'blade1', cluster: 'rack1' });
      expect(fallbackPlan(o.repo.loadHostConfig(host.id), mac(1))).toBeNull();
      // a NIC named like the management bridge: the bridge cannot exist
      const report = inventory([1, 2]);
      (report.nics[1] as { name: string }).name = 'mgmt';
      e.reportInventory(host.id, report);
      expect(() => e.getPlan(host.id)).toThrow(/invalid configuration/);
      const safe = fallbackPlan(o.repo.loadHostConfig(host.id), mac(1));
      expect(safe!.plan.state.networks).toEqual({ mgmt: { role: 'management', vlan: null, mtu: 1500, bridged: false, interface: 'eth0', base: 'eth0' } });
      expect(safe!.plan.steps.filter((s) => s.op === 'dhcp')).toEqual([{ op: 'dhcp', iface: 'eth0', family: 4 }]);
    } finally {
      o.close();
    }
  });
});
