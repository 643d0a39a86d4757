// The HTTP application: /healthz, the authenticated /api/v1 router built from the route table, request
// logging and JSON errors. The caller owns the server (createServer(app).listen(...)).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Logger } from 'pino';
import type { EngineApi } from '../engine/types.js';
import type { Registry } from '../metrics.js';
import type { BootTimeline } from '../boot/events.js';
import { requireBearer } from './auth.js';
import { ApiError, errorHandler, routeNotFound } from './errors.js';
import { buildOpenApiDocument } from './openapi.js';
import { API_PREFIX, type Registration, buildApiRouter, routes } from './routes.js';

export const DEFAULT_BODY_LIMIT = '1mb'; // 1 MiB in the `bytes` syntax

export interface AppOptions {
  engine: EngineApi;
  logger: Logger;
  /** Largest accepted JSON body; default 1 MiB. */
  bodyLimit?: string;
  /** The HTTP boot chain (createBootServices), mounted at the root, outside /api/v1 and its token. */
  boot?: { router: express.Router };
  /** Served as Prometheus text at GET /metrics (unauthenticated); HTTP requests are counted in it. */
  metrics?: Registry;
  /** Backs GET /api/v1/hosts/{host}/boots (the boot store); without it that route answers 503. */
  bootTimeline?: BootTimeline;
  /**
   * The web console's built files (vite, `npm run build:ui`), served at /ui; default dist/ui of this
   * package; false: no console.
   */
  uiDir?: string | false;
}

/** dist/ui of the package: two levels above both src/api/app.ts and dist/api/app.js. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../dist/ui', import.meta.url));

/** The console loads only its own files; CodeMirror injects <style> elements, hence style-src 'unsafe-inline'. */
const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** /ui: the static single-page console, index.html for its client routes (/ui/hosts/blade1). */
function consoleRouter(dir: string): express.Router {
  const router = express.Router();
  const index = join(dir, 'index.html');
  router.use((req, res, next) => {
    res.locals.route = '/ui';
    // Relative asset URLs need the trailing slash.
    if (req.originalUrl === '/ui' || req.originalUrl.startsWith('/ui?')) {
      res.redirect(301, '/ui/');
      return;
    }
    res.setHeader('Content-Security-Policy', UI_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  // A missing asset is a 404, never index.html (a stale page would run the wrong script).
  router.use('/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, redirect: false }), (req, _res, next) => {
    next(routeNotFound(req.method, req.originalUrl.split('?')[0] ?? req.originalUrl));
  });
  router.use(express.static(dir, { index: false, redirect: false, maxAge: 0 }));
  // A middleware, not a route: the OpenAPI test walks every express route as an API route.
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    if (!existsSync(index)) {
      next(new ApiError(503, 'CONSOLE_NOT_BUILT', `the web console is not built (${dir} has no index.html): run npm run build:ui`));
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The registrations of the /api/v1 routes of an app made by createApp (for tests and introspection). */
const registrationsOf = new WeakMap<express.Express, Registration[]>();

export function apiRegistrations(app: express.Express): readonly Registration[] {
  return registrationsOf.get(app) ?? [];
}

export function createApp(opts: AppOptions): express.Express {
  const logger = opts.logger.child({ component: 'api' });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const requests = opts.metrics?.counter('tabula_http_requests_total', 'HTTP requests by route and status');

  // One line per request: method, route template (never the query string or headers), status, duration.
  // The boot routes log and count their own requests (res.locals.bootHttp).
  app.use((req, res, next) => {
    const start = process.hrtime.bigint();
    const path = req.path;
    res.on('finish', () => {
      if (res.locals.bootHttp === true) return;
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const route = typeof res.locals.route === 'string' ? res.locals.route : path;
      // Unmatched paths share one label: a scanner must not grow the metric without bound.
      requests?.inc({ route: typeof res.locals.route === 'string' ? res.locals.route : 'unmatched', status: String(res.statusCode) });
      // A console polls the rack every few seconds; its 304s would drown the log at info.
      const level = res.statusCode === 304 ? 'debug' : 'info';
      logger[level]({ method: req.method, route, status: res.statusCode, ms: Math.round(ms * 1000) / 1000 }, 'request');
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.locals.route = '/healthz';
    res.json({ ok: true });
  });

  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', (_req, res) => {
      res.locals.route = '/metrics';
      res.setHeader('Cache-Control', 'no-store');
      res.type(PROMETHEUS_CONTENT_TYPE).send(metrics.render());
    });
  }

  if (opts.boot) app.use(opts.boot.router);

  const uiDir = opts.uiDir ?? DEFAULT_UI_DIR;
  if (uiDir !== false) {
    app.use('/ui', consoleRouter(uiDir));
  }

  const document = buildOpenApiDocument(routes);
  const { router, registrations } = buildApiRouter(
    { engine: opts.engine, document, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, ...(opts.bootTimeline ? { bootTimeline: opts.bootTimeline } : {}) },
    routes,
  );
  registrationsOf.set(app, registrations);
  app.use(API_PREFIX, requireBearer(opts.engine), router);

  app.use((req, _res, next) => {
    next(routeNotFound(req.method, req.path));
  });
  app.use(errorHandler(logger));
  return app;
}
