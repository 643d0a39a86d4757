// The shapes the console reads from /api/v1 (docs/api.md), only the fields it uses.

export interface SyncReason {
  code: string;
  message: string;
}

export interface RackBoot {
  id: number;
  mac: string;
  startedAt: string;
  stage: string;
  stageAt: string;
  result: 'verified' | 'rolled-back' | 'reported' | 'booting' | 'held';
  secondsToVerified: number | null;
}

export interface RackHost {
  id: number;
  name: string;
  cluster: string;
  state: string;
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
  timeline: boolean;
}

export interface HostView {
  id: number;
  name: string;
  cluster: string;
  state: string;
  bootMac: string | null;
  generation: number;
  appliedGeneration: number | null;
  inSync: boolean;
  syncReasons: SyncReason[];
}

export interface Nic {
  id: number;
  mac: string;
  name: string;
  driver: string | null;
  speed: number | null;
  carrier: boolean;
  labels: string[];
}

export interface BondView {
  id: number;
  name: string;
  mode: string;
  options: Record<string, unknown>;
  members: { mac: string; name: string | null; present: boolean }[];
  effectiveMac: string | null;
  primaryMember: string | null;
  labels: string[];
  partial: boolean;
}

/** An attachment's bandwidth limits: kbit/s and kbit. */
export interface AttachmentQos {
  egress?: { maxRate: number; maxBurst: number };
  ingress?: { maxRate: number; maxBurst: number };
}

export interface AttachmentView {
  id: number;
  network: string;
  interface: { kind: 'nic' | 'bond'; name: string | null };
  viaLabel: string | null;
  qos?: AttachmentQos;
}

/** One direction's bandwidth limit: kbit/s and kbit (the units of tc and OVS). */
export interface QosLimitState {
  'max-rate': number;
  'max-burst': number;
}

/** VLAN settings of an Open vSwitch port: access (one tag), trunk, trunk with a native VLAN (hybrid). */
export interface PortVlanState {
  mode: 'access' | 'trunk';
  /** Access VLAN, or the native VLAN of a hybrid port; 0 = untagged. */
  tag?: number;
  'enable-native'?: boolean;
  'trunk-tags'?: { id: number }[];
}

/** An Open vSwitch bond: a port of an ovs-bridge over several NICs, no kernel device of its own. */
export interface OvsBondState {
  mode: string;
  lacp: 'off' | 'passive' | 'active';
  port: { name: string }[];
  'bond-updelay'?: number;
  'bond-downdelay'?: number;
  'ovs-db'?: { other_config: Record<string, string> };
}

export interface BridgePortState {
  name: string;
  vlan?: PortVlanState;
  'link-aggregation'?: OvsBondState;
}

export interface InterfaceState {
  name: string;
  type: 'ethernet' | 'bond' | 'vlan' | 'linux-bridge' | 'ovs-bridge' | 'ovs-interface';
  state?: 'up' | 'down';
  mtu: number;
  controller?: string;
  'mac-address'?: string;
  'link-aggregation'?: { mode: string; port: string[] };
  vlan?: { 'base-iface': string; id: number };
  /** Ports of a Linux bridge or an Open vSwitch bridge (OVS: with VLAN settings and bonds). */
  bridge?: { port: BridgePortState[] };
  qos?: { egress?: QosLimitState; ingress?: QosLimitState };
}

export interface NetworkPlacement {
  role: string;
  vlan: number | null;
  mtu: number;
  bridged: boolean;
  interface: string;
  base: string;
  /** ovs clusters: the Open vSwitch bridge the network's port sits on. */
  'ovs-bridge'?: string;
}

export interface HostPlan {
  host: string;
  generation: number;
  bootInterface: string | null;
  /** Present on ovs clusters only. */
  switchType?: 'ovs';
  state: { interfaces: InterfaceState[]; networks: Record<string, NetworkPlacement> };
}

export interface ReportCheck {
  name: string;
  ok: boolean;
  detail?: string;
  advisory?: boolean;
}

export interface HostReport {
  generation: number;
  hostGeneration: number;
  receivedAt: string;
  verified: boolean;
  rolledBack: boolean;
  fallback: boolean;
  checks: ReportCheck[];
  compared: boolean;
  differences: { interface: string; field: string; planned: unknown; observed: unknown }[];
  inSync: boolean;
}

export interface BootRecord {
  id: number;
  mac: string;
  startedAt: string;
  current: boolean;
  events: { stage: string; at: string; data: Record<string, unknown> }[];
}

export type SwitchType = 'linux' | 'ovs';

export interface Cluster {
  id: number;
  name: string;
  isDefault: boolean;
  /** Absent on clusters built before Open vSwitch support: linux. */
  switchType?: SwitchType;
}

export interface LogicalNetwork {
  id: number;
  name: string;
  vlan: number | null;
  mtu: number;
  bridged: boolean;
  role: string;
  required: boolean;
  label: string | null;
  description: string;
  /** VM-facing port of a bridged network on ovs clusters; absent on networks stored before port types: access. */
  portType?: PortType;
  /** VLANs of a trunk or hybrid port. */
  trunks?: number[];
}

export type PortType = 'access' | 'trunk' | 'hybrid';

export interface TemplateSummary {
  name: string;
  file: string;
  perHost: boolean;
  current: number;
  revisions: number;
  pins: number;
  description: string;
}

export interface TemplateRevision {
  name: string;
  revision: number;
  source?: string;
  author: string;
  message: string;
  createdAt: string;
  current?: boolean;
}

export interface RenderResult {
  host: string | null;
  revision: number | null;
  via: string;
  fallback: string | null;
  text: string;
}

export interface HostNote {
  host: string;
  code: string;
  message: string;
  line: number | null;
}

export interface BlastRadius {
  current: number;
  groups: { hosts: string[]; diff: string }[];
  changed: number;
  unchanged: string[];
  pinned: { host: string; revision: number; via: string }[];
  failed: HostNote[];
  skipped: HostNote[];
}

export interface PinView {
  revision: number;
  host: string | null;
  cluster: string | null;
  author: string;
  createdAt: string;
}
