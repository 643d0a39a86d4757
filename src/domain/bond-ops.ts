// Bond lifecycle as pure transformations of a HostConfig (XenAPI seed 003):
// create moves the members' networks, addresses and management role up to the bond;
// destroy moves them back down to the primary member. The caller validates and saves the result.
import { TabulaError, invalid, notFound } from './errors.js';
import type { Bond, BondMode, BondOptions, HostConfig, Nic } from './model.js';
import { BOND_MODES, BOND_MODE_ALIASES } from './model.js';
import { macProblem, normalizeMac } from './net.js';
import { Topology } from './topology.js';

/** Temporary id for a bond created in this change; the repository substitutes the real one. */
export const NEW_BOND_ID = -1;

export function parseBondMode(text: string): BondMode {
  const t = text.trim().toLowerCase();
  if ((BOND_MODES as readonly string[]).includes(t)) return t as BondMode;
  const alias = BOND_MODE_ALIASES[t];
  if (alias) return alias;
  throw invalid(
    'BOND_MODE_INVALID',
    `bond mode '${text}' is not one of ${BOND_MODES.join(', ')} (aliases: load-balancing, failover, broadcast, link-aggregation)`,
    { mode: text },
  );
}

/** Who owns a MAC elsewhere: lets the caller name the other host in BOND_MEMBER_OTHER_HOST. */
export type MacOwnerLookup = (mac: string) => string | undefined;

/** Resolves NIC references (kernel name or MAC) against the host's reported NICs. */
export function resolveMembers(cfg: HostConfig, refs: string[], otherHostOf: MacOwnerLookup, bondName: string): string[] {
  return refs.map((ref) => {
    const byName = cfg.nics.find((n) => n.name === ref);
    if (byName) return byName.mac;
    const mac = normalizeMac(ref);
    if (mac) {
      if (cfg.nics.some((n) => n.mac === mac)) return mac;
      const other = otherHostOf(mac);
      if (other !== undefined) {
        throw invalid('BOND_MEMBER_OTHER_HOST', `bond '${bondName}': NIC ${mac} belongs to host '${other}', not to host '${cfg.host.name}'`, {
          bond: bondName,
          nic: mac,
          otherHost: other,
        });
      }
    }
    throw invalid('BOND_MEMBER_NOT_FOUND', `bond '${bondName}': host '${cfg.host.name}' has no NIC '${ref}'`, { bond: bondName, nic: ref });
  });
}

/** bondN with the smallest N not used by a bond or NIC on this host (XenAPI choose_bond_device_name). */
export function nextBondName(cfg: HostConfig): string {
  const used = new Set([...cfg.bonds.map((b) => b.name), ...cfg.nics.map((n) => n.name)]);
  for (let n = 0; ; n++) if (!used.has(`bond${n}`)) return `bond${n}`;
}

export function findBond(cfg: HostConfig, ref: string | number): Bond {
  const s = String(ref);
  const bond = /^[0-9]+$/.test(s) ? cfg.bonds.find((b) => b.id === Number(s)) : cfg.bonds.find((b) => b.name === s);
  if (!bond) throw notFound('bond', `${cfg.host.name}/${s}`);
  return bond;
}

function normalizeOptionalMac(mac: string | null | undefined, owner: string): string | null {
  if (mac === undefined || mac === null) return null;
  const p = macProblem(mac);
  if (p) throw invalid('INVALID_MAC', `${owner}: MAC '${mac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`, { mac });
  return normalizeMac(mac) as string;
}

export interface BondSpec {
  name?: string;
  mode: string;
  options?: BondOptions;
  members: string[];
  mac?: string | null;
  labels?: string[];
}

