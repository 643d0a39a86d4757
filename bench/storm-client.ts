// The storm's load generator: one Node process speaking for thousands of blades, each a state machine
// with its own MAC and, once leased, its own IPv4 address (the client namespace routes the whole
// relayed subnet to itself, so a blade's sockets bind its leased address). Every blade does what a
// BIOS blade booting Tabula does, in order:
//   dhcp-pxe   DORA as the PXE ROM (vendor class PXEClient, arch 0) through the relay → undionly.kpxe
//   tftp       RRQ undionly.kpxe, blksize 1432, tsize, lock-step (no windowsize, as PXE ROMs do)
//   dhcp-ipxe  DORA as iPXE (user class iPXE) → http://SERVER/boot.ipxe
//   script     GET /boot.ipxe (generic), then GET /boot/{mac}/ipxe (boot starts, token issued)
//   kernel     GET /boot/{mac}/kernel, Range: the first MiB
//   initrd     GET /boot/{mac}/initrd, Range: the first MiB
//   inventory  POST /boot/{mac}/inventory (X-Tabula-Token), the NICs as pxe/init.sh sends them
//   config     GET /boot/{mac}/config: the apply script, run against a model of the kernel
//   dhcp-os    DORA as udhcpc, for each `tabula_dhcp IFACE` of the script
//   healthz    GET /healthz (verify_server)
//   report     POST /boot/{mac}/report: checks, durations and the kernel state; must come back in sync
// DHCP goes through one relay socket (giaddr = RELAY, port 67): the server answers it unicast.
// Runs inside the client namespace: `node storm-client.js '<json options>'`; one JSON line on stdout,
// progress on stderr.
import { createHash, randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import http from 'node:http';
import { z } from 'zod';
import { decodePacket, encodePacket, type DhcpPacket } from '../src/boot/dhcp/packet.js';
import { MessageType, Opt, getMessageType, getServerId } from '../src/boot/dhcp/options.js';
import { STAGES, type Stage, type StageFigures, type StormOutcome, applyScript, bootKernel, checks, dhcpLease, kernelJson } from './storm-blade.js';
import { bladeMac, inventory } from './seed.js';

const Options = z.object({
  server: z.string(),
  httpPort: z.number().int(),
  tftpPort: z.number().int(),
  /** The relay's address on the blades' subnet: giaddr, and where the server's replies come back. */
  relay: z.string(),
  /** The blades' subnet prefix length (what the leases must say). */
  prefix: z.number().int(),
  blades: z.number().int().min(1).max(65_000),
  concurrency: z.number().int().min(1).max(20_000),
  nics: z.number().int().min(1).max(64),
  bootFile: z.object({ name: z.string(), size: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** Whole run bound: blades not started by then count as failures of stage 'not-started'. */
  deadlineMs: z.number().int().positive(),
  /** After the deadline, how long blades in flight may still take; then they count as 'unfinished'. */
  graceMs: z.number().int().nonnegative(),
});
type Options = z.infer<typeof Options>;

class StageError extends Error {
  constructor(
    readonly stage: Stage,
    message: string,
  ) {
    super(message);
  }
}

/** An answer that repeating the request cannot change: the step fails at once. */
class Final extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

// ------------------------------------------------------------------ statistics

const latencies = new Map<Stage, number[]>();
const retries = new Map<Stage, number>();
const failures = new Map<Stage, number>();
const samples = new Map<Stage, string[]>();
const bladeTimes: number[] = [];
let tftpBusy = 0;
let dhcpNaks = 0;

const retried = (s: Stage, n = 1): void => {
  retries.set(s, (retries.get(s) ?? 0) + n);
};
const took = (s: Stage, v: number): void => {
  const l = latencies.get(s);
  if (l) l.push(v);
  else latencies.set(s, [v]);
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

// ------------------------------------------------------------------ DHCP through one relay socket

type DhcpKind = 'pxe' | 'ipxe' | 'os';

/** Retransmission timeouts: PXE 2.1 spec (4, 8, 16, 32 s), iPXE (1..16 s doubling), udhcpc -t 5 -T 2. */
const DHCP_SCHEDULE: Record<DhcpKind, number[]> = { pxe: [4000, 8000, 16000, 32000], ipxe: [1000, 2000, 4000, 8000, 16000], os: [2000, 2000, 2000, 2000, 2000] };
const PXE_VENDOR = 'PXEClient:Arch:00000:UNDI:002001';

class Relay {
  private readonly waiting = new Map<number, (p: DhcpPacket) => void>();
  private xid = randomBytes(4).readUInt32BE(0);
  constructor(
    private readonly sock: Socket,
    private readonly o: Options,
  ) {
    sock.on('message', (msg) => {
      let p: DhcpPacket;
      try {
        p = decodePacket(msg);
      } catch {
        return; // counted by nobody: the blade times out and retransmits, which is what a real one does
      }
      this.waiting.get(p.xid)?.(p);
    });
  }

  nextXid(): number {
    this.xid = (this.xid + 1) >>> 0;
    return this.xid;
  }

  /** Sends `p` and waits for a reply of one of `types` with its xid, retransmitting on the schedule. */
  async exchange(p: DhcpPacket, types: number[], schedule: number[], stage: Stage): Promise<DhcpPacket> {
    const bytes = encodePacket(p);
    try {
      for (let attempt = 0; attempt < schedule.length; attempt++) {
        if (attempt > 0) retried(stage);
        const reply = await new Promise<DhcpPacket | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), schedule[attempt]);
          this.waiting.set(p.xid, (r) => {
            const t = getMessageType(r);
            if (t !== null && types.includes(t)) {
              clearTimeout(timer);
              resolve(r);
            }
          });
          this.sock.send(bytes, 67, this.o.server);
        });
        if (reply) return reply;
      }
    } finally {
      this.waiting.delete(p.xid);
    }
    throw new StageError(stage, `no ${types.map((t) => (t === MessageType.OFFER ? 'OFFER' : t === MessageType.ACK ? 'ACK' : t === MessageType.NAK ? 'NAK' : String(t))).join('/')} after ${schedule.length} tries (${schedule.reduce((a, b) => a + b, 0) / 1000} s)`);
  }
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));

