import { describe, expect, it } from 'vitest';
import { DhcpDecodeError, DhcpEncodeError, decodePacket, encodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpDecodeReason, DhcpPacket } from '../../../src/boot/dhcp/packet.js';
import {
  EDK2_MAC,
  EDK2_PRL,
  EDK2_UUID_BYTES,
  EDK2_VENDOR,
  EDK2_XID,
  IPXE_ENCAP,
  IPXE_MAC,
  UDHCPC_PRL,
  bytes,
  edk2Discover,
  header,
  ipxeBiosDiscover,
  macBytes,
  opt,
  packet,
  udhcpcDiscover,
} from './fixtures.js';

function decodeError(buf: Buffer): DhcpDecodeReason {
  try {
    decodePacket(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(DhcpDecodeError);
    return (err as DhcpDecodeError).reason;
  }
  throw new Error('decoded without error');
}

describe('decodePacket: real client packets', () => {
  it('EDK2 UEFI PXE DISCOVER', () => {
    const raw = edk2Discover();
    const p = decodePacket(raw);
    expect(p).toMatchObject({
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: EDK2_XID,
      secs: 4,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: EDK2_MAC,
      sname: '',
      file: '',
    });
    expect([...p.options.keys()]).toEqual([53, 57, 55, 97, 94, 93, 60]);
    expect(p.options.get(53)).toEqual(Buffer.from([1]));
    expect(p.options.get(57)).toEqual(Buffer.from([0x05, 0xc0]));
    expect([...(p.options.get(55) as Buffer)]).toEqual(EDK2_PRL);
    expect(p.options.get(97)).toEqual(Buffer.from([0, ...EDK2_UUID_BYTES]));
    expect(p.options.get(93)).toEqual(Buffer.from([0, 7]));
    expect((p.options.get(60) as Buffer).toString()).toBe(EDK2_VENDOR);
  });

  it('iPXE BIOS DISCOVER keeps raw user class and option 175 bytes', () => {
    const p = decodePacket(ipxeBiosDiscover());
    expect(p.chaddr).toBe(IPXE_MAC);
    expect(p.options.get(77)).toEqual(Buffer.from('iPXE'));
    expect(p.options.get(175)).toEqual(Buffer.from(IPXE_ENCAP));
    expect(p.options.get(61)).toEqual(Buffer.from([1, ...macBytes(IPXE_MAC)]));
    expect(p.options.get(93)).toEqual(Buffer.from([0, 0]));
  });

  it('udhcpc DISCOVER with zero padding after END', () => {
    const raw = udhcpcDiscover();
    expect(raw.length).toBe(300);
    const p = decodePacket(raw);
    expect(p.flags).toBe(0);
    expect((p.options.get(60) as Buffer).toString()).toBe('udhcp 1.35.0');
    expect([...(p.options.get(55) as Buffer)]).toEqual(UDHCPC_PRL);
    expect(p.options.has(93)).toBe(false);
  });

  it('sname and file are NUL-terminated strings when not overloaded', () => {
    const p = decodePacket(packet({ xid: 1, mac: EDK2_MAC, sname: Buffer.from('boot-srv'), file: Buffer.from('pxelinux.0') }, [opt(53, 1)]));
    expect(p.sname).toBe('boot-srv');
    expect(p.file).toBe('pxelinux.0');
  });

  it('hlen 16 (EDK2 SendGUID) gives a 16-byte chaddr string', () => {
    const raw = edk2Discover({ hlen: 16 });
    const p = decodePacket(raw);
    expect(p.chaddr.split(':')).toHaveLength(16);
    expect(p.chaddr.startsWith(EDK2_MAC)).toBe(true);
  });
});

describe('decodePacket: options encoding rules', () => {
  it('skips PAD anywhere, including before option 53', () => {
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC }), 0, 0, opt(53, 1), 0, opt(12, 'node1'), 255));
    expect(p.options.get(53)).toEqual(Buffer.from([1]));
    expect(p.options.get(12)?.toString()).toBe('node1');
  });

  it('tolerates a missing END', () => {
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC }), opt(53, 1), opt(12, 'node1')));
    expect(p.options.get(12)?.toString()).toBe('node1');
  });

  it('ignores bytes after END', () => {
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC }), opt(53, 1), 255, 12, 200, 1, 2));
    expect(p.options.has(12)).toBe(false);
  });

  it('concatenates repeated options (RFC 3396)', () => {
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC }), opt(53, 1), opt(43, 'abc'), opt(12, 'x'), opt(43, 'def'), 255));
    expect(p.options.get(43)?.toString()).toBe('abcdef');
  });

  it('option overload 3: options field, then file, then sname (RFC 3396 §5 order)', () => {
    const file = bytes(opt(77, 'BB'), opt(67, 'boot.efi'), 255);
    const sname = bytes(opt(77, 'CC'), 255);
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC, file, sname }), opt(53, 1), opt(52, 3), opt(77, 'AA'), 255));
    expect(p.options.get(77)?.toString()).toBe('AABBCC');
    expect(p.options.get(67)?.toString()).toBe('boot.efi');
    expect(p.options.has(52)).toBe(false);
    expect(p.file).toBe('');
    expect(p.sname).toBe('');
  });

  it('option overload 1 uses only the file field; sname stays a string', () => {
    const file = bytes(opt(53, 3), 255);
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC, file, sname: Buffer.from('srv') }), opt(52, 1), 255));
    expect(p.options.get(53)).toEqual(Buffer.from([3]));
    expect(p.sname).toBe('srv');
    expect(p.file).toBe('');
  });

  it('option 52 with an invalid value is ignored', () => {
    const p = decodePacket(bytes(header({ xid: 7, mac: EDK2_MAC, file: Buffer.from('a.efi') }), opt(53, 1), opt(52, 9), 255));
    expect(p.file).toBe('a.efi');
  });
});

