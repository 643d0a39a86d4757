// Validation: every rule has a stable code (listed in docs/model.md) and a message naming the objects.
// Rules look at the whole resulting configuration, so the order of edits never matters.
import type { Violation } from './errors.js';
import type { AttachmentQos, Bond, BondMode, CustomProperties, HostConfig, InterfaceRef, Ipv4Config, Ipv6Config, LogicalNetwork, SwitchType } from './model.js';
import { LACP_MODES, LINUX_BOND_MODES, MAX_MTU, MIN_MTU, NETWORK_ROLES, OVS_BOND_MODES, PORT_TYPES } from './model.js';
import { ifnameProblem, kernelNameProblem, macProblem, parseIpv4, parseIpv6, sameIpv4Subnet } from './net.js';
import { ovsBridgeName } from './plan.js';
import { Topology, ifaceKey, vlanDeviceName } from './topology.js';

type Objects = Record<string, string | number>;

class Findings {
  readonly list: Violation[] = [];
  error(code: string, message: string, objects: Objects = {}): void {
    this.list.push({ code, message, severity: 'error', objects });
  }
  warn(code: string, message: string, objects: Objects = {}): void {
    this.list.push({ code, message, severity: 'warning', objects });
  }
}

export const HOST_NAME_RE = /^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const LABEL_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const CLUSTER_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const CUSTOM_KEY_RE = /^[A-Za-z0-9_.:/-]{1,128}$/;
export const BOND_NAME_RE = /^bond[A-Za-z0-9_]+$/;

/** Modes whose MAC juggling or per-packet spreading breaks a Linux bridge (oVirt: invalid for VM networks). */
export const NON_BRIDGEABLE_MODES: readonly BondMode[] = ['balance-rr', 'balance-tlb', 'balance-alb'];
const PRIMARY_MODES: readonly BondMode[] = ['active-backup', 'balance-tlb', 'balance-alb'];
const XMIT_HASH_MODES: readonly BondMode[] = ['balance-xor', '802.3ad', 'balance-tlb'];
/** The kernel refuses ARP monitoring in these modes. */
const NO_ARP_MODES: readonly BondMode[] = ['802.3ad', 'balance-tlb', 'balance-alb'];
const MAX_ARP_TARGETS = 16;
const MAX_TIMER_MS = 2_147_483_647;

export function validateCustom(f: Findings, props: CustomProperties, owner: string): void {
  for (const [key, value] of Object.entries(props)) {
    if (!CUSTOM_KEY_RE.test(key)) {
      f.error('CUSTOM_PROPERTY_INVALID', `${owner}: custom property key '${key}' must match ${CUSTOM_KEY_RE.source}`, { key });
    }
    // Values reach a shell script on the blade (quoted by the template); control characters have no business there.
    if (/[\u0000-\u001f\u007f]/.test(value) || value.length > 4096) {
      f.error('CUSTOM_PROPERTY_INVALID', `${owner}: custom property '${key}' holds control characters or is over 4096 characters`, { key });
    }
  }
}

const vlanOk = (v: number): boolean => Number.isInteger(v) && v >= 1 && v <= 4094;

/** VM-facing port rules of a network (issue 8): trunk and hybrid ports are bridged, on ovs, with a sane VLAN list. */
function validatePortType(f: Findings, network: LogicalNetwork, switchType: SwitchType): void {
  const who = `network '${network.name}'`;
  const o = { network: network.name };
  const portType = network.portType ?? 'access';
  const trunks = network.trunks ?? [];
  if (!(PORT_TYPES as readonly string[]).includes(portType)) {
    f.error('PORT_TYPE_INVALID', `${who}: port type '${portType}' is not one of ${PORT_TYPES.join(', ')}`, o);
    return;
  }
  if (portType !== 'access' && !network.bridged) {
    f.error('PORT_TYPE_INVALID', `${who}: a ${portType} port is the VM-facing port of a bridged network; a host-level network is an access port`, o);
  }
  if (portType !== 'access' && switchType !== 'ovs') {
    f.error('PORT_TYPE_NEEDS_OVS', `${who}: ${portType} ports need an ovs cluster; a linux cluster gives VMs one VLAN per bridge`, o);
  }
  if (portType === 'trunk' && network.vlan !== null) {
    f.error('PORT_TYPE_VLAN_MISMATCH', `${who}: a trunk port carries only its trunk VLANs; leave the VLAN empty (a hybrid port has a native VLAN)`, o);
  }
  if (portType === 'hybrid' && network.vlan === null) {
    f.error('PORT_TYPE_VLAN_MISMATCH', `${who}: a hybrid port needs a VLAN, its native (untagged) VLAN`, o);
  }
  if (portType === 'access' && trunks.length > 0) {
    f.error('TRUNK_VLANS_INVALID', `${who}: an access port carries no trunk VLANs; make it a trunk or hybrid port`, o);
  }
  if (portType !== 'access' && trunks.length === 0) {
    f.error('TRUNK_VLANS_INVALID', `${who}: a ${portType} port needs at least one trunk VLAN`, o);
  }
  if (trunks.length > 4094) f.error('TRUNK_VLANS_INVALID', `${who}: at most 4094 trunk VLANs, got ${trunks.length}`, o);
  const seen = new Set<number>();
  for (const v of trunks) {
    if (!vlanOk(v)) f.error('VLAN_ID_OUT_OF_RANGE', `${who}: trunk VLAN id ${v} is outside 1-4094`, { ...o, vlan: v });
    else if (seen.has(v)) f.error('TRUNK_VLANS_INVALID', `${who}: trunk VLAN ${v} is listed twice`, { ...o, vlan: v });
    else if (v === network.vlan) f.error('TRUNK_VLANS_INVALID', `${who}: VLAN ${v} is the native VLAN of the port; it cannot also be a trunk VLAN`, { ...o, vlan: v });
    seen.add(v);
  }
}

