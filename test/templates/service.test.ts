// The template service against a real engine and the real HTTP boot chain: previews equal what the
// chain serves, blast-radius diffs, refused saves leave the database unchanged, rollback, canary pins.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import { PREVIEW_TOKEN, type TemplateService, templateServiceFor } from '../../src/templates/service.js';
import { type BootHarness, PUBLIC_URL, bootHost, hyp, mac, send, startBootHarness, tokenOf } from '../boot/http/helpers.js';

let h: BootHarness;
let svc: TemplateService;
const hosts: Record<string, { mac: string; token: string }> = {};
const shippedApply = readFileSync('templates/apply.sh.hbs', 'utf8');

/** The apply script the boot chain serves the host now. */
async function served(name: string): Promise<string> {
  const host = hosts[name] as { mac: string; token: string };
  const r = await send(h, 'GET', `/boot/${hyp(host.mac)}/config`, { token: host.token });
  expect(r.status, r.text).toBe(200);
  return r.text;
}

async function refused(p: Promise<unknown> | (() => unknown), code: string): Promise<TabulaError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(TabulaError);
    expect((e as TabulaError).code, (e as Error).message).toBe(code);
    return e as TabulaError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const templateTables = (): unknown => {
  const t = h.opened.repo.dumpTables();
  return { revisions: t.template_revisions, current: t.template_current, pins: t.template_pins };
};

/** The shipped apply script with one line added after `set -eu`. */
const withLine = (line: string): string => shippedApply.replace('set -eu\n', `set -eu\n${line}\n`);

beforeAll(async () => {
  h = await startBootHarness();
  const e = h.opened.engine;
  e.createCluster({ name: 'rack-a' });
  e.createCluster({ name: 'rack-b' });
  const layout: [string, string, number][] = [
    ['web-1', 'default', 0x10],
    ['web-2', 'default', 0x20],
    ['db-1', 'rack-a', 0x30],
    ['gpu-1', 'rack-b', 0x40],
  ];
  for (const [name, cluster, n] of layout) {
    e.createHost({ name, cluster, bootMac: mac(n) });
    const b = await bootHost(h, [n, n + 1]);
    hosts[name] = { mac: b.mac, token: b.token };
  }
  svc = templateServiceFor(h.opened.engine, h.opened.repo);
});
afterAll(async () => {
  await h.close();
});

describe('revision 1 is the shipped file', () => {
  it('lists three templates at revision 1, seeded from templates/ on first use', () => {
    const list = svc.list();
    expect(list.map((t) => [t.name, t.current, t.revisions])).toEqual([
      ['boot.ipxe', 1, 1],
      ['host.ipxe', 1, 1],
      ['apply.sh', 1, 1],
    ]);
    expect(svc.show('apply.sh').source).toBe(shippedApply);
    expect(svc.show('host.ipxe.hbs', 1).source).toBe(readFileSync('templates/host.ipxe.hbs', 'utf8'));
    expect(svc.history('boot.ipxe')).toMatchObject([{ revision: 1, author: 'tabula', current: true }]);
  });

  it('refuses unknown names and revisions', async () => {
    await refused(() => svc.show('nope.sh'), 'TEMPLATE_NOT_FOUND');
    await refused(() => svc.show('apply.sh', 7), 'TEMPLATE_REVISION_NOT_FOUND');
    await refused(() => svc.show('apply.sh', 0), 'TEMPLATE_REVISION_INVALID');
  });
});

describe('render preview', () => {
  it('apply.sh: exactly the script the config route serves', async () => {
    for (const name of Object.keys(hosts)) {
      const preview = svc.render('apply.sh', name);
      expect(preview).toMatchObject({ host: name, revision: 1, via: 'current', fallback: null });
      expect(preview.text).toContain(`for host ${name} `);
      expect(preview.text).toBe(await served(name));
    }
  });

  it('host.ipxe: the served script, with the preview token in place of the boot token', async () => {
    const r = await send(h, 'GET', `/boot/${hyp(mac(0x10))}/ipxe`);
    hosts['web-1'] = { mac: mac(0x10), token: tokenOf(r.text) };
    const preview = svc.render('host.ipxe', 'web-1');
    expect(preview.text).toContain(`tabula.token=${PREVIEW_TOKEN} `);
    expect(preview.text).toBe(r.text.replace(tokenOf(r.text), PREVIEW_TOKEN));
    expect(preview.text).toContain(`tabula.server=${PUBLIC_URL} `);
  });

  it('boot.ipxe: the generic script, with or without a host', async () => {
    const r = await send(h, 'GET', '/boot.ipxe');
    expect(svc.render('boot.ipxe', null).text).toBe(r.text);
    expect(svc.render('boot.ipxe', 'db-1').text).toBe(r.text);
    await refused(() => svc.render('apply.sh', null), 'TEMPLATE_HOST_REQUIRED');
  });

  it('a proposed source or another revision, without saving anything', () => {
    const before = templateTables();
    const p = svc.render('apply.sh', 'db-1', { source: withLine('# preview of {{plan.host}}') });
    expect(p).toMatchObject({ revision: null, via: 'proposed' });
    expect(p.text).toContain('set -eu\n# preview of db-1\n');
    expect(templateTables()).toEqual(before);
  });
});

