// The boot timeline and the boot tokens, over the repository's SQLite connection (tables of
// db/migrations/002_boot.sql).
//
// A boot starts when a blade fetches its per-host iPXE script: startBoot issues a fresh token (only its
// SHA-256 is stored) and supersedes the host's earlier boots, whose hashes are cleared so that their
// tokens stop working. Every stage the boot services see is an event (BootEventSink.record):
//  - firmware events (TFTP, and DHCP from a PXE/iPXE client, i.e. with `data.arch` or user class iPXE)
//    come before the iPXE script of the boot they belong to, so they are stored unattached and the next
//    startBoot for that MAC (or host) adopts those of the last 10 minutes;
//  - every other event joins the host's current boot (the DHCP of the blade's own OS, kernel, initrd...),
//    or stays unattached when the host has none yet.
// Tokens are never stored, logged or returned by anything but startBoot.
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type {
  BootEvent,
  BootRecord,
  BootStage,
  BootStarted,
  BootStore,
  BootTimelineEvent,
  BootTokenOwner,
  RecordedBootEvent,
} from '../boot/events.js';
import { normalizeMac } from '../domain/net.js';
import type { Counter, Histogram, Registry } from '../metrics.js';
import type { SqliteRepository } from './sqlite.js';

/** Unattached events this recent are adopted by the boot that starts next for their MAC or host. */
export const ADOPT_WINDOW_MS = 10 * 60_000;
/** Unattached events older than this can never be adopted; they are pruned. */
export const UNATTACHED_RETENTION_MS = 60 * 60_000;
/** Boots kept per host (older ones go with their events). */
export const MAX_BOOTS_PER_HOST = 50;
/** Events kept per boot (a long-running blade renews its DHCP lease forever): the oldest go first. */
export const MAX_EVENTS_PER_BOOT = 1000;
const PRUNE_EVERY_MS = 60_000;

/** Buckets of tabula_boot_stage_seconds: a boot takes seconds to minutes (UEFI under TCG: minutes). */
export const BOOT_STAGE_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

export interface BootStoreOptions {
  /** tabula_boot_stage_seconds and tabula_boot_events_total are registered here when given. */
  metrics?: Registry;
  logger?: Logger;
  /** Clock (ms since the epoch), for tests. */
  now?: () => number;
}

interface BootRow {
  id: number;
  host_id: number;
  mac: string;
  token_hash: string | null;
  started_at: string;
  superseded: number;
}

interface EventRow {
  id: number;
  boot_id: number | null;
  stage: string;
  at: string;
  data: string;
}

const TOKEN_MIN = 16;
const TOKEN_MAX = 256;

export function hashBootToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Events sent by firmware (PXE ROM, iPXE) before the iPXE script: TFTP, and DHCP carrying a client
 * architecture (option 93), the iPXE user class or a known firmware (as src/boot/dhcp/instrument.ts
 * records them). The blade's OS (udhcpc) sends none of these.
 */
export function isFirmwareEvent(e: Pick<BootEvent, 'stage' | 'data'>): boolean {
  if (e.stage === 'tftp') return true;
  if (!e.stage.startsWith('dhcp-')) return false;
  const d = e.data ?? {};
  if (d.arch !== undefined && d.arch !== null) return true;
  if (d.ipxe === true || d.pxe === true) return true;
  if (typeof d.userClass === 'string' && d.userClass.split(',').includes('iPXE')) return true;
  // src/boot/dhcp/instrument.ts: 'bios' for PXE ROMs that predate option 93, 'unknown' for OS clients
  return typeof d.firmware === 'string' && d.firmware !== 'unknown';
}

/** Event data as stored: never anything that looks like a token. */
function cleanData(data: BootEvent['data']): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(data ?? {})) {
    if (/token/i.test(k)) continue;
    out[k] = v;
  }
  return out;
}

