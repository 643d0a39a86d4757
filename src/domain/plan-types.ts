// The HostPlan document: an nmstate-shaped desired state plus the ordered steps that build it from a bare kernel.
// Keys are kebab-case like nmstate's YAML so the document reads like `nmstatectl show`.
import type { BondMode, CustomProperties, LacpMode, NetworkRole } from './model.js';

export interface IpAddressState {
  ip: string;
  'prefix-length': number;
}

export interface IpState {
  enabled: boolean;
  dhcp?: boolean;
  address?: IpAddressState[];
}

/** VLAN settings of a bridge port, nmstate's shape: access (one tag), trunk (tagged VLANs), trunk with a native VLAN (hybrid). */
export interface PortVlanState {
  mode: 'access' | 'trunk';
  /** Access VLAN, or the native VLAN of a hybrid port; 0 = untagged. */
  tag?: number;
  /** Hybrid: frames of `tag` travel untagged. */
  'enable-native'?: boolean;
  'trunk-tags'?: { id: number }[];
}

/** An Open vSwitch bond: a port of an ovs-bridge with several interfaces (no kernel device). */
export interface OvsBondState {
  mode: 'active-backup' | 'balance-slb' | 'balance-tcp';
  lacp: LacpMode;
  port: { name: string }[];
  'bond-updelay'?: number;
  'bond-downdelay'?: number;
  /** Port other_config keys: lacp-time, bond-detect-mode, bond-miimon-interval, bond-primary. */
  'ovs-db'?: { other_config: Record<string, string> };
}

export interface BridgePortState {
  name: string;
  vlan?: PortVlanState;
  'link-aggregation'?: OvsBondState;
}

/** One direction's limit in the plan: kbit/s and kbit. */
export interface QosLimitState {
  'max-rate': number;
  'max-burst': number;
}

export interface InterfaceState {
  name: string;
  type: 'ethernet' | 'bond' | 'vlan' | 'linux-bridge' | 'ovs-bridge' | 'ovs-interface';
  state: 'up' | 'down';
  /** Tabula's own annotation: which logical network(s) this device realises. */
  description?: string;
  mtu: number;
  'mac-address'?: string;
  /** The bond or bridge this device is a port of. */
  controller?: string;
  'link-aggregation'?: {
    mode: BondMode;
    port: string[];
    options: Record<string, string | number | string[]>;
  };
  vlan?: { 'base-iface': string; id: number };
  /** Linux bridge (stp, forward-delay) or Open vSwitch bridge (stp, mcast-snooping-enable; ports with VLANs and bonds). */
  bridge?: { options: { stp: { enabled: boolean }; 'forward-delay'?: number; 'mcast-snooping-enable'?: boolean }; port: BridgePortState[] };
  ipv4: IpState;
  ipv6: IpState;
  /** Bandwidth limits of the host's traffic through this device (attachment QoS). */
  qos?: { egress?: QosLimitState; ingress?: QosLimitState };
  /** Attachment custom properties (ethtool, sysctl, ...), carried untouched. */
  'custom-properties'?: CustomProperties;
}

export interface RouteState {
  destination: string;
  'next-hop-address': string;
  'next-hop-interface': string;
}

export interface NetworkPlacement {
  role: NetworkRole;
  vlan: number | null;
  mtu: number;
  bridged: boolean;
  /** The device that carries the network's addresses (the bridge when bridged, else the VLAN device or the base). */
  interface: string;
  /** The NIC or bond underneath. */
  base: string;
  /** ovs clusters: the Open vSwitch bridge the network's port sits on. */
  'ovs-bridge'?: string;
}

export interface DesiredState {
  interfaces: InterfaceState[];
  routes: { config: RouteState[] };
  'dns-resolver': { config: { server: string[]; search: string[] } };
  /** Tabula extension: where each logical network lands. */
  networks: Record<string, NetworkPlacement>;
  /** Host custom properties, carried untouched. */
  'custom-properties': CustomProperties;
}

export type PlanStep =
  | { op: 'load-modules'; modules: string[] }
  | { op: 'link-down'; iface: string }
  | { op: 'bond-create'; iface: string; mode: BondMode; options: Record<string, string> }
  | { op: 'bond-add-port'; iface: string; port: string }
  | { op: 'vlan-create'; iface: string; base: string; id: number }
  | { op: 'bridge-create'; iface: string; stp: boolean; forwardDelay: number }
  | { op: 'bridge-add-port'; iface: string; port: string }
  | { op: 'link-mtu'; iface: string; mtu: number }
  | { op: 'link-mac'; iface: string; mac: string }
  | { op: 'link-up'; iface: string }
  | { op: 'addr-add'; iface: string; family: 4 | 6; address: string; prefix: number }
  | { op: 'dhcp'; iface: string; family: 4 }
  | { op: 'route-add'; destination: string; via: string; iface: string }
  | { op: 'dns'; servers: string[]; search: string[] }
  | { op: 'custom'; scope: 'host' | 'interface'; iface: string | null; key: string; value: string }
  | { op: 'ovs-bridge-create'; iface: string }
  | { op: 'ovs-port-add'; iface: string; port: string }
  | {
      op: 'ovs-bond-add';
      iface: string;
      bond: string;
      ports: string[];
      /** Port columns as ovs-vsctl takes them (bond_mode, lacp, bond_updelay, other_config:lacp-time, ...), in a fixed order. */
      settings: Record<string, string>;
    }
  | {
      op: 'ovs-internal-add';
      iface: string;
      port: string;
      /** access, trunk or native-untagged (OVS's name for hybrid). */
      vlanMode: 'access' | 'trunk' | 'native-untagged';
      /** Access or native VLAN (0 = untagged); null for a trunk. */
      tag: number | null;
      trunks: number[];
      mtu: number;
      mac: string | null;
    }
  | {
      op: 'qos-limit';
      iface: string;
      /** egress: what the host sends through iface; ingress: what it receives. */
      direction: 'egress' | 'ingress';
      /** tc on a kernel device; ovs: ingress_policing_* or a linux-htb QoS on the Open vSwitch port. */
      via: 'tc' | 'ovs';
      maxRate: number;
      maxBurst: number;
    };

export interface HostPlan {
  apiVersion: 'tabula/v1';
  host: string;
  cluster: string;
  generation: number;
  /** Boot MAC → its current kernel name, as the plan was computed. */
  bootInterface: string | null;
  /** Present on ovs clusters only (absent = linux, so linux plans read as before). */
  switchType?: 'ovs';
  state: DesiredState;
  steps: PlanStep[];
}
