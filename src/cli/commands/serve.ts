// tabula serve: one process, one engine, one database. The REST API and the HTTP boot chain on
// --listen, the TFTP server on --tftp-listen, and, only when an interface is named, the DHCP server on
// that interface; until SIGINT/SIGTERM (or the run's AbortSignal).
//
// DHCP sockets must be bound to the interface (SO_BINDTODEVICE), which Node cannot do: without
// inherited sockets, serve runs itself again through src/boot/launcher/bind-device.py, which binds
// them and execs this command line with TABULA_DHCP_FDS set (see src/boot/launcher/index.ts).
import { mkdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { type Command, Option } from 'commander';
import type { Router } from 'express';
import { dhcpMetrics, instrumentDhcp } from '../../boot/dhcp/instrument.js';
import { DEFAULT_BOOT_FILES } from '../../boot/dhcp/pxe.js';
import { SqliteBootFileStore } from '../../store/boot-file-store.js';
import { EngineReservations } from '../../boot/dhcp/reservations.js';
import { DhcpResponder } from '../../boot/dhcp/server-logic.js';
import type { DhcpServerConfig } from '../../boot/dhcp/server-logic.js';
import { SqliteLeaseStore } from '../../store/lease-store.js';
import { reservationStamp } from '../../store/reservation-stamp.js';
import { startDhcpServer } from '../../boot/dhcp/udp-server.js';
import type { BootEventSink } from '../../boot/events.js';
import { FDS_ENV, INTERFACE_ENV, type InheritedSockets, inheritedSockets, privilegeProblem, relaunchWithDeviceSockets } from '../../boot/launcher/index.js';
import { openRootFile } from '../../boot/tftp/files.js';
import { bootScriptProvider } from '../../boot/tftp/generated.js';
import { instrumentTftp, neighbourMac } from '../../boot/tftp/instrument.js';
import { normalizeRequestName } from '../../boot/tftp/paths.js';
import { type TftpServer, startTftpServer } from '../../boot/tftp/server.js';
import { TabulaError } from '../../domain/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../log.js';
import { Registry } from '../../metrics.js';
import { findPackageRoot } from '../../store/migrate.js';
import type { SqliteRepository } from '../../store/sqlite.js';
import { type Ctx, type Session, action } from '../context.js';
import { type ListenAddress, parseListen, parseUrl } from '../parse.js';
import {
  DHCP_MODES,
  type DhcpFlags,
  type DhcpPlan,
  existingDirectory,
  parseDhcpRange,
  parseInterfaceName,
  parseIpv4Address,
  parseIpv4List,
  parseLeaseTime,
  parseTftpListen,
  resolveDhcpPlan,
} from './serve-options.js';

export const DEFAULT_LISTEN = '0.0.0.0:8080';
export const DEFAULT_TFTP_LISTEN = '0.0.0.0:69';
/** How long open keep-alive connections get to finish their request on shutdown. */
const SHUTDOWN_GRACE_MS = 5_000;

/** `serve`'s options after parsing (commander's camel-cased flag names). */
export interface ServeOptions extends DhcpFlags {
  listen: ListenAddress;
  publicUrl?: string;
  tftpListen: ListenAddress | 'off';
  tftpRoot?: string;
  bootDir?: string;
}

export interface ServeContext {
  options: ServeOptions;
  engine: Engine;
  repo: SqliteRepository;
  logger: Logger;
  dbPath: string;
  metrics: Registry;
}

/** One running service; stop() resolves once it released its sockets. */
export interface RunningService {
  name: string;
  stop(): Promise<void>;
}

/** The default TFTP root (and boot directory): the built pxe/ output of this installation. */
export function defaultTftpRoot(): string {
  return path.join(findPackageRoot(), 'pxe', 'build');
}

function serveOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--listen <host:port>', 'REST API and HTTP boot endpoints; port 0 picks a free port').default(parseListen(DEFAULT_LISTEN), DEFAULT_LISTEN).argParser(parseListen))
    .addOption(
      new Option('--public-url <url>', 'URL at which blades reach this server (default: http://<listen address>, or the DHCP interface address when listening on a wildcard)').argParser(parseUrl),
    )
    .addOption(new Option('--tftp-listen <host:port|off>', 'TFTP server address, or off').default(parseTftpListen(DEFAULT_TFTP_LISTEN), DEFAULT_TFTP_LISTEN).argParser(parseTftpListen))
    .addOption(new Option('--tftp-root <dir>', 'directory served over TFTP (default: <package>/pxe/build, created if missing)'))
    .addOption(new Option('--boot-dir <dir>', 'directory holding the kernel and initrd (default: the TFTP root)'))
    .addOption(new Option('--dhcp-interface <iface>', 'answer DHCP on this interface only (DHCP is off without it)').argParser(parseInterfaceName))
    .addOption(new Option('--dhcp-mode <mode>', 'full (addresses and boot options), proxy (boot options only) or off; default full with --dhcp-interface').choices(DHCP_MODES))
    .addOption(
      new Option('--dhcp-range <start-end>', "addresses handed out on the interface's subnet; repeat as START-END/PREFIX,ROUTER for subnets behind a relay (required in full mode)").argParser(
        parseDhcpRange,
      ),
    )
    .addOption(new Option('--dhcp-router <ip>', "default gateway for the interface's subnet (option 3)").argParser(parseIpv4Address))
    .addOption(new Option('--dhcp-dns <ip,...>', 'DNS servers (option 6)').argParser(parseIpv4List))
    .addOption(new Option('--dhcp-lease-time <seconds>', 'lease time (default 3600)').argParser(parseLeaseTime));
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);
const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

