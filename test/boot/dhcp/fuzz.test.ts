// Robustness: a seeded stream of mutated, truncated and forged packets through the decoder, both
// responders (full and proxy) and the encoder. Only DhcpDecodeError may escape, and only from decode.
import { describe, expect, it } from 'vitest';
import { DhcpDecodeError, decodePacket, encodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpDecodeReason } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES } from '../../../src/boot/dhcp/pxe.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import type { DhcpServerConfig, RequestMeta } from '../../../src/boot/dhcp/server-logic.js';
import {
  bytes,
  edk2Discover,
  edk2Request,
  header,
  ip,
  ipxeBiosDiscover,
  ipxeBiosRequest,
  opt,
  plainDiscover,
  plainMessage,
  prng,
  udhcpcDiscover,
  udhcpcMessage,
} from './fixtures.js';

const ITERATIONS = 120_000;
const SERVER = '10.77.0.1';

const CFG: DhcpServerConfig = {
  mode: 'full',
  serverIp: SERVER,
  subnets: [
    // small pools so that exhaustion, expiry and reclaim are exercised too
    { network: '10.77.0.0', prefix: 24, range: ['10.77.0.100', '10.77.0.131'], router: '10.77.0.254', dns: ['10.77.0.1'], domain: 'lab.test', leaseSeconds: 120 },
    { network: '10.88.0.0', prefix: 24, range: ['10.88.0.50', '10.88.0.57'], router: '10.88.0.1', leaseSeconds: 60 },
  ],
  bootConfig: { httpScriptUrl: 'http://10.77.0.1:8080/ipxe/boot.ipxe', httpBootUrl: 'http://10.77.0.1:8080/efi/', files: { ...DEFAULT_BOOT_FILES } },
  offerSeconds: 5,
  declineSeconds: 30,
};

function seeds(): Buffer[] {
  const rai = opt(82, 1, 4, 'eth0', 2, 3, 1, 2, 3);
  return [
    edk2Discover(),
    edk2Request(SERVER, '10.77.0.100'),
    edk2Request(SERVER, '10.77.0.20', { ciaddr: '10.77.0.20' }),
    ipxeBiosDiscover(),
    ipxeBiosRequest(SERVER, '10.77.0.101'),
    udhcpcDiscover(),
    udhcpcDiscover({ giaddr: '10.88.0.1' }, [rai]),
    udhcpcMessage(3, { ciaddr: '10.77.0.102' }),
    udhcpcMessage(3, {}, [opt(50, ip('10.88.0.52'))]),
    udhcpcMessage(4, {}, [opt(54, ip(SERVER)), opt(50, ip('10.77.0.100'))]),
    udhcpcMessage(7, { ciaddr: '10.77.0.100' }, [opt(54, ip(SERVER))]),
    udhcpcMessage(8, { ciaddr: '10.77.0.9' }),
    plainDiscover('02:00:00:00:00:01', 5, [opt(93, 0, 16), opt(60, 'HTTPClient:Arch:00016:UNDI:003000')]),
    plainMessage(3, '02:00:00:00:00:02', 6, [opt(54, ip(SERVER)), opt(50, ip('10.88.0.50'))], { giaddr: '10.88.0.1' }),
    // option overload into file and sname
    bytes(header({ xid: 7, mac: '02:00:00:00:00:03', file: bytes(opt(77, 'iPXE'), 255), sname: bytes(opt(60, 'PXEClient'), 255) }), opt(53, 1), opt(52, 3), 255),
  ];
}

/** Offsets of option code bytes in the options field (stops at END or a bad length). */
function optionOffsets(b: Buffer): number[] {
  const out: number[] = [];
  let i = 240;
  while (i + 1 < b.length) {
    const c = b[i] as number;
    if (c === 255) break;
    if (c === 0) {
      i++;
      continue;
    }
    out.push(i);
    i += 2 + (b[i + 1] as number);
  }
  return out;
}

const INTERESTING_CODES = [1, 3, 12, 43, 50, 51, 52, 53, 54, 55, 57, 60, 61, 66, 67, 77, 82, 93, 94, 97, 175, 255, 0];

