// Read-only TFTP server: RFC 1350, option negotiation (RFC 2347) with blksize (RFC 2348), timeout and
// tsize (RFC 2349) and windowsize (RFC 7440).
//
// One listening socket takes requests; every transfer gets its own ephemeral socket (a new TID) bound
// to the same address. Refusals (file not found, access violation, busy, WRQ) are sent from the
// listening socket, so a flood of bad requests costs no sockets; clients pin the server TID on the
// first reply, whichever port it comes from.
//
// Robustness rules:
// - decoding never throws; empty or malformed datagrams on any socket are counted and dropped;
// - a valid packet from a wrong address/port on a transfer socket gets ERROR 5 and changes nothing
//   (no ERROR is ever sent in reply to an ERROR, so two servers cannot ping-pong);
// - duplicate and old ACKs are ignored (no Sorcerer's Apprentice); retransmission is timer-driven only:
//   on timeout the whole unacknowledged window is resent, and after `retries` timeouts in a row the
//   transfer ends with ERROR 0;
// - a repeated RRQ from a client address/port that already has a transfer is ignored.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { realpath, stat } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { openRootFile, type FileProvider, type TftpClient, type TftpFile } from './files.js';
import {
  DEFAULT_BLKSIZE,
  MAX_BLKSIZE,
  MIN_BLKSIZE,
  TftpErrorCode,
  decodePacket,
  encodeData,
  encodeError,
  encodeOack,
  type RequestPacket,
} from './packet.js';
import { normalizeRequestName } from './paths.js';

export type { FileProvider, TftpClient, TftpFile } from './files.js';

/** The subset of a pino logger the server uses; a pino Logger fits. */
export interface TftpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type TransferOutcome = 'complete' | 'aborted' | 'timeout' | 'refused';

export interface TransferEvent {
  /** The file name as the client sent it. */
  file: string;
  client: TftpClient;
  /** Bytes acknowledged by the client. */
  bytes: number;
  /** File size, when the file was opened. */
  size?: number;
  blksize: number;
  windowsize: number;
  durationMs: number;
  outcome: TransferOutcome;
  reason?: string;
}

export interface TftpServerOptions {
  /** Directory served; must exist. Symlinks are followed only while they stay inside it. */
  root: string;
  address: string;
  /** 69 in production; 0 picks a free port. */
  port: number;
  /** Consulted first for every request; null falls through to the root directory. */
  provider?: FileProvider;
  logger?: TftpLogger;
  /** Concurrent transfers (including requests still opening their file). Default 256; past it, RRQs wait. */
  maxTransfers?: number;
  /** Timeouts in a row before a transfer is abandoned. Default 5. */
  retries?: number;
  /** Retransmission timeout when the client does not negotiate `timeout`. Default 1000 ms. */
  defaultTimeoutMs?: number;
  /** Largest blksize granted (clamped to 8..65464). Default 1468 (fits a 1500-byte Ethernet MTU). */
  maxBlksize?: number;
  /** Largest windowsize granted (1..64). Default 64. */
  maxWindowsize?: number;
  /** Bytes read from the file at a time (at least one window). Default 64 KiB. */
  readAheadBytes?: number;
  onTransfer?: (e: TransferEvent) => void;
}

export interface TftpServerStats {
  /** RRQ and WRQ received on the listening socket. */
  requests: number;
  /** Requests answered with an ERROR (not found, access violation, busy, WRQ, bad mode...). */
  refused: number;
  activeTransfers: number;
  completed: number;
  aborted: number;
  timedOut: number;
  /** Datagrams that did not decode (empty, truncated, unknown opcode...), on any socket. */
  malformed: number;
  /** Well-formed packets that make no sense where they arrived (an ACK on the listening port...). */
  unexpected: number;
  /** Repeated RRQs from a client that already has a transfer. */
  duplicateRequests: number;
  /** RRQs left unanswered because maxTransfers were running: the client retransmits its RRQ later. */
  deferred: number;
  /** Packets from a wrong address/port on a transfer socket. */
  wrongTid: number;
  duplicateAcks: number;
  dataPacketsSent: number;
  /** DATA packets sent more than once (subset of dataPacketsSent). */
  retransmissions: number;
  bytesSent: number;
}