describe('blast radius', () => {
  it('groups hosts whose diff is identical, counts the unchanged ones', () => {
    // Hosts of rack-b get the same text; every other cluster gets a comment naming it.
    const proposed = withLine('{{#if (eq plan.cluster "rack-b")}}{{else}}# cluster {{plan.cluster}}\n{{/if}}');
    const before = templateTables();
    const d = svc.diff('apply.sh', proposed);
    expect(templateTables()).toEqual(before);
    expect(d.current).toBe(1);
    expect(d.groups.map((g) => g.hosts)).toEqual([['web-1', 'web-2'], ['db-1']]);
    expect(d.changed).toBe(3);
    expect(d.unchanged).toEqual(['gpu-1']);
    expect(d.failed).toEqual([]);
    expect(d.skipped).toEqual([]);
    const [big, small] = d.groups;
    expect(big?.diff).toMatch(/^--- apply\.sh@1\n\+\+\+ apply\.sh \(proposed\)\n@@ -5,6 \+5,7 @@\n/);
    expect(big?.diff).toContain(' set -eu\n+# cluster default\n IP=');
    expect(big?.diff.split('\n').filter((l) => l.startsWith('+') || l.startsWith('-'))).toEqual(['--- apply.sh@1', '+++ apply.sh (proposed)', '+# cluster default']);
    expect(small?.diff).toContain('+# cluster rack-a\n');
  });

  it('a source that fails to render for some hosts lists them as failed', () => {
    const d = svc.diff('apply.sh', withLine('{{#if (eq plan.cluster "rack-a")}}{{plan.nothing}}{{/if}}'));
    expect(d.failed.map((f) => [f.host, f.code])).toEqual([['db-1', 'TEMPLATE_RENDER_FAILED']]);
    // The added (empty) line reaches the others: one group of three.
    expect(d.groups.map((g) => g.hosts)).toEqual([['gpu-1', 'web-1', 'web-2']]);
    expect(d.unchanged).toEqual([]);
  });

  it('boot.ipxe reaches every host at once', () => {
    const d = svc.diff('boot.ipxe', readFileSync('templates/boot.ipxe.hbs', 'utf8').replace(':end', ':end\necho bye'));
    expect(d.groups).toHaveLength(1);
    expect(d.groups[0]?.hosts.sort()).toEqual(['db-1', 'gpu-1', 'web-1', 'web-2']);
  });
});

