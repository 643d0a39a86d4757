// tabula bond list H | show H B | create H --mode M --members a,b [...] | update H B [...] | delete H B
import { type Command, Option } from 'commander';
import { type BondOptions, LACP_MODES, LACP_RATES, type LacpMode, type LacpRate, XMIT_HASH_POLICIES, type XmitHashPolicy } from '../../domain/model.js';
import type { BondInput, BondPatch, BondView } from '../../engine/types.js';
import { type Ctx, type Session, action } from '../context.js';
import type { Column } from '../format.js';
import { UsageError, parseInteger, parseList } from '../parse.js';

interface BondOpts {
  name?: string;
  mode?: string;
  members?: string[];
  miimon?: number;
  updelay?: number;
  downdelay?: number;
  arpInterval?: number;
  arpTarget?: string[];
  lacpRate?: LacpRate;
  xmitHashPolicy?: XmitHashPolicy;
  primary?: string;
  lacp?: LacpMode;
  mac?: string | false;
  label?: string[];
  clearLabels?: boolean;
}

const memberText = (b: BondView): string => b.members.map((m) => (m.present ? (m.name ?? m.mac) : `${m.mac}(missing)`)).join(',');

function primaryText(b: BondView): string | null {
  const m = b.members.find((x) => x.mac === b.primaryMember);
  return m?.name ? `${m.name} (${m.mac})` : b.primaryMember;
}

export function optionsText(o: BondOptions): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
}

const bondColumns: Column<BondView>[] = [
  { header: 'ID', value: (b) => b.id, align: 'right' },
  { header: 'NAME', value: (b) => b.name },
  { header: 'MODE', value: (b) => b.mode },
  { header: 'MEMBERS', value: memberText },
  { header: 'MAC', value: (b) => b.effectiveMac },
  { header: 'LABELS', value: (b) => b.labels },
  { header: 'PARTIAL', value: (b) => b.partial },
  { header: 'OPTIONS', value: (b) => optionsText(b.options) },
];

function showBond(ctx: Ctx, host: string, b: BondView): void {
  ctx.print(b, () =>
    ctx.fields([
      ['id', b.id],
      ['host', host],
      ['name', b.name],
      ['mode', b.mode],
      ['members', memberText(b)],
      ['primary member', primaryText(b)],
      ['mac', b.mac ?? (b.effectiveMac ? `${b.effectiveMac} (from the primary member)` : null)],
      ['labels', b.labels.join(', ')],
      ['partial', b.partial],
      ['options', optionsText(b.options)],
    ]),
  );
}

function bondOptions(cmd: Command, update: boolean): Command {
  cmd
    .option('--name <name>', update ? 'rename the bond' : 'bond name (default bondN, the smallest free N)')
    .addOption(new Option('--miimon <ms>', 'MII link monitoring interval').argParser(parseInteger))
    .addOption(new Option('--updelay <ms>', 'delay before enabling a recovered link').argParser(parseInteger))
    .addOption(new Option('--downdelay <ms>', 'delay before disabling a failed link').argParser(parseInteger))
    .addOption(new Option('--arp-interval <ms>', 'ARP link monitoring interval').argParser(parseInteger))
    .addOption(new Option('--arp-target <ips>', 'ARP monitoring targets, comma-separated').argParser(parseList))
    .addOption(new Option('--lacp-rate <rate>', '802.3ad LACPDU rate (lacp-time on Open vSwitch)').choices(LACP_RATES))
    .addOption(new Option('--lacp <mode>', 'LACP of an Open vSwitch bond (ovs clusters): off, passive or active').choices(LACP_MODES))
    .addOption(new Option('--xmit-hash-policy <policy>', 'transmit hash policy').choices(XMIT_HASH_POLICIES))
    .option('--primary <iface>', 'preferred member (active-backup, balance-tlb, balance-alb)')
    .option('--mac <mac>', 'explicit bond MAC (default: the primary member’s)')
    .option('--label <labels...>', update ? 'replace the bond’s labels' : 'labels (networks with the same label attach to the bond)');
  if (update) {
    cmd.option('--no-mac', 'drop the explicit MAC (use the primary member’s)').option('--clear-labels', 'remove all labels');
  }
  return cmd;
}

