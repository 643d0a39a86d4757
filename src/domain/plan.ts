// Host planning: a pure function from a HostConfig to a HostPlan (nmstate-shaped desired state plus
// the ordered steps that build it from a bare kernel). Same input, byte-identical output: every list
// is sorted with a locale-free comparison and every object is built in a fixed key order.
import { stringify } from 'yaml';
import type { AttachmentQos, Bond, BondOptions, HostConfig, Ipv4Config, Ipv6Config, Nic } from './model.js';
import { DEFAULT_MTU } from './model.js';
import { canonicalIpv6 } from './net.js';
import type {
  BridgePortState,
  DesiredState,
  HostPlan,
  InterfaceState,
  IpState,
  NetworkPlacement,
  OvsBondState,
  PlanStep,
  PortVlanState,
  RouteState,
} from './plan-types.js';
import { type EffectiveAttachment, Topology, ifaceKey, vlanDeviceName } from './topology.js';

export type * from './plan-types.js';
export type PlanFormat = 'json' | 'yaml';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byName = <T extends { name: string }>(a: T, b: T): number => cmp(a.name, b.name);

/** Kernel default link monitor when an operator sets none: without one a bond never notices a dead link. */
export const DEFAULT_MIIMON = 100;

/** Bond options in the kernel's sysfs spelling and a fixed order, defaults made explicit. */
export function bondOptionsForPlan(bond: Bond): Record<string, string | number | string[]> {
  const o: BondOptions = bond.options;
  const out: Record<string, string | number | string[]> = {};
  const miimon = o.miimon ?? (o.arp_interval ? undefined : DEFAULT_MIIMON);
  if (miimon !== undefined) out.miimon = miimon;
  if (o.updelay !== undefined) out.updelay = o.updelay;
  if (o.downdelay !== undefined) out.downdelay = o.downdelay;
  if (o.arp_interval !== undefined) out.arp_interval = o.arp_interval;
  if (o.arp_ip_target !== undefined && o.arp_ip_target.length > 0) out.arp_ip_target = [...o.arp_ip_target];
  if (o.lacp_rate !== undefined) out.lacp_rate = o.lacp_rate;
  if (o.xmit_hash_policy !== undefined) out.xmit_hash_policy = o.xmit_hash_policy;
  if (o.primary !== undefined) out.primary = o.primary;
  return out;
}

function sysfsOptions(options: Record<string, string | number | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

function ipv4State(ip: Ipv4Config | undefined): IpState {
  if (!ip || ip.method === 'none') return { enabled: false };
  if (ip.method === 'dhcp') return { enabled: true, dhcp: true };
  return { enabled: true, dhcp: false, address: [{ ip: ip.address, 'prefix-length': ip.prefix }] };
}

function ipv6State(ip: Ipv6Config | undefined): IpState {
  if (!ip || ip.method === 'none') return { enabled: false };
  return { enabled: true, dhcp: false, address: [{ ip: canonicalIpv6(ip.address) ?? ip.address, 'prefix-length': ip.prefix }] };
}

function sortedProps(props: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(props).sort(cmp)) out[k] = props[k] as string;
  return out;
}

interface Device {
  state: InterfaceState;
  /** Networks realised by the device (for its description). */
  networks: string[];
}

/** Rebuilds an interface with nmstate's reading order of keys: identity, link, kind-specific, addresses. */
function ordered(i: InterfaceState): InterfaceState {
  const keyed: Record<string, unknown> = { name: i.name, type: i.type, state: i.state };
  if (i.description !== undefined) keyed.description = i.description;
  keyed.mtu = i.mtu;
  if (i['mac-address'] !== undefined) keyed['mac-address'] = i['mac-address'];
  if (i.controller !== undefined) keyed.controller = i.controller;
  if (i['link-aggregation'] !== undefined) keyed['link-aggregation'] = i['link-aggregation'];
  if (i.vlan !== undefined) keyed.vlan = i.vlan;
  if (i.bridge !== undefined) keyed.bridge = i.bridge;
  keyed.ipv4 = i.ipv4;
  keyed.ipv6 = i.ipv6;
  if (i.qos !== undefined) keyed.qos = i.qos;
  if (i['custom-properties'] !== undefined) keyed['custom-properties'] = i['custom-properties'];
  return keyed as unknown as InterfaceState;
}

