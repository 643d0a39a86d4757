// tabula attach list H | add H NETWORK IFACE [...] | update H ATT [...] | remove H ATT
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AttachmentQos, CustomProperties, Ipv4Config, Ipv6Config, QosLimit } from '../../domain/model.js';
import type { AttachmentInput, AttachmentPatch, AttachmentView } from '../../engine/types.js';
import { type Ctx, type Session, action } from '../context.js';
import type { Column } from '../format.js';
import { UsageError, parseIpv4, parseIpv6, parseKey, parseKeyValue } from '../parse.js';
import { customText, mergeCustom } from './host.js';

interface AttachOpts {
  interface?: string;
  ipv4?: Ipv4Config;
  gateway?: string;
  ipv6?: Ipv6Config;
  gateway6?: string;
  set?: CustomProperties;
  unset?: string[];
  qosEgress?: QosLimit | 'none';
  qosIngress?: QosLimit | 'none';
}

const UNITS: Record<string, number> = { '': 1, k: 1, kbit: 1, m: 1000, mbit: 1000, g: 1_000_000, gbit: 1_000_000 };

/** 100 | 100kbit | 20mbit | 1gbit → kbit (the engine's unit); the engine checks the ranges. */
function kbit(text: string, what: string): number {
  const m = /^([0-9]+)([a-z]*)$/.exec(text.trim().toLowerCase());
  const unit = m ? UNITS[m[2] as string] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`'${text}' is not a ${what} (a whole number with kbit, mbit or gbit).`);
  return Number(m[1]) * unit;
}

/** RATE/BURST, e.g. 100mbit/10mbit (kbit when no unit); 'none' removes the limit. */
export function parseQosLimit(value: string): QosLimit | 'none' {
  if (value === 'none') return 'none';
  const [rate, burst, more] = value.split('/');
  if (rate === undefined || burst === undefined || more !== undefined) throw new InvalidArgumentError(`'${value}' is not RATE/BURST (for example 100mbit/10mbit).`);
  return { maxRate: kbit(rate, 'rate'), maxBurst: kbit(burst, 'burst') };
}

export function qosText(q: AttachmentQos): string | null {
  const one = (l: QosLimit): string => `${l.maxRate}kbit/${l.maxBurst}kbit`;
  const parts = [...(q.egress ? [`egress ${one(q.egress)}`] : []), ...(q.ingress ? [`ingress ${one(q.ingress)}`] : [])];
  return parts.length ? parts.join(', ') : null;
}

/** The QoS after --qos-egress/--qos-ingress, from `current`; undefined when neither is given. */
function qosFrom(o: AttachOpts, current: () => AttachmentQos): AttachmentQos | undefined {
  if (o.qosEgress === undefined && o.qosIngress === undefined) return undefined;
  const next: AttachmentQos = { ...current() };
  for (const [key, given] of [
    ['egress', o.qosEgress],
    ['ingress', o.qosIngress],
  ] as const) {
    if (given === 'none') delete next[key];
    else if (given !== undefined) next[key] = given;
  }
  return next;
}

export function ipv4Text(c: Ipv4Config): string {
  if (c.method !== 'static') return c.method;
  return `${c.address}/${c.prefix}${c.gateway ? ` via ${c.gateway}` : ''}`;
}

export function ipv6Text(c: Ipv6Config): string {
  if (c.method !== 'static') return c.method;
  return `${c.address}/${c.prefix}${c.gateway ? ` via ${c.gateway}` : ''}`;
}

const ifaceText = (a: AttachmentView): string => {
  const i = a.interface;
  const name = i.name ?? i.mac ?? (i.bondId !== null ? `bond #${i.bondId}` : '?');
  return i.present ? name : `${name}(missing)`;
};

const attachmentColumns: Column<AttachmentView>[] = [
  { header: 'ID', value: (a) => a.id, align: 'right' },
  { header: 'NETWORK', value: (a) => a.network },
  { header: 'INTERFACE', value: ifaceText },
  { header: 'KIND', value: (a) => a.interface.kind },
  { header: 'IPV4', value: (a) => ipv4Text(a.ipv4) },
  { header: 'IPV6', value: (a) => ipv6Text(a.ipv6) },
  { header: 'VIA LABEL', value: (a) => a.viaLabel },
  { header: 'CUSTOM', value: (a) => customText(a.custom) },
  { header: 'QOS', value: (a) => qosText(a.qos) },
];

function showAttachment(ctx: Ctx, host: string, a: AttachmentView): void {
  ctx.print(a, () =>
    ctx.fields([
      ['id', a.id],
      ['host', host],
      ['network', a.network],
      ['interface', ifaceText(a)],
      ['kind', a.interface.kind],
      ['mac', a.interface.mac],
      ['ipv4', ipv4Text(a.ipv4)],
      ['ipv6', ipv6Text(a.ipv6)],
      ['via label', a.viaLabel],
      ['custom', customText(a.custom)],
      ['qos', qosText(a.qos)],
    ]),
  );
}

