// Read-only TFTP server against a real UDP client on 127.0.0.1 (random ports, bounded everything).
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferFile, type FileProvider } from '../../../src/boot/tftp/files.js';
import { decodePacket, encodeAck, encodeError, encodeRequest, type TftpPacket } from '../../../src/boot/tftp/packet.js';
import {
  startTftpServer,
  type TftpLogger,
  type TftpServer,
  type TftpServerStats,
  type TransferEvent,
} from '../../../src/boot/tftp/server.js';
import { blast, garbageDatagrams, sendRaw, tftpGet, type GetOptions } from './client.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'tabula-tftp-'));
const root = join(work, 'root');
const outside = join(work, 'outside');
const files: Record<string, Buffer> = {};

function put(name: string, data: Buffer): void {
  writeFileSync(join(root, name), data);
  files[name] = data;
}

let server: TftpServer;
const events: TransferEvent[] = [];
let port = 0;

beforeAll(async () => {
  mkdirSync(root);
  mkdirSync(outside);
  mkdirSync(join(root, 'sub'));
  put('small.bin', randomBytes(3000));
  put('one-mib.bin', randomBytes(MiB));
  put('thirty-mib.bin', randomBytes(30 * MiB));
  put('exact-512.bin', randomBytes(512 * 4));
  put('exact-1468.bin', randomBytes(1468 * 3));
  put('empty.bin', Buffer.alloc(0));
  put('sub/inner.txt', Buffer.from('inner file\n'));
  writeFileSync(join(outside, 'secret.txt'), 'secret outside the root\n');
  symlinkSync('small.bin', join(root, 'inside-link'));
  symlinkSync('../sub/inner.txt', join(root, 'sub', 'self-link')); // relative link that stays inside
  symlinkSync(join(outside, 'secret.txt'), join(root, 'escape-link'));
  symlinkSync('../outside/secret.txt', join(root, 'escape-relative'));
  symlinkSync(outside, join(root, 'escape-dir'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  // A pino logger must fit the server's logger type (checked by tsc), silent here.
  const logger: TftpLogger = pino({ level: 'silent' });
  server = await startTftpServer({
    root,
    address: '127.0.0.1',
    port: 0,
    logger,
    defaultTimeoutMs: 200,
    retries: 5,
    onTransfer: (e) => events.push(e),
  });
  port = server.address().port;
}, 30_000);

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const get = (file: string, o: Partial<GetOptions> = {}) => tftpGet({ port, file, timeoutMs: 300, ...o });
const delta = (before: TftpServerStats, after: TftpServerStats, k: keyof TftpServerStats): number => after[k] - before[k];

/** Waits (bounded) until `pred` holds. */
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await sleep(10);
}

/** Lets earlier transfers finish (the server sees the final ACK after the client is done), then clears events. */
async function resetEvents(): Promise<void> {
  await until(() => server.stats().activeTransfers === 0);
  events.length = 0;
}

describe('TFTP server: transfers', () => {
  const variants: [string, Record<string, number>][] = [
    ['lock-step 512', {}],
    ['blksize 1468', { blksize: 1468 }],
    ['blksize 1468 windowsize 8', { blksize: 1468, windowsize: 8 }],
  ];

  it.each(variants)('1 MiB, %s: identical bytes', async (_label, options) => {
    const r = await get('one-mib.bin', { options });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.size).toBe(MiB);
    expect(r.sha256).toBe(sha(files['one-mib.bin']!));
    expect(r.blksize).toBe(options.blksize ?? 512);
    expect(r.windowsize).toBe(options.windowsize ?? 1);
    expect(r.duplicates).toBe(0);
  });

  const throughput: Record<string, number> = {};
  it.each(variants)(
    '30 MiB, %s: identical bytes',
    async (label, options) => {
      const r = await get('thirty-mib.bin', { options: { ...options, tsize: 0 } });
      expect(r.ok).toBe(true);
      expect(r.oack?.tsize).toBe(String(30 * MiB));
      expect(r.size).toBe(30 * MiB);
      expect(r.sha256).toBe(sha(files['thirty-mib.bin']!));
      throughput[label] = r.size / 1e6 / (r.durationMs / 1000);
    },
    60_000,
  );

  afterAll(() => {
    const lines = Object.entries(throughput).map(([k, v]) => `  ${k}: ${v.toFixed(1)} MB/s`);
    console.log(`TFTP 30 MiB over 127.0.0.1 (client and server in one process):\n${lines.join('\n')}`);
  });

  it('answers tsize with the real size; option names and mode are case-insensitive', async () => {
    const r = await get('small.bin', { mode: 'OCTET', options: { TSIZE: 0, BlkSize: 1024 } });
    expect(r.ok).toBe(true);
    expect(r.oack).toEqual({ tsize: '3000', blksize: '1024' });
    expect(r.sha256).toBe(sha(files['small.bin']!));
    const n = await get('small.bin', { mode: 'NetAscii' }); // served as octet
    expect(n.ok).toBe(true);
    expect(n.sha256).toBe(sha(files['small.bin']!));
  });

  it('clamps or leaves out options as negotiated, and falls back to RFC 1350 without an OACK', async () => {
    const big = await get('small.bin', { options: { blksize: 65464, windowsize: 100, timeout: 2 } });
    expect(big.oack).toEqual({ blksize: '1468', windowsize: '64', timeout: '2' });
    expect(big.sha256).toBe(sha(files['small.bin']!));
    const none = await get('small.bin', { options: { blksize: 4, timeout: 0, foo: 1 } });
    expect(none.ok).toBe(true);
    expect(none.oack).toBe(null); // nothing acceptable: plain DATA 1 of 512 bytes
    expect(none.blocks).toBe(6);
    expect(none.sha256).toBe(sha(files['small.bin']!));
  });

  it('ends with an empty block when the size is a multiple of blksize', async () => {
    const a = await get('exact-512.bin');
    expect(a.ok).toBe(true);
    expect([a.blocks, a.lastBlockLength, a.size]).toEqual([5, 0, 2048]);
    const b = await get('exact-1468.bin', { options: { blksize: 1468, windowsize: 8 } });
    expect(b.ok).toBe(true);
    expect([b.blocks, b.lastBlockLength, b.size]).toEqual([4, 0, 1468 * 3]);
    expect(b.sha256).toBe(sha(files['exact-1468.bin']!));
    const e = await get('empty.bin', { options: { tsize: 0 } });
    expect(e.ok).toBe(true);
    expect(e.oack).toEqual({ tsize: '0' });
    expect([e.blocks, e.lastBlockLength, e.size]).toEqual([1, 0, 0]);
  });

  it('serves 20 concurrent transfers correctly', async () => {
    const opts: Record<string, number>[] = [{}, { blksize: 1468 }, { blksize: 1468, windowsize: 8 }, { blksize: 1024, windowsize: 4, tsize: 0 }];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(i % 5 === 4 ? 'small.bin' : 'one-mib.bin', { options: opts[i % opts.length]!, deadlineMs: 40_000 })),
    );
    results.forEach((r, i) => {
      expect(r.ok).toBe(true);
      expect(r.sha256).toBe(sha(files[i % 5 === 4 ? 'small.bin' : 'one-mib.bin']!));
    });
    expect(new Set(results.map((r) => r.serverPort)).size).toBe(20); // one TID per transfer
    await until(() => server.stats().activeTransfers === 0);
    expect(server.stats().activeTransfers).toBe(0);
  }, 45_000);

  it('reports completed transfers to onTransfer', async () => {
    await resetEvents();
    const r = await get('small.bin', { options: { blksize: 1468, windowsize: 2 } });
    expect(r.ok).toBe(true);
    await until(() => events.length > 0);
    expect(events[0]).toMatchObject({
      file: 'small.bin',
      client: { address: '127.0.0.1' },
      bytes: 3000,
      size: 3000,
      blksize: 1468,
      windowsize: 2,
      outcome: 'complete',
    });
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('TFTP server: loss, retransmission and TIDs', () => {
  it('recovers a lost DATA block in lock-step with one retransmission (duplicate ACKs ignored)', async () => {
    const before = server.stats();
    const r = await get('one-mib.bin', { dropBlocks: [100], timeoutMs: 100 });
    const after = server.stats();
    expect(r.ok).toBe(true);
    expect(r.droppedBlocks).toEqual([100]);
    expect(r.sha256).toBe(sha(files['one-mib.bin']!));
    const blocks = MiB / 512 + 1;
    // The client re-ACKed block 99 while waiting; the server must not answer those with DATA.
    expect(delta(before, after, 'duplicateAcks')).toBeGreaterThanOrEqual(1);
    expect(delta(before, after, 'retransmissions')).toBeGreaterThanOrEqual(1);
    expect(delta(before, after, 'retransmissions')).toBeLessThanOrEqual(2);
    expect(delta(before, after, 'dataPacketsSent')).toBeLessThanOrEqual(blocks + 2);
    expect(r.dataPackets).toBeLessThanOrEqual(blocks + 2);
  });

  it.each([
    ['mid-window block (gap ACK)', 100],
    ['first block of a window (server timeout)', 97],
    ['block 1', 1],
    ['the final block', Math.floor(MiB / 1468) + 1],
  ])('recovers a lost %s with windowsize 8 without a flood of duplicates', async (_label, block) => {
    const before = server.stats();
    const r = await get('one-mib.bin', { options: { blksize: 1468, windowsize: 8 }, dropBlocks: [block], timeoutMs: 1000 });
    const after = server.stats();
    expect(r.ok).toBe(true);
    expect(r.droppedBlocks).toEqual([block]);
    expect(r.sha256).toBe(sha(files['one-mib.bin']!));
    const blocks = Math.floor(MiB / 1468) + 1;
    const sent = delta(before, after, 'dataPacketsSent');
    expect(sent).toBeGreaterThanOrEqual(blocks + 1);
    expect(sent).toBeLessThanOrEqual(blocks + 8 + 2); // at most one window + a few
    expect(delta(before, after, 'retransmissions')).toBeLessThanOrEqual(8 + 2);
  });

  it('answers packets from a wrong TID with ERROR 5 and does not disturb the transfer', async () => {
    const before = server.stats();
    const r = await get('one-mib.bin', {
      options: { blksize: 1468 },
      intruder: { atBlock: 50, packets: [encodeError(0, 'bogus abort'), encodeAck(50), encodeAck(51), encodeAck(700)] },
    });
    const after = server.stats();
    expect(r.ok).toBe(true);
    expect(r.sha256).toBe(sha(files['one-mib.bin']!));
    expect(delta(before, after, 'wrongTid')).toBe(4);
    await until(() => r.intruderReplies.length >= 3, 1000);
    // ERROR 5 for each ACK, nothing in reply to the ERROR.
    expect(r.intruderReplies).toEqual(Array(3).fill({ op: 'ERROR', code: 5, message: 'Unknown transfer ID' }));
    expect(delta(before, after, 'aborted')).toBe(0);
  });

  it('aborts the transfer on a client ERROR (tsize probe, mid-transfer abort)', async () => {
    await resetEvents();
    const probe = await get('one-mib.bin', { options: { tsize: 0, blksize: 1468 }, abortAfterOack: true });
    expect(probe.oack?.tsize).toBe(String(MiB));
    const mid = await get('one-mib.bin', { errorAtBlock: 20 });
    expect(mid.error?.code).toBe(-4);
    await until(() => events.length >= 2);
    expect(events.map((e) => e.outcome)).toEqual(['aborted', 'aborted']);
    expect(events[0]!.reason).toContain('client error 8');
    expect(events[1]!.bytes).toBeGreaterThanOrEqual(19 * 512);
    expect(server.stats().activeTransfers).toBe(0);
  });

  it('gives up after the retry limit when the client goes silent', async () => {
    await resetEvents();
    const before = server.stats();
    const r = await get('one-mib.bin', { options: { blksize: 1468, windowsize: 4 }, stopAckAfter: 8, timeoutMs: 5000 });
    const after = server.stats();
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 0, message: 'Timeout' });
    expect(delta(before, after, 'timedOut')).toBe(1);
    expect(delta(before, after, 'retransmissions')).toBe(5 * 4); // 5 retries of the 4-block window
    await until(() => events.length > 0);
    expect(events[0]).toMatchObject({ outcome: 'timeout', bytes: 8 * 1468 });
  });

  it('ignores a repeated RRQ from the same client port', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const seen: { port: number; p: TftpPacket }[] = [];
    s.on('message', (msg, rinfo) => {
      const d = decodePacket(msg);
      if (d.ok) seen.push({ port: rinfo.port, p: d.packet });
    });
    const rrq = encodeRequest('RRQ', 'small.bin');
    s.send(rrq, port, '127.0.0.1');
    s.send(rrq, port, '127.0.0.1');
    await until(() => seen.length > 0, 1000);
    await sleep(50);
    const first = seen[0]!;
    expect(first.p).toMatchObject({ op: 'DATA', block: 1 });
    s.send(encodeError(0, 'done'), first.port, '127.0.0.1'); // end it politely
    await sleep(50);
    s.close();
    expect(new Set(seen.map((x) => x.port)).size).toBe(1);
  });
});

