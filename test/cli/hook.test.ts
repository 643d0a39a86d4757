// tabula hook list|add|remove: the CLI face of the admin hook scripts (same service as the API).
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, mac } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox();
  await sb.ok(['cluster', 'create', 'rack1']);
  await sb.ok(['host', 'create', 'blade1', '--cluster', 'rack1', '--boot-mac', mac(1)]);
});
afterEach(() => sb.cleanup());

const generation = async (): Promise<number> => (await sb.okJson<{ generation: number }>(['host', 'show', 'blade1'])).generation;

describe('tabula hook', () => {
  it('adds cluster and host hooks, lists them in run order, replaces and removes; each change bumps the generation', async () => {
    const g0 = await generation();
    const c = await sb.okJson<{ hook: { scope: string; name: string }; bumped: { host: string; generation: number }[] }>([
      'hook', 'add', '--cluster', 'rack1', '--phase', 'before-apply', '--name', 'prep', '--file', sb.file('prep.sh', 'echo prep\n'),
    ]);
    expect(c.hook).toMatchObject({ scope: 'cluster', name: 'prep' });
    expect(c.bumped).toEqual([{ host: 'blade1', generation: g0 + 1 }]);
    await sb.ok(['hook', 'add', '--host', 'blade1', '--phase', 'after-apply', '--name', 'post', '--order', '7', '--file', sb.file('post.sh', 'echo post\n')]);
    const list = await sb.okJson<{ hooks: { name: string }[]; effective: { file: string }[] }>(['hook', 'list', '--host', 'blade1']);
    expect(list.hooks.map((h) => h.name)).toEqual(['post']);
    expect(list.effective.map((h) => h.file)).toEqual(['before-apply/01-cluster-prep', 'after-apply/01-host-post']);
    const human = await sb.ok(['hook', 'list', '--host', 'blade1']);
    expect(human).toMatch(/before-apply\s+cluster\s+50\s+prep/);
    expect(human).toMatch(/after-apply\s+host\s+7\s+post/);
    const again = await sb.run(['--json', 'hook', 'add', '--host', 'blade1', '--phase', 'after-apply', '--name', 'post', '--file', sb.file('p2.sh', 'echo p2\n')]);
    expect(again.stderr).toContain('HOOK_EXISTS');
    expect(await sb.ok(['hook', 'add', '--host', 'blade1', '--phase', 'after-apply', '--name', 'post', '--replace', '--file', sb.file('p3.sh', 'echo p3\n')])).toMatch(
      /host 'blade1': after-apply hook 'post' saved \(order 50\); bumped blade1 -> generation/,
    );
    expect(await sb.ok(['hook', 'remove', '--cluster', 'rack1', '--phase', 'before-apply', '--name', 'prep'])).toMatch(/removed/);
    expect(await generation()).toBe(g0 + 4);
    expect(await sb.okJson(['hook', 'list', '--cluster', 'rack1'])).toEqual({ scope: 'cluster', owner: 'rack1', hooks: [] });
  });

  it('refuses bad hooks with their codes and leaves the database unchanged', async () => {
    await sb.ok(['hook', 'add', '--host', 'blade1', '--phase', 'after-apply', '--name', 'ok', '--file', sb.file('ok.sh', 'true\n')]);
    const dump = (): unknown => {
      const db = new Database(sb.db, { readonly: true });
      try {
        return [db.prepare('SELECT * FROM hooks ORDER BY id').all(), db.prepare('SELECT id, generation FROM hosts ORDER BY id').all()];
      } finally {
        db.close();
      }
    };
    const before = dump();
    for (const [args, code] of [
      [['--phase', 'after-apply', '--name', 'bad/name', '--file', sb.file('a.sh', 'true\n')], 'HOOK_NAME_INVALID'],
      [['--phase', 'later', '--name', 'x', '--file', sb.file('b.sh', 'true\n')], 'HOOK_PHASE_INVALID'],
      [['--phase', 'after-apply', '--name', 'x', '--file', sb.file('c.sh', 'x'.repeat(20000))], 'HOOK_TOO_LARGE'],
      [['--phase', 'after-apply', '--name', 'x', '--file', sb.file('d.sh', 'case x in\n')], 'HOOK_LINT_FAILED'],
      [['--phase', 'after-apply', '--name', 'x', '--order', '5000', '--file', sb.file('e.sh', 'true\n')], 'HOOK_ORDER_INVALID'],
    ] as const) {
      const r = await sb.run(['--json', 'hook', 'add', '--host', 'blade1', ...args]);
      expect(r.code, code).toBe(1);
      expect(r.stderr).toContain(code);
    }
    const gone = await sb.run(['--json', 'hook', 'remove', '--host', 'blade1', '--phase', 'after-apply', '--name', 'nope']);
    expect(gone.stderr).toContain('HOOK_NOT_FOUND');
    expect(dump()).toEqual(before);
  });

  it('usage errors: no owner, both owners', async () => {
    for (const argv of [
      ['hook', 'list'],
      ['hook', 'list', '--host', 'blade1', '--cluster', 'rack1'],
      ['hook', 'remove', '--phase', 'after-apply', '--name', 'x'],
    ]) {
      const r = await sb.run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
    }
  });
});
