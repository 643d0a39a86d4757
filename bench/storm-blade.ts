// The blade side of the storm benchmark that is not a protocol: what a blade's kernel holds after it
// ran the apply script it was served, and the report pxe/init.sh builds from that. The script's
// `"$IP" ...` lines are executed against a small model of the kernel (NICs, bonds, VLANs, bridges,
// MTUs, addresses, routes), the way /init records them through /lib/tabula/ip-record; verify and
// report_json then become a list of checks and iproute2-shaped JSON. No shell runs: one Node client
// speaks for thousands of blades.
import type { InventoryReport } from '../src/domain/model.js';

export type Scalar = string | number | boolean | null;

// ------------------------------------------------------------------ what the client hands back

/** The stages of one blade's boot, in order (bench/storm-client.ts). */
export const STAGES = ['dhcp-pxe', 'tftp', 'dhcp-ipxe', 'script', 'kernel', 'initrd', 'inventory', 'config', 'dhcp-os', 'healthz', 'report'] as const;
/**
 * 'not-started': the run deadline passed before the blade's turn; 'unfinished': still booting when the
 * grace after the deadline ran out; 'client': a bug of the load generator itself.
 */
export type Stage = (typeof STAGES)[number] | 'not-started' | 'unfinished' | 'client';

export interface StageFigures {
  n: number;
  p50: number;
  p99: number;
  max: number;
  failures: number;
  /** Retransmissions (DHCP, TFTP) or repeated requests (HTTP). */
  retries: number;
}

export interface StormOutcome {
  blades: number;
  ok: number;
  seconds: number;
  stages: Record<string, StageFigures>;
  /** Blade total time (first DISCOVER to report answered), successful blades. */
  blade: { p50: number; p99: number; max: number };
  failures: Record<string, number>;
  /** Up to 3 error messages per failing stage. */
  samples: Record<string, string[]>;
  tftpBusy: number;
  dhcpNaks: number;
  clientCpuSeconds: number;
}


interface Dev {
  name: string;
  kind: 'nic' | 'bond' | 'vlan' | 'bridge';
  mac: string;
  /** A NIC's own MAC (permaddr once a bond replaced its address). */
  perm: string;
  mtu: number;
  up: boolean;
  master: string | null;
  /** VLAN base device, VLAN id. */
  base?: string;
  vlanId?: number;
  /** Bond mode and options, bridge options, as the script gave them. */
  options: Record<string, string>;
  addrs: Array<{ family: 4 | 6; local: string; prefix: number }>;
}

export interface BladeKernel {
  devs: Map<string, Dev>;
  routes: Array<{ family: 4 | 6; dst: string; via: string; dev: string; proto: string }>;
  /** Every `tabula_dhcp IFACE` of the script, in order: the blade's DHCP client runs on them. */
  dhcp: string[];
  /** sysctl key -> value written by tabula_custom. */
  sysctls: Map<string, string>;
  /** Steps the script announced (`step ...`), as /init counts them. */
  steps: number;
  /** What the script asked for, for the checks: MTUs, up states, MACs set. */
  intent: { mtu: Map<string, number>; up: Set<string>; mac: Map<string, string>; created: string[] };
}

/** Shell words of one line: '...' quoted, "..." quoted (only "$IP" here), bare; adjacent parts join. */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  for (let i = 0; i < line.length; ) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (cur !== null) out.push(cur);
      cur = null;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${line}`);
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${line}`);
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[i + 1];
      i += 2;
    } else if (c === '#' && cur === null) {
      break;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

/** The kernel /init leaves before it runs the script: every NIC up, no address (it flushed the boot NIC). */
export function bootKernel(inv: InventoryReport): BladeKernel {
  const devs = new Map<string, Dev>();
  for (const n of inv.nics) {
    devs.set(n.name, { name: n.name, kind: 'nic', mac: n.mac, perm: n.mac, mtu: 1500, up: true, master: null, options: {}, addrs: [] });
  }
  return { devs, routes: [], dhcp: [], sysctls: new Map(), steps: 0, intent: { mtu: new Map(), up: new Set(), mac: new Map(), created: [] } };
}

const after = (w: string[], key: string): string | undefined => {
  const i = w.indexOf(key);
  return i >= 0 ? w[i + 1] : undefined;
};

/** Runs the apply script's network commands against `k`. Throws (as `sh -e` stops) on a command the kernel would refuse. */
export function applyScript(k: BladeKernel, script: string): void {
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('step ')) {
      k.steps++;
      continue;
    }
    const w = shellWords(line);
    if (w[0] === 'tabula_dhcp' && w[1]) {
      k.dhcp.push(w[1]);
      continue;
    }
    if (w[0] === 'tabula_custom' && w[3]?.startsWith('sysctl/')) {
      k.sysctls.set(w[3].slice('sysctl/'.length), w[4] ?? '');
      continue;
    }
    if (w[0] !== '$IP') continue;
    ipCommand(k, w.slice(1));
  }
}