/** The plan's QoS of an attachment: only the directions it limits; undefined when none. */
function qosState(qos: AttachmentQos | undefined): InterfaceState['qos'] {
  if (!qos || (!qos.egress && !qos.ingress)) return undefined;
  const out: NonNullable<InterfaceState['qos']> = {};
  if (qos.egress) out.egress = { 'max-rate': qos.egress.maxRate, 'max-burst': qos.egress.maxBurst };
  if (qos.ingress) out.ingress = { 'max-rate': qos.ingress.maxRate, 'max-burst': qos.ingress.maxBurst };
  return out;
}

export function planHost(cfg: HostConfig): HostPlan {
  if (cfg.cluster.switchType === 'ovs') return planOvsHost(cfg);
  const t = new Topology(cfg);
  const ethernet = new Map<string, Device>();
  const bonds = new Map<string, Device>();
  const vlans = new Map<string, Device>();
  const bridges = new Map<string, Device>();
  const placements: Record<string, NetworkPlacement> = {};

  // Group present attachments per base interface.
  const perBase = new Map<string, EffectiveAttachment[]>();
  for (const e of t.effective) {
    if (!t.present(e.attachment.iface)) continue;
    const key = ifaceKey(e.attachment.iface);
    perBase.set(key, [...(perBase.get(key) ?? []), e]);
  }
  const baseMtu = (key: string): number | null => {
    const list = perBase.get(key);
    if (!list || list.length === 0) return null;
    const untagged = list.find((e) => e.network.vlan === null);
    return untagged ? untagged.network.mtu : Math.max(...list.map((e) => e.network.mtu));
  };

  const blank = (name: string, type: InterfaceState['type'], mtu: number): InterfaceState => ({
    name,
    type,
    state: 'up',
    mtu,
    ipv4: { enabled: false },
    ipv6: { enabled: false },
  });

  // Bonds first, so members know their controller and MTU.
  const memberOf = new Map<string, { bond: Bond; mtu: number }>();
  for (const bond of [...cfg.bonds].sort(byName)) {
    const mtu = baseMtu(ifaceKey({ kind: 'bond', bondId: bond.id })) ?? DEFAULT_MTU;
    const present = t.presentMembers(bond);
    // The primary member is enslaved first so the bond inherits its MAC even without an explicit one.
    const ports = [...present].sort((a, b) => (a.mac === bond.primaryMember ? -1 : b.mac === bond.primaryMember ? 1 : cmp(a.name, b.name)));
    const state = blank(bond.name, 'bond', mtu);
    const mac = bond.mac ?? (ports[0]?.mac ?? null);
    if (mac) state['mac-address'] = mac;
    state['link-aggregation'] = { mode: bond.mode, port: ports.map((p) => p.name), options: bondOptionsForPlan(bond) };
    bonds.set(bond.name, { state, networks: [] });
    for (const p of ports) memberOf.set(p.mac, { bond, mtu });
  }
  for (const nic of [...cfg.nics].sort(byName)) {
    const member = memberOf.get(nic.mac);
    const own = baseMtu(ifaceKey({ kind: 'nic', mac: nic.mac }));
    const state = blank(nic.name, 'ethernet', member?.mtu ?? own ?? DEFAULT_MTU);
    state['mac-address'] = nic.mac;
    if (member) state.controller = member.bond.name;
    else if (own === null) state.state = 'down'; // unused NICs stay down: the blade holds nothing it was not told
    ethernet.set(nic.name, { state, networks: [] });
  }

  const deviceFor = (name: string): Device | undefined => ethernet.get(name) ?? bonds.get(name) ?? vlans.get(name) ?? bridges.get(name);

  // Networks: VLAN devices, bridges and L3 configuration.
  const sortedEffective = [...t.effective].sort((a, b) => cmp(a.network.name, b.network.name) || cmp(t.describe(a.attachment.iface), t.describe(b.attachment.iface)));
  const l3Seen = new Set<string>();
  for (const e of sortedEffective) {
    if (!t.present(e.attachment.iface)) continue;
    const baseName = t.nameOf(e.attachment.iface) as string;
    const network = e.network;
    let carrier = baseName;
    if (network.vlan !== null) {
      carrier = vlanDeviceName(baseName, network.vlan);
      const state = blank(carrier, 'vlan', network.mtu);
      state.vlan = { 'base-iface': baseName, id: network.vlan };
      vlans.set(carrier, { state, networks: [] });
    }
    let l3 = carrier;
    if (network.bridged) {
      const bridge = bridges.get(network.name) ?? { state: blank(network.name, 'linux-bridge', network.mtu), networks: [] };
      const ports = bridge.state.bridge?.port ?? [];
      ports.push({ name: carrier });
      ports.sort(byName);
      bridge.state.bridge = { options: { stp: { enabled: false }, 'forward-delay': 0 }, port: ports };
      bridges.set(network.name, bridge);
      const port = deviceFor(carrier);
      if (port) port.state.controller = network.name;
      l3 = network.name;
    }
    const dev = deviceFor(l3) as Device;
    dev.networks.push(network.name);
    // A multi-port bridge gets its addresses once, from the first attachment (by name) that has any.
    const hasIp = e.attachment.ipv4.method !== 'none' || e.attachment.ipv6.method !== 'none';
    const devHasIp = dev.state.ipv4.enabled || dev.state.ipv6.enabled;
    if (!l3Seen.has(l3) || (hasIp && !devHasIp)) {
      dev.state.ipv4 = ipv4State(e.attachment.ipv4);
      dev.state.ipv6 = ipv6State(e.attachment.ipv6);
      if (Object.keys(e.attachment.custom).length > 0) dev.state['custom-properties'] = sortedProps(e.attachment.custom);
      l3Seen.add(l3);
    }
    const qos = qosState(e.attachment.qos);
    if (qos) dev.state.qos = qos;
    placements[network.name] ??= {
      role: network.role,
      vlan: network.vlan,
      mtu: network.mtu,
      bridged: network.bridged,
      interface: l3,
      base: baseName,
    };
  }
  for (const d of [...ethernet.values(), ...bonds.values(), ...vlans.values(), ...bridges.values()]) {
    if (d.networks.length > 0) d.state.description = `tabula: ${d.networks.sort(cmp).join(', ')}`;
  }

  const routes = defaultRoutes(sortedEffective, t, placements);

  const interfaces = [ethernet, bonds, vlans, bridges].flatMap((m) => [...m.values()].map((d) => ordered(d.state)).sort(byName));
  return assemblePlan(cfg, t, interfaces, routes, placements, undefined);
}

