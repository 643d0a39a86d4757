// Renders a HostPlan into the shell script the blade runs from a bare kernel (templates/apply.sh.hbs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostPlan } from '../domain/plan-types.js';
import { findTemplatesDir } from './paths.js';
import { type CompiledTemplate, compileTemplate, createTemplateEnv } from './sandbox.js';

export interface ApplyContext {
  plan: HostPlan;
}

let shipped: CompiledTemplate<ApplyContext> | undefined;

export function compileApplyTemplate(source: string): CompiledTemplate<ApplyContext> {
  return compileTemplate<ApplyContext>(createTemplateEnv(), source, 'apply.sh');
}

/** The shipped file (revision 1), without the template store; the boot chain renders through TemplateService. */
export function renderApplyScript(plan: HostPlan): string {
  shipped ??= compileApplyTemplate(readFileSync(join(findTemplatesDir(), 'apply.sh.hbs'), 'utf8'));
  return shipped.render({ plan });
}
