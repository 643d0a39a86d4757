// Thin dgram wrapper around a DhcpResponder: receive, decode, hand over, send what it says.
// Every decode error is counted and dropped; nothing a client sends can take the process down.
//
// Where to bind (see ../shared/research/dhcp-tftp-libs.md, "Platform constraints"):
//  - Node cannot SO_BINDTODEVICE, and a socket bound to a unicast IP does not see broadcast DISCOVERs.
//  - Production: adopt a socket created with SO_BINDTODEVICE by a launcher or a systemd .socket unit
//    (BindToDevice=), passing its descriptor as `fd`; or bind 0.0.0.0 inside a network namespace that
//    only reaches the provisioning network (it then needs a route for 255.255.255.255).
//  - There is deliberately no default: the caller names address and port, or an fd.
import dgram from 'node:dgram';
import { BROADCAST_IP } from './ip.js';
import { DhcpDecodeError, decodePacket, encodePacket } from './packet.js';
import type { DhcpPacket } from './packet.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, PXE_BOOT_SERVER_PORT } from './server-logic.js';
import type { DhcpAction, RequestMeta } from './server-logic.js';

/** Anything with the responder's handle(): the real DhcpResponder, or a stub in tests. */
export interface DhcpHandler {
  handle(packet: DhcpPacket, meta: RequestMeta): DhcpAction[];
}

/** pino-compatible subset. */
export interface DhcpServerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface StartDhcpServerOptions {
  responder: DhcpHandler;
  /** With `address`: where to bind. Port 0 picks a free port (tests). */
  port?: number;
  address?: string;
  /** An already bound UDP socket inherited from a launcher (e.g. with SO_BINDTODEVICE). */
  fd?: number;
  /** Which service this socket is. Default: 'port4011' when port is 4011, else 'port67'. */
  receivedOn?: RequestMeta['receivedOn'];
  logger?: DhcpServerLogger;
  /** Default true. When false, replies to 255.255.255.255 are dropped and counted (tests on loopback). */
  allowBroadcast?: boolean;
  /** Rewrites reply ports: 68 -> client, 67 -> relay. For loopback tests; leave unset in production. */
  destinationPorts?: { client?: number; relay?: number };
  /** Clock for the responder, epoch ms. Default Date.now. */
  now?: () => number;
  /** Told about every datagram that did not decode (by DhcpDecodeError reason), e.g. for metrics. */
  onDecodeError?: (reason: string) => void;
  /** Told about every reply the kernel refused to send. */
  onSendError?: (err: Error) => void;
  /**
   * Group commit: runs `work` as one unit (one database transaction), and a nested call as a part of
   * it that rolls back alone when it throws. Datagrams that arrive together (one poll of the socket)
   * are handled in one unit and their replies leave only after it returns, so an ACK is never sent
   * for a lease that is not stored, and a burst costs one commit instead of one per packet.
   * Default: run `work` as is.
   */
  unitOfWork?: <T>(work: () => T) => T;
  /** Most datagrams handled in one unit; more wait for the next. Default 256. */
  maxBatch?: number;
}

export interface DhcpServerStats {
  received: number;
  decodeErrors: number;
  /** By DhcpDecodeError reason. */
  decodeErrorsByReason: Record<string, number>;
  /** Exceptions thrown by the responder or the encoder: bugs, counted and survived. */
  handlerErrors: number;
  sent: number;
  sendErrors: number;
  suppressedBroadcasts: number;
  /** Units of work run (each one commit when unitOfWork is a transaction). */
  batches: number;
  /** Batches whose unit threw as a whole (e.g. the commit failed): their replies were not sent. */
  batchErrors: number;
}

export interface DhcpServer {
  readonly stats: Readonly<DhcpServerStats>;
  /** Where the socket is bound. */
  address(): { address: string; port: number };
  close(): Promise<void>;
}