describe('decodePacket: rejects', () => {
  const good = edk2Discover();
  it('fewer than 240 bytes', () => {
    expect(decodeError(Buffer.alloc(0))).toBe('too-short');
    expect(decodeError(good.subarray(0, 239))).toBe('too-short');
  });
  it('op other than 1 or 2', () => {
    for (const op of [0, 3, 255]) expect(decodeError(bytes(op, good.subarray(1)))).toBe('bad-op');
  });
  it('hlen above 16', () => {
    const b = Buffer.from(good);
    b[2] = 17;
    expect(decodeError(b)).toBe('bad-hlen');
  });
  it('a wrong magic cookie', () => {
    const b = Buffer.from(good);
    b[239] = 0x64;
    expect(decodeError(b)).toBe('bad-cookie');
  });
  it('an option running past the end', () => {
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC }), opt(53, 1), 12, 10, 'abc'))).toBe('option-overrun');
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC }), opt(53, 1), 12))).toBe('option-overrun');
  });
  it('an option running past the end of an overloaded file field', () => {
    const file = Buffer.alloc(128);
    file[126] = 12;
    file[127] = 5;
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC, file }), opt(53, 1), opt(52, 1), 255))).toBe('option-overrun');
  });
  it('option 53 missing or of the wrong length', () => {
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC }), opt(12, 'x'), 255))).toBe('no-message-type');
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC }), 255))).toBe('no-message-type');
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC }), opt(53, 1, 1), 255))).toBe('bad-message-type');
    expect(decodeError(bytes(header({ xid: 1, mac: EDK2_MAC }), opt(53), 255))).toBe('bad-message-type');
  });
});

function sample(over: Partial<DhcpPacket> = {}): DhcpPacket {
  return {
    op: 2,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0xdeadbeef,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '10.77.0.100',
    siaddr: '10.77.0.1',
    giaddr: '0.0.0.0',
    chaddr: 'aa:bb:cc:dd:ee:ff',
    sname: '',
    file: 'ipxe.efi',
    options: new Map([
      [53, Buffer.from([2])],
      [54, Buffer.from([10, 77, 0, 1])],
    ]),
    ...over,
  };
}

