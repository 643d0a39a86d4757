// GET /api/v1/rack (the console's rack view): one row per host with the last boot's stage, result and
// seconds to verified, an ETag, and 304 for a poll whose If-None-Match still matches. Driven through
// the real boot chain on the same server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootHarness, bootHost, errorCode, hyp, mac, send, startBootHarness } from '../boot/http/helpers.js';
import { cachedRackSummary } from '../../src/api/rack.js';
import { openEngine } from '../../src/engine/index.js';
import { SqliteBootStore } from '../../src/store/boot-store.js';

interface Row {
  name: string;
  cluster: string;
  state: string;
  inSync: boolean;
  generation: number;
  appliedGeneration: number | null;
  lastBoot: { id: number; stage: string; result: string; secondsToVerified: number | null } | null;
}
interface Rack {
  hosts: Row[];
  counts: { hosts: number; inSync: number; booting: number; rolledBack: number };
  timeline: boolean;
}

let h: BootHarness;
const rack = (headers: Record<string, string> = {}, query = '') => send(h, 'GET', `/api/v1/rack${query}`, { token: h.adminToken, headers });
const row = (r: { json: unknown }, name: string): Row => {
  const found = (r.json as Rack).hosts.find((x) => x.name === name);
  if (!found) throw new Error(`no row for ${name}`);
  return found;
};

beforeAll(async () => {
  h = await startBootHarness();
  h.opened.engine.createCluster({ name: 'edge' });
  h.opened.engine.createHost({ name: 'idle', cluster: 'edge' });
});
afterAll(async () => {
  await h.close();
});

describe('GET /api/v1/rack', () => {
  it('needs the API token', async () => {
    const r = await send(h, 'GET', '/api/v1/rack');
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHORIZED');
    const wrong = await send(h, 'GET', '/api/v1/rack', { token: 'not-a-token' });
    expect(wrong.status).toBe(401);
  });

  it('lists a host that never booted with lastBoot null', async () => {
    const r = await rack();
    expect(r.status).toBe(200);
    expect(row(r, 'idle')).toMatchObject({ cluster: 'edge', inSync: false, appliedGeneration: null, lastBoot: null });
    expect((r.json as Rack).timeline).toBe(true);
    expect(r.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
  });

  it('answers 304 without a body while nothing changed, 200 with a new ETag once something did', async () => {
    const first = await rack();
    const etag = first.headers.get('etag') as string;
    const again = await rack({ 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    // A list of tags, weak or not, matches too (RFC 9110).
    expect((await rack({ 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
    expect((await rack({ 'if-none-match': '"other"' })).status).toBe(200);

    h.opened.engine.updateHost('idle', { state: 'maintenance' });
    const changed = await rack({ 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(row(changed, 'idle').state).toBe('maintenance');
  });

  it('follows a boot: booting after the inventory, then verified with its seconds to verified', async () => {
    const b = await bootHost(h, [0x31, 0x32]);
    const name = h.opened.engine.getHost(b.hostId).name;
    let r = await rack();
    expect(row(r, name).lastBoot).toMatchObject({ result: 'booting', stage: 'inventory', secondsToVerified: null });
    expect((r.json as Rack).counts.booting).toBe(1);

    const config = await send(h, 'GET', `/boot/${hyp(mac(0x31))}/config`, { xToken: b.token });
    expect(config.status).toBe(200);
    const generation = Number(config.headers.get('x-tabula-generation'));
    r = await rack();
    expect(row(r, name).lastBoot?.stage).toBe('config');

    const rep = await send(h, 'POST', `/boot/${hyp(mac(0x31))}/report`, { token: b.token, json: { generation, verified: true, checks: [{ name: 'ping-engine', ok: true }] } });
    expect(rep.status).toBe(200);
    r = await rack();
    const done = row(r, name);
    expect(done.inSync).toBe(true);
    expect(done.appliedGeneration).toBe(generation);
    expect(done.lastBoot?.result).toBe('verified');
    expect(done.lastBoot?.stage).toBe('verified');
    expect(done.lastBoot?.secondsToVerified).toBeGreaterThanOrEqual(0);
    expect((r.json as Rack).counts).toMatchObject({ booting: 0, inSync: 1 });
  });

  it('shows a rolled-back boot as rolled-back', async () => {
    const b = await bootHost(h, [0x41]);
    const name = h.opened.engine.getHost(b.hostId).name;
    const config = await send(h, 'GET', `/boot/${hyp(mac(0x41))}/config`, { xToken: b.token });
    const generation = Number(config.headers.get('x-tabula-generation'));
    const rep = await send(h, 'POST', `/boot/${hyp(mac(0x41))}/report`, { token: b.token, json: { generation, verified: false, rolledBack: true, checks: [{ name: 'ping-engine', ok: false }] } });
    expect(rep.status).toBe(200);
    const r = await rack();
    expect(row(r, name).lastBoot?.result).toBe('rolled-back');
    expect(row(r, name).inSync).toBe(false);
    expect((r.json as Rack).counts.rolledBack).toBe(1);
  });

  it('filters by cluster and state like GET /hosts, and refuses unknown query fields', async () => {
    const r = await rack({}, '?cluster=edge');
    expect((r.json as Rack).hosts.map((x) => x.name)).toEqual(['idle']);
    const m = await rack({}, '?state=maintenance');
    expect((m.json as Rack).hosts.map((x) => x.name)).toEqual(['idle']);
    const bad = await rack({}, '?colour=red');
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe('INVALID_REQUEST');
    const badState = await rack({}, '?state=flying');
    expect(badState.status).toBe(400);
  });
});

describe('GET /rack from its cache', () => {
  it('rebuilds the summary only when the timeline says something changed', () => {
    const o = openEngine({ dbPath: ':memory:' });
    try {
      const store = new SqliteBootStore(o.repo, {});
      let builds = 0;
      const counting = Object.create(o.engine) as typeof o.engine;
      counting.listHosts = (...a) => (builds++, o.engine.listHosts(...a));
      const first = cachedRackSummary(counting, store, {});
      expect(cachedRackSummary(counting, store, {}).etag).toBe(first.etag);
      expect(builds).toBe(1);
      o.engine.reportInventory(null, { bootMac: '52:54:00:aa:bb:01', nics: [{ mac: '52:54:00:aa:bb:01', name: 'eth0', driver: null, speed: null, carrier: true, pciAddress: null }] });
      const second = cachedRackSummary(counting, store, {});
      expect(builds).toBe(2);
      expect(second.summary.hosts).toHaveLength(first.summary.hosts.length + 1);
      expect(second.etag).not.toBe(first.etag);
      // Another filter is another entry.
      cachedRackSummary(counting, store, { state: 'maintenance' });
      expect(builds).toBe(3);
    } finally {
      o.close();
    }
  });
});
