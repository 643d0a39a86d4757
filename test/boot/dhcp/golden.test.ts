// Golden packets: DISCOVERs and REQUESTs captured from real clients with tcpdump (captures/*.hex,
// made by captures/capture.sh: udhcpc, dhclient, the iPXE ROM under SeaBIOS and OVMF, EDK2's own UEFI
// PXE). Each is decoded, run through the responder, and the encoded reply is checked byte by byte
// where RFC 2131 fixes it: §2 / Table 3 header fields, §4.1 addressing, the 300-byte BOOTP minimum
// (RFC 1542 §3.2.1), the magic cookie, option 53 first and 54 the server id; then the PXE options
// each kind of client must get.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES, classifyClient } from '../../../src/boot/dhcp/pxe.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import type { DhcpAction, DhcpLogEntry, DhcpServerConfig, Endpoint, Reservation, ReservationSource } from '../../../src/boot/dhcp/server-logic.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'captures');
const SERVER = '10.77.0.1';
const SCRIPT_URL = 'http://10.77.0.1:8080/boot.ipxe';
const T0 = 1_700_000_000_000;
const CFG: DhcpServerConfig = {
  mode: 'full',
  serverIp: SERVER,
  subnets: [
    { network: '10.77.0.0', prefix: 24, range: ['10.77.0.100', '10.77.0.199'], router: SERVER, leaseSeconds: 3600 },
    { network: '10.88.0.0', prefix: 24, range: ['10.88.0.50', '10.88.0.59'], router: '10.88.0.1', leaseSeconds: 600 },
  ],
  bootConfig: { httpScriptUrl: SCRIPT_URL, httpBootUrl: 'http://10.77.0.1:8080/efi/', files: { ...DEFAULT_BOOT_FILES } },
};

interface Capture {
  name: string;
  wire: Buffer;
  p: DhcpPacket;
  /** The header comment: how and when it was made, and its UDP addressing. */
  notes: string[];
}

function load(name: string): Capture {
  const text = readFileSync(path.join(DIR, `${name}.hex`), 'utf8').split('\n');
  const notes = text.filter((l) => l.startsWith('#')).map((l) => l.slice(1).trim());
  const wire = Buffer.from(text.filter((l) => !l.startsWith('#')).join('').trim(), 'hex');
  return { name, wire, p: decodePacket(wire), notes };
}

type Kind = 'udhcpc' | 'dhclient' | 'ipxe-bios' | 'ipxe-uefi' | 'edk2-uefi';
const KINDS: readonly Kind[] = ['udhcpc', 'dhclient', 'ipxe-bios', 'ipxe-uefi', 'edk2-uefi'];
const MAC: Record<Kind, string> = {
  udhcpc: '02:00:00:c0:00:01',
  dhclient: '02:00:00:c0:00:02',
  'ipxe-bios': '52:54:00:c0:00:b1',
  'ipxe-uefi': '52:54:00:c0:00:e1',
  'edk2-uefi': '52:54:00:c0:00:e2',
};

class MapReservations implements ReservationSource {
  constructor(private readonly byMac: Record<string, Reservation>) {}
  lookup(mac: string): Reservation | undefined {
    return this.byMac[mac];
  }
  macFor(ipAddr: string): string | undefined {
    return Object.entries(this.byMac).find(([, r]) => r.ip === ipAddr)?.[0];
  }
}

interface Sent {
  wire: Buffer;
  p: DhcpPacket;
  to: Endpoint;
}

function handle(r: DhcpResponder, req: Buffer, receivedOn: 'port67' | 'port4011' = 'port67'): { sent: Sent[]; logs: DhcpLogEntry[] } {
  const actions: DhcpAction[] = r.handle(decodePacket(req), { receivedOn, now: T0, from: { address: '0.0.0.0', port: 68 } });
  const sent: Sent[] = [];
  const logs: DhcpLogEntry[] = [];
  for (const a of actions) {
    if ('send' in a) {
      const wire = encodePacket(a.send);
      sent.push({ wire, p: decodePacket(wire), to: a.to });
    } else logs.push(a.log);
  }
  return { sent, logs };
}

