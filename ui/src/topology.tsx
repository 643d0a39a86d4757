// The topology diagram as SVG: the graph and its geometry come from graph.ts (pure, unit-tested).
import { GAP_X, type Graph, H, LINE, TOP, layout } from './graph';

export function Topology(props: { graph: Graph }) {
  const { nodes, edges, columns } = props.graph;
  const { width: W, chars, rowTop, height, rows } = layout(props.graph);
  const used = columns.map((_, c) => nodes.some((n) => n.col === c));
  const width = columns.length * (W + GAP_X) - GAP_X;
  const cut = (t: string): string => (t.length > chars ? `${t.slice(0, chars - 1)}…` : t);
  const pos = (id: string): { x: number; y: number } => {
    const n = nodes.find((m) => m.id === id);
    return { x: (n?.col ?? 0) * (W + GAP_X), y: rowTop[rows.get(id) ?? 0] ?? TOP };
  };
  return (
    <svg class="topology" data-testid="topology" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="network topology">
      {columns.map((c, i) => (
        <text x={i * (W + GAP_X) + W / 2} y={14} class={`col ${used[i] ? '' : 'unused'}`} text-anchor="middle">
          {c}
        </text>
      ))}
      {edges.map((e) => {
        // Edges meet nodes beside their name and first line, so a row's edges stay level whatever its nodes' heights.
        const a = pos(e.from);
        const b = pos(e.to);
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        const mid = (x1 + x2) / 2;
        return <path class="edge" data-edge={`${e.from}>${e.to}`} d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />;
      })}
      {nodes.map((n) => {
        const p = pos(n.id);
        const more = n.more ?? [];
        const qos = n.qos ?? [];
        return (
          <g class={`node c${n.col}${n.warn ? ' warn' : ''}${qos.length > 0 ? ' limited' : ''}`} data-node={n.id} transform={`translate(${p.x},${p.y})`}>
            <title>{[n.label, n.sub, ...more, ...qos].join('\n')}</title>
            <rect width={W} height={H + (more.length + qos.length) * LINE} rx={6} />
            <text x={8} y={15} class="label">
              {n.label}
            </text>
            <text x={8} y={30} class="sub">
              {cut(n.sub)}
            </text>
            {more.map((l, i) => (
              <text x={8} y={30 + (i + 1) * LINE} class="sub more">
                {cut(l)}
              </text>
            ))}
            {qos.map((l, i) => (
              <text x={8} y={30 + (more.length + i + 1) * LINE} class="qos" data-qos={l.split(' ')[0]}>
                {cut(l)}
              </text>
            ))}
          </g>
        );
      })}
    </svg>
  );
}