function clientOptions(kind: DhcpKind, mac: string, blade: number): Map<number, Buffer> {
  const o = new Map<number, Buffer>();
  const uuid = Buffer.concat([Buffer.from([0]), createHash('md5').update(`blade-${blade}`).digest()]);
  if (kind === 'pxe') {
    o.set(Opt.MAX_MESSAGE_SIZE, u16(1260));
    o.set(Opt.PARAMETER_REQUEST_LIST, Buffer.from([1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135]));
    o.set(Opt.CLIENT_UUID, uuid);
    o.set(Opt.CLIENT_NDI, Buffer.from([1, 2, 1]));
    o.set(Opt.CLIENT_ARCH, u16(0));
    o.set(Opt.VENDOR_CLASS, Buffer.from(PXE_VENDOR));
  } else if (kind === 'ipxe') {
    o.set(Opt.MAX_MESSAGE_SIZE, u16(1472));
    o.set(Opt.CLIENT_ARCH, u16(0));
    o.set(Opt.CLIENT_NDI, Buffer.from([1, 2, 1]));
    o.set(Opt.VENDOR_CLASS, Buffer.from(PXE_VENDOR));
    o.set(Opt.USER_CLASS, Buffer.from('iPXE'));
    o.set(Opt.PARAMETER_REQUEST_LIST, Buffer.from([1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203]));
    // iPXE's feature list (option 175): priority, PXE extensions, HTTP, DNS, TFTP, bzImage, ELF.
    o.set(Opt.IPXE_ENCAP, Buffer.from([0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0x13, 0x01, 0x01, 0x11, 0x01, 0x01, 0x17, 0x01, 0x01, 0x15, 0x01, 0x01, 0x18, 0x01, 0x01, 0x12, 0x01, 0x01]));
    o.set(Opt.CLIENT_ID, Buffer.concat([Buffer.from([1]), macBytes(mac)]));
    o.set(Opt.CLIENT_UUID, uuid);
  } else {
    o.set(Opt.CLIENT_ID, Buffer.concat([Buffer.from([1]), macBytes(mac)]));
    o.set(Opt.MAX_MESSAGE_SIZE, u16(576));
    o.set(Opt.HOSTNAME, Buffer.from('tabula'));
    o.set(Opt.VENDOR_CLASS, Buffer.from('udhcp 1.35.0'));
    o.set(Opt.PARAMETER_REQUEST_LIST, Buffer.from([1, 3, 6, 12, 15, 28, 42]));
  }
  // What a rack's relay adds (RFC 3046): the circuit (switch port) the blade sits on.
  const circuit = Buffer.from(`rack1/eth1/${blade}`);
  o.set(Opt.RELAY_AGENT_INFO, Buffer.concat([Buffer.from([1, circuit.length]), circuit]));
  return o;
}

