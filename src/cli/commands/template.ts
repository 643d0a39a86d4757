// tabula template list | show | history | pins | render | diff | save | rollback | pin | unpin
// Admin-editable templates (src/templates/service.ts): `show` and `render` print the text as is, so it
// can be redirected to a file, edited and given back to `diff` and `save`.
import type { Command } from 'commander';
import type { Style } from '../format.js';
import {
  type BlastRadius,
  DEFAULT_BOOT_SETTINGS,
  type HostNote,
  type PinTargetRef,
  type PinView,
  type RevisionInfo,
  type TemplateService,
  type TemplateSummary,
  templateServiceFor,
} from '../../templates/service.js';
import { type Column, cell } from '../format.js';
import { type Ctx, type Session, action } from '../context.js';
import { UsageError, parseInteger } from '../parse.js';

interface TargetOpts {
  host?: string;
  cluster?: string;
  author?: string;
}

function service(ctx: Ctx): TemplateService {
  const { engine, repo } = ctx.session.open(ctx.globals);
  return templateServiceFor(engine, repo);
}

function revisionArg(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new UsageError(`revision '${value}' must be 1 or more`);
  return n;
}

function target(o: TargetOpts, verb: string): PinTargetRef {
  if (o.host !== undefined && o.cluster === undefined) return { host: o.host };
  if (o.cluster !== undefined && o.host === undefined) return { cluster: o.cluster };
  throw new UsageError(`template ${verb}: give exactly one of --host and --cluster`);
}

const summaryColumns: Column<TemplateSummary>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'CURRENT', value: (t) => t.current, align: 'right' },
  { header: 'REVISIONS', value: (t) => t.revisions, align: 'right' },
  { header: 'PINS', value: (t) => t.pins, align: 'right' },
  { header: 'OUTPUT', value: (t) => t.output },
  { header: 'PER HOST', value: (t) => t.perHost },
  { header: 'UPDATED BY', value: (t) => t.updatedBy },
  { header: 'UPDATED', value: (t) => t.updatedAt },
];

const revisionColumns: Column<RevisionInfo>[] = [
  { header: 'REV', value: (r) => r.revision, align: 'right' },
  { header: 'CURRENT', value: (r) => (r.current ? '*' : '') },
  { header: 'AUTHOR', value: (r) => r.author },
  { header: 'CREATED', value: (r) => r.createdAt },
  { header: 'MESSAGE', value: (r) => r.message },
];

const pinColumns: Column<PinView>[] = [
  { header: 'TEMPLATE', value: (p) => p.name },
  { header: 'REV', value: (p) => p.revision, align: 'right' },
  { header: 'HOST', value: (p) => p.host },
  { header: 'CLUSTER', value: (p) => p.cluster },
  { header: 'AUTHOR', value: (p) => p.author },
  { header: 'CREATED', value: (p) => p.createdAt },
];

const noteLines = (title: string, notes: HostNote[]): string =>
  notes.length ? `${title}:\n${notes.map((n) => `  ${n.host}: ${n.code}: ${n.message}\n`).join('')}` : '';

const hostList = (hosts: string[]): string => (hosts.length > 8 ? `${hosts.slice(0, 8).join(', ')} and ${hosts.length - 8} more` : hosts.join(', '));

/** Groups first (the diff under a header naming its hosts), then the hosts the change does not reach. */
export function blastRadiusText(d: BlastRadius, style: Style = { color: false }): string {
  const paint = (line: string): string => {
    if (!style.color) return line;
    if (line.startsWith('+') && !line.startsWith('+++')) return `\x1b[32m${line}\x1b[39m`;
    if (line.startsWith('-') && !line.startsWith('---')) return `\x1b[31m${line}\x1b[39m`;
    return line;
  };
  let out = `${d.name}: against current revision ${d.current}: ${d.changed} host(s) change in ${d.groups.length} group(s), ${d.unchanged.length} unchanged, ${d.pinned.length} pinned, ${d.failed.length} failed, ${d.skipped.length} skipped\n`;
  d.groups.forEach((g, i) => {
    out += `\n# group ${i + 1}: ${g.hosts.length} host(s): ${hostList(g.hosts)}\n`;
    out += g.diff.split('\n').map(paint).join('\n');
  });
  if (d.unchanged.length) out += `\nunchanged: ${hostList(d.unchanged)}\n`;
  if (d.pinned.length) out += `pinned (not reached): ${d.pinned.map((p) => `${p.host}@${p.revision} (${p.via})`).join(', ')}\n`;
  out += noteLines('failed to render', d.failed);
  out += noteLines('skipped', d.skipped);
  return out;
}

