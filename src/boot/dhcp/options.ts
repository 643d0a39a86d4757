// Typed DHCPv4 options: accessors that read a decoded packet (never throw: a malformed value reads
// as absent) and builders that produce [code, value] entries for replies.
// RFC 2132 (base options), RFC 3004 (user class), RFC 4578 (PXE: 93, 94, 97), RFC 3046 (82), iPXE (175).
import { ipToUint, prefixMask, readIp, uintToIp } from './ip.js';
import { DhcpEncodeError } from './packet.js';
import type { DhcpPacket } from './packet.js';

export const Opt = {
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77,
  RELAY_AGENT_INFO: 82,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE_ENCAP: 175,
} as const;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

const MESSAGE_TYPE_NAMES: Record<number, string> = {
  1: 'DHCPDISCOVER',
  2: 'DHCPOFFER',
  3: 'DHCPREQUEST',
  4: 'DHCPDECLINE',
  5: 'DHCPACK',
  6: 'DHCPNAK',
  7: 'DHCPRELEASE',
  8: 'DHCPINFORM',
};

export function messageTypeName(code: number): string {
  return MESSAGE_TYPE_NAMES[code] ?? `type-${code}`;
}

/** iPXE encapsulated sub-option 176 (no-pxedhcp) = 1: do not wait for a ProxyDHCP offer. */
export const IPXE_NO_PXEDHCP = Buffer.from([0xb0, 0x01, 0x01]);

export type OptionEntry = readonly [code: number, value: Buffer];

// ---------------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------------

function ipOf(value: Buffer | undefined): string | null {
  return value && value.length === 4 ? readIp(value, 0) : null;
}

function u32Of(value: Buffer | undefined): number | null {
  return value && value.length === 4 ? value.readUInt32BE(0) : null;
}

export function getMessageType(p: DhcpPacket): number | null {
  const v = p.options.get(Opt.MESSAGE_TYPE);
  return v && v.length === 1 ? (v[0] as number) : null;
}

export function getRequestedIp(p: DhcpPacket): string | null {
  return ipOf(p.options.get(Opt.REQUESTED_IP));
}

export function getServerId(p: DhcpPacket): string | null {
  return ipOf(p.options.get(Opt.SERVER_ID));
}

export function getLeaseTime(p: DhcpPacket): number | null {
  return u32Of(p.options.get(Opt.LEASE_TIME));
}

export function getParameterRequestList(p: DhcpPacket): number[] {
  const v = p.options.get(Opt.PARAMETER_REQUEST_LIST);
  return v ? [...v] : [];
}

/** Option 57, or null when absent or malformed. Values below 576 are returned as sent; callers clamp. */
export function getMaxMessageSize(p: DhcpPacket): number | null {
  const v = p.options.get(Opt.MAX_MESSAGE_SIZE);
  return v && v.length === 2 ? v.readUInt16BE(0) : null;
}

function textOf(value: Buffer | undefined): string | null {
  if (!value || value.length === 0) return null;
  // Some clients NUL-terminate text options; drop trailing NULs.
  let end = value.length;
  while (end > 0 && value[end - 1] === 0) end--;
  return value.toString('utf8', 0, end);
}

export function getVendorClass(p: DhcpPacket): string | null {
  return textOf(p.options.get(Opt.VENDOR_CLASS));
}

export function getHostname(p: DhcpPacket): string | null {
  return textOf(p.options.get(Opt.HOSTNAME));
}

export function getClientId(p: DhcpPacket): Buffer | null {
  const v = p.options.get(Opt.CLIENT_ID);
  return v && v.length > 0 ? v : null;
}

/**
 * Option 77. RFC 3004 frames each class as (length, bytes); iPXE and many others send the raw
 * string without framing. The value is read as framed only when the framing covers it exactly.
 */
export function getUserClasses(p: DhcpPacket): string[] {
  const v = p.options.get(Opt.USER_CLASS);
  if (!v || v.length === 0) return [];
  const framed: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i] as number;
    if (len === 0 || i + 1 + len > v.length) break;
    framed.push(v.toString('utf8', i + 1, i + 1 + len));
    i += 1 + len;
  }
  if (i === v.length && framed.length > 0) return framed;
  return [textOf(v) ?? ''];
}

export function hasUserClass(p: DhcpPacket, name: string): boolean {
  return getUserClasses(p).includes(name);
}

/** Option 93 (RFC 4578 §2.1): a list of 16-bit architecture types. Empty when absent or odd-length. */
export function getClientArch(p: DhcpPacket): number[] {
  const v = p.options.get(Opt.CLIENT_ARCH);
  if (!v || v.length < 2 || v.length % 2 !== 0) return [];
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push(v.readUInt16BE(i));
  return out;
}

export interface NetworkInterfaceId {
  /** 1 = UNDI */
  type: number;
  major: number;
  minor: number;
}

/** Option 94 (RFC 4578 §2.2): type 1 (UNDI), major, minor. */
export function getClientNdi(p: DhcpPacket): NetworkInterfaceId | null {
  const v = p.options.get(Opt.CLIENT_NDI);
  if (!v || v.length !== 3) return null;
  return { type: v[0] as number, major: v[1] as number, minor: v[2] as number };
}