function mutate(base: Buffer, rnd: () => number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  let b = Buffer.from(base);
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    switch (int(9)) {
      case 0: {
        // bit flips anywhere
        const flips = 1 + int(16);
        for (let k = 0; k < flips && b.length > 0; k++) {
          const at = int(b.length);
          b[at] = (b[at] as number) ^ (1 << int(8));
        }
        break;
      }
      case 1:
        // truncation
        b = b.subarray(0, int(b.length + 1));
        break;
      case 2: {
        // length-field lie
        const offs = optionOffsets(b);
        if (offs.length > 0) {
          const at = offs[int(offs.length)] as number;
          if (at + 1 < b.length) b[at + 1] = int(256);
        }
        break;
      }
      case 3: {
        // random garbage, sometimes behind a valid header and cookie
        const len = int(700);
        const g = Buffer.alloc(len);
        for (let k = 0; k < len; k++) g[k] = int(256);
        b = rnd() < 0.5 ? Buffer.concat([b.subarray(0, Math.min(240, b.length)), g]) : g;
        break;
      }
      case 4: {
        // insert a well-formed option with a random value of a random length
        const code = INTERESTING_CODES[int(INTERESTING_CODES.length)] as number;
        const len = int(rnd() < 0.8 ? 20 : 256);
        const v = Buffer.alloc(len);
        for (let k = 0; k < len; k++) v[k] = int(256);
        const offs = optionOffsets(b);
        const at = offs.length > 0 ? (offs[int(offs.length)] as number) : Math.min(240, b.length);
        b = Buffer.concat([b.subarray(0, at), Buffer.from([code, len]), v, b.subarray(at)]);
        break;
      }
      case 5: {
        // header fields: op, htype, hlen, flags, addresses
        if (b.length < 28) break;
        const field = int(6);
        if (field === 0) b[0] = int(4);
        else if (field === 1) b[2] = int(20);
        else if (field === 2) b.writeUInt16BE(int(65536), 10);
        else b.writeUInt32BE(rnd() < 0.5 ? int(2 ** 32) : (0x0a4d0000 | int(256)) >>> 0, 12 + 4 * int(4));
        break;
      }
      case 6: {
        // option overload with random file/sname content
        if (b.length < 240) break;
        for (let k = 44; k < 236; k++) if (rnd() < 0.3) b[k] = int(256);
        b = Buffer.concat([b.subarray(0, 240), Buffer.from([52, 1, 1 + int(3)]), b.subarray(240)]);
        break;
      }
      case 7: {
        // duplicate a slice (repeated options, RFC 3396 concatenation)
        const offs = optionOffsets(b);
        if (offs.length === 0) break;
        const at = offs[int(offs.length)] as number;
        const len = 2 + (b[at + 1] ?? 0);
        b = Buffer.concat([b, b.subarray(at, at + len)]);
        break;
      }
      default: {
        // change the message type
        const offs = optionOffsets(b).filter((o) => b[o] === 53);
        const at = offs[0];
        if (at !== undefined && at + 2 < b.length) b[at + 2] = int(10);
      }
    }
  }
  return b;
}

describe('robustness under mutated input', () => {
  it(`${ITERATIONS} mutated packets: only DhcpDecodeError escapes, and service continues`, () => {
    const rnd = prng(0x7ab01a);
    const full = new DhcpResponder(CFG);
    const proxy = new DhcpResponder({ ...CFG, mode: 'proxy' });
    const base = seeds();
    const rejected = new Map<DhcpDecodeReason, number>();
    let decoded = 0;
    let sent = 0;
    let now = 1_700_000_000_000;
    const t0 = performance.now();

    for (let i = 0; i < ITERATIONS; i++) {
      const seed = base[i % base.length] as Buffer;
      const buf = mutate(seed, rnd);
      let packet;
      try {
        packet = decodePacket(buf);
      } catch (err) {
        if (!(err instanceof DhcpDecodeError)) throw err;
        rejected.set(err.reason, (rejected.get(err.reason) ?? 0) + 1);
        continue;
      }
      decoded++;
      const meta: RequestMeta = {
        receivedOn: rnd() < 0.2 ? 'port4011' : 'port67',
        now,
        from: { address: '10.77.0.9', port: rnd() < 0.5 ? 68 : 4011 },
      };
      for (const responder of [full, proxy]) {
        for (const action of responder.handle(packet, meta)) {
          if ('send' in action) {
            const wire = encodePacket(action.send);
            if (wire.length < 300) throw new Error(`reply of ${wire.length} bytes`);
            sent++;
          }
        }
      }
      now += 20;
    }
    const elapsed = performance.now() - t0;
    if (process.env.DHCP_FUZZ_STATS) console.log({ elapsed, decoded, sent, rejected: Object.fromEntries(rejected) });

    // every rejection path was reached, most mutations still reached the responders
    for (const reason of ['too-short', 'bad-op', 'bad-hlen', 'bad-cookie', 'option-overrun', 'no-message-type', 'bad-message-type'] as const) {
      expect(rejected.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
    expect(decoded).toBeGreaterThan(ITERATIONS / 4);
    expect(sent).toBeGreaterThan(ITERATIONS / 20);
    expect(elapsed).toBeLessThan(15_000);

    // a valid DISCOVER is still answered, by both responders
    const later = now + 86_400_000;
    const offer = full.handle(decodePacket(udhcpcDiscover({ xid: 0x12345678, mac: '02:aa:bb:cc:dd:ee' })), { receivedOn: 'port67', now: later });
    const send = offer.find((a) => 'send' in a);
    expect(send && 'send' in send ? send.send.yiaddr : null).toMatch(/^10\.77\.0\.(1[0-2][0-9]|13[01])$/);
    const proxied = proxy.handle(decodePacket(edk2Discover()), { receivedOn: 'port67', now: later });
    expect(proxied.some((a) => 'send' in a)).toBe(true);
  }, 30_000);
});
