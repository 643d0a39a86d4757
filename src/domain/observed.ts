// What a blade's kernel really holds, in the plan's own nmstate shape, and how it differs from the plan.
// Pure functions over the `kernel` part of a boot report (pxe/init.sh kernel_json): iproute2's JSON
// (`ip -d -j link`, `ip -j addr`, `ip -j -4/-6 route`) plus the bond facts only sysfs has.
//
// The diff compares only what the plan says. Kernel defaults the plan leaves alone are never
// differences: NICs the plan does not mention, lo, IPv6 link-local addresses and kernel routes, bond
// options the plan does not set, and value spellings ("active-backup 1" vs "active-backup", "100" vs 100).
import type { BondMode, SyncReason } from './model.js';
import { canonicalIpv6 } from './net.js';
import type { BridgePortState, DesiredState, InterfaceState, IpAddressState, IpState, OvsBondState, PortVlanState, RouteState } from './plan-types.js';

export type KernelScalar = string | number | boolean | null;

/** One entry of `ip -d -j link show` (only the fields Tabula reads). */
export interface KernelLink {
  ifname: string;
  ifindex?: number | undefined;
  flags?: string[] | undefined;
  mtu?: number | undefined;
  /** The bond or bridge this device is a port of. */
  master?: string | undefined;
  /** A VLAN's base device. */
  link?: string | undefined;
  operstate?: string | undefined;
  link_type?: string | undefined;
  address?: string | undefined;
  /** The NIC's own MAC when a bond has replaced its address. */
  permaddr?: string | undefined;
  linkinfo?:
    | {
        info_kind?: string | undefined;
        info_data?: Record<string, KernelScalar | KernelScalar[]> | undefined;
        info_slave_kind?: string | undefined;
      }
    | undefined;
}

/** One entry of `ip -j addr show`. */
export interface KernelAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string | undefined }[] | undefined;
}

/** One entry of `ip -j route show`. */
export interface KernelRoute {
  dst: string;
  gateway?: string | undefined;
  dev?: string | undefined;
  protocol?: string | undefined;
  scope?: string | undefined;
}

/** An OVSDB table as `ovs-vsctl --format=json --data=json --columns=... list TABLE` prints it. */
export interface OvsdbTable {
  headings: string[];
  /** One row per record, in heading order; values in OVSDB's JSON ("uuid"/"set"/"map" pairs, or atoms). */
  data: unknown[][];
}

/** Open vSwitch as the blade read it back (pxe/init.sh ovs_json), when it ran. */
export interface KernelOvsState {
  bridge?: OvsdbTable | null | undefined;
  port?: OvsdbTable | null | undefined;
  interface?: OvsdbTable | null | undefined;
  /** QoS rows (type, other_config max-rate, queues) and their queues (other_config max-rate, burst). */
  qos?: OvsdbTable | null | undefined;
  queue?: OvsdbTable | null | undefined;
  /** `ovs-appctl bond/show` as printed. */
  bondShow?: string | undefined;
  /** `ovs-appctl lacp/show` as printed (empty without LACP bonds). */
  lacpShow?: string | undefined;
}

/** One entry of `tc -j qdisc show` (only the fields Tabula reads; tbf's rate in bytes/s, burst in bytes). */
export interface KernelQdisc {
  kind: string;
  dev: string;
  root?: boolean | undefined;
  options?: Record<string, KernelScalar> | undefined;
}

/** Traffic control (pxe/init.sh tc_json): every qdisc, and each ingress hook's filters as tc prints them. */
export interface KernelTcState {
  qdisc?: KernelQdisc[] | null | undefined;
  /** Device → `tc filter show dev DEV ingress` (text: tc 6.1 leaves the police rate out of its JSON). */
  ingress?: Record<string, string> | undefined;
}

/** The `kernel` field of a boot report. A part is null when the blade could not read it or it was too big. */
export interface KernelState {
  link: KernelLink[] | null;
  addr?: KernelAddr[] | null | undefined;
  route4?: KernelRoute[] | null | undefined;
  route6?: KernelRoute[] | null | undefined;
  /** /sys/class/net/BOND/bonding/<file> as read (e.g. mode "active-backup 1", slaves "eth0 eth1"). */
  bonds?: Record<string, Record<string, string>> | undefined;
  /** Present when Open vSwitch ran (ovs plans). */
  ovs?: KernelOvsState | null | undefined;
  /** Traffic control; absent from images older than QoS verification. */
  tc?: KernelTcState | null | undefined;
}

/** One way the kernel differs from the plan. `planned`/`observed` are null when the thing is absent. */
export interface Difference {
  interface: string;
  field: string;
  planned: string | number | boolean | null;
  observed: string | number | boolean | null;
}

/** The routes the kernel holds, in the plan's shape (only routes through a gateway). */
export interface ObservedState {
  interfaces: InterfaceState[];
  routes: RouteState[];
  /** Open vSwitch was read back: its bridges and internal ports are in `interfaces` and can be compared. */
  ovsdb?: boolean;
  /** Traffic control (and OVS QoS) was read back: QoS limits in `interfaces` can be compared. */
  qos?: boolean;
}

// ------------------------------------------------------------------ kernel → nmstate shape

