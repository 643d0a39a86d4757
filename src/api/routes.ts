// The REST API's one route table. Express routes (buildApiRouter) and the OpenAPI document
// (openapi.ts) are both generated from it, so the two cannot drift apart. Each handler is one
// engine call; the engine makes each call one transaction.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { formatPlan } from '../domain/plan.js';
import type { EngineApi } from '../engine/types.js';
import type { BootTimeline } from '../boot/events.js';
import { ApiError, invalidRequest, methodNotAllowed, routeNotFound, unsupportedMediaType } from './errors.js';
import {
  attachmentInputSchema,
  attachmentPatchSchema,
  bondInputSchema,
  bondPatchSchema,
  bootFilesPatchSchema,
  hookInputSchema,
  hookPatchSchema,
  clusterInputSchema,
  clusterPatchSchema,
  hostInputSchema,
  hostListQuerySchema,
  hostPatchSchema,
  inventoryReportSchema,
  networkInputSchema,
  networkPatchSchema,
  nicPatchSchema,
  bootsQuerySchema,
  planQuerySchema,
  templateDiffSchema,
  templatePinSchema,
  templateRenderSchema,
  templateRollbackSchema,
  templateSaveSchema,
} from './schemas.js';
import { TabulaError } from '../domain/errors.js';
import { bootFileServiceOf } from '../store/boot-file-store.js';
import { type HookOwnerRef, hookServiceOf } from '../store/hook-store.js';
import { type PinTargetRef, templateServiceOf } from '../templates/service.js';
import { cachedRackSummary, noneMatch } from './rack.js';

export const API_PREFIX = '/api/v1';
export const HTTP_METHODS = ['get', 'post', 'patch', 'delete'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
/** 304 only for a conditional GET (If-None-Match) whose entity tag still matches. */
export type SuccessStatus = 200 | 201 | 204 | 304;

/** Names of the `{param}` segments of a path, as a string union. */
export type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | PathParams<Rest> : never;

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<P extends string = string, Q = unknown, B = unknown> {
  engine: EngineApi;
  /** The boot store, when the server runs the boot services (GET /hosts/{host}/boots). */
  bootTimeline?: BootTimeline;
  /** Path parameters, as given (an id or a name): the engine resolves them. */
  params: Readonly<Record<P, string>>;
  query: Q;
  body: B;
  /** This API's OpenAPI document. */
  document: Readonly<Record<string, unknown>>;
  /** A request header (conditional requests); never the Authorization header's value. */
  header(name: string): string | undefined;
}

/** A handler's answer when the route's default status or JSON encoding does not fit. */
export class Reply {
  constructor(
    readonly status: SuccessStatus,
    readonly body: unknown,
    /** Set for a non-JSON body (a string sent as is). */
    readonly contentType?: string,
    /** Extra response headers (ETag, Cache-Control). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

/** What the success response holds, for the OpenAPI document. */
export interface ResponseDoc {
  description: string;
  /** 'object' and 'array' are JSON; 'text' alternatives are listed in `alternatives`. */
  shape: 'object' | 'array' | 'none';
  /** Other statuses the handler may answer with (e.g. 201 when an inventory enrols a new host). */
  otherStatuses?: { status: SuccessStatus; description: string }[];
  /** Other media types of the same response (e.g. application/yaml). */
  alternatives?: string[];
}

export interface Route {
  method: HttpMethod;
  /** Relative to API_PREFIX, OpenAPI style: /clusters/{cluster}. */
  path: string;
  /** The `{param}` names of `path`, in order. */
  params: string[];
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  query?: z.ZodType;
  body?: z.ZodType;
  status: SuccessStatus;
  response: ResponseDoc;
  handler(ctx: RouteContext): unknown;
}

interface RouteSpec<Path extends string, Q extends z.ZodType | undefined, B extends z.ZodType | undefined> {
  method: HttpMethod;
  path: Path;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  query?: Q;
  body?: B;
  status: SuccessStatus;
  response: ResponseDoc;
  handler(ctx: RouteContext<PathParams<Path>, Parsed<Q>, Parsed<B>>): unknown;
}

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string);
}

/** One route: the handler's params, query and body are typed from the path and the schemas. */
function route<Path extends string, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<Path, Q, B>,
): Route {
  const { handler, ...rest } = spec;
  return {
    ...rest,
    params: pathParams(spec.path),
    // The router parses query and body with the same schemas before calling, hence the erasure.
    handler: handler as (ctx: RouteContext) => unknown,
  };
}

