// Human and JSON renderings of the lab's outcome. Pure: BladeResult in, text or plain objects out.
import type { ObservedOvsBond } from '../domain/observed.js';
import type { BridgePortState, InterfaceState } from '../domain/plan-types.js';
import type { BladeResult } from './watch.js';

export interface BladeJson {
  name: string;
  host: string;
  mac: string;
  firmware: string;
  switchType: string;
  verified: boolean;
  rolledBack: boolean;
  outcome: string;
  secondsToVerified: number | null;
  generation: number | null;
  stages: BladeResult['stages'];
  failedChecks: string[];
  checks: { name: string; ok: boolean; detail?: string; advisory?: boolean }[];
  /** As the blade reported them (HostState shape); empty when the server has no report route. */
  interfaces: InterfaceState[];
}

export function bladeJson(r: BladeResult): BladeJson {
  return {
    name: r.name,
    host: r.host,
    mac: r.mac,
    firmware: r.firmware,
    switchType: r.switchType,
    verified: r.verified,
    rolledBack: r.rolledBack,
    outcome: r.outcome,
    secondsToVerified: r.secondsToVerified,
    generation: r.generation,
    stages: r.stages,
    failedChecks: r.failedChecks,
    checks: r.report?.checks ?? [],
    interfaces: r.interfaces,
  };
}

function addresses(i: InterfaceState): string {
  const v4 = i.ipv4 as { address?: { ip: string; 'prefix-length': number }[]; dhcp?: boolean };
  const v6 = i.ipv6 as { address?: { ip: string; 'prefix-length': number }[] };
  const list = [...(v4.address ?? []), ...(v6.address ?? [])].map((a) => `${a.ip}/${a['prefix-length']}`);
  if (v4.dhcp) list.push('dhcp');
  return list.join(' ');
}

/** A port's VLAN as OVS sets it: `vlan 100`, `untagged`, `trunk 300,301`, `vlan 400 native, trunk 401`. */
function portVlan(p: BridgePortState): string {
  const v = p.vlan;
  if (!v) return 'untagged';
  const trunks = (v['trunk-tags'] ?? []).map((t) => t.id).join(',');
  if (v.mode === 'access') return v.tag ? `vlan ${v.tag}` : 'untagged';
  return [v.tag !== undefined ? `vlan ${v.tag}${v['enable-native'] ? ' native' : ''}` : '', trunks ? `trunk ${trunks}` : ''].filter(Boolean).join(', ');
}

/** An Open vSwitch bond port as read back: mode, LACP, primary, members and which of them OVS enabled. */
function ovsBond(la: ObservedOvsBond): string {
  const oc = la['ovs-db']?.other_config ?? {};
  const opts = [`lacp=${la.lacp}`, ...(oc['bond-primary'] ? [`primary=${oc['bond-primary']}`] : []), ...(oc['bond-miimon-interval'] ? [`miimon=${oc['bond-miimon-interval']}`] : [])];
  const enabled = la['members-enabled'] ? ` enabled ${la['members-enabled'].join(',') || 'none'}` : '';
  return `ovs bond ${la.mode} ${opts.join(' ')} ports ${la.port.map((p) => p.name).join(',')}${enabled}`;
}

function describe(i: InterfaceState, all: readonly InterfaceState[]): string {
  if (i.type === 'ovs-bridge' && i.bridge) return `ovs bridge ports ${i.bridge.port.map((p) => p.name).join(',') || '-'}`;
  if (i.type === 'ovs-interface') {
    const port = all.find((b) => b.name === i.controller)?.bridge?.port.find((p) => p.name === i.name);
    return `ovs internal port on ${i.controller ?? '?'}${port ? `, ${portVlan(port)}` : ''}`;
  }
  if (i.type === 'bond' && i['link-aggregation']) {
    const la = i['link-aggregation'];
    // The kernel reports every bond option; show the ones that matter for the mode (and set timers).
    const shown = (k: string, v: unknown): boolean => {
      if (k === 'miimon' || k === 'primary' || k === 'arp_ip_target') return v !== '' && v !== undefined;
      if (k === 'updelay' || k === 'downdelay' || k === 'arp_interval') return String(v) !== '0';
      if (k === 'lacp_rate') return la.mode === '802.3ad';
      if (k === 'xmit_hash_policy') return la.mode === '802.3ad' || la.mode === 'balance-xor';
      return false;
    };
    const opts = Object.entries(la.options)
      .filter(([k, v]) => shown(k, v))
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(' ');
    return `bond ${la.mode}${opts ? ` ${opts}` : ''} ports ${la.port.join(',')}`;
  }
  if (i.type === 'vlan' && i.vlan) return `vlan ${i.vlan.id} on ${i.vlan['base-iface']}`;
  if (i.type === 'linux-bridge' && i.bridge) return `bridge ports ${i.bridge.port.map((p) => p.name).join(',') || '-'}`;
  return i.controller ? `ethernet in ${i.controller}` : 'ethernet';
}

/** One block per blade: the headline, then one line per interface. */
export function summaryText(results: readonly BladeResult[], source: (r: BladeResult) => string): string {
  const lines: string[] = [];
  for (const r of results) {
    const head =
      r.outcome === 'verified'
        ? `verified in ${r.secondsToVerified} s`
        : r.outcome === 'rolled-back'
          ? `ROLLED BACK (failed: ${r.failedChecks.join(', ') || '?'})`
          : r.outcome === 'failed'
            ? `FAILED${r.failedChecks.length ? ` (failed: ${r.failedChecks.join(', ')})` : ''}${r.detail ? `: ${r.detail}` : ''}`
            : 'TIMED OUT';
    const checks = r.report ? `, ${r.report.checks.filter((c) => c.ok).length}/${r.report.checks.length} checks ok` : '';
    lines.push(`${r.name}  ${r.firmware}  ${r.switchType}  ${r.mac}  ${head}  (generation ${r.generation ?? '-'}${checks}; ${source(r)})`);
    const rows = r.interfaces.filter((i) => i.state === 'up' || i.type !== 'ethernet');
    // Open vSwitch bonds are bridge ports, not kernel devices: one line each after the devices.
    const bonds = rows.flatMap((i) => (i.type === 'ovs-bridge' ? (i.bridge?.port ?? []) : [])).filter((p) => p['link-aggregation']);
    const w = Math.max(4, ...rows.map((i) => i.name.length), ...bonds.map((p) => p.name.length));
    for (const i of rows) {
      lines.push(`  ${i.name.padEnd(w)}  mtu ${String(i.mtu).padEnd(5)} ${describe(i, rows).padEnd(46)} ${addresses(i)}`.trimEnd());
    }
    for (const p of bonds) lines.push(`  ${p.name.padEnd(w)}  ${'-'.padEnd(9)} ${ovsBond(p['link-aggregation'] as ObservedOvsBond)}`);
    const failed = r.report?.checks.filter((c) => !c.ok) ?? [];
    for (const c of failed) lines.push(`  ! ${c.name}${c.advisory ? ' (advisory)' : ''}: ${c.detail ?? 'failed'}`);
    lines.push('');
  }
  return lines.join('\n');
}