/** Field rules of one logical network, plus its relations to the other networks of its cluster. */
export function validateNetwork(network: LogicalNetwork, others: LogicalNetwork[], switchType: SwitchType = 'linux'): Violation[] {
  const f = new Findings();
  const who = `network '${network.name}'`;
  validatePortType(f, network, switchType);
  const nameProblem = ifnameProblem(network.name);
  if (nameProblem) {
    // The name doubles as the bridge device name on the blade, hence the kernel's rules.
    f.error('NETWORK_NAME_INVALID', `${who}: the name ${nameProblem}`, { network: network.name });
  }
  if (network.vlan !== null && (!Number.isInteger(network.vlan) || network.vlan < 1 || network.vlan > 4094)) {
    f.error('VLAN_ID_OUT_OF_RANGE', `${who}: VLAN id ${network.vlan} is outside 1-4094 (leave it empty for untagged)`, {
      network: network.name,
      vlan: network.vlan,
    });
  }
  if (!Number.isInteger(network.mtu) || network.mtu < MIN_MTU || network.mtu > MAX_MTU) {
    f.error('MTU_OUT_OF_RANGE', `${who}: MTU ${network.mtu} is outside ${MIN_MTU}-${MAX_MTU}`, { network: network.name, mtu: network.mtu });
  }
  if (!(NETWORK_ROLES as readonly string[]).includes(network.role)) {
    f.error('NETWORK_ROLE_INVALID', `${who}: role '${network.role}' is not one of ${NETWORK_ROLES.join(', ')}`, { network: network.name });
  }
  if (network.label !== null && !LABEL_RE.test(network.label)) {
    f.error('LABEL_INVALID', `${who}: label '${network.label}' must match ${LABEL_RE.source}`, { network: network.name });
  }
  for (const other of others) {
    if (other.id === network.id) continue;
    if (other.name === network.name) {
      f.error('DUPLICATE_NETWORK_NAME', `${who}: the cluster already has a network with that name`, { network: network.name });
    }
    if (network.role === 'management' && other.role === 'management') {
      f.error(
        'DUPLICATE_MANAGEMENT_NETWORK',
        `${who}: the cluster already has management network '${other.name}'; a cluster has exactly one`,
        { network: network.name, existing: other.name },
      );
    }
  }
  return f.list;
}

function validateIpv4(f: Findings, ip: Ipv4Config, who: string): { address: number; prefix: number } | null {
  if (ip.method !== 'static') return null;
  const address = parseIpv4(ip.address);
  if (address === null) {
    f.error('INVALID_IP_ADDRESS', `${who}: '${ip.address}' is not an IPv4 address`, { address: ip.address });
    return null;
  }
  if (!Number.isInteger(ip.prefix) || ip.prefix < 1 || ip.prefix > 32) {
    f.error('IP_PREFIX_INVALID', `${who}: IPv4 prefix /${ip.prefix} is outside 1-32`, { prefix: ip.prefix });
    return null;
  }
  const first = address >>> 24;
  if (first === 0 || first === 127 || first >= 224) {
    f.error('INVALID_IP_ADDRESS', `${who}: ${ip.address} is not a usable unicast host address`, { address: ip.address });
  } else if (ip.prefix <= 30) {
    const size = 2 ** (32 - ip.prefix);
    const offset = address % size;
    if (offset === 0 || offset === size - 1) {
      f.error('INVALID_IP_ADDRESS', `${who}: ${ip.address}/${ip.prefix} is the network or broadcast address of its subnet`, {
        address: ip.address,
      });
    }
  }
  if (ip.gateway) {
    const gw = parseIpv4(ip.gateway);
    if (gw === null) {
      f.error('INVALID_IP_ADDRESS', `${who}: gateway '${ip.gateway}' is not an IPv4 address`, { gateway: ip.gateway });
    } else if (!sameIpv4Subnet(gw, address, ip.prefix) || gw === address) {
      f.error('GATEWAY_NOT_IN_SUBNET', `${who}: gateway ${ip.gateway} is not another address of ${ip.address}/${ip.prefix}`, {
        gateway: ip.gateway,
      });
    }
  }
  return { address, prefix: ip.prefix };
}

