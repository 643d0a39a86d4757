// TFTP wire codec: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and RFC 2347 (OACK and request options).
// Decoding never throws: it returns a result with a typed TftpPacketError, so one bad datagram can
// never escape into a socket handler. Encoders validate their own inputs and may throw (programming
// errors only; the server never feeds them untrusted values unchecked).

export const Opcode = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
} as const;
export type OpcodeName = keyof typeof Opcode;

/** RFC 1350 error codes, plus 8 from RFC 2347. */
export const TftpErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_NEGOTIATION: 8,
} as const;

/** RFC 2348 limits for the blksize option. */
export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE = 65464;
export const DEFAULT_BLKSIZE = 512;

export interface RequestPacket {
  op: 'RRQ' | 'WRQ';
  /** Decoded as UTF-8, exactly as sent (path checks happen in paths.ts). */
  filename: string;
  /** Lower-cased: 'octet', 'netascii', 'mail' or whatever the client sent. */
  mode: string;
  /** Option names lower-cased (RFC 2347: case-insensitive); values as sent. First occurrence wins. */
  options: Record<string, string>;
}
export interface DataPacket {
  op: 'DATA';
  block: number;
  data: Buffer;
}
export interface AckPacket {
  op: 'ACK';
  block: number;
}
export interface ErrorPacket {
  op: 'ERROR';
  code: number;
  message: string;
}
export interface OackPacket {
  op: 'OACK';
  options: Record<string, string>;
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

export type TftpPacketErrorKind =
  | 'EMPTY'
  | 'TRUNCATED'
  | 'BAD_OPCODE'
  | 'UNTERMINATED_STRING'
  | 'BAD_OPTIONS';

/** A datagram that is not a well-formed TFTP packet. Returned by decodePacket, never thrown by it. */
export class TftpPacketError extends Error {
  override readonly name = 'TftpPacketError';
  constructor(
    readonly kind: TftpPacketErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export type DecodeResult = { ok: true; packet: TftpPacket } | { ok: false; error: TftpPacketError };

const fail = (kind: TftpPacketErrorKind, message: string): DecodeResult => ({
  ok: false,
  error: new TftpPacketError(kind, message),
});

/** Splits `buf[start..]` into NUL-terminated strings; null if the last one is unterminated. */
function splitStrings(buf: Buffer, start: number): string[] | null {
  const out: string[] = [];
  let pos = start;
  while (pos < buf.length) {
    const nul = buf.indexOf(0, pos);
    if (nul < 0) return null;
    out.push(buf.toString('utf8', pos, nul));
    pos = nul + 1;
  }
  return out;
}

/** name/value pairs -> record with lower-cased names. Trailing empty strings (NUL padding) are ignored. */
function parseOptionPairs(strings: string[]): Record<string, string> | null {
  let n = strings.length;
  while (n > 0 && strings[n - 1] === '') n--;
  if (n % 2 !== 0) return null;
  const options: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < n; i += 2) {
    const name = (strings[i] as string).toLowerCase();
    const value = strings[i + 1] as string;
    if (name === '') return null;
    if (!(name in options)) options[name] = value;
  }
  return options;
}

/** Decodes one datagram. Never throws. */
export function decodePacket(buf: Buffer): DecodeResult {
  if (buf.length === 0) return fail('EMPTY', 'empty datagram');
  if (buf.length < 2) return fail('TRUNCATED', 'datagram shorter than an opcode');
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const strings = splitStrings(buf, 2);
      if (strings === null) return fail('UNTERMINATED_STRING', 'request string not NUL-terminated');
      if (strings.length < 2) return fail('TRUNCATED', 'request without file name and mode');
      const [filename, mode, ...rest] = strings as [string, string, ...string[]];
      const options = parseOptionPairs(rest);
      if (options === null) return fail('BAD_OPTIONS', 'request options are not name/value pairs');
      return {
        ok: true,
        packet: { op: opcode === Opcode.RRQ ? 'RRQ' : 'WRQ', filename, mode: mode.toLowerCase(), options },
      };
    }
    case Opcode.DATA:
      if (buf.length < 4) return fail('TRUNCATED', 'DATA shorter than 4 bytes');
      return { ok: true, packet: { op: 'DATA', block: buf.readUInt16BE(2), data: buf.subarray(4) } };
    case Opcode.ACK:
      // Exactly 4 bytes per RFC 1350; trailing bytes (padding from odd stacks) are tolerated and ignored.
      if (buf.length < 4) return fail('TRUNCATED', 'ACK shorter than 4 bytes');
      return { ok: true, packet: { op: 'ACK', block: buf.readUInt16BE(2) } };
    case Opcode.ERROR: {
      if (buf.length < 4) return fail('TRUNCATED', 'ERROR shorter than 4 bytes');
      // The message should be NUL-terminated; a missing terminator is tolerated (the peer is quitting anyway).
      const nul = buf.indexOf(0, 4);
      const message = buf.toString('utf8', 4, nul < 0 ? buf.length : nul);
      return { ok: true, packet: { op: 'ERROR', code: buf.readUInt16BE(2), message } };
    }
    case Opcode.OACK: {
      const strings = splitStrings(buf, 2);
      if (strings === null) return fail('UNTERMINATED_STRING', 'OACK string not NUL-terminated');
      const options = parseOptionPairs(strings);
      if (options === null) return fail('BAD_OPTIONS', 'OACK options are not name/value pairs');
      return { ok: true, packet: { op: 'OACK', options } };
    }
    default:
      return fail('BAD_OPCODE', `unknown opcode ${opcode}`);
  }
}

