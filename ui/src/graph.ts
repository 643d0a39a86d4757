// The host's network as a graph for the topology diagram (topology.tsx draws it), built from the
// plan (what the blade will build); without a valid plan, from the stored bonds and attachments so an
// operator still sees what is wired where. Linux clusters: NIC → bond → VLAN → bridge → network.
// Open vSwitch clusters: NIC → OVS bond → OVS bridge → port (the network's internal port with its
// VLAN settings) → network. Bandwidth limits (attachment QoS) sit on the node that carries them.
import type { AttachmentQos, AttachmentView, BondView, BridgePortState, HostPlan, InterfaceState, Nic, NetworkPlacement, OvsBondState, PortVlanState, SwitchType } from './types.js';

export const COLUMNS = ['NIC', 'bond', 'VLAN', 'bridge', 'network'] as const;
export const OVS_COLUMNS = ['NIC', 'OVS bond', 'OVS bridge', 'port', 'network'] as const;
type Column = 0 | 1 | 2 | 3 | 4;

export interface Node {
  id: string;
  col: Column;
  label: string;
  sub: string;
  /** Further detail lines under sub (an OVS bond's LACP timing, a hybrid port's trunks). */
  more?: string[];
  /** Bandwidth limits on this device, one line per direction. */
  qos?: string[];
  warn?: boolean;
}
export interface Graph {
  columns: readonly string[];
  nodes: Node[];
  edges: { from: string; to: string }[];
}

/** kbit as the operator reads it: 100000 → "100 Mbit". */
export function kbit(n: number): string {
  const round = (x: number): string => String(Math.round(x * 100) / 100);
  if (n >= 1_000_000) return `${round(n / 1_000_000)} Gbit`;
  if (n >= 1_000) return `${round(n / 1_000)} Mbit`;
  return `${n} kbit`;
}

type Limit = { rate: number; burst: number } | undefined;
function qosLines(egress: Limit, ingress: Limit): string[] | undefined {
  const lines: string[] = [];
  if (egress) lines.push(`egress ≤ ${kbit(egress.rate)}/s, burst ${kbit(egress.burst)}`);
  if (ingress) lines.push(`ingress ≤ ${kbit(ingress.rate)}/s, burst ${kbit(ingress.burst)}`);
  return lines.length > 0 ? lines : undefined;
}
const planQos = (q: InterfaceState['qos']): string[] | undefined =>
  qosLines(q?.egress && { rate: q.egress['max-rate'], burst: q.egress['max-burst'] }, q?.ingress && { rate: q.ingress['max-rate'], burst: q.ingress['max-burst'] });
const storedQos = (q: AttachmentQos | undefined): string[] | undefined =>
  qosLines(q?.egress && { rate: q.egress.maxRate, burst: q.egress.maxBurst }, q?.ingress && { rate: q.ingress.maxRate, burst: q.ingress.maxBurst });

/** VLAN ids with consecutive runs folded: [300, 301, 302, 310] → "300-302, 310". */
export function vlanList(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    runs.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return runs.join(', ');
}

/** An OVS port's VLAN settings in the words of the model: access, trunk, hybrid (native + trunks). */
export function portVlan(v: PortVlanState | undefined): { sub: string; more?: string[] } {
  const trunks = vlanList((v?.['trunk-tags'] ?? []).map((t) => t.id));
  if (!v || v.mode === 'access') return { sub: v?.tag ? `access · VLAN ${v.tag}` : 'access · untagged' };
  if (v['enable-native']) return { sub: `hybrid · native ${v.tag ?? 0}`, more: [`trunks ${trunks}`] };
  return { sub: `trunk · ${trunks}` };
}

/** An OVS bond: mode and LACP, then LACP timing and link monitoring. */
export function ovsBond(b: OvsBondState): { sub: string; more?: string[] } {
  const other = b['ovs-db']?.other_config ?? {};
  const more: string[] = [];
  if (b.lacp !== 'off') more.push(`lacp-time ${other['lacp-time'] ?? 'slow'}`);
  more.push(other['bond-detect-mode'] === 'miimon' ? `miimon ${other['bond-miimon-interval'] ?? '?'} ms` : 'carrier');
  return { sub: `${b.mode} · LACP ${b.lacp}`, more: [more.join(' · ')] };
}

/** On ovs a VM network's node says so: its internal port looks like any other (on linux the bridge shows it). */
function networkSub(p: NetworkPlacement, ovs?: { trunk: boolean }): string {
  const vlan = p.vlan !== null ? ` · VLAN ${p.vlan}` : ovs?.trunk ? ' · trunk' : ' · untagged';
  return `${p.role}${vlan}${ovs && p.bridged ? ' · VMs' : ''}`;
}

function nicNodes(nics: Nic[], nodes: Map<string, Node>): void {
  for (const n of nics) nodes.set(`if:${n.name}`, { id: `if:${n.name}`, col: 0, label: n.name, sub: `${n.mac}${n.carrier ? '' : ' · no carrier'}`, warn: !n.carrier });
}

