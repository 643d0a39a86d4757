// tabula boot-files show|set (--host H | --cluster C): the per-cluster and per-host replacements of the
// DHCP boot file map (option 93 arch -> file), the same service as /api/v1/{clusters|hosts}/{ref}/boot-files.
import type { Command } from 'commander';
import { BOOT_FILE_KEYS, type BootFileMap, type BootFilePatch } from '../../boot/dhcp/boot-files.js';
import { bootFileServiceOf } from '../../store/boot-file-store.js';
import { type Ctx, type Session, action } from '../context.js';
import { UsageError } from '../parse.js';

interface OwnerOpts {
  host?: string;
  cluster?: string;
}

interface SetOpts extends OwnerOpts {
  unset?: string[];
}

function owner(o: OwnerOpts, verb: string): { host: string } | { cluster: string } {
  if ((o.host === undefined) === (o.cluster === undefined)) throw new UsageError(`boot-files ${verb}: give exactly one of --host HOST or --cluster CLUSTER`);
  return o.host !== undefined ? { host: o.host } : { cluster: o.cluster as string };
}

/** KEY=VALUE words; the service validates keys and values (BOOT_FILE_KEY_UNKNOWN, BOOT_FILE_INVALID). */
export function parseAssignments(words: readonly string[], unset: readonly string[]): BootFilePatch {
  const patch: Record<string, string | null> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`'${w}' is not KEY=VALUE (keys: ${BOOT_FILE_KEYS.join(', ')})`);
    patch[w.slice(0, eq)] = w.slice(eq + 1);
  }
  for (const k of unset) {
    if (k in patch) throw new UsageError(`'${k}' is both set and unset`);
    patch[k] = null;
  }
  if (Object.keys(patch).length === 0) throw new UsageError('boot-files set: nothing to change; give KEY=VALUE or --unset KEY');
  return patch as BootFilePatch;
}

function render(ctx: Ctx, title: readonly (readonly [string, unknown])[], files: BootFileMap, effective?: BootFileMap): string {
  const keys = BOOT_FILE_KEYS.filter((k) => files[k] !== undefined || effective?.[k] !== undefined);
  const rows = keys.map((k) => ({ key: k, own: files[k] ?? '', effective: effective?.[k] ?? files[k] ?? '' }));
  const table = rows.length
    ? ctx.table(
        [
          { header: 'KEY', value: (r: (typeof rows)[number]) => r.key },
          { header: 'OWN', value: (r: (typeof rows)[number]) => r.own || '-' },
          ...(effective ? [{ header: 'EFFECTIVE', value: (r: (typeof rows)[number]) => r.effective }] : []),
        ],
        rows,
      )
    : '(no overrides: the server defaults apply)\n';
  return ctx.fields(title) + table;
}

function show(ctx: Ctx, who: { host: string } | { cluster: string }, patch?: BootFilePatch): void {
  const service = bootFileServiceOf(ctx.engine());
  if ('host' in who) {
    const r = patch ? service.patchHost(who.host, patch) : service.hostFiles(who.host);
    ctx.print(r, () => render(ctx, [['host', r.host], ['cluster', r.cluster]], r.files, r.effective));
  } else {
    const r = patch ? service.patchCluster(who.cluster, patch) : service.clusterFiles(who.cluster);
    ctx.print(r, () => render(ctx, [['cluster', r.cluster]], r.files));
  }
}

export function registerBootFiles(program: Command, session: Session): void {
  const cmd = program
    .command('boot-files')
    .description(`per-cluster and per-host replacements of the DHCP boot file map (keys: ${BOOT_FILE_KEYS.join(', ')})`);

  cmd
    .command('show')
    .description("show a cluster's entries, or a host's own and effective ones (cluster, then host)")
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .action(action<OwnerOpts>(session, (ctx, _args, o) => show(ctx, owner(o, 'show'))));

  cmd
    .command('set')
    .description('set entries (KEY=VALUE) or remove them (--unset KEY), in one transaction')
    .argument('[assignments...]', 'KEY=VALUE, e.g. uefiX64=snponly.efi')
    .option('--host <host>', 'host name or id')
    .option('--cluster <cluster>', 'cluster name or id')
    .option('--unset <key>', 'remove an entry (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .action(
      action<SetOpts>(session, (ctx, [words], o) => {
        const who = owner(o, 'set');
        show(ctx, who, parseAssignments((words as string[] | undefined) ?? [], o.unset ?? []));
      }),
    );
}
