// Small, dependency-free parsers for the things operators type: MACs, interface names, IP addresses.
import { MAX_IFNAME } from './model.js';

const MAC_RE = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** Lower-case colon form, or null when the text is not a 48-bit MAC. Accepts ':', '-' or no separator. */
export function normalizeMac(text: string): string | null {
  const m = MAC_RE.exec(text.trim());
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

export type MacProblem = 'malformed' | 'multicast' | 'zero';

/** Why a MAC cannot belong to a NIC or bond: unicast, non-zero, well-formed only. */
export function macProblem(text: string): MacProblem | null {
  const mac = normalizeMac(text);
  if (!mac) return 'malformed';
  if (mac === '00:00:00:00:00:00') return 'zero';
  // The I/G bit (least significant bit of the first octet) marks group addresses, broadcast included.
  if (parseInt(mac.slice(0, 2), 16) & 1) return 'multicast';
  return null;
}

/** Kernel interface-name rules (dev_valid_name) plus Tabula's: start with a letter, no dots (dots mark VLANs). */
export function ifnameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_IFNAME) return `is ${name.length} characters long, the kernel allows at most ${MAX_IFNAME}`;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) return 'must start with a letter and hold only letters, digits, _ and -';
  return null;
}

/** Names of reported NICs: any kernel-valid name (may contain dots, e.g. after a rename by udev). */
export function kernelNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_IFNAME) return `is ${name.length} characters long, the kernel allows at most ${MAX_IFNAME}`;
  if (name === '.' || name === '..' || /[\s/:]/.test(name)) return 'is not a valid kernel interface name';
  return null;
}

export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join('.');
}

/** Expands an IPv6 address into 8 16-bit groups, or null. Embedded IPv4 tails accepted. */
export function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return null;
  let head = text;
  if (text.includes('.')) {
    // Rewrite an embedded IPv4 tail (::ffff:10.0.0.1) as two hex groups, then parse as usual.
    const lastColon = text.lastIndexOf(':');
    const v4v = lastColon < 0 ? null : parseIpv4(text.slice(lastColon + 1));
    if (v4v === null) return null;
    head = `${text.slice(0, lastColon + 1)}${Math.floor(v4v / 65536).toString(16)}:${(v4v % 65536).toString(16)}`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0] ?? '');
  const right = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!left || !right) return null;
  const total = left.length + right.length;
  if (halves.length === 2) {
    if (total > 7) return null;
    return [...left, ...new Array<number>(8 - total).fill(0), ...right];
  }
  if (total !== 8) return null;
  return left;
}

/** Canonical RFC 5952 text of an IPv6 address (lower-case, longest zero run compressed). */
export function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function canonicalIpv6(text: string): string | null {
  const g = parseIpv6(text);
  return g ? formatIpv6(g) : null;
}

/** True when both IPv4 addresses fall in the same prefix. */
export function sameIpv4Subnet(a: number, b: number, prefix: number): boolean {
  if (prefix === 0) return true;
  const size = 2 ** (32 - prefix);
  return Math.floor(a / size) === Math.floor(b / size);
}
