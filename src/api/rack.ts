// GET /api/v1/rack: one row per host with what an operator scans a rack for (state, sync, the last
// boot's stage and result, seconds to verified), and an ETag so that a console polling with
// If-None-Match gets a bodiless 304 until something changes.
import { createHash } from 'node:crypto';
import type { EngineApi, HostView } from '../engine/types.js';
import type { HostState, SyncReason } from '../domain/model.js';
import type { BootRecord, BootTimeline } from '../boot/events.js';

/** How the host's last boot ended, as far as its timeline tells. */
export type BootResult = 'verified' | 'rolled-back' | 'reported' | 'booting' | 'held';

export interface RackBoot {
  id: number;
  mac: string;
  startedAt: string;
  /** The stage of the boot's newest event ('ipxe-script' right after the script was served). */
  stage: string;
  /** When that stage was reached. */
  stageAt: string;
  result: BootResult;
  /** From the first event of the boot (firmware DHCP included) to 'verified'; null until verified. */
  secondsToVerified: number | null;
}

export interface RackHost {
  id: number;
  name: string;
  cluster: string;
  state: HostState;
  bootMac: string | null;
  generation: number;
  appliedGeneration: number | null;
  inSync: boolean;
  syncReasons: SyncReason[];
  lastInventoryAt: string | null;
  lastBoot: RackBoot | null;
}

export interface RackSummary {
  hosts: RackHost[];
  counts: { hosts: number; inSync: number; booting: number; rolledBack: number };
  /** False when the server runs without the boot services (no timeline to read). */
  timeline: boolean;
}

export function summariseBoot(boot: BootRecord): RackBoot {
  const events = boot.events;
  const last = events[events.length - 1];
  const stages = new Set(events.map((e) => e.stage));
  const result: BootResult = stages.has('rolled-back')
    ? 'rolled-back'
    : stages.has('verified')
      ? 'verified'
      : stages.has('report')
        ? 'reported'
        : last?.stage === 'held'
          ? 'held'
          : 'booting';
  const verified = events.find((e) => e.stage === 'verified');
  const first = events[0];
  const startMs = Math.min(Date.parse(boot.startedAt), first ? Date.parse(first.at) : Number.POSITIVE_INFINITY);
  const secondsToVerified = verified && Number.isFinite(startMs) ? Math.max(0, Math.round((Date.parse(verified.at) - startMs) / 100) / 10) : null;
  return {
    id: boot.id,
    mac: boot.mac,
    startedAt: boot.startedAt,
    stage: last?.stage ?? 'ipxe-script',
    stageAt: last?.at ?? boot.startedAt,
    result,
    secondsToVerified,
  };
}

function rackHost(host: HostView, timeline: BootTimeline | undefined): RackHost {
  const boot = timeline?.listBoots(host.id, 1)[0];
  return {
    id: host.id,
    name: host.name,
    cluster: host.cluster,
    state: host.state,
    bootMac: host.bootMac,
    generation: host.generation,
    appliedGeneration: host.appliedGeneration,
    inSync: host.inSync,
    syncReasons: host.syncReasons,
    lastInventoryAt: host.lastInventoryAt,
    lastBoot: boot ? summariseBoot(boot) : null,
  };
}

export function rackSummary(engine: EngineApi, timeline: BootTimeline | undefined, filter: { cluster?: string; state?: HostState }): RackSummary {
  const hosts = engine.listHosts(filter).map((h) => rackHost(h, timeline));
  return {
    hosts,
    counts: {
      hosts: hosts.length,
      inSync: hosts.filter((h) => h.inSync).length,
      booting: hosts.filter((h) => h.lastBoot?.result === 'booting').length,
      rolledBack: hosts.filter((h) => h.lastBoot?.result === 'rolled-back').length,
    },
    timeline: timeline !== undefined,
  };
}

interface CachedRack {
  stamp: string;
  summary: RackSummary;
  etag: string;
  computedAt: number;
  costMs: number;
}

/** Per boot timeline (one per server) and filter: the last summary built and what it was built from. */
const cache = new WeakMap<BootTimeline, Map<string, CachedRack>>();

/**
 * rackSummary for GET /rack, from a cache while the timeline's change stamp says nothing changed. A
 * large rack that changes all the time (a boot storm) is summarised at most once per five times the
 * cost of a summary, so consoles polling it cannot take more than a fifth of the server.
 */
export function cachedRackSummary(
  engine: EngineApi,
  timeline: BootTimeline | undefined,
  filter: { cluster?: string; state?: HostState },
  now: () => number = Date.now,
): { summary: RackSummary; etag: string } {
  const stamp = timeline?.changeStamp?.();
  if (timeline === undefined || stamp === undefined) {
    const summary = rackSummary(engine, timeline, filter);
    return { summary, etag: etagOf(summary) };
  }
  let byFilter = cache.get(timeline);
  if (!byFilter) cache.set(timeline, (byFilter = new Map()));
  const key = `${filter.cluster ?? ''}\u0000${filter.state ?? ''}`;
  const hit = byFilter.get(key);
  const t = now();
  if (hit && (hit.stamp === stamp || (hit.costMs > SLOW_SUMMARY_MS && t - hit.computedAt < hit.costMs * 5))) return hit;
  const summary = rackSummary(engine, timeline, filter);
  const entry: CachedRack = { stamp, summary, etag: etagOf(summary), computedAt: t, costMs: now() - t };
  byFilter.set(key, entry);
  return entry;
}

/** Below this a summary is always rebuilt on a change (small racks see every change at once). */
const SLOW_SUMMARY_MS = 50;

/** A strong ETag of the JSON the client would get. */
export function etagOf(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}

/** RFC 9110 §13.1.2: If-None-Match is a list of entity tags (weak comparison) or "*". */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}
