// The boot timeline seam: protocol servers report what they did for a MAC; the engine side stores
// it per host. The types here are what the boot chain, the API and the CLI see of it; the SQLite
// implementation is src/store/boot-store.ts.

export const BOOT_STAGES = [
  'dhcp-discover',
  'dhcp-offer',
  'dhcp-request',
  'dhcp-ack',
  'dhcp-nak',
  'tftp',
  'ipxe-script',
  'host-script',
  'kernel',
  'initrd',
  'inventory',
  'config',
  /** A running blade's poll answered 204: its host is in maintenance, the new generation waits. */
  'held',
  'report',
  'verified',
  'rolled-back',
] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

export interface BootEvent {
  /** Normalised lower-case colon MAC of the booting NIC. */
  mac: string;
  stage: BootStage;
  /** Stage details: arch, user class, file, bytes, status... never a token. */
  data?: Record<string, string | number | boolean | null>;
}

export interface BootEventSink {
  record(event: BootEvent): void;
}

export interface BootTimelineEvent {
  stage: BootStage;
  at: string;
  data: Record<string, unknown>;
}

export interface BootRecord {
  id: number;
  /** The MAC the boot started from. */
  mac: string;
  startedAt: string;
  /** The host's latest boot: its token is the one that works. */
  current: boolean;
  /** In time order; adopted firmware events come before startedAt. */
  events: BootTimelineEvent[];
}

/** What the API and the CLI read. */
export interface BootTimeline {
  /** The host's newest `limit` boots, newest first. */
  listBoots(hostId: number, limit: number): BootRecord[];
  /**
   * Changes whenever a host, a boot, a boot event or a report changes: a summary built from them
   * is still current while this stays the same (GET /rack answers from its cache then).
   */
  changeStamp?(): string;
}

export interface BootStarted {
  bootId: number;
  /** Shown once (in the iPXE script); only its SHA-256 is stored. */
  token: string;
}

export interface BootTokenOwner {
  hostId: number;
  bootId: number;
  /** The MAC the boot started from. */
  mac: string;
  startedAt: string;
}

export interface RecordedBootEvent {
  id: number;
  bootId: number | null;
  hostId: number | null;
  at: string;
}

/**
 * The boot chain's store of boots, tokens and events. A boot starts with the per-host iPXE script;
 * its token authorises the blade's later requests.
 */
export interface BootStore extends BootEventSink, BootTimeline {
  /** Issues a fresh token for a new boot of the host and supersedes its earlier boots. */
  startBoot(hostId: number, mac: string): BootStarted;
  /** The current boot a token belongs to; null for an unknown or superseded token. */
  lookupToken(token: string): BootTokenOwner | null;
  /** The current boot of the host that owns this MAC, if any. */
  currentBootIdOf(mac: string): number | null;
  /** Stores one event, attached to `bootId` when given, dated `atMs` when given; null for a malformed MAC. */
  recordEvent(event: BootEvent, opts?: { bootId?: number; atMs?: number }): RecordedBootEvent | null;
  lastEventOfBoot(bootId: number, stage: BootStage): BootTimelineEvent | null;
}