/** Bond options read back (sysfs names). Numbers stay numbers; "slow 0" keeps its word. */
const BOND_OPTION_KEYS = [
  'miimon',
  'updelay',
  'downdelay',
  'arp_interval',
  'arp_ip_target',
  'lacp_rate',
  'xmit_hash_policy',
  'primary',
  'primary_reselect',
  'ad_select',
  'min_links',
  'fail_over_mac',
  'all_slaves_active',
  'arp_validate',
] as const;

/** `ip -d` spells a few bond options differently from sysfs. */
const IP_BOND_KEY: Readonly<Record<string, string>> = { lacp_rate: 'ad_lacp_rate' };

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const words = (s: string): string[] => s.split(/[\s,]+/).filter((w) => w !== '');

/** "active-backup 1" → "active-backup"; "100" → 100; "" → null. */
function sysfsValue(raw: string): string | number | null {
  const first = words(raw)[0];
  if (first === undefined) return null;
  return /^[0-9]+$/.test(first) ? Number(first) : first;
}

function bondState(link: KernelLink, all: KernelLink[], sysfs: Record<string, string> | undefined): InterfaceState['link-aggregation'] {
  const data = link.linkinfo?.info_data ?? {};
  const rawMode = sysfs?.mode !== undefined ? String(sysfsValue(sysfs.mode) ?? '') : typeof data.mode === 'string' ? data.mode : '';
  // Reported as the kernel spells it, even a mode Tabula's model does not know.
  const mode = rawMode as BondMode;
  const port =
    sysfs?.slaves !== undefined
      ? words(sysfs.slaves)
      : all.filter((l) => l.master === link.ifname && l.linkinfo?.info_slave_kind === 'bond').map((l) => l.ifname);
  const options: Record<string, string | number | string[]> = {};
  for (const key of BOND_OPTION_KEYS) {
    if (key === 'arp_ip_target') {
      const raw = sysfs?.arp_ip_target ?? (Array.isArray(data.arp_ip_target) ? data.arp_ip_target.join(' ') : undefined);
      if (raw !== undefined && words(raw).length > 0) options[key] = words(raw).sort(cmp);
      continue;
    }
    let v: string | number | null = null;
    if (sysfs?.[key] !== undefined) v = sysfsValue(sysfs[key]);
    else {
      const d = data[IP_BOND_KEY[key] ?? key];
      if (typeof d === 'number' || typeof d === 'string') v = d;
    }
    if (v !== null) options[key] = v;
  }
  return { mode, port: [...port].sort(cmp), options };
}

function addresses(addr: KernelAddr | undefined, family: 'inet' | 'inet6'): IpAddressState[] {
  const out: IpAddressState[] = [];
  for (const a of addr?.addr_info ?? []) {
    if (a.family !== family) continue;
    // Link-local IPv6 (and any non-global scope) is the kernel's own, never planned.
    if (a.scope !== undefined && a.scope !== 'global') continue;
    const ip = family === 'inet6' ? (canonicalIpv6(a.local) ?? a.local) : a.local;
    out.push({ ip, 'prefix-length': a.prefixlen });
  }
  return out.sort((x, y) => cmp(x.ip, y.ip) || x['prefix-length'] - y['prefix-length']);
}

function ipState(list: IpAddressState[]): IpState {
  return list.length > 0 ? { enabled: true, address: list } : { enabled: false };
}

function typeOf(link: KernelLink): InterfaceState['type'] | null {
  const kind = link.linkinfo?.info_kind;
  if (kind === 'bond') return 'bond';
  if (kind === 'vlan') return 'vlan';
  if (kind === 'bridge') return 'linux-bridge';
  // A device without a kind and with an Ethernet link type is a NIC (virtio, e1000, mlx5, ...).
  if (kind === undefined && link.link_type === 'ether') return 'ethernet';
  return null; // lo, tun, dummy, veth, ...: nothing a plan builds
}

type QosState = NonNullable<InterfaceState['qos']>;
const kbit = (bytesPerSecondOrBytes: number): number => Math.round((bytesPerSecondOrBytes * 8) / 1000);

/**
 * The police action in `tc filter show` text: rate in bits with 1000-based prefixes ("12Mbit"), burst in
 * bytes with 1024-based ones ("146Kb", "750000b"). Bytes/s and bytes, or null without a police action.
 */
export function parsePolice(textOut: string): { rate: number; burst: number | null } | null {
  const m = /\bpolice\b[^]*?\brate ([0-9.]+)([KMGT]?)bit\b/i.exec(textOut);
  if (!m) return null;
  const rateUnit: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  const rate = (Number(m[1]) * (rateUnit[(m[2] ?? '').toUpperCase()] ?? 1)) / 8;
  const b = /\bpolice\b[^]*?\bburst ([0-9.]+)([KMG]?)b\b/i.exec(textOut);
  const sizeUnit: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  const burst = b ? Number(b[1]) * (sizeUnit[(b[2] ?? '').toUpperCase()] ?? 1) : null;
  return { rate, burst };
}

/** The limits tc holds on a device: a root tbf (egress) and a police action on the ingress hook. */
function tcQos(tc: KernelTcState, dev: string): QosState | undefined {
  const out: QosState = {};
  const tbf = (tc.qdisc ?? []).find((q) => q.dev === dev && q.root === true && q.kind === 'tbf');
  const rate = tbf?.options?.rate;
  const burst = tbf?.options?.burst;
  if (typeof rate === 'number') out.egress = { 'max-rate': kbit(rate), 'max-burst': typeof burst === 'number' ? kbit(burst) : 0 };
  const police = parsePolice(tc.ingress?.[dev] ?? '');
  if (police) out.ingress = { 'max-rate': kbit(police.rate), 'max-burst': police.burst === null ? 0 : kbit(police.burst) };
  return out.egress || out.ingress ? out : undefined;
}

