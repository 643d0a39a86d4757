// Happy paths of every resource through HTTP, against the real engine and store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Harness, call, errorOf, mac, report, startHarness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;
const arr = (v: unknown): Obj[] => v as Obj[];

async function ok(method: string, path: string, body?: unknown, status = method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200): Promise<unknown> {
  const r = await call(h, method, path, body === undefined ? {} : { body });
  if (r.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${r.status}: ${r.text}`);
  if (status === 204) expect(r.text).toBe('');
  else expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  return r.json;
}

describe('CRUD through HTTP', () => {
  it('clusters: create, list, get by name and id, update, delete', async () => {
    const created = obj(await ok('POST', '/api/v1/clusters', { name: 'prod', description: 'production', defaults: { dnsServers: ['10.0.0.53'] } }));
    expect(created).toMatchObject({ name: 'prod', description: 'production', isDefault: false, defaults: { dnsServers: ['10.0.0.53'], dnsSearch: [] } });
    expect(arr(await ok('GET', '/api/v1/clusters')).map((c) => c.name).sort()).toEqual(['default', 'prod']);
    expect(await ok('GET', '/api/v1/clusters/prod')).toEqual(created);
    expect(await ok('GET', `/api/v1/clusters/${String(created.id)}`)).toEqual(created);
    // creating a cluster created its management network too
    expect(arr(await ok('GET', '/api/v1/clusters/prod/networks')).map((n) => [n.name, n.role])).toEqual([['mgmt', 'management']]);

    const patched = obj(await ok('PATCH', '/api/v1/clusters/prod', { description: 'prod v2', defaults: { dnsSearch: ['example.com'] } }));
    expect(patched).toMatchObject({ name: 'prod', description: 'prod v2', defaults: { dnsSearch: ['example.com'] } });

    await ok('DELETE', '/api/v1/clusters/prod');
    const gone = await call(h, 'GET', '/api/v1/clusters/prod');
    expect(gone.status).toBe(404);
    expect(errorOf(gone).code).toBe('CLUSTER_NOT_FOUND');
  });

  it('networks: create, list, get, update, delete', async () => {
    await ok('POST', '/api/v1/clusters', { name: 'prod' });
    const vm = obj(await ok('POST', '/api/v1/clusters/prod/networks', { name: 'vmnet', vlan: 100, bridged: true, role: 'vm', label: 'vms' }));
    expect(vm).toMatchObject({ name: 'vmnet', vlan: 100, mtu: 1500, bridged: true, role: 'vm', label: 'vms', required: false });
    await ok('POST', '/api/v1/clusters/prod/networks', { name: 'storage', vlan: 200, mtu: 9000, role: 'storage' });
    expect(arr(await ok('GET', '/api/v1/clusters/prod/networks')).map((n) => n.name).sort()).toEqual(['mgmt', 'storage', 'vmnet']);
    expect(await ok('GET', '/api/v1/clusters/prod/networks/vmnet')).toEqual(vm);
    expect(await ok('GET', `/api/v1/clusters/prod/networks/${String(vm.id)}`)).toEqual(vm);
    expect(await ok('PATCH', '/api/v1/clusters/prod/networks/vmnet', { description: 'guests', label: null })).toMatchObject({ description: 'guests', label: null, vlan: 100 });
    await ok('DELETE', '/api/v1/clusters/prod/networks/storage');
    const gone = await call(h, 'GET', '/api/v1/clusters/prod/networks/storage');
    expect(gone.status).toBe(404);
    expect(errorOf(gone).code).toMatch(/_NOT_FOUND$/);
  });

  it('a full host: create, inventory, NICs, bond, attachments, check, plan as JSON and YAML, then tear down', async () => {
    await ok('POST', '/api/v1/clusters', { name: 'prod', defaults: { dnsServers: ['10.0.0.53'] } });
    await ok('POST', '/api/v1/clusters/prod/networks', { name: 'vmnet', vlan: 100, bridged: true, role: 'vm' });
    await ok('POST', '/api/v1/clusters/prod/networks', { name: 'storage', vlan: 200, role: 'storage' });

    const host = obj(await ok('POST', '/api/v1/hosts', { name: 'blade1.example.com', cluster: 'prod', bootMac: mac(1), custom: { 'rack/slot': '3' } }));
    expect(host).toMatchObject({ name: 'blade1.example.com', cluster: 'prod', state: 'new', bootMac: mac(1), custom: { 'rack/slot': '3' } });
    const hp = '/api/v1/hosts/blade1.example.com';
    expect(await ok('GET', hp)).toMatchObject({ id: host.id, name: 'blade1.example.com' });
    expect(await ok('GET', `/api/v1/hosts/${String(host.id)}`)).toMatchObject({ id: host.id });
    expect(arr(await ok('GET', '/api/v1/hosts?cluster=prod')).map((x) => x.name)).toEqual(['blade1.example.com']);
    expect(arr(await ok('GET', '/api/v1/hosts?cluster=default'))).toEqual([]);
    expect(arr(await ok('GET', '/api/v1/hosts?state=new')).map((x) => x.name)).toEqual(['blade1.example.com']);
    expect(arr(await ok('GET', '/api/v1/hosts?state=active'))).toEqual([]);
    expect(await ok('PATCH', hp, { custom: { 'rack/slot': '4', owner: 'ops' } })).toMatchObject({ custom: { 'rack/slot': '4', owner: 'ops' } });

    // the blade reports its NICs
    const rec = obj(await ok('POST', `${hp}/inventory`, report([1, 2, 3, 4]), 200));
    expect(rec.enrolled).toBe(false);
    expect(arr(rec.changes).filter((c) => c.kind === 'nic-added')).toHaveLength(4);
    expect(obj(rec.host).name).toBe('blade1.example.com');

    // NICs
    const nics = arr(await ok('GET', `${hp}/nics`));
    expect(nics.map((n) => n.name)).toEqual(['eth0', 'eth1', 'eth2', 'eth3']);
    expect(await ok('GET', `${hp}/nics/eth3`)).toMatchObject({ mac: mac(4), name: 'eth3' });
    expect(await ok('GET', `${hp}/nics/${mac(4)}`)).toMatchObject({ name: 'eth3' });
    expect(await ok('PATCH', `${hp}/nics/eth3`, { labels: ['spare'] })).toMatchObject({ name: 'eth3', labels: ['spare'] });

    // bonds
    const bond = obj(await ok('POST', `${hp}/bonds`, { mode: 'active-backup', members: ['eth1', 'eth2'], options: { miimon: 100 } }));
    expect(bond).toMatchObject({ name: 'bond0', mode: 'active-backup', options: { miimon: 100 }, partial: false });
    expect(arr(await ok('GET', `${hp}/bonds`)).map((b) => b.name)).toEqual(['bond0']);
    expect(await ok('GET', `${hp}/bonds/bond0`)).toEqual(bond);
    expect(await ok('PATCH', `${hp}/bonds/bond0`, { options: { miimon: 200, updelay: 400 } })).toMatchObject({ options: { miimon: 200, updelay: 400 } });

    // attachments
    const vmAtt = obj(await ok('POST', `${hp}/attachments`, { network: 'vmnet', interface: 'bond0' }));
    expect(vmAtt).toMatchObject({ network: 'vmnet', interface: { kind: 'bond', name: 'bond0' } });
    const stAtt = obj(
      await ok('POST', `${hp}/attachments`, { network: 'storage', interface: 'bond0', ipv4: { method: 'static', address: '10.20.0.5', prefix: 24 }, custom: { zone: 'a' } }),
    );
    expect(stAtt).toMatchObject({ network: 'storage', ipv4: { method: 'static', address: '10.20.0.5', prefix: 24 }, custom: { zone: 'a' } });
    expect(arr(await ok('GET', `${hp}/attachments`)).map((a) => a.network).sort()).toEqual(['mgmt', 'storage', 'vmnet']);
    expect(await ok('GET', `${hp}/attachments/storage`)).toEqual(stAtt);
    expect(await ok('GET', `${hp}/attachments/${String(stAtt.id)}`)).toEqual(stAtt);
    expect(await ok('PATCH', `${hp}/attachments/storage`, { ipv4: { method: 'static', address: '10.20.0.6', prefix: 24, gateway: null } })).toMatchObject({
      ipv4: { address: '10.20.0.6' },
    });

    // findings and the plan
    expect(Array.isArray(await ok('GET', `${hp}/check`))).toBe(true);
    const plan = obj(await ok('GET', `${hp}/plan`));
    expect(plan).toMatchObject({ host: 'blade1.example.com', cluster: 'prod' });
    expect(await ok('GET', `${hp}/plan?format=json`)).toEqual(plan);
    const yaml = await call(h, 'GET', `${hp}/plan?format=yaml`);
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parseYaml(yaml.text)).toEqual(plan);
    const names = arr(obj(plan.state).interfaces).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['bond0', 'eth1', 'eth2']));

    // tear down, child objects first
    await ok('DELETE', `${hp}/attachments/storage`);
    expect((await call(h, 'GET', `${hp}/attachments/storage`)).status).toBe(404);
    await ok('DELETE', `${hp}/attachments/vmnet`);
    await ok('DELETE', `${hp}/bonds/bond0`);
    expect(arr(await ok('GET', `${hp}/bonds`))).toEqual([]);
    await ok('DELETE', hp);
    const gone = await call(h, 'GET', hp);
    expect(gone.status).toBe(404);
    expect(errorOf(gone).code).toBe('HOST_NOT_FOUND');
    await ok('DELETE', '/api/v1/clusters/prod/networks/vmnet');
    await ok('DELETE', '/api/v1/clusters/prod');
  });

  it('POST /inventory enrols an unknown machine (201) and finds it again by MAC (200)', async () => {
    const first = await call(h, 'POST', '/api/v1/inventory', { body: report([7, 8]) });
    expect(first.status).toBe(201);
    const r1 = obj(first.json);
    expect(r1.enrolled).toBe(true);
    expect(obj(r1.host)).toMatchObject({ cluster: 'default', bootMac: mac(7) });

    const again = await call(h, 'POST', '/api/v1/inventory', { body: report([7, 8]) });
    expect(again.status).toBe(200);
    const r2 = obj(again.json);
    expect(r2.enrolled).toBe(false);
    expect(obj(r2.host).id).toBe(obj(r1.host).id);
    expect(r2.changes).toEqual([]);
  });
});