/** Default routes of the placed static attachments (validation allows one gateway per family). */
function defaultRoutes(sortedEffective: Topology['effective'], t: Topology, placements: Record<string, NetworkPlacement>): RouteState[] {
  const routes: RouteState[] = [];
  for (const e of sortedEffective) {
    const place = placements[e.network.name];
    if (!place || !t.present(e.attachment.iface)) continue;
    const v4 = e.attachment.ipv4;
    if (v4.method === 'static' && v4.gateway) routes.push({ destination: '0.0.0.0/0', 'next-hop-address': v4.gateway, 'next-hop-interface': place.interface });
    const v6 = e.attachment.ipv6;
    if (v6.method === 'static' && v6.gateway) {
      routes.push({ destination: '::/0', 'next-hop-address': canonicalIpv6(v6.gateway) ?? v6.gateway, 'next-hop-interface': place.interface });
    }
  }
  return routes;
}

/** The plan around its interfaces and routes: the same envelope and ordering for both switch types. */
function assemblePlan(
  cfg: HostConfig,
  t: Topology,
  interfaces: InterfaceState[],
  routes: DesiredState['routes']['config'],
  placements: Record<string, NetworkPlacement>,
  switchType: HostPlan['switchType'],
): HostPlan {
  const networks: Record<string, NetworkPlacement> = {};
  for (const k of Object.keys(placements).sort(cmp)) networks[k] = placements[k] as NetworkPlacement;
  const state: DesiredState = {
    interfaces,
    routes: { config: routes },
    'dns-resolver': { config: { server: [...cfg.cluster.defaults.dnsServers], search: [...cfg.cluster.defaults.dnsSearch] } },
    networks,
    'custom-properties': sortedProps(cfg.host.custom),
  };
  const bootNic: Nic | undefined = cfg.host.bootMac ? t.nicByMac.get(cfg.host.bootMac) : undefined;
  return {
    apiVersion: 'tabula/v1',
    host: cfg.host.name,
    cluster: cfg.cluster.name,
    generation: cfg.host.generation,
    bootInterface: bootNic?.name ?? null,
    ...(switchType ? { switchType } : {}),
    state,
    steps: planSteps(state),
  };
}

