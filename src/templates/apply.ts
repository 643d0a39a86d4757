// Renders a HostPlan into the shell script the blade runs from a bare kernel (templates/apply.sh.hbs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplyHook } from '../domain/hooks.js';
import type { HostPlan } from '../domain/plan-types.js';
import { findTemplatesDir } from './paths.js';
import { type CompiledTemplate, compileTemplate, createTemplateEnv } from './sandbox.js';

export interface ApplyContext {
  plan: HostPlan;
  /** Admin hook scripts, in run order (src/domain/hooks.ts applyHooks). */
  hooks: ApplyHook[];
}

let shipped: CompiledTemplate<ApplyContext> | undefined;

export function compileApplyTemplate(source: string): CompiledTemplate<ApplyContext> {
  return compileTemplate<ApplyContext>(createTemplateEnv(), source, 'apply.sh');
}

/** The shipped file (revision 1), without the template store; the boot chain renders through TemplateService. */
export function renderApplyScript(plan: HostPlan, hooks: ApplyHook[] = []): string {
  shipped ??= compileApplyTemplate(readFileSync(join(findTemplatesDir(), 'apply.sh.hbs'), 'utf8'));
  return shipped.render({ plan, hooks });
}