interface Lease {
  ip: string;
  router: string | null;
  file: string;
  siaddr: string;
}

function packet(relay: Relay, o: Options, mac: string, options: Map<number, Buffer>, xid = relay.nextXid()): DhcpPacket {
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 1,
    xid,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: o.relay,
    chaddr: mac,
    sname: '',
    file: '',
    options,
  };
}

async function dora(relay: Relay, o: Options, kind: DhcpKind, blade: number, stage: Stage): Promise<Lease> {
  const mac = bladeMac(blade, 0);
  for (let round = 0; round < 3; round++) {
    const disc = clientOptions(kind, mac, blade);
    disc.set(Opt.MESSAGE_TYPE, Buffer.from([MessageType.DISCOVER]));
    const d = packet(relay, o, mac, disc);
    const offer = await relay.exchange(d, [MessageType.OFFER], DHCP_SCHEDULE[kind], stage);
    const serverId = getServerId(offer);
    if (serverId !== o.server) throw new StageError(stage, `OFFER from server id ${serverId ?? 'none'}, expected ${o.server}`);
    const req = clientOptions(kind, mac, blade);
    req.set(Opt.MESSAGE_TYPE, Buffer.from([MessageType.REQUEST]));
    req.set(Opt.REQUESTED_IP, Buffer.from(offer.yiaddr.split('.').map(Number)));
    req.set(Opt.SERVER_ID, Buffer.from(serverId.split('.').map(Number)));
    const ack = await relay.exchange(packet(relay, o, mac, req, d.xid), [MessageType.ACK, MessageType.NAK], DHCP_SCHEDULE[kind], stage);
    if (getMessageType(ack) === MessageType.NAK) {
      dhcpNaks++; // RFC 2131: back to INIT
      retried(stage);
      continue;
    }
    if (ack.yiaddr !== offer.yiaddr) throw new StageError(stage, `ACK for ${ack.yiaddr}, offered ${offer.yiaddr}`);
    const mask = ack.options.get(Opt.SUBNET_MASK);
    const prefix = mask ? [...mask].reduce((n, b) => n + (b.toString(2).match(/1/g)?.length ?? 0), 0) : -1;
    if (prefix !== o.prefix) throw new StageError(stage, `lease ${ack.yiaddr} with prefix /${prefix}, expected /${o.prefix}`);
    const r = ack.options.get(Opt.ROUTER);
    const file = ack.options.get(Opt.BOOTFILE)?.toString('utf8').replace(/\0+$/, '') ?? ack.file;
    return { ip: ack.yiaddr, router: r && r.length >= 4 ? [...r.subarray(0, 4)].join('.') : null, file, siaddr: ack.siaddr };
  }
  throw new StageError(stage, 'NAK three times in a row');
}

// ------------------------------------------------------------------ TFTP as a PXE ROM does it

const TFTP_TIMEOUT_MS = 2000;
const TFTP_RETRIES = 5;
const TFTP_BUSY_TRIES = 20;

