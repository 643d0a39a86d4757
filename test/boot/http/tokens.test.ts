// Boot tokens: one host's token never opens another host's endpoints, old boots' tokens stop working,
// refused requests change nothing, and no token ever reaches the logs or the database.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootHarness, bootHost, errorCode, hyp, inventory, mac, send, startBootHarness, tokenOf } from './helpers.js';

let h: BootHarness;
let a: { hostId: number; token: string; mac: string };
let b: { hostId: number; token: string; mac: string };
const seen: string[] = [];

beforeAll(async () => {
  h = await startBootHarness();
  a = await bootHost(h, [1, 2]);
  b = await bootHost(h, [3, 4]);
  seen.push(a.token, b.token);
});
afterAll(async () => {
  await h.close();
});

const endpoints = (m: string, report: unknown): [string, string, unknown][] => [
  ['POST', `/boot/${hyp(m)}/inventory`, report],
  ['GET', `/boot/${hyp(m)}/config`, undefined],
  ['POST', `/boot/${hyp(m)}/report`, { generation: 1, verified: true }],
];

describe('cross-host', () => {
  it("host B's token is refused on host A's inventory, config and report (403), and nothing changes", async () => {
    const before = h.opened.repo.dumpTables();
    for (const [method, path, json] of endpoints(a.mac, inventory([1, 2]))) {
      for (const how of ['bearer', 'x-header'] as const) {
        const r = await send(h, method, path, { ...(how === 'bearer' ? { token: b.token } : { xToken: b.token }), ...(json !== undefined ? { json } : {}) });
        expect(r.status, `${method} ${path} ${how}`).toBe(403);
        expect(errorCode(r)).toBe('BOOT_TOKEN_WRONG_HOST');
        expect(r.text).not.toContain('#!/bin/sh');
      }
    }
    // a path MAC no host owns is another host's too
    const stranger = await send(h, 'GET', `/boot/${hyp(mac(0x77))}/config`, { token: b.token });
    expect(stranger.status).toBe(403);
    // B's token posing as one of A's other NICs
    const otherNic = await send(h, 'GET', `/boot/${hyp(mac(2))}/config`, { token: b.token });
    expect(otherNic.status).toBe(403);
    expect(h.opened.repo.dumpTables()).toEqual(before);
    // while B's token works on B (proving the refusals were about the host)
    expect((await send(h, 'GET', `/boot/${hyp(b.mac)}/config`, { token: b.token })).status).toBe(200);
  });

  it('a missing, malformed or unknown token is 401 BOOT_TOKEN_INVALID, and nothing changes', async () => {
    const before = h.opened.repo.dumpTables();
    const variants: Record<string, Record<string, string>>[] = [
      {},
      { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } },
      { headers: { authorization: 'Bearer' } },
      { headers: { authorization: 'Bearer garbage-garbage-garbage-garbage' } },
      { headers: { 'x-tabula-token': 'x' } },
      { headers: { 'x-tabula-token': `${a.token}x` } },
      // two different tokens at once
      { headers: { authorization: `Bearer ${a.token}`, 'x-tabula-token': b.token } },
    ];
    for (const [method, path, json] of endpoints(a.mac, inventory([1, 2]))) {
      for (const v of variants) {
        const r = await send(h, method, path, { ...v, ...(json !== undefined ? { json } : {}) });
        expect(r.status, `${method} ${path} ${JSON.stringify(v)}`).toBe(401);
        expect(errorCode(r)).toBe('BOOT_TOKEN_INVALID');
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="tabula-boot"');
      }
    }
    // the token is checked before the path: a bad MAC with no token is still 401
    expect((await send(h, 'GET', '/boot/not-a-mac/config')).status).toBe(401);
    expect(h.opened.repo.dumpTables()).toEqual(before);
  });

  it("an older boot's token stops working once the host fetches a new script", async () => {
    const first = a.token;
    expect((await send(h, 'GET', `/boot/${hyp(a.mac)}/config`, { token: first })).status).toBe(200);
    const again = await send(h, 'GET', `/boot/${hyp(a.mac)}/ipxe`);
    const second = tokenOf(again.text);
    seen.push(second);
    expect(second).not.toBe(first);
    const old = await send(h, 'GET', `/boot/${hyp(a.mac)}/config`, { token: first });
    expect(old.status).toBe(401);
    expect(errorCode(old)).toBe('BOOT_TOKEN_INVALID');
    expect((await send(h, 'GET', `/boot/${hyp(a.mac)}/config`, { token: second })).status).toBe(200);
    // B's boot is untouched by A's new boot
    expect((await send(h, 'GET', `/boot/${hyp(b.mac)}/config`, { token: b.token })).status).toBe(200);
    const boots = h.services.store.listBoots(a.hostId, 10);
    expect(boots.map((x) => x.current)).toEqual([true, false]);
    a = { ...a, token: second };
  });

  it('the token also opens the host endpoints under another MAC of the same host', async () => {
    expect((await send(h, 'GET', `/boot/${hyp(mac(2))}/config`, { token: a.token })).status).toBe(200);
  });
});

