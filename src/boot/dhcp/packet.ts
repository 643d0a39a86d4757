// DHCPv4 wire codec (RFC 2131 §2 message format, RFC 2132 options, RFC 3396 long options).
//
//   0      op  htype hlen hops          4  xid                   8  secs  flags
//  12  ciaddr        16  yiaddr         20  siaddr               24  giaddr
//  28  chaddr (16)   44  sname (64)    108  file (128)          236  magic cookie 99.130.83.99
// 240  options: code, length, value ... END(255); PAD(0) has no length byte.
//
// Decoding is strict where a wrong byte changes meaning (op, hlen, cookie, option lengths, option 53)
// and tolerant where real clients are sloppy (missing END, trailing garbage after END, PAD anywhere).
import { ipToUint, readIp } from './ip.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const MAGIC_COOKIE = 0x63825363;
/** Fixed BOOTP header plus the magic cookie. */
export const DHCP_HEADER_LENGTH = 240;
/** RFC 951/1542: BOOTP messages are at least 300 bytes; some relays and old ROMs drop shorter ones. */
export const BOOTP_MIN_LENGTH = 300;
/** RFC 2131 §2: every client accepts 576-byte messages; larger needs option 57. */
export const DHCP_MIN_MAX_MESSAGE = 576;

const OFF_SNAME = 44;
const OFF_FILE = 108;
const OFF_COOKIE = 236;
const SNAME_LEN = 64;
const FILE_LEN = 128;

const OPT_PAD = 0;
const OPT_OVERLOAD = 52;
const OPT_MESSAGE_TYPE = 53;
const OPT_SERVER_ID = 54;
const OPT_RELAY_AGENT = 82;
const OPT_END = 255;

/** One DHCPv4 message. Addresses are dotted strings; `chaddr` is the first `hlen` bytes, lower-case, colon-separated. */
export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: string;
  /** Server host name field; '' when empty or when it carries overloaded options. */
  sname: string;
  /** Boot file field; '' when empty or when it carries overloaded options. */
  file: string;
  /** Option code -> value. Repeated options are concatenated (RFC 3396); PAD, END and 52 are not kept. */
  options: Map<number, Buffer>;
}

export type DhcpDecodeReason =
  | 'too-short'
  | 'bad-op'
  | 'bad-hlen'
  | 'bad-cookie'
  | 'option-overrun'
  | 'no-message-type'
  | 'bad-message-type';

export class DhcpDecodeError extends Error {
  readonly reason: DhcpDecodeReason;
  constructor(reason: DhcpDecodeReason, message: string) {
    super(message);
    this.name = 'DhcpDecodeError';
    this.reason = reason;
  }
}

/** A packet that cannot be put on the wire (a programming error in the caller, not a network event). */
export class DhcpEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DhcpEncodeError';
  }
}

export const BROADCAST_FLAG = 0x8000;

/**
 * Walks one option area [start, end). Stops at END; a missing END is tolerated when the area simply
 * runs out; a length byte that points past the area is an error. Chunks of repeated options are kept
 * in order so that RFC 3396 concatenation can join them afterwards.
 */
function scanOptions(buf: Buffer, start: number, end: number, chunks: Map<number, Buffer[]>, where: string): void {
  let i = start;
  while (i < end) {
    const code = buf[i] as number;
    if (code === OPT_PAD) {
      i += 1;
      continue;
    }
    if (code === OPT_END) return;
    if (i + 1 >= end) {
      throw new DhcpDecodeError('option-overrun', `option ${code} in ${where} at byte ${i} has no length byte`);
    }
    const len = buf[i + 1] as number;
    const valueEnd = i + 2 + len;
    if (valueEnd > end) {
      throw new DhcpDecodeError('option-overrun', `option ${code} in ${where} at byte ${i} claims ${len} bytes, only ${end - i - 2} remain`);
    }
    const list = chunks.get(code);
    const value = buf.subarray(i + 2, valueEnd);
    if (list) list.push(value);
    else chunks.set(code, [value]);
    i = valueEnd;
  }
}

function macString(buf: Buffer, offset: number, len: number): string {
  let out = '';
  for (let k = 0; k < len; k++) {
    const b = buf[offset + k] as number;
    if (k > 0) out += ':';
    out += (b < 16 ? '0' : '') + b.toString(16);
  }
  return out;
}

