// The HTTP side of the boot chain (issue 3), mounted at the root of the server, outside /api/v1 and
// without the admin token:
//   GET  /boot.ipxe              generic iPXE script: chains to /boot/${mac}/ipxe
//   GET  /boot/{mac}/ipxe        per-host script; starts a boot and carries its fresh boot token
//   GET  /boot/{mac}/kernel      boot artefacts (public): Range, HEAD, exact Content-Length
//   GET  /boot/{mac}/initrd
//   POST /boot/{mac}/inventory   the blade's NICs                      \
//   GET  /boot/{mac}/config      the apply script of the host's plan    > boot token required
//   POST /boot/{mac}/report      applied / verified / rolled back       /
// Every stage lands in the boot timeline (the backend's BootStore). Tokens are never logged: requests are
// logged by route pattern, and tokens travel in headers only.
import { join } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { TabulaError, type Violation } from '../../domain/errors.js';
import { macProblem, normalizeMac } from '../../domain/net.js';
import type { HostPlan } from '../../domain/plan.js';
import type { Engine } from '../../engine/engine.js';
import type { Registry } from '../../metrics.js';
import { ApiError, invalidRequest, methodNotAllowed, sendError } from '../../api/errors.js';
import { bearerToken } from '../../api/auth.js';
import { inventoryReportSchema } from '../../api/schemas.js';
import type { BootEventSink, BootStage, BootStore, BootTokenOwner } from '../events.js';
import type { BootBackend } from './backend.js';
import { ArtefactCache, sendArtefact } from './artefacts.js';
import { kernelStateSchema } from './kernel-schema.js';
import { fallbackPlan } from './fallback.js';

export const DEFAULT_KERNEL_ARGS = 'console=ttyS0 panic=-1';
/** How long the generic script waits before asking again when the server has no script for it. */
export const GENERIC_RETRY_SECONDS = 5;
export const BOOT_BODY_LIMIT = '1mb'; // 1 MiB
/** File names inside bootDir. */
export const KERNEL_FILE = 'vmlinuz';
export const INITRD_FILE = 'initrd.img';
/** The second header a blade may send its token in (busybox wget sends any header). */
export const BOOT_TOKEN_HEADER = 'x-tabula-token';

export interface BootServicesOptions {
  engine: Engine;
  /** Hosts, boots and templates (sqliteBootBackend in src/engine builds the SQLite one). */
  backend: BootBackend;
  /** What blades are told, e.g. http://10.77.0.1:8080 (no trailing slash needed). */
  publicUrl: string;
  /** Holds vmlinuz and initrd.img. */
  bootDir: string;
  metrics: Registry;
  logger: Logger;
  /** Appended to the kernel command line; default DEFAULT_KERNEL_ARGS. */
  kernelArgs?: string;
}

export interface BootServices {
  router: Router;
  /** Where the DHCP and TFTP servers report their stages. */
  events: BootEventSink;
  store: BootStore;
  /** The generic iPXE script (chains to the per-host one by MAC). */
  genericScript(): string;
  /**
   * The per-host iPXE script for a normalized MAC: enrols an unknown MAC, starts a boot and issues its
   * fresh token. Served over HTTP at /boot/{mac}/ipxe and, for TFTP-only firmware, over TFTP.
   */
  hostScript(mac: string, via: 'http' | 'tftp'): string;
}

// ------------------------------------------------------------------ request shapes

/** GET /boot/{mac}/config?applied=N: the generation a running blade holds (see the maintenance hold). */
export const configQuerySchema = z.strictObject({
  applied: z
    .string()
    .regex(/^\d{1,15}$/, 'the applied generation is a whole number')
    .transform(Number)
    .optional(),
});

const checkSchema = z.strictObject({
  name: z.string().min(1).max(128),
  ok: z.boolean(),
  detail: z.string().max(4096).optional(),
  /** A failed advisory check (peer:<addr>) is reported but caused no rollback. */
  advisory: z.boolean().optional(),
});

