// Admin hooks: the pure rules (name, phase, order, size), the run order, and the rendered apply
// script running them for real (fake `ip`): before-apply before the first command, after-apply after
// the last, the plan's facts in the environment, a failing hook stopping the script.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import { type Hook, MAX_HOOK_BYTES, applyHooks, validateHookInput } from '../../src/domain/hooks.js';
import { planHost } from '../../src/domain/plan.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { lintShell } from '../../src/templates/lint.js';
import { sampleHooks, samplePlan } from '../../src/templates/sample.js';
import { applySandbox } from '../support/apply-sandbox.js';
import { activeBackupVlanBridgeMgmt } from '../support/scenarios.js';

const work = mkdtempSync(join(tmpdir(), 'tabula-hooks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof TabulaError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'accepted';
};

const AT = '2026-01-01T00:00:00.000Z';
const hook = (id: number, scope: Hook['scope'], phase: Hook['phase'], name: string, order: number, script = `echo ${name}\n`): Hook => ({
  id,
  scope,
  owner: scope === 'host' ? 'h' : 'c',
  phase,
  name,
  order,
  script,
  createdAt: AT,
  updatedAt: AT,
});

describe('validateHookInput', () => {
  it('accepts a good hook and defaults the order to 50', () => {
    expect(validateHookInput("host 'h'", { phase: 'after-apply', name: 'ok.v1_x-y', script: 'true' })).toEqual({ phase: 'after-apply', name: 'ok.v1_x-y', order: 50, script: 'true' });
  });

  it.each([
    ['../x', 'HOOK_NAME_INVALID'],
    ['.hidden', 'HOOK_NAME_INVALID'],
    ['-rf', 'HOOK_NAME_INVALID'],
    ['a b', 'HOOK_NAME_INVALID'],
    ['a;b', 'HOOK_NAME_INVALID'],
    ['', 'HOOK_NAME_INVALID'],
    ['x'.repeat(65), 'HOOK_NAME_INVALID'],
  ])('name %j: %s', (name, code) => {
    expect(codeOf(() => validateHookInput("host 'h'", { phase: 'after-apply', name, script: 'true' }))).toMatch(new RegExp(`^${code}: host 'h': hook name`));
  });

  it('phase, order, size and empty scripts have their own codes naming the owner and the rule', () => {
    expect(codeOf(() => validateHookInput("cluster 'c'", { phase: 'pre', name: 'x', script: 'true' }))).toMatch(/^HOOK_PHASE_INVALID: cluster 'c': hook 'x' has phase 'pre'; the phase is one of before-apply, after-apply$/);
    for (const order of [-1, 1000, 1.5, Number.NaN]) expect(codeOf(() => validateHookInput("cluster 'c'", { phase: 'after-apply', name: 'x', order, script: 'true' }))).toMatch(/^HOOK_ORDER_INVALID/);
    expect(codeOf(() => validateHookInput("cluster 'c'", { phase: 'after-apply', name: 'x', script: 'é'.repeat(MAX_HOOK_BYTES / 2 + 1) }))).toMatch(/^HOOK_TOO_LARGE: .* at most 16384 bytes/);
    expect(codeOf(() => validateHookInput("cluster 'c'", { phase: 'after-apply', name: 'x', script: 'x'.repeat(MAX_HOOK_BYTES) }))).toBe('accepted');
    expect(codeOf(() => validateHookInput("cluster 'c'", { phase: 'after-apply', name: 'x', script: ' \n' }))).toMatch(/^HOOK_SCRIPT_INVALID/);
    expect(codeOf(() => validateHookInput("cluster 'c'", { phase: 'after-apply', name: 'x', script: 'a\u0000b' }))).toMatch(/^HOOK_SCRIPT_INVALID/);
  });
});

describe('applyHooks', () => {
  it('per phase: cluster hooks first, then host hooks, each by order then name', () => {
    const out = applyHooks(
      [hook(1, 'cluster', 'after-apply', 'c-late', 90), hook(2, 'cluster', 'before-apply', 'c-b', 10), hook(3, 'cluster', 'before-apply', 'c-a', 10)],
      [hook(4, 'host', 'before-apply', 'h-first', 0), hook(5, 'host', 'after-apply', 'h-after', 1)],
    );
    expect(out.map((h) => h.file)).toEqual([
      'before-apply/01-cluster-c-a',
      'before-apply/02-cluster-c-b',
      'before-apply/03-host-h-first',
      'after-apply/01-cluster-c-late',
      'after-apply/02-host-h-after',
    ]);
  });
});

describe('the apply script with hooks', () => {
  it('passes sh -n with hostile hook text (quotes, heredocs, $)', async () => {
    const nasty = hook(1, 'host', 'before-apply', 'nasty', 1, "echo '$(touch pwned)' \"'\"; cat <<'END'\n'$HOME'\nEND\nprintf '%s\\n' \"\\$x\"\n");
    const text = renderApplyScript(samplePlan(), applyHooks([], [nasty]));
    expect(await lintShell(text)).toBeNull();
    expect(await lintShell(renderApplyScript(samplePlan(), sampleHooks()))).toBeNull();
  });

  function run(hooks: Hook[], clusterHooks: Hook[] = []): { code: number | null; out: string; calls: string[]; dir: string } {
    const sb = applySandbox(work, 'run');
    writeFileSync(sb.file, renderApplyScript(planHost(activeBackupVlanBridgeMgmt()), applyHooks(clusterHooks, hooks)));
    const r = spawnSync('sh', [sb.file], { env: { ...sb.env, CALLS: sb.log }, encoding: 'utf8', cwd: sb.dir });
    const calls = sb.calls();
    const dir = sb.dir;
    return { code: r.status, out: r.stdout + r.stderr, calls, dir };
  }

  it('runs before-apply hooks before the first command and after-apply hooks after the last, with the plan in the environment', () => {
    const plan = planHost(activeBackupVlanBridgeMgmt());
    const mark = (what: string): string => `printf '%s\\n' "hook ${what} $TABULA_HOOK_PHASE/$TABULA_HOOK_NAME host=$TABULA_HOST cluster=$TABULA_CLUSTER gen=$TABULA_GENERATION boot=$TABULA_BOOT_INTERFACE" >> "$CALLS"\n`;
    const r = run([hook(2, 'host', 'before-apply', 'host-b', 1, mark('B')), hook(3, 'host', 'after-apply', 'host-a', 1, mark('A'))], [hook(1, 'cluster', 'before-apply', 'clu', 99, mark('C'))]);
    expect(r.code, r.out).toBe(0);
    const env = `host=${plan.host} cluster=${plan.cluster} gen=${plan.generation} boot=${plan.bootInterface ?? ''}`;
    expect(r.calls[0]).toBe(`hook C before-apply/clu ${env}`);
    expect(r.calls[1]).toBe(`hook B before-apply/host-b ${env}`);
    expect(r.calls[2]?.startsWith('modprobe ') || r.calls[2]?.startsWith('ip ')).toBe(true);
    expect(r.calls.at(-1)).toBe(`hook A after-apply/host-a ${env}`);
    expect(r.calls.filter((c) => c.startsWith('hook'))).toHaveLength(3);
    expect(readFileSync(join(r.dir, 'hooks/results'), 'utf8')).toBe('before-apply\tclu\t0\nbefore-apply\thost-b\t0\nafter-apply\thost-a\t0\n');
    expect(r.out).toContain('tabula-step hook before-apply clu');
  });

  it('a failing before-apply hook stops the script before anything is built, and its exit is recorded', () => {
    const r = run([hook(1, 'host', 'before-apply', 'refuse', 1, 'echo no way\nexit 7\n'), hook(2, 'host', 'after-apply', 'never', 1, 'echo never >> "$CALLS"\n')]);
    expect(r.code).toBe(7);
    expect(r.calls).toEqual([]);
    expect(r.out).toContain('tabula: hook before-apply/refuse failed (exit 7)');
    expect(readFileSync(join(r.dir, 'hooks/results'), 'utf8')).toBe('before-apply\trefuse\t7\n');
  });

  it('a failing after-apply hook fails the script after the network steps ran', () => {
    const r = run([hook(1, 'host', 'after-apply', 'check', 1, 'false\n')]);
    expect(r.code).toBe(1);
    expect(r.calls.some((c) => c.startsWith('ip link add'))).toBe(true);
    expect(r.out).not.toContain('tabula-step done');
    expect(readFileSync(join(r.dir, 'hooks/results'), 'utf8')).toBe('after-apply\tcheck\t1\n');
  });
});

describe('the hooks table', () => {
  it('rows go with their owner (ON DELETE CASCADE)', async () => {
    const { openEngine } = await import('../../src/engine/index.js');
    const { hookServiceOf } = await import('../../src/store/hook-store.js');
    const o = openEngine({ dbPath: ':memory:' });
    try {
      o.engine.createHost({ name: 'gone' });
      await hookServiceOf(o.engine).save({ host: 'gone' }, { phase: 'after-apply', name: 'a', script: 'true' });
      expect(o.repo.dumpTables().hooks).toHaveLength(1);
      o.engine.deleteHost('gone');
      expect(o.repo.dumpTables().hooks).toHaveLength(0);
    } finally {
      o.close();
    }
  });
});
