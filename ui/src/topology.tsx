// The host's network as a small left-to-right diagram: NIC → bond → VLAN → bridge → network. Built
// from the plan (what the blade will build); without a valid plan, from the stored bonds and
// attachments so an operator still sees what is wired where.
import type { AttachmentView, BondView, HostPlan, Nic } from './types';

export const COLUMNS = ['NIC', 'bond', 'VLAN', 'bridge', 'network'] as const;
type Column = 0 | 1 | 2 | 3 | 4;

interface Node {
  id: string;
  col: Column;
  label: string;
  sub: string;
  warn?: boolean;
}
export interface Graph {
  nodes: Node[];
  edges: { from: string; to: string }[];
}

export function graphFromPlan(plan: HostPlan, nics: Nic[]): Graph {
  const nodes = new Map<string, Node>();
  const edges: Graph['edges'] = [];
  const byName = new Map(plan.state.interfaces.map((i) => [i.name, i]));
  const col = (type: string): Column => (type === 'ethernet' ? 0 : type === 'bond' ? 1 : type === 'vlan' ? 2 : 3);
  for (const n of nics) nodes.set(`if:${n.name}`, { id: `if:${n.name}`, col: 0, label: n.name, sub: `${n.mac}${n.carrier ? '' : ' · no carrier'}`, warn: !n.carrier });
  for (const i of plan.state.interfaces) {
    const sub =
      i.type === 'bond'
        ? `${i['link-aggregation']?.mode ?? 'bond'} · MTU ${i.mtu}`
        : i.type === 'vlan'
          ? `VLAN ${i.vlan?.id ?? '?'} · MTU ${i.mtu}`
          : i.type === 'linux-bridge'
            ? `bridge · MTU ${i.mtu}`
            : (i['mac-address'] ?? `MTU ${i.mtu}`);
    const existing = nodes.get(`if:${i.name}`);
    nodes.set(`if:${i.name}`, { id: `if:${i.name}`, col: col(i.type), label: i.name, sub: existing && i.type === 'ethernet' ? existing.sub : sub, ...(existing?.warn ? { warn: true } : {}) });
  }
  for (const i of plan.state.interfaces) {
    if (i.controller && byName.has(i.controller)) edges.push({ from: `if:${i.name}`, to: `if:${i.controller}` });
    if (i.vlan) edges.push({ from: `if:${i.vlan['base-iface']}`, to: `if:${i.name}` });
  }
  for (const [name, p] of Object.entries(plan.state.networks)) {
    nodes.set(`net:${name}`, { id: `net:${name}`, col: 4, label: name, sub: `${p.role}${p.vlan !== null ? ` · VLAN ${p.vlan}` : ' · untagged'}` });
    edges.push({ from: `if:${p.interface}`, to: `net:${name}` });
  }
  return { nodes: [...nodes.values()], edges: dedupe(edges, nodes) };
}

export function graphFromStored(nics: Nic[], bonds: BondView[], attachments: AttachmentView[]): Graph {
  const nodes = new Map<string, Node>();
  const edges: Graph['edges'] = [];
  for (const n of nics) nodes.set(`if:${n.name}`, { id: `if:${n.name}`, col: 0, label: n.name, sub: n.mac, warn: !n.carrier });
  for (const b of bonds) {
    nodes.set(`if:${b.name}`, { id: `if:${b.name}`, col: 1, label: b.name, sub: b.mode, warn: b.partial });
    for (const m of b.members) if (m.name) edges.push({ from: `if:${m.name}`, to: `if:${b.name}` });
  }
  for (const a of attachments) {
    nodes.set(`net:${a.network}`, { id: `net:${a.network}`, col: 4, label: a.network, sub: a.viaLabel ? `via label ${a.viaLabel}` : 'attached' });
    if (a.interface.name) edges.push({ from: `if:${a.interface.name}`, to: `net:${a.network}` });
  }
  return { nodes: [...nodes.values()], edges: dedupe(edges, nodes) };
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

const W = 150;
const H = 38;
const GAP_X = 46;
const GAP_Y = 14;
const TOP = 26;

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

export function Topology(props: { graph: Graph }) {
  const { nodes, edges } = props.graph;
  const rows = layoutRows(props.graph);
  const perCol = [0, 0, 0, 0, 0];
  for (const n of nodes) perCol[n.col] = Math.max(perCol[n.col] ?? 0, (rows.get(n.id) ?? 0) + 1);
  const used = COLUMNS.map((_, c) => (perCol[c] ?? 0) > 0);
  const height = TOP + Math.max(1, ...perCol) * (H + GAP_Y);
  const width = COLUMNS.length * (W + GAP_X) - GAP_X;
  const pos = (id: string): { x: number; y: number } => {
    const n = nodes.find((m) => m.id === id);
    return { x: (n?.col ?? 0) * (W + GAP_X), y: TOP + (rows.get(id) ?? 0) * (H + GAP_Y) };
  };
  return (
    <svg class="topology" data-testid="topology" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="network topology">
      {COLUMNS.map((c, i) => (
        <text x={i * (W + GAP_X) + W / 2} y={14} class={`col ${used[i] ? '' : 'unused'}`} text-anchor="middle">
          {c}
        </text>
      ))}
      {edges.map((e) => {
        const a = pos(e.from);
        const b = pos(e.to);
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        const mid = (x1 + x2) / 2;
        return <path class="edge" d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />;
      })}
      {nodes.map((n) => {
        const p = pos(n.id);
        return (
          <g class={`node c${n.col}${n.warn ? ' warn' : ''}`} data-node={n.id} transform={`translate(${p.x},${p.y})`}>
            <rect width={W} height={H} rx={6} />
            <text x={8} y={15} class="label">
              {n.label}
            </text>
            <text x={8} y={30} class="sub">
              {n.sub.length > 24 ? `${n.sub.slice(0, 23)}…` : n.sub}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