/** The kernel's devices in the plan's nmstate shape, sorted by name. Loopback and unknown kinds are left out. */
export function observeInterfaces(kernel: KernelState): InterfaceState[] {
  const links = kernel.link ?? [];
  const addrByName = new Map((kernel.addr ?? []).map((a) => [a.ifname, a]));
  const out: InterfaceState[] = [];
  for (const link of links) {
    const type = typeOf(link);
    if (type === null) continue;
    const addr = addrByName.get(link.ifname);
    const s: InterfaceState = {
      name: link.ifname,
      type,
      state: (link.flags ?? []).includes('UP') ? 'up' : 'down',
      mtu: link.mtu ?? 0,
      ipv4: ipState(addresses(addr, 'inet')),
      ipv6: ipState(addresses(addr, 'inet6')),
    };
    // A bond gives its ports its own MAC: a port is known by its permanent one. Any other device
    // keeps the address it has now (an explicit MAC from the plan is a current address too).
    const mac = link.linkinfo?.info_slave_kind === 'bond' ? (link.permaddr ?? link.address) : link.address;
    if (mac !== undefined) s['mac-address'] = mac.toLowerCase();
    if (link.master !== undefined) s.controller = link.master;
    const data = link.linkinfo?.info_data ?? {};
    if (type === 'bond') s['link-aggregation'] = bondState(link, links, kernel.bonds?.[link.ifname]);
    const qos = kernel.tc ? tcQos(kernel.tc, link.ifname) : undefined;
    if (qos) s.qos = qos;
    if (type === 'vlan') s.vlan = { 'base-iface': link.link ?? '', id: typeof data.id === 'number' ? data.id : -1 };
    if (type === 'linux-bridge') {
      const ports = links
        .filter((l) => l.master === link.ifname)
        .map((l) => l.ifname)
        .sort(cmp);
      s.bridge = {
        // forward_delay in the unit iproute2 reads and writes (the plan's value goes to `ip` as is).
        options: { stp: { enabled: typeof data.stp_state === 'number' && data.stp_state !== 0 }, 'forward-delay': typeof data.forward_delay === 'number' ? data.forward_delay : 0 },
        port: ports.map((name) => ({ name })),
      };
    }
    out.push(s);
  }
  return out.sort((a, b) => cmp(a.name, b.name));
}

/** Routes through a gateway (the only ones a plan holds); kernel-made subnet routes are left out. */
export function observeRoutes(kernel: KernelState): RouteState[] {
  const out: RouteState[] = [];
  for (const [family, list] of [
    [4, kernel.route4],
    [6, kernel.route6],
  ] as const) {
    for (const r of list ?? []) {
      if (r.gateway === undefined || r.dev === undefined) continue;
      const dst = r.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : r.dst;
      out.push({ destination: dst, 'next-hop-address': r.gateway, 'next-hop-interface': r.dev });
    }
  }
  return out;
}

export function observe(kernel: KernelState): ObservedState {
  const interfaces = observeInterfaces(kernel);
  const ovs = kernel.ovs ? observeOvs(kernel.ovs, kernel.link ?? [], kernel.addr ?? []) : null;
  const qos = kernel.tc !== undefined && kernel.tc !== null ? { qos: true } : {};
  if (!ovs) return { interfaces, routes: observeRoutes(kernel), ...qos };
  // Ports of an Open vSwitch bridge: the kernel shows them under ovs-system; OVSDB knows their bridge.
  const merged = interfaces.map((i) => {
    const br = ovs.controllerOf.get(i.name);
    return br !== undefined && i.controller === 'ovs-system' ? { ...i, controller: br } : i;
  });
  const all = [...merged, ...ovs.interfaces].sort((a, b) => cmp(a.name, b.name));
  return { interfaces: all, routes: observeRoutes(kernel), ovsdb: true, ...qos };
}

// ------------------------------------------------------------------ Open vSwitch → nmstate shape

type OvsAtom = string | number | boolean;

/** An OVSDB datum's atoms: ["set", [...]] → its members, ["uuid", id] → [id], an atom → [atom]. */
function ovsAtoms(v: unknown): OvsAtom[] {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [v];
  if (Array.isArray(v) && v.length === 2) {
    const [tag, body] = v as [unknown, unknown];
    if ((tag === 'uuid' || tag === 'named-uuid') && typeof body === 'string') return [body];
    if (tag === 'set' && Array.isArray(body)) return body.flatMap(ovsAtoms);
  }
  return [];
}

/** ["map", [[k, v], ...]] → { k: "v" }; anything else → {}. */
function ovsMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) {
    for (const pair of v[1] as unknown[]) {
      if (Array.isArray(pair) && pair.length === 2) out[String(pair[0])] = String(pair[1]);
    }
  }
  return out;
}

/** The rows of a listed table as heading → raw datum. A malformed table reads as empty. */
export function ovsdbRows(table: OvsdbTable | null | undefined): Record<string, unknown>[] {
  if (!table || !Array.isArray(table.headings) || !Array.isArray(table.data)) return [];
  return table.data.filter(Array.isArray).map((row) => Object.fromEntries(table.headings.map((h, i) => [h, row[i]])));
}