describe('saving is checked and refused as a whole', () => {
  it('a template that does not compile: TEMPLATE_COMPILE_FAILED with the line, nothing stored', async () => {
    const before = templateTables();
    const e = await refused(svc.save('apply.sh', { source: withLine('{{#if plan.host}}\necho open block'), message: 'broken' }), 'TEMPLATE_COMPILE_FAILED');
    expect(e.details.line).toBeGreaterThan(90);
    await refused(svc.save('apply.sh', { source: withLine('{{upper plan.host}}'), message: 'unknown helper' }), 'TEMPLATE_COMPILE_FAILED');
    await refused(svc.save('apply.sh', { source: withLine('{{> evil}}'), message: 'partial' }), 'TEMPLATE_COMPILE_FAILED');
    expect(templateTables()).toEqual(before);
  });

  it('output that fails sh -n: TEMPLATE_LINT_FAILED naming a host and the output line, nothing stored', async () => {
    const before = templateTables();
    const e = await refused(svc.save('apply.sh', { source: withLine('if [ -n "{{plan.host}}" ]; then echo unterminated'), message: 'no fi' }), 'TEMPLATE_LINT_FAILED');
    expect(Object.keys(hosts)).toContain(e.details.host);
    // Each host's script names the host, so no two outputs are identical.
    expect(e.details.hosts).toEqual([e.details.host]);
    expect(typeof e.details.line).toBe('number');
    expect(e.message).toMatch(/fails sh -n for host '[a-z0-9-]+' at output line \d+: /);
    expect(templateTables()).toEqual(before);
    expect(await served('web-2')).toBe(svc.render('apply.sh', 'web-2').text);
  });

  it('a failure on one host only still refuses, naming that host', async () => {
    const before = templateTables();
    const e = await refused(svc.save('apply.sh', { source: withLine('{{#if (eq plan.host "gpu-1")}}case x in{{/if}}'), message: 'one host' }), 'TEMPLATE_LINT_FAILED');
    expect(e.details.host).toBe('gpu-1');
    // The broken construct is on output line 8; dash reports where it gave up, at or after it.
    expect(e.details.line).toBeGreaterThanOrEqual(8);
    expect(templateTables()).toEqual(before);
  });

  it('iPXE output must start with #!ipxe', async () => {
    const src = readFileSync('templates/host.ipxe.hbs', 'utf8').replace('#!ipxe\n', '');
    const e = await refused(svc.save('host.ipxe', { source: src, message: 'no magic' }), 'TEMPLATE_LINT_FAILED');
    expect(e.details.line).toBe(1);
  });

  it('an empty message and an identical source are refused', async () => {
    await refused(svc.save('apply.sh', { source: withLine('# x'), message: '  ' }), 'TEMPLATE_INPUT_INVALID');
    await refused(svc.save('apply.sh', { source: withLine('# x'), message: 'm', author: 'tabula' }), 'TEMPLATE_INPUT_INVALID');
    await refused(svc.save('apply.sh', { source: shippedApply, message: 'same' }), 'TEMPLATE_UNCHANGED');
  });
});

