// Admin hook scripts (issue 4, apply step 3): shell scripts per cluster and per host that the apply
// script runs before it builds anything (before-apply) and after the last step (after-apply). Pure
// rules here; the store and the `sh -n` lint live in src/store/hook-store.ts.
import { invalid } from './errors.js';

export const HOOK_PHASES = ['before-apply', 'after-apply'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];
export type HookScope = 'cluster' | 'host';

/** A safe file name on the blade: no path, no leading dot or dash, no shell metacharacters. */
export const HOOK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Largest script accepted: hooks travel inside the apply script, which the blade keeps in tmpfs. */
export const MAX_HOOK_BYTES = 16 * 1024;
export const HOOK_ORDER_MIN = 0;
export const HOOK_ORDER_MAX = 999;
export const DEFAULT_HOOK_ORDER = 50;

export interface Hook {
  id: number;
  scope: HookScope;
  /** The cluster's or the host's name. */
  owner: string;
  phase: HookPhase;
  name: string;
  order: number;
  script: string;
  createdAt: string;
  updatedAt: string;
}

export interface HookInput {
  phase: string;
  name: string;
  order?: number;
  script: string;
}

export interface ValidHookInput {
  phase: HookPhase;
  name: string;
  order: number;
  script: string;
}

/** One hook as the apply script gets it (the `hooks` variable of apply.sh). */
export interface ApplyHook {
  scope: HookScope;
  phase: HookPhase;
  name: string;
  order: number;
  /** Where the apply script writes it, relative to $TABULA_HOOKS: PHASE/NN-SCOPE-NAME (NN = run position). */
  file: string;
  script: string;
}

/**
 * Checks a hook's name, phase, order and size; throws HOOK_NAME_INVALID, HOOK_PHASE_INVALID,
 * HOOK_ORDER_INVALID or HOOK_TOO_LARGE naming the owner (e.g. "host 'blade1'") and the rule.
 */
export function validateHookInput(owner: string, input: HookInput): ValidHookInput {
  const name = input.name;
  if (!HOOK_NAME_RE.test(name)) {
    throw invalid(
      'HOOK_NAME_INVALID',
      `${owner}: hook name '${name.slice(0, 80)}' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { name: name.slice(0, 80) },
    );
  }
  if (!(HOOK_PHASES as readonly string[]).includes(input.phase)) {
    throw invalid('HOOK_PHASE_INVALID', `${owner}: hook '${name}' has phase '${input.phase.slice(0, 40)}'; the phase is one of ${HOOK_PHASES.join(', ')}`, {
      name,
      phase: input.phase.slice(0, 40),
    });
  }
  const order = input.order ?? DEFAULT_HOOK_ORDER;
  if (!Number.isSafeInteger(order) || order < HOOK_ORDER_MIN || order > HOOK_ORDER_MAX) {
    throw invalid('HOOK_ORDER_INVALID', `${owner}: hook '${name}' has order ${order}; the order is a whole number from ${HOOK_ORDER_MIN} to ${HOOK_ORDER_MAX}`, { name });
  }
  const bytes = Buffer.byteLength(input.script, 'utf8');
  if (bytes > MAX_HOOK_BYTES) {
    throw invalid('HOOK_TOO_LARGE', `${owner}: hook '${name}' is ${bytes} bytes; a hook script is at most ${MAX_HOOK_BYTES} bytes`, { name, bytes });
  }
  if (input.script.trim() === '' || input.script.includes('\u0000')) {
    throw invalid('HOOK_SCRIPT_INVALID', `${owner}: hook '${name}' must hold a non-empty script without NUL bytes`, { name });
  }
  return { phase: input.phase as HookPhase, name, order, script: input.script };
}

const byOrder = (a: Hook, b: Hook): number => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The hooks a host's apply script carries, in run order: per phase, the cluster's hooks before the
 * host's, each group by order then name.
 */
export function applyHooks(clusterHooks: readonly Hook[], hostHooks: readonly Hook[]): ApplyHook[] {
  const out: ApplyHook[] = [];
  for (const phase of HOOK_PHASES) {
    const list = [...clusterHooks.filter((h) => h.phase === phase).sort(byOrder), ...hostHooks.filter((h) => h.phase === phase).sort(byOrder)];
    list.forEach((h, i) => {
      out.push({ scope: h.scope, phase, name: h.name, order: h.order, file: `${phase}/${String(i + 1).padStart(2, '0')}-${h.scope}-${h.name}`, script: h.script });
    });
  }
  return out;
}