/** Descriptions of the path parameters, shared by the document. */
export const PARAM_DESCRIPTIONS: Readonly<Record<string, string>> = {
  cluster: 'Cluster id or name.',
  network: 'Logical network id or name, in the cluster.',
  host: 'Host id or name.',
  nic: 'NIC id, kernel name or MAC address.',
  bond: 'Bond id or name, on the host.',
  attachment: 'Attachment id or network name, on the host.',
  template: 'Template name: boot.ipxe, host.ipxe or apply.sh.',
  revision: 'Template revision number.',
  phase: 'Hook phase: before-apply or after-apply.',
  hook: 'Hook name, unique per owner and phase.',
};

/** {revision} of a template path: a whole number >= 1. */
function revisionParam(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) {
    throw new TabulaError('validation', 'TEMPLATE_REVISION_INVALID', `template revision '${text.slice(0, 32)}' is not a whole number >= 1`, { revision: text.slice(0, 32) });
  }
  return Number(text);
}

/** A pin names a host or a cluster, exactly one. */
function pinTarget(body: { host?: string | undefined; cluster?: string | undefined }): PinTargetRef {
  if (body.host !== undefined && body.cluster === undefined) return { host: body.host };
  if (body.cluster !== undefined && body.host === undefined) return { cluster: body.cluster };
  throw new TabulaError('bad-request', 'TEMPLATE_PIN_TARGET_INVALID', 'a pin names exactly one of host and cluster', {});
}

const one = (description: string): ResponseDoc => ({ description, shape: 'object' });
const many = (description: string): ResponseDoc => ({ description, shape: 'array' });
const none: ResponseDoc = { description: 'Deleted.', shape: 'none' };

/** The five hook routes of one owner kind: list, create, update, delete (issue 4, admin hooks). */
function hookRoutes(kind: 'cluster' | 'host'): Route[] {
  const who = (p: Record<string, string>): HookOwnerRef => (kind === 'host' ? { host: p.host as string } : { cluster: p.cluster as string });
  const base = kind === 'host' ? '/hosts/{host}/hooks' : '/clusters/{cluster}/hooks';
  const Kind = kind === 'host' ? 'Host' : 'Cluster';
  const reach = kind === 'host' ? 'the host' : 'every host of the cluster';
  return [
    route({
      method: 'get',
      path: base,
      operationId: `list${Kind}Hooks`,
      summary: kind === 'host' ? "The host's hook scripts, and every hook its apply script runs (cluster's, then its own)" : "The cluster's hook scripts",
      tag: 'hooks',
      status: 200,
      response: one(`{ scope, owner, hooks: [{ id, scope, owner, phase, name, order, script, createdAt, updatedAt }]${kind === 'host' ? ', effective: [{ scope, phase, name, order, file, script }]' : ''} }.`),
      handler: ({ engine, params }) => hookServiceOf(engine).list(who(params)),
    }),
    route({
      method: 'post',
      path: base,
      operationId: `create${Kind}Hook`,
      summary: `Add a hook script; bumps the generation of ${reach}`,
      description:
        'Checked before anything is stored: HOOK_NAME_INVALID, HOOK_PHASE_INVALID, HOOK_ORDER_INVALID, HOOK_TOO_LARGE, HOOK_SCRIPT_INVALID, HOOK_LINT_FAILED (sh -n), HOOK_EXISTS (409).',
      tag: 'hooks',
      body: hookInputSchema,
      status: 201,
      response: one('{ hook, bumped: [{ host, generation }] }.'),
      handler: ({ engine, params, body }) => hookServiceOf(engine).save(who(params), body),
    }),
    route({
      method: 'patch',
      path: `${base}/{phase}/{hook}`,
      operationId: `update${Kind}Hook`,
      summary: `Change a hook's script or order; bumps the generation of ${reach}`,
      tag: 'hooks',
      body: hookPatchSchema,
      status: 200,
      response: one('{ hook, bumped }.'),
      handler: ({ engine, params, body }) => hookServiceOf(engine).update(who(params), params.phase, params.hook, body),
    }),
    route({
      method: 'delete',
      path: `${base}/{phase}/{hook}`,
      operationId: `delete${Kind}Hook`,
      summary: `Remove a hook; bumps the generation of ${reach}`,
      tag: 'hooks',
      status: 200,
      response: one('{ hook (as it was), bumped }.'),
      handler: ({ engine, params }) => hookServiceOf(engine).remove(who(params), params.phase, params.hook),
    }),
  ];
}

