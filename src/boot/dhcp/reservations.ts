// DHCP reservations from the engine: a host PXE-booting from its boot MAC gets the static IPv4
// address the engine plans for it on its cluster's management network, when that network is untagged
// (a PXE ROM cannot tag) and the address sits on the boot interface: the boot NIC itself or a bond the
// boot NIC is a member of. Everything else (unknown machines, DHCP management, tagged management
// networks) comes from the pool.
//
// The DHCP path must not walk the engine per packet, so the reservations are an index (MAC ->
// reservation, address -> MAC) rebuilt from the engine at most every `refreshMs` (default 2 s) when
// a lookup arrives, and, when a `version` stamp is given, only when the stamp changed: a build walks
// every host (seconds at 10,000 hosts), which a boot storm must not pay every 2 s. An address claimed by two hosts is reserved for neither (the lease store would
// let only one hold it anyway; refusing both makes the conflict visible instead of first-come).
import { normalizeMac } from '../../domain/net.js';
import type { EngineApi } from '../../engine/types.js';
import { isIpv4 } from './ip.js';
import type { BootFileIndex, BootFileMap } from './boot-files.js';
import type { BootTargets } from './pxe.js';
import type { Reservation, ReservationSource } from './server-logic.js';

export interface EngineReservationsOptions {
  /** How old the index may get before a lookup rebuilds it. Default 2000 ms; 0 rebuilds on every lookup. */
  refreshMs?: number;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
  /** Told about an address claimed by more than one host, once until the set of claimants changes. */
  onConflict?: (conflict: ReservationConflict) => void;
  /** Per-cluster and per-host boot file overrides (BootFileStore.all), read once per index build. */
  bootFiles?: () => BootFileIndex;
  /**
   * A cheap stamp of everything the index derives from (hosts, networks, boot files): read at most
   * every refreshMs, and the index is rebuilt only when it differs from the last build's.
   */
  version?: () => string;
}

export interface ReservationConflict {
  ip: string;
  hosts: string[];
}

interface Index {
  byMac: Map<string, Reservation>;
  /** Effective boot file overrides by boot MAC (cluster entries, then the host's). */
  bootByMac: Map<string, BootFileMap>;
  byIp: Map<string, string>;
  /** When the index was last built or found current. */
  checkedAt: number;
  version: string | undefined;
}

type Candidate = { mac: string; ip: string; host: string };

export class EngineReservations implements ReservationSource {
  private readonly engine: EngineApi;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private readonly onConflict: ((c: ReservationConflict) => void) | undefined;
  private readonly bootFiles: (() => BootFileIndex) | undefined;
  private readonly version: (() => string) | undefined;
  private index: Index | undefined;
  private reported = new Set<string>();

  constructor(engine: EngineApi, opts: EngineReservationsOptions = {}) {
    this.engine = engine;
    this.refreshMs = opts.refreshMs ?? 2000;
    this.now = opts.now ?? Date.now;
    this.onConflict = opts.onConflict;
    this.bootFiles = opts.bootFiles;
    this.version = opts.version;
  }

  lookup(mac: string): Reservation | undefined {
    const norm = normalizeMac(mac);
    return norm === null ? undefined : this.current().byMac.get(norm);
  }

  macFor(ip: string): string | undefined {
    return this.current().byIp.get(ip);
  }

  bootFor(mac: string): Partial<BootTargets> | undefined {
    const norm = normalizeMac(mac);
    return norm === null ? undefined : this.current().bootByMac.get(norm);
  }

  /** Forget the index: the next lookup rebuilds it (e.g. after a write the caller knows about). */
  invalidate(): void {
    this.index = undefined;
  }

  /** Every reservation, by MAC (a fresh index). */
  all(): ReadonlyMap<string, Reservation> {
    this.invalidate();
    return this.current().byMac;
  }

  private current(): Index {
    const t = this.now();
    const index = this.index;
    if (index && t - index.checkedAt < this.refreshMs && t >= index.checkedAt) return index;
    const version = this.version?.();
    if (index && version !== undefined && version === index.version) {
      index.checkedAt = t;
      return index;
    }
    this.index = this.build(t, version);
    return this.index;
  }

  private build(t: number, version: string | undefined): Index {
    const candidates: Candidate[] = [];
    const mgmtByCluster = new Map<number, number | null>();
    const files = this.bootFiles?.();
    const bootByMac = new Map<string, BootFileMap>();
    for (const host of this.engine.listHosts()) {
      if (host.bootMac === null) continue;
      if (files) {
        const merged = { ...files.clusters.get(host.clusterId), ...files.hosts.get(host.id) };
        if (Object.keys(merged).length > 0) bootByMac.set(host.bootMac, merged);
      }
      let mgmt = mgmtByCluster.get(host.clusterId);
      if (mgmt === undefined) {
        const n = this.engine.listNetworks(host.clusterId).find((x) => x.role === 'management');
        // A tagged management network cannot carry the PXE ROM's untagged DHCP: no reservation.
        mgmt = n && n.vlan === null ? n.id : null;
        mgmtByCluster.set(host.clusterId, mgmt);
      }
      if (mgmt === null) continue;
      const att = this.engine.listAttachments(host.id).find((a) => a.networkId === mgmt);
      if (!att || att.ipv4.method !== 'static' || !isIpv4(att.ipv4.address)) continue;
      const bootMac = host.bootMac;
      let onBootInterface = att.interface.kind === 'nic' && att.interface.mac === bootMac;
      if (!onBootInterface && att.interface.kind === 'bond' && att.interface.bondId !== null) {
        const bondId = att.interface.bondId;
        const bond = this.engine.listBonds(host.id).find((b) => b.id === bondId);
        onBootInterface = bond !== undefined && bond.members.some((m) => m.mac === bootMac);
      }
      if (onBootInterface) candidates.push({ mac: bootMac, ip: att.ipv4.address, host: host.name });
    }

    const claims = new Map<string, Candidate[]>();
    for (const c of candidates) claims.set(c.ip, [...(claims.get(c.ip) ?? []), c]);
    const byMac = new Map<string, Reservation>();
    const byIp = new Map<string, string>();
    const conflicts = new Set<string>();
    for (const [ip, list] of claims) {
      if (list.length > 1) {
        const hosts = list.map((c) => c.host);
        const key = `${ip} ${hosts.join(',')}`;
        conflicts.add(key);
        if (!this.reported.has(key)) this.onConflict?.({ ip, hosts });
        continue;
      }
      const c = list[0] as Candidate;
      byMac.set(c.mac, { ip, hostname: c.host });
      byIp.set(ip, c.mac);
    }
    this.reported = conflicts;
    return { byMac, bootByMac, byIp, checkedAt: t, version };
  }
}
