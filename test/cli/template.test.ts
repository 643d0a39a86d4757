// `tabula template ...` end to end on a file database: render, diff (blast radius), save refused and
// accepted, pin a canary, rollback; human and --json output; usage errors.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, inventory, mac } from './helpers.js';

const sb = new Sandbox();
const shipped = readFileSync('templates/apply.sh.hbs', 'utf8');
const withLine = (line: string): string => shipped.replace('set -eu\n', `set -eu\n${line}\n`);

beforeAll(async () => {
  await sb.ok(['cluster', 'create', 'rack1']);
  for (const [name, cluster, n] of [
    ['b1', 'default', 1],
    ['b2', 'default', 3],
    ['b3', 'rack1', 5],
  ] as const) {
    await sb.ok(['host', 'create', name, '--cluster', cluster, '--boot-mac', mac(n)]);
    await sb.ok(['host', 'inventory', name, '--file', sb.file(`${name}.json`, inventory([n, n + 1]))]);
  }
});
afterAll(() => sb.cleanup());

describe('tabula template', () => {
  it('list, show and history', async () => {
    const list = await sb.ok(['template', 'list']);
    expect(list).toMatch(/^NAME\s+CURRENT\s+REVISIONS/);
    expect(list).toMatch(/\napply\.sh\s+1\s+1\s+0\s+shell\s+yes\s+tabula /);
    expect(await sb.ok(['template', 'show', 'apply.sh'])).toBe(shipped);
    const hist = await sb.okJson<{ revision: number; current: boolean }[]>(['template', 'history', 'apply.sh']);
    expect(hist).toMatchObject([{ revision: 1, current: true }]);
  });

  it('render prints what the host gets; a plan of the same host appears in it', async () => {
    const text = await sb.ok(['template', 'render', 'apply.sh', '--host', 'b3']);
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain('for host b3 (cluster rack1)');
    const ipxe = await sb.ok(['template', 'render', 'host.ipxe', '--host', 'b1', '--public-url', 'http://10.9.0.1:8080']);
    expect(ipxe).toContain('kernel http://10.9.0.1:8080/boot/52-54-00-00-01-01/kernel ');
    expect(ipxe).toContain('tabula.token=PREVIEW-BOOT-TOKEN ');
  });

  it('diff groups the hosts by identical change', async () => {
    const f = sb.file('cluster.hbs', withLine('# cluster {{plan.cluster}}'));
    const out = await sb.ok(['template', 'diff', 'apply.sh', '--file', f]);
    expect(out).toContain('apply.sh: against current revision 1: 3 host(s) change in 2 group(s), 0 unchanged, 0 pinned, 0 failed, 0 skipped\n');
    expect(out).toContain('# group 1: 2 host(s): b1, b2\n');
    expect(out).toContain('+# cluster default\n');
    expect(out).toContain('# group 2: 1 host(s): b3\n');
    const json = await sb.okJson<{ groups: { hosts: string[] }[] }>(['template', 'diff', 'apply.sh', '--file', f]);
    expect(json.groups.map((g) => g.hosts)).toEqual([['b1', 'b2'], ['b3']]);
  });

  it('save refuses a script that fails sh -n (exit 1, code on stderr) and stores nothing', async () => {
    const bad = sb.file('bad.hbs', withLine('while true; do'));
    const r = await sb.run(['--json', 'template', 'save', 'apply.sh', '--file', bad, '--message', 'broken']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stderr) as { error: { code: string } }).error.code).toBe('TEMPLATE_LINT_FAILED');
    expect(await sb.okJson<unknown[]>(['template', 'history', 'apply.sh'])).toHaveLength(1);
  });

  it('save --no-activate, pin a canary, roll forward and back', async () => {
    const f = sb.file('v2.hbs', withLine('# v2'));
    expect(await sb.ok(['template', 'save', 'apply.sh', '--file', f, '--message', 'v2', '--author', 'dana', '--no-activate'])).toBe(
      'apply.sh: revision 2 saved; revision 1 stays current; checked 3 host(s)\n',
    );
    expect(await sb.ok(['template', 'pin', 'apply.sh', '2', '--host', 'b2'])).toBe("apply.sh: host 'b2' pinned to revision 2; checked 1 host(s)\n");
    expect(await sb.ok(['template', 'render', 'apply.sh', '--host', 'b2'])).toContain('\n# v2\n');
    expect(await sb.ok(['template', 'render', 'apply.sh', '--host', 'b1'])).not.toContain('# v2');
    expect(await sb.ok(['template', 'pins'])).toMatch(/\napply\.sh\s+2\s+b2\s+-\s+admin /);
    expect(await sb.ok(['template', 'unpin', 'apply.sh', '--host', 'b2'])).toBe("apply.sh: host 'b2' unpinned (was revision 2)\n");
    expect(await sb.ok(['template', 'rollback', 'apply.sh', '2'])).toBe('apply.sh: revision 2 is current again (was 1); checked 3 host(s)\n');
    expect(await sb.ok(['template', 'render', 'apply.sh', '--host', 'b1'])).toContain('\n# v2\n');
    expect(await sb.ok(['template', 'rollback', 'apply.sh', '1'])).toBe('apply.sh: revision 1 is current again (was 2); checked 3 host(s)\n');
    expect(await sb.ok(['template', 'render', 'apply.sh', '--host', 'b1', '--revision', '2'])).toContain('\n# v2\n');
    expect(await sb.ok(['template', 'history', 'apply.sh'])).toMatch(/\n\s+2\s+-\s+dana .* v2\n\s+1\s+\*\s+tabula /);
  });

  it('usage errors exit 2', async () => {
    expect((await sb.run(['template', 'pin', 'apply.sh', '2'])).code).toBe(2);
    expect((await sb.run(['template', 'pin', 'apply.sh', '2', '--host', 'b1', '--cluster', 'rack1'])).code).toBe(2);
    expect((await sb.run(['template', 'rollback', 'apply.sh', 'x'])).code).toBe(2);
    const unknown = await sb.run(['template', 'show', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('TEMPLATE_NOT_FOUND');
  });
});
