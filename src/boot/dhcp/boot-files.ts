// Per-cluster and per-host replacements of the boot file map (issue 3, "PXE": the option 93 map is
// "overridable per cluster and per host"). A host's effective map is the server's defaults, then its
// cluster's entries, then its own. Validation is pure (validateBootFiles); the store behind the
// BootFileStore interface is the boot_files table of migration 006 (src/store/boot-file-store.ts);
// the DHCP side reads one merged index per refresh.
import { invalid } from '../../domain/errors.js';
import type { EngineApi, Ref } from '../../engine/types.js';
import type { BootTargets } from './pxe.js';

export const BOOT_FILE_KEYS = ['bios', 'uefiX64', 'uefiIa32', 'arm64', 'arm32', 'httpBootUrl', 'httpScriptUrl'] as const;
export type BootFileKey = (typeof BOOT_FILE_KEYS)[number];
/** Partial by design: a missing key falls through to the cluster, then to the server. */
export type BootFileMap = Partial<Record<BootFileKey, string>>;
/** A change: a string sets the key, null removes it. */
export type BootFilePatch = Partial<Record<BootFileKey, string | null>>;

const URL_KEYS: ReadonlySet<BootFileKey> = new Set(['httpBootUrl', 'httpScriptUrl']);
/** TFTP names go into the 128-byte BOOTP file field (NUL-terminated) as well as option 67. */
const MAX_TFTP_NAME = 127;
const TFTP_NAME_RE = /^[A-Za-z0-9._+\-/]+$/;

/** Why `value` cannot be the boot file `key`, or null when it can. */
export function bootFileProblem(key: BootFileKey, value: string): string | null {
  if (URL_KEYS.has(key)) {
    if (value.length > 1024) return 'a URL is at most 1024 characters';
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return 'is not an absolute URL';
    }
    // The iPXE builds in Debian have no HTTPS (pxe-lab.md §3); firmware HTTP boot may. Nothing else.
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
    return null;
  }
  if (value.length === 0) return 'is empty';
  if (Buffer.byteLength(value, 'utf8') > MAX_TFTP_NAME) return `a TFTP file name is at most ${MAX_TFTP_NAME} bytes (the BOOTP file field)`;
  if (!TFTP_NAME_RE.test(value)) return "a TFTP file name holds only letters, digits and . _ + - /";
  if (value.startsWith('/') || value.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    return "a TFTP file name is relative to the TFTP root: no leading '/', no '.', '..' or empty parts";
  }
  return null;
}

/** Checks a whole patch; throws BOOT_FILE_KEY_UNKNOWN or BOOT_FILE_INVALID naming the owner, key and rule. */
export function validateBootFilePatch(owner: string, patch: Record<string, unknown>): BootFilePatch {
  const out: BootFilePatch = {};
  for (const [key, value] of Object.entries(patch)) {
    if (!(BOOT_FILE_KEYS as readonly string[]).includes(key)) {
      throw invalid('BOOT_FILE_KEY_UNKNOWN', `${owner}: '${key}' is not a boot file key (one of ${BOOT_FILE_KEYS.join(', ')})`, { key });
    }
    const k = key as BootFileKey;
    if (value === null) {
      out[k] = null;
      continue;
    }
    if (typeof value !== 'string') throw invalid('BOOT_FILE_INVALID', `${owner}: boot file '${k}' must be a string, or null to remove it`, { key: k });
    const problem = bootFileProblem(k, value);
    if (problem) throw invalid('BOOT_FILE_INVALID', `${owner}: boot file '${k}' = '${value.slice(0, 200)}' ${problem}`, { key: k });
    out[k] = value;
  }
  return out;
}

/** Cluster entries, then host entries: the host wins key by key. */
export function mergeBootFiles(cluster: BootFileMap, host: BootFileMap): BootFileMap {
  return { ...cluster, ...host };
}

export interface BootFileIndex {
  clusters: Map<number, BootFileMap>;
  hosts: Map<number, BootFileMap>;
}

/** Where the overrides are kept (src/store/boot-file-store.ts keeps them in SQLite). */
export interface BootFileStore {
  forCluster(clusterId: number): BootFileMap;
  forHost(hostId: number): BootFileMap;
  /** Every entry, grouped by owner: one read for the DHCP index. */
  all(): BootFileIndex;
  /** Applies an already validated patch as one unit: all of it or nothing. */
  apply(owner: { clusterId: number } | { hostId: number }, patch: BootFilePatch): void;
}

export interface ClusterBootFiles {
  cluster: string;
  files: BootFileMap;
}

export interface HostBootFiles {
  host: string;
  cluster: string;
  /** The host's own entries. */
  files: BootFileMap;
  /** What DHCP uses for this host on top of the server's defaults: cluster entries, then the host's. */
  effective: BootFileMap;
}

/** The API's view: cluster and host boot files by reference (id or name), checked before any write. */
export class BootFileService {
  constructor(
    private readonly engine: EngineApi,
    private readonly store: BootFileStore,
  ) {}

  clusterFiles(ref: Ref): ClusterBootFiles {
    const c = this.engine.getCluster(ref);
    return { cluster: c.name, files: this.store.forCluster(c.id) };
  }

  hostFiles(ref: Ref): HostBootFiles {
    const h = this.engine.getHost(ref);
    const files = this.store.forHost(h.id);
    return { host: h.name, cluster: h.cluster, files, effective: mergeBootFiles(this.store.forCluster(h.clusterId), files) };
  }

  patchCluster(ref: Ref, patch: Record<string, unknown>): ClusterBootFiles {
    const c = this.engine.getCluster(ref);
    this.store.apply({ clusterId: c.id }, validateBootFilePatch(`cluster '${c.name}'`, patch));
    return this.clusterFiles(c.id);
  }

  patchHost(ref: Ref, patch: Record<string, unknown>): HostBootFiles {
    const h = this.engine.getHost(ref);
    this.store.apply({ hostId: h.id }, validateBootFilePatch(`host '${h.name}'`, patch));
    return this.hostFiles(h.id);
  }
}

/** As the responder's per-client override (BootTargets keys are the same names). */
export function asBootTargets(m: BootFileMap): Partial<BootTargets> {
  return { ...m };
}