describe('TFTP server: refusals and path safety', () => {
  const expectError = async (file: string, code: number): Promise<void> => {
    const r = await get(file);
    expect(r.ok, `${JSON.stringify(file)} should be refused`).toBe(false);
    expect(r.error?.code, `${JSON.stringify(file)}: ${r.error?.message}`).toBe(code);
    expect(r.size).toBe(0);
  };

  it('refuses WRQ (read-only)', async () => {
    const r = await get('upload.bin', { write: true });
    expect(r.error?.code).toBe(2);
    expect(() => readFileSync(join(root, 'upload.bin'))).toThrow();
  });

  it('refuses unsupported modes', async () => {
    const r = await get('small.bin', { mode: 'mail' });
    expect(r.error?.code).toBe(4);
  });

  it.each(['../etc/passwd', '/../x', 'a/../../x', '..\\..\\etc\\passwd', 'sub/../small.bin', 'escape-link', 'escape-relative', 'escape-dir/secret.txt', 'sub', 'fifo', 'loop-a'])(
    'refuses %j with an access violation',
    async (name) => {
      await expectError(name, 2);
    },
  );

  it('answers file not found for missing files, and /etc/passwd stays under the root', async () => {
    await expectError('missing.bin', 1);
    await expectError('/etc/passwd', 1);
    await expectError('/', 1);
  });

  it('never serves a name cut by a NUL byte', async () => {
    // On the wire a NUL ends the file name: "small.bin\0../../etc/passwd\0" is file "small.bin" with
    // mode "../../etc/passwd" (ERROR 4); "small.bin\0x\0octet\0" has a dangling option (dropped).
    // (A NUL inside a name that reaches the path checks is refused too: see packet.test.ts.)
    const a = await sendRaw(port, Buffer.from('\x00\x01small.bin\x00../../etc/passwd\x00', 'latin1'));
    expect(a).toEqual([{ op: 'ERROR', code: 4, message: "Unsupported mode '../../etc/passwd'" }]);
    const b = await sendRaw(port, Buffer.from('\x00\x01small.bin\x00x\x00octet\x00', 'latin1'));
    expect(b).toEqual([]);
  });

  it('serves symlinks that stay inside the root, and root-relative and backslash names', async () => {
    const link = await get('inside-link');
    expect(link.sha256).toBe(sha(files['small.bin']!));
    for (const name of ['sub/inner.txt', '/sub/inner.txt', 'sub\\inner.txt', 'sub/self-link', '/./sub//inner.txt']) {
      const r = await get(name, { keepData: true });
      expect(r.ok, name).toBe(true);
      expect(r.data?.toString()).toBe('inner file\n');
    }
  });

  it('reports refusals to onTransfer', async () => {
    await resetEvents();
    await get('../etc/passwd');
    await until(() => events.length > 0);
    expect(events[0]).toMatchObject({ file: '../etc/passwd', outcome: 'refused', bytes: 0 });
  });
});