function only(r: { sent: Sent[] }): Sent {
  expect(r.sent).toHaveLength(1);
  return r.sent[0] as Sent;
}

/** Options in wire order, each with its raw value; asserts END and zero padding after it. */
function wireOptions(wire: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let i = 240;
  while (i < wire.length && wire[i] !== 255) {
    if (wire[i] === 0) {
      i++;
      continue;
    }
    const len = wire[i + 1] as number;
    out.push([wire[i] as number, wire.subarray(i + 2, i + 2 + len)]);
    i += 2 + len;
  }
  expect(wire[i], 'END option').toBe(255);
  expect(wire.subarray(i + 1).every((b) => b === 0), 'zero padding after END').toBe(true);
  return out;
}

const ipBytes = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
const ipAt = (wire: Buffer, off: number): string => [...wire.subarray(off, off + 4)].join('.');
const opt = (o: Array<[number, Buffer]>, code: number): Buffer | undefined => o.find(([c]) => c === code)?.[1];

/**
 * The fixed part of any reply to `req`, byte by byte (RFC 2131 §2 and Table 3): op 2, htype, hlen
 * and xid copied, hops and secs 0, flags and giaddr and all 16 chaddr bytes copied, sname empty,
 * magic cookie, at least 300 bytes, option 53 first with `type`, option 54 second with our address.
 */
function checkHeader(reply: Buffer, req: Buffer, type: number): Array<[number, Buffer]> {
  expect(reply.length).toBeGreaterThanOrEqual(300);
  expect(reply[0]).toBe(2);
  expect(reply[1]).toBe(req[1]);
  expect(reply[2]).toBe(req[2]);
  expect(reply[3]).toBe(0);
  expect(reply.subarray(4, 8)).toEqual(req.subarray(4, 8));
  expect(reply.subarray(8, 10)).toEqual(Buffer.from([0, 0]));
  expect(reply.subarray(10, 12)).toEqual(req.subarray(10, 12));
  expect(reply.subarray(24, 28)).toEqual(req.subarray(24, 28));
  expect(reply.subarray(28, 44)).toEqual(req.subarray(28, 44));
  expect(reply.subarray(44, 108).every((b) => b === 0), 'sname empty').toBe(true);
  expect(reply.subarray(236, 240)).toEqual(Buffer.from([0x63, 0x82, 0x53, 0x63]));
  const o = wireOptions(reply);
  expect(o[0]).toEqual([53, Buffer.from([type])]);
  expect(o[1]).toEqual([54, ipBytes(SERVER)]);
  // Table 3: never in a reply.
  for (const never of [50, 55, 57]) expect(opt(o, never), `option ${never}`).toBeUndefined();
  return o;
}

/** The 128-byte file field: `name` NUL-padded, or all zeros. */
function fileField(wire: Buffer): string {
  const f = wire.subarray(108, 236);
  const end = f.indexOf(0);
  const name = f.subarray(0, end < 0 ? 128 : end).toString('latin1');
  expect(f.subarray(name.length).every((b) => b === 0), 'file NUL-padded').toBe(true);
  return name;
}