export interface TftpServer {
  address(): { address: string; port: number };
  close(): Promise<void>;
  stats(): TftpServerStats;
}

// ------------------------------------------------------------------------------------- negotiation

export interface NegotiationLimits {
  maxBlksize: number;
  maxWindowsize: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** From the `timeout` option, in ms; null when not negotiated. */
  timeoutMs: number | null;
  /** Options to acknowledge; null means no OACK (plain RFC 1350 transfer). */
  oack: Record<string, string> | null;
}

const DIGITS = /^[0-9]{1,10}$/;

/**
 * RFC 2347 negotiation: only options the server accepts appear in the OACK; anything unknown or out of
 * range is left out (the client then uses the RFC 1350 default for it).
 * - blksize: below 8 ignored; above the server maximum clamped down (RFC 2348 lets the server answer smaller).
 * - tsize: answered with the real size (RFC 2349; a client sends 0 on RRQ).
 * - timeout: 1..255 s echoed as is (RFC 2349 does not let the server change it), else ignored.
 * - windowsize: 1..65535 requested, clamped to the server maximum (RFC 7440).
 */
export function negotiateOptions(requested: Record<string, string>, size: number, limits: NegotiationLimits): Negotiated {
  const oack: Record<string, string> = {};
  let blksize = DEFAULT_BLKSIZE;
  let windowsize = 1;
  let timeoutMs: number | null = null;
  const num = (name: string): number | null => {
    const v = requested[name];
    return v !== undefined && DIGITS.test(v) ? Number(v) : null;
  };
  const b = num('blksize');
  if (b !== null && b >= MIN_BLKSIZE) {
    blksize = Math.min(b, limits.maxBlksize, MAX_BLKSIZE);
    oack.blksize = String(blksize);
  }
  if (num('tsize') !== null) oack.tsize = String(size);
  const t = num('timeout');
  if (t !== null && t >= 1 && t <= 255) {
    timeoutMs = t * 1000;
    oack.timeout = String(t);
  }
  const w = num('windowsize');
  if (w !== null && w >= 1 && w <= 65535) {
    windowsize = Math.min(w, limits.maxWindowsize);
    oack.windowsize = String(windowsize);
  }
  return { blksize, windowsize, timeoutMs, oack: Object.keys(oack).length > 0 ? oack : null };
}

// ------------------------------------------------------------------------------------------ server

const NOOP_LOGGER: TftpLogger = { info() {}, warn() {}, debug() {}, error() {} };

type Counters = Omit<TftpServerStats, 'activeTransfers'>;

/** Shared by the server and its transfers. */
interface Ctx {
  log: TftpLogger;
  counters: Counters;
  retries: number;
  readAheadBytes: number;
  emit(e: TransferEvent): void;
  release(key: string): void;
}

const clampInt = (v: number | undefined, dflt: number, min: number, max: number): number =>
  v === undefined || !Number.isFinite(v) ? dflt : Math.min(max, Math.max(min, Math.floor(v)));

/** Binds a UDP socket; resolves once listening, rejects on a bind error. */
function bindSocket(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    const onError = (err: Error): void => {
      sock.removeListener('listening', onListening);
      try {
        sock.close();
      } catch {
        // already closed
      }
      reject(err);
    };
    const onListening = (): void => {
      sock.removeListener('error', onError);
      resolve(sock);
    };
    sock.once('error', onError);
    sock.once('listening', onListening);
    sock.bind({ address, port, exclusive: true });
  });
}

/**
 * socket.send that cannot throw: dgram validates synchronously and throws for e.g. port 0, which a
 * spoofed source port can produce. Asynchronous send errors are logged at debug level.
 */
function safeSend(sock: Socket, buf: Buffer, client: TftpClient, log: TftpLogger, done?: () => void): void {
  try {
    sock.send(buf, client.port, client.address, (err) => {
      if (err) log.debug({ err, client }, 'tftp send failed');
      done?.();
    });
  } catch (err) {
    log.debug({ err, client }, 'tftp send refused');
    done?.();
  }
}

