// The HostPlan document: an nmstate-shaped desired state plus the ordered steps that build it from a bare kernel.
// Keys are kebab-case like nmstate's YAML so the document reads like `nmstatectl show`.
import type { BondMode, CustomProperties, NetworkRole } from './model.js';

export interface IpAddressState {
  ip: string;
  'prefix-length': number;
}

export interface IpState {
  enabled: boolean;
  dhcp?: boolean;
  address?: IpAddressState[];
}

export interface InterfaceState {
  name: string;
  type: 'ethernet' | 'bond' | 'vlan' | 'linux-bridge';
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
  bridge?: { options: { stp: { enabled: boolean }; 'forward-delay': number }; port: { name: string }[] };
  ipv4: IpState;
  ipv6: IpState;
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
  | { op: 'custom'; scope: 'host' | 'interface'; iface: string | null; key: string; value: string };

export interface HostPlan {
  apiVersion: 'tabula/v1';
  host: string;
  cluster: string;
  generation: number;
  /** Boot MAC → its current kernel name, as the plan was computed. */
  bootInterface: string | null;
  state: DesiredState;
  steps: PlanStep[];
}