describe('save, rollback and canary pins through the boot route', () => {
  it('save makes a new current revision that every host gets', async () => {
    const r = await svc.save('apply.sh', { source: withLine('# revision two'), message: 'add a comment', author: 'alice' });
    expect(r).toMatchObject({ previous: 1, activated: true, revision: { revision: 2, author: 'alice', message: 'add a comment', current: true } });
    expect(r.checked.sort()).toEqual(['db-1', 'gpu-1', 'web-1', 'web-2']);
    for (const name of Object.keys(hosts)) expect(await served(name)).toContain('\n# revision two\n');
    expect(svc.history('apply.sh').map((x) => [x.revision, x.current])).toEqual([
      [2, true],
      [1, false],
    ]);
  });

  it('rollback makes revision 1 current again; revisions stay as they were', async () => {
    const before = svc.show('apply.sh', 2);
    const r = await svc.rollback('apply.sh', 1, 'bob');
    expect(r).toMatchObject({ previous: 2, current: 1 });
    for (const name of Object.keys(hosts)) expect(await served(name)).not.toContain('# revision two');
    expect(await served('web-1')).toBe(svc.render('apply.sh', 'web-1', { revision: 1 }).text);
    expect(svc.show('apply.sh', 2)).toEqual({ ...before, current: false });
    expect(svc.list().find((t) => t.name === 'apply.sh')).toMatchObject({ current: 1, revisions: 2, updatedBy: 'bob' });
    await refused(svc.rollback('apply.sh', 9), 'TEMPLATE_REVISION_NOT_FOUND');
  });

  it('a canary host pinned to a new revision gets it, the others keep the current one', async () => {
    const saved = await svc.save('apply.sh', { source: withLine('# canary'), message: 'candidate', activate: false });
    expect(saved.revision).toMatchObject({ revision: 3, current: false });
    expect(svc.list().find((t) => t.name === 'apply.sh')?.current).toBe(1);

    const pin = await svc.pin('apply.sh', 3, { host: 'db-1' });
    expect(pin.pin).toMatchObject({ revision: 3, host: 'db-1', cluster: null });
    expect(pin.checked).toEqual(['db-1']);
    expect(await served('db-1')).toContain('\n# canary\n');
    for (const name of ['web-1', 'web-2', 'gpu-1']) expect(await served(name)).not.toContain('# canary');
    expect(svc.render('apply.sh', 'db-1')).toMatchObject({ revision: 3, via: 'host-pin' });

    // The diff of a new source leaves the pinned host out.
    const d = svc.diff('apply.sh', withLine('# next'));
    expect(d.pinned).toEqual([{ host: 'db-1', revision: 3, via: 'host-pin' }]);
    expect(d.groups.flatMap((g) => g.hosts).sort()).toEqual(['gpu-1', 'web-1', 'web-2']);
  });

  it('host pin beats cluster pin beats current; unpin returns to the next rule', async () => {
    await svc.pin('apply.sh', 2, { cluster: 'rack-a' });
    await svc.pin('apply.sh', 2, { cluster: 'default' });
    expect(await served('db-1')).toContain('# canary'); // its host pin wins
    expect(await served('web-1')).toContain('# revision two');
    expect(await served('gpu-1')).not.toContain('# revision two');
    await svc.unpin('apply.sh', { host: 'db-1' });
    expect(await served('db-1')).toContain('# revision two');
    expect(svc.render('apply.sh', 'db-1')).toMatchObject({ revision: 2, via: 'cluster-pin' });
    await svc.unpin('apply.sh', { cluster: 'rack-a' });
    await svc.unpin('apply.sh', { cluster: 'default' });
    for (const name of Object.keys(hosts)) expect(await served(name)).toBe(svc.render('apply.sh', name, { revision: 1 }).text);
    await refused(svc.unpin('apply.sh', { cluster: 'default' }), 'TEMPLATE_PIN_NOT_FOUND');
    expect(svc.pins()).toEqual([]);
  });

  it('pins are refused for boot.ipxe, unknown targets, and revisions that fail lint for the target', async () => {
    const before = templateTables();
    await refused(svc.pin('boot.ipxe', 1, { host: 'db-1' }), 'TEMPLATE_NOT_PINNABLE');
    await refused(svc.pin('apply.sh', 1, { host: 'nobody' }), 'HOST_NOT_FOUND');
    await refused(svc.pin('apply.sh', 1, { cluster: 'nowhere' }), 'CLUSTER_NOT_FOUND');
    await refused(svc.pin('apply.sh', 5, { host: 'db-1' }), 'TEMPLATE_REVISION_NOT_FOUND');
    expect(templateTables()).toEqual(before);
  });

  it('a host nothing can be rendered for is skipped, and a deleted host takes its pin with it', async () => {
    h.opened.engine.createHost({ name: 'tmp-1', cluster: 'rack-b' });
    const r = await svc.pin('host.ipxe', 1, { host: 'tmp-1' });
    // Nothing real to render: the built-in sample host is checked instead.
    expect(r.checked).toEqual(['(sample)']);
    expect(r.skipped.map((s) => [s.host, s.code])).toEqual([['tmp-1', 'HOST_NO_MAC']]);
    expect(svc.pins('host.ipxe')).toMatchObject([{ host: 'tmp-1', revision: 1 }]);
    h.opened.engine.deleteHost('tmp-1');
    expect(svc.pins()).toEqual([]);
  });
});

describe('a revision that stops rendering for a host after it was checked', () => {
  it('answers TEMPLATE_RENDER_FAILED at boot, naming the host; the other hosts are served', async () => {
    const saved = await svc.save('apply.sh', { source: withLine('# mgmt on {{plan.state.networks.mgmt.interface}}'), message: 'needs mgmt' });
    expect(saved.revision.current).toBe(true);
    expect(await served('gpu-1')).toContain('# mgmt on ');
    // Renaming rack-b's management network makes the lookup fail for gpu-1 (strict mode).
    h.opened.engine.updateNetwork('rack-b', 'mgmt', { name: 'admin' });
    const host = hosts['gpu-1'] as { mac: string; token: string };
    const r = await send(h, 'GET', `/boot/${hyp(host.mac)}/config`, { token: host.token });
    expect(r.status).toBe(422);
    expect((r.json as { error: { code: string; details: { host: string } } }).error).toMatchObject({ code: 'TEMPLATE_RENDER_FAILED', details: { host: 'gpu-1' } });
    expect(await served('web-1')).toContain('# mgmt on ');
    // The preview says the same, and the diff lists the host as failed.
    await refused(() => svc.render('apply.sh', 'gpu-1'), 'TEMPLATE_RENDER_FAILED');
    expect(svc.diff('apply.sh', withLine('# x')).groups.flatMap((g) => g.hosts)).toContain('gpu-1');
  });
});