/** OVS's name for a port's VLAN mode, from the plan's nmstate-shaped one. */
function ovsVlanMode(v: PortVlanState | undefined): { vlanMode: 'access' | 'trunk' | 'native-untagged'; tag: number | null; trunks: number[] } {
  const trunks = (v?.['trunk-tags'] ?? []).map((x) => x.id);
  if (!v || v.mode === 'access') return { vlanMode: 'access', tag: v?.tag ?? 0, trunks: [] };
  if (v['enable-native']) return { vlanMode: 'native-untagged', tag: v.tag ?? 0, trunks };
  return { vlanMode: 'trunk', tag: null, trunks };
}

/** Port columns of an OVS bond as ovs-vsctl sets them, in a fixed order. */
function ovsBondSettings(la: OvsBondState): Record<string, string> {
  const out: Record<string, string> = { bond_mode: la.mode, lacp: la.lacp };
  if (la['bond-updelay'] !== undefined) out.bond_updelay = String(la['bond-updelay']);
  if (la['bond-downdelay'] !== undefined) out.bond_downdelay = String(la['bond-downdelay']);
  for (const [k, v] of Object.entries(la['ovs-db']?.other_config ?? {})) out[`other_config:${k}`] = v;
  return out;
}

/** An OVS bond from a stored bond: 802.3ad becomes balance-tcp with LACP, Linux option names become OVS columns. */
function ovsBond(bond: Bond, ports: string[]): OvsBondState {
  const o = bond.options;
  const mode = (bond.mode === '802.3ad' ? 'balance-tcp' : bond.mode) as OvsBondState['mode'];
  const lacp = o.lacp ?? (bond.mode === '802.3ad' ? 'active' : 'off');
  const la: OvsBondState = { mode, lacp, port: ports.map((name) => ({ name })) };
  if (o.updelay !== undefined) la['bond-updelay'] = o.updelay;
  if (o.downdelay !== undefined) la['bond-downdelay'] = o.downdelay;
  const other: Record<string, string> = {};
  // miimon 0 means no MII monitor: OVS then watches the carrier, its default.
  if (o.miimon !== undefined && o.miimon > 0) {
    other['bond-detect-mode'] = 'miimon';
    other['bond-miimon-interval'] = String(o.miimon);
  }
  if (o.primary !== undefined) other['bond-primary'] = o.primary;
  if (lacp !== 'off' && o.lacp_rate !== undefined) other['lacp-time'] = o.lacp_rate;
  if (Object.keys(other).length > 0) la['ovs-db'] = { other_config: other };
  return la;
}

/** Name of the Open vSwitch bridge of the uplink at `index` (uplinks sorted by name). */
export function ovsBridgeName(index: number): string {
  return `ovsbr${index}`;
}

/**
 * The plan of a host in an ovs cluster: one Open vSwitch bridge per uplink (every bond, and every
 * plain NIC that carries networks), the uplink as its port (an OVS bond for a bond), and one internal
 * port per network, named after it, with the network's VLAN: access for host-level networks, the
 * network's port type for bridged ones. Internal ports carry the uplink's MAC (a bond's is its
 * primary member's), so DHCP reservations by boot MAC keep working.
 */
