// docs/model.md must document every error code the engine can emit: this test fails when one is added without docs.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('docs/model.md', () => {
  it('lists every error code used in src/domain and src/engine', () => {
    const doc = readFileSync('docs/model.md', 'utf8');
    const found = new Set<string>();
    for (const file of [...sources('src/domain'), ...sources('src/engine')]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)'/g)) found.add(m[1] as string);
    }
    expect(found.size).toBeGreaterThan(60);
    const missing = [...found].filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