function cString(buf: Buffer, offset: number, len: number): string {
  let end = offset;
  const limit = offset + len;
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString('utf8', offset, end);
}

/** Decodes one UDP payload. Throws DhcpDecodeError (and nothing else) for malformed input. */
export function decodePacket(buf: Buffer): DhcpPacket {
  if (buf.length < DHCP_HEADER_LENGTH) {
    throw new DhcpDecodeError('too-short', `packet is ${buf.length} bytes, a DHCP message has at least ${DHCP_HEADER_LENGTH}`);
  }
  const op = buf[0] as number;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw new DhcpDecodeError('bad-op', `op is ${op}, expected 1 or 2`);
  const hlen = buf[2] as number;
  if (hlen > 16) throw new DhcpDecodeError('bad-hlen', `hlen is ${hlen}, chaddr holds at most 16 bytes`);
  if (buf.readUInt32BE(OFF_COOKIE) !== MAGIC_COOKIE) {
    throw new DhcpDecodeError('bad-cookie', `magic cookie is 0x${buf.readUInt32BE(OFF_COOKIE).toString(16)}, expected 0x63825363`);
  }

  const chunks = new Map<number, Buffer[]>();
  scanOptions(buf, DHCP_HEADER_LENGTH, buf.length, chunks, 'options');

  // Option 52 (RFC 2132 §9.3) is only honoured in the options field: 1 = file, 2 = sname, 3 = both.
  let overload = 0;
  const ov = chunks.get(OPT_OVERLOAD);
  if (ov) {
    const joined = ov.length === 1 ? (ov[0] as Buffer) : Buffer.concat(ov);
    if (joined.length === 1 && (joined[0] as number) >= 1 && (joined[0] as number) <= 3) overload = joined[0] as number;
    chunks.delete(OPT_OVERLOAD);
  }
  // RFC 3396 §5: concatenation order is options field, then file, then sname.
  if (overload & 1) {
    scanOptions(buf, OFF_FILE, OFF_FILE + FILE_LEN, chunks, 'file');
    chunks.delete(OPT_OVERLOAD);
  }
  if (overload & 2) {
    scanOptions(buf, OFF_SNAME, OFF_SNAME + SNAME_LEN, chunks, 'sname');
    chunks.delete(OPT_OVERLOAD);
  }

  const options = new Map<number, Buffer>();
  for (const [code, parts] of chunks) {
    // Copies: the caller may reuse the receive buffer; options must not alias it.
    options.set(code, parts.length === 1 ? Buffer.from(parts[0] as Buffer) : Buffer.concat(parts));
  }
  const mt = options.get(OPT_MESSAGE_TYPE);
  if (!mt) throw new DhcpDecodeError('no-message-type', 'option 53 (DHCP message type) is missing');
  if (mt.length !== 1) throw new DhcpDecodeError('bad-message-type', `option 53 has length ${mt.length}, expected 1`);

  return {
    op,
    htype: buf[1] as number,
    hlen,
    hops: buf[3] as number,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: readIp(buf, 12),
    yiaddr: readIp(buf, 16),
    siaddr: readIp(buf, 20),
    giaddr: readIp(buf, 24),
    chaddr: macString(buf, 28, hlen),
    sname: overload & 2 ? '' : cString(buf, OFF_SNAME, SNAME_LEN),
    file: overload & 1 ? '' : cString(buf, OFF_FILE, FILE_LEN),
    options,
  };
}

function checkInt(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new DhcpEncodeError(`${name} must be an integer 0..${max}, got ${value}`);
}

function writeIpField(buf: Buffer, offset: number, name: string, ip: string): void {
  const n = ipToUint(ip);
  if (n === null) throw new DhcpEncodeError(`${name} '${ip}' is not an IPv4 address`);
  buf.writeUInt32BE(n, offset);
}