function closeSocket(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

class Transfer {
  private readonly blksize: number;
  private readonly windowsize: number;
  private readonly timeoutMs: number;
  private readonly totalBlocks: number;
  private readonly oack: Buffer | null;
  /** Highest block acknowledged (absolute, 0 = nothing yet / OACK acknowledged). */
  private base = 0;
  /** Highest block sent (absolute). */
  private lastSent = 0;
  private state: 'oack' | 'data' | 'done' = 'data';
  private retriesLeft: number;
  private timer: NodeJS.Timeout | null = null;
  private filling = false;
  /** Cached file bytes [bufStart, bufStart + buf.length): always covers the unacknowledged blocks. */
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  private readonly started: number;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly ctx: Ctx,
    private readonly key: string,
    private readonly socket: Socket,
    private readonly client: TftpClient,
    private readonly file: TftpFile,
    private readonly requestName: string,
    negotiated: Negotiated,
    defaultTimeoutMs: number,
    started: number,
  ) {
    this.blksize = negotiated.blksize;
    this.windowsize = negotiated.windowsize;
    this.timeoutMs = negotiated.timeoutMs ?? defaultTimeoutMs;
    this.oack = negotiated.oack ? encodeOack(negotiated.oack) : null;
    // The last block is always shorter than blksize, possibly empty.
    this.totalBlocks = Math.floor(file.size / this.blksize) + 1;
    this.retriesLeft = ctx.retries;
    this.started = started;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => {
      ctx.log.warn({ err, client: this.client, file: this.requestName }, 'tftp transfer socket error');
      this.finish('aborted', `socket error: ${err.message}`, null);
    });
  }

  start(): void {
    this.timer = setTimeout(() => {
      try {
        this.onTimeout();
      } catch (err) {
        this.ctx.log.error({ err, client: this.client }, 'tftp timeout handler failed');
        this.finish('aborted', 'internal error', encodeError(TftpErrorCode.NOT_DEFINED, 'Internal error'));
      }
    }, this.timeoutMs);
    this.timer.unref();
    if (this.oack) {
      this.state = 'oack';
      this.send(this.oack);
    } else {
      this.pump();
    }
  }

  /** Server shutdown. */
  abort(reason: string): void {
    this.finish('aborted', reason, encodeError(TftpErrorCode.NOT_DEFINED, 'Server shutting down'));
  }

  private get done(): boolean {
    return this.state === 'done';
  }

  private send(buf: Buffer): void {
    safeSend(this.socket, buf, this.client, this.ctx.log);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    try {
      this.handleMessage(msg, rinfo);
    } catch (err) {
      // Not expected to happen; a bug here must not take the whole server down.
      this.ctx.log.error({ err, client: this.client }, 'tftp transfer handler failed');
      this.finish('aborted', 'internal error', encodeError(TftpErrorCode.NOT_DEFINED, 'Internal error'));
    }
  }

  private handleMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.done) return;
    const r = decodePacket(msg);
    if (!r.ok) {
      this.ctx.counters.malformed++;
      return;
    }
    const p = r.packet;
    if (rinfo.address !== this.client.address || rinfo.port !== this.client.port) {
      this.ctx.counters.wrongTid++;
      if (p.op !== 'ERROR') {
        safeSend(this.socket, encodeError(TftpErrorCode.UNKNOWN_TID, 'Unknown transfer ID'), rinfo, this.ctx.log);
      }
      return;
    }
    if (p.op === 'ACK') this.onAck(p.block);
    else if (p.op === 'ERROR') this.finish('aborted', `client error ${p.code}: ${p.message}`, null);
    else this.ctx.counters.unexpected++;
  }

  private onAck(wire: number): void {
    if (this.state === 'oack') {
      if (wire !== 0) {
        this.ctx.counters.unexpected++;
        return;
      }
      this.state = 'data';
      this.retriesLeft = this.ctx.retries;
      this.pump();
      return;
    }
    // Map the 16-bit block number onto the absolute one, relative to the window base. At most
    // `windowsize` (<= 64) blocks are outstanding, so wrapping is unambiguous.
    const delta = (wire - (this.base & 0xffff)) & 0xffff;
    const abs = this.base + delta;
    if (delta === 0 || abs > this.lastSent) {
      // Duplicate ACK (the client re-acknowledging, or a delayed copy) or one from an old window:
      // answering it would double the traffic for the rest of the transfer.
      this.ctx.counters.duplicateAcks++;
      return;
    }
    this.base = abs;
    this.retriesLeft = this.ctx.retries;
    if (this.base >= this.totalBlocks) {
      this.finish('complete', undefined, null);
      return;
    }
    this.pump();
  }

  /** Sends the window after `base`, reading from the file first if it is not cached. */
  private pump(): void {
    if (this.done || this.filling) return;
    const from = this.base + 1;
    const to = Math.min(this.base + this.windowsize, this.totalBlocks);
    const start = (from - 1) * this.blksize;
    const end = Math.min(this.file.size, to * this.blksize);
    if (start >= this.bufStart && end <= this.bufStart + this.buf.length) {
      this.sendBlocks(from, to);
      return;
    }
    this.filling = true;
    const ahead = Math.floor(this.ctx.readAheadBytes / this.blksize) * this.blksize;
    const length = Math.min(this.file.size - start, Math.max(end - start, ahead));
    this.readFile(start, length).then(
      (buf) => {
        this.filling = false;
        if (this.done) return;
        if (buf.length !== length) {
          const reason = `read at offset ${start} returned ${buf.length} bytes instead of ${length}`;
          this.finish('aborted', reason, encodeError(TftpErrorCode.NOT_DEFINED, 'Read error'));
          return;
        }
        this.buf = buf;
        this.bufStart = start;
        this.pump(); // ACKs may have moved the base meanwhile
      },
      (err: unknown) => {
        this.filling = false;
        if (this.done) return;
        this.ctx.log.warn({ err, client: this.client, file: this.requestName }, 'tftp read failed');
        this.finish('aborted', `read error: ${err instanceof Error ? err.message : String(err)}`, encodeError(TftpErrorCode.NOT_DEFINED, 'Read error'));
      },
    );
  }

  private async readFile(offset: number, length: number): Promise<Buffer> {
    return length === 0 ? Buffer.alloc(0) : this.file.read(offset, length);
  }

  private sendBlocks(from: number, to: number): void {
    const c = this.ctx.counters;
    for (let b = from; b <= to; b++) {
      const start = (b - 1) * this.blksize - this.bufStart;
      const end = Math.min(this.file.size, b * this.blksize) - this.bufStart;
      this.send(encodeData(b & 0xffff, this.buf.subarray(start, end)));
      c.dataPacketsSent++;
      c.bytesSent += end - start;
      if (b <= this.lastSent) c.retransmissions++;
    }
    if (to > this.lastSent) this.lastSent = to;
    this.timer?.refresh();
  }

  private onTimeout(): void {
    if (this.done) return;
    if (this.filling) {
      this.timer?.refresh(); // waiting for the disk, not for the client
      return;
    }
    if (this.retriesLeft <= 0) {
      this.finish('timeout', `no ACK after ${this.ctx.retries} retransmissions`, encodeError(TftpErrorCode.NOT_DEFINED, 'Timeout'));
      return;
    }
    this.retriesLeft--;
    if (this.state === 'oack' && this.oack) {
      this.send(this.oack);
      this.timer?.refresh();
    } else if (this.lastSent > this.base) {
      this.sendBlocks(this.base + 1, this.lastSent);
    } else {
      this.timer?.refresh();
    }
  }

  private finish(outcome: Exclude<TransferOutcome, 'refused'>, reason: string | undefined, finalPacket: Buffer | null): void {
    if (this.done) return;
    this.state = 'done';
    if (this.timer) clearTimeout(this.timer);
    this.buf = Buffer.alloc(0);
    try {
      this.file.close?.();
    } catch (err) {
      this.ctx.log.warn({ err }, 'tftp file close failed');
    }
    const closeNow = (): void => {
      closeSocket(this.socket).then(() => this.resolveClosed());
    };
    if (finalPacket) {
      safeSend(this.socket, finalPacket, this.client, this.ctx.log, closeNow);
    } else {
      closeNow();
    }
    const c = this.ctx.counters;
    if (outcome === 'complete') c.completed++;
    else if (outcome === 'timeout') c.timedOut++;
    else c.aborted++;
    this.ctx.release(this.key);
    const event: TransferEvent = {
      file: this.requestName,
      client: this.client,
      bytes: Math.min(this.file.size, this.base * this.blksize),
      size: this.file.size,
      blksize: this.blksize,
      windowsize: this.windowsize,
      durationMs: Math.round((performance.now() - this.started) * 1000) / 1000,
      outcome,
      ...(reason !== undefined ? { reason } : {}),
    };
    const level = outcome === 'complete' ? 'info' : 'warn';
    this.ctx.log[level]({ tftp: event }, `tftp ${outcome}: ${this.requestName}`);
    this.ctx.emit(event);
  }
}

