import { describe, expect, it } from 'vitest';
import {
  TftpPacketError,
  decodePacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  type TftpPacket,
} from '../../../src/boot/tftp/packet.js';
import { isInsideRoot, normalizeRequestName } from '../../../src/boot/tftp/paths.js';
import { negotiateOptions } from '../../../src/boot/tftp/server.js';
import { garbageDatagrams } from './client.js';

const ok = (buf: Buffer): TftpPacket => {
  const r = decodePacket(buf);
  if (!r.ok) throw new Error(`expected a packet, got ${r.error.kind}`);
  return r.packet;
};
const bad = (buf: Buffer): TftpPacketError => {
  const r = decodePacket(buf);
  if (r.ok) throw new Error(`expected a decode error, got ${r.packet.op}`);
  return r.error;
};
const raw = (...parts: (number[] | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('TFTP packet codec', () => {
  it('round-trips every packet type', () => {
    expect(ok(encodeRequest('RRQ', 'pxelinux.0', 'octet', { blksize: 1468, tsize: 0 }))).toEqual({
      op: 'RRQ',
      filename: 'pxelinux.0',
      mode: 'octet',
      options: { blksize: '1468', tsize: '0' },
    });
    expect(ok(encodeRequest('WRQ', 'x', 'netascii'))).toMatchObject({ op: 'WRQ', filename: 'x', mode: 'netascii' });
    const d = ok(encodeData(65535, Buffer.from('abc')));
    expect(d).toMatchObject({ op: 'DATA', block: 65535 });
    expect(d.op === 'DATA' && d.data.toString()).toBe('abc');
    expect(ok(encodeData(0, Buffer.alloc(0)))).toMatchObject({ op: 'DATA', block: 0 });
    expect(ok(encodeAck(7))).toEqual({ op: 'ACK', block: 7 });
    expect(ok(encodeError(1, 'File not found'))).toEqual({ op: 'ERROR', code: 1, message: 'File not found' });
    expect(ok(encodeOack({ blksize: '1468', windowsize: 4 }))).toEqual({
      op: 'OACK',
      options: { blksize: '1468', windowsize: '4' },
    });
  });

  it('accepts mode and option names in any case, and NUL padding after the options', () => {
    const p = ok(raw([0, 1], 'File.BIN', [0], 'OcTeT', [0], 'BLKSIZE', [0], '1024', [0], 'TSize', [0], '0', [0, 0, 0]));
    expect(p).toEqual({ op: 'RRQ', filename: 'File.BIN', mode: 'octet', options: { blksize: '1024', tsize: '0' } });
  });

  it('keeps the first of duplicated options and survives __proto__ as a name', () => {
    const p = ok(raw([0, 1], 'f', [0], 'octet', [0], 'blksize', [0], '8', [0], 'BLKSIZE', [0], '9', [0], '__proto__', [0], 'x', [0]));
    expect(p.op === 'RRQ' && p.options.blksize).toBe('8');
    expect(p.op === 'RRQ' && Object.getPrototypeOf(p.options)).toBe(null);
  });

  it('tolerates an ACK with trailing bytes and an ERROR without its terminating NUL', () => {
    expect(ok(raw([0, 4, 0, 9, 0, 0]))).toEqual({ op: 'ACK', block: 9 });
    expect(ok(raw([0, 5, 0, 2], 'denied'))).toEqual({ op: 'ERROR', code: 2, message: 'denied' });
  });

  it('rejects malformed datagrams with a typed error instead of throwing', () => {
    expect(bad(Buffer.alloc(0)).kind).toBe('EMPTY');
    expect(bad(raw([0])).kind).toBe('TRUNCATED');
    expect(bad(raw([0, 9])).kind).toBe('BAD_OPCODE');
    expect(bad(raw([0, 0])).kind).toBe('BAD_OPCODE');
    expect(bad(raw([0, 1], 'file')).kind).toBe('UNTERMINATED_STRING');
    expect(bad(raw([0, 1], 'file', [0])).kind).toBe('TRUNCATED');
    expect(bad(raw([0, 1], 'f', [0], 'octet', [0], 'blksize', [0])).kind).toBe('BAD_OPTIONS');
    expect(bad(raw([0, 1], 'f', [0], 'octet', [0], 'blksize', [0], '1024')).kind).toBe('UNTERMINATED_STRING');
    expect(bad(raw([0, 3, 0])).kind).toBe('TRUNCATED');
    expect(bad(raw([0, 4, 1])).kind).toBe('TRUNCATED');
    expect(bad(raw([0, 5, 0])).kind).toBe('TRUNCATED');
    expect(bad(raw([0, 6], 'blksize')).kind).toBe('UNTERMINATED_STRING');
    expect(bad(raw([0, 1])) instanceof TftpPacketError).toBe(true);
  });

  it('never throws on 20,000 garbage datagrams (seeded)', () => {
    let decoded = 0;
    for (const d of garbageDatagrams(1234, 20_000)) if (decodePacket(d).ok) decoded++;
    expect(decoded).toBeGreaterThan(0); // some garbage happens to be well formed; that is fine
  });

  it('refuses to encode NULs inside strings', () => {
    expect(() => encodeRequest('RRQ', 'a\0b')).toThrow(RangeError);
    expect(() => encodeData(65536, Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe('TFTP request names', () => {
  it('makes names root-relative and normalizes separators', () => {
    expect(normalizeRequestName('/pxelinux.0')).toEqual({ ok: true, name: 'pxelinux.0', segments: ['pxelinux.0'] });
    expect(normalizeRequestName('boot\\x64\\wdsnbp.com')).toMatchObject({ ok: true, name: 'boot/x64/wdsnbp.com' });
    expect(normalizeRequestName('./a//b/./c')).toMatchObject({ ok: true, name: 'a/b/c' });
    expect(normalizeRequestName('/etc/passwd')).toMatchObject({ ok: true, name: 'etc/passwd' });
    expect(normalizeRequestName('...')).toMatchObject({ ok: true, name: '...' });
  });

  it.each(['../etc/passwd', '/../x', 'a/../../x', 'a/../b', '..', '..\\..\\etc\\passwd', 'a\\..\\..\\x', '/..'])(
    'refuses %j as an access violation',
    (name) => {
      expect(normalizeRequestName(name)).toMatchObject({ ok: false, code: 2 });
    },
  );

  it('refuses NUL and control characters, and over-long names', () => {
    expect(normalizeRequestName('a\0b')).toMatchObject({ ok: false, code: 2 });
    expect(normalizeRequestName('a\nb')).toMatchObject({ ok: false, code: 2 });
    expect(normalizeRequestName('x'.repeat(2000))).toMatchObject({ ok: false, code: 2 });
  });

  it('treats an empty name as not found', () => {
    expect(normalizeRequestName('')).toMatchObject({ ok: false, code: 1 });
    expect(normalizeRequestName('/')).toMatchObject({ ok: false, code: 1 });
  });

  it('checks containment on whole path components', () => {
    expect(isInsideRoot('/srv/tftp', '/srv/tftp/a')).toBe(true);
    expect(isInsideRoot('/srv/tftp', '/srv/tftp')).toBe(true);
    expect(isInsideRoot('/srv/tftp', '/srv/tftp-evil/a')).toBe(false);
    expect(isInsideRoot('/srv/tftp', '/srv')).toBe(false);
    expect(isInsideRoot('/', '/anything')).toBe(true);
  });
});

describe('TFTP option negotiation', () => {
  const limits = { maxBlksize: 1468, maxWindowsize: 64 };

  it('without options: no OACK, 512-byte lock-step', () => {
    expect(negotiateOptions({}, 100, limits)).toEqual({ blksize: 512, windowsize: 1, timeoutMs: null, oack: null });
  });

  it('acknowledges accepted options only, clamped', () => {
    expect(negotiateOptions({ blksize: '65464', tsize: '0', timeout: '3', windowsize: '100', foo: 'bar' }, 4242, limits)).toEqual({
      blksize: 1468,
      windowsize: 64,
      timeoutMs: 3000,
      oack: { blksize: '1468', tsize: '4242', timeout: '3', windowsize: '64' },
    });
    expect(negotiateOptions({ blksize: '1024' }, 1, { maxBlksize: 65464, maxWindowsize: 4 }).blksize).toBe(1024);
    expect(negotiateOptions({ blksize: '70000' }, 1, { maxBlksize: 65464, maxWindowsize: 4 }).blksize).toBe(65464);
  });

  it('leaves out options that are out of range or not numbers', () => {
    const cases: Record<string, string>[] = [{ blksize: '7' }, { blksize: 'big' }, { timeout: '0' }, { timeout: '256' }, { windowsize: '0' }, { tsize: '-1' }, { windowsize: '65536' }];
    for (const opts of cases) {
      expect(negotiateOptions(opts, 1, limits).oack).toBe(null);
    }
  });
});
