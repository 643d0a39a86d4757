// Strict parsers for option values. Each throws commander's InvalidArgumentError, which commander turns
// into a usage error naming the flag (`option '--mtu <N>' argument 'x' is invalid. ...`, exit 2).
import { InvalidArgumentError } from 'commander';
import type { CustomProperties, Ipv4Config, Ipv6Config } from '../domain/model.js';

/** A usage problem found after commander's parsing (conflicting or missing flags): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A whole number written in decimal digits only: no sign, no fraction, no exponent, no blanks. */
export function parseInteger(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a whole number.`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is too large.`);
  return n;
}

/** A VLAN id, or 'none' for untagged (commander turns a null parse result into '', hence the word). */
export function parseVlan(value: string): number | 'none' {
  if (value === 'none' || value === 'untagged') return 'none';
  return parseInteger(value);
}

/** 1,2,3 → [1, 2, 3]; '' → []. Each item a whole number. */
export function parseIntegerList(value: string): number[] {
  return parseList(value).map(parseInteger);
}

/** a,b,c → [a, b, c]; '' → [] (to clear a list). Empty items are refused. */
export function parseList(value: string): string[] {
  if (value.trim() === '') return [];
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new InvalidArgumentError(`'${value}' has an empty item; separate items with single commas.`);
  return items;
}

/** Repeatable option: collects values into an array (the option's default must be undefined). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Repeatable `--set key=value`: a key (letters, digits, _ . -, starting with a letter or _), '=', any value. */
export function parseKeyValue(value: string, previous: CustomProperties | undefined): CustomProperties {
  const eq = value.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`'${value}' is not key=value.`);
  const key = value.slice(0, eq);
  if (!KEY_RE.test(key)) {
    throw new InvalidArgumentError(`key '${key}' must start with a letter or '_' and hold up to 64 letters, digits, '_', '.' or '-'.`);
  }
  const prev = previous ?? {};
  if (Object.hasOwn(prev, key)) throw new InvalidArgumentError(`key '${key}' is given twice.`);
  return { ...prev, [key]: value.slice(eq + 1) };
}

/** Repeatable `--unset key`. */
export function parseKey(value: string, previous: string[] | undefined): string[] {
  if (!KEY_RE.test(value)) throw new InvalidArgumentError(`'${value}' is not a property key.`);
  return [...(previous ?? []), value];
}

function addressWithPrefix(value: string): { address: string; prefix: number } {
  const slash = value.lastIndexOf('/');
  if (slash <= 0) throw new InvalidArgumentError(`'${value}' is not ADDRESS/PREFIX.`);
  const prefixText = value.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) throw new InvalidArgumentError(`prefix '${prefixText}' is not a whole number.`);
  return { address: value.slice(0, slash), prefix: Number(prefixText) };
}

/** dhcp | none | ADDRESS/PREFIX (the address itself is checked by the engine, which names the host). */
export function parseIpv4(value: string): Ipv4Config {
  if (value === 'dhcp') return { method: 'dhcp' };
  if (value === 'none') return { method: 'none' };
  return { method: 'static', ...addressWithPrefix(value) };
}

/** none | ADDRESS/PREFIX. */
export function parseIpv6(value: string): Ipv6Config {
  if (value === 'none') return { method: 'none' };
  return { method: 'static', ...addressWithPrefix(value) };
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** HOST:PORT or [IPV6]:PORT, port 0–65535 (0: any free port). */
export function parseListen(value: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):([^:]*)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`'${value}' is not HOST:PORT (use [ADDR]:PORT for IPv6).`);
  const host = (m[1] ?? m[2]) as string;
  const portText = m[3] as string;
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) throw new InvalidArgumentError(`port '${portText}' is not a whole number from 0 to 65535.`);
  return { host, port: Number(portText) };
}

/** An absolute http(s) URL, returned without a trailing slash. */
export function parseUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError(`'${value}' is not a URL.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`'${value}' is not an http:// or https:// URL.`);
  return u.toString().replace(/\/+$/, '');
}