/** --ipv4/--gateway and --ipv6/--gateway6 combined; a gateway needs a static address given with it. */
function addressing(o: AttachOpts): { ipv4?: Ipv4Config; ipv6?: Ipv6Config } {
  const out: { ipv4?: Ipv4Config; ipv6?: Ipv6Config } = {};
  if (o.gateway !== undefined) {
    if (o.ipv4?.method !== 'static') throw new UsageError('--gateway needs a static --ipv4 ADDRESS/PREFIX given with it');
    out.ipv4 = { ...o.ipv4, gateway: o.gateway };
  } else if (o.ipv4) out.ipv4 = o.ipv4;
  if (o.gateway6 !== undefined) {
    if (o.ipv6?.method !== 'static') throw new UsageError('--gateway6 needs a static --ipv6 ADDRESS/PREFIX given with it');
    out.ipv6 = { ...o.ipv6, gateway: o.gateway6 };
  } else if (o.ipv6) out.ipv6 = o.ipv6;
  return out;
}

function addressOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--ipv4 <config>', 'dhcp, none or ADDRESS/PREFIX (default: dhcp on the management network, else none)').argParser(parseIpv4))
    .option('--gateway <ip>', 'IPv4 default gateway (with a static --ipv4)')
    .addOption(new Option('--ipv6 <config>', 'none or ADDRESS/PREFIX').argParser(parseIpv6))
    .option('--gateway6 <ip>', 'IPv6 default gateway (with a static --ipv6)')
    .addOption(new Option('--qos-egress <rate/burst>', "limit what the host sends on this network, e.g. 100mbit/10mbit ('none' removes)").argParser(parseQosLimit))
    .addOption(new Option('--qos-ingress <rate/burst>', "limit what the host receives on this network ('none' removes)").argParser(parseQosLimit));
}

export function registerAttach(program: Command, session: Session): void {
  const attach = program.command('attach').description('networks attached to host interfaces, with their addresses');

  attach
    .command('list')
    .description("list a host's attachments (stored, and derived from labels)")
    .argument('<host>', 'host name or id')
    .action(
      action(session, (ctx, [ref]) => {
        const all = ctx.engine().listAttachments(ref as string);
        ctx.print(all, () => ctx.table(attachmentColumns, all));
      }),
    );

  attach
    .command('show')
    .description('show an attachment')
    .argument('<host>', 'host name or id')
    .argument('<attachment>', 'attachment id or network name')
    .action(
      action(session, (ctx, [ref, att]) => {
        const h = ctx.engine().getHost(ref as string);
        showAttachment(ctx, h.name, ctx.engine().getAttachment(h.id, att as string));
      }),
    );

  addressOptions(
    attach
      .command('add')
      .description('attach a network of the host’s cluster to a NIC or bond')
      .argument('<host>', 'host name or id')
      .argument('<network>', 'network name or id')
      .argument('<iface>', 'NIC name, NIC MAC or bond name'),
  )
    .option('--set <key=value>', 'custom property (repeatable)', parseKeyValue)
    .action(
      action<AttachOpts>(session, (ctx, [ref, network, iface], o) => {
        const input: AttachmentInput = {
          network: network as string,
          interface: iface as string,
          ...addressing(o),
          ...(o.set ? { custom: o.set } : {}),
        };
        const qos = qosFrom(o, () => ({}));
        if (qos) input.qos = qos;
        const h = ctx.engine().getHost(ref as string);
        showAttachment(ctx, h.name, ctx.engine().createAttachment(h.id, input));
      }),
    );

  addressOptions(
    attach
      .command('update')
      .description('move an attachment or change its addresses')
      .argument('<host>', 'host name or id')
      .argument('<attachment>', 'attachment id or network name')
      .option('--interface <iface>', 'move to this NIC or bond'),
  )
    .option('--set <key=value>', 'set a custom property (repeatable)', parseKeyValue)
    .option('--unset <key>', 'remove a custom property (repeatable)', parseKey)
    .action(
      action<AttachOpts>(session, (ctx, [ref, att], o) => {
        const patch: AttachmentPatch = { ...(o.interface !== undefined ? { interface: o.interface } : {}), ...addressing(o) };
        if (Object.keys(patch).length === 0 && !o.set && !o.unset && o.qosEgress === undefined && o.qosIngress === undefined) throw new UsageError('attach update: nothing to change; give at least one option (see --help)');
        const h = ctx.engine().getHost(ref as string);
        const custom = mergeCustom(() => ctx.engine().getAttachment(h.id, att as string).custom, o.set, o.unset);
        if (custom) patch.custom = custom;
        const qos = qosFrom(o, () => ctx.engine().getAttachment(h.id, att as string).qos);
        if (qos) patch.qos = qos;
        showAttachment(ctx, h.name, ctx.engine().updateAttachment(h.id, att as string, patch));
      }),
    );

  attach
    .command('remove')
    .description('detach a network from a host')
    .argument('<host>', 'host name or id')
    .argument('<attachment>', 'attachment id or network name')
    .action(
      action(session, (ctx, [ref, att]) => {
        const h = ctx.engine().getHost(ref as string);
        ctx.engine().deleteAttachment(h.id, att as string);
        ctx.done({ removed: { host: h.name, attachment: att } }, `attachment '${att as string}' removed from host '${h.name}'`);
      }),
    );
}
