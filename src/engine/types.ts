// The engine's public surface: what the REST API, the CLI and (later) the boot servers call.
// Inputs are already shape-checked at the edge (zod); the engine enforces the domain rules.
import type {
  AttachmentQos,
  BondMode,
  BondOptions,
  Cluster,
  ClusterDefaults,
  CustomProperties,
  Host,
  HostState,
  InventoryChange,
  InventoryReport,
  Ipv4Config,
  Ipv6Config,
  LogicalNetwork,
  NetworkRole,
  Nic,
  PortType,
  SwitchType,
  SyncReason,
} from '../domain/model.js';
import type { Violation } from '../domain/errors.js';
export type { InventoryChange, InventoryChangeKind } from '../domain/model.js';
import type { HostPlan } from '../domain/plan-types.js';
import type { KernelState, ReportCheck, StoredReport } from '../domain/observed.js';

/** An object reference as given by a user: a numeric id ("12" or 12) or a name. */
export type Ref = string | number;

export interface ClusterInput {
  name: string;
  description?: string;
  isDefault?: boolean;
  defaults?: Partial<ClusterDefaults>;
  /** linux (default) or ovs. */
  switchType?: SwitchType;
  /** The cluster's management network; default { name: 'mgmt' } (untagged, MTU 1500, not bridged). */
  managementNetwork?: Omit<NetworkInput, 'role'>;
}
export interface ClusterPatch {
  name?: string;
  description?: string;
  isDefault?: boolean;
  defaults?: Partial<ClusterDefaults>;
  /** Changes the plan of every host of the cluster (each one's generation moves). */
  switchType?: SwitchType;
}

export interface NetworkInput {
  name: string;
  vlan?: number | null;
  mtu?: number;
  bridged?: boolean;
  role?: NetworkRole;
  required?: boolean;
  label?: string | null;
  description?: string;
  /** VM-facing port of a bridged network on ovs clusters (default access). */
  portType?: PortType;
  /** VLANs of a trunk or hybrid port. */
  trunks?: number[];
}
export type NetworkPatch = Partial<NetworkInput>;

export interface HostInput {
  name: string;
  /** Default: the default cluster. */
  cluster?: Ref;
  state?: HostState;
  bootMac?: string | null;
  custom?: CustomProperties;
}
export type HostPatch = Partial<HostInput>;

export interface NicPatch {
  labels: string[];
}

export interface BondInput {
  /** Default: bondN with the smallest unused N on the host. */
  name?: string;
  /** A kernel mode name or an alias (load-balancing, failover, broadcast, link-aggregation). */
  mode: string;
  options?: BondOptions;
  /** NIC kernel names or MACs. */
  members: string[];
  mac?: string | null;
  labels?: string[];
}
export interface BondPatch {
  name?: string;
  mode?: string;
  options?: BondOptions;
  members?: string[];
  mac?: string | null;
  labels?: string[];
}

export interface AttachmentInput {
  /** Network name or id, in the host's cluster. */
  network: Ref;
  /** NIC kernel name, NIC MAC or bond name. */
  interface: string;
  ipv4?: Ipv4Config;
  ipv6?: Ipv6Config;
  custom?: CustomProperties;
  /** Bandwidth limits (kbit/s, kbit); default none. */
  qos?: AttachmentQos;
}
export interface AttachmentPatch {
  interface?: string;
  ipv4?: Ipv4Config;
  ipv6?: Ipv6Config;
  custom?: CustomProperties;
  /** Replaces the attachment's limits ({} removes them). */
  qos?: AttachmentQos;
}

export interface HostView extends Host {
  cluster: string;
  inSync: boolean;
}

export interface BondView {
  id: number;
  hostId: number;
  name: string;
  mode: BondMode;
  options: BondOptions;
  members: { mac: string; name: string | null; present: boolean }[];
  mac: string | null;
  /** The MAC the bond will carry: explicit, else the primary member's. */
  effectiveMac: string | null;
  primaryMember: string | null;
  labels: string[];
  /** Fewer than two members present (a NIC vanished). */
  partial: boolean;
}

export interface AttachmentView {
  id: number;
  hostId: number;
  networkId: number;
  network: string;
  interface: { kind: 'nic' | 'bond'; name: string | null; mac: string | null; bondId: number | null; present: boolean };
  /** Derived from labels rather than stored (id 0). */
  viaLabel: string | null;
  ipv4: Ipv4Config;
  ipv6: Ipv6Config;
  custom: CustomProperties;
  qos: AttachmentQos;
}