const one = (v: unknown): OvsAtom | undefined => ovsAtoms(v)[0];
const text = (v: unknown): string => {
  const a = one(v);
  return a === undefined ? '' : String(a);
};

/** One bond as `ovs-appctl bond/show` describes it. */
export interface OvsBondShow {
  mode: string | null;
  lacpStatus: string | null;
  /** The member carrying traffic (active-backup), from "active member mac: ...(eth0)". */
  active: string | null;
  members: { name: string; enabled: boolean }[];
}

/** `ovs-appctl bond/show` (all bonds) by bond name. OVS 2.x says "slave", 3.x "member". */
export function parseBondShow(textOut: string): Record<string, OvsBondShow> {
  const out: Record<string, OvsBondShow> = {};
  let cur: OvsBondShow | null = null;
  for (const line of textOut.split('\n')) {
    const head = /^---- (.+) ----$/.exec(line.trim());
    if (head?.[1] !== undefined) {
      cur = { mode: null, lacpStatus: null, active: null, members: [] };
      out[head[1]] = cur;
      continue;
    }
    if (!cur) continue;
    let m: RegExpExecArray | null;
    if ((m = /^bond_mode: (\S+)/.exec(line))) cur.mode = m[1] ?? null;
    else if ((m = /^lacp_status: (\S+)/.exec(line))) cur.lacpStatus = m[1] ?? null;
    else if ((m = /^active (?:member|slave) mac: .*\((.+)\)\s*$/.exec(line))) cur.active = m[1] ?? null;
    else if ((m = /^(?:member|slave) ([^:]+): (\S+)/.exec(line)) && m[1] !== undefined) cur.members.push({ name: m[1], enabled: m[2] === 'enabled' });
  }
  return out;
}

/** One LACP bond as `ovs-appctl lacp/show` describes it. */
export interface OvsLacpShow {
  /** "active negotiated", "passive", "off", ...; null when not printed. */
  status: string | null;
  negotiated: boolean;
  /** The partner's system id, when a partner answered (and is not all zeroes). */
  partner: string | null;
}

/** `ovs-appctl lacp/show` (all LACP bonds) by bond name. */
export function parseLacpShow(textOut: string): Record<string, OvsLacpShow> {
  const out: Record<string, OvsLacpShow> = {};
  let cur: OvsLacpShow | null = null;
  for (const line of textOut.split('\n')) {
    const head = /^---- (.+) ----$/.exec(line.trim());
    if (head?.[1] !== undefined) {
      cur = { status: null, negotiated: false, partner: null };
      out[head[1]] = cur;
      continue;
    }
    if (!cur) continue;
    let m: RegExpExecArray | null;
    if (cur.status === null && (m = /^\s*status: (.+?)\s*$/.exec(line))) {
      cur.status = m[1] ?? null;
      cur.negotiated = /\bnegotiated\b/.test(cur.status ?? '');
    } else if (cur.partner === null && (m = /^\s*partner sys_id: (\S+)/.exec(line)) && m[1] !== undefined && !/^[0:]+$/.test(m[1])) {
      cur.partner = m[1];
    }
  }
  return out;
}

const OVS_BOND_MODES: readonly string[] = ['active-backup', 'balance-slb', 'balance-tcp'];

/** An Open vSwitch bond as read back: the plan's shape plus what only a running switch knows. */
export type ObservedOvsBond = OvsBondState & {
  /** Members bond/show calls enabled (carrier, and LACP when on). */
  'members-enabled'?: string[];
  /** lacp/show's status ("active negotiated", "passive", ...) and the partner's system id. */
  'lacp-status'?: string;
  'lacp-partner'?: string;
};

/** A port's VLAN columns in the plan's shape; undefined when the port sets none. */
function portVlan(row: Record<string, unknown>): PortVlanState | undefined {
  const mode = text(row.vlan_mode);
  const tag = one(row.tag);
  const trunks = ovsAtoms(row.trunks)
    .map(Number)
    .sort((a, b) => a - b);
  const trunkTags = trunks.map((id) => ({ id }));
  if (mode === '' && tag === undefined && trunks.length === 0) return undefined;
  if (mode === 'access' || (mode === '' && tag !== undefined)) return { mode: 'access', tag: Number(tag ?? 0) };
  if (mode === 'native-untagged' || mode === 'native-tagged') {
    return { mode: 'trunk', ...(tag !== undefined ? { tag: Number(tag) } : {}), 'enable-native': mode === 'native-untagged', 'trunk-tags': trunkTags };
  }
  return { mode: 'trunk', ...(tag !== undefined ? { tag: Number(tag) } : {}), 'trunk-tags': trunkTags };
}

/** A map datum's pairs with their values raw: ["map", [[0, ["uuid", id]]]] → [[0, ["uuid", id]]]. */
function ovsPairs(v: unknown): [unknown, unknown][] {
  if (!Array.isArray(v) || v[0] !== 'map' || !Array.isArray(v[1])) return [];
  return (v[1] as unknown[]).filter((p): p is [unknown, unknown] => Array.isArray(p) && p.length === 2);
}

