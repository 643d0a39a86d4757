// Client packets built byte by byte, the way real firmware lays them out (option order included),
// without going through encodePacket, so the codec is tested against independent bytes.
// Sources: pxe-lab.md §3 (decoded pcaps of iPXE, OVMF and udhcpc), EDK2 PxeBcBuildDhcp4Options.

export type Part = number | string | readonly number[] | Buffer;

export function bytes(...parts: Part[]): Buffer {
  const bufs = parts.map((p) => {
    if (typeof p === 'number') return Buffer.from([p]);
    if (typeof p === 'string') return Buffer.from(p, 'latin1');
    if (Buffer.isBuffer(p)) return p;
    return Buffer.from(p);
  });
  return Buffer.concat(bufs);
}

export function ip(text: string): number[] {
  return text.split('.').map(Number);
}

export function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

export function u16(n: number): number[] {
  return [(n >>> 8) & 255, n & 255];
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** One TLV option. */
export function opt(code: number, ...value: Part[]): Buffer {
  const v = bytes(...value);
  if (v.length > 255) throw new Error('fixture option too long');
  return bytes(code, v.length, v);
}

export interface HeaderFields {
  op?: number;
  htype?: number;
  hlen?: number;
  hops?: number;
  xid: number;
  secs?: number;
  flags?: number;
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  giaddr?: string;
  mac: string;
  sname?: Buffer;
  file?: Buffer;
}

/** The 236-byte BOOTP header plus the magic cookie: 240 bytes. */
export function header(h: HeaderFields): Buffer {
  const chaddr = Buffer.alloc(16);
  Buffer.from(macBytes(h.mac)).copy(chaddr);
  const sname = Buffer.alloc(64);
  h.sname?.copy(sname);
  const file = Buffer.alloc(128);
  h.file?.copy(file);
  const out = bytes(
    h.op ?? 1,
    h.htype ?? 1,
    h.hlen ?? 6,
    h.hops ?? 0,
    u32(h.xid),
    u16(h.secs ?? 0),
    u16(h.flags ?? 0),
    ip(h.ciaddr ?? '0.0.0.0'),
    ip(h.yiaddr ?? '0.0.0.0'),
    ip(h.siaddr ?? '0.0.0.0'),
    ip(h.giaddr ?? '0.0.0.0'),
    chaddr,
    sname,
    file,
    [99, 130, 83, 99],
  );
  if (out.length !== 240) throw new Error(`header is ${out.length} bytes`);
  return out;
}

/** Header + options + END, zero-padded to `padTo` when given. */
export function packet(h: HeaderFields, options: Buffer[], padTo = 0): Buffer {
  const body = bytes(header(h), ...options, 255);
  return body.length >= padTo ? body : Buffer.concat([body, Buffer.alloc(padTo - body.length)]);
}

// --- the three client types of the brief ---------------------------------------------------------

export const EDK2_MAC = '52:54:00:12:34:56';
export const EDK2_XID = 0x2f8a11c3;
export const EDK2_VENDOR = 'PXEClient:Arch:00007:UNDI:003000';
export const EDK2_PRL = [1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135];
export const EDK2_UUID_BYTES = [0x8a, 0x2b, 0x4c, 0x11, 0x9d, 0x3e, 0x4f, 0x60, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18];
export const EDK2_UUID = '8a2b4c11-9d3e-4f60-a1b2-c3d4e5f60718';

/** OVMF native UEFI PXE (arch 7, UNDI 3.0), broadcast flag set, option order as EDK2 builds it. */
export function edk2Discover(over: Partial<HeaderFields> = {}): Buffer {
  return packet({ xid: EDK2_XID, secs: 4, flags: 0x8000, mac: EDK2_MAC, ...over }, [
    opt(53, 1),
    opt(57, u16(1472)),
    opt(55, EDK2_PRL),
    opt(97, 0, EDK2_UUID_BYTES),
    opt(94, 1, 3, 0),
    opt(93, u16(7)),
    opt(60, EDK2_VENDOR),
  ]);
}

export function edk2Request(serverId: string, requested: string, over: Partial<HeaderFields> = {}): Buffer {
  return packet({ xid: EDK2_XID, secs: 5, flags: 0x8000, mac: EDK2_MAC, ...over }, [
    opt(53, 3),
    opt(54, ip(serverId)),
    opt(50, ip(requested)),
    opt(57, u16(1472)),
    opt(55, EDK2_PRL),
    opt(97, 0, EDK2_UUID_BYTES),
    opt(94, 1, 3, 0),
    opt(93, u16(7)),
    opt(60, EDK2_VENDOR),
  ]);
}

export const IPXE_MAC = '52:54:00:00:01:01';
export const IPXE_XID = 0x6a9f0c21;
export const IPXE_VENDOR = 'PXEClient:Arch:00000:UNDI:002001';
export const IPXE_PRL = [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203];
/** bus-id PCI 1af4:1000, version 1.0.0, PXE_EXT=2, then feature flags (iSCSI, AoE, HTTP, TFTP, DNS, bzImage, Multiboot, PXE, ELF, Menu, NFS). */
export const IPXE_ENCAP = [
  0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0x00,
  0xeb, 3, 1, 0, 0,
  0x10, 1, 2,
  0x11, 1, 1, 0x12, 1, 1, 0x13, 1, 1, 0x15, 1, 1, 0x17, 1, 1, 0x18, 1, 1, 0x19, 1, 1, 0x21, 1, 1, 0x22, 1, 1, 0x27, 1, 1, 0x29, 1, 1,
];

/** iPXE NIC ROM, BIOS side (arch 0): raw user class "iPXE" (not RFC 3004 framed), option 175. */
export function ipxeBiosDiscover(over: Partial<HeaderFields> = {}): Buffer {
  return packet({ xid: IPXE_XID, flags: 0x8000, mac: IPXE_MAC, ...over }, [
    opt(53, 1),
    opt(57, u16(1472)),
    opt(93, u16(0)),
    opt(94, 1, 2, 1),
    opt(60, IPXE_VENDOR),
    opt(77, 'iPXE'),
    opt(55, IPXE_PRL),
    opt(175, IPXE_ENCAP),
    opt(61, 1, macBytes(IPXE_MAC)),
    opt(97, 0, new Array<number>(16).fill(0)),
  ]);
}

export function ipxeBiosRequest(serverId: string, requested: string, over: Partial<HeaderFields> = {}): Buffer {
  return packet({ xid: IPXE_XID, flags: 0x8000, mac: IPXE_MAC, ...over }, [
    opt(53, 3),
    opt(57, u16(1472)),
    opt(93, u16(0)),
    opt(94, 1, 2, 1),
    opt(60, IPXE_VENDOR),
    opt(77, 'iPXE'),
    opt(55, IPXE_PRL),
    opt(175, IPXE_ENCAP),
    opt(61, 1, macBytes(IPXE_MAC)),
    opt(97, 0, new Array<number>(16).fill(0)),
    opt(54, ip(serverId)),
    opt(50, ip(requested)),
  ]);
}

export const UDHCPC_MAC = '52:54:00:00:02:01';
export const UDHCPC_XID = 0x1c2d3e4f;
export const UDHCPC_PRL = [1, 3, 6, 12, 15, 28, 42];

/** busybox 1.35 udhcpc from the initramfs: no PXE options, no broadcast flag, zero padding after END. */
export function udhcpcDiscover(over: Partial<HeaderFields> = {}, extra: Buffer[] = []): Buffer {
  return packet(
    { xid: UDHCPC_XID, mac: UDHCPC_MAC, ...over },
    [opt(53, 1), opt(61, 1, macBytes(UDHCPC_MAC)), opt(57, u16(576)), opt(55, UDHCPC_PRL), opt(60, 'udhcp 1.35.0'), ...extra],
    300,
  );
}

export function udhcpcMessage(type: number, over: Partial<HeaderFields> = {}, extra: Buffer[] = []): Buffer {
  return packet(
    { xid: UDHCPC_XID, mac: UDHCPC_MAC, ...over },
    [opt(53, type), opt(61, 1, macBytes(UDHCPC_MAC)), opt(57, u16(576)), ...extra, opt(55, UDHCPC_PRL), opt(60, 'udhcp 1.35.0')],
    300,
  );
}

/** A plain client with a given MAC (for lease tests). */
export function plainDiscover(mac: string, xid: number, extra: Buffer[] = [], over: Partial<HeaderFields> = {}): Buffer {
  return packet({ xid, mac, ...over }, [opt(53, 1), ...extra], 300);
}

export function plainMessage(type: number, mac: string, xid: number, extra: Buffer[] = [], over: Partial<HeaderFields> = {}): Buffer {
  return packet({ xid, mac, ...over }, [opt(53, type), ...extra], 300);
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
