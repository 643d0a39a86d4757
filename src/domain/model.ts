// Tabula's domain model. Pure data: no SQL, no I/O. Every other layer speaks these types.

export const BOND_MODES = [
  'balance-rr',
  'active-backup',
  'balance-xor',
  'broadcast',
  '802.3ad',
  'balance-tlb',
  'balance-alb',
  // Open vSwitch's own modes (ovs clusters only)
  'balance-slb',
  'balance-tcp',
] as const;
export type BondMode = (typeof BOND_MODES)[number];

/** How a cluster's hosts realise their networks: kernel bonds, VLAN devices and bridges, or Open vSwitch (oVirt's "switch type"). */
export const SWITCH_TYPES = ['linux', 'ovs'] as const;
export type SwitchType = (typeof SWITCH_TYPES)[number];

/** The kernel bonding driver's modes. */
export const LINUX_BOND_MODES: readonly BondMode[] = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'];
/**
 * Modes an ovs cluster accepts. 802.3ad is there so that a cluster with LACP bonds can change its switch
 * type: on ovs it is realised as balance-tcp with LACP (active unless `lacp` says passive).
 */
export const OVS_BOND_MODES: readonly BondMode[] = ['active-backup', 'balance-slb', 'balance-tcp', '802.3ad'];

/** LACP on an Open vSwitch bond: off (static), passive or active (dynamic). */
export const LACP_MODES = ['off', 'passive', 'active'] as const;
export type LacpMode = (typeof LACP_MODES)[number];

/** How VMs see a bridged network on an ovs host: one untagged VLAN, tagged VLANs, or a native VLAN plus tagged ones. */
export const PORT_TYPES = ['access', 'trunk', 'hybrid'] as const;
export type PortType = (typeof PORT_TYPES)[number];

/** The oVirt seed's words for bond types, accepted on input and stored as the kernel's mode name. */
export const BOND_MODE_ALIASES: Readonly<Record<string, BondMode>> = {
  'load-balancing': 'balance-rr',
  failover: 'active-backup',
  broadcast: 'broadcast',
  'link-aggregation': '802.3ad',
  // kernel numeric modes, as found in old ifcfg files
  '0': 'balance-rr',
  '1': 'active-backup',
  '2': 'balance-xor',
  '3': 'broadcast',
  '4': '802.3ad',
  '5': 'balance-tlb',
  '6': 'balance-alb',
};

export const NETWORK_ROLES = ['management', 'vm', 'storage', 'display', 'migration', 'other'] as const;
export type NetworkRole = (typeof NETWORK_ROLES)[number];

export const HOST_STATES = ['new', 'maintenance', 'active', 'non-operational', 'unreachable'] as const;
export type HostState = (typeof HOST_STATES)[number];

export const LACP_RATES = ['slow', 'fast'] as const;
export type LacpRate = (typeof LACP_RATES)[number];

export const XMIT_HASH_POLICIES = ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'] as const;
export type XmitHashPolicy = (typeof XMIT_HASH_POLICIES)[number];

export type CustomProperties = Record<string, string>;

export interface ClusterDefaults {
  /** DNS servers written into every host's plan. */
  dnsServers: string[];
  dnsSearch: string[];
}

export interface Cluster {
  id: number;
  name: string;
  description: string;
  /** Auto-enrolled hosts land in the default cluster; exactly one cluster is the default. */
  isDefault: boolean;
  defaults: ClusterDefaults;
  /** Absent = 'linux' (clusters built before issue 8). */
  switchType?: SwitchType;
  createdAt: string;
  updatedAt: string;
}

export interface LogicalNetwork {
  id: number;
  clusterId: number;
  /** Also the Linux bridge name when bridged, hence the interface-name rules. */
  name: string;
  /** null = untagged. */
  vlan: number | null;
  mtu: number;
  /** A VM network: realised as a Linux bridge on the host. */
  bridged: boolean;
  role: NetworkRole;
  /** A required network missing on a host makes that host out of sync. */
  required: boolean;
  /** Attaches automatically to every NIC or bond carrying the same label. */
  label: string | null;
  description: string;
  /**
   * The VM-facing port of a bridged network (ovs clusters; absent = 'access'): access carries `vlan`
   * untagged, trunk carries `trunks` tagged (vlan empty), hybrid carries `vlan` untagged (native) and `trunks` tagged.
   */
  portType?: PortType;
  /** VLAN ids of a trunk or hybrid port; absent = none. */
  trunks?: number[];
}