async function listen(server: Server, at: ListenAddress): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.message;
      reject(new TabulaError('internal', 'LISTEN_FAILED', `cannot listen on ${urlHost(at.host)}:${at.port}: ${why}`, { host: at.host, port: at.port }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(at.port, at.host);
  });
  return server.address() as AddressInfo;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Resolves with the reason once one of SIGINT, SIGTERM or the abort signal arrives. */
function stopRequested(signal: AbortSignal | undefined): { promise: Promise<string>; dispose(): void } {
  let dispose = (): void => {};
  const promise = new Promise<string>((resolve) => {
    const onSignal = (name: NodeJS.Signals): void => resolve(name);
    const onAbort = (): void => resolve('abort');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    signal?.addEventListener('abort', onAbort, { once: true });
    dispose = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) resolve('abort');
  });
  return { promise, dispose };
}

/** GET /pxe/<file>: the TFTP root over HTTP, for UEFI HTTP boot (same containment rules as TFTP). */
async function pxeFilesRouter(root: string): Promise<Router> {
  const { default: express } = await import('express');
  const router = express.Router();
  router.get(/^\/pxe\/(.+)$/, async (req, res, next) => {
    res.locals.route = '/pxe/{file}';
    try {
      const raw = decodeURIComponent((req.params as Record<string, string>)['0'] ?? '');
      const name = normalizeRequestName(raw);
      const opened = name.ok ? await openRootFile(root, name.segments) : name;
      if (!opened.ok) {
        res.status(opened.code === 1 ? 404 : 403).json({ error: { code: opened.code === 1 ? 'FILE_NOT_FOUND' : 'FORBIDDEN', message: opened.reason } });
        return;
      }
      const file = opened.file;
      try {
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(file.size));
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        const chunk = 256 * 1024;
        for (let off = 0; off < file.size && !res.destroyed; off += chunk) {
          const buf = await file.read(off, Math.min(chunk, file.size - off));
          if (!res.write(buf)) await new Promise<void>((r) => res.once('drain', () => r()).once('close', () => r()));
        }
        res.end();
      } finally {
        file.close?.();
      }
    } catch (err) {
      next(err);
    }
  });
  return router;
}

/** The command that runs this CLI again with the same arguments. */
function selfCommand(argv: readonly string[]): string[] {
  const script = process.argv[1];
  if (script && /[\\/]cli[\\/]main\.[cm]?[jt]s$/.test(script)) return [process.execPath, ...process.execArgv, script, ...argv];
  // Embedded (tests, other hosts): the built CLI of this installation.
  return [process.execPath, path.join(findPackageRoot(), 'dist', 'cli', 'main.js'), ...argv];
}

function resolvePublicUrl(o: ServeOptions, api: AddressInfo, dhcp: DhcpPlan | null, logger: Logger): string {
  if (o.publicUrl !== undefined) return o.publicUrl;
  if (!isWildcard(api.address)) return `http://${urlHost(api.address)}:${api.port}`;
  if (dhcp) return `http://${dhcp.serverIp}:${api.port}`;
  const candidates = Object.values(networkInterfaces())
    .flat()
    .filter((e) => e !== undefined && e.family === 'IPv4' && !e.internal);
  const first = candidates[0];
  const host = first ? first.address : '127.0.0.1';
  logger.warn({ publicUrl: `http://${host}:${api.port}` }, 'no --public-url: blades are told the first IPv4 address of this machine; set --public-url');
  return `http://${host}:${api.port}`;
}

