// The rack at a glance: GET /api/v1/rack polled with If-None-Match (a 304 costs one header line), so
// rows change while blades boot, without a reload.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { apiIfChanged, describe } from './api';
import { href, linkHandler } from './router';
import type { RackHost, RackSummary } from './types';

export const POLL_MS = 1500;

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

export function SyncBadge(props: { host: { inSync: boolean; syncReasons: { code: string; message: string }[] } }) {
  const { inSync, syncReasons } = props.host;
  return (
    <span class={`badge ${inSync ? 'ok' : 'warn'}`} title={syncReasons.map((r) => `${r.code}: ${r.message}`).join('\n')}>
      {inSync ? 'in sync' : 'out of sync'}
    </span>
  );
}

const RESULT_CLASS: Record<string, string> = { verified: 'ok', 'rolled-back': 'bad', booting: 'busy', reported: 'warn', held: 'warn' };

interface Filters {
  text: string;
  cluster: string;
  state: string;
  sync: '' | 'in' | 'out';
  result: string;
}

function matches(h: RackHost, f: Filters): boolean {
  if (f.text && !`${h.name} ${h.bootMac ?? ''}`.toLowerCase().includes(f.text.toLowerCase())) return false;
  if (f.cluster && h.cluster !== f.cluster) return false;
  if (f.state && h.state !== f.state) return false;
  if (f.sync === 'in' && !h.inSync) return false;
  if (f.sync === 'out' && h.inSync) return false;
  if (f.result === 'none' && h.lastBoot !== null) return false;
  if (f.result && f.result !== 'none' && h.lastBoot?.result !== f.result) return false;
  return true;
}

export function RackView() {
  const [rack, setRack] = useState<RackSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [changedAt, setChangedAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  const [filters, setFilters] = useState<Filters>({ text: '', cluster: '', state: '', sync: '', result: '' });
  const etag = useRef<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const controller = new AbortController();
    const poll = async (): Promise<void> => {
      if (document.visibilityState !== 'hidden') {
        try {
          const r = await apiIfChanged<RackSummary>('/rack', etag.current, controller.signal);
          if (r) {
            etag.current = r.etag;
            setRack(r.body);
            setChangedAt(Date.now());
          }
          setError(null);
        } catch (err) {
          if (stopped) return;
          setError(describe(err));
        }
        setNow(Date.now());
      }
      if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, []);

  const clusters = useMemo(() => [...new Set((rack?.hosts ?? []).map((h) => h.cluster))].sort(), [rack]);
  const states = useMemo(() => [...new Set((rack?.hosts ?? []).map((h) => h.state))].sort(), [rack]);
  const shown = (rack?.hosts ?? []).filter((h) => matches(h, filters));
  const set = <K extends keyof Filters>(k: K, v: Filters[K]): void => setFilters({ ...filters, [k]: v });

  return (
    <section>
      <header class="row">
        <h1>Rack</h1>
        <span class="grow" />
        <span class={`live ${error ? 'bad' : 'ok'}`} data-testid="live">
          {error ? `not updating: ${error}` : changedAt ? `live · last change ${ago(new Date(changedAt).toISOString(), now)}` : 'loading…'}
        </span>
      </header>
      {rack && (
        <p class="counts" data-testid="counts">
          {rack.counts.hosts} hosts · {rack.counts.inSync} in sync · {rack.counts.booting} booting · {rack.counts.rolledBack} rolled back
          {!rack.timeline && ' · this server keeps no boot timeline'}
        </p>
      )}
      <div class="filters">
        <input placeholder="name or MAC" aria-label="filter by name" value={filters.text} onInput={(e) => set('text', e.currentTarget.value)} />
        <select aria-label="cluster" value={filters.cluster} onChange={(e) => set('cluster', e.currentTarget.value)}>
          <option value="">all clusters</option>
          {clusters.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
        <select aria-label="state" value={filters.state} onChange={(e) => set('state', e.currentTarget.value)}>
          <option value="">any state</option>
          {states.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
        <select aria-label="sync" value={filters.sync} onChange={(e) => set('sync', e.currentTarget.value as Filters['sync'])}>
          <option value="">in or out of sync</option>
          <option value="in">in sync</option>
          <option value="out">out of sync</option>
        </select>
        <select aria-label="last boot" value={filters.result} onChange={(e) => set('result', e.currentTarget.value)}>
          <option value="">any last boot</option>
          <option value="booting">booting now</option>
          <option value="verified">verified</option>
          <option value="rolled-back">rolled back</option>
          <option value="reported">reported, not verified</option>
          <option value="held">held</option>
          <option value="none">never booted</option>
        </select>
      </div>
      <table class="rack" data-testid="rack">
        <thead>
          <tr>
            <th>host</th>
            <th>cluster</th>
            <th>state</th>
            <th>sync</th>
            <th>generation</th>
            <th>last boot</th>
            <th>stage</th>
            <th>to verified</th>
            <th>started</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((h) => (
            <tr key={h.id} data-host={h.name}>
              <td>
                <a href={href('hosts', h.name)} onClick={linkHandler(href('hosts', h.name))}>
                  {h.name}
                </a>
              </td>
              <td>{h.cluster}</td>
              <td>{h.state}</td>
              <td>
                <SyncBadge host={h} />
              </td>
              <td title="applied / current">
                {h.appliedGeneration ?? '–'} / {h.generation}
              </td>
              <td data-col="result">{h.lastBoot ? <span class={`badge ${RESULT_CLASS[h.lastBoot.result] ?? ''}`}>{h.lastBoot.result}</span> : <span class="muted">never</span>}</td>
              <td data-col="stage">{h.lastBoot?.stage ?? ''}</td>
              <td data-col="seconds">{h.lastBoot?.secondsToVerified != null ? `${h.lastBoot.secondsToVerified.toFixed(1)} s` : ''}</td>
              <td>{h.lastBoot ? ago(h.lastBoot.startedAt, now) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rack && shown.length === 0 && <p class="muted">{rack.hosts.length === 0 ? 'No hosts yet: blades enrol when they PXE-boot.' : 'No host matches the filters.'}</p>}
    </section>
  );
}