/**
 * An internal port's limits as OVSDB holds them, in the plan's units (kbit/s, kbit): egress is the
 * port's QoS (max-rate in bit/s, the burst on its queue 0), ingress the interface's policing.
 */
function ovsQos(port: Record<string, unknown>, iface: Record<string, unknown>, qosRows: Map<string, Record<string, unknown>>, queueRows: Map<string, Record<string, unknown>>): QosState | undefined {
  const out: QosState = {};
  const q = qosRows.get(text(port.qos));
  const maxRate = q ? Number(ovsMap(q.other_config)['max-rate']) : Number.NaN;
  if (Number.isFinite(maxRate) && maxRate > 0) {
    const queueId = ovsPairs(q?.queues).find(([k]) => Number(k) === 0)?.[1];
    const burst = Number(ovsMap(queueRows.get(text(queueId))?.other_config)['burst']);
    out.egress = { 'max-rate': Math.round(maxRate / 1000), 'max-burst': Number.isFinite(burst) ? Math.round(burst / 1000) : 0 };
  }
  const rate = Number(one(iface.ingress_policing_rate) ?? 0);
  if (rate > 0) out.ingress = { 'max-rate': rate, 'max-burst': Number(one(iface.ingress_policing_burst) ?? 0) };
  return out.egress || out.ingress ? out : undefined;
}

/**
 * Open vSwitch in the plan's shape: one ovs-bridge per bridge (its ports with VLANs and bonds, the
 * bonds' members and LACP state from bond/show and lacp/show), one ovs-interface per internal port
 * (kernel state from `ip`), and the bridge each interface belongs to.
 */
export function observeOvs(ovs: KernelOvsState, links: KernelLink[], addrs: KernelAddr[]): { interfaces: InterfaceState[]; controllerOf: Map<string, string> } {
  const ifaces = new Map(ovsdbRows(ovs.interface).map((r) => [text(r._uuid), r]));
  const ports = new Map(ovsdbRows(ovs.port).map((r) => [text(r._uuid), r]));
  const qosRows = new Map(ovsdbRows(ovs.qos).map((r) => [text(r._uuid), r]));
  const queueRows = new Map(ovsdbRows(ovs.queue).map((r) => [text(r._uuid), r]));
  const bonds = parseBondShow(ovs.bondShow ?? '');
  const lacp = parseLacpShow(ovs.lacpShow ?? '');
  const linkByName = new Map(links.map((l) => [l.ifname, l]));
  const addrByName = new Map(addrs.map((a) => [a.ifname, a]));
  const controllerOf = new Map<string, string>();
  const out: InterfaceState[] = [];
  for (const br of ovsdbRows(ovs.bridge)) {
    const brName = text(br.name);
    if (brName === '') continue;
    const brPorts: BridgePortState[] = [];
    for (const portId of ovsAtoms(br.ports)) {
      const p = ports.get(String(portId));
      const pName = p ? text(p.name) : '';
      if (!p || pName === '' || pName === brName) continue; // the bridge's own local port
      const members = ovsAtoms(p.interfaces)
        .map((id) => ifaces.get(String(id)))
        .filter((r): r is Record<string, unknown> => r !== undefined);
      const memberNames = members.map((r) => text(r.name)).sort(cmp);
      for (const n of memberNames) controllerOf.set(n, brName);
      const port: BridgePortState = { name: pName };
      const vlan = portVlan(p);
      if (vlan) port.vlan = vlan;
      const bondMode = text(p.bond_mode);
      if (members.length > 1 || bondMode !== '') {
        const mode = (OVS_BOND_MODES.includes(bondMode) ? bondMode : bondMode || 'active-backup') as OvsBondState['mode'];
        const la: ObservedOvsBond = { mode, lacp: (text(p.lacp) || 'off') as OvsBondState['lacp'], port: memberNames.map((name) => ({ name })) };
        const up = Number(one(p.bond_updelay) ?? 0);
        const down = Number(one(p.bond_downdelay) ?? 0);
        if (up > 0) la['bond-updelay'] = up;
        if (down > 0) la['bond-downdelay'] = down;
        const oc = ovsMap(p.other_config);
        if (Object.keys(oc).length > 0) la['ovs-db'] = { other_config: oc };
        const shown = bonds[pName];
        if (shown) la['members-enabled'] = shown.members.filter((m) => m.enabled).map((m) => m.name).sort(cmp);
        const l = lacp[pName];
        if (l) {
          la['lacp-status'] = l.status ?? 'unknown';
          if (l.partner !== null) la['lacp-partner'] = l.partner;
        }
        port['link-aggregation'] = la;
      }
      brPorts.push(port);
      // Internal ports are kernel devices of their own: the host's addresses live on them.
      for (const r of members) {
        const name = text(r.name);
        if (text(r.type) !== 'internal' || name === brName) continue;
        const link = linkByName.get(name);
        const addr = addrByName.get(name);
        const mac = link?.address ?? text(r.mac_in_use);
        const qos = ovsQos(p, r, qosRows, queueRows);
        out.push({
          name,
          type: 'ovs-interface',
          state: link ? ((link.flags ?? []).includes('UP') ? 'up' : 'down') : 'down',
          mtu: link?.mtu ?? Number(one(r.mtu) ?? 0),
          ...(mac !== '' ? { 'mac-address': mac.toLowerCase() } : {}),
          controller: brName,
          ipv4: ipState(addresses(addr, 'inet')),
          ipv6: ipState(addresses(addr, 'inet6')),
          ...(qos ? { qos } : {}),
        });
      }
    }
    const brLink = linkByName.get(brName);
    out.push({
      name: brName,
      type: 'ovs-bridge',
      state: brLink && (brLink.flags ?? []).includes('UP') ? 'up' : 'down',
      mtu: brLink?.mtu ?? 0,
      bridge: {
        options: { stp: { enabled: one(br.stp_enable) === true }, 'mcast-snooping-enable': one(br.mcast_snooping_enable) === true },
        port: brPorts.sort((a, b) => cmp(a.name, b.name)),
      },
      ipv4: { enabled: false },
      ipv6: { enabled: false },
    });
  }
  return { interfaces: out, controllerOf };
}