function tftpOnce(o: Options, localIp: string, file: string): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const hash = createHash('sha256');
    const rrq = Buffer.concat([Buffer.from([0, 1]), ...[file, 'octet', 'tsize', '0', 'blksize', '1432'].map((s) => Buffer.from(`${s}\0`))]);
    let tid: number | null = null;
    let blksize = 512;
    let expected = 1;
    let received = 0;
    let last: Buffer = rrq;
    let tries = 0;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const end = (err: Error | null, final?: Buffer): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (final) sock.send(final, tid ?? o.tftpPort, o.server, () => sock.close());
      else sock.close();
      if (err) reject(err);
      else resolve({ bytes: received, sha256: hash.digest('hex') });
    };
    const send = (b: Buffer): void => {
      last = b;
      sock.send(b, tid ?? o.tftpPort, o.server);
    };
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        if (++tries > TFTP_RETRIES) return end(new Error(`timed out after ${received} bytes`));
        retried('tftp');
        sock.send(last, tid ?? o.tftpPort, o.server);
        arm();
      }, TFTP_TIMEOUT_MS);
    };
    const ack = (block: number): Buffer => Buffer.from([0, 4, (block >> 8) & 0xff, block & 0xff]);
    sock.on('error', (e) => end(e));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== o.server || msg.length < 4) return;
      if (tid === null) tid = rinfo.port;
      else if (rinfo.port !== tid) return;
      const op = msg.readUInt16BE(0);
      if (op === 5) return end(new Error(`ERROR ${msg.readUInt16BE(2)}: ${msg.subarray(4).toString('latin1').replace(/\0.*$/s, '')}`));
      if (op === 6) {
        const f = msg.subarray(2).toString('latin1').split('\0');
        for (let i = 0; i + 1 < f.length; i += 2) if (f[i]?.toLowerCase() === 'blksize') blksize = Number(f[i + 1]);
        tries = 0;
        send(ack(0));
        arm();
        return;
      }
      if (op !== 3) return;
      const block = msg.readUInt16BE(2);
      if (block !== expected) {
        if (block === ((expected - 1) & 0xffff)) sock.send(last, tid, o.server); // our ACK was lost
        return;
      }
      const data = msg.subarray(4);
      hash.update(data);
      received += data.length;
      expected = (expected + 1) & 0xffff;
      tries = 0;
      if (data.length < blksize) return end(null, ack(block));
      send(ack(block));
      arm();
    });
    sock.bind({ address: localIp, port: 0 }, () => {
      send(rrq);
      arm();
    });
  });
}

async function tftp(o: Options, localIp: string, file: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await tftpOnce(o, localIp, file);
      if (r.bytes !== o.bootFile.size) throw new Error(`got ${r.bytes} bytes, expected ${o.bootFile.size}`);
      if (r.sha256 !== o.bootFile.sha256) throw new Error('SHA-256 mismatch');
      return;
    } catch (e) {
      const msg = (e as Error).message;
      // A busy server: a PXE ROM would fail this boot and the BIOS retry it; here the blade waits and asks again.
      if (/busy/i.test(msg) && attempt < TFTP_BUSY_TRIES) {
        tftpBusy++;
        retried('tftp');
        await sleep(250 + Math.random() * 750);
        continue;
      }
      throw new StageError('tftp', msg);
    }
  }
}

// ------------------------------------------------------------------ HTTP as iPXE and busybox wget do it

