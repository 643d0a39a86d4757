// tabula host list | show | create | update | delete | check | nics | label | inventory | boots | report
import { type Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { TabulaError, type Violation } from '../../domain/errors.js';
import { HOST_STATES, type CustomProperties, type HostState, type InventoryReport, type Nic } from '../../domain/model.js';
import type { HostInput, HostPatch, HostReport, HostView, ReconcileResult } from '../../engine/types.js';
import type { InterfaceState } from '../../domain/plan-types.js';
import { describeDifference } from '../../domain/observed.js';
import type { BootRecord } from '../../boot/events.js';
import { type Ctx, type Session, action } from '../context.js';
import { type Column, cell, violationLines } from '../format.js';
import { UsageError, parseInteger, parseKey, parseKeyValue } from '../parse.js';

interface HostOpts {
  name?: string;
  cluster?: string;
  bootMac?: string | false;
  state?: HostState;
  set?: CustomProperties;
  unset?: string[];
}

const hostColumns: Column<HostView>[] = [
  { header: 'ID', value: (h) => h.id, align: 'right' },
  { header: 'NAME', value: (h) => h.name },
  { header: 'CLUSTER', value: (h) => h.cluster },
  { header: 'STATE', value: (h) => h.state },
  { header: 'BOOT MAC', value: (h) => h.bootMac },
  { header: 'GEN', value: (h) => h.generation, align: 'right' },
  { header: 'APPLIED', value: (h) => h.appliedGeneration, align: 'right' },
  { header: 'IN SYNC', value: (h) => h.inSync },
];

export const nicColumns: Column<Nic>[] = [
  { header: 'ID', value: (n) => n.id, align: 'right' },
  { header: 'NAME', value: (n) => n.name },
  { header: 'MAC', value: (n) => n.mac },
  { header: 'DRIVER', value: (n) => n.driver },
  { header: 'SPEED', value: (n) => n.speed, align: 'right' },
  { header: 'CARRIER', value: (n) => n.carrier },
  { header: 'PCI', value: (n) => n.pciAddress },
  { header: 'LABELS', value: (n) => n.labels },
];

/** k=v, k2=v2 */
export function customText(custom: CustomProperties): string {
  return Object.entries(custom)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function showHost(ctx: Ctx, h: HostView): void {
  ctx.print(h, () => {
    let out = ctx.fields([
      ['id', h.id],
      ['name', h.name],
      ['cluster', h.cluster],
      ['state', h.state],
      ['boot mac', h.bootMac],
      ['generation', h.generation],
      ['applied', h.appliedGeneration],
      ['in sync', h.inSync],
      ['custom', customText(h.custom)],
      ['last inventory', h.lastInventoryAt],
      ['created', h.createdAt],
      ['updated', h.updatedAt],
    ]);
    if (h.syncReasons.length) out += `out of sync:\n${h.syncReasons.map((r) => `  ${r.code}: ${r.message}\n`).join('')}`;
    return out;
  });
}

function showNic(ctx: Ctx, host: string, n: Nic): void {
  ctx.print(n, () =>
    ctx.fields([
      ['id', n.id],
      ['host', host],
      ['name', n.name],
      ['mac', n.mac],
      ['driver', n.driver],
      ['speed', n.speed],
      ['carrier', n.carrier],
      ['pci', n.pciAddress],
      ['labels', n.labels.join(', ')],
    ]),
  );
}

const inventorySchema = z.object({
  bootMac: z.string(),
  nics: z.array(
    z.object({
      mac: z.string(),
      name: z.string(),
      driver: z.string().nullable().optional(),
      speed: z.number().nullable().optional(),
      carrier: z.boolean().optional(),
      pciAddress: z.string().nullable().optional(),
    }),
  ),
});

/** The report's JSON text, shape-checked (the engine checks MACs, names and duplicates). */
export function parseInventory(text: string, source: string): InventoryReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TabulaError('bad-request', 'INVENTORY_MALFORMED', `inventory ${source} is not JSON: ${(e as Error).message}`, { file: source });
  }
  const parsed = inventorySchema.safeParse(data);
  if (!parsed.success) {
    const violations: Violation[] = parsed.error.issues.map((i) => ({
      code: 'INVENTORY_MALFORMED',
      message: `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`,
      severity: 'error',
    }));
    throw new TabulaError('bad-request', 'INVENTORY_MALFORMED', `inventory ${source} is not a report {bootMac, nics: [{mac, name, ...}]}`, {
      file: source,
      violations,
    });
  }
  const r = parsed.data;
  return {
    bootMac: r.bootMac,
    nics: r.nics.map((n) => ({
      mac: n.mac,
      name: n.name,
      ...(n.driver !== undefined ? { driver: n.driver } : {}),
      ...(n.speed !== undefined ? { speed: n.speed } : {}),
      ...(n.carrier !== undefined ? { carrier: n.carrier } : {}),
      ...(n.pciAddress !== undefined ? { pciAddress: n.pciAddress } : {}),
    })),
  };
}

