// The OpenAPI 3.1 document of the REST API, generated from the route table: paths, parameters and
// request bodies come from the same entries (and the same zod schemas) the express router uses.
import { z } from 'zod';
import { ERROR_BODY_JSON_SCHEMA } from './errors.js';
import { API_PREFIX, PARAM_DESCRIPTIONS, type Route, routes as defaultRoutes } from './routes.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  security: Record<string, string[]>[];
  tags: { name: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, Record<string, string>>;
    schemas: Record<string, JsonSchema>;
    responses: Record<string, { description: string; content: Record<string, { schema: JsonSchema }> }>;
  };
  [key: string]: unknown;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: true; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, unknown>;
}

/**
 * The JSON schema documented for a zod schema: what z.toJSONSchema gives for the input side, without
 * the `$schema` keyword (the document's dialect is already JSON Schema 2020-12).
 */
export function documentedSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
  return rest;
}

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Malformed request: INVALID_REQUEST (shape, with the issues in details), INVALID_JSON, or an engine bad-request code.',
  401: 'Missing or unknown bearer token (UNAUTHORIZED).',
  404: 'An object named in the path or query does not exist (<OBJECT>_NOT_FOUND).',
  409: 'The change conflicts with the stored state (the engine names the conflict).',
  413: 'The body exceeds the size limit (PAYLOAD_TOO_LARGE).',
  415: 'The body is not application/json (UNSUPPORTED_MEDIA_TYPE).',
  422: 'The change breaks a domain rule; the code is the rule\u2019s and details.violations lists every broken rule.',
  500: 'Unexpected server error (INTERNAL); details are in the server log.',
};

function errorStatuses(r: Route): number[] {
  const out = [401, 500];
  if (r.body || r.query) out.push(400);
  if (r.params.length > 0 || r.query) out.push(404);
  if (r.method !== 'get') out.push(409, 422);
  if (r.body) out.push(413, 415);
  return out.sort((a, b) => a - b);
}

function queryParameters(schema: z.ZodType): OpenApiParameter[] {
  const json = documentedSchema(schema);
  const props = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const p: OpenApiParameter = { name, in: 'query', required: required.has(name), schema: s };
    if (typeof s.description === 'string') p.description = s.description;
    return p;
  });
}

function successContent(r: Route): Record<string, { schema: JsonSchema }> | undefined {
  if (r.response.shape === 'none') return undefined;
  const schema: JsonSchema = r.response.shape === 'array' ? { type: 'array', items: { type: 'object' } } : { type: 'object' };
  const content: Record<string, { schema: JsonSchema }> = { 'application/json': { schema } };
  for (const alt of r.response.alternatives ?? []) content[alt] = { schema: { type: 'string' } };
  return content;
}

function operation(r: Route): OpenApiOperation {
  const op: OpenApiOperation = { operationId: r.operationId, summary: r.summary, tags: [r.tag], responses: {} };
  if (r.description) op.description = r.description;
  const parameters: OpenApiParameter[] = r.params.map((name) => ({
    name,
    in: 'path',
    required: true,
    description: PARAM_DESCRIPTIONS[name] ?? `${name} id or name.`,
    schema: { type: 'string' },
  }));
  if (r.query) parameters.push(...queryParameters(r.query));
  if (parameters.length > 0) op.parameters = parameters;
  if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: documentedSchema(r.body) } } };

  const content = successContent(r);
  op.responses[String(r.status)] = content ? { description: r.response.description, content } : { description: r.response.description };
  for (const other of r.response.otherStatuses ?? []) {
    // A 304 has no body.
    op.responses[String(other.status)] = content && other.status !== 304 ? { description: other.description, content } : { description: other.description };
  }
  for (const status of errorStatuses(r)) op.responses[String(status)] = { $ref: `#/components/responses/Error${status}` };
  return op;
}

export interface OpenApiOptions {
  version?: string;
}

export function buildOpenApiDocument(table: readonly Route[] = defaultRoutes, opts: OpenApiOptions = {}): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const r of table) {
    const item = (paths[r.path] ??= {});
    if (item[r.method]) throw new Error(`route table: ${r.method.toUpperCase()} ${r.path} is defined twice`);
    item[r.method] = operation(r);
  }
  const responses: OpenApiDocument['components']['responses'] = {};
  for (const [status, description] of Object.entries(ERROR_DESCRIPTIONS)) {
    responses[`Error${status}`] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tabula',
      version: opts.version ?? '0.1.0',
      description: 'PXE provisioning: clusters, logical networks, hosts, NICs, bonds, attachments, inventory and host plans.',
    },
    servers: [{ url: API_PREFIX }],
    security: [{ bearerAuth: [] }],
    tags: [...new Set(table.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token created with `tabula token create`.' } },
      schemas: { Error: { ...ERROR_BODY_JSON_SCHEMA } as JsonSchema },
      responses,
    },
  };
}
