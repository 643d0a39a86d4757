// Refused requests leave the database exactly as it was (the real engine and store, never a mock),
// and every refusal has the one error shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallOptions, type CallResult, type Harness, call, errorOf, mac, report, startHarness } from './helpers.js';

let h: Harness;
const HP = '/api/v1/hosts/blade1';

beforeAll(async () => {
  h = await startHarness();
  // A populated database, so that "unchanged" means something.
  const steps: [string, string, unknown][] = [
    ['POST', '/api/v1/clusters', { name: 'prod' }],
    ['POST', '/api/v1/clusters/prod/networks', { name: 'vmnet', vlan: 100, bridged: true, role: 'vm' }],
    ['POST', '/api/v1/hosts', { name: 'blade1', cluster: 'prod', bootMac: mac(1) }],
    ['POST', `${HP}/inventory`, report([1, 2, 3, 4])],
    ['POST', `${HP}/bonds`, { mode: 'active-backup', members: ['eth1', 'eth2'] }],
    ['POST', `${HP}/attachments`, { network: 'vmnet', interface: 'bond0' }],
  ];
  for (const [m, p, body] of steps) {
    const r = await call(h, m, p, { body });
    if (r.status >= 300) throw new Error(`setup ${m} ${p}: ${r.status} ${r.text}`);
  }
});
afterAll(async () => {
  await h.close();
});

/** Sends one request and asserts that the database is byte-for-byte the same afterwards. */
async function unchanged(method: string, path: string, o: CallOptions): Promise<CallResult> {
  // An authenticated request first: the token's last-use stamp (written at most once a minute) is
  // then fresh, so the only write the request under test could cause is its own.
  expect((await call(h, 'GET', '/api/v1/clusters')).status).toBe(200);
  const before = h.opened.repo.dumpTables();
  expect(Object.keys(before).length).toBeGreaterThan(3);
  const r = await call(h, method, path, o);
  expect(h.opened.repo.dumpTables()).toEqual(before);
  return r;
}

interface Issue {
  in: string;
  path: string;
  message: string;
}
const issuesOf = (r: CallResult): Issue[] => errorOf(r).details.issues as Issue[];