function checkBlock(block: number): void {
  if (!Number.isInteger(block) || block < 0 || block > 0xffff) throw new RangeError(`bad block number ${block}`);
}

function assertNoNul(s: string, what: string): void {
  if (s.includes('\0')) throw new RangeError(`${what} contains a NUL byte`);
}

function encodeStrings(opcode: number, strings: string[]): Buffer {
  const parts = strings.map((s) => Buffer.from(s, 'utf8'));
  const len = 2 + parts.reduce((n, p) => n + p.length + 1, 0);
  const out = Buffer.alloc(len);
  out.writeUInt16BE(opcode, 0);
  let pos = 2;
  for (const p of parts) {
    p.copy(out, pos);
    pos += p.length + 1; // the NUL is already there (alloc zero-fills)
  }
  return out;
}

function optionStrings(options: Record<string, string | number>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    const v = String(value);
    assertNoNul(name, 'option name');
    assertNoNul(v, 'option value');
    out.push(name, v);
  }
  return out;
}

export function encodeRequest(
  op: 'RRQ' | 'WRQ',
  filename: string,
  mode = 'octet',
  options: Record<string, string | number> = {},
): Buffer {
  assertNoNul(filename, 'file name');
  assertNoNul(mode, 'mode');
  return encodeStrings(Opcode[op], [filename, mode, ...optionStrings(options)]);
}

/** Header and payload in one buffer (one copy of the payload). */
export function encodeData(block: number, data: Buffer): Buffer {
  checkBlock(block);
  const out = Buffer.allocUnsafe(4 + data.length);
  out.writeUInt16BE(Opcode.DATA, 0);
  out.writeUInt16BE(block, 2);
  data.copy(out, 4);
  return out;
}

export function encodeAck(block: number): Buffer {
  checkBlock(block);
  const out = Buffer.alloc(4);
  out.writeUInt16BE(Opcode.ACK, 0);
  out.writeUInt16BE(block, 2);
  return out;
}

export function encodeError(code: number, message: string): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new RangeError(`bad error code ${code}`);
  const msg = Buffer.from(message.replace(/\0/g, ''), 'utf8');
  const out = Buffer.alloc(4 + msg.length + 1);
  out.writeUInt16BE(Opcode.ERROR, 0);
  out.writeUInt16BE(code, 2);
  msg.copy(out, 4);
  return out;
}

export function encodeOack(options: Record<string, string | number>): Buffer {
  return encodeStrings(Opcode.OACK, optionStrings(options));
}
