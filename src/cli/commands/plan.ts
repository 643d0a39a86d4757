// tabula plan H [--format yaml|json]
import { type Command, Option } from 'commander';
import { type PlanFormat, formatPlan } from '../../domain/plan.js';
import { type Session, action } from '../context.js';

export function registerPlan(program: Command, session: Session): void {
  program
    .command('plan')
    .description('print the plan the host applies at boot (refused while the host has errors)')
    .argument('<host>', 'host name or id')
    .addOption(new Option('--format <format>', 'output format (default yaml; json with --json)').choices(['yaml', 'json']))
    .action(
      action<{ format?: PlanFormat }>(session, (ctx, [ref], o) => {
        const plan = ctx.engine().getPlan(ref as string);
        ctx.out(formatPlan(plan, o.format ?? (ctx.json ? 'json' : 'yaml')));
      }),
    );
}