function dev(k: BladeKernel, name: string | undefined): Dev {
  const d = name === undefined ? undefined : k.devs.get(name);
  if (!d) throw new Error(`Cannot find device "${name ?? ''}"`);
  return d;
}

function ipCommand(k: BladeKernel, args: string[]): void {
  let family: 4 | 6 = 4;
  let w = args;
  if (w[0] === '-4' || w[0] === '-6') {
    family = w[0] === '-6' ? 6 : 4;
    w = w.slice(1);
  }
  const [obj, verb] = w;
  if (obj === 'link' && verb === 'add') {
    const type = after(w, 'type');
    if (w[2] === 'link') {
      const base = dev(k, w[3]);
      const name = after(w, 'name') as string;
      if (type !== 'vlan') throw new Error(`link add link ... type ${type ?? '?'} is not modelled`);
      if (k.devs.has(name)) throw new Error(`RTNETLINK answers: File exists (${name})`);
      k.devs.set(name, { name, kind: 'vlan', mac: base.mac, perm: base.mac, mtu: base.mtu, up: false, master: null, base: base.name, vlanId: Number(after(w, 'id')), options: {}, addrs: [] });
      k.intent.created.push(name);
      return;
    }
    const name = w[2] as string;
    if (k.devs.has(name)) throw new Error(`RTNETLINK answers: File exists (${name})`);
    const t = w.indexOf('type');
    const options: Record<string, string> = {};
    for (let i = t + 2; i + 1 < w.length; i += 2) options[w[i] as string] = w[i + 1] as string;
    if (type !== 'bond' && type !== 'bridge') throw new Error(`link add type ${type ?? '?'} is not modelled`);
    k.devs.set(name, { name, kind: type, mac: '', perm: '', mtu: 1500, up: false, master: null, options, addrs: [] });
    k.intent.created.push(name);
    return;
  }
  if (obj === 'link' && verb === 'set') {
    const d = dev(k, after(w, 'dev'));
    for (let i = 2; i < w.length; i++) {
      const word = w[i];
      if (word === 'master') {
        const m = dev(k, w[++i]);
        d.master = m.name;
        if (m.kind === 'bond') {
          // A bond takes its first port's MAC and gives it (and its MTU) to every port.
          if (m.mac === '') m.mac = d.perm;
          d.mac = m.mac;
          d.mtu = m.mtu;
        } else if (m.kind === 'bridge' && m.mac === '') m.mac = d.mac;
      } else if (word === 'nomaster') {
        d.master = null;
        d.mac = d.perm;
      } else if (word === 'mtu') {
        d.mtu = Number(w[++i]);
        k.intent.mtu.set(d.name, d.mtu);
        if (d.kind === 'bond') for (const p of k.devs.values()) if (p.master === d.name) p.mtu = d.mtu;
      } else if (word === 'up') {
        d.up = true;
        k.intent.up.add(d.name);
      } else if (word === 'down') {
        d.up = false;
        k.intent.up.delete(d.name);
      } else if (word === 'address') {
        d.mac = (w[++i] as string).toLowerCase();
        k.intent.mac.set(d.name, d.mac);
      } else if (word === 'dev') i++;
    }
    return;
  }
  if (obj === 'addr' && verb === 'add') {
    const [ip, prefix] = (w[2] as string).split('/');
    dev(k, after(w, 'dev')).addrs.push({ family: (ip as string).includes(':') ? 6 : family, local: ip as string, prefix: Number(prefix) });
    return;
  }
  if (obj === 'route' && (verb === 'add' || verb === 'replace')) {
    const dst = w[2] as string;
    const d = dev(k, after(w, 'dev'));
    k.routes.push({ family: dst.includes(':') ? 6 : family, dst, via: after(w, 'via') ?? '', dev: d.name, proto: 'boot' });
    return;
  }
  throw new Error(`ip ${args.join(' ')} is not modelled`);
}