function validateIpv6(f: Findings, ip: Ipv6Config, who: string): void {
  if (ip.method !== 'static') return;
  const groups = parseIpv6(ip.address);
  if (!groups) {
    f.error('INVALID_IP_ADDRESS', `${who}: '${ip.address}' is not an IPv6 address`, { address: ip.address });
  } else if (groups.every((g) => g === 0) || (groups[0] ?? 0) >= 0xff00) {
    f.error('INVALID_IP_ADDRESS', `${who}: ${ip.address} is not a unicast address`, { address: ip.address });
  }
  if (!Number.isInteger(ip.prefix) || ip.prefix < 1 || ip.prefix > 128) {
    f.error('IP_PREFIX_INVALID', `${who}: IPv6 prefix /${ip.prefix} is outside 1-128`, { prefix: ip.prefix });
  }
  if (ip.gateway && !parseIpv6(ip.gateway)) {
    f.error('INVALID_IP_ADDRESS', `${who}: gateway '${ip.gateway}' is not an IPv6 address`, { gateway: ip.gateway });
  }
}

/** What an Open vSwitch bond accepts, by option (src/domain/plan.ts ovsBond maps the rest). */
const OVS_ONLY_OPTIONS = ['lacp'] as const;
const LINUX_ONLY_OPTIONS = ['arp_interval', 'arp_ip_target', 'xmit_hash_policy'] as const;

function validateBondSwitchType(f: Findings, bond: Bond, switchType: SwitchType): void {
  const who = `bond '${bond.name}'`;
  const o = { bond: bond.name };
  const opt = bond.options;
  if (switchType === 'ovs') {
    if (!OVS_BOND_MODES.includes(bond.mode)) {
      f.error(
        'BOND_MODE_SWITCH_TYPE',
        `${who}: mode ${bond.mode} is a Linux bonding mode; an ovs cluster bonds with ${OVS_BOND_MODES.join(', ')} (LACP: balance-tcp or 802.3ad)`,
        { ...o, mode: bond.mode },
      );
      return;
    }
    for (const k of LINUX_ONLY_OPTIONS) {
      if (opt[k] !== undefined) f.error('BOND_OPTION_SWITCH_TYPE', `${who}: option ${k} exists only for Linux bonds; Open vSwitch has no ${k === 'xmit_hash_policy' ? 'hash policy (balance-tcp hashes L3/L4)' : 'ARP monitoring'}`, { ...o, option: k });
    }
    if (opt.lacp !== undefined && !(LACP_MODES as readonly string[]).includes(opt.lacp)) {
      f.error('BOND_OPTION_INVALID', `${who}: lacp must be one of ${LACP_MODES.join(', ')}, got ${String(opt.lacp)}`, { ...o, option: 'lacp' });
    }
    const lacp = opt.lacp ?? (bond.mode === '802.3ad' ? 'active' : 'off');
    if ((bond.mode === 'balance-tcp' || bond.mode === '802.3ad') && lacp === 'off') {
      f.error('BOND_LACP_REQUIRED', `${who}: mode ${bond.mode} needs LACP; set lacp to active or passive (balance-slb balances without it)`, o);
    }
    if (opt.lacp_rate !== undefined && lacp === 'off') {
      f.error('BOND_LACP_RATE_MODE', `${who}: lacp_rate (OVS lacp-time) applies only with LACP on; lacp is off`, o);
    }
    if (opt.primary !== undefined && bond.mode !== 'active-backup') {
      f.error('BOND_PRIMARY_MODE', `${who}: primary applies only to mode active-backup on Open vSwitch, not ${bond.mode}`, o);
    }
  } else {
    if (!LINUX_BOND_MODES.includes(bond.mode)) {
      f.error('BOND_MODE_SWITCH_TYPE', `${who}: mode ${bond.mode} is an Open vSwitch mode; a linux cluster bonds with ${LINUX_BOND_MODES.join(', ')}`, { ...o, mode: bond.mode });
    }
    for (const k of OVS_ONLY_OPTIONS) {
      if (opt[k] !== undefined) f.error('BOND_OPTION_SWITCH_TYPE', `${who}: option ${k} exists only for Open vSwitch bonds; a Linux 802.3ad bond always runs LACP`, { ...o, option: k });
    }
  }
}

