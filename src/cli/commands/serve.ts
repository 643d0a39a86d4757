// tabula serve: the engine's REST API on one database, until SIGINT/SIGTERM (or the run's AbortSignal).
// The services started here are a list, so that the boot services (DHCP, TFTP) join with their flags.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Command, Option } from 'commander';
import { TabulaError } from '../../domain/errors.js';
import type { EngineApi } from '../../engine/types.js';
import type { Logger } from '../../log.js';
import { type Ctx, type Session, action } from '../context.js';
import { type ListenAddress, parseListen, parseUrl } from '../parse.js';

export const DEFAULT_LISTEN = '0.0.0.0:8080';
/** How long open keep-alive connections get to finish their request on shutdown. */
const SHUTDOWN_GRACE_MS = 5_000;

/** `serve`'s options after parsing; new services add their fields here and in serveOptions(). */
export interface ServeOptions {
  listen: ListenAddress;
  publicUrl?: string;
}

export interface ServeContext {
  options: ServeOptions;
  engine: EngineApi;
  logger: Logger;
  dbPath: string;
}

/** One running service; stop() resolves once it released its sockets. */
export interface RunningService {
  name: string;
  stop(): Promise<void>;
}

/** Adds serve's flags; later services (DHCP, TFTP) add theirs here. */
function serveOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--listen <host:port>', 'address of the REST API; port 0 picks a free port').default(parseListen(DEFAULT_LISTEN), DEFAULT_LISTEN).argParser(parseListen))
    .addOption(new Option('--public-url <url>', 'URL at which blades and operators reach this server (default: the --listen URL unless its host is a wildcard)').argParser(parseUrl));
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

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

/** The REST API (and /healthz) over HTTP. */
async function startApi(sc: ServeContext): Promise<RunningService> {
  // Loaded here so that the other commands start without express.
  const { createApp } = await import('../../api/app.js');
  const app = createApp({ engine: sc.engine, logger: sc.logger });
  const server = createServer(app);
  const addr = await listen(server, sc.options.listen);
  const url = `http://${urlHost(addr.address)}:${addr.port}`;
  const wildcard = addr.address === '0.0.0.0' || addr.address === '::';
  const publicUrl = sc.options.publicUrl ?? (wildcard ? null : url);
  sc.logger.info({ service: 'api', address: addr.address, port: addr.port, url, publicUrl, db: sc.dbPath }, `API listening on ${url}`);
  return { name: 'api', stop: () => closeServer(server) };
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

async function serve(ctx: Ctx, options: ServeOptions): Promise<void> {
  const logger = ctx.session.logger(ctx.globals, { level: 'info', destination: 'stdout' });
  const dbPath = ctx.session.dbPath(ctx.globals);
  const stop = stopRequested(ctx.signal);
  const running: RunningService[] = [];
  try {
    const sc: ServeContext = { options, engine: ctx.engine(), logger, dbPath };
    running.push(await startApi(sc));
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
  serveOptions(program.command('serve').description('run the engine: the REST API on --db until SIGINT/SIGTERM')).action(
    action<ServeOptions>(session, (ctx, _args, o) => serve(ctx, o)),
  );
}