const noopLogger: DhcpServerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export async function startDhcpServer(opts: StartDhcpServerOptions): Promise<DhcpServer> {
  if (opts.fd === undefined && (opts.address === undefined || opts.port === undefined)) {
    throw new TypeError('startDhcpServer: pass both address and port, or fd (there is no default binding)');
  }
  if (opts.fd !== undefined && (opts.address !== undefined || opts.port !== undefined)) {
    throw new TypeError('startDhcpServer: pass either fd or address/port, not both');
  }
  const logger = opts.logger ?? noopLogger;
  const allowBroadcast = opts.allowBroadcast ?? true;
  const now = opts.now ?? Date.now;
  const receivedOn: RequestMeta['receivedOn'] = opts.receivedOn ?? (opts.port === PXE_BOOT_SERVER_PORT ? 'port4011' : 'port67');
  const clientPort = opts.destinationPorts?.client;
  const relayPort = opts.destinationPorts?.relay;
  const stats: DhcpServerStats = {
    received: 0,
    decodeErrors: 0,
    decodeErrorsByReason: {},
    handlerErrors: 0,
    sent: 0,
    sendErrors: 0,
    suppressedBroadcasts: 0,
    batches: 0,
    batchErrors: 0,
  };
  const unit = opts.unitOfWork ?? (<T>(work: () => T): T => work());
  const maxBatch = opts.maxBatch ?? 256;

  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });

  const mapPort = (port: number): number => {
    if (port === DHCP_CLIENT_PORT && clientPort !== undefined) return clientPort;
    if (port === DHCP_SERVER_PORT && relayPort !== undefined) return relayPort;
    return port;
  };

  const execute = (actions: DhcpAction[]): void => {
    for (const action of actions) {
      if ('log' in action) {
        const { level, ...rest } = action.log;
        logger[level](rest, `dhcp ${action.log.event}`);
        continue;
      }
      if (action.to.address === BROADCAST_IP && !allowBroadcast) {
        stats.suppressedBroadcasts++;
        logger.debug({ to: action.to }, 'dhcp broadcast suppressed');
        continue;
      }
      const bytes = encodePacket(action.send);
      socket.send(bytes, mapPort(action.to.port), action.to.address, (err) => {
        if (err) {
          stats.sendErrors++;
          logger.warn({ err: err.message, to: action.to }, 'dhcp send failed');
          try {
            opts.onSendError?.(err);
          } catch {
            // an observer's bug must not take the socket down
          }
        } else {
          stats.sent++;
        }
      });
    }
  };

  interface Pending {
    packet: DhcpPacket;
    meta: RequestMeta;
  }
  let pending: Pending[] = [];
  let scheduled = false;
  let closed = false;

  /** Handles the datagrams received so far as one unit, then sends what they produced. */
  const drain = (): void => {
    scheduled = false;
    if (closed) return; // what arrived before close() is dropped, as the kernel would
    const batch = pending.length > maxBatch ? pending.splice(0, maxBatch) : pending;
    if (batch === pending) pending = [];
    if (pending.length > 0) schedule();
    const out: DhcpAction[] = [];
    try {
      unit(() => {
        for (const { packet, meta } of batch) {
          try {
            // Its own nested unit: a handler that throws half-way leaves nothing behind.
            out.push(...unit(() => opts.responder.handle(packet, meta)));
          } catch (err) {
            stats.handlerErrors++;
            logger.error({ err: err instanceof Error ? err.message : String(err), mac: packet.chaddr }, 'dhcp handler failed');
          }
        }
      });
    } catch (err) {
      stats.batchErrors++;
      logger.error({ err: err instanceof Error ? err.message : String(err), packets: batch.length }, 'dhcp batch failed: no replies sent');
      return;
    } finally {
      stats.batches++;
    }
    execute(out);
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  };

  socket.on('message', (msg, rinfo) => {
    stats.received++;
    let packet: DhcpPacket;
    try {
      packet = decodePacket(msg);
    } catch (err) {
      stats.decodeErrors++;
      const reason = err instanceof DhcpDecodeError ? err.reason : 'unexpected';
      stats.decodeErrorsByReason[reason] = (stats.decodeErrorsByReason[reason] ?? 0) + 1;
      try {
        opts.onDecodeError?.(reason);
      } catch {
        // an observer's bug must not take the socket down
      }
      logger.debug({ from: `${rinfo.address}:${rinfo.port}`, bytes: msg.length, reason }, 'dhcp packet dropped');
      return;
    }
    // Handled at the end of this poll of the socket, with whatever else arrived in it.
    pending.push({ packet, meta: { receivedOn, now: now(), from: { address: rinfo.address, port: rinfo.port } } });
    schedule();
  });

  // A socket error after bind (e.g. ICMP-induced on some platforms) must not become an unhandled 'error'.
  let bound = false;
  socket.on('error', (err) => {
    if (bound) logger.error({ err: err.message }, 'dhcp socket error');
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    const onListening = (): void => {
      socket.off('error', onError);
      bound = true;
      if (allowBroadcast) socket.setBroadcast(true);
      resolve();
    };
    if (opts.fd !== undefined) socket.bind({ fd: opts.fd }, onListening);
    else socket.bind({ port: opts.port as number, address: opts.address as string }, onListening);
  });

  const info = socket.address();
  logger.info({ address: info.address, port: info.port, receivedOn }, 'dhcp server listening');

  return {
    stats,
    address: () => {
      const a = socket.address();
      return { address: a.address, port: a.port };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        pending = [];
        socket.close(() => resolve());
      }),
  };
}