/** What each client must be told: boot file (option 67 and file), TFTP server, option 175. */
function checkBoot(kind: Kind, reply: Buffer, o: Array<[number, Buffer]>): void {
  const siaddr = ipAt(reply, 20);
  switch (kind) {
    case 'udhcpc':
    case 'dhclient':
      for (const none of [60, 66, 67, 175]) expect(opt(o, none), `option ${none} for a plain client`).toBeUndefined();
      expect(fileField(reply)).toBe('');
      return;
    case 'ipxe-bios':
    case 'ipxe-uefi':
      // iPXE is running already: the HTTP script, never a TFTP binary (chainload loop), and 175.176=1.
      expect(opt(o, 67)?.toString('latin1')).toBe(SCRIPT_URL);
      expect(fileField(reply)).toBe(SCRIPT_URL);
      expect(opt(o, 66)).toBeUndefined();
      expect(opt(o, 175)).toEqual(Buffer.from([0xb0, 0x01, 0x01]));
      expect(siaddr).toBe(SERVER);
      return;
    case 'edk2-uefi':
      // arch 7 without a user class: ipxe.efi over TFTP from siaddr / option 66. No option 60 in
      // full mode: EDK2 would otherwise treat the offer as BINL and ask port 4011 first.
      expect(opt(o, 67)?.toString('latin1')).toBe('ipxe.efi');
      expect(fileField(reply)).toBe('ipxe.efi');
      expect(opt(o, 66)?.toString('latin1')).toBe(SERVER);
      expect(siaddr).toBe(SERVER);
      expect(opt(o, 60)).toBeUndefined();
      expect(opt(o, 175)).toBeUndefined();
      return;
  }
}

describe('the captures decode as the clients that sent them', () => {
  it.each(KINDS)('%s DISCOVER and REQUEST', (kind) => {
    for (const [msg, type] of [
      ['discover', 1],
      ['request', 3],
    ] as const) {
      const c = load(`${kind}-${msg}`);
      expect(c.notes.join('\n')).toMatch(/made by test\/boot\/dhcp\/captures\/capture\.sh at \d{4}-\d\d-\d\dT/);
      expect(c.notes.at(-1)).toMatch(/from 0\.0\.0\.0:68 to 255\.255\.255\.255:67/);
      expect(c.p.op).toBe(1);
      expect(c.p.chaddr).toBe(MAC[kind]);
      expect(c.p.options.get(53)).toEqual(Buffer.from([type]));
      expect(encodePacket(c.p).length).toBeGreaterThanOrEqual(300);
      const client = classifyClient(c.p);
      if (kind === 'udhcpc' || kind === 'dhclient') {
        expect(client).toMatchObject({ pxe: false, ipxe: false, arch: null, firmware: 'unknown' });
      } else if (kind === 'ipxe-bios') {
        expect(client).toMatchObject({ pxe: true, ipxe: true, arch: 0, firmware: 'bios' });
        expect(client.vendorClass).toBe('PXEClient:Arch:00000:UNDI:002001');
        expect(c.p.options.get(175)?.length).toBeGreaterThan(0);
      } else if (kind === 'ipxe-uefi') {
        expect(client).toMatchObject({ pxe: true, ipxe: true, arch: 7, firmware: 'uefi-x64' });
        expect(client.vendorClass).toBe('PXEClient:Arch:00007:UNDI:003010');
      } else {
        expect(client).toMatchObject({ pxe: true, ipxe: false, arch: 7, firmware: 'uefi-x64', httpBoot: false });
        expect(client.vendorClass).toBe('PXEClient:Arch:00007:UNDI:003000');
        expect(c.p.options.get(77)).toBeUndefined();
        expect(c.p.options.get(97)?.length).toBe(17);
      }
      if (type === 3) {
        // SELECTING: the server id and address dnsmasq offered during the capture (10.77.0.1, as ours).
        expect(c.p.options.get(54)).toEqual(ipBytes(SERVER));
        expect(c.p.options.get(50)?.length).toBe(4);
      }
    }
  });

  it('EDK2 sets the broadcast flag; udhcpc, dhclient and iPXE do not', () => {
    expect(load('edk2-uefi-discover').p.flags).toBe(0x8000);
    for (const k of ['udhcpc', 'dhclient', 'ipxe-bios', 'ipxe-uefi'] as const) expect(load(`${k}-discover`).p.flags).toBe(0);
  });
});