/** The bond options given on the command line (only those given). */
function givenOptions(o: BondOpts): BondOptions {
  return {
    ...(o.miimon !== undefined ? { miimon: o.miimon } : {}),
    ...(o.updelay !== undefined ? { updelay: o.updelay } : {}),
    ...(o.downdelay !== undefined ? { downdelay: o.downdelay } : {}),
    ...(o.arpInterval !== undefined ? { arp_interval: o.arpInterval } : {}),
    ...(o.arpTarget !== undefined ? { arp_ip_target: o.arpTarget } : {}),
    ...(o.lacpRate !== undefined ? { lacp_rate: o.lacpRate } : {}),
    ...(o.xmitHashPolicy !== undefined ? { xmit_hash_policy: o.xmitHashPolicy } : {}),
    ...(o.primary !== undefined ? { primary: o.primary } : {}),
    ...(o.lacp !== undefined ? { lacp: o.lacp } : {}),
  };
}

export function registerBond(program: Command, session: Session): void {
  const bond = program.command('bond').description("a host's bonds");

  bond
    .command('list')
    .description("list a host's bonds")
    .argument('<host>', 'host name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const all = ctx.engine().listBonds(ref as string);
        ctx.print(all, () => ctx.table(bondColumns, all));
      }),
    );

  bond
    .command('show')
    .description('show a bond')
    .argument('<host>', 'host name or id')
    .argument('<bond>', 'bond name or id')
    .action(
      action(session, (ctx, [ref, b]) => {
        const h = ctx.engine().getHost(ref as string);
        showBond(ctx, h.name, ctx.engine().getBond(h.id, b as string));
      }),
    );

  bondOptions(
    bond
      .command('create')
      .description("bond NICs; their networks and labels move onto the bond")
      .argument('<host>', 'host name or id')
      .requiredOption(
        '--mode <mode>',
        'bond mode: a kernel name (active-backup, 802.3ad, ...) or an alias (failover, link-aggregation, ...); on ovs clusters active-backup, balance-slb, balance-tcp or 802.3ad',
      )
      .requiredOption('--members <nics>', 'member NICs (names or MACs), comma-separated', parseList),
    false,
  ).action(
    action<BondOpts>(session, (ctx, [ref], o) => {
      const options = givenOptions(o);
      const input: BondInput = {
        mode: o.mode as string,
        members: o.members as string[],
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(Object.keys(options).length ? { options } : {}),
        ...(typeof o.mac === 'string' ? { mac: o.mac } : {}),
        ...(o.label ? { labels: o.label } : {}),
      };
      const h = ctx.engine().getHost(ref as string);
      showBond(ctx, h.name, ctx.engine().createBond(h.id, input));
    }),
  );

  bondOptions(
    bond
      .command('update')
      .description('change a bond (options given are merged into the current ones)')
      .argument('<host>', 'host name or id')
      .argument('<bond>', 'bond name or id')
      .option('--mode <mode>', 'bond mode')
      .option('--members <nics>', 'replace the members (names or MACs), comma-separated', parseList),
    true,
  ).action(
    action<BondOpts>(session, (ctx, [ref, b], o) => {
      if (o.label && o.clearLabels) throw new UsageError('bond update: give --label or --clear-labels, not both');
      const options = givenOptions(o);
      const patch: BondPatch = {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.mode !== undefined ? { mode: o.mode } : {}),
        ...(o.members !== undefined ? { members: o.members } : {}),
        ...(o.mac !== undefined ? { mac: o.mac === false ? null : o.mac } : {}),
        ...(o.label ? { labels: o.label } : o.clearLabels ? { labels: [] } : {}),
      };
      if (Object.keys(patch).length === 0 && Object.keys(options).length === 0) {
        throw new UsageError('bond update: nothing to change; give at least one option (see --help)');
      }
      const h = ctx.engine().getHost(ref as string);
      if (Object.keys(options).length) patch.options = { ...ctx.engine().getBond(h.id, b as string).options, ...options };
      showBond(ctx, h.name, ctx.engine().updateBond(h.id, b as string, patch));
    }),
  );

  bond
    .command('delete')
    .description("delete a bond; its networks move back to its primary member")
    .argument('<host>', 'host name or id')
    .argument('<bond>', 'bond name or id')
    .action(
      action(session, (ctx, [ref, b]) => {
        const h = ctx.engine().getHost(ref as string);
        const found = ctx.engine().getBond(h.id, b as string);
        ctx.engine().deleteBond(h.id, found.id);
        ctx.done({ deleted: { host: h.name, bond: found.name } }, `bond '${found.name}' deleted from host '${h.name}'`);
      }),
    );
}
