// docs/templates.md carries the variable reference generated from src/templates/variables.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_NAMES } from '../../src/templates/service.js';
import { variablesMarkdown } from '../../src/templates/variables.js';

const FILE = 'docs/templates.md';
const BEGIN = '<!-- BEGIN GENERATED: template variables -->\n';
const END = '<!-- END GENERATED: template variables -->';

function withGenerated(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${FILE} lacks the generated-section markers`);
  return `${doc.slice(0, a + BEGIN.length)}${variablesMarkdown()}${doc.slice(b)}`;
}

describe('docs/templates.md', () => {
  it('holds the current generated variable reference', () => {
    let doc = readFileSync(FILE, 'utf8');
    const want = withGenerated(doc);
    if (process.env.TABULA_UPDATE_DOCS === '1' && want !== doc) {
      writeFileSync(FILE, want);
      doc = readFileSync(FILE, 'utf8');
    }
    expect(doc, `stale: run TABULA_UPDATE_DOCS=1 npx vitest run test/templates/docs.test.ts`).toBe(want);
  });

  it('the reference covers every template and reaches into the plan', () => {
    const md = variablesMarkdown();
    for (const name of TEMPLATE_NAMES) expect(md).toContain(`### \`${name}\``);
    expect(md).toContain('| `plan.state.interfaces[].[link-aggregation].options` |');
    expect(md).toContain('| `plan.state.networks.<name>.interface` |');
    expect(md).toContain('| `bond-create` | `iface`: `string`, `mode`: `string`, `options`: `record` |');
  });

  it('every variable the shipped templates use is in the reference', () => {
    const md = variablesMarkdown();
    // Top-level paths the shipped templates read outside {{#each}} blocks.
    for (const path of ['publicUrl', 'retrySeconds', 'host.name', 'host.generation', 'mac', 'token', 'kernelArgs', 'plan.host', 'plan.cluster', 'plan.generation', 'plan.steps']) {
      expect(md).toContain(`| \`${path}\` |`);
    }
  });
});