export function registerTemplate(program: Command, session: Session): void {
  const template = program.command('template').description('admin-editable boot templates: revisions, preview, blast-radius diff, save, rollback, canary pins');

  template
    .command('list')
    .description('list the templates with their current revision')
    .action(
      action(session, (ctx) => {
        const list = service(ctx).list();
        ctx.print(list, () => ctx.table(summaryColumns, list));
      }),
    );

  template
    .command('show')
    .description('print the source of the current revision (or of --revision N)')
    .argument('<name>', 'boot.ipxe, host.ipxe or apply.sh')
    .option('--revision <n>', 'revision number', revisionArg)
    .action(
      action<{ revision?: number }>(session, (ctx, [name], o) => {
        const r = service(ctx).show(name as string, o.revision);
        ctx.print(r, () => r.source);
      }),
    );

  template
    .command('history')
    .description('every revision, newest first (* marks the current one)')
    .argument('<name>', 'template name')
    .action(
      action(session, (ctx, [name]) => {
        const revs = service(ctx).history(name as string);
        ctx.print(revs, () => ctx.table(revisionColumns, revs));
      }),
    );

  template
    .command('pins')
    .description('the pins (of one template, or of all)')
    .argument('[name]', 'template name')
    .action(
      action(session, (ctx, [name]) => {
        const pins = service(ctx).pins(name as string | undefined);
        ctx.print(pins, () => (pins.length ? ctx.table(pinColumns, pins) : 'no pins\n'));
      }),
    );

  template
    .command('render')
    .description('print exactly what a host gets (its effective revision), or would get from --revision or --file')
    .argument('<name>', 'template name')
    .option('--host <host>', 'host name or id (not needed for boot.ipxe)')
    .option('--revision <n>', 'render this revision', revisionArg)
    .option('--file <path>', 'render this proposed source (- for standard input)')
    .option('--public-url <url>', `server URL in iPXE scripts (default: $TABULA_PUBLIC_URL or ${DEFAULT_BOOT_SETTINGS.publicUrl})`)
    .option('--kernel-args <args>', `extra kernel arguments in host.ipxe (default: ${DEFAULT_BOOT_SETTINGS.kernelArgs})`)
    .action(
      action<{ host?: string; revision?: number; file?: string; publicUrl?: string; kernelArgs?: string }>(session, async (ctx, [name], o) => {
        if (o.revision !== undefined && o.file !== undefined) throw new UsageError('template render: give --revision or --file, not both');
        const svc = service(ctx);
        const publicUrl = o.publicUrl ?? ctx.session.env['TABULA_PUBLIC_URL'];
        svc.boot = { ...svc.boot, ...(publicUrl ? { publicUrl } : {}), ...(o.kernelArgs !== undefined ? { kernelArgs: o.kernelArgs } : {}) };
        const source = o.file !== undefined ? await ctx.session.readInput(o.file) : undefined;
        const r = svc.render(name as string, o.host ?? null, { ...(o.revision !== undefined ? { revision: o.revision } : {}), ...(source !== undefined ? { source } : {}) });
        ctx.print(r, () => r.text);
      }),
    );

  template
    .command('diff')
    .description('render a proposed source for every affected host and group the differences (blast radius); saves nothing')
    .argument('<name>', 'template name')
    .requiredOption('--file <path>', 'the proposed source (- for standard input)')
    .action(
      action<{ file: string }>(session, async (ctx, [name], o) => {
        const d = service(ctx).diff(name as string, await ctx.session.readInput(o.file));
        ctx.print(d, () => blastRadiusText(d, ctx.style));
      }),
    );

  template
    .command('save')
    .description('save a new revision after compiling it and linting its output for every affected host')
    .argument('<name>', 'template name')
    .requiredOption('--file <path>', 'the new source (- for standard input)')
    .requiredOption('--message <text>', 'why (kept with the revision)')
    .option('--author <name>', 'who (default admin)')
    .option('--no-activate', 'keep the current revision; pin the new one to canaries first')
    .action(
      action<{ file: string; message: string; author?: string; activate: boolean }>(session, async (ctx, [name], o) => {
        const source = await ctx.session.readInput(o.file);
        const r = await service(ctx).save(name as string, { source, message: o.message, activate: o.activate, ...(o.author !== undefined ? { author: o.author } : {}) });
        ctx.print(r, () => {
          const state = r.activated ? `now current (was ${r.previous})` : `saved; revision ${r.previous} stays current`;
          return `${r.revision.name}: revision ${r.revision.revision} ${state}; checked ${r.checked.length} host(s)\n${noteLines('skipped', r.skipped)}`;
        });
      }),
    );

  template
    .command('rollback')
    .description('make an older revision current again (its output is linted for the affected hosts first)')
    .argument('<name>', 'template name')
    .argument('<revision>', 'revision number', revisionArg)
    .option('--author <name>', 'who (default admin)')
    .action(
      action<{ author?: string }>(session, async (ctx, [name, revision], o) => {
        const r = await service(ctx).rollback(name as string, revision as number, o.author);
        ctx.print(r, () =>
          r.previous === r.current ? `${r.name}: revision ${r.current} is already current\n` : `${r.name}: revision ${r.current} is current again (was ${r.previous}); checked ${r.checked.length} host(s)\n${noteLines('skipped', r.skipped)}`,
        );
      }),
    );

  template
    .command('pin')
    .description('pin a revision for a host or a cluster (host pin > cluster pin > current)')
    .argument('<name>', 'template name')
    .argument('<revision>', 'revision number', revisionArg)
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .option('--author <name>', 'who (default admin)')
    .action(
      action<TargetOpts>(session, async (ctx, [name, revision], o) => {
        const t = target(o, 'pin');
        const r = await service(ctx).pin(name as string, revision as number, t, o.author);
        ctx.print(r, () => `${r.pin.name}: ${r.pin.host !== null ? `host '${r.pin.host}'` : `cluster '${r.pin.cluster}'`} pinned to revision ${r.pin.revision}; checked ${r.checked.length} host(s)\n${noteLines('skipped', r.skipped)}`);
      }),
    );

  template
    .command('unpin')
    .description('remove the pin of a host or a cluster')
    .argument('<name>', 'template name')
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .action(
      action<TargetOpts>(session, async (ctx, [name], o) => {
        const p = await service(ctx).unpin(name as string, target(o, 'unpin'));
        ctx.done({ unpinned: p }, `${p.name}: ${p.host !== null ? `host '${p.host}'` : `cluster '${cell(p.cluster)}'`} unpinned (was revision ${p.revision})`);
      }),
    );
}
