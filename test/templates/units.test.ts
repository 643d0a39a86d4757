// The pure pieces under the template service: unified diff, lint, the source check of the sandbox.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/templates/diff.js';
import { BLADE_SHELL, lintBladeShell, lintIpxe, lintShell } from '../../src/templates/lint.js';
import { checkTemplateSource, compileTemplate, createTemplateEnv } from '../../src/templates/sandbox.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts and shows one hunk with context', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('');
    const from = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n';
    const to = 'l1\nl2\nl3\nl4\nX\nl6\nl7\nl8\n';
    expect(unifiedDiff(from, to, { fromLabel: 'old', toLabel: 'new' })).toBe('--- old\n+++ new\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+X\n l6\n l7\n l8\n');
  });

  it('splits distant changes into hunks and handles pure insertions at the start', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `n${i}`);
    const to = [...lines];
    to[1] = 'A';
    to[18] = 'B';
    const d = unifiedDiff(`${lines.join('\n')}\n`, `${to.join('\n')}\n`);
    expect(d.match(/^@@ /gm)).toHaveLength(2);
    expect(unifiedDiff('x\n', 'new\nx\n')).toBe('--- a\n+++ b\n@@ -1,1 +1,2 @@\n+new\n x\n');
    expect(unifiedDiff('', 'x\n')).toBe('--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n');
  });
});

describe('lint', () => {
  it('sh -n accepts a valid script and names the line of a broken one', async () => {
    expect(await lintShell('#!/bin/sh\nset -eu\necho "$1"\n')).toBeNull();
    const p = await lintShell('echo one\necho two\nif true; then\n  echo three\n');
    expect(p?.line).toBe(5);
    expect(p?.message).toMatch(/expecting "fi"|syntax error/i);
    expect(await lintShell('echo "unterminated\n')).not.toBeNull();
  });

  it.skipIf(!existsSync(BLADE_SHELL[0]))("lints as the blade's busybox ash parses: what it runs passes, what it refuses is refused with a line", async () => {
    // dash (/bin/sh here) refuses the function keyword; the blade's busybox ash runs it.
    const fn = 'function f { echo hi; }\nf\n';
    expect(await lintShell(fn)).not.toBeNull();
    expect(await lintBladeShell(fn)).toBeNull();
    expect(await lintBladeShell('echo one\nif then fi\n')).toMatchObject({ line: 2, message: expect.stringMatching(/unexpected/) });
    expect(await lintBladeShell('cat <<<"here-string"\n')).not.toBeNull();
    expect(await lintBladeShell('#!/bin/sh\nset -eu\necho "$1"\n')).toBeNull();
  });

  it('sh -n executes nothing', async () => {
    expect(await lintShell('touch /tmp/tabula-lint-must-not-exist-$$\nexit 3\n')).toBeNull();
  });

  it('iPXE needs #!ipxe on line 1', () => {
    expect(lintIpxe('#!ipxe\necho hi\n')).toBeNull();
    expect(lintIpxe('echo hi\n#!ipxe\n')).toMatchObject({ line: 1 });
  });
});

describe('sandbox', () => {
  const env = createTemplateEnv();
  it('reports syntax errors, unknown helpers, partials and decorators with their line', () => {
    expect(checkTemplateSource(env, '{{#each a}}{{shq this}}{{/each}}{{#if (eq a b)}}x{{/if}}')).toBeNull();
    expect(checkTemplateSource(env, 'a\nb\n{{#if x}}')).toMatchObject({ line: 3 });
    expect(checkTemplateSource(env, 'a\n{{readFile "/etc/passwd"}}')).toMatchObject({ line: 2, message: expect.stringContaining("unknown helper 'readFile'") });
    expect(checkTemplateSource(env, '{{> other}}')?.message).toContain('partials');
    expect(checkTemplateSource(env, '{{log plan}}')?.message).toContain("unknown helper 'log'");
    expect(checkTemplateSource(env, '{{#each a}}{{/if}}')).toMatchObject({ line: 1 });
  });

  it('reads kebab-case keys with the segment-literal syntax docs/templates.md shows', () => {
    const ctx = { plan: { state: { 'dns-resolver': { config: { server: ['10.0.0.53', '10.0.0.54'] } } } } };
    const t = compileTemplate<typeof ctx>(createTemplateEnv(), '{{#each plan.state.[dns-resolver].config.server}}{{shq this}} {{/each}}', 't');
    expect(t.render(ctx)).toBe("'10.0.0.53' '10.0.0.54' ");
  });

  it('keeps prototype properties out of reach', () => {
    // With prototype access off, Handlebars resolves these to nothing instead of the Function constructor.
    for (const src of ['{{plan.constructor}}', '{{plan.__proto__}}', '{{#with plan.constructor}}{{name}}{{/with}}', '{{lookup plan "constructor"}}']) {
      expect(compileTemplate<{ plan: { host: string } }>(createTemplateEnv(), `[${src}]`, 't').render({ plan: { host: 'h' } })).toBe('[]');
    }
    expect(compileTemplate<{ plan: { host: string } }>(createTemplateEnv(), '[{{plan.host}}]', 't').render({ plan: { host: 'h' } })).toBe('[h]');
  });
});