describe('wrong types → 400 INVALID_REQUEST, nothing written', () => {
  const cases: [string, string, string, unknown, string][] = [
    ['cluster name a number', 'POST', '/api/v1/clusters', { name: 42 }, 'name'],
    ['VLAN a string', 'POST', '/api/v1/clusters/prod/networks', { name: 'n2', vlan: '100' }, 'vlan'],
    ['MTU a float', 'PATCH', '/api/v1/clusters/prod/networks/vmnet', { mtu: 1500.5 }, 'mtu'],
    ['host state not a state', 'PATCH', HP, { state: 'sleeping' }, 'state'],
    ['custom property key with a space', 'PATCH', HP, { custom: { 'bad key': 'x' } }, 'custom.bad key'],
    ['custom property value a number', 'PATCH', HP, { custom: { rack: 3 } }, 'custom.rack'],
    ['bond members a string', 'POST', `${HP}/bonds`, { mode: 'active-backup', members: 'eth3' }, 'members'],
    ['bond miimon negative', 'PATCH', `${HP}/bonds/bond0`, { options: { miimon: -1 } }, 'options.miimon'],
    ['bond arp_ip_target not IPv4', 'PATCH', `${HP}/bonds/bond0`, { options: { arp_interval: 100, arp_ip_target: ['10.0.0.300'] } }, 'options.arp_ip_target.0'],
    ['bond lacp_rate unknown', 'PATCH', `${HP}/bonds/bond0`, { options: { lacp_rate: 'medium' } }, 'options.lacp_rate'],
    ['NIC labels not an array', 'PATCH', `${HP}/nics/eth3`, { labels: 'spare' }, 'labels'],
    ['IPv4 prefix 33', 'PATCH', `${HP}/attachments/vmnet`, { ipv4: { method: 'static', address: '10.0.0.1', prefix: 33 } }, 'ipv4.prefix'],
    ['IPv4 method unknown', 'PATCH', `${HP}/attachments/vmnet`, { ipv4: { method: 'slaac' } }, 'ipv4.method'],
    ['IPv6 prefix 129', 'PATCH', `${HP}/attachments/vmnet`, { ipv6: { method: 'static', address: 'fd00::1', prefix: 129 } }, 'ipv6.prefix'],
    ['inventory NICs not an array', 'POST', `${HP}/inventory`, { bootMac: mac(1), nics: {} }, 'nics'],
    ['inventory NIC carrier a string', 'POST', '/api/v1/inventory', { bootMac: mac(9), nics: [{ mac: mac(9), name: 'eth0', carrier: 'yes' }] }, 'nics.0.carrier'],
    ['body an array', 'POST', '/api/v1/clusters', [{ name: 'x' }], ''],
  ];
  for (const [title, method, path, body, issuePath] of cases) {
    it(title, async () => {
      const r = await unchanged(method, path, { body });
      expect(r.status).toBe(400);
      expect(errorOf(r).code).toBe('INVALID_REQUEST');
      const issues = issuesOf(r);
      expect(issues.length).toBeGreaterThan(0);
      for (const i of issues) {
        expect(i.in).toBe('body');
        expect(typeof i.message).toBe('string');
      }
      expect(issues.map((i) => i.path)).toContain(issuePath);
    });
  }

  it('too many custom properties (257)', async () => {
    const custom = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v']));
    const r = await unchanged('PATCH', HP, { body: { custom } });
    expect(r.status).toBe(400);
    expect(issuesOf(r).map((i) => i.path)).toContain('custom');
  });

  it('an inventory of 1025 NICs', async () => {
    const nics = Array.from({ length: 1025 }, (_, i) => ({ mac: `52:54:00:10:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, name: `eth${i}` }));
    const r = await unchanged('POST', '/api/v1/inventory', { body: { bootMac: nics[0]?.mac, nics } });
    expect(r.status).toBe(400);
    expect(issuesOf(r).map((i) => i.path)).toContain('nics');
  });
});

describe('unknown fields → 400 INVALID_REQUEST, nothing written', () => {
  const cases: [string, string, string, unknown][] = [
    ['top level on create', 'POST', '/api/v1/clusters', { name: 'staging', colour: 'red' }],
    ['top level on patch', 'PATCH', HP, { nickname: 'b1' }],
    ['a NIC patch may only set labels', 'PATCH', `${HP}/nics/eth3`, { labels: [], name: 'eth9' }],
    ['nested in cluster defaults', 'PATCH', '/api/v1/clusters/prod', { defaults: { ntp: ['pool.ntp.org'] } }],
    ['nested in bond options', 'PATCH', `${HP}/bonds/bond0`, { options: { miimon: 100, fail_over_mac: 1 } }],
    ['an address on DHCP', 'PATCH', `${HP}/attachments/vmnet`, { ipv4: { method: 'dhcp', address: '10.0.0.1' } }],
    ['in a reported NIC', 'POST', `${HP}/inventory`, { bootMac: mac(1), nics: [{ mac: mac(1), name: 'eth0', firmware: '1.2' }] }],
    ['a role on the management network of a new cluster', 'POST', '/api/v1/clusters', { name: 'staging', managementNetwork: { name: 'mgmt', role: 'vm' } }],
  ];
  for (const [title, method, path, body] of cases) {
    it(title, async () => {
      const r = await unchanged(method, path, { body });
      expect(r.status).toBe(400);
      expect(errorOf(r).code).toBe('INVALID_REQUEST');
      expect(JSON.stringify(issuesOf(r))).toMatch(/Unrecognized key/);
    });
  }

  it('unknown or malformed query parameters', async () => {
    for (const path of ['/api/v1/hosts?colour=red', '/api/v1/hosts?state=sleeping', '/api/v1/clusters?limit=5', `${HP}/plan?format=xml`, '/api/v1/hosts?cluster=a&cluster=b']) {
      const r = await unchanged('GET', path, {});
      expect(r.status, path).toBe(400);
      expect(errorOf(r).code).toBe('INVALID_REQUEST');
      expect(issuesOf(r).every((i) => i.in === 'query')).toBe(true);
    }
  });
});

describe('transport-level refusals, nothing written', () => {
  it('invalid JSON → 400 INVALID_JSON', async () => {
    for (const raw of ['{"name": "staging"', "{'name': 'staging'}", '"staging"', 'null', '{"name":"staging"} trailing']) {
      const r = await unchanged('POST', '/api/v1/clusters', { raw });
      expect(r.status, raw).toBe(400);
      expect(errorOf(r).code).toBe('INVALID_JSON');
    }
  });

  it('a 2 MiB body → 413 PAYLOAD_TOO_LARGE', async () => {
    const raw = JSON.stringify({ name: 'staging', description: 'x'.repeat(2 * 1024 * 1024) });
    const r = await unchanged('POST', '/api/v1/clusters', { raw });
    expect(r.status).toBe(413);
    expect(errorOf(r).code).toBe('PAYLOAD_TOO_LARGE');
    // ...while a body just under the limit is read (then refused by the engine's own rules)
    const small = await unchanged('POST', '/api/v1/clusters', { raw: JSON.stringify({ name: 'bad name!', description: 'x'.repeat(900 * 1024) }) });
    expect(small.status).toBe(422);
  });

  it('wrong or missing Content-Type on a body route → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const raw = JSON.stringify({ name: 'staging' });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/yaml', 'application/jsonx']) {
      const r = await unchanged('POST', '/api/v1/clusters', { raw, contentType });
      expect(r.status, contentType).toBe(415);
      expect(errorOf(r).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const none = await unchanged('POST', '/api/v1/clusters', { raw: Buffer.from(raw), contentType: null });
    expect(none.status).toBe(415);
    expect(errorOf(none).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    // a charset parameter is fine
    const withCharset = await call(h, 'POST', '/api/v1/clusters/prod/networks', { raw: JSON.stringify({ name: 'n-charset' }), contentType: 'application/json; charset=utf-8' });
    expect(withCharset.status).toBe(201);
    expect((await call(h, 'DELETE', '/api/v1/clusters/prod/networks/n-charset')).status).toBe(204);
  });

  it('a POST with no body at all → 415 (no Content-Type) or 400 (JSON declared, nothing sent)', async () => {
    const r = await unchanged('POST', '/api/v1/clusters', {});
    expect(r.status).toBe(415);
    const declared = await unchanged('POST', '/api/v1/clusters', { raw: '', contentType: 'application/json' });
    expect(declared.status).toBe(400);
    expect(errorOf(declared).code).toBe('INVALID_REQUEST');
  });

  it('unknown routes → 404 ROUTE_NOT_FOUND, wrong methods → 405 METHOD_NOT_ALLOWED', async () => {
    const r = await unchanged('POST', '/api/v1/tokens', { body: { name: 'x' } });
    expect(r.status).toBe(404);
    expect(errorOf(r).code).toBe('ROUTE_NOT_FOUND');
    const m = await unchanged('PUT', '/api/v1/clusters/prod', { body: { name: 'prod' } });
    expect(m.status).toBe(405);
    expect(errorOf(m).code).toBe('METHOD_NOT_ALLOWED');
    expect(m.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
  });
});

describe('domain-rule violations → 4xx with the engine code, nothing written', () => {
  const cases: [string, string, string, unknown, number, string | null][] = [
    ['VLAN 5000', 'POST', '/api/v1/clusters/prod/networks', { name: 'n5000', vlan: 5000 }, 422, 'VLAN_ID_OUT_OF_RANGE'],
    ['VLAN 0 on update', 'PATCH', '/api/v1/clusters/prod/networks/vmnet', { vlan: 0 }, 422, 'VLAN_ID_OUT_OF_RANGE'],
    ['MTU 20', 'POST', '/api/v1/clusters/prod/networks', { name: 'tiny', mtu: 20 }, 422, 'MTU_OUT_OF_RANGE'],
    ['a network name too long for a bridge', 'POST', '/api/v1/clusters/prod/networks', { name: 'a-very-long-network-name', bridged: true }, 422, null],
    ['a duplicate cluster', 'POST', '/api/v1/clusters', { name: 'prod' }, 409, 'DUPLICATE_CLUSTER_NAME'],
    ['deleting a cluster that has hosts', 'DELETE', '/api/v1/clusters/prod', undefined, 409, 'CLUSTER_NOT_EMPTY'],
    ['a bond of one NIC', 'POST', `${HP}/bonds`, { mode: 'active-backup', members: ['eth3'] }, 422, null],
    ['a bond mode that does not exist', 'POST', `${HP}/bonds`, { mode: 'round-robin-ish', members: ['eth3', 'eth0'] }, 422, null],
    ['a member NIC that does not exist', 'PATCH', `${HP}/bonds/bond0`, { members: ['eth1', 'eth7'] }, 422, null],
    ['an inventory with a malformed MAC', 'POST', `${HP}/inventory`, { bootMac: mac(1), nics: [{ mac: 'zz', name: 'eth0' }] }, 422, 'INVALID_MAC'],
    ['an unknown host', 'PATCH', '/api/v1/hosts/nope', { custom: {} }, 404, 'HOST_NOT_FOUND'],
    ['an unknown cluster for a new host', 'POST', '/api/v1/hosts', { name: 'blade9', cluster: 'nope' }, 404, 'CLUSTER_NOT_FOUND'],
  ];
  for (const [title, method, path, body, status, code] of cases) {
    it(title, async () => {
      const r = await unchanged(method, path, body === undefined ? {} : { body });
      const e = errorOf(r);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.status).toBe(status);
      expect(e.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(e.code).not.toBe('INVALID_REQUEST');
      if (code) expect(e.code).toBe(code);
      if (status === 422) expect(Array.isArray(e.details.violations)).toBe(true);
    });
  }
});

describe('a smaller configured body limit', () => {
  it('applies to every body route', async () => {
    const small = await startHarness({ bodyLimit: '1kb' });
    try {
      const before = small.opened.repo.dumpTables();
      const r = await call(small, 'POST', '/api/v1/clusters', { body: { name: 'staging', description: 'x'.repeat(2048) } });
      expect(r.status).toBe(413);
      expect(errorOf(r).code).toBe('PAYLOAD_TOO_LARGE');
      expect(small.opened.repo.dumpTables().clusters).toEqual(before.clusters);
      expect((await call(small, 'POST', '/api/v1/clusters', { body: { name: 'staging' } })).status).toBe(201);
    } finally {
      await small.close();
    }
  });
});