describe('full mode: replies to the captures, byte by byte', () => {
  it.each(KINDS)('%s DISCOVER -> OFFER broadcast to 255.255.255.255:68 with its boot options', (kind) => {
    const req = load(`${kind}-discover`).wire;
    const s = only(handle(new DhcpResponder(CFG), req));
    // §4.1: giaddr 0 and ciaddr 0. With the broadcast bit the reply must be broadcast; without it the
    // RFC prefers a unicast to chaddr/yiaddr, which needs a raw socket Node lacks: a broadcast reaches
    // the client all the same (all five clients here accept it; see docs/boot.md).
    expect(s.to).toEqual({ address: '255.255.255.255', port: 68 });
    const o = checkHeader(s.wire, req, 2);
    expect(ipAt(s.wire, 12)).toBe('0.0.0.0');
    expect(ipAt(s.wire, 16)).toBe('10.77.0.100');
    expect(opt(o, 51)).toEqual(Buffer.from([0, 0, 0x0e, 0x10]));
    expect(opt(o, 1)).toEqual(ipBytes('255.255.255.0'));
    expect(opt(o, 3)).toEqual(ipBytes(SERVER));
    checkBoot(kind, s.wire, o);
  });

  it.each(KINDS)('%s REQUEST (SELECTING, after a restart: no record) -> ACK of the requested address', (kind) => {
    const c = load(`${kind}-request`);
    const wanted = ipAt(c.p.options.get(50) as Buffer, 0);
    const s = only(handle(new DhcpResponder(CFG), c.wire));
    expect(s.to).toEqual({ address: '255.255.255.255', port: 68 });
    const o = checkHeader(s.wire, c.wire, 5);
    expect(ipAt(s.wire, 12)).toBe('0.0.0.0');
    expect(ipAt(s.wire, 16)).toBe(wanted);
    expect(opt(o, 51)).toEqual(Buffer.from([0, 0, 0x0e, 0x10]));
    checkBoot(kind, s.wire, o);
  });

  it.each(KINDS)('%s DISCOVER then REQUEST with a reservation for the requested address: OFFER and ACK agree', (kind) => {
    const discover = load(`${kind}-discover`);
    const request = load(`${kind}-request`);
    const wanted = ipAt(request.p.options.get(50) as Buffer, 0);
    const r = new DhcpResponder(CFG, { reservations: new MapReservations({ [MAC[kind]]: { ip: wanted, hostname: `blade-${kind}` } }) });
    const offer = only(handle(r, discover.wire));
    expect(ipAt(offer.wire, 16)).toBe(wanted);
    const ack = only(handle(r, request.wire));
    const o = checkHeader(ack.wire, request.wire, 5);
    expect(ipAt(ack.wire, 16)).toBe(wanted);
    expect(opt(o, 12)?.toString('latin1')).toBe(`blade-${kind}`);
    expect(r.leases.get(MAC[kind])).toMatchObject({ ip: wanted, state: 'bound' });
  });

  it('a vendor BIOS PXE ROM (the iPXE BIOS capture without option 77) gets undionly.kpxe over TFTP', () => {
    // Debian ships no non-iPXE BIOS PXE ROM; a vendor ROM sends the same 60/93/94 as iPXE but no 77.
    const req = withoutOption(load('ipxe-bios-discover').wire, 77);
    expect(decodePacket(req).options.has(77)).toBe(false);
    const s = only(handle(new DhcpResponder(CFG), req));
    const o = checkHeader(s.wire, req, 2);
    expect(opt(o, 67)?.toString('latin1')).toBe('undionly.kpxe');
    expect(fileField(s.wire)).toBe('undionly.kpxe');
    expect(opt(o, 66)?.toString('latin1')).toBe(SERVER);
    expect(opt(o, 175)).toBeUndefined();
  });

  it('relayed (giaddr, hops 1, option 82 added by the relay): unicast to giaddr:67, pool of that subnet, 82 echoed last', () => {
    const agent = Buffer.from([1, 4, 0x65, 0x74, 0x68, 0x31, 2, 2, 0xab, 0xcd]);
    for (const kind of KINDS) {
      const req = relayed(load(`${kind}-discover`).wire, '10.88.0.1', agent);
      const s = only(handle(new DhcpResponder(CFG), req));
      expect(s.to).toEqual({ address: '10.88.0.1', port: 67 });
      const o = checkHeader(s.wire, req, 2);
      expect(ipAt(s.wire, 24)).toBe('10.88.0.1');
      expect(ipAt(s.wire, 16)).toBe('10.88.0.50');
      expect(opt(o, 3)).toEqual(ipBytes('10.88.0.1'));
      expect(o.at(-1)).toEqual([82, agent]);
      checkBoot(kind, s.wire, o);
    }
  });
});

