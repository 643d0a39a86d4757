// The built-in sample host: a valid configuration whose plan the shipped apply.sh renders into a script
// that passes sh -n; on a database without renderable hosts it is what saves are checked against.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import { validateHost } from '../../src/domain/validate.js';
import { type OpenedEngine, openEngine } from '../../src/engine/index.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { lintShell } from '../../src/templates/lint.js';
import { sampleHooks, sampleHostConfig, samplePlan } from '../../src/templates/sample.js';
import { TemplateService } from '../../src/templates/service.js';

let opened: OpenedEngine | undefined;
afterEach(() => {
  opened?.close();
  opened = undefined;
});

describe('the sample host', () => {
  it('is a valid configuration whose plan uses bonds, VLANs, a bridge, addresses and DHCP', async () => {
    expect(validateHost(sampleHostConfig()).filter((v) => v.severity === 'error')).toEqual([]);
    const ops = new Set(samplePlan().steps.map((s) => s.op));
    for (const op of ['bond-create', 'bond-add-port', 'vlan-create', 'bridge-create', 'link-mtu', 'addr-add', 'dhcp', 'dns', 'custom']) expect(ops).toContain(op);
    expect(await lintShell(renderApplyScript(samplePlan()))).toBeNull();
    expect(await lintShell(renderApplyScript(samplePlan(), sampleHooks()))).toBeNull();
  });

  it('stands in when no host can be rendered: a broken apply.sh is refused on an empty database', async () => {
    opened = openEngine({ dbPath: ':memory:' });
    const svc = new TemplateService(opened.engine, opened.repo);
    const shipped = readFileSync('templates/apply.sh.hbs', 'utf8');
    const broken = shipped.replace('{{/each}}\n{{#each hooks}}\n{{#if (eq phase "after-apply")}}', '{{#if (eq op "dns")}}\ncase x in\n{{/if}}\n{{/each}}\n{{#each hooks}}\n{{#if (eq phase "after-apply")}}');
    expect(broken).not.toBe(shipped);
    svc.list(); // seeds revision 1
    const before = opened.repo.dumpTables();
    await expect(svc.save('apply.sh', { source: broken, message: 'broken' })).rejects.toSatisfy(
      (e: unknown) => e instanceof TabulaError && e.code === 'TEMPLATE_LINT_FAILED' && e.details.host === '(sample)',
    );
    const after = opened.repo.dumpTables();
    expect(after.template_revisions).toEqual(before.template_revisions);
    expect(after.template_current).toEqual(before.template_current);
    expect((after.template_revisions as unknown[]).length).toBe(3);
    const ok = await svc.save('apply.sh', { source: shipped.replace('set -eu\n', 'set -eu\n# ok\n'), message: 'fine' });
    expect(ok.checked).toEqual(['(sample)']);
  });
});