function inventoryText(ctx: Ctx, r: ReconcileResult): string {
  const head = r.enrolled ? `host '${r.host.name}' enrolled in cluster '${r.host.cluster}'` : `host '${r.host.name}'`;
  let out = r.changes.length === 0 ? `${head}: no changes\n` : `${head}: ${r.changes.length} change(s)\n`;
  if (r.changes.length) {
    out += ctx.table(
      [
        { header: 'CHANGE', value: (c) => c.kind },
        { header: 'MAC', value: (c) => c.mac },
        { header: 'MESSAGE', value: (c) => c.message },
      ],
      r.changes,
    );
  }
  if (r.findings.length) out += violationLines(r.findings, ctx.style);
  return out;
}

/** `--set` merged into the current properties, `--unset` removed; undefined when neither was given. */
export function mergeCustom(current: () => CustomProperties, set: CustomProperties | undefined, unset: string[] | undefined): CustomProperties | undefined {
  if (!set && !unset) return undefined;
  const both = Object.keys(set ?? {}).filter((k) => unset?.includes(k));
  if (both.length) throw new UsageError(`--set and --unset both name ${both.map((k) => `'${k}'`).join(', ')}`);
  const next: CustomProperties = { ...current(), ...(set ?? {}) };
  for (const k of unset ?? []) delete next[k];
  return next;
}

/** Seconds of `at` after `start`, signed, in milliseconds precision: +1.234s, -0.500s. */
export function relativeSeconds(start: string, at: string): string {
  const ms = Date.parse(at) - Date.parse(start);
  const sign = ms < 0 ? '-' : '+';
  return `${sign}${(Math.abs(ms) / 1000).toFixed(3)}s`;
}

/** One block per boot: a header line, then one line per stage with its time relative to the start. */
export function bootsText(hostName: string, boots: readonly BootRecord[]): string {
  if (boots.length === 0) return `host '${hostName}': no boots recorded\n`;
  return boots
    .map((b) => {
      const head = `boot ${b.id}  ${b.startedAt}  ${b.mac}${b.current ? '  current' : ''}\n`;
      const rel = b.events.map((e) => relativeSeconds(b.startedAt, e.at));
      const relWidth = Math.max(0, ...rel.map((r) => r.length));
      const stageWidth = Math.max(0, ...b.events.map((e) => e.stage.length));
      const lines = b.events.map((e, i) => {
        const data = Object.entries(e.data)
          .map(([k, v]) => `${k}=${cell(v)}`)
          .join(' ');
        return `  ${(rel[i] as string).padStart(relWidth)}  ${e.stage.padEnd(stageWidth)}  ${data}`.trimEnd() + '\n';
      });
      return head + (lines.length ? lines.join('') : '  (no events)\n');
    })
    .join('\n');
}

const ifaceColumns: Column<InterfaceState>[] = [
  { header: 'NAME', value: (i) => i.name },
  { header: 'TYPE', value: (i) => i.type },
  { header: 'STATE', value: (i) => i.state },
  { header: 'MTU', value: (i) => i.mtu, align: 'right' },
  { header: 'CONTROLLER', value: (i) => i.controller },
  { header: 'BOND MODE', value: (i) => i['link-aggregation']?.mode },
  { header: 'MIIMON', value: (i) => i['link-aggregation']?.options.miimon, align: 'right' },
  { header: 'VLAN', value: (i) => (i.vlan ? `${i.vlan.id}@${i.vlan['base-iface']}` : null) },
  { header: 'PORTS', value: (i) => i['link-aggregation']?.port ?? i.bridge?.port.map((p) => p.name) },
  { header: 'ADDRESSES', value: (i) => [...(i.ipv4.address ?? []), ...(i.ipv6.address ?? [])].map((a) => `${a.ip}/${a['prefix-length']}`) },
];