export interface ReconcileResult {
  host: HostView;
  enrolled: boolean;
  changes: InventoryChange[];
  syncReasons: SyncReason[];
  /**
   * Every rule the host breaks after reconciliation, with its severity. Hardware reality is stored
   * even when it breaks a rule (severity 'error'); the plan is then refused until an admin fixes it.
   */
  findings: Violation[];
}

export interface TokenCreated {
  name: string;
  /** Shown once; only its hash is stored. */
  token: string;
}

/** What a blade's boot report (POST /boot/{mac}/report) brings to the engine. */
export interface BootReportInput {
  bootId: number | null;
  generation: number;
  verified: boolean;
  rolledBack: boolean;
  /** The blade was handed the fallback plan, not the host's. */
  fallback: boolean;
  checks: ReportCheck[];
  kernel?: KernelState | undefined;
}

/** GET /hosts/{host}/report: the stored report plus the host's sync state it leads to. */
export interface HostReport extends StoredReport {
  host: string;
  /** The host's generation now (the report's may be older). */
  hostGeneration: number;
  inSync: boolean;
  syncReasons: SyncReason[];
}

export interface EngineApi {
  listClusters(): Cluster[];
  getCluster(ref: Ref): Cluster;
  createCluster(input: ClusterInput): Cluster;
  updateCluster(ref: Ref, patch: ClusterPatch): Cluster;
  deleteCluster(ref: Ref): void;

  listNetworks(cluster: Ref): LogicalNetwork[];
  getNetwork(cluster: Ref, network: Ref): LogicalNetwork;
  createNetwork(cluster: Ref, input: NetworkInput): LogicalNetwork;
  updateNetwork(cluster: Ref, network: Ref, patch: NetworkPatch): LogicalNetwork;
  deleteNetwork(cluster: Ref, network: Ref): void;

  listHosts(filter?: { cluster?: Ref; state?: HostState }): HostView[];
  getHost(ref: Ref): HostView;
  createHost(input: HostInput): HostView;
  updateHost(ref: Ref, patch: HostPatch): HostView;
  deleteHost(ref: Ref): void;

  listNics(host: Ref): Nic[];
  /** nic: id, kernel name or MAC. */
  getNic(host: Ref, nic: Ref): Nic;
  updateNic(host: Ref, nic: Ref, patch: NicPatch): Nic;

  listBonds(host: Ref): BondView[];
  getBond(host: Ref, bond: Ref): BondView;
  createBond(host: Ref, input: BondInput): BondView;
  updateBond(host: Ref, bond: Ref, patch: BondPatch): BondView;
  /** Moves the bond's networks back to its primary member (XenAPI), in the same transaction. */
  deleteBond(host: Ref, bond: Ref): void;

  /** Stored attachments plus those derived from labels. */
  listAttachments(host: Ref): AttachmentView[];
  /** attachment: id or network name. */
  getAttachment(host: Ref, attachment: Ref): AttachmentView;
  createAttachment(host: Ref, input: AttachmentInput): AttachmentView;
  updateAttachment(host: Ref, attachment: Ref, patch: AttachmentPatch): AttachmentView;
  deleteAttachment(host: Ref, attachment: Ref): void;

  /** The host a booting MAC belongs to, enrolling it in the default cluster when unknown. */
  findOrEnrolHost(mac: string): { host: HostView; enrolled: boolean };
  /** host null: find the host by MAC, or enrol a new one in the default cluster. */
  reportInventory(host: Ref | null, report: InventoryReport): ReconcileResult;
  /** Findings (errors and warnings) for the host as stored. */
  checkHost(host: Ref): Violation[];
  getPlan(host: Ref): HostPlan;
  /**
   * Records that the blade applied and verified `generation` (its boot report). A generation newer
   * than the host's is refused (GENERATION_UNKNOWN); an older one is recorded as is (the blade runs it).
   */
  recordApplied(host: Ref, generation: number): HostView;
  /**
   * Records a blade's boot report as the host's latest: applies it (recordApplied) when verified and
   * not a fallback plan, reads the kernel state it carries and compares it with the plan. The host is
   * in sync only when the report is verified, of the current generation and without differences.
   */
  recordReport(host: Ref, input: BootReportInput): { host: HostView; report: HostReport };
  /** The host's latest boot report (REPORT_NOT_FOUND when it has none). */
  getHostReport(host: Ref): HostReport;

  createToken(name: string): TokenCreated;
  listTokens(): { name: string; createdAt: string; lastUsedAt: string | null }[];
  revokeToken(name: string): void;
  /** True when the bearer token is known (and records its use). */
  verifyToken(token: string): boolean;
}