// ------------------------------------------------------------------ plan vs observed

/** Compares a planned option with what the kernel reads back: "fast" vs "fast 1", 100 vs "100", lists as sets. */
export function sameOptionValue(planned: string | number | string[], observed: string | number | string[] | undefined): boolean {
  if (observed === undefined) return false;
  if (Array.isArray(planned) || Array.isArray(observed)) {
    const p = (Array.isArray(planned) ? planned : words(String(planned))).map((x) => x.toLowerCase()).sort(cmp);
    const o = (Array.isArray(observed) ? observed : words(String(observed))).map((x) => x.toLowerCase()).sort(cmp);
    return p.join(' ') === o.join(' ');
  }
  const o = words(String(observed).toLowerCase());
  const p = String(planned).toLowerCase().trim();
  // sysfs prints "name number" (lacp_rate "fast 1"); either spelling of the plan matches.
  return o.length > 0 && (o[0] === p || o[o.length - 1] === p);
}

const show = (v: string | number | string[] | undefined): string | number | null => (v === undefined ? null : Array.isArray(v) ? v.join(',') : v);
const addrList = (ip: IpState | undefined): string => (ip?.address ?? []).map((a) => `${a.ip}/${a['prefix-length']}`).join(',');

/** A NIC the plan leaves unused (down, no controller, no address): /init keeps it up to read its carrier. */
function unusedNic(p: InterfaceState): boolean {
  return p.type === 'ethernet' && p.state === 'down' && p.controller === undefined && !p.ipv4.enabled && !p.ipv6.enabled;
}

function diffIp(name: string, family: 'ipv4' | 'ipv6', p: IpState, o: IpState, out: Difference[]): void {
  if (p.dhcp === true) {
    // A DHCP lease is whatever the server hands out: only its presence is the plan's.
    if ((o.address ?? []).length === 0) out.push({ interface: name, field: `${family}.address`, planned: 'dhcp', observed: null });
    return;
  }
  const canon = (ip: IpState): IpState =>
    family === 'ipv6' ? { ...ip, address: (ip.address ?? []).map((a) => ({ ...a, ip: canonicalIpv6(a.ip) ?? a.ip })) } : ip;
  const want = addrList(canon(p)).split(',').filter(Boolean).sort(cmp).join(',');
  const have = addrList(canon(o)).split(',').filter(Boolean).sort(cmp).join(',');
  if (want !== have) out.push({ interface: name, field: `${family}.address`, planned: want || null, observed: have || null });
}

const tags = (v: PortVlanState | undefined): string =>
  (v?.['trunk-tags'] ?? [])
    .map((t) => t.id)
    .sort((a, b) => a - b)
    .join(',');

/** An Open vSwitch bridge: its ports, each port's VLAN settings and bond, the options the plan sets. */
function diffOvsBridge(p: InterfaceState, o: InterfaceState, out: Difference[]): void {
  const pb = p.bridge;
  const ob = o.bridge;
  if (!pb) return;
  const d = (field: string, planned: Difference['planned'], observed: Difference['observed']): void => {
    if (planned !== observed) out.push({ interface: p.name, field, planned, observed });
  };
  const names = (list: { name: string }[] | undefined): string | null =>
    (list ?? [])
      .map((x) => x.name)
      .sort(cmp)
      .join(',') || null;
  d('bridge.port', names(pb.port), names(ob?.port));
  d('bridge.options.stp.enabled', pb.options.stp.enabled, ob?.options.stp.enabled ?? null);
  if (pb.options['mcast-snooping-enable'] !== undefined) d('bridge.options.mcast-snooping-enable', pb.options['mcast-snooping-enable'], ob?.options['mcast-snooping-enable'] ?? null);
  for (const pp of pb.port) {
    const op = ob?.port.find((x) => x.name === pp.name);
    if (!op) continue; // already a bridge.port difference
    const f = `port.${pp.name}`;
    if (pp.vlan) {
      d(`${f}.vlan.mode`, pp.vlan.mode, op.vlan?.mode ?? null);
      if (pp.vlan.tag !== undefined) d(`${f}.vlan.tag`, pp.vlan.tag, op.vlan?.tag ?? null);
      d(`${f}.vlan.enable-native`, pp.vlan['enable-native'] ?? false, op.vlan?.['enable-native'] ?? false);
      d(`${f}.vlan.trunk-tags`, tags(pp.vlan) || null, tags(op.vlan) || null);
    }
    const pla = pp['link-aggregation'];
    if (pla) {
      const ola = op['link-aggregation'];
      d(`${f}.link-aggregation.mode`, pla.mode, ola?.mode ?? null);
      d(`${f}.link-aggregation.lacp`, pla.lacp, ola?.lacp ?? null);
      d(`${f}.link-aggregation.port`, names(pla.port), names(ola?.port));
      if (pla['bond-updelay'] !== undefined) d(`${f}.link-aggregation.bond-updelay`, pla['bond-updelay'], ola?.['bond-updelay'] ?? 0);
      if (pla['bond-downdelay'] !== undefined) d(`${f}.link-aggregation.bond-downdelay`, pla['bond-downdelay'], ola?.['bond-downdelay'] ?? 0);
      for (const [k, v] of Object.entries(pla['ovs-db']?.other_config ?? {})) {
        d(`${f}.link-aggregation.other_config.${k}`, v, ola?.['ovs-db']?.other_config[k] ?? null);
      }
    }
  }
}