describe('tokens are never logged nor stored', () => {
  it('no token appears in the logs or the database; only their hashes are stored', async () => {
    const log = h.rawLog();
    expect(log.length).toBeGreaterThan(1000);
    expect(log).toContain('"route":"/boot/{mac}/config"');
    const db = JSON.stringify(h.opened.repo.dumpTables());
    for (const t of seen) {
      expect(log).not.toContain(t);
      expect(db).not.toContain(t);
    }
    // the current tokens' hashes are there, the superseded one's is gone
    const hashes = (h.opened.repo.dumpTables().boots as { token_hash: string | null; superseded: number }[]).map((r) => [r.token_hash, r.superseded]);
    const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
    expect(hashes).toEqual(
      expect.arrayContaining([
        [sha(a.token), 0],
        [sha(b.token), 0],
        [null, 1],
      ]),
    );
    expect(hashes.some(([hash]) => hash === sha(seen[0] as string))).toBe(false);
  });
});

describe('bad bodies', () => {
  const json = (r: { json: unknown }): { error: { details: { issues?: { code: string }[] } } } => r.json as never;

  it('invalid JSON, unknown fields, wrong types, empty and huge bodies are 4xx and change nothing', async () => {
    const before = h.opened.repo.dumpTables();
    const inv = `/boot/${hyp(a.mac)}/inventory`;
    const rep = `/boot/${hyp(a.mac)}/report`;
    const cases: [string, string, Parameters<typeof send>[3], number, string][] = [
      ['invalid JSON', inv, { raw: '{"bootMac": ', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_JSON'],
      ['no body', inv, {}, 400, 'INVALID_REQUEST'],
      ['a JSON string (strict JSON: objects and arrays only)', inv, { json: 'hello' }, 400, 'INVALID_JSON'],
      ['a JSON array', inv, { json: [1] }, 400, 'INVALID_REQUEST'],
      ['unknown top-level field', inv, { json: { ...inventory([1, 2]), extra: 1 } }, 400, 'INVALID_REQUEST'],
      ['unknown NIC field', inv, { json: { bootMac: mac(1), nics: [{ mac: mac(1), name: 'eth0', colour: 'red' }] } }, 400, 'INVALID_REQUEST'],
      ['huge', inv, { raw: JSON.stringify({ bootMac: mac(1), nics: [], pad: 'x'.repeat(1024 * 1024 + 10) }), headers: { 'content-type': 'application/json' } }, 413, 'PAYLOAD_TOO_LARGE'],
      ['duplicate MACs (the engine refuses)', inv, { json: { bootMac: mac(1), nics: [{ mac: mac(1), name: 'eth0' }, { mac: mac(1), name: 'eth1' }] } }, 422, 'INVENTORY_DUPLICATE_MAC'],
      ['another boot MAC', inv, { json: inventory([2, 1]) }, 422, 'BOOT_MAC_MISMATCH'],
      ['report: generation as text', rep, { json: { generation: '1', verified: true } }, 400, 'INVALID_REQUEST'],
      ['report: fractional generation', rep, { json: { generation: 1.5, verified: true } }, 400, 'INVALID_REQUEST'],
      ['report: unknown field', rep, { json: { generation: 1, verified: true, ok: true } }, 400, 'INVALID_REQUEST'],
      ['report: unknown check field', rep, { json: { generation: 1, verified: false, checks: [{ name: 'x', ok: false, why: 'y' }] } }, 400, 'INVALID_REQUEST'],
      ['report: verified and rolled back', rep, { json: { generation: 1, verified: true, rolledBack: true } }, 400, 'INVALID_REQUEST'],
      ['report: negative duration', rep, { json: { generation: 1, verified: true, durationsMs: { apply: -1 } } }, 400, 'INVALID_REQUEST'],
      ['report: a generation the engine never had', rep, { json: { generation: 99, verified: true } }, 409, 'GENERATION_UNKNOWN'],
      ['report: invalid JSON', rep, { raw: 'verified=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 400, 'INVALID_JSON'],
    ];
    for (const [what, path, o, status, code] of cases) {
      const r = await send(h, 'POST', path, { token: a.token, ...o });
      expect(r.status, what).toBe(status);
      expect(errorCode(r), what).toBe(code);
    }
    const unknown = await send(h, 'POST', inv, { token: a.token, json: { ...inventory([1, 2]), extra: 1 } });
    expect(json(unknown).error.details.issues?.map((i) => i.code)).toEqual(['unrecognized_keys']);
    expect(h.opened.repo.dumpTables()).toEqual(before);
    expect(h.opened.engine.getHost(a.hostId).appliedGeneration).toBeNull();
  });

  it('a body without a JSON content type is still read as JSON (busybox wget posts form-encoded)', async () => {
    const r = await send(h, 'POST', `/boot/${hyp(a.mac)}/inventory`, { token: a.token, raw: JSON.stringify(inventory([1, 2])), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(200);
  });
});