/** Reports to the boot timeline without ever throwing into a protocol server. */
function safeSink(events: BootEventSink, logger: Logger): BootEventSink {
  return {
    record(e) {
      try {
        events.record(e);
      } catch (err) {
        logger.warn({ err, stage: e.stage, mac: e.mac }, 'boot event not recorded');
      }
    },
  };
}

async function serve(ctx: Ctx, options: ServeOptions): Promise<void> {
  // Usage problems first: nothing is opened or bound before the flags make sense.
  const dhcp = resolveDhcpPlan(options, networkInterfaces());
  let tftpRoot: string;
  if (options.tftpRoot !== undefined) tftpRoot = existingDirectory('--tftp-root', path.resolve(options.tftpRoot));
  else {
    tftpRoot = defaultTftpRoot();
    mkdirSync(tftpRoot, { recursive: true });
  }
  const bootDir = options.bootDir !== undefined ? existingDirectory('--boot-dir', path.resolve(options.bootDir)) : tftpRoot;

  const logger = ctx.session.logger(ctx.globals, { level: 'info', destination: 'stdout' });

  let sockets: InheritedSockets | null = null;
  if (dhcp) {
    sockets = inheritedSockets(process.env);
    if (!sockets) {
      const problem = privilegeProblem();
      if (problem) throw new TabulaError('internal', 'DHCP_NOT_PERMITTED', problem, { interface: dhcp.interface });
      logger.info({ service: 'dhcp', interface: dhcp.interface, ports: dhcp.ports }, `binding DHCP to ${dhcp.interface} through bind-device.py`);
      const code = await relaunchWithDeviceSockets({
        interface: dhcp.interface,
        ports: dhcp.ports,
        command: selfCommand(ctx.session.argv),
        env: { ...process.env, ...ctx.session.env },
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onSpawn: (pid) => logger.info({ service: 'dhcp', childPid: pid }, 'serving from the launched process'),
      });
      if (code !== 0) logger.error({ code }, 'the launched server exited with an error');
      ctx.fail(code);
      return;
    }
    if (sockets.interface !== dhcp.interface) {
      throw new TabulaError('internal', 'BAD_INHERITED_SOCKETS', `the inherited DHCP sockets are bound to '${sockets.interface}', not to --dhcp-interface ${dhcp.interface}`, {});
    }
    for (const p of dhcp.ports) {
      if (!sockets.fds.has(p)) throw new TabulaError('internal', 'BAD_INHERITED_SOCKETS', `no inherited socket for UDP port ${p} (${FDS_ENV}=${process.env[FDS_ENV] ?? ''})`, {});
    }
    // Ours now; a process we start must not believe it has them too.
    delete process.env[FDS_ENV];
    delete process.env[INTERFACE_ENV];
  }

  const dbPath = ctx.session.dbPath(ctx.globals);
  const stop = stopRequested(ctx.signal);
  const running: RunningService[] = [];
  try {
    const opened = ctx.session.open(ctx.globals);
    const sc: ServeContext = { options, engine: opened.engine, repo: opened.repo, logger, dbPath, metrics: new Registry() };

    // HTTP: bind first, so that the public URL can name the port actually bound.
    const server = createServer();
    const addr = await listen(server, options.listen);
    running.push({ name: 'api', stop: () => closeServer(server) });
    const url = `http://${urlHost(addr.address)}:${addr.port}`;
    const publicUrl = resolvePublicUrl(options, addr, dhcp, logger);

    // Loaded here so that the other commands start without express.
    const [{ createApp }, { createBootServices }, { sqliteBootBackend }, pxeRouter, { default: express }] = await Promise.all([
      import('../../api/app.js'),
      import('../../boot/http/index.js'),
      import('../../engine/index.js'),
      pxeFilesRouter(tftpRoot),
      import('express'),
    ]);
    const backend = sqliteBootBackend(opened, { metrics: sc.metrics, logger: logger.child({ component: 'boot-http' }) });
    const boot = createBootServices({ engine: sc.engine, backend, publicUrl, bootDir, metrics: sc.metrics, logger });
    const bootRouter = express.Router();
    bootRouter.use(pxeRouter);
    bootRouter.use(boot.router);
    const app = createApp({ engine: sc.engine, logger, boot: { router: bootRouter }, metrics: sc.metrics, bootTimeline: boot.store });
    server.on('request', app);
    const events = safeSink(boot.events, logger);
    logger.info({ service: 'api', address: addr.address, port: addr.port, url, publicUrl, db: dbPath }, `API listening on ${url}`);

    let leases: SqliteLeaseStore | undefined;
    if (dhcp?.mode === 'full') leases = new SqliteLeaseStore(sc.repo.db);

    if (options.tftpListen !== 'off') {
      const at = options.tftpListen;
      const tlog = logger.child({ service: 'tftp' });
      const macFor = (ip: string): string | null => {
        const held = leases?.findByAddress(ip);
        return held && held.mac !== '' ? held.mac : neighbourMac(ip);
      };
      const onTransfer = instrumentTftp({ metrics: sc.metrics, events, macFor });
      // boot.ipxe is generated per client: its own iPXE script when its MAC is known.
      const provider = bootScriptProvider({
        scripts: boot,
        macFor,
        onError: (err, client) => tlog.warn({ err, client: client.address }, 'boot.ipxe not generated; serving the root directory'),
      });
      let tftp: TftpServer;
      try {
        tftp = await startTftpServer({ root: tftpRoot, address: at.host, port: at.port, logger: tlog, onTransfer, provider });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'the address is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such local address' : (e as Error).message;
        throw new TabulaError('internal', 'LISTEN_FAILED', `cannot listen for TFTP on ${urlHost(at.host)}:${at.port}: ${why}`, { host: at.host, port: at.port });
      }
      running.push({ name: 'tftp', stop: () => tftp.close() });
      const ta = tftp.address();
      tlog.info({ address: ta.address, port: ta.port, root: tftpRoot }, `TFTP listening on ${urlHost(ta.address)}:${ta.port}`);
    }

    if (dhcp && sockets) {
      const dlog = logger.child({ service: 'dhcp' });
      const bootFiles = new SqliteBootFileStore(sc.repo.db);
      const reservations = new EngineReservations(sc.engine, {
        bootFiles: () => bootFiles.all(),
        onConflict: (c) => dlog.warn({ ip: c.ip, hosts: c.hosts }, 'address reserved by several hosts: reserved for none of them'),
        // Rebuilt when hosts, networks or boot files change, not every 2 s (seconds at 10,000 hosts).
        version: () => reservationStamp(sc.repo),
      });
      const config: DhcpServerConfig = {
        mode: dhcp.mode,
        serverIp: dhcp.serverIp,
        nextServer: dhcp.serverIp,
        subnets: dhcp.subnets,
        bootConfig: { httpScriptUrl: `${publicUrl}/boot.ipxe`, httpBootUrl: `${publicUrl}/pxe/`, files: { ...DEFAULT_BOOT_FILES } },
      };
      const responder = new DhcpResponder(config, { ...(leases ? { leases } : {}), reservations });
      const lease = leases;
      const metrics = dhcpMetrics(sc.metrics, lease ? () => lease.boundCount(Date.now()) : undefined);
      const handler = instrumentDhcp(responder, { events, metrics });
      for (const port of dhcp.ports) {
        const fd = sockets.fds.get(port) as number;
        const srv = await startDhcpServer({
          responder: handler,
          fd,
          receivedOn: port === 4011 ? 'port4011' : 'port67',
          logger: dlog,
          onDecodeError: (reason) => metrics.dropped.inc({ reason: `decode-${reason}` }),
          onSendError: () => metrics.dropped.inc({ reason: 'send-failed' }),
          // One commit per burst of datagrams: leases and timeline events of a burst are durable together, before any reply.
          unitOfWork: (work) => sc.repo.transaction(work),
        });
        running.push({ name: `dhcp-${port}`, stop: () => srv.close() });
      }
      dlog.info(
        { interface: dhcp.interface, mode: dhcp.mode, serverIp: dhcp.serverIp, ports: dhcp.ports, subnets: dhcp.subnets.map((s) => `${s.network}/${s.prefix} ${s.range[0]}-${s.range[1]}`) },
        `DHCP (${dhcp.mode}) serving on ${dhcp.interface}`,
      );
    }

    const reason = await stop.promise;
    logger.info({ reason }, 'shutting down');
  } finally {
    stop.dispose();
    // Stop in reverse order; the database is closed by the session once the action returns.
    for (const s of running.reverse()) {
      try {
        await s.stop();
      } catch (e) {
        logger.error({ service: s.name, err: e }, 'service did not stop cleanly');
      }
    }
  }
  logger.info('stopped');
}

export function registerServe(program: Command, session: Session): void {
  serveOptions(
    program
      .command('serve')
      .description('run the engine: REST API, HTTP boot chain, TFTP and (with --dhcp-interface) DHCP on --db, until SIGINT/SIGTERM'),
  ).action(action<ServeOptions>(session, (ctx, _args, o) => serve(ctx, o)));
}