describe('TFTP server: hostile datagrams', () => {
  it('survives an empty datagram and 10,000 garbage datagrams on the main port and a transfer port', async () => {
    const before = server.stats();
    // A lock-step transfer paused at block 3 (it asks for a 10 s timeout so the server waits for it).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let transferPort = 0;
    const paused = get('one-mib.bin', {
      options: { timeout: 10 },
      deadlineMs: 40_000,
      onBlock: (block, info) => {
        if (block !== 3) return;
        transferPort = info.serverPort;
        return gate;
      },
    });
    await until(() => transferPort !== 0);
    expect(transferPort).not.toBe(0);

    expect(await sendRaw(port, Buffer.alloc(0), 50)).toEqual([]);
    expect(await sendRaw(transferPort, Buffer.alloc(0), 50)).toEqual([]);
    const junk = garbageDatagrams(20240611, 10_000);
    expect(await blast(port, junk)).toBe(10_000);
    expect(await blast(transferPort, junk)).toBe(10_000);
    await sleep(200);

    const mid = server.stats();
    expect(delta(before, mid, 'malformed')).toBeGreaterThan(1000); // the kernel may drop some under load
    // Still answering: a fresh request works while the paused one waits.
    const fresh = await get('small.bin');
    expect(fresh.ok).toBe(true);
    release();
    const r = await paused;
    expect(r.ok).toBe(true);
    expect(r.sha256).toBe(sha(files['one-mib.bin']!));
    await until(() => server.stats().activeTransfers === 0, 5000);
    expect(server.stats().activeTransfers).toBe(0);
  }, 40_000);
});

