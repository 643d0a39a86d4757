// The last boots as a stage chart: one row per boot, time from the boot's first event on the x axis,
// a mark per stage, so a slow TFTP or a missing 'verified' shows at a glance.
import type { BootRecord } from './types';

const STAGE_CLASS: Record<string, string> = {
  verified: 'ok',
  'rolled-back': 'bad',
  'dhcp-nak': 'bad',
  held: 'warn',
  report: 'warn',
};

function stageClass(stage: string): string {
  if (STAGE_CLASS[stage]) return STAGE_CLASS[stage] as string;
  if (stage.startsWith('dhcp')) return 'dhcp';
  if (stage === 'tftp' || stage.endsWith('script')) return 'fw';
  if (stage === 'kernel' || stage === 'initrd') return 'dl';
  return 'os';
}

/** Label offsets from the boot's line: above, below, further above, further below. */
const LANES = [-9, 18, -21, 30, -33, 42];
/** Width of a label character at the chart's 9.5px font, near enough to keep labels apart. */
const CHAR_PX = 5.6;

/** The stages to label: the first of each kind (a long-running blade renews DHCP forever). */
function firstOfEach(events: BootRecord['events']): BootRecord['events'] {
  const seen = new Set<string>();
  return events.filter((e) => (seen.has(e.stage) ? false : (seen.add(e.stage), true)));
}

export function BootChart(props: { boots: BootRecord[] }) {
  const boots = props.boots;
  if (boots.length === 0) return <p class="muted">No boots recorded yet.</p>;
  const spans = boots.map((b) => {
    const times = b.events.map((e) => Date.parse(e.at));
    const start = Math.min(Date.parse(b.startedAt), ...times);
    const end = Math.max(start, ...times);
    return { start, end };
  });
  const longest = Math.max(1000, ...spans.map((s) => s.end - s.start));
  const LEFT = 150;
  const WIDTH = 760;
  const ROW = 100;
  const scale = (ms: number): number => LEFT + (ms / longest) * (WIDTH - LEFT - 60);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * longest);
  return (
    <svg class="bootchart" data-testid="bootchart" viewBox={`0 0 ${WIDTH} ${boots.length * ROW + 30}`} width={WIDTH} height={boots.length * ROW + 30}>
      {ticks.map((t) => (
        <g>
          <line x1={scale(t)} x2={scale(t)} y1={0} y2={boots.length * ROW + 10} class="tick" />
          <text x={scale(t)} y={boots.length * ROW + 24} text-anchor="middle" class="axis">
            {(t / 1000).toFixed(t < 10_000 ? 1 : 0)} s
          </text>
        </g>
      ))}
      {boots.map((b, row) => {
        const span = spans[row] as { start: number; end: number };
        const y = row * ROW + 44;
        const marks = firstOfEach(b.events);
        // Stages a few ms apart (config, report, verified) get separate label lanes.
        const laneEnd = LANES.map(() => Number.NEGATIVE_INFINITY);
        const laneOf = marks.map((e) => {
          const x = scale(Date.parse(e.at) - span.start);
          const half = (e.stage.length * CHAR_PX) / 2;
          const lane = laneEnd.findIndex((end) => end < x - half - 2);
          // No room left: the mark keeps its tooltip, the label is dropped rather than overprinted.
          if (lane === -1) return null;
          laneEnd[lane] = x + half;
          return lane;
        });
        return (
          <g data-boot={b.id}>
            <text x={0} y={y + 4} class="rowlabel">
              #{b.id} {new Date(b.startedAt).toLocaleTimeString()}
              {b.current ? ' (current)' : ''}
            </text>
            <line x1={scale(0)} x2={scale(span.end - span.start)} y1={y} y2={y} class="span" />
            {marks.map((e, k) => {
              const x = scale(Date.parse(e.at) - span.start);
              const lane = laneOf[k];
              const labelY = y + (lane === null || lane === undefined ? 0 : (LANES[lane] ?? 0));
              return (
                <g class={`stage ${stageClass(e.stage)}`} data-stage={e.stage}>
                  <circle cx={x} cy={y} r={5}>
                    <title>
                      {e.stage} at +{((Date.parse(e.at) - span.start) / 1000).toFixed(2)} s
                    </title>
                  </circle>
                  {lane !== null && lane !== undefined && (
                    <text x={x} y={labelY} text-anchor="middle" class="stagelabel">
                      {e.stage}
                    </text>
                  )}
                </g>
              );
            })}
          </g>
        );
      })}
    </svg>
  );
}
