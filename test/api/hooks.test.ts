// /api/v1/{clusters|hosts}/{ref}/hooks over HTTP, with the boot chain on the same server: a hook change
// bumps the generation of the hosts it reaches, and GET /boot/{mac}/config carries the hooks in run
// order (cluster's before host's, then by order). Refused writes leave the database as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HOOK_BYTES } from '../../src/domain/hooks.js';
import { type BootHarness, bootHost, errorCode, hyp, mac, send, startBootHarness } from '../boot/http/helpers.js';

let h: BootHarness;
const blades: Record<string, { mac: string; token: string; hostId: number }> = {};

const api = (method: string, path: string, json?: unknown) => send(h, method, `/api/v1${path}`, { token: h.adminToken, ...(json !== undefined ? { json } : {}) });
const served = async (name: string): Promise<string> => {
  const b = blades[name] as { mac: string; token: string };
  const r = await send(h, 'GET', `/boot/${hyp(b.mac)}/config`, { xToken: b.token });
  expect(r.status, r.text).toBe(200);
  return r.text;
};
const generation = (name: string): number => h.opened.engine.getHost(name).generation;
const tables = (): unknown => {
  const t = h.opened.repo.dumpTables();
  return [t.hooks, t.hosts];
};

beforeAll(async () => {
  h = await startBootHarness();
  h.opened.engine.createCluster({ name: 'rack' });
  for (const [name, n] of [
    ['b-1', 0x90],
    ['b-2', 0xa0],
  ] as const) {
    h.opened.engine.createHost({ name, cluster: 'rack', bootMac: mac(n) });
    const b = await bootHost(h, [n]);
    blades[name] = { mac: b.mac, token: b.token, hostId: b.hostId };
  }
});
afterAll(async () => {
  await h.close();
});

