// `tabula serve`'s boot-service flags: value parsers (commander turns their InvalidArgumentError into a
// usage error naming the flag, exit 2) and the cross-flag checks that turn the flags into a DHCP plan
// (UsageError, exit 2, naming the flag at fault). Pure apart from reading the interface table.
import { existsSync, statSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { inNetwork, ipToUint, prefixMask, uintToIp } from '../../boot/dhcp/ip.js';
import { DEFAULT_BOOT_FILES } from '../../boot/dhcp/pxe.js';
import { DhcpConfigError, DhcpResponder } from '../../boot/dhcp/server-logic.js';
import type { SubnetConfig } from '../../boot/dhcp/server-logic.js';
import { type ListenAddress, UsageError, parseListen } from '../parse.js';

export const DHCP_MODES = ['full', 'proxy', 'off'] as const;
export type DhcpModeFlag = (typeof DHCP_MODES)[number];

export const DEFAULT_LEASE_SECONDS = 3600;

/** One --dhcp-range: START-END, optionally /PREFIX and ,ROUTER for a relayed subnet. */
export interface RangeFlag {
  start: string;
  end: string;
  prefix?: number;
  router?: string;
}

/** HOST:PORT or 'off'. */
export function parseTftpListen(value: string): ListenAddress | 'off' {
  if (value === 'off') return 'off';
  return parseListen(value);
}

function ipv4OrThrow(text: string, what: string): string {
  if (ipToUint(text) === null) throw new InvalidArgumentError(`${what} '${text}' is not an IPv4 address.`);
  return text;
}

/** An IPv4 address. */
export function parseIpv4Address(value: string): string {
  return ipv4OrThrow(value.trim(), 'address');
}

/** a,b,c of IPv4 addresses. */
export function parseIpv4List(value: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new InvalidArgumentError(`'${value}' has an empty item; separate addresses with single commas.`);
  return items.map((s) => ipv4OrThrow(s, 'address'));
}

/** Repeatable START-END[/PREFIX[,ROUTER]]. */
export function parseDhcpRange(value: string, previous: RangeFlag[] | undefined): RangeFlag[] {
  const m = /^([0-9.]+)-([0-9.]+)(?:\/([0-9]{1,2})(?:,([0-9.]+))?)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`'${value}' is not START-END (or START-END/PREFIX,ROUTER for a relayed subnet).`);
  const start = ipv4OrThrow(m[1] as string, 'start');
  const end = ipv4OrThrow(m[2] as string, 'end');
  if ((ipToUint(start) as number) > (ipToUint(end) as number)) throw new InvalidArgumentError(`range '${value}' ends before it starts.`);
  const range: RangeFlag = { start, end };
  if (m[3] !== undefined) {
    const prefix = Number(m[3]);
    if (prefix < 1 || prefix > 30) throw new InvalidArgumentError(`prefix /${prefix} must be 1..30.`);
    range.prefix = prefix;
  }
  if (m[4] !== undefined) range.router = ipv4OrThrow(m[4], 'router');
  return [...(previous ?? []), range];
}