function chaddrBytes(chaddr: string): Buffer {
  if (chaddr === '') return Buffer.alloc(0);
  const parts = chaddr.split(/[:-]/);
  if (parts.length > 16 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new DhcpEncodeError(`chaddr '${chaddr}' is not up to 16 colon-separated hex bytes`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Options in wire order: 53 first, 54 second (old PXE ROMs expect this), 82 last (RFC 3046 §2.2), the rest as inserted. */
function orderedOptions(options: Map<number, Buffer>): Array<[number, Buffer]> {
  const head: Array<[number, Buffer]> = [];
  const body: Array<[number, Buffer]> = [];
  let tail: [number, Buffer] | undefined;
  const mt = options.get(OPT_MESSAGE_TYPE);
  if (mt) head.push([OPT_MESSAGE_TYPE, mt]);
  const sid = options.get(OPT_SERVER_ID);
  if (sid) head.push([OPT_SERVER_ID, sid]);
  for (const [code, value] of options) {
    if (code === OPT_MESSAGE_TYPE || code === OPT_SERVER_ID || code === OPT_PAD || code === OPT_END || code === OPT_OVERLOAD) continue;
    if (!Number.isInteger(code) || code < 1 || code > 254) throw new DhcpEncodeError(`option code ${code} is not 1..254`);
    if (code === OPT_RELAY_AGENT) tail = [code, value];
    else body.push([code, value]);
  }
  return tail ? [...head, ...body, tail] : [...head, ...body];
}

/** Bytes the options of `p` take on the wire, END included. */
export function encodedOptionsLength(options: Map<number, Buffer>): number {
  let total = 1;
  for (const [code, value] of options) {
    if (code === OPT_PAD || code === OPT_END || code === OPT_OVERLOAD) continue;
    const pieces = value.length === 0 ? 1 : Math.ceil(value.length / 255);
    total += pieces * 2 + value.length;
  }
  return total;
}

/**
 * Encodes a packet: header, cookie, options (values over 255 bytes split into consecutive instances,
 * RFC 3396), END, then zero padding up to the 300-byte BOOTP minimum. Never uses option overload.
 */
export function encodePacket(p: DhcpPacket): Buffer {
  if (p.op !== BOOTREQUEST && p.op !== BOOTREPLY) throw new DhcpEncodeError(`op must be 1 or 2, got ${p.op}`);
  checkInt('htype', p.htype, 255);
  checkInt('hlen', p.hlen, 16);
  checkInt('hops', p.hops, 255);
  checkInt('xid', p.xid, 0xffffffff);
  checkInt('secs', p.secs, 0xffff);
  checkInt('flags', p.flags, 0xffff);
  const ch = chaddrBytes(p.chaddr);
  const sname = Buffer.from(p.sname, 'utf8');
  const file = Buffer.from(p.file, 'utf8');
  if (sname.length > SNAME_LEN - 1) throw new DhcpEncodeError(`sname is ${sname.length} bytes, the field holds ${SNAME_LEN - 1} plus NUL`);
  if (file.length > FILE_LEN - 1) throw new DhcpEncodeError(`file is ${file.length} bytes, the field holds ${FILE_LEN - 1} plus NUL; use option 67`);

  const ordered = orderedOptions(p.options);
  const size = Math.max(BOOTP_MIN_LENGTH, DHCP_HEADER_LENGTH + encodedOptionsLength(p.options));
  const buf = Buffer.alloc(size); // zero-filled: the padding after END is PAD bytes
  buf[0] = p.op;
  buf[1] = p.htype;
  buf[2] = p.hlen;
  buf[3] = p.hops;
  buf.writeUInt32BE(p.xid, 4);
  buf.writeUInt16BE(p.secs, 8);
  buf.writeUInt16BE(p.flags, 10);
  writeIpField(buf, 12, 'ciaddr', p.ciaddr);
  writeIpField(buf, 16, 'yiaddr', p.yiaddr);
  writeIpField(buf, 20, 'siaddr', p.siaddr);
  writeIpField(buf, 24, 'giaddr', p.giaddr);
  ch.copy(buf, 28);
  sname.copy(buf, OFF_SNAME);
  file.copy(buf, OFF_FILE);
  buf.writeUInt32BE(MAGIC_COOKIE, OFF_COOKIE);

  let i = DHCP_HEADER_LENGTH;
  for (const [code, value] of ordered) {
    if (value.length === 0) {
      buf[i++] = code;
      buf[i++] = 0;
      continue;
    }
    for (let off = 0; off < value.length; off += 255) {
      const piece = Math.min(255, value.length - off);
      buf[i++] = code;
      buf[i++] = piece;
      value.copy(buf, i, off, off + piece);
      i += piece;
    }
  }
  buf[i] = OPT_END;
  return buf;
}