describe('encodePacket', () => {
  it('writes the fixed header byte by byte and pads to 300 bytes', () => {
    const b = encodePacket(sample());
    expect(b.length).toBe(300);
    expect([...b.subarray(0, 4)]).toEqual([2, 1, 6, 0]);
    expect(b.readUInt32BE(4)).toBe(0xdeadbeef);
    expect(b.readUInt16BE(10)).toBe(0x8000);
    expect([...b.subarray(16, 20)]).toEqual([10, 77, 0, 100]);
    expect([...b.subarray(20, 24)]).toEqual([10, 77, 0, 1]);
    expect([...b.subarray(28, 44)]).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, ...new Array<number>(10).fill(0)]);
    expect(b.toString('latin1', 108, 116)).toBe('ipxe.efi');
    expect(b[116]).toBe(0);
    expect([...b.subarray(236, 240)]).toEqual([99, 130, 83, 99]);
    expect([...b.subarray(240, 250)]).toEqual([53, 1, 2, 54, 4, 10, 77, 0, 1, 255]);
    expect(b.subarray(250).every((x) => x === 0)).toBe(true);
  });

  it('puts 53 first, 54 second and 82 last whatever the insertion order', () => {
    const options = new Map<number, Buffer>([
      [82, Buffer.from([1, 2, 3, 4])],
      [1, Buffer.from([255, 255, 255, 0])],
      [54, Buffer.from([10, 0, 0, 1])],
      [53, Buffer.from([5])],
      [3, Buffer.from([10, 0, 0, 1])],
    ]);
    const b = encodePacket(sample({ options }));
    const codes: number[] = [];
    for (let i = 240; b[i] !== 255; i += 2 + (b[i + 1] as number)) codes.push(b[i] as number);
    expect(codes).toEqual([53, 54, 1, 3, 82]);
  });

  it('splits values over 255 bytes into consecutive instances and decodes them back (RFC 3396)', () => {
    const long = Buffer.alloc(600, 0x41);
    long[0] = 0x42;
    long[599] = 0x43;
    const b = encodePacket(sample({ options: new Map([[53, Buffer.from([2])], [43, long]]) }));
    expect([b[243], b[244]]).toEqual([43, 255]);
    expect([b[243 + 257], b[244 + 257]]).toEqual([43, 255]);
    expect([b[243 + 514], b[244 + 514]]).toEqual([43, 90]);
    expect(b[243 + 514 + 92]).toBe(255);
    expect(decodePacket(b).options.get(43)).toEqual(long);
  });

  it('round-trips a decoded client packet', () => {
    for (const raw of [edk2Discover(), ipxeBiosDiscover(), udhcpcDiscover()]) {
      const p = decodePacket(raw);
      const again = decodePacket(encodePacket(p));
      expect(again).toEqual(p);
    }
  });

  it('writes zero-length options as code, 0', () => {
    const b = encodePacket(sample({ options: new Map([[53, Buffer.from([2])], [80, Buffer.alloc(0)]]) }));
    expect([...b.subarray(240, 246)]).toEqual([53, 1, 2, 80, 0, 255]);
  });

  it('refuses what cannot go on the wire', () => {
    expect(() => encodePacket(sample({ file: 'x'.repeat(128) }))).toThrow(DhcpEncodeError);
    expect(() => encodePacket(sample({ sname: 'x'.repeat(64) }))).toThrow(DhcpEncodeError);
    expect(() => encodePacket(sample({ yiaddr: '10.0.0.256' }))).toThrow(DhcpEncodeError);
    expect(() => encodePacket(sample({ chaddr: 'zz:00' }))).toThrow(DhcpEncodeError);
    expect(() => encodePacket(sample({ op: 3 }))).toThrow(DhcpEncodeError);
    expect(() => encodePacket(sample({ xid: -1 }))).toThrow(DhcpEncodeError);
    expect(() => encodePacket(sample({ options: new Map([[256, Buffer.from([1])]]) }))).toThrow(DhcpEncodeError);
  });
});