export const bootReportSchema = z
  .strictObject({
    generation: z.number().int().min(0),
    verified: z.boolean(),
    rolledBack: z.boolean().optional(),
    checks: z.array(checkSchema).max(256).optional(),
    durationsMs: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.number().nonnegative().finite())
      .refine((r) => Object.keys(r).length <= 32, { message: 'at most 32 durations' })
      .optional(),
    /** The kernel's network state when the report was sent (iproute2 JSON and bond sysfs). */
    kernel: kernelStateSchema.optional(),
  })
  .refine((r) => !(r.verified && r.rolledBack === true), { message: 'a report is not both verified and rolled back', path: ['rolledBack'] });
export type BootReport = z.output<typeof bootReportSchema>;

// ------------------------------------------------------------------ helpers

/** 52:54:00:ab:cd:ef → 52-54-00-ab-cd-ef, the form iPXE's ${netX/mac:hexhyp} gives. */
export const hexhyp = (mac: string): string => mac.replace(/:/g, '-');

function pathMac(req: Request): string {
  const raw = req.params.mac;
  const text = typeof raw === 'string' ? raw : '';
  const problem = macProblem(text);
  if (problem) {
    throw new ApiError(400, 'INVALID_MAC', `'${text.slice(0, 64)}' in the path is ${problem === 'malformed' ? 'not a MAC address' : `a ${problem} address`}`, {
      mac: text.slice(0, 64),
    });
  }
  return normalizeMac(text) as string;
}

function tokenInvalid(message: string): ApiError {
  return new ApiError(401, 'BOOT_TOKEN_INVALID', message, {}, { 'WWW-Authenticate': 'Bearer realm="tabula-boot"' });
}

/** The boot token of a request: Authorization: Bearer, or X-Tabula-Token. */
function requestToken(req: Request): string {
  const auth = req.get('authorization');
  const fromAuth = bearerToken(auth);
  const fromHeader = req.get(BOOT_TOKEN_HEADER)?.trim() || null;
  if (auth !== undefined && fromAuth === null) throw tokenInvalid('the Authorization header must be "Bearer <boot token>"');
  if (fromAuth !== null && fromHeader !== null && fromAuth !== fromHeader) throw tokenInvalid('the Authorization and X-Tabula-Token headers hold different tokens');
  const token = fromAuth ?? fromHeader;
  if (token === null) throw tokenInvalid('a boot token is required (Authorization: Bearer <token> or X-Tabula-Token); it comes with the iPXE script');
  return token;
}

interface BootLocals {
  route: string;
  bootHttp: true;
  mac?: string;
  boot?: BootTokenOwner;
}

const locals = (res: Response): BootLocals => res.locals as BootLocals;

const bootOf = (res: Response): BootTokenOwner => {
  const b = locals(res).boot;
  if (!b) throw new Error('boot route without its token check');
  return b;
};

function textReply(res: Response, body: string, headers: Record<string, string> = {}): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.send(body);
}

// ------------------------------------------------------------------ the services

