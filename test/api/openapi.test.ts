// The OpenAPI document and the express routes are the same set, and each documented request body is
// the JSON schema of the zod schema the route really parses with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiRegistrations } from '../../src/api/app.js';
import * as S from '../../src/api/schemas.js';
import { type Harness, call, errorOf, startHarness } from './helpers.js';

let h: Harness;
let doc: Doc;
beforeAll(async () => {
  h = await startHarness();
  const r = await call(h, 'GET', '/api/v1/openapi.json');
  expect(r.status).toBe(200);
  doc = r.json as Doc;
});
afterAll(async () => {
  await h.close();
});

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean; schema: Json }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, Json>;
}
interface Doc {
  openapi: string;
  servers: { url: string }[];
  security: Json[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Json>; schemas: Record<string, Json>; responses: Record<string, Json> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

function documented(): { key: string; method: string; path: string; op: Operation }[] {
  const out: { key: string; method: string; path: string; op: Operation }[] = [];
  const prefix = doc.servers[0]?.url ?? '';
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      expect(METHODS).toContain(method);
      const full = `${prefix}${path}`.replace(/\{([^}]+)\}/g, ':$1');
      out.push({ key: `${method.toUpperCase()} ${full}`, method, path, op });
    }
  }
  return out;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every route registered in the app's express router, walked from the app itself. */
function registeredApiRoutes(): string[] {
  const appRouter = (h.app as unknown as { router: { stack: Layer[] } }).router;
  const keys: string[] = [];
  const top = appRouter.stack;
  for (const layer of top) {
    // /api/v1 is mounted as a sub-router; top-level routes are /healthz only.
    if (layer.route) {
      expect(layer.route.path).toBe('/healthz');
      continue;
    }
    for (const inner of layer.handle.stack ?? []) {
      if (!inner.route) continue;
      for (const [m, on] of Object.entries(inner.route.methods)) {
        if (on && m !== '_all') keys.push(`${m.toUpperCase()} /api/v1${inner.route.path}`);
      }
    }
  }
  return keys.sort();
}

/** Independent of the route table: which schema each body route must parse with. */
const BODY_SCHEMAS: Record<string, z.ZodType> = {
  'POST /clusters': S.clusterInputSchema,
  'PATCH /clusters/{cluster}': S.clusterPatchSchema,
  'PATCH /clusters/{cluster}/boot-files': S.bootFilesPatchSchema,
  'PATCH /hosts/{host}/boot-files': S.bootFilesPatchSchema,
  'POST /clusters/{cluster}/hooks': S.hookInputSchema,
  'POST /hosts/{host}/hooks': S.hookInputSchema,
  'PATCH /clusters/{cluster}/hooks/{phase}/{hook}': S.hookPatchSchema,
  'PATCH /hosts/{host}/hooks/{phase}/{hook}': S.hookPatchSchema,
  'POST /clusters/{cluster}/networks': S.networkInputSchema,
  'PATCH /clusters/{cluster}/networks/{network}': S.networkPatchSchema,
  'POST /hosts': S.hostInputSchema,
  'PATCH /hosts/{host}': S.hostPatchSchema,
  'PATCH /hosts/{host}/nics/{nic}': S.nicPatchSchema,
  'POST /hosts/{host}/bonds': S.bondInputSchema,
  'PATCH /hosts/{host}/bonds/{bond}': S.bondPatchSchema,
  'POST /hosts/{host}/attachments': S.attachmentInputSchema,
  'PATCH /hosts/{host}/attachments/{attachment}': S.attachmentPatchSchema,
  'POST /hosts/{host}/inventory': S.inventoryReportSchema,
  'POST /inventory': S.inventoryReportSchema,
  'POST /templates/{template}/revisions': S.templateSaveSchema,
  'POST /templates/{template}/render': S.templateRenderSchema,
  'POST /templates/{template}/diff': S.templateDiffSchema,
  'POST /templates/{template}/rollback': S.templateRollbackSchema,
  'POST /templates/{template}/pins': S.templatePinSchema,
};

function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _d, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Json;
  return rest;
}

