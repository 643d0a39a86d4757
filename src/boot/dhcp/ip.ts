// IPv4 helpers for the DHCP layer: dotted strings <-> unsigned 32-bit numbers, masks, containment.
// Kept local (not src/domain/net.ts) so the codec's hot path stays allocation-light and self-contained.

export const ZERO_IP = '0.0.0.0';
export const BROADCAST_IP = '255.255.255.255';

const QUAD_RE = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Strict dotted quad (no leading zeros, no whitespace) to an unsigned 32-bit number, or null. */
export function ipToUint(text: string): number | null {
  const m = QUAD_RE.exec(text);
  if (!m) return null;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function uintToIp(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

export function isIpv4(text: string): boolean {
  return ipToUint(text) !== null;
}

/** Network mask for a prefix length 0..32, as an unsigned number. */
export function prefixMask(prefix: number): number {
  if (prefix <= 0) return 0;
  if (prefix >= 32) return 0xffffffff;
  return (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when `ip` lies in network/prefix. Both as unsigned numbers. */
export function inNetwork(ip: number, network: number, prefix: number): boolean {
  const mask = prefixMask(prefix);
  return ((ip & mask) >>> 0) === ((network & mask) >>> 0);
}

export function readIp(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}