function validateBond(f: Findings, t: Topology, bond: Bond, switchType: SwitchType): void {
  const who = `bond '${bond.name}'`;
  const o = { bond: bond.name };
  validateBondSwitchType(f, bond, switchType);
  const ovs = switchType === 'ovs';
  const nameProblem = ifnameProblem(bond.name);
  if (nameProblem) f.error('INTERFACE_NAME_INVALID', `${who}: the name ${nameProblem}`, o);
  else if (!BOND_NAME_RE.test(bond.name)) f.error('BOND_NAME_INVALID', `${who}: bond names must match ${BOND_NAME_RE.source}`, o);
  if (bond.mac !== null) {
    const p = macProblem(bond.mac);
    if (p) f.error('INVALID_MAC', `${who}: MAC '${bond.mac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`, o);
  }
  for (const l of bond.labels) if (!LABEL_RE.test(l)) f.error('LABEL_INVALID', `${who}: label '${l}' must match ${LABEL_RE.source}`, o);

  const unique = new Set(bond.members);
  if (unique.size !== bond.members.length) f.error('BOND_DUPLICATE_MEMBER', `${who}: a NIC is listed twice as a member`, o);
  if (unique.size < 2) {
    f.error('BOND_TOO_FEW_MEMBERS', `${who}: a bond needs at least 2 members, it has ${unique.size}`, o);
  }
  const present = t.presentMembers(bond);
  const missing = bond.members.filter((m) => !t.nicByMac.has(m));
  if (missing.length > 0 && unique.size >= 2) {
    f.warn(
      'BOND_PARTIAL',
      `${who}: member${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not reported by the host; the bond runs on ${present.length} of ${unique.size}`,
      { ...o, missing: missing.join(',') },
    );
  }
  for (const mac of bond.members) {
    const owner = t.bondOfMember.get(mac);
    if (owner && owner.id !== bond.id) {
      const nic = t.nicByMac.get(mac);
      f.error('BOND_MEMBER_IN_OTHER_BOND', `${who}: NIC ${nic?.name ?? mac} is already a member of bond '${owner.name}'`, {
        ...o,
        nic: nic?.name ?? mac,
        otherBond: owner.name,
      });
    }
    const nicRef: InterfaceRef = { kind: 'nic', mac };
    for (const e of t.attachmentsOn(nicRef)) {
      const nicName = t.nicByMac.get(mac)?.name ?? mac;
      if (e.network.vlan !== null) {
        f.error(
          'BOND_MEMBER_IS_VLAN_PARENT',
          `${who}: member ${nicName} carries VLAN ${e.network.vlan} (network '${e.network.name}'); a bond member cannot be a VLAN parent`,
          { ...o, nic: nicName, network: e.network.name },
        );
      } else {
        f.error('BOND_MEMBER_HAS_NETWORK', `${who}: member ${nicName} carries network '${e.network.name}'; a bond member cannot carry a network`, {
          ...o,
          nic: nicName,
          network: e.network.name,
        });
      }
    }
  }

  const opt = bond.options;
  const timers: (keyof typeof opt)[] = ['miimon', 'updelay', 'downdelay', 'arp_interval'];
  for (const k of timers) {
    const v = opt[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TIMER_MS)) {
      f.error('BOND_OPTION_INVALID', `${who}: ${k} must be a whole number of milliseconds, got ${String(v)}`, { ...o, option: k });
    }
  }
  const miimon = opt.miimon ?? 0;
  const arpInterval = opt.arp_interval ?? 0;
  if (miimon > 0 && arpInterval > 0) {
    f.error('BOND_MIIMON_AND_ARP', `${who}: miimon (${miimon}) and arp_interval (${arpInterval}) cannot both be set; choose one link monitor`, o);
  }
  if (arpInterval > 0 && (opt.arp_ip_target ?? []).length === 0) {
    f.error('BOND_ARP_TARGET_REQUIRED', `${who}: arp_interval ${arpInterval} needs at least one arp_ip_target`, o);
  }
  if (!ovs && arpInterval > 0 && NO_ARP_MODES.includes(bond.mode)) {
    f.error('BOND_ARP_MODE', `${who}: ARP monitoring is not supported in mode ${bond.mode}; use miimon`, o);
  }
  const targets = opt.arp_ip_target ?? [];
  if (targets.length > MAX_ARP_TARGETS) {
    f.error('BOND_ARP_TARGET_INVALID', `${who}: at most ${MAX_ARP_TARGETS} arp_ip_target addresses, got ${targets.length}`, o);
  }
  for (const target of targets) {
    if (parseIpv4(target) === null) f.error('BOND_ARP_TARGET_INVALID', `${who}: arp_ip_target '${target}' is not an IPv4 address`, o);
  }
  // Open vSwitch applies bond_updelay and bond_downdelay to carrier detection as well.
  if (!ovs && ((opt.updelay ?? 0) > 0 || (opt.downdelay ?? 0) > 0)) {
    if (miimon === 0) f.error('BOND_DELAY_WITHOUT_MIIMON', `${who}: updelay and downdelay work only with miimon`, o);
  }
  if (!ovs && opt.lacp_rate !== undefined && bond.mode !== '802.3ad') {
    f.error('BOND_LACP_RATE_MODE', `${who}: lacp_rate applies only to mode 802.3ad, not ${bond.mode}`, o);
  }
  if (!ovs && opt.xmit_hash_policy !== undefined && !XMIT_HASH_MODES.includes(bond.mode)) {
    f.error('BOND_XMIT_HASH_MODE', `${who}: xmit_hash_policy applies only to modes ${XMIT_HASH_MODES.join(', ')}, not ${bond.mode}`, o);
  }
  if (opt.primary !== undefined) {
    if (ovs) {
      if (bond.mode === 'active-backup' && !present.some((n) => n.name === opt.primary) && !bond.members.includes(opt.primary)) {
        f.error('BOND_PRIMARY_NOT_MEMBER', `${who}: primary '${opt.primary}' is not a member of the bond`, o);
      }
    } else if (!PRIMARY_MODES.includes(bond.mode)) {
      f.error('BOND_PRIMARY_MODE', `${who}: primary applies only to modes ${PRIMARY_MODES.join(', ')}, not ${bond.mode}`, o);
    } else if (!present.some((n) => n.name === opt.primary) && !bond.members.includes(opt.primary)) {
      f.error('BOND_PRIMARY_NOT_MEMBER', `${who}: primary '${opt.primary}' is not a member of the bond`, o);
    }
  }
}