const PENDING = Symbol('pending');

/** Starts a read-only TFTP server. Rejects if the root is missing or the port cannot be bound. */
export async function startTftpServer(opts: TftpServerOptions): Promise<TftpServer> {
  const rootReal = await realpath(opts.root);
  if (!(await stat(rootReal)).isDirectory()) throw new Error(`TFTP root is not a directory: ${opts.root}`);
  const log = opts.logger ?? NOOP_LOGGER;
  const maxTransfers = clampInt(opts.maxTransfers, 256, 1, 100_000);
  const defaultTimeoutMs = clampInt(opts.defaultTimeoutMs, 1000, 10, 255_000);
  const limits: NegotiationLimits = {
    maxBlksize: clampInt(opts.maxBlksize, 1468, MIN_BLKSIZE, MAX_BLKSIZE),
    maxWindowsize: clampInt(opts.maxWindowsize, 64, 1, 64),
  };
  const counters: Counters = {
    requests: 0,
    refused: 0,
    completed: 0,
    aborted: 0,
    timedOut: 0,
    malformed: 0,
    unexpected: 0,
    duplicateRequests: 0,
    deferred: 0,
    wrongTid: 0,
    duplicateAcks: 0,
    dataPacketsSent: 0,
    retransmissions: 0,
    bytesSent: 0,
  };
  const active = new Map<string, Transfer | typeof PENDING>();
  const pendingOpens = new Set<Promise<void>>();
  const transfersClosing = new Set<Promise<void>>();
  let closing = false;

  const emit = (e: TransferEvent): void => {
    if (!opts.onTransfer) return;
    try {
      opts.onTransfer(e);
    } catch (err) {
      log.error({ err }, 'tftp onTransfer listener threw');
    }
  };
  const ctx: Ctx = {
    log,
    counters,
    retries: clampInt(opts.retries, 5, 0, 100),
    readAheadBytes: clampInt(opts.readAheadBytes, 64 * 1024, 0, 64 * 1024 * 1024),
    emit,
    release: (key) => active.delete(key),
  };

  const main = await bindSocket(opts.address, opts.port);
  const bound = main.address();

  const refuse = (client: TftpClient, file: string, code: number, reason: string, started: number): void => {
    counters.refused++;
    if (!closing) safeSend(main, encodeError(code, reason), client, log);
    log.info({ client, file, code, reason }, 'tftp request refused');
    emit({
      file,
      client,
      bytes: 0,
      blksize: DEFAULT_BLKSIZE,
      windowsize: 1,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      outcome: 'refused',
      reason,
    });
  };

  const openFile = async (
    name: string,
    segments: string[],
    client: TftpClient,
  ): Promise<{ ok: true; file: TftpFile } | { ok: false; code: number; reason: string }> => {
    if (opts.provider) {
      let file: TftpFile | null;
      try {
        file = await opts.provider.open(name, client);
      } catch (err) {
        log.error({ err, client, file: name }, 'tftp provider failed');
        return { ok: false, code: TftpErrorCode.NOT_DEFINED, reason: 'Internal error' };
      }
      if (file) {
        if (!Number.isSafeInteger(file.size) || file.size < 0) {
          file.close?.();
          log.error({ client, file: name, size: file.size }, 'tftp provider returned a bad size');
          return { ok: false, code: TftpErrorCode.NOT_DEFINED, reason: 'Internal error' };
        }
        return { ok: true, file };
      }
    }
    return openRootFile(rootReal, segments);
  };

  const startTransfer = async (req: RequestPacket, name: string, segments: string[], client: TftpClient, key: string, started: number): Promise<void> => {
    const opened = await openFile(name, segments, client);
    if (!opened.ok) {
      active.delete(key);
      refuse(client, req.filename, opened.code, opened.reason, started);
      return;
    }
    const file = opened.file;
    if (closing) {
      active.delete(key);
      file.close?.();
      return;
    }
    const negotiated = negotiateOptions(req.options, file.size, limits);
    let sock: Socket;
    try {
      sock = await bindSocket(bound.address, 0);
    } catch (err) {
      active.delete(key);
      file.close?.();
      log.error({ err }, 'tftp cannot bind a transfer socket');
      refuse(client, req.filename, TftpErrorCode.NOT_DEFINED, 'Server busy', started);
      return;
    }
    if (closing) {
      active.delete(key);
      file.close?.();
      await closeSocket(sock);
      return;
    }
    const t = new Transfer(ctx, key, sock, client, file, req.filename, negotiated, defaultTimeoutMs, started);
    active.set(key, t);
    const closed = t.closed;
    transfersClosing.add(closed);
    void closed.then(() => transfersClosing.delete(closed));
    log.debug({ client, file: req.filename, ...negotiated, size: file.size }, 'tftp transfer start');
    t.start();
  };

  const onRequest = (msg: Buffer, rinfo: RemoteInfo): void => {
    try {
      handleRequest(msg, rinfo);
    } catch (err) {
      log.error({ err, from: rinfo.address, port: rinfo.port }, 'tftp request handler failed'); // a bug, not the peer's fault
    }
  };

  const handleRequest = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (closing) return;
    if (rinfo.port === 0) {
      counters.malformed++; // source port 0 cannot be answered (spoofed)
      return;
    }
    const r = decodePacket(msg);
    if (!r.ok) {
      counters.malformed++;
      log.debug({ from: rinfo.address, port: rinfo.port, kind: r.error.kind }, 'tftp malformed datagram dropped');
      return;
    }
    const p = r.packet;
    if (p.op !== 'RRQ' && p.op !== 'WRQ') {
      counters.unexpected++; // never answer DATA/ACK/ERROR/OACK on the listening port
      return;
    }
    counters.requests++;
    const started = performance.now();
    const client: TftpClient = { address: rinfo.address, port: rinfo.port };
    if (p.op === 'WRQ') {
      refuse(client, p.filename, TftpErrorCode.ACCESS_VIOLATION, 'Read-only server', started);
      return;
    }
    const key = `${rinfo.address}|${rinfo.port}`;
    if (active.has(key)) {
      counters.duplicateRequests++; // the client retransmitted its RRQ; the first one is being served
      return;
    }
    // netascii is served as octet (bytes unchanged, no CR/LF translation): boot files are binary, and
    // PXE/iPXE clients always ask for octet. 'mail' and anything else are refused.
    if (p.mode !== 'octet' && p.mode !== 'netascii') {
      refuse(client, p.filename, TftpErrorCode.ILLEGAL_OPERATION, `Unsupported mode '${p.mode}'`, started);
      return;
    }
    if (active.size >= maxTransfers) {
      // No ERROR: a PXE ROM aborts the boot on one, but retransmits an unanswered RRQ (after 1-4 s),
      // by which time a rack's storm of requests has thinned out.
      counters.deferred++;
      log.debug({ client, file: p.filename, active: active.size }, 'tftp at maxTransfers: request left for the client to resend');
      return;
    }
    const norm = normalizeRequestName(p.filename);
    if (!norm.ok) {
      refuse(client, p.filename, norm.code, norm.reason, started);
      return;
    }
    active.set(key, PENDING);
    const job = startTransfer(p, norm.name, norm.segments, client, key, started).catch((err: unknown) => {
      active.delete(key);
      log.error({ err, client, file: p.filename }, 'tftp transfer setup failed');
    });
    pendingOpens.add(job);
    void job.then(() => pendingOpens.delete(job));
  };

  main.on('message', onRequest);
  main.on('error', (err) => log.error({ err }, 'tftp listening socket error'));
  log.info({ address: bound.address, port: bound.port, root: rootReal }, 'tftp server listening');

  let closePromise: Promise<void> | null = null;
  return {
    address: () => ({ address: bound.address, port: bound.port }),
    stats: () => ({ ...counters, activeTransfers: active.size }),
    close: () => {
      closePromise ??= (async () => {
        closing = true;
        await closeSocket(main);
        await Promise.all([...pendingOpens]);
        for (const t of active.values()) if (t !== PENDING) t.abort('server closing');
        await Promise.all([...transfersClosing]);
        log.info({}, 'tftp server closed');
      })();
      return closePromise;
    },
  };
}