export class SqliteBootStore implements BootStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private readonly stageSeconds: Histogram | undefined;
  private readonly eventsTotal: Counter | undefined;
  private lastPrune = 0;

  constructor(
    private readonly repo: SqliteRepository,
    opts: BootStoreOptions = {},
  ) {
    this.db = repo.db;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    this.stageSeconds = opts.metrics?.histogram('tabula_boot_stage_seconds', 'Seconds from the start of a boot (its iPXE script) to each stage', BOOT_STAGE_BUCKETS);
    this.eventsTotal = opts.metrics?.counter('tabula_boot_events_total', 'Boot timeline events by stage');
  }

  /** Prepared once per SQL text (the repository's cache: record() runs for every DHCP packet). */
  private stmt(sql: string): Database.Statement {
    return this.repo.statement(sql);
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  // ---------------------------------------------------------------- boots and tokens

  /**
   * Starts a boot of `hostId` from `mac`: a fresh token, the host's earlier boots superseded (their
   * tokens stop working), and the MAC's (or host's) unattached events of the last 10 minutes adopted.
   */
  startBoot(hostId: number, mac: string): BootStarted {
    const norm = normalizeMac(mac);
    if (!norm) throw new Error(`startBoot: '${mac}' is not a MAC address`);
    const token = randomBytes(32).toString('base64url');
    const nowMs = this.now();
    const at = this.iso(nowMs);
    const bootId = this.repo.transaction(() => {
      this.stmt('UPDATE boots SET superseded = 1, token_hash = NULL WHERE host_id = ? AND superseded = 0').run(hostId);
      const { lastInsertRowid } = this
        .stmt('INSERT INTO boots (host_id, mac, token_hash, started_at, superseded) VALUES (?, ?, ?, ?, 0)')
        .run(hostId, norm, hashBootToken(token), at);
      const id = Number(lastInsertRowid);
      // Two statements, not one with OR: each uses its partial index on the unattached events.
      const since = this.iso(nowMs - ADOPT_WINDOW_MS);
      this.stmt('UPDATE boot_events SET boot_id = ?, host_id = ? WHERE boot_id IS NULL AND mac = ? AND at >= ? AND at <= ?').run(id, hostId, norm, since, at);
      this.stmt('UPDATE boot_events SET boot_id = ? WHERE boot_id IS NULL AND host_id = ? AND at >= ? AND at <= ?').run(id, hostId, since, at);
      // Keep the newest MAX_BOOTS_PER_HOST boots of the host; events go with their boot.
      this
        .stmt('DELETE FROM boots WHERE host_id = ? AND id NOT IN (SELECT id FROM boots WHERE host_id = ? ORDER BY id DESC LIMIT ?)')
        .run(hostId, hostId, MAX_BOOTS_PER_HOST);
      return id;
    });
    return { bootId, token };
  }

  /** The current boot a token belongs to, or null (unknown, superseded, malformed). */
  lookupToken(token: string): BootTokenOwner | null {
    if (token.length < TOKEN_MIN || token.length > TOKEN_MAX) return null;
    // Looked up by hash: the comparison never touches the secret itself.
    const r = this.stmt('SELECT * FROM boots WHERE token_hash = ? AND superseded = 0').get(hashBootToken(token)) as BootRow | undefined;
    return r ? { hostId: r.host_id, bootId: r.id, mac: r.mac, startedAt: r.started_at } : null;
  }

  /** The token's boot when it is current for the host that owns `mac`; null otherwise. */
  verifyBootToken(token: string, mac: string): { hostId: number; bootId: number } | null {
    const owner = this.lookupToken(token);
    const norm = normalizeMac(mac);
    if (!owner || !norm) return null;
    const host = this.repo.findHostByMac(norm);
    if (!host || host.id !== owner.hostId) return null;
    return { hostId: owner.hostId, bootId: owner.bootId };
  }

  /** The current boot of the host that owns `mac`, or null. */
  currentBootIdOf(mac: string): number | null {
    const norm = normalizeMac(mac);
    const host = norm ? this.repo.findHostByMac(norm) : undefined;
    return host ? (this.currentBoot(host.id)?.id ?? null) : null;
  }

  private currentBoot(hostId: number): BootRow | undefined {
    return this.stmt('SELECT * FROM boots WHERE host_id = ? AND superseded = 0').get(hostId) as BootRow | undefined;
  }

  private bootById(bootId: number): BootRow | undefined {
    return this.stmt('SELECT * FROM boots WHERE id = ?').get(bootId) as BootRow | undefined;
  }

  // ---------------------------------------------------------------- events

  /** BootEventSink: never throws (the protocol servers call it from their packet loops). */
  record(event: BootEvent): void {
    try {
      this.recordEvent(event);
    } catch (err) {
      this.log?.warn({ err, stage: event.stage, mac: event.mac }, 'boot event not recorded');
    }
  }

  /**
   * Stores one event; `bootId` attaches it to that boot (the HTTP stages know it from the token),
   * otherwise the MAC decides (see the header). `atMs` dates it when it happened earlier than now (a
   * download that finished before its handler ran again). Returns what was stored, or null for a
   * malformed MAC.
   */
  recordEvent(event: BootEvent, opts: { bootId?: number; atMs?: number } = {}): RecordedBootEvent | null {
    const mac = normalizeMac(event.mac);
    if (!mac) return null;
    const nowMs = opts.atMs ?? this.now();
    const at = this.iso(nowMs);
    const data = JSON.stringify(cleanData(event.data));
    this.eventsTotal?.inc({ stage: event.stage });
    const stored = this.repo.transaction((): RecordedBootEvent & { startedAt: string | null } => {
      let boot: BootRow | undefined;
      let hostId: number | null;
      if (opts.bootId !== undefined) {
        boot = this.bootById(opts.bootId);
        if (!boot) throw new Error(`boot #${opts.bootId} not found`);
        hostId = boot.host_id;
      } else {
        hostId = this.repo.findHostByMac(mac)?.id ?? null;
        boot = hostId !== null && !isFirmwareEvent(event) ? this.currentBoot(hostId) : undefined;
      }
      const bootId = boot?.id ?? null;
      const { lastInsertRowid } = this
        .stmt('INSERT INTO boot_events (boot_id, host_id, mac, stage, at, data) VALUES (?, ?, ?, ?, ?, ?)')
        .run(bootId, hostId, mac, event.stage, at, data);
      if (bootId !== null) this.trimBoot(bootId);
      return { id: Number(lastInsertRowid), bootId, hostId, at, startedAt: boot?.started_at ?? null };
    });
    if (stored.startedAt !== null) {
      this.stageSeconds?.observe(Math.max(0, (nowMs - Date.parse(stored.startedAt)) / 1000), { stage: event.stage });
    }
    this.maybePrune(this.now());
    return { id: stored.id, bootId: stored.bootId, hostId: stored.hostId, at: stored.at };
  }

  private trimBoot(bootId: number): void {
    const { n } = this.stmt('SELECT COUNT(*) AS n FROM boot_events WHERE boot_id = ?').get(bootId) as { n: number };
    if (n <= MAX_EVENTS_PER_BOOT) return;
    this
      .stmt('DELETE FROM boot_events WHERE id IN (SELECT id FROM boot_events WHERE boot_id = ? ORDER BY id LIMIT ?)')
      .run(bootId, n - MAX_EVENTS_PER_BOOT);
  }

  /** Drops unattached events too old to be adopted (at most once a minute). */
  private maybePrune(nowMs: number): void {
    if (nowMs - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = nowMs;
    this.pruneUnattached(nowMs);
  }

  /** Deletes unattached events older than the retention; returns how many. */
  pruneUnattached(nowMs = this.now()): number {
    return this.stmt('DELETE FROM boot_events WHERE boot_id IS NULL AND at < ?').run(this.iso(nowMs - UNATTACHED_RETENTION_MS)).changes;
  }

  changeStamp(): string {
    // total_changes(): every row this connection (the server's only one) ever wrote; data_version:
    // commits by other connections (a CLI next to the server). O(1), and never stale.
    const { t } = this.stmt('SELECT total_changes() AS t').get() as { t: number };
    return `${t}/${String(this.db.pragma('data_version', { simple: true }))}`;
  }

  /** The stages of one boot, in time order. */
  eventsOfBoot(bootId: number): BootTimelineEvent[] {
    const rows = this.stmt('SELECT id, boot_id, stage, at, data FROM boot_events WHERE boot_id = ? ORDER BY at, id').all(bootId) as EventRow[];
    return rows.map((r) => ({ stage: r.stage as BootStage, at: r.at, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** The newest event of `stage` in a boot, or null. */
  lastEventOfBoot(bootId: number, stage: BootStage): BootTimelineEvent | null {
    const r = this.stmt('SELECT id, boot_id, stage, at, data FROM boot_events WHERE boot_id = ? AND stage = ? ORDER BY at DESC, id DESC LIMIT 1').get(bootId, stage) as
      | EventRow
      | undefined;
    return r ? { stage: r.stage as BootStage, at: r.at, data: JSON.parse(r.data) as Record<string, unknown> } : null;
  }

  listBoots(hostId: number, limit: number): BootRecord[] {
    const n = Math.max(1, Math.min(1000, Math.floor(limit)));
    const boots = this.stmt('SELECT * FROM boots WHERE host_id = ? ORDER BY id DESC LIMIT ?').all(hostId, n) as BootRow[];
    return boots.map((b) => ({ id: b.id, mac: b.mac, startedAt: b.started_at, current: b.superseded === 0, events: this.eventsOfBoot(b.id) }));
  }
}
