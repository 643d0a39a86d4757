// The maintenance hold of GET /boot/{mac}/config, over HTTP: a running blade (?applied=N) whose host is
// in maintenance keeps its network (204 + X-Tabula-Hold) until the host is active again; a booting
// blade (no ?applied) always gets the current plan. Hooks travel in the script and bump the generation.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookServiceOf } from '../../../src/store/hook-store.js';
import { type BootHarness, errorCode, hyp, inventory, mac, send, startBootHarness, tokenOf } from './helpers.js';

let h: BootHarness;
beforeAll(async () => {
  h = await startBootHarness();
});
afterAll(async () => {
  await h.close();
});

describe('maintenance hold of a running blade', () => {
  const m = mac(7);
  let token = '';
  let hostId = 0;
  let applied = 0;

  const config = (query = ''): ReturnType<typeof send> => send(h, 'GET', `/boot/${hyp(m)}/config${query}`, { xToken: token });
  const heldEvents = (): unknown[] => (h.opened.repo.dumpTables().boot_events as { stage: string }[]).filter((e) => e.stage === 'held');

  it('boots, applies and reports a generation', async () => {
    const s = await send(h, 'GET', `/boot/${hyp(m)}/ipxe`);
    expect(s.status).toBe(200);
    token = tokenOf(s.text);
    expect((await send(h, 'POST', `/boot/${hyp(m)}/inventory`, { xToken: token, json: inventory([7, 8]) })).status).toBe(200);
    const r = await config();
    expect(r.status).toBe(200);
    applied = Number(r.headers.get('x-tabula-generation'));
    hostId = h.opened.engine.listHosts()[0]?.id ?? 0;
    expect((await send(h, 'POST', `/boot/${hyp(m)}/report`, { xToken: token, json: { generation: applied, verified: true } })).status).toBe(200);
    expect(h.opened.engine.getHost(hostId).appliedGeneration).toBe(applied);
  });

  it('in maintenance, a hook change bumps the generation but a poll with ?applied is held (204), once in the timeline', async () => {
    h.opened.engine.updateHost(hostId, { state: 'maintenance' });
    const before = h.opened.engine.getHost(hostId).generation;
    const change = await hookServiceOf(h.opened.engine).save({ host: hostId }, { phase: 'before-apply', name: 'hello', script: 'echo "hello from $TABULA_HOST"\n' });
    expect(change.bumped).toEqual([{ host: h.opened.engine.getHost(hostId).name, generation: before + 1 }]);
    for (let i = 0; i < 2; i++) {
      const r = await config(`?applied=${applied}`);
      expect(r.status).toBe(204);
      expect(r.text).toBe('');
      expect(r.headers.get('x-tabula-hold')).toBe('maintenance');
      expect(r.headers.get('x-tabula-generation')).toBe(String(before + 1));
    }
    expect(heldEvents()).toHaveLength(1);
    const boots = h.services.store.listBoots(hostId, 1);
    expect(boots[0]?.events.find((e) => e.stage === 'held')?.data).toEqual({ reason: 'maintenance', generation: before + 1, applied });
  });

  it('a booting blade (no ?applied) gets the current plan with its hooks, even in maintenance', async () => {
    const r = await config();
    expect(r.status).toBe(200);
    expect(r.headers.get('x-tabula-hold')).toBeNull();
    expect(Number(r.headers.get('x-tabula-generation'))).toBe(applied + 1);
    expect(r.text).toContain("tabula_hook before-apply 'before-apply/01-host-hello' 'hello'");
    expect(spawnSync('sh', ['-n'], { input: r.text }).status).toBe(0);
  });

  it('a blade that already runs the current generation is not held', async () => {
    const r = await config(`?applied=${applied + 1}`);
    expect(r.status).toBe(200);
  });

  it('a malformed ?applied is a typed 400', async () => {
    for (const q of ['?applied=abc', '?applied=-1', '?other=1']) {
      const r = await config(q);
      expect(r.status, q).toBe(400);
      expect(errorCode(r)).toBe('INVALID_REQUEST');
    }
  });

  it('once the host is active again, the next poll gets the new generation', async () => {
    h.opened.engine.updateHost(hostId, { state: 'active' });
    const r = await config(`?applied=${applied}`);
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-tabula-generation'))).toBe(applied + 1);
    expect(heldEvents()).toHaveLength(1);
  });
});