export const routes: readonly Route[] = [
  // ---------------------------------------------------------------- meta
  route({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This API as an OpenAPI 3.1 document',
    tag: 'meta',
    status: 200,
    response: one('The OpenAPI document.'),
    handler: ({ document }) => document,
  }),

  // ---------------------------------------------------------------- clusters
  route({
    method: 'get',
    path: '/clusters',
    operationId: 'listClusters',
    summary: 'List clusters',
    tag: 'clusters',
    status: 200,
    response: many('Every cluster.'),
    handler: ({ engine }) => engine.listClusters(),
  }),
  route({
    method: 'post',
    path: '/clusters',
    operationId: 'createCluster',
    summary: 'Create a cluster (with its management network)',
    tag: 'clusters',
    body: clusterInputSchema,
    status: 201,
    response: one('The created cluster.'),
    handler: ({ engine, body }) => engine.createCluster(body),
  }),
  route({
    method: 'get',
    path: '/clusters/{cluster}',
    operationId: 'getCluster',
    summary: 'Get a cluster',
    tag: 'clusters',
    status: 200,
    response: one('The cluster.'),
    handler: ({ engine, params }) => engine.getCluster(params.cluster),
  }),
  route({
    method: 'patch',
    path: '/clusters/{cluster}',
    operationId: 'updateCluster',
    summary: 'Update a cluster',
    tag: 'clusters',
    body: clusterPatchSchema,
    status: 200,
    response: one('The updated cluster.'),
    handler: ({ engine, params, body }) => engine.updateCluster(params.cluster, body),
  }),
  route({
    method: 'delete',
    path: '/clusters/{cluster}',
    operationId: 'deleteCluster',
    summary: 'Delete an empty cluster',
    tag: 'clusters',
    status: 204,
    response: none,
    handler: ({ engine, params }) => engine.deleteCluster(params.cluster),
  }),

  // ---------------------------------------------------------------- networks
  route({
    method: 'get',
    path: '/clusters/{cluster}/networks',
    operationId: 'listNetworks',
    summary: "List a cluster's logical networks",
    tag: 'networks',
    status: 200,
    response: many('The networks of the cluster.'),
    handler: ({ engine, params }) => engine.listNetworks(params.cluster),
  }),
  route({
    method: 'post',
    path: '/clusters/{cluster}/networks',
    operationId: 'createNetwork',
    summary: 'Create a logical network',
    tag: 'networks',
    body: networkInputSchema,
    status: 201,
    response: one('The created network.'),
    handler: ({ engine, params, body }) => engine.createNetwork(params.cluster, body),
  }),
  route({
    method: 'get',
    path: '/clusters/{cluster}/networks/{network}',
    operationId: 'getNetwork',
    summary: 'Get a logical network',
    tag: 'networks',
    status: 200,
    response: one('The network.'),
    handler: ({ engine, params }) => engine.getNetwork(params.cluster, params.network),
  }),
  route({
    method: 'patch',
    path: '/clusters/{cluster}/networks/{network}',
    operationId: 'updateNetwork',
    summary: 'Update a logical network',
    tag: 'networks',
    body: networkPatchSchema,
    status: 200,
    response: one('The updated network.'),
    handler: ({ engine, params, body }) => engine.updateNetwork(params.cluster, params.network, body),
  }),
  route({
    method: 'delete',
    path: '/clusters/{cluster}/networks/{network}',
    operationId: 'deleteNetwork',
    summary: 'Delete a logical network no host uses',
    tag: 'networks',
    status: 204,
    response: none,
    handler: ({ engine, params }) => engine.deleteNetwork(params.cluster, params.network),
  }),

  // ---------------------------------------------------------------- hosts
  route({
    method: 'get',
    path: '/hosts',
    operationId: 'listHosts',
    summary: 'List hosts, optionally of one cluster or in one state',
    tag: 'hosts',
    query: hostListQuerySchema,
    status: 200,
    response: many('The matching hosts.'),
    handler: ({ engine, query }) => {
      const filter: { cluster?: string; state?: (typeof query)['state'] } = {};
      if (query.cluster !== undefined) filter.cluster = query.cluster;
      if (query.state !== undefined) filter.state = query.state;
      return engine.listHosts(filter);
    },
  }),
  route({
    method: 'post',
    path: '/hosts',
    operationId: 'createHost',
    summary: 'Create a host',
    tag: 'hosts',
    body: hostInputSchema,
    status: 201,
    response: one('The created host.'),
    handler: ({ engine, body }) => engine.createHost(body),
  }),
  route({
    method: 'get',
    path: '/hosts/{host}',
    operationId: 'getHost',
    summary: 'Get a host',
    tag: 'hosts',
    status: 200,
    response: one('The host.'),
    handler: ({ engine, params }) => engine.getHost(params.host),
  }),
  route({
    method: 'patch',
    path: '/hosts/{host}',
    operationId: 'updateHost',
    summary: 'Update a host (rename, move to another cluster, change state, ...)',
    tag: 'hosts',
    body: hostPatchSchema,
    status: 200,
    response: one('The updated host.'),
    handler: ({ engine, params, body }) => engine.updateHost(params.host, body),
  }),
  route({
    method: 'delete',
    path: '/hosts/{host}',
    operationId: 'deleteHost',
    summary: 'Delete a host',
    tag: 'hosts',
    status: 204,
    response: none,
    handler: ({ engine, params }) => engine.deleteHost(params.host),
  }),
  route({
    method: 'post',
    path: '/hosts/{host}/inventory',
    operationId: 'reportHostInventory',
    summary: "Reconcile a known host's NICs with an inventory report",
    tag: 'inventory',
    body: inventoryReportSchema,
    status: 200,
    response: one('The reconciliation: the host, what changed, sync reasons and findings.'),
    handler: ({ engine, params, body }) => engine.reportInventory(params.host, body),
  }),
  route({
    method: 'post',
    path: '/inventory',
    operationId: 'reportInventory',
    summary: 'Report an inventory: the host is found by MAC, or enrolled in the default cluster',
    tag: 'inventory',
    body: inventoryReportSchema,
    status: 200,
    response: {
      description: 'The reconciliation of a known host.',
      shape: 'object',
      otherStatuses: [{ status: 201, description: 'The host was unknown and has been enrolled; the reconciliation.' }],
    },
    handler: ({ engine, body }) => {
      const result = engine.reportInventory(null, body);
      return result.enrolled ? new Reply(201, result) : result;
    },
  }),
  route({
    method: 'get',
    path: '/hosts/{host}/check',
    operationId: 'checkHost',
    summary: 'Findings (errors and warnings) for the host as stored',
    tag: 'hosts',
    status: 200,
    response: many('The violations; empty when the host is clean.'),
    handler: ({ engine, params }) => engine.checkHost(params.host),
  }),
  route({
    method: 'get',
    path: '/hosts/{host}/plan',
    operationId: 'getHostPlan',
    summary: "The host's plan: desired network state and the steps that build it",
    description: 'format=json (default) answers the plan object; format=yaml answers the same plan as application/yaml text.',
    tag: 'hosts',
    query: planQuerySchema,
    status: 200,
    response: { description: 'The plan.', shape: 'object', alternatives: ['application/yaml'] },
    handler: ({ engine, params, query }) => {
      const plan = engine.getPlan(params.host);
      return query.format === 'yaml' ? new Reply(200, formatPlan(plan, 'yaml'), 'application/yaml; charset=utf-8') : plan;
    },
  }),

  route({
    method: 'get',
    path: '/hosts/{host}/boots',
    operationId: 'listHostBoots',
    summary: "The host's boots, newest first, each with its timeline of stages",
    description:
      'Each boot starts when the blade fetches its iPXE script (which carries a fresh boot token); its events are the stages seen by DHCP, TFTP and the HTTP boot chain, in time order. Firmware DHCP/TFTP events before the script are part of the boot that follows them. `limit` (1-100, default 10) caps the number of boots.',
    tag: 'boots',
    query: bootsQuerySchema,
    status: 200,
    response: many('The boots, newest first: { id, mac, startedAt, current, events: [{ stage, at, data }] }.'),
    handler: ({ engine, bootTimeline, params, query }) => {
      const host = engine.getHost(params.host);
      if (!bootTimeline) throw new ApiError(503, 'BOOT_TIMELINE_UNAVAILABLE', 'this server does not run the boot services, so it keeps no boot timeline');
      return bootTimeline.listBoots(host.id, query.limit ?? 10);
    },
  }),

  route({
    method: 'get',
    path: '/rack',
    operationId: 'getRack',
    summary: 'The rack at a glance: every host with its state, sync, last boot stage and result, seconds to verified',
    description:
      'One row per host (`?cluster=&state=` filter like GET /hosts): `{ hosts: [{ id, name, cluster, state, bootMac, generation, appliedGeneration, inSync, syncReasons, lastInventoryAt, lastBoot: { id, mac, startedAt, stage, stageAt, result, secondsToVerified } | null }], counts, timeline }`. `result` is verified, rolled-back, reported, held or booting. The response carries an ETag; a poll with `If-None-Match` gets 304 without a body until a host or a boot changes (the web console polls this way).',
    tag: 'hosts',
    query: hostListQuerySchema,
    status: 200,
    response: { description: 'The rack summary.', shape: 'object', otherStatuses: [{ status: 304, description: 'Nothing changed since the ETag given in If-None-Match.' }] },
    handler: ({ engine, bootTimeline, query, header }) => {
      const filter: { cluster?: string; state?: (typeof query)['state'] } = {};
      if (query.cluster !== undefined) filter.cluster = query.cluster;
      if (query.state !== undefined) filter.state = query.state;
      const { summary, etag } = cachedRackSummary(engine, bootTimeline, filter);
      const headers = { ETag: etag, 'Cache-Control': 'no-cache' };
      return noneMatch(header('if-none-match'), etag) ? new Reply(304, null, undefined, headers) : new Reply(200, summary, undefined, headers);
    },
  }),

  // Boot file overrides (issue 3, "PXE"): the DHCP arch map per cluster and per host.
  route({
    method: 'get',
    path: '/clusters/{cluster}/boot-files',
    operationId: 'getClusterBootFiles',
    summary: "The cluster's replacements of the DHCP boot file map",
    tag: 'boots',
    status: 200,
    response: one('{ cluster, files }: keys bios, uefiX64, uefiIa32, arm64, arm32 (TFTP names), httpBootUrl, httpScriptUrl.'),
    handler: ({ engine, params }) => bootFileServiceOf(engine).clusterFiles(params.cluster),
  }),
  route({
    method: 'patch',
    path: '/clusters/{cluster}/boot-files',
    operationId: 'updateClusterBootFiles',
    summary: 'Set (string) or remove (null) boot file entries of a cluster; its hosts inherit them',
    tag: 'boots',
    body: bootFilesPatchSchema,
    status: 200,
    response: one('{ cluster, files } after the change.'),
    handler: ({ engine, params, body }) => bootFileServiceOf(engine).patchCluster(params.cluster, body),
  }),
  route({
    method: 'get',
    path: '/hosts/{host}/boot-files',
    operationId: 'getHostBootFiles',
    summary: "The host's own boot file entries and the effective ones (cluster, then host)",
    tag: 'boots',
    status: 200,
    response: one('{ host, cluster, files, effective }.'),
    handler: ({ engine, params }) => bootFileServiceOf(engine).hostFiles(params.host),
  }),
  route({
    method: 'patch',
    path: '/hosts/{host}/boot-files',
    operationId: 'updateHostBootFiles',
    summary: 'Set (string) or remove (null) boot file entries of one host, over its cluster',
    tag: 'boots',
    body: bootFilesPatchSchema,
    status: 200,
    response: one('{ host, cluster, files, effective } after the change.'),
    handler: ({ engine, params, body }) => bootFileServiceOf(engine).patchHost(params.host, body),
  }),

  ...hookRoutes('cluster'),
  ...hookRoutes('host'),

  route({
    method: 'get',
    path: '/hosts/{host}/report',
    operationId: 'getHostReport',
    summary: "The host's latest boot report: checks, the network the kernel held, differences from the plan",
    description:
      'What the blade reported last: `generation`, `verified`, `rolledBack`, `fallback`, `checks` (name, ok, detail, advisory), `interfaces` (the kernel\'s devices in the plan\'s nmstate shape, when the blade sent its kernel state: `observed`), `routes`, `differences` from the plan of that generation ({ interface, field, planned, observed }; `compared` says whether a comparison was possible), and the host\'s `inSync` and `syncReasons` now. 404 REPORT_NOT_FOUND until the first report.',
    tag: 'boots',
    status: 200,
    response: one('The latest report.'),
    handler: ({ engine, params }) => engine.getHostReport(params.host),
  }),

  // ---------------------------------------------------------------- NICs
  route({
    method: 'get',
    path: '/hosts/{host}/nics',
    operationId: 'listNics',
    summary: "List a host's NICs (as last reported)",
    tag: 'nics',
    status: 200,
    response: many('The NICs of the host.'),
    handler: ({ engine, params }) => engine.listNics(params.host),
  }),
  route({
    method: 'get',
    path: '/hosts/{host}/nics/{nic}',
    operationId: 'getNic',
    summary: 'Get a NIC',
    tag: 'nics',
    status: 200,
    response: one('The NIC.'),
    handler: ({ engine, params }) => engine.getNic(params.host, params.nic),
  }),
  route({
    method: 'patch',
    path: '/hosts/{host}/nics/{nic}',
    operationId: 'updateNic',
    summary: "Set a NIC's labels (the rest is reported by the hardware)",
    tag: 'nics',
    body: nicPatchSchema,
    status: 200,
    response: one('The updated NIC.'),
    handler: ({ engine, params, body }) => engine.updateNic(params.host, params.nic, body),
  }),

  // ---------------------------------------------------------------- bonds
  route({
    method: 'get',
    path: '/hosts/{host}/bonds',
    operationId: 'listBonds',
    summary: "List a host's bonds",
    tag: 'bonds',
    status: 200,
    response: many('The bonds of the host.'),
    handler: ({ engine, params }) => engine.listBonds(params.host),
  }),
  route({
    method: 'post',
    path: '/hosts/{host}/bonds',
    operationId: 'createBond',
    summary: 'Create a bond',
    tag: 'bonds',
    body: bondInputSchema,
    status: 201,
    response: one('The created bond.'),
    handler: ({ engine, params, body }) => engine.createBond(params.host, body),
  }),
  route({
    method: 'get',
    path: '/hosts/{host}/bonds/{bond}',
    operationId: 'getBond',
    summary: 'Get a bond',
    tag: 'bonds',
    status: 200,
    response: one('The bond.'),
    handler: ({ engine, params }) => engine.getBond(params.host, params.bond),
  }),
  route({
    method: 'patch',
    path: '/hosts/{host}/bonds/{bond}',
    operationId: 'updateBond',
    summary: 'Update a bond (mode, options, members, ...)',
    tag: 'bonds',
    body: bondPatchSchema,
    status: 200,
    response: one('The updated bond.'),
    handler: ({ engine, params, body }) => engine.updateBond(params.host, params.bond, body),
  }),
  route({
    method: 'delete',
    path: '/hosts/{host}/bonds/{bond}',
    operationId: 'deleteBond',
    summary: "Delete a bond; its networks move back to its primary member",
    tag: 'bonds',
    status: 204,
    response: none,
    handler: ({ engine, params }) => engine.deleteBond(params.host, params.bond),
  }),

  // ---------------------------------------------------------------- attachments
  route({
    method: 'get',
    path: '/hosts/{host}/attachments',
    operationId: 'listAttachments',
    summary: "List a host's network attachments (stored and derived from labels)",
    tag: 'attachments',
    status: 200,
    response: many('The attachments of the host.'),
    handler: ({ engine, params }) => engine.listAttachments(params.host),
  }),
  route({
    method: 'post',
    path: '/hosts/{host}/attachments',
    operationId: 'createAttachment',
    summary: 'Attach a network to a NIC or bond of the host',
    tag: 'attachments',
    body: attachmentInputSchema,
    status: 201,
    response: one('The created attachment.'),
    handler: ({ engine, params, body }) => engine.createAttachment(params.host, body),
  }),
  route({
    method: 'get',
    path: '/hosts/{host}/attachments/{attachment}',
    operationId: 'getAttachment',
    summary: 'Get an attachment',
    tag: 'attachments',
    status: 200,
    response: one('The attachment.'),
    handler: ({ engine, params }) => engine.getAttachment(params.host, params.attachment),
  }),
  route({
    method: 'patch',
    path: '/hosts/{host}/attachments/{attachment}',
    operationId: 'updateAttachment',
    summary: 'Update an attachment (interface, addresses, custom properties)',
    tag: 'attachments',
    body: attachmentPatchSchema,
    status: 200,
    response: one('The updated attachment.'),
    handler: ({ engine, params, body }) => engine.updateAttachment(params.host, params.attachment, body),
  }),
  route({
    method: 'delete',
    path: '/hosts/{host}/attachments/{attachment}',
    operationId: 'deleteAttachment',
    summary: 'Detach a network from the host',
    tag: 'attachments',
    status: 204,
    response: none,
    handler: ({ engine, params }) => engine.deleteAttachment(params.host, params.attachment),
  }),

  // ---------------------------------------------------------------- templates
  route({
    method: 'get',
    path: '/templates',
    operationId: 'listTemplates',
    summary: 'List the templates with their current revision',
    tag: 'templates',
    status: 200,
    response: many('Every template (boot.ipxe, host.ipxe, apply.sh).'),
    handler: ({ engine }) => templateServiceOf(engine).list(),
  }),
  route({
    method: 'get',
    path: '/templates/{template}',
    operationId: 'getTemplate',
    summary: 'The current revision of a template, with its source',
    tag: 'templates',
    status: 200,
    response: one('The current revision.'),
    handler: ({ engine, params }) => templateServiceOf(engine).show(params.template),
  }),
  route({
    method: 'get',
    path: '/templates/{template}/revisions',
    operationId: 'listTemplateRevisions',
    summary: 'Every revision of a template, newest first (without sources)',
    tag: 'templates',
    status: 200,
    response: many('The revisions.'),
    handler: ({ engine, params }) => templateServiceOf(engine).history(params.template),
  }),
  route({
    method: 'post',
    path: '/templates/{template}/revisions',
    operationId: 'saveTemplate',
    summary: 'Save a new revision (compiled, rendered and linted for every affected host first)',
    description: 'Refused with TEMPLATE_COMPILE_FAILED, TEMPLATE_RENDER_FAILED or TEMPLATE_LINT_FAILED (naming the host and the line); nothing is stored then.',
    tag: 'templates',
    body: templateSaveSchema,
    status: 201,
    response: one('The new revision and the hosts checked.'),
    handler: ({ engine, params, body }) =>
      templateServiceOf(engine).save(params.template, {
        source: body.source,
        message: body.message,
        ...(body.author !== undefined ? { author: body.author } : {}),
        ...(body.activate !== undefined ? { activate: body.activate } : {}),
      }),
  }),
  route({
    method: 'get',
    path: '/templates/{template}/revisions/{revision}',
    operationId: 'getTemplateRevision',
    summary: 'One revision of a template, with its source',
    tag: 'templates',
    status: 200,
    response: one('The revision.'),
    handler: ({ engine, params }) => templateServiceOf(engine).show(params.template, revisionParam(params.revision)),
  }),
  route({
    method: 'post',
    path: '/templates/{template}/render',
    operationId: 'renderTemplate',
    summary: 'Preview exactly what a host gets (its effective revision, another revision, or a proposed source)',
    tag: 'templates',
    body: templateRenderSchema,
    status: 200,
    response: one('The rendered text (the boot token is a placeholder).'),
    handler: ({ engine, params, body }) =>
      templateServiceOf(engine).render(params.template, body.host ?? null, {
        ...(body.revision !== undefined ? { revision: body.revision } : {}),
        ...(body.source !== undefined ? { source: body.source } : {}),
      }),
  }),
  route({
    method: 'post',
    path: '/templates/{template}/diff',
    operationId: 'diffTemplate',
    summary: 'Blast radius of a proposed source: every affected host rendered, grouped by identical diff',
    tag: 'templates',
    body: templateDiffSchema,
    status: 200,
    response: one('Groups of hosts with their unified diff, unchanged, pinned, failed and skipped hosts.'),
    handler: ({ engine, params, body }) => templateServiceOf(engine).diff(params.template, body.source),
  }),
  route({
    method: 'post',
    path: '/templates/{template}/rollback',
    operationId: 'rollbackTemplate',
    summary: 'Make an older revision current again (checked like a save)',
    tag: 'templates',
    body: templateRollbackSchema,
    status: 200,
    response: one('The previous and the new current revision.'),
    handler: ({ engine, params, body }) => templateServiceOf(engine).rollback(params.template, body.revision, body.author),
  }),
  route({
    method: 'get',
    path: '/templates/{template}/pins',
    operationId: 'listTemplatePins',
    summary: 'The pins of a template',
    tag: 'templates',
    status: 200,
    response: many('The pins.'),
    handler: ({ engine, params }) => templateServiceOf(engine).pins(params.template),
  }),
  route({
    method: 'post',
    path: '/templates/{template}/pins',
    operationId: 'pinTemplate',
    summary: 'Pin a revision for a host or a cluster (host pin > cluster pin > current)',
    tag: 'templates',
    body: templatePinSchema,
    status: 201,
    response: one('The pin and the hosts checked.'),
    handler: ({ engine, params, body }) => templateServiceOf(engine).pin(params.template, body.revision, pinTarget(body), body.author),
  }),
  route({
    method: 'delete',
    path: '/templates/{template}/pins/hosts/{host}',
    operationId: 'unpinTemplateHost',
    summary: "Remove a host's pin",
    tag: 'templates',
    status: 204,
    response: { description: 'Unpinned.', shape: 'none' },
    handler: async ({ engine, params }) => void (await templateServiceOf(engine).unpin(params.template, { host: params.host })),
  }),
  route({
    method: 'delete',
    path: '/templates/{template}/pins/clusters/{cluster}',
    operationId: 'unpinTemplateCluster',
    summary: "Remove a cluster's pin",
    tag: 'templates',
    status: 204,
    response: { description: 'Unpinned.', shape: 'none' },
    handler: async ({ engine, params }) => void (await templateServiceOf(engine).unpin(params.template, { cluster: params.cluster })),
  }),
];