/** The latest boot report: summary, the kernel's interfaces, the checks, the differences from the plan. */
export function reportText(ctx: Ctx, r: HostReport): string {
  let out = ctx.fields([
    ['host', r.host],
    ['generation', r.hostGeneration === r.generation ? r.generation : `${r.generation} (the host is at ${r.hostGeneration})`],
    ['received', r.receivedAt],
    ['boot', r.bootId],
    ['verified', r.verified],
    ['rolled back', r.rolledBack],
    ['fallback plan', r.fallback],
    ['in sync', r.inSync],
  ]);
  out += '\ninterfaces (as the kernel held them):\n';
  out += r.observed ? ctx.table(ifaceColumns, r.interfaces) : '  (the blade sent no kernel state)\n';
  out += '\nchecks:\n';
  out += r.checks.length ? ctx.table([
    { header: 'CHECK', value: (c: HostReport['checks'][number]) => c.name },
    { header: 'OK', value: (c: HostReport['checks'][number]) => (c.ok ? 'ok' : c.advisory ? 'FAILED (advisory)' : 'FAILED') },
    { header: 'DETAIL', value: (c: HostReport['checks'][number]) => c.detail },
  ], r.checks) : '  (none)\n';
  out += '\ndifferences from the plan:\n';
  if (!r.compared) out += '  (not compared: no kernel state, a fallback plan, or an older generation)\n';
  else out += r.differences.length ? r.differences.map((d) => `  ${describeDifference(d)}\n`).join('') : '  none\n';
  if (r.syncReasons.length) out += `\nout of sync:\n${r.syncReasons.map((x) => `  ${x.code}: ${x.message}\n`).join('')}`;
  return out;
}

function parseLimit(value: string): number {
  const n = parseInteger(value);
  if (n < 1 || n > 100) throw new InvalidArgumentError(`'${value}' is not between 1 and 100.`);
  return n;
}

function stateOption(description: string): Option {
  return new Option('--state <state>', description).choices(HOST_STATES);
}

