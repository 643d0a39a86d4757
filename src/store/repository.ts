// The storage seam. The engine depends on this interface only; src/store/sqlite.ts implements it over better-sqlite3.
import type {
  Attachment,
  Bond,
  Cluster,
  Host,
  HostConfig,
  HostState,
  LogicalNetwork,
  Nic,
} from '../domain/model.js';
import type { StoredReport } from '../domain/observed.js';

export type NewCluster = Omit<Cluster, 'id' | 'createdAt' | 'updatedAt'>;
export type NewNetwork = Omit<LogicalNetwork, 'id'>;
export type NewHost = Omit<Host, 'id' | 'createdAt' | 'updatedAt'>;

export interface HostFilter {
  clusterId?: number;
  state?: HostState;
}

export interface ApiTokenRecord {
  id: number;
  name: string;
  /** sha256 hex of the token; the token itself is never stored. */
  hash: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface HostEvent {
  id: number;
  hostId: number;
  at: string;
  kind: string;
  data: Record<string, unknown>;
}

export interface Repository {
  /**
   * Runs fn in one SQLite transaction. Nested calls become savepoints: if an inner call throws and
   * the outer code catches it, only the inner writes are undone. If fn throws, everything it wrote
   * is rolled back: no half-written state.
   */
  transaction<T>(fn: () => T): T;
  close(): void;

  listClusters(): Cluster[];
  getClusterById(id: number): Cluster | undefined;
  getClusterByName(name: string): Cluster | undefined;
  getDefaultCluster(): Cluster | undefined;
  insertCluster(c: NewCluster): Cluster;
  /** Writes every field but id/createdAt; sets updatedAt. */
  updateCluster(c: Cluster): Cluster;
  deleteCluster(id: number): void;

  listNetworks(clusterId: number): LogicalNetwork[];
  getNetworkById(id: number): LogicalNetwork | undefined;
  insertNetwork(n: NewNetwork): LogicalNetwork;
  updateNetwork(n: LogicalNetwork): LogicalNetwork;
  deleteNetwork(id: number): void;
  /** Hosts that hold an explicit attachment of this network. */
  hostIdsAttachedToNetwork(networkId: number): number[];

  listHosts(filter?: HostFilter): Host[];
  getHostById(id: number): Host | undefined;
  getHostByName(name: string): Host | undefined;
  /** A host whose boot MAC or any NIC has this MAC. */
  findHostByMac(mac: string): Host | undefined;
  insertHost(h: NewHost): Host;
  updateHost(h: Host): Host;
  deleteHost(id: number): void;

  /** The whole configuration of one host (cluster, its networks, host, NICs, bonds, attachments). */
  loadHostConfig(hostId: number): HostConfig;
  /**
   * Persists `next` as the host's configuration, diffing against what is stored:
   * - host row: every field but id/createdAt is written (updatedAt set now);
   * - NICs, bonds, attachments: objects with id > 0 are updated, objects with id <= 0 are inserted
   *   (a fresh id is assigned), stored objects whose id is absent from `next` are deleted;
   * - an attachment whose iface is { kind: 'bond', bondId: n } with n <= 0 refers to the bond inserted
   *   in this same call with that temporary id; the real id is substituted.
   * Cluster and networks in `next` are ignored (they have their own calls).
   * Returns the config as stored (real ids).
   */
  saveHostConfig(next: HostConfig): HostConfig;

  insertToken(name: string, hash: string): ApiTokenRecord;
  findTokenByHash(hash: string): ApiTokenRecord | undefined;
  touchToken(id: number): void;
  listTokens(): ApiTokenRecord[];
  deleteToken(name: string): boolean;

  /** Replaces the host's latest boot report. */
  saveHostReport(hostId: number, report: StoredReport): void;
  getHostReport(hostId: number): StoredReport | undefined;

  appendHostEvent(hostId: number, kind: string, data: Record<string, unknown>): HostEvent;
  /** The newest `limit` events of a host, newest first. */
  listHostEvents(hostId: number, limit: number): HostEvent[];
}

export type { Attachment, Bond, Nic };