/** Limits a shaper and a policer can honour: kbit/s and kbit. */
export const QOS_MIN_RATE = 8;
export const QOS_MAX_RATE = 100_000_000;
/** The burst must hold the traffic of this many ms at the rate (tc tbf needs at least one timer tick, 10 ms at HZ=100)... */
const QOS_MIN_BURST_MS = 10;
/** ...and at most this many seconds of it: a larger bucket is no limit. */
const QOS_MAX_BURST_S = 10;

function validateQos(f: Findings, qos: AttachmentQos, who: string, mtu: number): void {
  for (const direction of ['egress', 'ingress'] as const) {
    const l = qos[direction];
    if (!l) continue;
    const o = { direction };
    if (!Number.isInteger(l.maxRate) || l.maxRate < QOS_MIN_RATE || l.maxRate > QOS_MAX_RATE) {
      f.error('QOS_RATE_INVALID', `${who}: ${direction} max rate ${l.maxRate} kbit/s is not a whole number from ${QOS_MIN_RATE} to ${QOS_MAX_RATE}`, o);
      continue;
    }
    if (!Number.isInteger(l.maxBurst) || l.maxBurst < 1) {
      f.error('QOS_BURST_INVALID', `${who}: ${direction} max burst ${l.maxBurst} kbit is not a whole, positive number`, o);
      continue;
    }
    // One full frame (MTU plus the Ethernet header and a VLAN tag) must fit, or nothing passes.
    const frame = Math.ceil(((mtu + 18) * 8) / 1000);
    const least = Math.max(frame, Math.ceil((l.maxRate * QOS_MIN_BURST_MS) / 1000));
    if (l.maxBurst < least) {
      f.error(
        'QOS_BURST_TOO_SMALL',
        `${who}: ${direction} max burst ${l.maxBurst} kbit is below ${least} kbit (one ${mtu}-byte frame and ${QOS_MIN_BURST_MS} ms at ${l.maxRate} kbit/s); the limit would pass less than its rate`,
        o,
      );
    } else if (l.maxBurst > l.maxRate * QOS_MAX_BURST_S) {
      f.error('QOS_BURST_TOO_LARGE', `${who}: ${direction} max burst ${l.maxBurst} kbit holds more than ${QOS_MAX_BURST_S} s at ${l.maxRate} kbit/s; it would not limit anything`, o);
    }
  }
}

