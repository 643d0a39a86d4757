// A small TFTP read client for the benchmark: N concurrent clients, each fetching the same file R
// times in a row, every transfer's bytes checked against the expected SHA-256. Prints one JSON line.
// Runs inside the client namespace: `node tftp-client.js '<json options>'`.
import { createHash } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import { z } from 'zod';

const Options = z.object({
  host: z.string(),
  port: z.number().int().default(69),
  file: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  clients: z.number().int().min(1).max(200),
  repeat: z.number().int().min(1).max(1000),
  blksize: z.number().int().min(8).max(65464),
  /** 0: do not ask (lock-step, RFC 1350 acknowledgements). */
  windowsize: z.number().int().min(0).max(64),
  /** Whole run bound. */
  deadlineMs: z.number().int().positive(),
});
type Options = z.infer<typeof Options>;

const OP = { RRQ: 1, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

interface Outcome {
  bytes: number;
  blksize: number;
  windowsize: number;
}

function rrq(o: Options): Buffer {
  const parts = [o.file, 'octet', 'blksize', String(o.blksize), 'tsize', '0'];
  if (o.windowsize > 0) parts.push('windowsize', String(o.windowsize));
  return Buffer.concat([Buffer.from([0, OP.RRQ]), ...parts.map((p) => Buffer.from(`${p}\0`))]);
}

function ack(block: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(OP.ACK, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  return b;
}

function parseOack(msg: Buffer): Map<string, string> {
  const fields = msg.subarray(2).toString('latin1').split('\0');
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!.toLowerCase(), fields[i + 1]!);
  return m;
}

/** One transfer: resolves with what was negotiated, rejects on ERROR, bad bytes or timeouts. */
function transfer(o: Options): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createSocket('udp4');
    const hash = createHash('sha256');
    let tid: number | null = null;
    let blksize = 512;
    let windowsize = 1;
    let expected = 1; // next DATA block number (mod 65536)
    let received = 0; // bytes in order
    let sinceAck = 0;
    let lastAck: Buffer | null = null;
    let retries = 0;
    let nakFor = -1; // the block we already re-acknowledged for after a gap
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const first = rrq(o);

    const end = (err: Error | null, out?: Outcome, lastPacket?: Buffer): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      // Close only once the final ACK is on the wire: closing first drops it, and the server times out.
      if (lastPacket) sock.send(lastPacket, tid ?? o.port, o.host, () => sock.close());
      else sock.close();
      if (err) reject(err);
      else resolve(out as Outcome);
    };
    const send = (b: Buffer): void => {
      sock.send(b, tid ?? o.port, o.host);
    };
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        if (++retries > 5) return end(new Error(`timed out after ${received} bytes`));
        send(lastAck ?? first);
        arm();
      }, 1000);
    };

    sock.on('error', (e) => end(e));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== o.host) return;
      if (tid === null) tid = rinfo.port;
      else if (rinfo.port !== tid) return;
      const op = msg.readUInt16BE(0);
      if (op === OP.ERROR) return end(new Error(`server ERROR ${msg.readUInt16BE(2)}: ${msg.subarray(4).toString('latin1').replace(/\0.*$/, '')}`));
      if (op === OP.OACK) {
        const m = parseOack(msg);
        blksize = Number(m.get('blksize') ?? 512);
        windowsize = Number(m.get('windowsize') ?? 1);
        lastAck = ack(0);
        retries = 0;
        send(lastAck);
        arm();
        return;
      }
      if (op !== OP.DATA) return;
      const block = msg.readUInt16BE(2);
      if (block !== expected) {
        // Out of order or a repeat: say where we are (RFC 7440 §4), once per window at most.
        if (lastAck && nakFor !== expected && ((block - expected) & 0xffff) < 0x8000) {
          nakFor = expected;
          send(lastAck);
        }
        return;
      }
      const data = msg.subarray(4);
      hash.update(data);
      received += data.length;
      expected = (expected + 1) & 0xffff;
      retries = 0;
      const last = data.length < blksize;
      if (last) {
        const final = ack(block);
        if (received !== o.size) return end(new Error(`got ${received} bytes, expected ${o.size}`), undefined, final);
        const sum = hash.digest('hex');
        if (sum !== o.sha256) return end(new Error(`SHA-256 mismatch: ${sum}`), undefined, final);
        return end(null, { bytes: received, blksize, windowsize }, final);
      }
      if (++sinceAck >= windowsize) {
        sinceAck = 0;
        lastAck = ack(block);
        send(lastAck);
      }
      arm();
    });
    sock.bind(0, () => {
      send(first);
      arm();
    });
  });
}

async function main(): Promise<void> {
  const o = Options.parse(JSON.parse(process.argv[2] ?? '{}'));
  const deadline = Date.now() + o.deadlineMs;
  let bytes = 0;
  let transfers = 0;
  const failures: string[] = [];
  let negotiated: Outcome | null = null;
  let busy = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      for (let i = 0; i < o.repeat && Date.now() < deadline; i++) {
        // A 'busy' refusal is retried after 20 ms (as a PXE ROM retries), up to 50 times, and counted.
        for (let attempt = 0; ; attempt++) {
          try {
            const r = await transfer(o);
            bytes += r.bytes;
            transfers++;
            negotiated = r;
          } catch (e) {
            const msg = (e as Error).message;
            if (/busy/i.test(msg) && attempt < 50 && Date.now() < deadline) {
              busy++;
              await new Promise((r) => setTimeout(r, 20));
              continue;
            }
            failures.push(msg);
          }
          break;
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = negotiated as Outcome | null;
  console.log(JSON.stringify({ bytes, seconds, transfers, busy, failures: failures.length, firstFailure: failures[0] ?? null, blksize: n?.blksize ?? null, windowsize: n?.windowsize ?? null }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