/** 16 bytes in wire order as 8-4-4-4-12 lower-case hex. */
export function formatUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Option 97 (RFC 4578 §2.3): type 0 then 16 bytes. Returned in wire byte order. Note that EDK2 copies
 * its EFI_GUID (first three fields little-endian) into the option, so the string may differ from what
 * `dmidecode` prints for the same machine in its first three groups.
 */
export function getClientUuid(p: DhcpPacket): string | null {
  const v = p.options.get(Opt.CLIENT_UUID);
  if (!v || v.length !== 17 || v[0] !== 0) return null;
  return formatUuid(v.subarray(1));
}

/** Option 82, raw: it is echoed back unchanged, never interpreted. */
export function getRelayAgentInfo(p: DhcpPacket): Buffer | null {
  return p.options.get(Opt.RELAY_AGENT_INFO) ?? null;
}

/** Option 175 (iPXE encapsulated options), raw. */
export function getIpxeEncapsulated(p: DhcpPacket): Buffer | null {
  return p.options.get(Opt.IPXE_ENCAP) ?? null;
}

/** Splits an encapsulated option space (43, 82, 175) into sub-options. Stops quietly at a bad length. */
export function parseSubOptions(value: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < value.length) {
    const code = value[i] as number;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) break;
    if (i + 1 >= value.length) break;
    const len = value[i + 1] as number;
    if (i + 2 + len > value.length) break;
    out.set(code, value.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

function ipBytes(ip: string, what: string): Buffer {
  const n = ipToUint(ip);
  if (n === null) throw new DhcpEncodeError(`${what}: '${ip}' is not an IPv4 address`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function ipListBytes(ips: readonly string[], what: string): Buffer {
  if (ips.length === 0) throw new DhcpEncodeError(`${what}: needs at least one address`);
  return Buffer.concat(ips.map((ip) => ipBytes(ip, what)));
}

function u32Bytes(n: number, what: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new DhcpEncodeError(`${what}: ${n} is not a 32-bit unsigned integer`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function textBytes(s: string, what: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length === 0) throw new DhcpEncodeError(`${what}: must not be empty`);
  return b;
}

export function messageTypeOption(type: MessageTypeCode): OptionEntry {
  return [Opt.MESSAGE_TYPE, Buffer.from([type])];
}

/** Option 1 from a prefix length (0..32). */
export function subnetMaskOption(prefix: number): OptionEntry {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new DhcpEncodeError(`subnet mask: prefix ${prefix} is not 0..32`);
  return [Opt.SUBNET_MASK, ipBytes(uintToIp(prefixMask(prefix)), 'subnet mask')];
}

export function routerOption(routers: string | readonly string[]): OptionEntry {
  return [Opt.ROUTER, ipListBytes(typeof routers === 'string' ? [routers] : routers, 'router')];
}

export function dnsOption(servers: readonly string[]): OptionEntry {
  return [Opt.DNS, ipListBytes(servers, 'dns')];
}

export function hostnameOption(name: string): OptionEntry {
  return [Opt.HOSTNAME, textBytes(name, 'hostname')];
}

export function domainNameOption(domain: string): OptionEntry {
  return [Opt.DOMAIN_NAME, textBytes(domain, 'domain name')];
}

export function broadcastOption(ip: string): OptionEntry {
  return [Opt.BROADCAST, ipBytes(ip, 'broadcast')];
}

export function leaseTimeOption(seconds: number): OptionEntry {
  return [Opt.LEASE_TIME, u32Bytes(seconds, 'lease time')];
}

export function renewalTimeOption(seconds: number): OptionEntry {
  return [Opt.RENEWAL_T1, u32Bytes(seconds, 'T1')];
}

export function rebindingTimeOption(seconds: number): OptionEntry {
  return [Opt.REBINDING_T2, u32Bytes(seconds, 'T2')];
}

export function serverIdOption(ip: string): OptionEntry {
  return [Opt.SERVER_ID, ipBytes(ip, 'server id')];
}

export function messageOption(text: string): OptionEntry {
  return [Opt.MESSAGE, textBytes(text, 'message')];
}

/** Option 60 in a reply: 'PXEClient' (proxyDHCP / boot server) or 'HTTPClient' (UEFI HTTP boot requires it). */
export function vendorClassOption(vendorClass: 'PXEClient' | 'HTTPClient'): OptionEntry {
  return [Opt.VENDOR_CLASS, Buffer.from(vendorClass, 'ascii')];
}

/** Option 66: TFTP server name (an address in dotted form works with every PXE client). */
export function tftpServerOption(server: string): OptionEntry {
  return [Opt.TFTP_SERVER, textBytes(server, 'tftp server')];
}

/** Option 67: boot file name or, for iPXE and UEFI HTTP boot, a URL. */
export function bootFileOption(file: string): OptionEntry {
  return [Opt.BOOTFILE, textBytes(file, 'boot file')];
}

/** Option 175 carrying sub-option 176 = 1 (iPXE no-pxedhcp): bytes b0 01 01. */
export function ipxeNoPxeDhcpOption(): OptionEntry {
  return [Opt.IPXE_ENCAP, Buffer.from(IPXE_NO_PXEDHCP)];
}