/** Every rule over one host's whole configuration. Errors refuse a write; warnings become sync reasons. */
export function validateHost(cfg: HostConfig): Violation[] {
  const f = new Findings();
  const t = new Topology(cfg);
  const { host } = cfg;
  const hostWho = `host '${host.name}'`;
  const switchType: SwitchType = cfg.cluster.switchType ?? 'linux';
  const ovs = switchType === 'ovs';

  if (!HOST_NAME_RE.test(host.name)) {
    f.error('HOST_NAME_INVALID', `${hostWho}: the name must be a DNS hostname starting with a letter`, { host: host.name });
  }
  if (host.bootMac !== null) {
    const p = macProblem(host.bootMac);
    if (p) f.error('INVALID_MAC', `${hostWho}: boot MAC '${host.bootMac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`, { host: host.name });
  }
  validateCustom(f, host.custom, hostWho);

  // Device names must be unique among NICs, bonds, VLAN devices and bridges.
  const deviceOwners = new Map<string, string>();
  const claim = (name: string, owner: string): void => {
    const prev = deviceOwners.get(name);
    if (prev !== undefined && prev !== owner) {
      f.error('INTERFACE_NAME_CONFLICT', `${hostWho}: device name '${name}' is used by both ${prev} and ${owner}`, { host: host.name, device: name });
    } else deviceOwners.set(name, owner);
  };
  for (const nic of cfg.nics) {
    const p = macProblem(nic.mac);
    if (p) f.error('INVALID_MAC', `NIC ${nic.name}: MAC '${nic.mac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`, { nic: nic.name });
    const np = kernelNameProblem(nic.name);
    if (np) f.error('INTERFACE_NAME_INVALID', `NIC ${nic.mac}: the name '${nic.name}' ${np}`, { nic: nic.mac });
    for (const l of nic.labels) if (!LABEL_RE.test(l)) f.error('LABEL_INVALID', `NIC ${nic.name}: label '${l}' must match ${LABEL_RE.source}`, { nic: nic.name });
    claim(nic.name, `NIC ${nic.mac}`);
  }
  for (const bond of cfg.bonds) {
    if (deviceOwners.has(bond.name)) {
      f.error('DUPLICATE_INTERFACE_NAME', `bond '${bond.name}': ${deviceOwners.get(bond.name)} already has that name on ${hostWho}`, {
        bond: bond.name,
      });
    } else deviceOwners.set(bond.name, `bond '${bond.name}'`);
    validateBond(f, t, bond, switchType);
  }

  // Attachments, grouped per interface.
  const byIface = new Map<string, typeof t.effective>();
  const ifacesOfNetwork = new Map<number, string[]>();
  for (const e of t.effective) {
    const key = ifaceKey(e.attachment.iface);
    byIface.set(key, [...(byIface.get(key) ?? []), e]);
    ifacesOfNetwork.set(e.network.id, [...(ifacesOfNetwork.get(e.network.id) ?? []), t.describe(e.attachment.iface)]);
  }
  for (const a of cfg.attachments) {
    if (!t.networkById.has(a.networkId)) {
      f.error('ATTACHMENT_NETWORK_NOT_IN_CLUSTER', `${hostWho}: attachment #${a.id} refers to network #${a.networkId}, which is not in cluster '${cfg.cluster.name}'`, {
        host: host.name,
      });
    }
  }
  for (const [networkId, ifaces] of ifacesOfNetwork) {
    const network = t.networkById.get(networkId) as LogicalNetwork;
    if (ifaces.length > 1 && (!network.bridged || ovs)) {
      f.error(
        'NETWORK_ATTACHED_TWICE',
        ovs
          ? `network '${network.name}' is attached to ${ifaces.join(' and ')} on ${hostWho}; on Open vSwitch a network has one port per host (bond the interfaces instead)`
          : `network '${network.name}' is attached to ${ifaces.join(' and ')} on ${hostWho}; only a bridged network may span several interfaces`,
        { network: network.name, host: host.name },
      );
    }
  }

  const deviceMtu = new Map<string, number>();
  for (const [key, list] of byIface) {
    const ref = list[0]!.attachment.iface;
    const ifName = t.describe(ref);
    const present = t.present(ref);
    if (!present) {
      for (const e of list) {
        f.warn('ATTACHMENT_INTERFACE_MISSING', `network '${e.network.name}' is attached to ${ifName}, which the host did not report`, {
          network: e.network.name,
          host: host.name,
        });
      }
    }
    // A trunk port carries tagged frames only: it is not the interface's untagged network.
    const untagged = list.filter((e) => e.network.vlan === null && !(ovs && e.network.portType === 'trunk'));
    if (untagged.length > 1) {
      f.error(
        'MULTIPLE_UNTAGGED_NETWORKS',
        `${ifName} carries untagged networks ${untagged.map((e) => `'${e.network.name}'`).join(' and ')}; an interface carries at most one`,
        { interface: ifName },
      );
    }
    const seenVlan = new Map<number, string>();
    for (const e of list) {
      if (e.network.vlan === null) continue;
      const prev = seenVlan.get(e.network.vlan);
      if (prev !== undefined) {
        f.error(
          'DUPLICATE_VLAN_ON_INTERFACE',
          `${ifName} would carry VLAN ${e.network.vlan} twice (networks '${prev}' and '${e.network.name}')`,
          { interface: ifName, vlan: e.network.vlan },
        );
      } else seenVlan.set(e.network.vlan, e.network.name);
    }
    // The device MTU must fit every network on it; an untagged network pins it to its own MTU.
    const base = untagged[0]?.network;
    const maxMtu = Math.max(...list.map((e) => e.network.mtu));
    deviceMtu.set(key, base && !ovs ? base.mtu : maxMtu);
    // Kernel VLAN devices and bridges share their parent's MTU; OVS internal ports each have their own.
    if (base && !ovs) {
      for (const e of list) {
        if (e.network.vlan === null || e.network.mtu <= base.mtu) continue;
        if (base.bridged) {
          f.error(
            'BRIDGE_MTU_MISMATCH',
            `bridge '${base.name}' (MTU ${base.mtu}) would get port ${ifName} with MTU ${e.network.mtu}, raised by VLAN network '${e.network.name}'; a bridge and its ports share one MTU`,
            { network: base.name, interface: ifName },
          );
        } else {
          f.error(
            'VLAN_MTU_EXCEEDS_PARENT',
            `VLAN network '${e.network.name}' (MTU ${e.network.mtu}) exceeds the MTU ${base.mtu} of ${ifName}, set by untagged network '${base.name}'`,
            { network: e.network.name, interface: ifName },
          );
        }
      }
    }
    if (ref.kind === 'bond') {
      const bond = t.bondById.get(ref.bondId);
      for (const e of list) {
        if (!ovs && bond && e.network.bridged && NON_BRIDGEABLE_MODES.includes(bond.mode)) {
          f.error(
            'BOND_MODE_NOT_BRIDGEABLE',
            `bridged network '${e.network.name}' cannot sit on bond '${bond.name}' in mode ${bond.mode}; use active-backup, balance-xor, broadcast or 802.3ad`,
            { network: e.network.name, bond: bond.name },
          );
        }
      }
    }
    // Names of the devices Tabula will create on this interface.
    if (present && !ovs) {
      for (const e of list) {
        if (e.network.vlan !== null) claim(vlanDeviceName(ifName, e.network.vlan), `VLAN ${e.network.vlan} of ${ifName}`);
      }
    }
    if (ovs) {
      // A trunk list must not reach into the VLAN another port of the same bridge carries untagged (access or native).
      const carried = new Map<number, string>();
      for (const e of list) if (e.network.portType !== 'trunk' && e.network.vlan !== null) carried.set(e.network.vlan, e.network.name);
      for (const e of list) {
        if (!e.network.bridged || (e.network.portType ?? 'access') === 'access') continue;
        for (const v of e.network.trunks ?? []) {
          const other = carried.get(v);
          if (other !== undefined && other !== e.network.name) {
            f.error(
              'TRUNK_CONTAINS_ACCESS_TAG',
              `network '${e.network.name}' trunks VLAN ${v}, which network '${other}' carries on the same Open vSwitch bridge (${ifName}); its VMs would reach that network`,
              { network: e.network.name, other, vlan: v, interface: ifName },
            );
          }
        }
        if (e.network.portType === 'trunk' && (e.attachment.ipv4.method !== 'none' || e.attachment.ipv6.method !== 'none')) {
          f.error('TRUNK_PORT_ADDRESS', `trunk network '${e.network.name}' on ${hostWho} carries tagged frames only; it cannot hold the host's addresses`, {
            network: e.network.name,
            host: host.name,
          });
        }
      }
    }
  }
  if (ovs) {
    // One Open vSwitch bridge per uplink (src/domain/plan.ts), and one internal port per network, named after it.
    const uplinks = [
      ...cfg.bonds.map((b) => b.name),
      ...cfg.nics.filter((n) => !t.bondOfMember.has(n.mac) && t.attachmentsOn({ kind: 'nic', mac: n.mac }).length > 0).map((n) => n.name),
    ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    uplinks.forEach((u, i) => claim(ovsBridgeName(i), `Open vSwitch bridge of ${u}`));
    for (const e of t.effective) if (t.present(e.attachment.iface)) claim(e.network.name, `port of network '${e.network.name}'`);
  } else {
    for (const e of t.effective) if (e.network.bridged) claim(e.network.name, `bridge of network '${e.network.name}'`);
  }

  // QoS: sane limits, and on Linux a device that carries this network's traffic only.
  const qosOf = new Map<number, string>();
  for (const e of t.effective) {
    const qos = e.attachment.qos;
    if (!qos || (!qos.egress && !qos.ingress)) continue;
    const who = `QoS of network '${e.network.name}' on ${t.describe(e.attachment.iface)}`;
    validateQos(f, qos, who, e.network.mtu);
    const text = JSON.stringify([qos.egress ?? null, qos.ingress ?? null]);
    const prev = qosOf.get(e.network.id);
    if (prev !== undefined && prev !== text) {
      f.error('QOS_CONFLICT', `network '${e.network.name}' has different QoS on two interfaces of ${hostWho}; its bridge has one limit`, { network: e.network.name });
    }
    qosOf.set(e.network.id, text);
    if (!ovs && e.network.vlan === null && !e.network.bridged) {
      const shared = t.attachmentsOn(e.attachment.iface).filter((x) => x.network.vlan !== null);
      if (shared.length > 0) {
        f.error(
          'QOS_SHARED_DEVICE',
          `${who}: ${t.describe(e.attachment.iface)} also carries the traffic of VLAN network${shared.length > 1 ? 's' : ''} ${shared.map((x) => `'${x.network.name}'`).join(', ')}, which the limit would throttle too; limit the VLAN networks one by one, or use an ovs cluster`,
          { network: e.network.name, interface: t.describe(e.attachment.iface) },
        );
      }
    }
  }

  // Addresses and gateways.
  const addresses = new Map<string, string>();
  const gateways4: string[] = [];
  const gateways6: string[] = [];
  for (const e of t.effective) {
    const who = `attachment of network '${e.network.name}' on ${t.describe(e.attachment.iface)}`;
    validateIpv4(f, e.attachment.ipv4, who);
    validateIpv6(f, e.attachment.ipv6, who);
    validateCustom(f, e.attachment.custom, who);
    for (const ip of [e.attachment.ipv4, e.attachment.ipv6]) {
      if (ip.method !== 'static') continue;
      const prev = addresses.get(ip.address);
      if (prev) {
        f.error('DUPLICATE_IP_ADDRESS', `${ip.address} is assigned to both network '${prev}' and network '${e.network.name}' on ${hostWho}`, {
          address: ip.address,
        });
      } else addresses.set(ip.address, e.network.name);
      if (ip.gateway) (ip === e.attachment.ipv4 ? gateways4 : gateways6).push(e.network.name);
    }
  }
  for (const [family, list] of [
    ['IPv4', gateways4],
    ['IPv6', gateways6],
  ] as const) {
    if (list.length > 1) {
      f.error(
        'MULTIPLE_DEFAULT_GATEWAYS',
        `${hostWho}: networks ${list.map((n) => `'${n}'`).join(', ')} each set an ${family} gateway; a host has one default route per family`,
        { host: host.name },
      );
    }
  }

  // Management network (seed 001): present, addressed, and on the interface that reaches the engine.
  const mgmt = t.managementNetwork();
  if (!mgmt) {
    f.error('MANAGEMENT_NETWORK_REQUIRED', `cluster '${cfg.cluster.name}' has no management network`, { cluster: cfg.cluster.name });
  } else {
    const onHost = t.effective.filter((e) => e.network.id === mgmt.id);
    if (onHost.length === 0) {
      const msg = `${hostWho} has no attachment of management network '${mgmt.name}'`;
      if (host.state === 'active') f.error('MANAGEMENT_NETWORK_MISSING', `${msg}; an active host must keep it`, { host: host.name });
      else f.warn('MANAGEMENT_NETWORK_MISSING', msg, { host: host.name });
    }
    const boot = t.bootIface();
    for (const e of onHost) {
      const a = e.attachment;
      if (a.ipv4.method === 'none' && a.ipv6.method === 'none') {
        f.error('MANAGEMENT_WITHOUT_ADDRESS', `management network '${mgmt.name}' on ${hostWho} has no IPv4 or IPv6 configuration; the engine could not reach the host`, {
          host: host.name,
        });
      }
      if (boot && ifaceKey(boot) !== ifaceKey(a.iface)) {
        f.error(
          'MANAGEMENT_NOT_ON_BOOT_INTERFACE',
          `management network '${mgmt.name}' is on ${t.describe(a.iface)}, but ${hostWho} reaches the engine through ${t.describe(boot)} (it booted from ${host.bootMac})`,
          { host: host.name, interface: t.describe(a.iface), bootInterface: t.describe(boot) },
        );
      }
    }
  }

  for (const network of cfg.networks) {
    if (!network.required || network.role === 'management') continue;
    if (!t.effective.some((e) => e.network.id === network.id)) {
      f.warn('REQUIRED_NETWORK_MISSING', `required network '${network.name}' is not attached on ${hostWho}`, { network: network.name, host: host.name });
    }
  }
  return f.list;
}

export { Findings };