export function createBootServices(opts: BootServicesOptions): BootServices {
  const { engine, metrics } = opts;
  const { hosts, store, templates } = opts.backend;
  const logger = opts.logger.child({ component: 'boot-http' });
  const publicUrl = opts.publicUrl.replace(/\/+$/, '');
  const kernelArgs = opts.kernelArgs ?? DEFAULT_KERNEL_ARGS;
  // Each host gets its effective template revision (host pin > cluster pin > current); previews use these settings.
  templates.boot = { publicUrl, kernelArgs, retrySeconds: GENERIC_RETRY_SECONDS };
  const requests = metrics.counter('tabula_http_requests_total', 'HTTP requests by route and status');
  const tokensIssued = metrics.counter('tabula_boot_tokens_issued_total', 'Boot tokens issued (one per per-host iPXE script)');
  const stageEvents = metrics.counter('tabula_boot_events_total', 'Boot timeline events by stage');
  const router = express.Router();
  const artefacts = new ArtefactCache();

  const event = (mac: string, stage: BootStage, data: Record<string, string | number | boolean | null>, bootId?: number, atMs?: number): void => {
    try {
      store.recordEvent({ mac, stage, data }, { ...(bootId !== undefined ? { bootId } : {}), ...(atMs !== undefined ? { atMs } : {}) });
    } catch (err) {
      logger.warn({ err, stage, mac }, 'boot event not recorded');
    }
  };

  /** First handler of every boot route: route pattern for logs and metrics, one log line per request. */
  const track =
    (route: string): RequestHandler =>
    (req, res, next) => {
      const start = process.hrtime.bigint();
      Object.assign(res.locals, { route, bootHttp: true });
      res.on('finish', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        requests.inc({ route, status: String(res.statusCode) });
        logger.info({ method: req.method, route, status: res.statusCode, mac: locals(res).mac, ms: Math.round(ms * 1000) / 1000 }, 'request');
      });
      next();
    };

  /** The three blade endpoints: a current boot token of the host that owns the path MAC. */
  const requireBootToken: RequestHandler = (req, res, next) => {
    const token = requestToken(req);
    const owner = store.lookupToken(token);
    if (!owner) throw tokenInvalid('the boot token is unknown or belongs to an earlier boot; reboot the blade to get a fresh one');
    const mac = pathMac(req);
    locals(res).mac = mac;
    const host = hosts.findHostByMac(mac);
    if (!host || host.id !== owner.hostId) {
      throw new ApiError(403, 'BOOT_TOKEN_WRONG_HOST', `the boot token does not belong to the host of ${mac}`, { mac });
    }
    locals(res).boot = owner;
    next();
  };

  const jsonBody = express.json({ limit: BOOT_BODY_LIMIT, strict: true, type: () => true });

  const parse = <S extends z.ZodType>(schema: S, value: unknown): z.output<S> => {
    const r = schema.safeParse(value);
    if (!r.success) throw invalidRequest('body', r.error);
    return r.data;
  };

  /** Known paths answer 405 (with Allow) to other methods rather than 404. */
  const only = (path: string, route: string, allowed: string[]): void => {
    router.all(path, track(route), (req) => {
      throw methodNotAllowed(req.method, req.path, allowed);
    });
  };

  // ---------------------------------------------------------------- GET /boot.ipxe

  const genericScript = (): string => {
    stageEvents.inc({ stage: 'ipxe-script' });
    return templates.renderGenericIpxe({ publicUrl, retrySeconds: GENERIC_RETRY_SECONDS });
  };

  const hostScript = (mac: string, via: 'http' | 'tftp'): string =>
    // One commit for the boot, its token and its first event (this runs for every boot of every blade).
    hosts.transaction(() => {
      const { host, enrolled } = engine.findOrEnrolHost(mac);
      const { bootId, token } = store.startBoot(host.id, mac);
      const script = templates.renderHostIpxe(host.id, { publicUrl, mac: hexhyp(mac), token, kernelArgs, host: { name: host.name, generation: host.generation } });
      event(mac, 'host-script', { host: host.name, enrolled, generation: host.generation, ...(via === 'tftp' ? { via } : {}) }, bootId);
      tokensIssued.inc();
      return script;
    });

  router.get('/boot.ipxe', track('/boot.ipxe'), (_req, res) => {
    textReply(res, genericScript());
  });
  only('/boot.ipxe', '/boot.ipxe', ['GET', 'HEAD']);

  // ---------------------------------------------------------------- GET /boot/{mac}/ipxe

  const ipxeRoute = '/boot/{mac}/ipxe';
  // HEAD must not start a boot (express would otherwise run the GET handler for it).
  router.head('/boot/:mac/ipxe', track(ipxeRoute), (req) => {
    throw methodNotAllowed(req.method, req.path, ['GET']);
  });
  router.get('/boot/:mac/ipxe', track(ipxeRoute), (req, res) => {
    const mac = pathMac(req);
    locals(res).mac = mac;
    textReply(res, hostScript(mac, 'http'));
  });
  only('/boot/:mac/ipxe', ipxeRoute, ['GET']);

  // ---------------------------------------------------------------- kernel and initrd

  for (const [name, file, stage] of [
    ['kernel', KERNEL_FILE, 'kernel'],
    ['initrd', INITRD_FILE, 'initrd'],
  ] as const) {
    const route = `/boot/{mac}/${name}`;
    const path = `/boot/:mac/${name}`;
    router.get(path, track(route), async (req, res) => {
      const mac = pathMac(req);
      locals(res).mac = mac;
      const full = join(opts.bootDir, file);
      const data = await artefacts.get(full);
      if (data === null) {
        logger.warn({ file: full }, 'boot artefact missing');
        throw new ApiError(404, 'BOOT_ARTIFACT_MISSING', `boot artefact '${file}' is missing on the server; build the boot image first`, { file });
      }
      // The boot this download belongs to is the one current when it starts: a transfer can end
      // after the blade (or a retry) already fetched a new script.
      const bootId = store.currentBootIdOf(mac);
      const sent = await sendArtefact(req, res, data);
      if (req.method === 'GET' && sent.status !== 416) {
        const data: Record<string, string | number | boolean | null> = { bytes: sent.bytes, size: sent.size, status: sent.status };
        if (sent.range) data.range = `${sent.range.start}-${sent.range.end}`;
        if (sent.aborted) data.aborted = true;
        event(mac, stage, data, bootId ?? undefined, sent.endedAt);
      }
    });
    only(path, route, ['GET', 'HEAD']);
  }

  // ---------------------------------------------------------------- POST /boot/{mac}/inventory

  const inventoryRoute = '/boot/{mac}/inventory';
  router.post('/boot/:mac/inventory', track(inventoryRoute), requireBootToken, jsonBody, (req, res) => {
    const boot = bootOf(res);
    const report = parse(inventoryReportSchema, req.body);
    const reported = normalizeMac(report.bootMac);
    if (reported !== null && reported !== boot.mac) {
      throw new ApiError(422, 'BOOT_MAC_MISMATCH', `the report's boot MAC ${reported} is not ${boot.mac}, the MAC this boot started from`, {
        bootMac: reported,
        expected: boot.mac,
      });
    }
    const result = engine.reportInventory(boot.hostId, report);
    event(
      boot.mac,
      'inventory',
      {
        nics: report.nics.length,
        changes: result.changes.length,
        errors: result.findings.filter((f) => f.severity === 'error').length,
        generation: result.host.generation,
      },
      boot.bootId,
    );
    res.status(200).json(result);
  });
  only('/boot/:mac/inventory', inventoryRoute, ['POST']);

  // ---------------------------------------------------------------- GET /boot/{mac}/config

  const configRoute = '/boot/{mac}/config';
  router.head('/boot/:mac/config', track(configRoute), (req) => {
    throw methodNotAllowed(req.method, req.path, ['GET']);
  });
  router.get('/boot/:mac/config', track(configRoute), requireBootToken, (req, res) => {
    const boot = bootOf(res);
    const q = configQuerySchema.safeParse(req.query);
    if (!q.success) throw invalidRequest('query', q.error);
    const applied = q.data.applied;
    // Maintenance hold: a running blade (it says which generation it applied) keeps its network while
    // its host is in maintenance; the new generation waits until the host is active again. A blade
    // that boots sends no `applied` and always gets the current plan.
    if (applied !== undefined) {
      const host = engine.getHost(boot.hostId);
      if (host.state === 'maintenance' && applied !== host.generation) {
        const last = store.lastEventOfBoot(boot.bootId, 'held');
        if (last?.data.generation !== host.generation || last.data.applied !== applied) {
          event(boot.mac, 'held', { reason: 'maintenance', generation: host.generation, applied }, boot.bootId);
        }
        res.status(204);
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('X-Tabula-Hold', 'maintenance');
        res.setHeader('X-Tabula-Generation', String(host.generation));
        res.setHeader('X-Tabula-Host', host.name);
        res.end();
        return;
      }
    }
    let plan: HostPlan;
    let fallback: string | null = null;
    try {
      plan = engine.getPlan(boot.hostId);
    } catch (err) {
      if (!(err instanceof TabulaError) || err.code !== 'HOST_CONFIG_INVALID') throw err;
      const violations = (err.details.violations ?? []) as Violation[];
      const safe = fallbackPlan(hosts.loadHostConfig(boot.hostId), boot.mac);
      if (!safe) throw err; // nothing safe to hand out: the blade sees the error and keeps its boot network
      plan = safe.plan;
      fallback = violations[0]?.code ?? err.code;
      logger.warn({ host: plan.host, reason: fallback, violations: violations.length }, 'invalid host configuration: serving the fallback plan');
    }
    const script = templates.renderApply(boot.hostId, plan);
    const headers: Record<string, string> = { 'X-Tabula-Generation': String(plan.generation), 'X-Tabula-Host': plan.host };
    if (fallback !== null) headers['X-Tabula-Fallback'] = fallback;
    event(boot.mac, 'config', { generation: plan.generation, fallback: fallback !== null, ...(fallback !== null ? { reason: fallback } : {}) }, boot.bootId);
    textReply(res, script, headers);
  });
  only('/boot/:mac/config', configRoute, ['GET']);

  // ---------------------------------------------------------------- POST /boot/{mac}/report

  const reportRoute = '/boot/{mac}/report';
  router.post('/boot/:mac/report', track(reportRoute), requireBootToken, jsonBody, (req, res) => {
    const boot = bootOf(res);
    const report = parse(bootReportSchema, req.body);
    const host = engine.getHost(boot.hostId);
    if (report.generation > host.generation) {
      throw new TabulaError('conflict', 'GENERATION_UNKNOWN', `host '${host.name}' reports generation ${report.generation}, but the engine holds generation ${host.generation}`, {
        host: host.name,
        generation: report.generation,
        current: host.generation,
      });
    }
    // A verified fallback plan is not the host's configuration: it stays out of sync.
    const config = store.lastEventOfBoot(boot.bootId, 'config');
    const fallback = config?.data.fallback === true && config.data.generation === report.generation;
    const checks = report.checks ?? [];
    // Stored as the host's latest report; sets appliedGeneration when verified (not for a fallback plan).
    const recorded = engine.recordReport(boot.hostId, {
      bootId: boot.bootId,
      generation: report.generation,
      verified: report.verified,
      rolledBack: report.rolledBack ?? false,
      fallback,
      checks,
      kernel: report.kernel,
    });
    const after = recorded.host;
    const failed = checks.filter((c) => !c.ok && c.advisory !== true).map((c) => c.name);
    const data: Record<string, string | number | boolean | null> = {
      generation: report.generation,
      verified: report.verified,
      rolledBack: report.rolledBack ?? false,
      checks: checks.length,
      failed: failed.length,
    };
    if (failed.length) data.failedChecks = failed.join(',').slice(0, 512);
    for (const [k, v] of Object.entries(report.durationsMs ?? {})) data[`ms.${k}`] = v;
    event(boot.mac, 'report', data, boot.bootId);
    if (report.verified) event(boot.mac, 'verified', { generation: report.generation, ...(fallback ? { fallback: true } : {}) }, boot.bootId);
    else if (report.rolledBack) event(boot.mac, 'rolled-back', { generation: report.generation, failed: failed.length }, boot.bootId);
    res.status(200).json({
      host: after.name,
      generation: after.generation,
      reported: report.generation,
      appliedGeneration: after.appliedGeneration,
      fallback,
      inSync: after.inSync,
    });
  });
  only('/boot/:mac/report', reportRoute, ['POST']);

  // Errors of the boot routes (and only those) leave as the API's JSON error shape.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!locals(res).bootHttp) {
      next(err);
      return;
    }
    sendError(res, err, logger);
  });

  return { router, events: store, store, genericScript, hostScript };
}