export function createBond(cfg: HostConfig, spec: BondSpec, otherHostOf: MacOwnerLookup): { config: HostConfig; bondId: number } {
  const name = spec.name ?? nextBondName(cfg);
  const mode = parseBondMode(spec.mode);
  const members = resolveMembers(cfg, spec.members, otherHostOf, name);
  const mac = normalizeOptionalMac(spec.mac, `bond '${name}'`);
  const t = new Topology(cfg);
  const memberSet = new Set(members);
  const mgmt = t.managementNetwork();

  // Primary member: the one carrying management, else the first with IP configuration, else the first.
  const carries = (m: string, pred: (a: HostConfig['attachments'][number]) => boolean): boolean =>
    t.effective.some((e) => e.attachment.iface.kind === 'nic' && e.attachment.iface.mac === m && pred(e.attachment));
  const primary =
    members.find((m) => mgmt !== undefined && carries(m, (a) => a.networkId === mgmt.id)) ??
    members.find((m) => carries(m, (a) => a.ipv4.method !== 'none' || a.ipv6.method !== 'none')) ??
    members[0] ??
    null;

  const movedLabels = new Set<string>(spec.labels ?? []);
  const nics: Nic[] = cfg.nics.map((n) => {
    if (!memberSet.has(n.mac)) return n;
    for (const l of n.labels) movedLabels.add(l);
    return { ...n, labels: [] };
  });
  const bond: Bond = {
    id: NEW_BOND_ID,
    hostId: cfg.host.id,
    name,
    mode,
    options: spec.options ?? {},
    members,
    mac,
    primaryMember: primary,
    labels: [...movedLabels].sort(),
  };
  const attachments = cfg.attachments.map((a) =>
    a.iface.kind === 'nic' && memberSet.has(a.iface.mac) ? { ...a, iface: { kind: 'bond' as const, bondId: NEW_BOND_ID } } : a,
  );
  return { config: { ...cfg, nics, bonds: [...cfg.bonds, bond], attachments }, bondId: NEW_BOND_ID };
}

export interface BondChange {
  name?: string;
  mode?: string;
  options?: BondOptions;
  members?: string[];
  mac?: string | null;
  labels?: string[];
}

export function updateBond(cfg: HostConfig, ref: string | number, change: BondChange, otherHostOf: MacOwnerLookup): HostConfig {
  const old = findBond(cfg, ref);
  const name = change.name ?? old.name;
  const members = change.members ? resolveMembers(cfg, change.members, otherHostOf, name) : old.members;
  const next: Bond = {
    ...old,
    name,
    mode: change.mode !== undefined ? parseBondMode(change.mode) : old.mode,
    options: change.options ?? old.options,
    members,
    mac: change.mac !== undefined ? normalizeOptionalMac(change.mac, `bond '${name}'`) : old.mac,
    primaryMember: old.primaryMember && members.includes(old.primaryMember) ? old.primaryMember : (members[0] ?? null),
    labels: change.labels ? [...new Set(change.labels)].sort() : old.labels,
  };
  return { ...cfg, bonds: cfg.bonds.map((b) => (b.id === old.id ? next : b)) };
}

export function destroyBond(cfg: HostConfig, ref: string | number): HostConfig {
  const bond = findBond(cfg, ref);
  const target = bond.primaryMember ?? bond.members[0];
  const carried = cfg.attachments.filter((a) => a.iface.kind === 'bond' && a.iface.bondId === bond.id);
  if (!target && carried.length > 0) {
    throw new TabulaError('validation', 'BOND_HAS_NO_MEMBER', `bond '${bond.name}' has no member to take back its networks`, { bond: bond.name });
  }
  const attachments = cfg.attachments.map((a) =>
    a.iface.kind === 'bond' && a.iface.bondId === bond.id ? { ...a, iface: { kind: 'nic' as const, mac: target as string } } : a,
  );
  const nics = cfg.nics.map((n) => (n.mac === target ? { ...n, labels: [...new Set([...n.labels, ...bond.labels])].sort() } : n));
  return { ...cfg, nics, bonds: cfg.bonds.filter((b) => b.id !== bond.id), attachments };
}