/** Puts a plan device on the diagram, keeping a reported NIC's MAC and carrier warning. */
function setDevice(nodes: Map<string, Node>, i: InterfaceState, col: Column, sub: string, more?: string[]): void {
  const existing = nodes.get(`if:${i.name}`);
  const qos = planQos(i.qos);
  nodes.set(`if:${i.name}`, {
    id: `if:${i.name}`,
    col,
    label: i.name,
    sub: existing && i.type === 'ethernet' ? existing.sub : sub,
    ...(more ? { more } : {}),
    ...(qos ? { qos } : {}),
    ...(existing?.warn ? { warn: true } : {}),
  });
}

export function graphFromPlan(plan: HostPlan, nics: Nic[]): Graph {
  if (plan.switchType === 'ovs') return graphFromOvsPlan(plan, nics);
  const nodes = new Map<string, Node>();
  const edges: Graph['edges'] = [];
  const byName = new Map(plan.state.interfaces.map((i) => [i.name, i]));
  const col = (type: string): Column => (type === 'ethernet' ? 0 : type === 'bond' ? 1 : type === 'vlan' ? 2 : 3);
  nicNodes(nics, nodes);
  for (const i of plan.state.interfaces) {
    const sub =
      i.type === 'bond'
        ? `${i['link-aggregation']?.mode ?? 'bond'} · MTU ${i.mtu}`
        : i.type === 'vlan'
          ? `VLAN ${i.vlan?.id ?? '?'} · MTU ${i.mtu}`
          : i.type === 'linux-bridge'
            ? `bridge · MTU ${i.mtu}`
            : (i['mac-address'] ?? `MTU ${i.mtu}`);
    setDevice(nodes, i, col(i.type), sub);
  }
  for (const i of plan.state.interfaces) {
    if (i.controller && byName.has(i.controller)) edges.push({ from: `if:${i.name}`, to: `if:${i.controller}` });
    if (i.vlan) edges.push({ from: `if:${i.vlan['base-iface']}`, to: `if:${i.name}` });
  }
  for (const [name, p] of Object.entries(plan.state.networks)) {
    nodes.set(`net:${name}`, { id: `net:${name}`, col: 4, label: name, sub: networkSub(p) });
    edges.push({ from: `if:${p.interface}`, to: `net:${name}` });
  }
  return { columns: COLUMNS, nodes: [...nodes.values()], edges: dedupe(edges, nodes) };
}

/**
 * Open vSwitch plan: the bridge's ports say how it is wired. A bond port gathers its member NICs; a
 * plain NIC port goes straight to the bridge; every other port is a network's internal port
 * (ovs-interface, named after the network) with the VLAN settings VMs on that network get too.
 */
function graphFromOvsPlan(plan: HostPlan, nics: Nic[]): Graph {
  const nodes = new Map<string, Node>();
  const edges: Graph['edges'] = [];
  const byName = new Map(plan.state.interfaces.map((i) => [i.name, i]));
  const ports = new Map<string, { bridge: string; port: BridgePortState }>();
  for (const i of plan.state.interfaces) for (const port of i.type === 'ovs-bridge' ? (i.bridge?.port ?? []) : []) ports.set(port.name, { bridge: i.name, port });
  nicNodes(nics, nodes);
  for (const i of plan.state.interfaces) {
    if (i.type === 'ethernet') setDevice(nodes, i, 0, i['mac-address'] ?? `MTU ${i.mtu}`);
    else if (i.type === 'ovs-bridge') setDevice(nodes, i, 2, `OVS bridge · MTU ${i.mtu}`);
    else if (i.type === 'ovs-interface') {
      const v = portVlan(ports.get(i.name)?.port.vlan);
      setDevice(nodes, i, 3, v.sub, [...(v.more ?? []), `internal · MTU ${i.mtu}`]);
      if (i.controller) edges.push({ from: `if:${i.controller}`, to: `if:${i.name}` });
    }
  }
  for (const [name, { bridge, port }] of ports) {
    const bond = port['link-aggregation'];
    if (bond) {
      const b = ovsBond(bond);
      nodes.set(`if:${name}`, { id: `if:${name}`, col: 1, label: name, sub: b.sub, ...(b.more ? { more: b.more } : {}) });
      for (const m of bond.port) edges.push({ from: `if:${m.name}`, to: `if:${name}` });
      edges.push({ from: `if:${name}`, to: `if:${bridge}` });
    } else if (byName.get(name)?.type === 'ethernet') edges.push({ from: `if:${name}`, to: `if:${bridge}` });
  }
  for (const [name, p] of Object.entries(plan.state.networks)) {
    const v = ports.get(p.interface)?.port.vlan;
    nodes.set(`net:${name}`, { id: `net:${name}`, col: 4, label: name, sub: networkSub(p, { trunk: v?.mode === 'trunk' && !v['enable-native'] }) });
    edges.push({ from: `if:${p.interface}`, to: `net:${name}` });
  }
  return { columns: OVS_COLUMNS, nodes: [...nodes.values()], edges: dedupe(edges, nodes) };
}