/** Within `share` of `want` (tc prints rates to 4-5 digits; the kernel keeps a burst as time at the rate). */
const near = (have: number, want: number, share: number): boolean => Math.abs(have - want) <= Math.max(1, want * share);

/** QoS limits, both ways: the rate within 0.2 %, the burst within 2 %; a limit on one side only is a difference. */
function diffQos(p: InterfaceState, o: InterfaceState, out: Difference[]): void {
  for (const dir of ['egress', 'ingress'] as const) {
    const want = p.qos?.[dir];
    const have = o.qos?.[dir];
    if (!want && !have) continue;
    if (!want || !have || !near(have['max-rate'], want['max-rate'], 0.002)) {
      out.push({ interface: p.name, field: `qos.${dir}.max-rate`, planned: want?.['max-rate'] ?? null, observed: have?.['max-rate'] ?? null });
    } else if (!near(have['max-burst'], want['max-burst'], 0.02)) {
      out.push({ interface: p.name, field: `qos.${dir}.max-burst`, planned: want['max-burst'], observed: have['max-burst'] });
    }
  }
}

/** 2001:DB8:0::/64 and 2001:db8::/64 are one destination. */
function normDst(dst: string): string {
  const [ip = '', prefix] = dst.split('/');
  const canon = ip.includes(':') ? (canonicalIpv6(ip) ?? ip) : ip;
  return prefix === undefined ? canon : `${canon}/${prefix}`;
}

/**
 * The plan's interfaces and routes against the observed ones. Only what the plan sets is compared;
 * interfaces the plan does not name are ignored. Sorted by interface, then field.
 */
export function diffState(plan: Pick<DesiredState, 'interfaces'> & { routes?: DesiredState['routes'] }, observed: ObservedState): Difference[] {
  const out: Difference[] = [];
  const byName = new Map(observed.interfaces.map((i) => [i.name, i]));
  // Open vSwitch bridges and ports live in OVSDB, and the kernel shows OVS ports under ovs-system: they
  // are compared only when the blade read OVSDB back (ovsdb); a report without it leaves them alone.
  const ovsdb = observed.ovsdb === true;
  const ovsBridges = new Set(plan.interfaces.filter((i) => i.type === 'ovs-bridge').map((i) => i.name));
  for (const p of plan.interfaces) {
    if (!ovsdb && (p.type === 'ovs-bridge' || p.type === 'ovs-interface')) continue;
    const o = byName.get(p.name);
    if (!o) {
      out.push({ interface: p.name, field: 'present', planned: true, observed: false });
      continue;
    }
    if (o.type !== p.type) {
      out.push({ interface: p.name, field: 'type', planned: p.type, observed: o.type });
      continue;
    }
    if (p.type === 'ovs-bridge') {
      // The bridge's own local port stays down (the host's addresses live on internal ports): only
      // its ports and options are the plan's.
      diffOvsBridge(p, o, out);
      continue;
    }
    if (p['mac-address'] !== undefined && o['mac-address'] !== p['mac-address'].toLowerCase()) {
      out.push({ interface: p.name, field: 'mac-address', planned: p['mac-address'], observed: o['mac-address'] ?? null });
    }
    if (unusedNic(p)) continue;
    if (o.state !== p.state) out.push({ interface: p.name, field: 'state', planned: p.state, observed: o.state });
    if (o.mtu !== p.mtu) out.push({ interface: p.name, field: 'mtu', planned: p.mtu, observed: o.mtu });
    if (!(!ovsdb && p.controller !== undefined && ovsBridges.has(p.controller)) && (p.controller ?? null) !== (o.controller ?? null)) out.push({ interface: p.name, field: 'controller', planned: p.controller ?? null, observed: o.controller ?? null });
    const pla = p['link-aggregation'];
    const ola = o['link-aggregation'];
    if (pla && ola) {
      if (!sameOptionValue(pla.mode, ola.mode)) out.push({ interface: p.name, field: 'link-aggregation.mode', planned: pla.mode, observed: ola.mode });
      const pp = [...pla.port].sort(cmp).join(',');
      const op = [...ola.port].sort(cmp).join(',');
      if (pp !== op) out.push({ interface: p.name, field: 'link-aggregation.port', planned: pp || null, observed: op || null });
      for (const [k, v] of Object.entries(pla.options)) {
        if (!sameOptionValue(v, ola.options[k])) out.push({ interface: p.name, field: `link-aggregation.options.${k}`, planned: show(v), observed: show(ola.options[k]) });
      }
    }
    if (p.vlan && o.vlan) {
      if (p.vlan.id !== o.vlan.id) out.push({ interface: p.name, field: 'vlan.id', planned: p.vlan.id, observed: o.vlan.id });
      if (p.vlan['base-iface'] !== o.vlan['base-iface']) out.push({ interface: p.name, field: 'vlan.base-iface', planned: p.vlan['base-iface'], observed: o.vlan['base-iface'] });
    }
    if (p.bridge && o.bridge) {
      const pp = p.bridge.port.map((x) => x.name).sort(cmp).join(',');
      const op = o.bridge.port.map((x) => x.name).sort(cmp).join(',');
      if (pp !== op) out.push({ interface: p.name, field: 'bridge.port', planned: pp || null, observed: op || null });
      if (p.bridge.options.stp.enabled !== o.bridge.options.stp.enabled) {
        out.push({ interface: p.name, field: 'bridge.options.stp.enabled', planned: p.bridge.options.stp.enabled, observed: o.bridge.options.stp.enabled });
      }
      if (p.bridge.options['forward-delay'] !== o.bridge.options['forward-delay']) {
        out.push({ interface: p.name, field: 'bridge.options.forward-delay', planned: p.bridge.options['forward-delay'] ?? null, observed: o.bridge.options['forward-delay'] ?? null });
      }
    }
    diffIp(p.name, 'ipv4', p.ipv4, o.ipv4, out);
    diffIp(p.name, 'ipv6', p.ipv6, o.ipv6, out);
    if (observed.qos === true) diffQos(p, o, out);
  }
  for (const r of plan.routes?.config ?? []) {
    const dst = r.destination;
    const found = observed.routes.find((x) => normDst(x.destination) === normDst(dst));
    const want = `via ${r['next-hop-address']} dev ${r['next-hop-interface']}`;
    const have = found ? `via ${found['next-hop-address']} dev ${found['next-hop-interface']}` : null;
    if (want !== have) out.push({ interface: r['next-hop-interface'], field: `route ${dst}`, planned: want, observed: have });
  }
  return out.sort((a, b) => cmp(a.interface, b.interface) || cmp(a.field, b.field));
}