describe('TFTP server: separate instances', () => {
  it('beyond maxTransfers leaves a request unanswered (an ERROR would make a PXE ROM give up) and serves its retransmission', async () => {
    const s = await startTftpServer({ root, address: '127.0.0.1', port: 0, maxTransfers: 2, defaultTimeoutMs: 2000 });
    try {
      const p = s.address().port;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let waiting = 0;
      const hold = (): Promise<void> => {
        waiting++;
        return gate;
      };
      const a = tftpGet({ port: p, file: 'small.bin', onBlock: (b) => (b === 1 ? hold() : undefined) });
      const b = tftpGet({ port: p, file: 'small.bin', onBlock: (b) => (b === 1 ? hold() : undefined) });
      await until(() => waiting === 2);
      expect(await sendRaw(p, encodeRequest('RRQ', 'small.bin'), 300)).toEqual([]);
      expect(s.stats().deferred).toBe(1);
      expect(s.stats().refused).toBe(0);
      // A client that resends its RRQ, as PXE ROMs do, is served once a slot is free.
      const c = tftpGet({ port: p, file: 'small.bin', timeoutMs: 300, maxRetries: 20 });
      await until(() => s.stats().deferred >= 2);
      release();
      expect((await a).ok).toBe(true);
      expect((await b).ok).toBe(true);
      expect((await c).ok).toBe(true);
      await until(() => s.stats().activeTransfers === 0);
      expect((await tftpGet({ port: p, file: 'small.bin' })).ok).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('serves FileProvider content per client, falls through on null, and wraps block numbers', async () => {
    const big = randomBytes(8 * 70_000); // 70,001 blocks of 8 bytes: block numbers wrap past 65535
    const seen: string[] = [];
    const provider: FileProvider = {
      open: async (name, client) => {
        seen.push(name);
        if (name === 'pxelinux.cfg/default') return bufferFile(Buffer.from(`DEFAULT menu\n# for ${client.address}\n`));
        if (name === 'big.gen') return bufferFile(big);
        if (name === 'throws') throw new Error('provider bug');
        return null;
      },
    };
    const s = await startTftpServer({ root, address: '127.0.0.1', port: 0, provider, maxBlksize: 8192 });
    try {
      const p = s.address().port;
      const cfg = await tftpGet({ port: p, file: '/pxelinux.cfg/default', keepData: true, options: { tsize: 0 } });
      expect(cfg.data?.toString()).toBe('DEFAULT menu\n# for 127.0.0.1\n');
      expect(cfg.oack?.tsize).toBe(String(cfg.size));
      expect(seen[0]).toBe('pxelinux.cfg/default'); // normalized: no leading slash
      const fall = await tftpGet({ port: p, file: 'small.bin' });
      expect(fall.sha256).toBe(sha(files['small.bin']!));
      const thrown = await tftpGet({ port: p, file: 'throws' });
      expect(thrown.error?.code).toBe(0);
      // Path checks happen before the provider is asked.
      seen.length = 0;
      expect((await tftpGet({ port: p, file: '../pxelinux.cfg/default' })).error?.code).toBe(2);
      expect(seen).toEqual([]);
      const wrap = await tftpGet({ port: p, file: 'big.gen', options: { blksize: 8, windowsize: 64 }, deadlineMs: 30_000 });
      expect(wrap.ok).toBe(true);
      expect(wrap.wrapped).toBe(true);
      expect(wrap.blocks).toBe(70_001);
      expect(wrap.sha256).toBe(sha(big));
      const large = await tftpGet({ port: p, file: 'one-mib.bin', options: { blksize: 8192 } });
      expect(large.blksize).toBe(8192);
      expect(large.sha256).toBe(sha(files['one-mib.bin']!));
    } finally {
      await s.close();
    }
  }, 40_000);

  it('close() aborts running transfers and releases the port', async () => {
    const s = await startTftpServer({ root, address: '127.0.0.1', port: 0 });
    const p = s.address().port;
    let started!: () => void;
    const begun = new Promise<void>((r) => (started = r));
    const r = tftpGet({ port: p, file: 'one-mib.bin', onBlock: (b) => (b === 2 ? (started(), sleep(300)) : undefined) });
    await begun;
    await s.close();
    await s.close(); // idempotent
    const res = await r;
    expect(res.ok).toBe(false);
    expect(res.error?.message).toMatch(/shutting down|timeout/i);
    const again = await startTftpServer({ root, address: '127.0.0.1', port: p });
    await again.close();
  });

  it('rejects a missing root', async () => {
    await expect(startTftpServer({ root: join(work, 'nope'), address: '127.0.0.1', port: 0 })).rejects.toThrow();
  });
});

const exec = promisify(execFile);
let curlTftp = false;
try {
  curlTftp = /\btftp\b/.test(execFileSync('curl', ['-V'], { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Protocols:')) ?? '');
} catch {
  curlTftp = false;
}

describe.skipIf(!curlTftp)('TFTP server: curl as a real client (skipped: curl with tftp:// support not installed)', () => {
  it.each([
    ['default options', [] as string[]],
    ['blksize 1468', ['--tftp-blksize', '1468']],
    ['no options (RFC 1350)', ['--tftp-no-options']],
  ])('curl fetches 1 MiB with %s', async (_label, args) => {
    const out = join(work, `curl-${Math.random().toString(36).slice(2)}.bin`);
    // Async: the server runs in this process, a synchronous child would block it.
    await exec('curl', ['-sS', '--max-time', '20', ...args, '-o', out, `tftp://127.0.0.1:${port}/one-mib.bin`]);
    expect(sha(readFileSync(out))).toBe(sha(files['one-mib.bin']!));
  });

  it('curl gets the TFTP error for a refused path', async () => {
    const err = await exec('curl', ['-sS', '--max-time', '10', '-o', join(work, 'x'), `tftp://127.0.0.1:${port}/missing.bin`]).catch(
      (e: { code?: number; stderr?: string }) => e,
    );
    expect('code' in err && err.code).toBe(68); // CURLE_TFTP_NOTFOUND
  });
});

