// /api/v1/templates over HTTP, with the boot chain on the same server: what the API previews, saves,
// pins and rolls back is what GET /boot/{mac}/config serves.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootHarness, bootHost, errorCode, hyp, mac, send, startBootHarness } from '../boot/http/helpers.js';

let h: BootHarness;
const blades: Record<string, { mac: string; token: string }> = {};
const shipped = readFileSync('templates/apply.sh.hbs', 'utf8');
const withLine = (line: string): string => shipped.replace('set -eu\n', `set -eu\n${line}\n`);

const api = (method: string, path: string, json?: unknown) => send(h, method, `/api/v1${path}`, { token: h.adminToken, ...(json !== undefined ? { json } : {}) });
const served = async (name: string): Promise<string> => {
  const b = blades[name] as { mac: string; token: string };
  const r = await send(h, 'GET', `/boot/${hyp(b.mac)}/config`, { token: b.token });
  expect(r.status, r.text).toBe(200);
  return r.text;
};
const tables = (): unknown => {
  const t = h.opened.repo.dumpTables();
  return [t.template_revisions, t.template_current, t.template_pins];
};

beforeAll(async () => {
  h = await startBootHarness();
  for (const [name, n] of [
    ['a-1', 0x60],
    ['a-2', 0x70],
    ['a-3', 0x80],
  ] as const) {
    h.opened.engine.createHost({ name, bootMac: mac(n) });
    const b = await bootHost(h, [n]);
    blades[name] = { mac: b.mac, token: b.token };
  }
});
afterAll(async () => {
  await h.close();
});

describe('/api/v1/templates', () => {
  it('lists the three templates and shows revision 1 with its source', async () => {
    const list = await api('GET', '/templates');
    expect(list.status).toBe(200);
    expect((list.json as { name: string; current: number }[]).map((t) => [t.name, t.current])).toEqual([
      ['boot.ipxe', 1],
      ['host.ipxe', 1],
      ['apply.sh', 1],
    ]);
    const one = await api('GET', '/templates/apply.sh/revisions/1');
    expect(one.json).toMatchObject({ name: 'apply.sh', revision: 1, source: shipped, current: true, author: 'tabula' });
    expect(errorCode(await api('GET', '/templates/apply.sh/revisions/x'))).toBe('TEMPLATE_REVISION_INVALID');
    expect((await api('GET', '/templates/nope')).status).toBe(404);
  });

  it('render preview is the text the boot route serves', async () => {
    const r = await api('POST', '/templates/apply.sh/render', { host: 'a-2' });
    expect(r.status).toBe(200);
    expect((r.json as { text: string }).text).toBe(await served('a-2'));
  });

  it('refuses a broken template with 422 and its code, storing nothing', async () => {
    const before = tables();
    const compile = await api('POST', '/templates/apply.sh/revisions', { source: withLine('{{#each plan.steps}}'), message: 'x' });
    expect(compile.status).toBe(422);
    expect(errorCode(compile)).toBe('TEMPLATE_COMPILE_FAILED');
    const lint = await api('POST', '/templates/apply.sh/revisions', { source: withLine('echo "{{plan.host}}'), message: 'x' });
    expect(lint.status).toBe(422);
    expect(errorCode(lint)).toBe('TEMPLATE_LINT_FAILED');
    expect((lint.json as { error: { details: { host: string; line: number } } }).error.details).toMatchObject({ host: 'a-1', line: expect.any(Number) });
    expect(tables()).toEqual(before);
  });

  it('diff, save without activating, pin a canary, unpin, save, roll back', async () => {
    const d = await api('POST', '/templates/apply.sh/diff', { source: withLine('# v2') });
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({ current: 1, changed: 3, groups: [{ hosts: ['a-1', 'a-2', 'a-3'] }] });

    const saved = await api('POST', '/templates/apply.sh/revisions', { source: withLine('# v2'), message: 'canary first', author: 'carol', activate: false });
    expect(saved.status).toBe(201);
    expect(saved.json).toMatchObject({ revision: { revision: 2, current: false, author: 'carol' }, activated: false });

    const pin = await api('POST', '/templates/apply.sh/pins', { revision: 2, host: 'a-3' });
    expect(pin.status).toBe(201);
    expect(await served('a-3')).toContain('\n# v2\n');
    expect(await served('a-1')).not.toContain('# v2');
    expect(await served('a-2')).not.toContain('# v2');
    expect((await api('GET', '/templates/apply.sh/pins')).json).toMatchObject([{ revision: 2, host: 'a-3', cluster: null }]);
    expect(errorCode(await api('POST', '/templates/apply.sh/pins', { revision: 2, host: 'a-3', cluster: 'default' }))).toBe('TEMPLATE_PIN_TARGET_INVALID');

    expect((await api('DELETE', '/templates/apply.sh/pins/hosts/a-3')).status).toBe(204);
    expect(errorCode(await api('DELETE', '/templates/apply.sh/pins/hosts/a-3'))).toBe('TEMPLATE_PIN_NOT_FOUND');
    expect(await served('a-3')).not.toContain('# v2');

    const rb = await api('POST', '/templates/apply.sh/rollback', { revision: 2 });
    expect(rb.json).toMatchObject({ previous: 1, current: 2 });
    for (const n of ['a-1', 'a-2', 'a-3']) expect(await served(n)).toContain('\n# v2\n');
    const back = await api('POST', '/templates/apply.sh/rollback', { revision: 1 });
    expect(back.json).toMatchObject({ previous: 2, current: 1 });
    for (const n of ['a-1', 'a-2', 'a-3']) expect(await served(n)).not.toContain('# v2');
    const history = await api('GET', '/templates/apply.sh/revisions');
    expect((history.json as { revision: number; current: boolean }[]).map((r) => [r.revision, r.current])).toEqual([
      [2, false],
      [1, true],
    ]);
  });
});