/** The address a DHCP client got on `iface` (udhcpc.script sets it and the default route). */
export function dhcpLease(k: BladeKernel, iface: string, ip: string, prefix: number, router: string | null): void {
  const d = dev(k, iface);
  d.addrs.push({ family: 4, local: ip, prefix });
  if (router) k.routes.push({ family: 4, dst: 'default', via: router, dev: iface, proto: 'dhcp' });
}

// ------------------------------------------------------------------ /init's verify and report

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

const BOND_MODES: Record<string, number> = { 'balance-rr': 0, 'active-backup': 1, 'balance-xor': 2, broadcast: 3, '802.3ad': 4, 'balance-tlb': 5, 'balance-alb': 6 };

/** The checks verify() in pxe/init.sh writes, for a kernel that holds what the script built. */
export function checks(k: BladeKernel, serverDetail: string, leases: Map<string, string>): Check[] {
  const out: Check[] = [{ name: 'apply', ok: true, detail: `${k.steps} steps` }];
  const ports = (b: string): string =>
    [...k.devs.values()]
      .filter((d) => d.master === b)
      .map((d) => d.name)
      .sort()
      .join(' ');
  for (const d of k.devs.values()) {
    if (d.kind === 'bond') {
      const mode = d.options['mode'] ?? 'balance-rr';
      out.push({ name: `bond:${d.name}:mode`, ok: true, detail: `${mode} ${BOND_MODES[mode] ?? 0} (planned ${mode})` });
      for (const [key, v] of Object.entries(d.options)) if (key !== 'mode') out.push({ name: `bond:${d.name}:${key}`, ok: true, detail: `${v} (planned ${v})` });
      out.push({ name: `bond:${d.name}:ports`, ok: true, detail: `${ports(d.name) || 'none'} (planned ${ports(d.name) || 'none'})` });
      out.push({ name: `bond:${d.name}:carrier`, ok: true, detail: `members with carrier: ${ports(d.name)}; active ${ports(d.name).split(' ')[0] ?? ''}` });
    }
  }
  for (const d of k.devs.values()) {
    if (d.kind === 'vlan') out.push({ name: `vlan:${d.name}`, ok: true, detail: `id ${d.vlanId ?? 0} on ${d.base ?? ''} (planned id ${d.vlanId ?? 0} on ${d.base ?? ''})` });
    if (d.kind === 'bridge') out.push({ name: `bridge:${d.name}`, ok: true, detail: `ports ${ports(d.name) || 'none'} (planned ${ports(d.name) || 'none'})` });
  }
  for (const [name, mtu] of k.intent.mtu) out.push({ name: `mtu:${name}`, ok: k.devs.get(name)?.mtu === mtu, detail: `${k.devs.get(name)?.mtu ?? 'no device'} (planned ${mtu})` });
  for (const name of k.intent.up) out.push({ name: `up:${name}`, ok: k.devs.get(name)?.up === true, detail: 'operstate up' });
  for (const [name, mac] of k.intent.mac) out.push({ name: `mac:${name}`, ok: k.devs.get(name)?.mac === mac, detail: `${k.devs.get(name)?.mac ?? 'no device'} (planned ${mac})` });
  for (const d of k.devs.values()) {
    for (const a of d.addrs) {
      if (leases.has(d.name) && a.local === leases.get(d.name)) continue;
      out.push({ name: `addr:${d.name}:${a.local}/${a.prefix}`, ok: true, detail: `on ${d.name}` });
    }
  }
  for (const r of k.routes) if (r.proto === 'boot') out.push({ name: `route:${r.dst}`, ok: true, detail: `${r.dst} via ${r.via} dev ${r.dev}` });
  for (const [iface, ip] of leases) out.push({ name: `dhcp:${iface}`, ok: true, detail: `ip=${ip} interface=${iface}` });
  for (const [key, v] of k.sysctls) out.push({ name: `sysctl:${key}`, ok: true, detail: `${v} (planned ${v})` });
  out.push({ name: 'block-devices', ok: true, detail: 'none' });
  out.push({ name: 'server', ok: true, detail: serverDetail });
  return out;
}

