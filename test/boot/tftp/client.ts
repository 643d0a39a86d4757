// A small TFTP read client for the tests (RFC 1350 + 2347/2348/2349/7440), with hooks to misbehave:
// drop a DATA block once (simulated loss), pause before acknowledging, send packets from a second
// socket (wrong TID), abort after the OACK, or stop acknowledging altogether.
// Everything is bounded: per-step timeout, a retry limit and an overall deadline.
import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { decodePacket, encodeAck, encodeError, encodeRequest, type TftpPacket } from '../../../src/boot/tftp/packet.js';

export interface GetOptions {
  port: number;
  host?: string;
  file: string;
  mode?: string;
  /** Request options (sent as is). */
  options?: Record<string, string | number>;
  /** Send a WRQ instead of an RRQ (expects an ERROR). */
  write?: boolean;
  /** Absolute block numbers whose first arrival is discarded, as if lost on the wire. */
  dropBlocks?: number[];
  /** Called after an in-order block is accepted and before it is acknowledged; the client waits for it. */
  onBlock?: (block: number, info: { serverPort: number }) => void | Promise<void>;
  /** Packets sent from a second socket to the server's transfer port once block `atBlock` arrived. */
  intruder?: { atBlock: number; packets: Buffer[] };
  /** Answer the OACK with ERROR 8 (what UEFI PXE does after a tsize probe). */
  abortAfterOack?: boolean;
  /** Send ERROR 0 from the client's own socket after this block, and stop. */
  errorAtBlock?: number;
  /** Stop acknowledging after this block (to make the server time out). */
  stopAckAfter?: number;
  /** Client retransmission timeout. Default 500 ms. */
  timeoutMs?: number;
  /** Client timeouts in a row before giving up. Default 10. */
  maxRetries?: number;
  /** Hard limit for the whole transfer. Default 60 s. */
  deadlineMs?: number;
  keepData?: boolean;
}

export interface GetResult {
  ok: boolean;
  error?: { code: number; message: string };
  oack: Record<string, string> | null;
  size: number;
  sha256: string;
  data?: Buffer;
  blksize: number;
  windowsize: number;
  /** DATA packets received from the server TID (dropped ones included). */
  dataPackets: number;
  /** DATA packets that were not the next expected block (retransmissions, out-of-window). */
  duplicates: number;
  droppedBlocks: number[];
  blocks: number;
  lastBlockLength: number;
  /** Block numbers went past 65535 and wrapped. */
  wrapped: boolean;
  serverPort: number;
  durationMs: number;
  /** Packets the server sent back to the intruder socket. */
  intruderReplies: TftpPacket[];
  /** Packets from an unexpected port received on the client socket. */
  strayPackets: number;
}