describe('proxy mode: replies to the captures', () => {
  const PROXY: DhcpServerConfig = { ...CFG, mode: 'proxy', subnets: [] };

  it('plain clients (udhcpc, dhclient) get nothing: the rack DHCP server answers them', () => {
    for (const kind of ['udhcpc', 'dhclient'] as const) {
      const r = handle(new DhcpResponder(PROXY), load(`${kind}-discover`).wire);
      expect(r.sent).toHaveLength(0);
      expect(r.logs.map((l) => l.reason)).toContain('not-a-pxe-client');
    }
  });

  it.each(['ipxe-bios', 'ipxe-uefi', 'edk2-uefi'] as const)('%s DISCOVER -> OFFER without an address, PXEClient, boot file', (kind) => {
    const c = load(`${kind}-discover`);
    const s = only(handle(new DhcpResponder(PROXY), c.wire));
    expect(s.to).toEqual({ address: '255.255.255.255', port: 68 });
    const o = checkHeader(s.wire, c.wire, 2);
    expect(ipAt(s.wire, 16)).toBe('0.0.0.0');
    expect(ipAt(s.wire, 20)).toBe(SERVER);
    expect(opt(o, 60)?.toString('latin1')).toBe('PXEClient');
    for (const none of [1, 3, 51]) expect(opt(o, none), `option ${none} in a proxy offer`).toBeUndefined();
    if (kind === 'edk2-uefi') {
      expect(opt(o, 67)?.toString('latin1')).toBe('ipxe.efi');
      expect(opt(o, 97)).toEqual(c.p.options.get(97));
    } else {
      expect(opt(o, 67)?.toString('latin1')).toBe(SCRIPT_URL);
      expect(opt(o, 175)).toEqual(Buffer.from([0xb0, 0x01, 0x01]));
    }
  });
});

/** The packet with every instance of option `code` removed (length kept at 300+ by padding). */
function withoutOption(wire: Buffer, code: number): Buffer {
  const head = wire.subarray(0, 240);
  const parts: Buffer[] = [];
  let i = 240;
  while (i < wire.length && wire[i] !== 255) {
    if (wire[i] === 0) {
      i++;
      continue;
    }
    const len = wire[i + 1] as number;
    if (wire[i] !== code) parts.push(wire.subarray(i, i + 2 + len));
    i += 2 + len;
  }
  const body = Buffer.concat([head, ...parts, Buffer.from([255])]);
  return Buffer.concat([body, Buffer.alloc(Math.max(0, 300 - body.length))]);
}

/** What a relay agent does to a client packet: giaddr, hops + 1, option 82 before END. */
function relayed(wire: Buffer, giaddr: string, agentInfo: Buffer): Buffer {
  let end = 240;
  while (end < wire.length && wire[end] !== 255) end += wire[end] === 0 ? 1 : 2 + (wire[end + 1] as number);
  const out = Buffer.concat([wire.subarray(0, end), Buffer.from([82, agentInfo.length]), agentInfo, Buffer.from([255])]);
  out[3] = (out[3] as number) + 1;
  ipBytes(giaddr).copy(out, 24);
  return out;
}