export function registerHost(program: Command, session: Session): void {
  const host = program.command('host').description('hosts (blades): NICs, state, inventory, findings');

  host
    .command('list')
    .description('list hosts')
    .option('--cluster <cluster>', 'only hosts of this cluster')
    .addOption(stateOption('only hosts in this state'))
    .action(
      action<HostOpts>(session, (ctx, _args, o) => {
        const all = ctx.engine().listHosts({ ...(o.cluster !== undefined ? { cluster: o.cluster } : {}), ...(o.state ? { state: o.state } : {}) });
        ctx.print(all, () => ctx.table(hostColumns, all));
      }),
    );

  host
    .command('show')
    .description('show a host and why it is out of sync')
    .argument('<host>', 'host name or id')
    .action(action(session, (ctx, [ref]) => showHost(ctx, ctx.engine().getHost(ref as string))));

  host
    .command('create')
    .description('create a host (blades usually enrol themselves at boot)')
    .argument('<name>', 'host name')
    .option('--cluster <cluster>', 'cluster name or id (default: the default cluster)')
    .option('--boot-mac <mac>', 'MAC the host PXE-boots from')
    .addOption(stateOption('initial state (default new)'))
    .option('--set <key=value>', 'custom property (repeatable)', parseKeyValue)
    .action(
      action<HostOpts>(session, (ctx, [name], o) => {
        const input: HostInput = {
          name: name as string,
          ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
          ...(typeof o.bootMac === 'string' ? { bootMac: o.bootMac } : {}),
          ...(o.state ? { state: o.state } : {}),
          ...(o.set ? { custom: o.set } : {}),
        };
        showHost(ctx, ctx.engine().createHost(input));
      }),
    );

  host
    .command('update')
    .description('change a host')
    .argument('<host>', 'host name or id')
    .option('--name <name>', 'rename the host')
    .option('--cluster <cluster>', 'move the host to another cluster (its networks must exist there)')
    .option('--boot-mac <mac>', 'MAC the host PXE-boots from')
    .option('--no-boot-mac', 'forget the boot MAC')
    .addOption(stateOption('new state'))
    .option('--set <key=value>', 'set a custom property (repeatable)', parseKeyValue)
    .option('--unset <key>', 'remove a custom property (repeatable)', parseKey)
    .action(
      action<HostOpts>(session, (ctx, [ref], o) => {
        const patch: HostPatch = {
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
          ...(o.bootMac !== undefined ? { bootMac: o.bootMac === false ? null : o.bootMac } : {}),
          ...(o.state ? { state: o.state } : {}),
        };
        if (Object.keys(patch).length === 0 && !o.set && !o.unset) throw new UsageError('host update: nothing to change; give at least one option (see --help)');
        const custom = mergeCustom(() => ctx.engine().getHost(ref as string).custom, o.set, o.unset);
        if (custom) patch.custom = custom;
        showHost(ctx, ctx.engine().updateHost(ref as string, patch));
      }),
    );

  host
    .command('delete')
    .description('delete a host (not while active)')
    .argument('<host>', 'host name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const h = ctx.engine().getHost(ref as string);
        ctx.engine().deleteHost(h.id);
        ctx.done({ deleted: { host: h.name } }, `host '${h.name}' deleted`);
      }),
    );

  host
    .command('check')
    .description('validate a host as stored: errors and warnings (exit 1 when there are errors)')
    .argument('<host>', 'host name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const h = ctx.engine().getHost(ref as string);
        const findings = ctx.engine().checkHost(h.id);
        ctx.print(findings, () => (findings.length ? violationLines(findings, ctx.style) : `host '${h.name}': no findings\n`));
        if (findings.some((f) => f.severity === 'error')) ctx.fail(1);
      }),
    );

  host
    .command('nics')
    .description("list a host's NICs as last reported")
    .argument('<host>', 'host name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const nics = ctx.engine().listNics(ref as string);
        ctx.print(nics, () => ctx.table(nicColumns, nics));
      }),
    );

  host
    .command('label')
    .description("replace a NIC's labels (networks with the same label attach to it)")
    .argument('<host>', 'host name or id')
    .argument('<nic>', 'NIC name, MAC or id')
    .argument('[labels...]', 'the new labels')
    .option('--clear', 'remove all labels')
    .action(
      action<{ clear?: boolean }>(session, (ctx, [ref, nic, labels], o) => {
        const list = (labels as string[] | undefined) ?? [];
        if (o.clear && list.length) throw new UsageError('host label: give labels or --clear, not both');
        if (!o.clear && !list.length) throw new UsageError('host label: give at least one label, or --clear to remove them all');
        const h = ctx.engine().getHost(ref as string);
        showNic(ctx, h.name, ctx.engine().updateNic(h.id, nic as string, { labels: list }));
      }),
    );

  host
    .command('inventory')
    .description('report a NIC inventory as the blade would at boot, and print what changed')
    .argument('<host>', 'host name or id, or - to find the host by MAC (enrolling it when unknown)')
    .requiredOption('--file <path>', 'JSON report {"bootMac": ..., "nics": [{"mac", "name", ...}]}, or - for standard input')
    .action(
      action<{ file: string }>(session, async (ctx, [ref], o) => {
        const text = await ctx.session.readInput(o.file);
        const report = parseInventory(text, o.file === '-' ? '(standard input)' : `'${o.file}'`);
        const result = ctx.engine().reportInventory(ref === '-' ? null : (ref as string), report);
        ctx.print(result, () => inventoryText(ctx, result));
      }),
    );

  host
    .command('boots')
    .description("a host's boots, newest first, with the time of each stage since the boot started")
    .argument('<host>', 'host name or id')
    .option('--limit <n>', 'how many boots (1-100)', parseLimit, 10)
    .action(
      action<{ limit: number }>(session, (ctx, [ref], o) => {
        const h = ctx.engine().getHost(ref as string);
        const boots = ctx.bootTimeline().listBoots(h.id, o.limit);
        ctx.print(boots, () => bootsText(h.name, boots));
      }),
    );

  host
    .command('report')
    .description("a host's latest boot report: the interfaces its kernel held, the checks, the differences from the plan")
    .argument('<host>', 'host name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const r = ctx.engine().getHostReport(ref as string);
        ctx.print(r, () => reportText(ctx, r));
      }),
    );
}