/** One line per difference, for sync reasons and the CLI. */
export function describeDifference(d: Difference): string {
  // QoS values carry their unit: "planned 26400, observed 24000" alone reads as a count.
  const unit = /^qos\..*\.max-rate$/.test(d.field) ? ' kbit/s' : /^qos\..*\.max-burst$/.test(d.field) ? ' kbit' : '';
  const v = (x: Difference['planned']): string => (x === null ? 'absent' : `${String(x)}${unit}`);
  if (d.field === 'present') return `${d.interface}: planned but not in the kernel`;
  return `${d.interface} ${d.field}: planned ${v(d.planned)}, observed ${v(d.observed)}`;
}

// ------------------------------------------------------------------ the stored report

export interface ReportCheck {
  name: string;
  ok: boolean;
  detail?: string | undefined;
  /** A failed advisory check (peer:<addr>) caused no rollback and does not put the host out of sync. */
  advisory?: boolean | undefined;
}

/** A host's latest boot report as the engine keeps it (db/migrations/005_reports.sql). */
export interface StoredReport {
  bootId: number | null;
  generation: number;
  verified: boolean;
  rolledBack: boolean;
  /** The blade ran the fallback plan (the host's configuration was invalid). */
  fallback: boolean;
  receivedAt: string;
  checks: ReportCheck[];
  /** The report carried the kernel's state: `interfaces` and `routes` are what it held. */
  observed: boolean;
  interfaces: InterfaceState[];
  routes: RouteState[];
  /** The observed state was compared with the plan of `generation`. */
  compared: boolean;
  differences: Difference[];
}

/** At most this many differences become sync reasons; the report holds them all. */
export const MAX_DIFFERENCE_REASONS = 10;

/**
 * Why the host's latest report keeps it out of sync (empty when it does not). Only a report of the
 * host's current generation counts: an older one is covered by NOT_APPLIED. Failed advisory checks
 * never count.
 */
export function reportSyncReasons(report: StoredReport, currentGeneration: number): SyncReason[] {
  if (report.generation !== currentGeneration) return [];
  const reasons: SyncReason[] = [];
  if (!report.verified) {
    const failed = report.checks.filter((c) => !c.ok && c.advisory !== true).map((c) => c.name);
    reasons.push({
      code: 'REPORT_NOT_VERIFIED',
      message: `generation ${report.generation} failed verification on the blade${report.rolledBack ? ' and was rolled back' : ''}${failed.length ? `: ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? ` and ${failed.length - 10} more` : ''}` : ''}`,
    });
  } else if (report.fallback) {
    reasons.push({ code: 'FALLBACK_PLAN', message: `the blade runs the fallback plan, not generation ${report.generation}: fix the host's configuration` });
  }
  for (const d of report.differences.slice(0, MAX_DIFFERENCE_REASONS)) reasons.push({ code: 'STATE_DIFFERS', message: describeDifference(d) });
  if (report.differences.length > MAX_DIFFERENCE_REASONS) {
    reasons.push({ code: 'STATE_DIFFERS', message: `and ${report.differences.length - MAX_DIFFERENCE_REASONS} more difference(s): see the host's report` });
  }
  return reasons;
}