/** `ip -d -j link show`, `ip -j addr show`, routes and bond sysfs, shaped as iproute2 prints them. */
export function kernelJson(k: BladeKernel): Record<string, unknown> {
  const devs = [...k.devs.values()];
  const index = new Map(devs.map((d, i) => [d.name, i + 2]));
  const common = (d: Dev): Record<string, unknown> => ({
    ifindex: index.get(d.name),
    ...(d.kind === 'vlan' ? { link: d.base } : {}),
    ifname: d.name,
    flags: ['BROADCAST', 'MULTICAST', ...(d.master !== null && k.devs.get(d.master)?.kind === 'bond' ? ['SLAVE'] : []), ...(d.kind === 'bond' ? ['MASTER'] : []), ...(d.up ? ['UP', 'LOWER_UP'] : [])],
    mtu: d.mtu,
    qdisc: d.kind === 'nic' ? 'fq_codel' : 'noqueue',
    ...(d.master !== null ? { master: d.master } : {}),
    operstate: d.up ? 'UP' : 'DOWN',
    linkmode: 'DEFAULT',
    group: 'default',
    txqlen: 1000,
    link_type: 'ether',
    address: d.mac,
    broadcast: 'ff:ff:ff:ff:ff:ff',
    ...(d.kind === 'nic' && d.mac !== d.perm ? { permaddr: d.perm } : {}),
    promiscuity: 0,
    allmulti: 0,
    min_mtu: 68,
    max_mtu: 65535,
    inet6_addr_gen_mode: 'eui64',
    num_tx_queues: 1,
    num_rx_queues: 1,
    gso_max_size: 65536,
    gso_max_segs: 65535,
  });
  const link = [
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, qdisc: 'noqueue', operstate: 'UNKNOWN', link_type: 'loopback', address: '00:00:00:00:00:00' },
    ...devs.map((d) => {
      const info: Record<string, unknown> = {};
      if (d.kind === 'bond') {
        const data: Record<string, Scalar> = { mode: d.options['mode'] ?? 'balance-rr' };
        for (const [key, v] of Object.entries(d.options)) if (key !== 'mode') data[key] = /^\d+$/.test(v) ? Number(v) : v;
        info['linkinfo'] = { info_kind: 'bond', info_data: data };
      } else if (d.kind === 'vlan') info['linkinfo'] = { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: d.vlanId ?? 0, flags: ['REORDER_HDR'] } };
      else if (d.kind === 'bridge') info['linkinfo'] = { info_kind: 'bridge', info_data: { stp_state: Number(d.options['stp_state'] ?? 0), forward_delay: Number(d.options['forward_delay'] ?? 0) } };
      else if (d.master !== null) info['linkinfo'] = { info_slave_kind: k.devs.get(d.master)?.kind === 'bond' ? 'bond' : 'bridge', info_slave_data: { state: 'ACTIVE', mii_status: 'UP', perm_hwaddr: d.perm } };
      return { ...common(d), ...info };
    }),
  ];
  const addr = devs.map((d) => ({
    ifindex: index.get(d.name),
    ifname: d.name,
    addr_info: d.addrs.map((a) => ({ family: a.family === 6 ? 'inet6' : 'inet', local: a.local, prefixlen: a.prefix, scope: 'global', valid_life_time: 4294967295, preferred_life_time: 4294967295 })),
  }));
  const route4: Array<Record<string, unknown>> = [];
  for (const d of devs) {
    for (const a of d.addrs) if (a.family === 4) route4.push({ dst: subnetOf(a.local, a.prefix), dev: d.name, protocol: 'kernel', scope: 'link', prefsrc: a.local });
  }
  for (const r of k.routes) if (r.family === 4) route4.push({ dst: r.dst, gateway: r.via, dev: r.dev, protocol: r.proto, flags: [] });
  const bonds: Record<string, Record<string, string>> = {};
  for (const d of devs) {
    if (d.kind !== 'bond') continue;
    const mode = d.options['mode'] ?? 'balance-rr';
    const slaves = devs.filter((p) => p.master === d.name).map((p) => p.name);
    bonds[d.name] = {
      mode: `${mode} ${BOND_MODES[mode] ?? 0}`,
      miimon: d.options['miimon'] ?? '100',
      updelay: d.options['updelay'] ?? '0',
      downdelay: d.options['downdelay'] ?? '0',
      ...Object.fromEntries(Object.entries(d.options).filter(([key]) => key !== 'mode')),
      active_slave: slaves[0] ?? '',
      slaves: slaves.join(' '),
      mii_status: 'up',
    };
  }
  return { link, addr, route4, route6: [], bonds };
}

function subnetOf(ip: string, prefix: number): string {
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const net = Math.floor(n / 2 ** (32 - prefix)) * 2 ** (32 - prefix);
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${prefix}`;
}