const fill = (path: string): string => path.replace(/\{[^}]+\}/g, 'no-such-object');

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with bearer auth applied globally', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/api/v1' }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error'] });
    for (const { key, op } of documented()) {
      expect(op.responses['401'], key).toEqual({ $ref: '#/components/responses/Error401' });
      expect(op.responses['500'], key).toBeDefined();
      expect(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)), key).toBe(true);
    }
    for (const [name, r] of Object.entries(doc.components.responses)) {
      expect(r, name).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    }
  });

  it('lists exactly the routes registered in express', () => {
    const registered = registeredApiRoutes();
    const inDoc = documented().map((d) => d.key).sort();
    expect(registered.length).toBe(34 + 12 + 1 + 4 + 8 + 1); // the spec's 32 operations, openapi.json and the boot timeline; 12 template routes; the latest boot report; 4 boot-file routes; 8 hook routes; the rack summary
    expect(new Set(registered).size).toBe(registered.length);
    expect(inDoc).toEqual(registered);
    // the registration result of the route table says the same
    const fromTable = apiRegistrations(h.app).map((r) => `${r.method.toUpperCase()} /api/v1${r.expressPath}`).sort();
    expect(fromTable).toEqual(registered);
  });

  it('declares every path parameter of every path, and no other', () => {
    for (const { key, path, op } of documented()) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name), key).toEqual(inPath);
      for (const p of declared) expect(p.required, key).toBe(true);
    }
  });

  it('documents the query parameters of GET /hosts and the plan', () => {
    const q = (path: string): string[] => (doc.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect(q('/hosts')).toEqual(['cluster', 'state']);
    expect(q('/hosts/{host}/plan')).toEqual(['format']);
    expect(q('/hosts/{host}/boots')).toEqual(['limit']);
    const format = doc.paths['/hosts/{host}/plan']?.get?.parameters?.find((p) => p.name === 'format');
    expect(format?.schema).toMatchObject({ enum: ['json', 'yaml'] });
    expect(Object.keys(doc.paths['/hosts/{host}/plan']?.get?.responses['200']?.content as Json)).toEqual(['application/json', 'application/yaml']);
    // The rack summary's conditional GET: 304 is documented without a body.
    expect(doc.paths['/rack']?.get?.responses['304']).toEqual({ description: 'Nothing changed since the ETag given in If-None-Match.' });
  });

  it('documents each request body as the JSON schema of the zod schema of that route', () => {
    const withBody = documented().filter((d) => d.op.requestBody);
    expect(withBody.map((d) => `${d.method.toUpperCase()} ${d.path}`).sort()).toEqual(Object.keys(BODY_SCHEMAS).sort());
    for (const { method, path, op } of withBody) {
      const key = `${method.toUpperCase()} ${path}`;
      const schema = BODY_SCHEMAS[key] as z.ZodType;
      expect(op.requestBody?.required, key).toBe(true);
      expect(Object.keys(op.requestBody?.content ?? {}), key).toEqual(['application/json']);
      expect(op.requestBody?.content['application/json']?.schema, key).toEqual(jsonSchemaOf(schema));
      expect(op.requestBody?.content['application/json']?.schema.additionalProperties, key).toBe(false);
    }
    // a spot check that the generated schema carries the shape rules
    const bond = jsonSchemaOf(S.bondInputSchema) as { properties: Record<string, Json> };
    expect(bond.properties.options).toMatchObject({ additionalProperties: false, properties: { miimon: { minimum: 0 } } });
    const host = jsonSchemaOf(S.hostInputSchema) as { properties: Record<string, Json> };
    expect(host.properties.custom).toMatchObject({ maxProperties: 256, propertyNames: { pattern: '^[A-Za-z0-9_.:/-]{1,128}$' } });
  });
});

describe('the live routes enforce what the document says', () => {
  it('every documented operation is served (no 404 ROUTE_NOT_FOUND or 405)', async () => {
    for (const { key, method, path, op } of documented()) {
      const r = await call(h, method.toUpperCase(), `/api/v1${fill(path)}`, op.requestBody ? { body: {} } : {});
      if (r.status >= 400) {
        const code = errorOf(r).code;
        expect(code, key).not.toBe('ROUTE_NOT_FOUND');
        expect(code, key).not.toBe('METHOD_NOT_ALLOWED');
        expect(r.status, key).toBeLessThan(500);
      }
    }
  });

  it('each body route refuses an unknown field and reports every documented required field missing', async () => {
    for (const { key, method, path, op } of documented().filter((d) => d.op.requestBody)) {
      const schema = op.requestBody?.content['application/json']?.schema as { required?: string[] };
      const unknown = await call(h, method.toUpperCase(), `/api/v1${fill(path)}`, { body: { __not_in_the_document__: 1 } });
      expect(unknown.status, key).toBe(400);
      const issues = errorOf(unknown).details.issues as { path: string; message: string; code: string }[];
      expect(issues.some((i) => i.code === 'unrecognized_keys'), key).toBe(true);
      const missing = issues.filter((i) => i.code !== 'unrecognized_keys').map((i) => i.path).sort();
      expect(missing, key).toEqual([...(schema.required ?? [])].sort());
    }
  });
});