/** Lease time in seconds, 60 .. 2^32-2. */
export function parseLeaseTime(value: string): number {
  if (!/^[0-9]{1,10}$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a whole number of seconds.`);
  const n = Number(value);
  if (n < 60 || n > 0xfffffffe) throw new InvalidArgumentError(`lease time ${n} must be from 60 to 4294967294 seconds.`);
  return n;
}

/** An interface name as the kernel accepts it. */
export function parseInterfaceName(value: string): string {
  if (!/^[^\s/:]{1,15}$/.test(value) || value === '.' || value === '..') throw new InvalidArgumentError(`'${value}' is not a network interface name (1-15 characters, no '/', ':' or blanks).`);
  return value;
}

export interface DhcpFlags {
  dhcpInterface?: string;
  dhcpMode?: DhcpModeFlag;
  dhcpRange?: RangeFlag[];
  dhcpRouter?: string;
  dhcpDns?: string[];
  dhcpLeaseTime?: number;
}

export interface DhcpPlan {
  mode: 'full' | 'proxy';
  interface: string;
  /** The interface's IPv4 address: option 54, siaddr (TFTP next-server), where relays send. */
  serverIp: string;
  prefix: number;
  /** Full mode: the interface's subnet first, then relayed ones. Empty in proxy mode. */
  subnets: SubnetConfig[];
  /** UDP ports the launcher binds: 67, plus 4011 in proxy mode. */
  ports: number[];
}

function ipv4Of(entries: NetworkInterfaceInfo[] | undefined): NetworkInterfaceInfo | undefined {
  return entries?.find((e) => e.family === 'IPv4');
}

/**
 * The DHCP plan the flags ask for, or null when DHCP stays off. Throws UsageError naming the flag.
 * `interfaces` is os.networkInterfaces() of this network namespace.
 */
export function resolveDhcpPlan(f: DhcpFlags, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): DhcpPlan | null {
  const mode: DhcpModeFlag = f.dhcpMode ?? (f.dhcpInterface !== undefined ? 'full' : 'off');
  const extras: Array<[string, unknown]> = [
    ['--dhcp-range', f.dhcpRange],
    ['--dhcp-router', f.dhcpRouter],
    ['--dhcp-dns', f.dhcpDns],
    ['--dhcp-lease-time', f.dhcpLeaseTime],
  ];
  if (f.dhcpInterface === undefined) {
    if (mode !== 'off') throw new UsageError(`--dhcp-mode ${mode} needs --dhcp-interface IFACE: DHCP only ever answers on an interface named explicitly`);
    for (const [flag, v] of extras) if (v !== undefined) throw new UsageError(`${flag} needs --dhcp-interface IFACE: DHCP is off unless an interface is named`);
    return null;
  }
  if (mode === 'off') {
    for (const [flag, v] of extras) if (v !== undefined) throw new UsageError(`${flag} makes no sense with --dhcp-mode off`);
    return null;
  }
  const name = f.dhcpInterface;
  const entries = interfaces[name];
  if (!entries) {
    const have = Object.keys(interfaces).sort().join(', ') || 'none';
    throw new UsageError(`--dhcp-interface: there is no network interface '${name}' here (interfaces: ${have})`);
  }
  const v4 = ipv4Of(entries);
  if (!v4) throw new UsageError(`--dhcp-interface: '${name}' has no IPv4 address; give it this server's address on the provisioning network first`);
  if (v4.internal) throw new UsageError(`--dhcp-interface: '${name}' is a loopback interface`);
  const serverIp = v4.address;
  const prefix = Number((v4.cidr ?? '').split('/')[1] ?? NaN);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > 30) {
    throw new UsageError(`--dhcp-interface: '${name}' has ${v4.cidr ?? serverIp}; DHCP needs a subnet of prefix length 1..30`);
  }
  const serverNum = ipToUint(serverIp) as number;
  const network = uintToIp((serverNum & prefixMask(prefix)) >>> 0);

  if (mode === 'proxy') {
    for (const [flag, v] of extras) {
      if (v !== undefined) throw new UsageError(`${flag}: --dhcp-mode proxy hands out no addresses (the rack's own DHCP server does); leave it out`);
    }
    return { mode, interface: name, serverIp, prefix, subnets: [], ports: [67, 4011] };
  }

  const ranges = f.dhcpRange ?? [];
  if (ranges.length === 0) {
    throw new UsageError(`--dhcp-range START-END is required with --dhcp-mode full (e.g. --dhcp-range ${uintToIp(serverNum + 99)}-${uintToIp(serverNum + 198)} inside ${network}/${prefix})`);
  }
  if (f.dhcpRouter !== undefined && !inNetwork(ipToUint(f.dhcpRouter) as number, serverNum, prefix)) {
    throw new UsageError(`--dhcp-router ${f.dhcpRouter} is not in ${name}'s subnet ${network}/${prefix}`);
  }
  const leaseSeconds = f.dhcpLeaseTime ?? DEFAULT_LEASE_SECONDS;
  const dns = f.dhcpDns ?? [];
  const subnets: SubnetConfig[] = [];
  let local: SubnetConfig | undefined;
  for (const r of ranges) {
    const text = `${r.start}-${r.end}${r.prefix !== undefined ? `/${r.prefix}` : ''}`;
    const startNum = ipToUint(r.start) as number;
    const isLocal = r.prefix === undefined ? true : r.prefix === prefix && inNetwork(startNum, serverNum, prefix);
    if (isLocal) {
      if (!inNetwork(startNum, serverNum, prefix) || !inNetwork(ipToUint(r.end) as number, serverNum, prefix)) {
        throw new UsageError(`--dhcp-range ${text} is not inside ${name}'s subnet ${network}/${prefix} (for a relayed subnet write START-END/PREFIX,ROUTER)`);
      }
      if (local) throw new UsageError(`--dhcp-range ${text}: ${name}'s subnet ${network}/${prefix} already has a range`);
      if (r.router !== undefined && f.dhcpRouter !== undefined && r.router !== f.dhcpRouter) {
        throw new UsageError(`--dhcp-range ${text} names router ${r.router} but --dhcp-router says ${f.dhcpRouter}`);
      }
      const router = r.router ?? f.dhcpRouter;
      local = { network, prefix, range: [r.start, r.end], leaseSeconds, ...(router !== undefined ? { router } : {}), ...(dns.length ? { dns } : {}) };
      continue;
    }
    if (r.router === undefined) throw new UsageError(`--dhcp-range ${text}: a relayed subnet needs its router (usually the relay): START-END/PREFIX,ROUTER`);
    const net = uintToIp((startNum & prefixMask(r.prefix as number)) >>> 0);
    subnets.push({ network: net, prefix: r.prefix as number, range: [r.start, r.end], router: r.router, leaseSeconds, ...(dns.length ? { dns } : {}) });
  }
  if (local) subnets.unshift(local);
  else if (f.dhcpRouter !== undefined) throw new UsageError(`--dhcp-router applies to ${name}'s own subnet, which has no --dhcp-range`);

  // The responder's own checks (range within its network, not the broadcast address, no overlap...).
  try {
    new DhcpResponder({
      mode: 'full',
      serverIp,
      subnets,
      bootConfig: { httpScriptUrl: 'http://x/', httpBootUrl: 'http://x/', files: { ...DEFAULT_BOOT_FILES } },
    });
  } catch (e) {
    if (e instanceof DhcpConfigError) throw new UsageError(`--dhcp-range: ${e.problems.join('; ')}`);
    throw e;
  }
  return { mode, interface: name, serverIp, prefix, subnets, ports: [67] };
}

/** An existing directory, or UsageError naming the flag. */
export function existingDirectory(flag: string, dir: string): string {
  if (!existsSync(dir)) throw new UsageError(`${flag}: no such directory '${dir}'`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${flag}: '${dir}' is not a directory`);
  return dir;
}
