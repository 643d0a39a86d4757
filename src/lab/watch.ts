// Follows blades through their boot timeline (GET /api/v1/hosts/{host}/boots) until each is verified,
// rolled back or failed, then collects what each blade reported (GET /api/v1/hosts/{host}/report when
// the server has it, else the report event of the timeline).
import type { InterfaceState } from '../domain/plan-types.js';
import type { SwitchType } from './spec.js';
import { type BladeRecord, type LabState, alive, api } from './rack.js';

/** Progress stages shown per blade, in boot order. */
export const STAGES = ['dhcp', 'ipxe', 'kernel', 'initrd', 'inventory', 'config', 'report'] as const;
export type Stage = (typeof STAGES)[number];
export type Outcome = 'verified' | 'rolled-back' | 'failed' | 'timeout';

const STAGE_OF: Record<string, Stage | 'verified' | 'rolled-back'> = {
  'dhcp-ack': 'dhcp',
  'ipxe-script': 'ipxe',
  'host-script': 'ipxe',
  kernel: 'kernel',
  initrd: 'initrd',
  inventory: 'inventory',
  config: 'config',
  report: 'report',
  verified: 'verified',
  'rolled-back': 'rolled-back',
};

export interface BootEventView {
  stage: string;
  at: string;
  data: Record<string, unknown>;
}
export interface BootView {
  id: number;
  mac: string;
  startedAt: string;
  current: boolean;
  events: BootEventView[];
}

export interface ReportCheck {
  name: string;
  ok: boolean;
  detail?: string;
  advisory?: boolean;
}

export interface HostReportView {
  generation: number;
  verified: boolean;
  rolledBack: boolean;
  inSync: boolean;
  checks: ReportCheck[];
  interfaces: InterfaceState[];
  differences: unknown[];
}

export interface BladeResult {
  name: string;
  host: string;
  mac: string;
  firmware: string;
  /** The lab's switch type: how the blade was asked to build its network. */
  switchType: SwitchType;
  outcome: Outcome;
  verified: boolean;
  rolledBack: boolean;
  /** Seconds from QEMU start to each stage's first event of this boot. */
  stages: Partial<Record<Stage | 'verified' | 'rolled-back', number>>;
  secondsToVerified: number | null;
  generation: number | null;
  /** Failed check names from the timeline's report event. */
  failedChecks: string[];
  /** What the blade reported, from GET /hosts/{host}/report; null when the server has no such route. */
  report: HostReportView | null;
  interfaces: InterfaceState[];
  detail?: string;
}

export interface WatchTarget {
  blade: BladeRecord;
  /** Host name or id in the engine; default the blade's name. */
  host?: string;
  /** Count only events after this epoch ms (default: the blade's QEMU start). */
  sinceMs?: number;
  /** Wait for a report of at least this generation. */
  minGeneration?: number;
  /** Count a report of the running boot too (a live re-apply); default: only boots started after sinceMs. */
  sameBoot?: boolean;
}

const asList = <T>(body: unknown): T[] => {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    for (const k of ['items', 'data', 'boots']) {
      const v = (body as Record<string, unknown>)[k];
      if (Array.isArray(v)) return v as T[];
    }
  }
  return [];
};

/**
 * Events of this blade's boots that happened after `since`, oldest first. With `newBootsOnly`, only
 * boots that started after `since`: a boot of the previous power-on may still report just after it
 * (and must not count for the next one).
 */