describe('/api/v1 hooks', () => {
  it('a cluster hook reaches every host of the cluster and bumps their generations', async () => {
    const g1 = generation('b-1');
    const g2 = generation('b-2');
    const r = await api('POST', '/clusters/rack/hooks', { phase: 'before-apply', name: 'prep', order: 20, script: 'echo "prep on $TABULA_HOST"\n' });
    expect(r.status, r.text).toBe(201);
    const body = r.json as { hook: { scope: string; owner: string; name: string; order: number }; bumped: { host: string; generation: number }[] };
    expect(body.hook).toMatchObject({ scope: 'cluster', owner: 'rack', name: 'prep', order: 20 });
    expect(body.bumped).toEqual([
      { host: 'b-1', generation: g1 + 1 },
      { host: 'b-2', generation: g2 + 1 },
    ]);
    expect(await served('b-2')).toContain("tabula_hook before-apply 'before-apply/01-cluster-prep' 'prep'");
  });

  it('host hooks run after the cluster hooks, by order then name; other hosts are untouched', async () => {
    const g2 = generation('b-2');
    for (const [name, order] of [
      ['zz-first', 5],
      ['aa-second', 10],
    ] as const) {
      const r = await api('POST', '/hosts/b-1/hooks', { phase: 'before-apply', name, order, script: `echo ${name}\n` });
      expect(r.status, r.text).toBe(201);
    }
    expect((await api('POST', '/hosts/b-1/hooks', { phase: 'after-apply', name: 'done', script: 'echo done\n' })).status).toBe(201);
    expect(generation('b-2')).toBe(g2);
    const list = (await api('GET', '/hosts/b-1/hooks')).json as { hooks: { name: string }[]; effective: { file: string }[] };
    expect(list.hooks.map((x) => x.name)).toEqual(['zz-first', 'aa-second', 'done']);
    expect(list.effective.map((x) => x.file)).toEqual(['before-apply/01-cluster-prep', 'before-apply/02-host-zz-first', 'before-apply/03-host-aa-second', 'after-apply/01-host-done']);
    const script = await served('b-1');
    const at = (s: string): number => script.indexOf(s);
    expect(at("tabula_hook before-apply 'before-apply/01-cluster-prep'")).toBeGreaterThan(0);
    expect(at("tabula_hook before-apply 'before-apply/01-cluster-prep'")).toBeLessThan(at("tabula_hook before-apply 'before-apply/02-host-zz-first'"));
    expect(at("tabula_hook before-apply 'before-apply/03-host-aa-second'")).toBeLessThan(at('\n"$IP" '));
    expect(at('\n"$IP" ')).toBeGreaterThan(0);
    expect(at("tabula_hook after-apply 'after-apply/01-host-done'")).toBeGreaterThan(at('step dhcp'));
    expect((await api('GET', '/clusters/rack/hooks')).json).toMatchObject({ scope: 'cluster', owner: 'rack', hooks: [{ name: 'prep' }] });
  });

  it('refuses bad hooks with their codes and changes nothing', async () => {
    const before = tables();
    const cases: [unknown, number, string][] = [
      [{ phase: 'before-apply', name: '../etc', script: 'true' }, 422, 'HOOK_NAME_INVALID'],
      [{ phase: 'before-apply', name: '-x', script: 'true' }, 422, 'HOOK_NAME_INVALID'],
      [{ phase: 'during-apply', name: 'x', script: 'true' }, 422, 'HOOK_PHASE_INVALID'],
      [{ phase: 'after-apply', name: 'x', order: 1000, script: 'true' }, 422, 'HOOK_ORDER_INVALID'],
      [{ phase: 'after-apply', name: 'x', script: 'x'.repeat(MAX_HOOK_BYTES + 1) }, 422, 'HOOK_TOO_LARGE'],
      [{ phase: 'after-apply', name: 'x', script: '   \n' }, 422, 'HOOK_SCRIPT_INVALID'],
      [{ phase: 'after-apply', name: 'x', script: 'if true; then\necho\n' }, 422, 'HOOK_LINT_FAILED'],
      [{ phase: 'after-apply', name: 'done', script: 'true' }, 409, 'HOOK_EXISTS'],
      [{ phase: 'after-apply', name: 'x', script: 'true', extra: 1 }, 400, 'INVALID_REQUEST'],
    ];
    for (const [json, status, code] of cases) {
      const r = await api('POST', '/hosts/b-1/hooks', json);
      expect([r.status, errorCode(r)], JSON.stringify(json).slice(0, 80)).toEqual([status, code]);
    }
    const lint = await api('POST', '/hosts/b-1/hooks', { phase: 'after-apply', name: 'x', script: 'if true; then\necho\n' });
    expect((lint.json as { error: { message: string } }).error.message).toMatch(/host 'b-1': hook 'x' fails sh -n/);
    expect((await api('POST', '/hosts/nope/hooks', { phase: 'after-apply', name: 'x', script: 'true' })).status).toBe(404);
    expect(tables()).toEqual(before);
  });

  it('PATCH changes the script (checked like a new one), DELETE removes; both bump the generation', async () => {
    const g = generation('b-1');
    const bad = await api('PATCH', '/hosts/b-1/hooks/after-apply/done', { script: 'fi' });
    expect(errorCode(bad)).toBe('HOOK_LINT_FAILED');
    expect(generation('b-1')).toBe(g);
    const ok = await api('PATCH', '/hosts/b-1/hooks/after-apply/done', { script: 'echo finished\n' });
    expect(ok.status, ok.text).toBe(200);
    expect((ok.json as { hook: { script: string; order: number } }).hook).toMatchObject({ script: 'echo finished\n', order: 50 });
    expect(generation('b-1')).toBe(g + 1);
    expect(await served('b-1')).toContain("printf '%s' 'echo finished\n' > \"$HOOKS/\"'after-apply/01-host-done'");
    const del = await api('DELETE', '/hosts/b-1/hooks/after-apply/done');
    expect(del.status, del.text).toBe(200);
    expect(generation('b-1')).toBe(g + 2);
    expect(await served('b-1')).not.toContain('after-apply/01-host-done');
    expect(errorCode(await api('DELETE', '/hosts/b-1/hooks/after-apply/done'))).toBe('HOOK_NOT_FOUND');
    expect(errorCode(await api('DELETE', '/hosts/b-1/hooks/sometime/done'))).toBe('HOOK_PHASE_INVALID');
  });
});