function bind(host: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

export async function tftpGet(o: GetOptions): Promise<GetResult> {
  const host = o.host ?? '127.0.0.1';
  const timeoutMs = o.timeoutMs ?? 500;
  const maxRetries = o.maxRetries ?? 10;
  const sock = await bind(host);
  const intruderSock = o.intruder ? await bind(host) : null;
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  const drops = new Set(o.dropBlocks ?? []);
  const started = performance.now();

  const res: GetResult = {
    ok: false,
    oack: null,
    size: 0,
    sha256: '',
    blksize: 512,
    windowsize: 1,
    dataPackets: 0,
    duplicates: 0,
    droppedBlocks: [],
    blocks: 0,
    lastBlockLength: -1,
    wrapped: false,
    serverPort: 0,
    durationMs: 0,
    intruderReplies: [],
    strayPackets: 0,
  };
  intruderSock?.on('message', (msg) => {
    const r = decodePacket(msg);
    if (r.ok) res.intruderReplies.push(r.packet);
  });

  return new Promise<GetResult>((resolve) => {
    let expected = 1; // absolute number of the next block wanted
    let inWindow = 0; // blocks accepted since the last ACK
    let gapAckedFor = -1;
    let lastAck: Buffer | null = null;
    let retries = 0;
    let paused = false;
    let finished = false;
    let intruderSent = false;
    const request = encodeRequest(o.write ? 'WRQ' : 'RRQ', o.file, o.mode ?? 'octet', o.options ?? {});

    const finish = (ok: boolean, error?: { code: number; message: string }): void => {
      if (finished) return;
      finished = true;
      clearInterval(tick);
      clearTimeout(deadline);
      res.ok = ok;
      if (error) res.error = error;
      res.sha256 = hash.digest('hex');
      if (o.keepData) res.data = Buffer.concat(chunks);
      res.durationMs = performance.now() - started;
      // Close a little later so a final ACK/ERROR just queued is not cancelled.
      setTimeout(() => {
        sock.close();
        intruderSock?.close();
      }, 20);
      resolve(res);
    };
    const sendToServer = (buf: Buffer): void => {
      sock.send(buf, res.serverPort || o.port, host);
    };
    const ack = (block: number): void => {
      if (o.stopAckAfter !== undefined && block > o.stopAckAfter) return;
      lastAck = encodeAck(block & 0xffff);
      sendToServer(lastAck);
      inWindow = 0;
    };

    let lastProgress = performance.now();
    const tick = setInterval(() => {
      if (finished || paused) return;
      if (performance.now() - lastProgress < timeoutMs) return;
      lastProgress = performance.now();
      if (++retries > maxRetries) {
        finish(false, { code: -1, message: 'client timeout' });
        return;
      }
      if (res.serverPort === 0) sock.send(request, o.port, host);
      else if (lastAck && o.stopAckAfter === undefined) sendToServer(lastAck);
    }, Math.max(5, Math.floor(timeoutMs / 5)));
    const deadline = setTimeout(() => finish(false, { code: -2, message: 'deadline exceeded' }), o.deadlineMs ?? 60_000);

    const afterAccept = (final: boolean): void => {
      if (final) {
        ack(expected - 1);
        finish(true);
      } else if (inWindow >= res.windowsize) {
        ack(expected - 1);
      }
    };

    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
      if (finished) return;
      if (rinfo.address !== host) return;
      if (res.serverPort === 0) res.serverPort = rinfo.port;
      if (rinfo.port !== res.serverPort) {
        res.strayPackets++;
        return;
      }
      const r = decodePacket(msg);
      if (!r.ok) return;
      const p = r.packet;
      if (p.op === 'ERROR') {
        finish(false, { code: p.code, message: p.message });
        return;
      }
      if (p.op === 'OACK') {
        if (res.oack || expected !== 1) return; // duplicate OACK
        res.oack = p.options;
        if (p.options.blksize) res.blksize = Number(p.options.blksize);
        if (p.options.windowsize) res.windowsize = Number(p.options.windowsize);
        lastProgress = performance.now();
        retries = 0;
        if (o.abortAfterOack) {
          sendToServer(encodeError(8, 'tsize probe done'));
          finish(false, { code: 8, message: 'aborted after OACK (by request)' });
          return;
        }
        ack(0);
        return;
      }
      if (p.op !== 'DATA' || paused) return;
      res.dataPackets++;
      const want = expected & 0xffff;
      if (p.block !== want) {
        res.duplicates++;
        const ahead = (p.block - want) & 0xffff;
        if (ahead < 0x8000) {
          // A later block: one in between was lost. RFC 7440: acknowledge the last in-order block once.
          if (gapAckedFor !== expected) {
            gapAckedFor = expected;
            ack(expected - 1);
          }
        } else if (res.windowsize === 1 && lastAck) {
          sendToServer(lastAck); // classic lock-step client: re-ACK a duplicate (the server must ignore it)
        }
        return;
      }
      if (drops.has(expected)) {
        drops.delete(expected);
        res.droppedBlocks.push(expected);
        return;
      }
      // In order.
      lastProgress = performance.now();
      retries = 0;
      hash.update(p.data);
      if (o.keepData) chunks.push(Buffer.from(p.data));
      res.size += p.data.length;
      res.blocks = expected;
      res.lastBlockLength = p.data.length;
      if (expected > 0xffff) res.wrapped = true;
      expected++;
      inWindow++;
      const final = p.data.length < res.blksize;
      if (o.intruder && intruderSock && !intruderSent && expected - 1 >= o.intruder.atBlock) {
        intruderSent = true;
        for (const pkt of o.intruder.packets) intruderSock.send(pkt, res.serverPort, host);
      }
      if (o.errorAtBlock !== undefined && expected - 1 >= o.errorAtBlock) {
        sendToServer(encodeError(0, 'client gave up'));
        finish(false, { code: -4, message: 'aborted by the client (by request)' });
        return;
      }
      const hook = o.onBlock?.(expected - 1, { serverPort: res.serverPort });
      if (hook && typeof (hook as Promise<void>).then === 'function') {
        paused = true;
        (hook as Promise<void>).then(
          () => {
            paused = false;
            lastProgress = performance.now();
            if (!finished) afterAccept(final);
          },
          (err: unknown) => finish(false, { code: -3, message: `onBlock failed: ${String(err)}` }),
        );
        return;
      }
      afterAccept(final);
    };
    sock.on('message', onMessage);
    sock.send(request, o.port, host);
  });
}

/** Sends one raw datagram from a throwaway socket and collects what comes back for `waitMs`. */
export async function sendRaw(port: number, payload: Buffer, waitMs = 200, host = '127.0.0.1'): Promise<TftpPacket[]> {
  const s = await bind(host);
  const replies: TftpPacket[] = [];
  s.on('message', (msg) => {
    const r = decodePacket(msg);
    if (r.ok) replies.push(r.packet);
  });
  await new Promise<void>((resolve) => s.send(payload, port, host, () => resolve()));
  await new Promise((r) => setTimeout(r, waitMs));
  s.close();
  return replies;
}

/** Deterministic PRNG (mulberry32) for reproducible garbage. */
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

/** `count` garbage datagrams; a third of them start with a real opcode so the decoder's paths get exercised. */
export function garbageDatagrams(seed: number, count: number): Buffer[] {
  const rnd = prng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const len = Math.floor(rnd() * 600);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
    if (len >= 2 && rnd() < 0.33) {
      b[0] = 0;
      b[1] = 1 + Math.floor(rnd() * 7); // 1..7: valid opcodes and one just past them
    }
    out.push(b);
  }
  return out;
}

/** Sends datagrams from one socket in batches (waiting for each batch to leave), bounded by count. */
export async function blast(port: number, datagrams: Buffer[], host = '127.0.0.1'): Promise<number> {
  const s = await bind(host);
  s.on('message', () => {}); // replies (ERROR 4/5...) are not interesting here
  let sent = 0;
  const batch = 200;
  for (let i = 0; i < datagrams.length; i += batch) {
    await Promise.all(
      datagrams.slice(i, i + batch).map(
        (d) =>
          new Promise<void>((resolve) =>
            s.send(d, port, host, () => {
              sent++;
              resolve();
            }),
          ),
      ),
    );
    await new Promise((r) => setImmediate(r));
  }
  s.close();
  return sent;
}