function planOvsHost(cfg: HostConfig): HostPlan {
  const t = new Topology(cfg);
  const perBase = new Map<string, EffectiveAttachment[]>();
  for (const e of t.effective) {
    if (!t.present(e.attachment.iface)) continue;
    const key = ifaceKey(e.attachment.iface);
    perBase.set(key, [...(perBase.get(key) ?? []), e]);
  }
  const baseMtu = (key: string): number => {
    const list = perBase.get(key) ?? [];
    return list.length ? Math.max(...list.map((e) => e.network.mtu)) : DEFAULT_MTU;
  };
  const blank = (name: string, type: InterfaceState['type'], mtu: number): InterfaceState => ({
    name,
    type,
    state: 'up',
    mtu,
    ipv4: { enabled: false },
    ipv6: { enabled: false },
  });

  interface Uplink {
    key: string;
    name: string;
    mac: string | null;
    port: BridgePortState;
  }
  const uplinks: Uplink[] = [];
  const memberOf = new Map<string, string>(); // NIC MAC -> uplink key
  for (const bond of cfg.bonds) {
    const present = t.presentMembers(bond);
    const ports = [...present].sort((a, b) => (a.mac === bond.primaryMember ? -1 : b.mac === bond.primaryMember ? 1 : cmp(a.name, b.name)));
    const key = ifaceKey({ kind: 'bond', bondId: bond.id });
    for (const p of ports) memberOf.set(p.mac, key);
    uplinks.push({ key, name: bond.name, mac: bond.mac ?? ports[0]?.mac ?? null, port: { name: bond.name, 'link-aggregation': ovsBond(bond, ports.map((p) => p.name)) } });
  }
  for (const nic of cfg.nics) {
    const key = ifaceKey({ kind: 'nic', mac: nic.mac });
    if (perBase.has(key) && !memberOf.has(nic.mac)) uplinks.push({ key, name: nic.name, mac: nic.mac, port: { name: nic.name } });
  }
  uplinks.sort(byName);
  const bridgeOf = new Map<string, string>(uplinks.map((u, i) => [u.key, ovsBridgeName(i)]));

  const ethernet: InterfaceState[] = [];
  for (const nic of [...cfg.nics].sort(byName)) {
    const key = memberOf.get(nic.mac) ?? ifaceKey({ kind: 'nic', mac: nic.mac });
    const bridge = bridgeOf.get(key);
    const state = blank(nic.name, 'ethernet', baseMtu(key));
    state['mac-address'] = nic.mac;
    if (bridge) state.controller = bridge;
    else state.state = 'down';
    ethernet.push(state);
  }

  const bridges: InterfaceState[] = [];
  const internals: InterfaceState[] = [];
  const placements: Record<string, NetworkPlacement> = {};
  for (const up of uplinks) {
    const bridgeName = bridgeOf.get(up.key) as string;
    const list = [...(perBase.get(up.key) ?? [])].sort((a, b) => cmp(a.network.name, b.network.name));
    const ports: BridgePortState[] = [up.port];
    const networks: string[] = [];
    for (const e of list) {
      const n = e.network;
      if (placements[n.name]) continue; // one port per network (validation refuses a second attachment)
      networks.push(n.name);
      const portType = n.bridged ? (n.portType ?? 'access') : 'access';
      const trunkTags = (n.trunks ?? []).map((id) => ({ id }));
      const vlan: PortVlanState =
        portType === 'trunk'
          ? { mode: 'trunk', 'trunk-tags': trunkTags }
          : portType === 'hybrid'
            ? { mode: 'trunk', tag: n.vlan ?? 0, 'enable-native': true, 'trunk-tags': trunkTags }
            : { mode: 'access', tag: n.vlan ?? 0 };
      ports.push({ name: n.name, vlan });
      const state = blank(n.name, 'ovs-interface', n.mtu);
      state.description = `tabula: ${n.name}`;
      if (up.mac) state['mac-address'] = up.mac;
      state.controller = bridgeName;
      state.ipv4 = ipv4State(e.attachment.ipv4);
      state.ipv6 = ipv6State(e.attachment.ipv6);
      const qos = qosState(e.attachment.qos);
      if (qos) state.qos = qos;
      if (Object.keys(e.attachment.custom).length > 0) state['custom-properties'] = sortedProps(e.attachment.custom);
      internals.push(state);
      placements[n.name] = { role: n.role, vlan: n.vlan, mtu: n.mtu, bridged: n.bridged, interface: n.name, base: up.name, 'ovs-bridge': bridgeName };
    }
    const br = blank(bridgeName, 'ovs-bridge', baseMtu(up.key));
    if (networks.length) br.description = `tabula: ${networks.join(', ')}`;
    br.bridge = { options: { stp: { enabled: false }, 'mcast-snooping-enable': false }, port: ports.sort(byName) };
    bridges.push(br);
  }

  const sortedEffective = [...t.effective].sort((a, b) => cmp(a.network.name, b.network.name) || cmp(t.describe(a.attachment.iface), t.describe(b.attachment.iface)));
  const routes = defaultRoutes(sortedEffective, t, placements);
  return assemblePlan(cfg, t, [...ethernet, ...bridges.sort(byName), ...internals.sort(byName)].map(ordered), routes, placements, 'ovs');
}

