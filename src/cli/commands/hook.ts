// tabula hook list|add|remove (--host H | --cluster C): admin hook scripts run by the apply script
// before it builds the network (before-apply) and after (after-apply). The same service as
// /api/v1/{clusters|hosts}/{ref}/hooks; every change bumps the generation of the hosts it reaches.
import type { Command } from 'commander';
import { HOOK_PHASES } from '../../domain/hooks.js';
import { type HookChange, type HookOwnerRef, hookServiceOf } from '../../store/hook-store.js';
import { type Ctx, type Session, action } from '../context.js';
import { UsageError, parseInteger } from '../parse.js';

interface OwnerOpts {
  host?: string;
  cluster?: string;
}

interface AddOpts extends OwnerOpts {
  phase: string;
  name: string;
  order?: string;
  file: string;
  replace?: boolean;
}

interface RemoveOpts extends OwnerOpts {
  phase: string;
  name: string;
}

function owner(o: OwnerOpts, verb: string): HookOwnerRef {
  if ((o.host === undefined) === (o.cluster === undefined)) throw new UsageError(`hook ${verb}: give exactly one of --host HOST or --cluster CLUSTER`);
  return o.host !== undefined ? { host: o.host } : { cluster: o.cluster as string };
}

function changed(ctx: Ctx, verb: string, r: HookChange): void {
  ctx.print(r, () => {
    const h = r.hook;
    const bumped = r.bumped.length ? r.bumped.map((b) => `${b.host} -> generation ${b.generation}`).join(', ') : 'no host';
    return `${h.scope} '${h.owner}': ${h.phase} hook '${h.name}' ${verb} (order ${h.order}); bumped ${bumped}\n`;
  });
}

export function registerHook(program: Command, session: Session): void {
  const cmd = program.command('hook').description(`admin hook scripts per cluster or host, run by the apply script (phases: ${HOOK_PHASES.join(', ')})`);

  cmd
    .command('list')
    .description("list a cluster's hooks, or a host's own and the ones its apply script runs (cluster's first)")
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .action(
      action<OwnerOpts>(session, (ctx, _args, o) => {
        const r = hookServiceOf(ctx.engine()).list(owner(o, 'list'));
        ctx.print(r, () => {
          const rows = r.effective ?? r.hooks.map((h) => ({ scope: h.scope, phase: h.phase, name: h.name, order: h.order, file: '-', script: h.script }));
          if (!rows.length) return `${r.scope} '${r.owner}': no hooks\n`;
          return (
            ctx.fields([[r.scope, r.owner]]) +
            ctx.table(
              [
                { header: 'PHASE', value: (x: (typeof rows)[number]) => x.phase },
                { header: 'SCOPE', value: (x: (typeof rows)[number]) => x.scope },
                { header: 'ORDER', value: (x: (typeof rows)[number]) => String(x.order) },
                { header: 'NAME', value: (x: (typeof rows)[number]) => x.name },
                { header: 'BYTES', value: (x: (typeof rows)[number]) => String(Buffer.byteLength(x.script, 'utf8')) },
              ],
              rows,
            )
          );
        });
      }),
    );

  cmd
    .command('add')
    .description('add a hook script (checked: name, phase, order, size, sh -n); --replace changes an existing one')
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .requiredOption('--phase <phase>', HOOK_PHASES.join(' or '))
    .requiredOption('--name <name>', "letters, digits, '.', '_', '-'")
    .option('--order <n>', 'sort key 0-999 within owner and phase (default 50)')
    .requiredOption('--file <path>', 'the script (- for standard input)')
    .option('--replace', 'replace the script and order of the hook with this phase and name')
    .action(
      action<AddOpts>(session, async (ctx, _args, o) => {
        const who = owner(o, 'add');
        const order = o.order !== undefined ? parseInteger(o.order) : undefined;
        const script = await ctx.session.readInput(o.file);
        const r = await hookServiceOf(ctx.engine()).save(who, { phase: o.phase, name: o.name, script, ...(order !== undefined ? { order } : {}) }, o.replace === true);
        changed(ctx, 'saved', r);
      }),
    );

  cmd
    .command('remove')
    .description('remove a hook')
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .requiredOption('--phase <phase>', HOOK_PHASES.join(' or '))
    .requiredOption('--name <name>', 'hook name')
    .action(
      action<RemoveOpts>(session, (ctx, _args, o) => {
        changed(ctx, 'removed', hookServiceOf(ctx.engine()).remove(owner(o, 'remove'), o.phase, o.name));
      }),
    );
}