const HTTP_TIMEOUT_MS = 15_000;
const HTTP_TRIES = 5;
const HTTP_RETRY_MS = 2000;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(o: Options, localIp: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: o.server, port: o.httpPort, method, path, headers, localAddress: localIp, agent: false, timeout: HTTP_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HTTP_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One HTTP step, repeated 2 s apart (pxe/init.sh retry) until `accept` passes, at most HTTP_TRIES times. */
async function step<T>(stage: Stage, o: Options, localIp: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, accept: (r: Reply) => T): Promise<T> {
  let why = '';
  for (let attempt = 0; attempt < HTTP_TRIES; attempt++) {
    if (attempt > 0) {
      retried(stage);
      await sleep(HTTP_RETRY_MS);
    }
    try {
      const r = await request(o, localIp, method, path, headers, body);
      return accept(r);
    } catch (e) {
      why = (e as Error).message;
      if (e instanceof Final) break;
    }
  }
  throw new StageError(stage, `${method} ${path}: ${why}`);
}

function expect(r: Reply, status: number, what: string): void {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
}

// ------------------------------------------------------------------ one blade

async function blade(o: Options, relay: Relay, b: number): Promise<void> {
  const mac = bladeMac(b, 0);
  const hyp = mac.replace(/:/g, '-');
  const t0 = process.hrtime.bigint();
  const timed = async <T>(s: Stage, f: () => Promise<T>): Promise<T> => {
    const t = process.hrtime.bigint();
    const r = await f();
    took(s, ms(t));
    return r;
  };

  const pxe = await timed('dhcp-pxe', () => dora(relay, o, 'pxe', b, 'dhcp-pxe'));
  if (pxe.file !== o.bootFile.name || pxe.siaddr !== o.server) throw new StageError('dhcp-pxe', `boot file '${pxe.file}' from ${pxe.siaddr}, expected ${o.bootFile.name} from ${o.server}`);
  await timed('tftp', () => tftp(o, pxe.ip, pxe.file));
  const ipxe = await timed('dhcp-ipxe', () => dora(relay, o, 'ipxe', b, 'dhcp-ipxe'));
  const base = `http://${o.server}:${o.httpPort}`;
  if (ipxe.file !== `${base}/boot.ipxe`) throw new StageError('dhcp-ipxe', `boot file '${ipxe.file}', expected ${base}/boot.ipxe`);
  if (ipxe.ip !== pxe.ip) throw new StageError('dhcp-ipxe', `iPXE got ${ipxe.ip}, the PXE ROM had ${pxe.ip}`);
  const ip = ipxe.ip;

  const host = await timed('script', async () => {
    await step('script', o, ip, 'GET', '/boot.ipxe', {}, undefined, (r) => {
      expect(r, 200, 'generic script');
      if (!r.body.toString('utf8').includes('/boot/${netX/mac:hexhyp}/ipxe')) throw new Error('the generic script does not chain by MAC');
    });
    return step('script', o, ip, 'GET', `/boot/${hyp}/ipxe`, {}, undefined, (r) => {
      expect(r, 200, 'host script');
      const text = r.body.toString('utf8');
      const token = /tabula\.token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
      const kernel = /^kernel (\S+)/m.exec(text)?.[1];
      const initrd = /^initrd (?:--name \S+ )?(\S+)/m.exec(text)?.[1];
      if (!token || !kernel || !initrd) throw new Error(`host script without token, kernel or initrd:\n${text.slice(0, 300)}`);
      return { token, kernel: new URL(kernel).pathname, initrd: new URL(initrd).pathname };
    });
  });
  for (const [s, path] of [
    ['kernel', host.kernel],
    ['initrd', host.initrd],
  ] as const) {
    await timed(s, () =>
      step(s, o, ip, 'GET', path, { Range: 'bytes=0-1048575' }, undefined, (r) => {
        expect(r, 206, s);
        if (r.body.length !== 1 << 20) throw new Error(`${s}: ${r.body.length} bytes for the first MiB`);
      }),
    );
  }
  const auth = { 'X-Tabula-Token': host.token };
  const inv = inventory(b, o.nics);
  const invBody = JSON.stringify(inv);
  let t = process.hrtime.bigint();
  await step('inventory', o, ip, 'POST', `/boot/${hyp}/inventory`, { ...auth, 'Content-Type': 'application/json' }, invBody, (r) => {
    expect(r, 200, 'inventory');
    const res = JSON.parse(r.body.toString('utf8')) as { changes?: unknown[] };
    if ((res.changes ?? []).length > 0) throw new Final(`a returning blade's inventory changed ${res.changes?.length} thing(s)`);
  });
  const inventoryMs = ms(t);
  took('inventory', inventoryMs);

  t = process.hrtime.bigint();
  const cfg = await step('config', o, ip, 'GET', `/boot/${hyp}/config`, auth, undefined, (r) => {
    expect(r, 200, 'config');
    const generation = Number(r.headers['x-tabula-generation']);
    if (!Number.isInteger(generation)) throw new Error('config without X-Tabula-Generation');
    return { script: r.body.toString('utf8'), generation };
  });
  const configMs = ms(t);
  took('config', configMs);

  t = process.hrtime.bigint();
  const kernel = bootKernel(inv);
  try {
    applyScript(kernel, cfg.script);
  } catch (e) {
    throw new StageError('config', `the apply script fails: ${(e as Error).message}`);
  }
  const applyMs = ms(t);
  const leases = new Map<string, string>();
  for (const iface of kernel.dhcp) {
    // udhcpc on the blade's own NIC: the lease the server hands its boot MAC.
    const lease = await timed('dhcp-os', () => dora(relay, o, 'os', b, 'dhcp-os'));
    dhcpLease(kernel, iface, lease.ip, o.prefix, lease.router);
    leases.set(iface, lease.ip);
  }
  t = process.hrtime.bigint();
  await step('healthz', o, ip, 'GET', '/healthz', {}, undefined, (r) => expect(r, 200, 'healthz'));
  const healthMs = ms(t);
  took('healthz', healthMs);

  const report = {
    generation: cfg.generation,
    verified: true,
    checks: checks(kernel, `${base}/healthz answered after ${Math.round(healthMs)} ms`, leases),
    durationsMs: { inventory: Math.round(inventoryMs), config: Math.round(configMs), apply: Math.round(applyMs), verify: Math.round(healthMs), uptime: Math.round(ms(t0)) },
    kernel: kernelJson(kernel),
  };
  await timed('report', () =>
    step('report', o, ip, 'POST', `/boot/${hyp}/report`, { ...auth, 'Content-Type': 'application/json' }, JSON.stringify(report), (r) => {
      expect(r, 200, 'report');
      const res = JSON.parse(r.body.toString('utf8')) as { inSync?: boolean; appliedGeneration?: number | null };
      if (res.inSync !== true || res.appliedGeneration !== cfg.generation) {
        throw new Final(`after a verified report of generation ${cfg.generation} the host is ${res.inSync ? '' : 'not '}in sync, applied ${String(res.appliedGeneration)}`);
      }
    }),
  );
  bladeTimes.push(ms(t0));
}

// ------------------------------------------------------------------ the run

async function main(): Promise<void> {
  const o = Options.parse(JSON.parse(process.argv[2] ?? '{}'));
  const cpu0 = process.cpuUsage();
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: o.relay, port: 67 }, () => resolve());
  });
  const relay = new Relay(sock, o);
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + o.deadlineMs;
  let next = 0;
  let ok = 0;
  let done = 0;
  const fail = (s: Stage, msg: string): void => {
    failures.set(s, (failures.get(s) ?? 0) + 1);
    const l = samples.get(s) ?? [];
    if (l.length < 3) l.push(msg);
    samples.set(s, l);
  };
  const progress = setInterval(() => {
    const f = [...failures.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(`storm: ${done}/${o.blades} blades done (${f} failed), ${next - done} in flight, ${(ms(t0) / 1000).toFixed(0)} s\n`);
  }, 10_000);
  const inFlight = new Set<number>();
  const workers = Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.blades) }, async () => {
      for (;;) {
        const b = next++;
        if (b >= o.blades) return;
        if (Date.now() > deadline) {
          fail('not-started', 'the run deadline passed');
          done++;
          continue;
        }
        inFlight.add(b);
        try {
          await blade(o, relay, b);
          ok++;
        } catch (e) {
          if (e instanceof StageError) fail(e.stage, e.message);
          else fail('client', `unexpected: ${(e as Error).stack ?? String(e)}`);
        }
        inFlight.delete(b);
        done++;
      }
    }),
  );
  let grace: NodeJS.Timeout | undefined;
  const cutOff = await Promise.race([
    workers.then(() => false),
    new Promise<boolean>((r) => (grace = setTimeout(() => r(true), Math.max(0, deadline - Date.now()) + o.graceMs))),
  ]);
  clearTimeout(grace);
  clearInterval(progress);
  if (cutOff) {
    // Their timers and sockets stay behind: the process exits right after the figures.
    for (const b of inFlight) fail('unfinished', `blade ${b} still booting ${o.graceMs / 1000} s after the run deadline`);
    for (; next < o.blades; next++) fail('not-started', 'the run deadline passed');
  }
  const seconds = ms(t0) / 1000;
  sock.close();
  const stages: Record<string, StageFigures> = {};
  for (const s of STAGES) {
    const l = (latencies.get(s) ?? []).sort((a, b) => a - b);
    stages[s] = { n: l.length, p50: percentile(l, 50), p99: percentile(l, 99), max: l[l.length - 1] ?? NaN, failures: failures.get(s) ?? 0, retries: retries.get(s) ?? 0 };
  }
  bladeTimes.sort((a, b) => a - b);
  const cpu = process.cpuUsage(cpu0);
  const out: StormOutcome = {
    blades: o.blades,
    ok,
    seconds,
    stages,
    blade: { p50: percentile(bladeTimes, 50), p99: percentile(bladeTimes, 99), max: bladeTimes[bladeTimes.length - 1] ?? NaN },
    failures: Object.fromEntries(failures),
    samples: Object.fromEntries(samples),
    tftpBusy,
    dhcpNaks,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  console.log(JSON.stringify(out));
  if (cutOff) process.exit(0); // stdout is a pipe: written synchronously on Linux
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