export async function bootEvents(s: LabState, host: string, sinceMs: number, newBootsOnly = false): Promise<BootEventView[]> {
  const r = await api(s, 'GET', `/api/v1/hosts/${encodeURIComponent(host)}/boots?limit=5`);
  if (r.status === 404) return [];
  if (r.status !== 200) throw new Error(`GET /hosts/${host}/boots: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  const boots = asList<BootView>(r.body).filter((b) => !newBootsOnly || Date.parse(b.startedAt) >= sinceMs);
  return boots
    .flatMap((b) => b.events)
    .filter((e) => Date.parse(e.at) >= sinceMs)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export async function hostReport(s: LabState, host: string): Promise<HostReportView | null> {
  const r = await api(s, 'GET', `/api/v1/hosts/${encodeURIComponent(host)}/report`);
  if (r.status !== 200 || !r.body || typeof r.body !== 'object') return null;
  return r.body as HostReportView;
}

export interface WatchOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Called once per blade and stage, as it happens. */
  onStage?: (blade: string, stage: string, seconds: number) => void;
}

/** Polls every target until each has an outcome or the timeout passes. */
export async function watchBlades(s: LabState, targets: readonly WatchTarget[], o: WatchOptions): Promise<BladeResult[]> {
  const until = Date.now() + o.timeoutMs;
  const results = new Map<string, BladeResult>();
  const pending = new Set(targets.map((t) => t.blade.name));
  while (pending.size && Date.now() < until) {
    for (const t of targets) {
      if (!pending.has(t.blade.name)) continue;
      const r = await observe(s, t, results.get(t.blade.name), o);
      results.set(t.blade.name, r);
      if (r.outcome !== 'timeout') pending.delete(t.blade.name);
    }
    if (pending.size) await new Promise((res) => setTimeout(res, o.pollMs ?? 1000));
  }
  const out: BladeResult[] = [];
  for (const t of targets) {
    const r = results.get(t.blade.name) ?? (await observe(s, t, undefined, o));
    if (r.outcome !== 'timeout' && r.report === null) {
      r.report = await hostReport(s, r.host).catch(() => null);
      if (r.report) r.interfaces = r.report.interfaces ?? [];
    }
    out.push(r);
  }
  return out;
}

async function observe(s: LabState, t: WatchTarget, prev: BladeResult | undefined, o: WatchOptions): Promise<BladeResult> {
  const b = t.blade;
  const host = t.host ?? b.name;
  const since = t.sinceMs ?? b.startedAt;
  const r: BladeResult = prev ?? {
    name: b.name,
    host,
    mac: b.macs[0] as string,
    firmware: b.firmware,
    switchType: s.switchType,
    outcome: 'timeout',
    verified: false,
    rolledBack: false,
    stages: {},
    secondsToVerified: null,
    generation: null,
    failedChecks: [],
    report: null,
    interfaces: [],
  };
  let events: BootEventView[] = [];
  try {
    events = await bootEvents(s, host, since, t.sameBoot !== true);
  } catch (e) {
    r.detail = (e as Error).message;
  }
  for (const e of events) {
    const stage = STAGE_OF[e.stage];
    if (!stage) continue;
    const sec = Math.round((Date.parse(e.at) - b.startedAt) / 100) / 10;
    const gen = typeof e.data['generation'] === 'number' ? (e.data['generation'] as number) : null;
    if (stage === 'report' && gen !== null && t.minGeneration !== undefined && gen < t.minGeneration) continue;
    if (stage === 'verified' || stage === 'rolled-back') {
      if (t.minGeneration !== undefined && (gen === null || gen < t.minGeneration)) continue;
    }
    if (r.stages[stage] === undefined) {
      r.stages[stage] = sec;
      o.onStage?.(b.name, stage, sec);
    }
    if (stage === 'report') {
      r.generation = gen;
      r.failedChecks = typeof e.data['failedChecks'] === 'string' ? (e.data['failedChecks'] as string).split(',').filter(Boolean) : [];
      if (e.data['verified'] === false && e.data['rolledBack'] !== true) r.outcome = 'failed';
    }
    if (stage === 'verified') {
      r.outcome = 'verified';
      r.verified = true;
      r.secondsToVerified = sec;
    }
    if (stage === 'rolled-back') {
      r.outcome = 'rolled-back';
      r.rolledBack = true;
    }
  }
  if (r.outcome === 'timeout' && b.pid !== null && !alive(b.pid)) {
    r.outcome = 'failed';
    r.detail = `QEMU exited before the blade verified (serial log ${b.serial})`;
  }
  return r;
}