/**
 * The traffic-control modules the plan's limits need (a bare image may not autoload them): egress, tbf
 * through tc or htb for OVS's linux-htb QoS (an internal port's root qdisc shapes what the host sends);
 * ingress, the ingress qdisc with a matchall police filter through tc, or the ingress qdisc, basic or
 * matchall filter and police action of OVS's ingress policing.
 */
function qosModules(state: DesiredState): string[] {
  const need = new Set<string>();
  for (const i of state.interfaces) {
    const ovs = i.type === 'ovs-interface';
    if (i.qos?.egress) for (const m of ovs ? ['sch_htb'] : ['sch_tbf']) need.add(m);
    if (i.qos?.ingress) for (const m of ovs ? ['sch_ingress', 'cls_basic', 'cls_matchall', 'act_police'] : ['sch_ingress', 'cls_matchall', 'act_police']) need.add(m);
  }
  const order = ['sch_tbf', 'sch_htb', 'sch_ingress', 'cls_basic', 'cls_matchall', 'act_police'];
  return order.filter((m) => need.has(m));
}

/** The one deterministic build order from a bare kernel (seed 004): bonds, plain links, VLANs, bridges, addresses, routes, DNS, custom. */
export function planSteps(state: DesiredState): PlanStep[] {
  const steps: PlanStep[] = [];
  const of = (type: InterfaceState['type']): InterfaceState[] => state.interfaces.filter((i) => i.type === type);
  const bonds = of('bond');
  const vlans = of('vlan');
  const bridges = of('linux-bridge');
  const ovsBridges = of('ovs-bridge');
  const modules = [
    ...(bonds.length ? ['bonding'] : []),
    ...(vlans.length ? ['8021q'] : []),
    ...(bridges.length ? ['bridge'] : []),
    ...(ovsBridges.length ? ['openvswitch'] : []),
    ...qosModules(state),
  ];
  if (modules.length) steps.push({ op: 'load-modules', modules });

  for (const bond of bonds) {
    const la = bond['link-aggregation'];
    if (!la) continue;
    // sysfs wants mode and options while the bond is down and has no ports.
    steps.push({ op: 'bond-create', iface: bond.name, mode: la.mode, options: sysfsOptions(la.options) });
    for (const port of la.port) {
      steps.push({ op: 'link-down', iface: port });
      steps.push({ op: 'bond-add-port', iface: bond.name, port });
    }
    if (bond['mac-address'] && la.port.length === 0) steps.push({ op: 'link-mac', iface: bond.name, mac: bond['mac-address'] });
    else if (bond['mac-address']) {
      const first = state.interfaces.find((i) => i.name === la.port[0]);
      if (first?.['mac-address'] !== bond['mac-address']) steps.push({ op: 'link-mac', iface: bond.name, mac: bond['mac-address'] });
    }
    steps.push({ op: 'link-mtu', iface: bond.name, mtu: bond.mtu });
    steps.push({ op: 'link-up', iface: bond.name });
    for (const port of la.port) steps.push({ op: 'link-up', iface: port });
  }
  for (const eth of of('ethernet')) {
    if (eth.controller !== undefined && bonds.some((b) => b.name === eth.controller)) continue;
    if (eth.state !== 'up') continue;
    steps.push({ op: 'link-mtu', iface: eth.name, mtu: eth.mtu });
    steps.push({ op: 'link-up', iface: eth.name });
  }
  for (const vlan of vlans) {
    if (!vlan.vlan) continue;
    steps.push({ op: 'vlan-create', iface: vlan.name, base: vlan.vlan['base-iface'], id: vlan.vlan.id });
    steps.push({ op: 'link-mtu', iface: vlan.name, mtu: vlan.mtu });
    steps.push({ op: 'link-up', iface: vlan.name });
  }
  for (const br of bridges) {
    steps.push({ op: 'bridge-create', iface: br.name, stp: br.bridge?.options.stp.enabled ?? false, forwardDelay: br.bridge?.options['forward-delay'] ?? 0 });
    for (const port of br.bridge?.port ?? []) steps.push({ op: 'bridge-add-port', iface: br.name, port: port.name });
    // After the ports: a bridge takes the smallest port MTU, so set its own last.
    steps.push({ op: 'link-mtu', iface: br.name, mtu: br.mtu });
    steps.push({ op: 'link-up', iface: br.name });
  }
  // Open vSwitch (a fresh database): the bridge, its uplink (NIC or bond), then the internal ports with their VLANs.
  for (const br of ovsBridges) {
    steps.push({ op: 'ovs-bridge-create', iface: br.name });
    const internal: string[] = [];
    for (const port of br.bridge?.port ?? []) {
      const la = port['link-aggregation'];
      const dev = state.interfaces.find((i) => i.name === port.name && i.type === 'ovs-interface');
      if (la) steps.push({ op: 'ovs-bond-add', iface: br.name, bond: port.name, ports: la.port.map((p) => p.name), settings: ovsBondSettings(la) });
      else if (dev) {
        steps.push({ op: 'ovs-internal-add', iface: br.name, port: port.name, ...ovsVlanMode(port.vlan), mtu: dev.mtu, mac: dev['mac-address'] ?? null });
        internal.push(port.name);
      } else steps.push({ op: 'ovs-port-add', iface: br.name, port: port.name });
    }
    for (const name of internal) steps.push({ op: 'link-up', iface: name });
  }
  // Limits once every device exists, before addresses bring traffic.
  for (const i of state.interfaces) {
    const via = i.type === 'ovs-interface' ? 'ovs' : 'tc';
    for (const direction of ['egress', 'ingress'] as const) {
      const limit = i.qos?.[direction];
      if (limit) steps.push({ op: 'qos-limit', iface: i.name, direction, via, maxRate: limit['max-rate'], maxBurst: limit['max-burst'] });
    }
  }
  for (const i of state.interfaces) {
    if (i.ipv4.enabled && i.ipv4.dhcp) steps.push({ op: 'dhcp', iface: i.name, family: 4 });
    for (const a of i.ipv4.address ?? []) steps.push({ op: 'addr-add', iface: i.name, family: 4, address: a.ip, prefix: a['prefix-length'] });
    for (const a of i.ipv6.address ?? []) steps.push({ op: 'addr-add', iface: i.name, family: 6, address: a.ip, prefix: a['prefix-length'] });
  }
  for (const r of state.routes.config) steps.push({ op: 'route-add', destination: r.destination, via: r['next-hop-address'], iface: r['next-hop-interface'] });
  const dns = state['dns-resolver'].config;
  if (dns.server.length || dns.search.length) steps.push({ op: 'dns', servers: dns.server, search: dns.search });
  for (const [key, value] of Object.entries(state['custom-properties'])) steps.push({ op: 'custom', scope: 'host', iface: null, key, value });
  for (const i of state.interfaces) {
    for (const [key, value] of Object.entries(i['custom-properties'] ?? {})) steps.push({ op: 'custom', scope: 'interface', iface: i.name, key, value });
  }
  return steps;
}

export function formatPlan(plan: HostPlan, format: PlanFormat): string {
  if (format === 'json') return `${JSON.stringify(plan, null, 2)}\n`;
  return stringify(plan, { lineWidth: 0, aliasDuplicateObjects: false });
}