// ------------------------------------------------------------------ express

/** /clusters/{cluster} → /clusters/:cluster */
export function toExpressPath(path: string): string {
  return path.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, ':$1');
}

function pathRegExp(path: string): RegExp {
  const parts = path.split(/\{[A-Za-z][A-Za-z0-9_]*\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/]+')}/?$`, 'i');
}

/** Routes without a query schema accept no query parameters at all. */
const NO_QUERY = z.strictObject({});

function parsePart<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query'): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalidRequest(part, r.error);
  return r.data;
}

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const mediaType = header.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

export interface ApiRouterOptions {
  engine: EngineApi;
  bootTimeline?: BootTimeline;
  document: Readonly<Record<string, unknown>>;
  /** Largest accepted JSON body, in the `bytes` syntax ('1mb' = 1 MiB). */
  bodyLimit: string;
}

/** One registered express route, as built from the table. */
export interface Registration {
  method: HttpMethod;
  /** The express path, relative to API_PREFIX. */
  expressPath: string;
  route: Route;
}

/**
 * The /api/v1 router (to be mounted at API_PREFIX, after authentication): every route of the table,
 * then a JSON 404/405 for anything else.
 */
export function buildApiRouter(opts: ApiRouterOptions, table: readonly Route[] = routes): { router: Router; registrations: Registration[] } {
  const router = express.Router();
  const jsonBody = express.json({ limit: opts.bodyLimit, strict: true, type: () => true });
  const requireJson = (req: Request, _res: Response, next: NextFunction): void => {
    if (!isJsonContentType(req.get('content-type'))) {
      next(unsupportedMediaType(req.get('content-type')));
      return;
    }
    next();
  };
  const registrations: Registration[] = [];

  for (const r of table) {
    const expressPath = toExpressPath(r.path);
    const template = `${API_PREFIX}${r.path}`;
    const markRoute = (_req: Request, res: Response, next: NextFunction): void => {
      res.locals.route = template;
      next();
    };
    const handle = async (req: Request, res: Response): Promise<void> => {
      const query = parsePart(r.query ?? NO_QUERY, req.query, 'query');
      const body = r.body ? parsePart(r.body, req.body, 'body') : undefined;
      const params: Record<string, string> = {};
      for (const name of r.params) {
        const v: unknown = req.params[name];
        if (typeof v !== 'string') throw new ApiError(400, 'INVALID_REQUEST', `missing path parameter '${name}'`);
        params[name] = v;
      }
      const header = (name: string): string | undefined => (name.toLowerCase() === 'authorization' ? undefined : req.get(name));
      const ctx: RouteContext = { engine: opts.engine, params, query, body, document: opts.document, header };
      if (opts.bootTimeline) ctx.bootTimeline = opts.bootTimeline;
      // Template writes lint with `sh -n` in a child process: their handlers return a promise.
      const result: unknown = await r.handler(ctx);
      if (result instanceof Reply) {
        res.status(result.status);
        for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
        if (result.status === 204 || result.status === 304) res.end();
        else if (result.contentType !== undefined) res.type(result.contentType).send(result.body);
        else res.json(result.body);
        return;
      }
      if (r.status === 204) res.status(204).end();
      else res.status(r.status).json(result);
    };
    const chain = r.body ? [markRoute, requireJson, jsonBody, handle] : [markRoute, handle];
    router[r.method](expressPath, ...chain);
    registrations.push({ method: r.method, expressPath, route: r });
  }

  const matchers = table.map((r) => ({ re: pathRegExp(r.path), method: r.method }));
  router.use((req: Request, _res: Response, next: NextFunction) => {
    const allowed = matchers.filter((m) => m.re.test(req.path)).map((m) => m.method.toUpperCase());
    const fullPath = `${API_PREFIX}${req.path}`;
    if (allowed.length === 0) {
      next(routeNotFound(req.method, fullPath));
      return;
    }
    if (allowed.includes('GET')) allowed.push('HEAD');
    next(methodNotAllowed(req.method, fullPath, [...new Set(allowed)].sort()));
  });

  return { router, registrations };
}