export function graphFromStored(nics: Nic[], bonds: BondView[], attachments: AttachmentView[], switchType: SwitchType = 'linux'): Graph {
  const nodes = new Map<string, Node>();
  const edges: Graph['edges'] = [];
  for (const n of nics) nodes.set(`if:${n.name}`, { id: `if:${n.name}`, col: 0, label: n.name, sub: n.mac, warn: !n.carrier });
  for (const b of bonds) {
    const lacp = switchType === 'ovs' && typeof b.options.lacp === 'string' ? ` · LACP ${b.options.lacp}` : '';
    nodes.set(`if:${b.name}`, { id: `if:${b.name}`, col: 1, label: b.name, sub: `${b.mode}${lacp}`, warn: b.partial });
    for (const m of b.members) if (m.name) edges.push({ from: `if:${m.name}`, to: `if:${b.name}` });
  }
  for (const a of attachments) {
    const qos = storedQos(a.qos);
    nodes.set(`net:${a.network}`, { id: `net:${a.network}`, col: 4, label: a.network, sub: a.viaLabel ? `via label ${a.viaLabel}` : 'attached', ...(qos ? { qos } : {}) });
    if (a.interface.name) edges.push({ from: `if:${a.interface.name}`, to: `net:${a.network}` });
  }
  return { columns: switchType === 'ovs' ? OVS_COLUMNS : COLUMNS, nodes: [...nodes.values()], edges: dedupe(edges, nodes) };
}

function dedupe(edges: Graph['edges'], nodes: Map<string, Node>): Graph['edges'] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const k = `${e.from}>${e.to}`;
    if (seen.has(k) || !nodes.has(e.from) || !nodes.has(e.to)) return false;
    seen.add(k);
    return true;
  });
}

/** Node width: 150 px fits 24 characters of detail; wider graphs (QoS lines) grow to at most 35. */
export const W_MIN = 150;
const CHARS_MIN = 24;
const CHARS_MAX = 35;
const PX_PER_CHAR = 5.6;
/** Height of a node's name and first detail line; each further line adds LINE. */
export const H = 38;
export const LINE = 13;
export const GAP_X = 46;
export const GAP_Y = 14;
export const TOP = 26;

/**
 * Rows: each network gets a fresh row and its chain (bridge ← VLAN ← bond ← NIC) is laid out on it,
 * so an edge that skips columns (a NIC straight to its untagged network) runs along an empty row.
 * Nodes off the chains (a bond's second member, an unused NIC) take the first free row of their
 * column where no such edge passes.
 */
export function layoutRows(graph: Graph): Map<string, number> {
  const rows = new Map<string, number>();
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const preds = (id: string): string[] => graph.edges.filter((e) => e.to === id).map((e) => e.from);
  let next = 0;
  for (const n of graph.nodes.filter((m) => m.col === 4)) {
    const row = next++;
    let cur: string | undefined = n.id;
    while (cur !== undefined && !rows.has(cur)) {
      rows.set(cur, row);
      cur = preds(cur).find((p) => !rows.has(p));
    }
  }
  const taken = new Set<string>();
  for (const [id, row] of rows) taken.add(`${byId.get(id)?.col ?? 0}:${row}`);
  for (const e of graph.edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    const ra = rows.get(e.from);
    if (!a || !b || ra === undefined || ra !== rows.get(e.to)) continue;
    for (let c = a.col + 1; c < b.col; c++) taken.add(`${c}:${ra}`);
  }
  for (const n of graph.nodes) {
    if (rows.has(n.id)) continue;
    let r = 0;
    while (taken.has(`${n.col}:${r}`)) r++;
    rows.set(n.id, r);
    taken.add(`${n.col}:${r}`);
  }
  return rows;
}

export const linesOf = (n: Node): number => (n.more?.length ?? 0) + (n.qos?.length ?? 0);

/** The node's geometry: width fitted to the longest detail line, each row as tall as its tallest node. */
export function layout(graph: Graph): { width: number; chars: number; rowTop: number[]; height: number; rows: Map<string, number> } {
  const rows = layoutRows(graph);
  const longest = Math.max(0, ...graph.nodes.flatMap((n) => [n.sub, ...(n.more ?? []), ...(n.qos ?? [])].map((l) => l.length)));
  const chars = Math.min(CHARS_MAX, Math.max(CHARS_MIN, longest));
  const width = Math.round(W_MIN + (chars - CHARS_MIN) * PX_PER_CHAR);
  const rowCount = Math.max(1, ...graph.nodes.map((n) => (rows.get(n.id) ?? 0) + 1));
  const extra = new Array<number>(rowCount).fill(0);
  for (const n of graph.nodes) {
    const r = rows.get(n.id) ?? 0;
    extra[r] = Math.max(extra[r] ?? 0, linesOf(n));
  }
  const rowTop: number[] = [];
  let y = TOP;
  for (let r = 0; r < rowCount; r++) {
    rowTop.push(y);
    y += H + (extra[r] ?? 0) * LINE + GAP_Y;
  }
  return { width, chars, rowTop, height: y, rows };
}