export interface Host {
  id: number;
  name: string;
  clusterId: number;
  state: HostState;
  /** The MAC the host last PXE-booted from (normalised lower-case, colon form). */
  bootMac: string | null;
  /** Bumped whenever the host's plan changes. */
  generation: number;
  /** The generation the host last reported as applied and verified; null until then. */
  appliedGeneration: number | null;
  custom: CustomProperties;
  /** Why the host's real state may differ from its plan (partial bonds, missing NICs, ...). Empty = in sync. */
  syncReasons: SyncReason[];
  lastInventoryAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SyncReason {
  code: string;
  message: string;
}

export interface Nic {
  id: number;
  hostId: number;
  mac: string;
  /** Kernel name as the host last reported it (eth0, enp3s0f1, ...). */
  name: string;
  driver: string | null;
  /** Mbit/s; null when unknown or no link. */
  speed: number | null;
  carrier: boolean;
  pciAddress: string | null;
  labels: string[];
}

export interface BondOptions {
  miimon?: number;
  updelay?: number;
  downdelay?: number;
  arp_interval?: number;
  arp_ip_target?: string[];
  lacp_rate?: LacpRate;
  xmit_hash_policy?: XmitHashPolicy;
  /** Kernel name of the preferred member (active-backup, balance-tlb, balance-alb). */
  primary?: string;
  /** LACP of an Open vSwitch bond (ovs clusters only); absent = off, or active for 802.3ad. */
  lacp?: LacpMode;
}

export interface Bond {
  id: number;
  hostId: number;
  name: string;
  mode: BondMode;
  options: BondOptions;
  /** Members by MAC, so that a renamed NIC stays a member and a vanished one leaves a partial bond. */
  members: string[];
  /** Explicit MAC; null = the primary member's MAC. */
  mac: string | null;
  /** MAC of the primary member (XenAPI): where the bond's MAC comes from and where configuration moves back on destroy. */
  primaryMember: string | null;
  labels: string[];
}

export type Ipv4Config =
  | { method: 'none' }
  | { method: 'dhcp' }
  | { method: 'static'; address: string; prefix: number; gateway?: string | null };

export type Ipv6Config = { method: 'none' } | { method: 'static'; address: string; prefix: number; gateway?: string | null };

/** Where an attachment sits: a NIC (by MAC, stable across renames) or a bond (by id). */
export type InterfaceRef = { kind: 'nic'; mac: string } | { kind: 'bond'; bondId: number };

/** A bandwidth limit: the rate in kbit/s (1000 bit/s) and the burst in kbit (1000 bit), the units of tc and OVS. */
export interface QosLimit {
  maxRate: number;
  maxBurst: number;
}

/**
 * Limits of the host's own traffic on a network, at the device that carries the network's addresses:
 * egress is what the host sends, ingress what it receives.
 */
export interface AttachmentQos {
  egress?: QosLimit;
  ingress?: QosLimit;
}

export interface Attachment {
  id: number;
  hostId: number;
  networkId: number;
  iface: InterfaceRef;
  ipv4: Ipv4Config;
  ipv6: Ipv6Config;
  custom: CustomProperties;
  /** Absent or {} = no limit. */
  qos?: AttachmentQos;
}

/**
 * Everything the engine needs to validate or plan one host: the unit of every write.
 * Pure data loaded by the repository in one transaction.
 */
export interface HostConfig {
  cluster: Cluster;
  networks: LogicalNetwork[];
  host: Host;
  nics: Nic[];
  bonds: Bond[];
  attachments: Attachment[];
}

/** What a blade reports at boot. */
export interface InventoryNic {
  mac: string;
  name: string;
  driver?: string | null;
  speed?: number | null;
  carrier?: boolean;
  pciAddress?: string | null;
}

export interface InventoryReport {
  bootMac: string;
  nics: InventoryNic[];
}

export type InventoryChangeKind =
  | 'nic-added'
  | 'nic-removed'
  | 'nic-renamed'
  | 'nic-updated'
  | 'nic-moved'
  | 'host-enrolled'
  | 'boot-mac-changed'
  | 'management-derived';

/** One readable line of what a reconciliation changed. */
export interface InventoryChange {
  kind: InventoryChangeKind;
  mac: string;
  message: string;
}

export const DEFAULT_MTU = 1500;
export const MIN_MTU = 68;
export const MAX_MTU = 9216;
export const MAX_IFNAME = 15;
