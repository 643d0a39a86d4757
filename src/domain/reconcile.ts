// Inventory reconciliation (oVirt seed 000) and management derivation (seed 001), as a pure function.
// The report is the truth about hardware: new NICs are saved, renamed ones updated (same MAC), vanished
// ones deleted. Bonds and attachments keep their MACs, so they become partial/dangling and heal later.
import { TabulaError } from './errors.js';
import type { Attachment, HostConfig, InventoryChange, InventoryReport, Nic } from './model.js';
import { kernelNameProblem, macProblem, normalizeMac } from './net.js';
import { Topology, ifaceKey } from './topology.js';

export const MAX_REPORTED_NICS = 1024;

export interface NormalizedReport {
  bootMac: string;
  nics: Omit<Nic, 'id' | 'hostId' | 'labels'>[];
}

/** Checks a report before anything is written; a bad report is refused whole. */
export function normalizeReport(report: InventoryReport): NormalizedReport {
  const problems: { code: string; message: string; severity: 'error' }[] = [];
  const bad = (code: string, message: string): void => {
    problems.push({ code, message, severity: 'error' });
  };
  if (report.nics.length === 0) bad('INVENTORY_EMPTY', 'the inventory report lists no NICs');
  if (report.nics.length > MAX_REPORTED_NICS) bad('INVENTORY_TOO_LARGE', `the inventory report lists ${report.nics.length} NICs, at most ${MAX_REPORTED_NICS} are accepted`);
  const bootProblem = macProblem(report.bootMac);
  if (bootProblem) bad('INVALID_MAC', `boot MAC '${report.bootMac}' is ${bootProblem === 'malformed' ? 'not a MAC address' : `a ${bootProblem} address`}`);
  const seenMac = new Set<string>();
  const seenName = new Set<string>();
  const nics: NormalizedReport['nics'] = [];
  for (const n of report.nics) {
    const p = macProblem(n.mac);
    if (p) {
      bad('INVALID_MAC', `reported NIC '${n.name}': MAC '${n.mac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`);
      continue;
    }
    const mac = normalizeMac(n.mac) as string;
    const np = kernelNameProblem(n.name);
    if (np) bad('INTERFACE_NAME_INVALID', `reported NIC ${mac}: the name '${n.name}' ${np}`);
    if (seenMac.has(mac)) bad('INVENTORY_DUPLICATE_MAC', `the inventory report lists MAC ${mac} twice`);
    if (seenName.has(n.name)) bad('INVENTORY_DUPLICATE_NAME', `the inventory report lists interface name '${n.name}' twice`);
    seenMac.add(mac);
    seenName.add(n.name);
    if (n.speed !== undefined && n.speed !== null && (!Number.isInteger(n.speed) || n.speed < 0)) {
      bad('INVENTORY_INVALID_SPEED', `reported NIC ${n.name}: speed ${n.speed} is not a non-negative whole number of Mbit/s`);
    }
    nics.push({
      mac,
      name: n.name,
      driver: n.driver ?? null,
      speed: n.speed ?? null,
      carrier: n.carrier ?? false,
      pciAddress: n.pciAddress ?? null,
    });
  }
  const bootMac = normalizeMac(report.bootMac);
  if (bootMac && !bootProblem && !seenMac.has(bootMac)) {
    bad('INVENTORY_BOOT_MAC_NOT_REPORTED', `boot MAC ${bootMac} is not among the reported NICs`);
  }
  const first = problems[0];
  if (first) {
    throw new TabulaError('validation', first.code, problems.length > 1 ? `${first.message} (and ${problems.length - 1} more)` : first.message, {
      violations: problems,
    });
  }
  return { bootMac: bootMac as string, nics };
}

/** Temporary ids for rows created by this reconciliation (the repository assigns real ones). */
let tempId = 0;
function nextTempId(): number {
  tempId -= 1;
  if (tempId < -1_000_000_000) tempId = -1;
  return tempId;
}

export function reconcileInventory(cfg: HostConfig, report: NormalizedReport): { config: HostConfig; changes: InventoryChange[] } {
  const changes: InventoryChange[] = [];
  const stored = new Map(cfg.nics.map((n) => [n.mac, n]));
  const reported = new Set(report.nics.map((n) => n.mac));
  const nics: Nic[] = [];
  for (const r of report.nics) {
    const old = stored.get(r.mac);
    if (!old) {
      nics.push({ ...r, id: nextTempId(), hostId: cfg.host.id, labels: [] });
      changes.push({ kind: 'nic-added', mac: r.mac, message: `new NIC ${r.name} (${r.mac}${r.driver ? `, ${r.driver}` : ''})` });
      continue;
    }
    if (old.name !== r.name) {
      changes.push({ kind: 'nic-renamed', mac: r.mac, message: `NIC ${r.mac} renamed from ${old.name} to ${r.name}` });
    } else if (old.driver !== r.driver || old.pciAddress !== r.pciAddress) {
      changes.push({ kind: 'nic-updated', mac: r.mac, message: `NIC ${r.name} now reports driver ${r.driver ?? '?'} at ${r.pciAddress ?? '?'}` });
    }
    nics.push({ ...old, ...r });
  }
  for (const old of cfg.nics) {
    if (reported.has(old.mac)) continue;
    changes.push({ kind: 'nic-removed', mac: old.mac, message: `NIC ${old.name} (${old.mac}) was not reported and is removed` });
  }

  const host = { ...cfg.host, bootMac: report.bootMac };
  if (cfg.host.bootMac !== null && cfg.host.bootMac !== report.bootMac) {
    changes.push({ kind: 'boot-mac-changed', mac: report.bootMac, message: `host now boots from ${report.bootMac} (was ${cfg.host.bootMac})` });
  }
  let next: HostConfig = { ...cfg, host, nics };
  next = deriveManagement(next, changes);
  return { config: next, changes };
}

/**
 * Seed 001: the management network sits on the interface the host booted through (the boot NIC or
 * the bond that contains it), with the network's own VLAN, bridging and MTU. A missing attachment is
 * created with DHCP; one left on another interface follows the boot interface.
 */
export function deriveManagement(cfg: HostConfig, changes: InventoryChange[]): HostConfig {
  const t = new Topology(cfg);
  const mgmt = t.managementNetwork();
  const boot = t.bootIface();
  if (!mgmt || !boot || !cfg.host.bootMac) return cfg;
  const bootName = t.describe(boot);
  const existing = cfg.attachments.find((a) => a.networkId === mgmt.id);
  if (!existing) {
    if (t.effective.some((e) => e.network.id === mgmt.id && ifaceKey(e.attachment.iface) === ifaceKey(boot))) return cfg;
    const attachment: Attachment = {
      id: nextTempId(),
      hostId: cfg.host.id,
      networkId: mgmt.id,
      iface: boot,
      ipv4: { method: 'dhcp' },
      ipv6: { method: 'none' },
      custom: {},
    };
    changes.push({ kind: 'management-derived', mac: cfg.host.bootMac, message: `management network '${mgmt.name}' placed on ${bootName}, the interface the host booted from` });
    return { ...cfg, attachments: [...cfg.attachments, attachment] };
  }
  if (ifaceKey(existing.iface) === ifaceKey(boot)) return cfg;
  changes.push({
    kind: 'management-derived',
    mac: cfg.host.bootMac,
    message: `management network '${mgmt.name}' moved from ${t.describe(existing.iface)} to ${bootName}, the interface the host booted from`,
  });
  return { ...cfg, attachments: cfg.attachments.map((a) => (a.id === existing.id ? { ...a, iface: boot } : a)) };
}
