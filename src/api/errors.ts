// Every failure of the REST API leaves as one JSON shape: { "error": { "code", "message", "details" } }.
// Engine errors keep their code; request-shape failures, transport failures (JSON syntax, size,
// media type) and unknown routes get the API's own codes; anything unexpected is a logged 500 whose
// message tells the client nothing about the internals.
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { type ErrorKind, TabulaError } from '../domain/errors.js';

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details: Record<string, unknown>;
  };
}

/** JSON schema of ErrorBody, for the OpenAPI document. */
export const ERROR_BODY_JSON_SCHEMA = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$', description: 'Stable SCREAMING_SNAKE code.' },
        message: { type: 'string', description: 'Human-readable; names the objects involved.' },
        details: { type: 'object', description: 'Machine-readable context (violations, issues, ...).' },
      },
    },
  },
} as const;

const KIND_STATUS: Readonly<Record<ErrorKind, number>> = {
  validation: 422,
  'bad-request': 400,
  'not-found': 404,
  conflict: 409,
  unauthorized: 401,
  internal: 500,
};

/** An error the API raises itself, with its HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export type RequestPart = 'body' | 'query' | 'params';

export interface RequestIssue {
  in: RequestPart;
  /** Dotted path into the part ('' for the part itself), e.g. "nics.0.mac". */
  path: string;
  message: string;
  code: string;
}

/** A zod failure on one part of the request: 400 INVALID_REQUEST with every issue listed. */
export function invalidRequest(part: RequestPart, error: z.ZodError): ApiError {
  const issues: RequestIssue[] = error.issues.map((i) => ({
    in: part,
    path: i.path.map((p) => String(p)).join('.'),
    message: i.message,
    code: i.code,
  }));
  const first = issues[0];
  const where = first ? `${first.in}${first.path ? `.${first.path}` : ''}` : part;
  const message = first
    ? `invalid request ${where}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`
    : `invalid request ${part}`;
  return new ApiError(400, 'INVALID_REQUEST', message, { issues });
}

export function routeNotFound(method: string, path: string): ApiError {
  return new ApiError(404, 'ROUTE_NOT_FOUND', `no route ${method} ${path}`, { method, path });
}

export function methodNotAllowed(method: string, path: string, allowed: string[]): ApiError {
  return new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, { method, path, allowed }, { Allow: allowed.join(', ') });
}

export function unsupportedMediaType(contentType: string | undefined): ApiError {
  return new ApiError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    contentType ? `Content-Type '${contentType}' is not supported; send application/json` : 'the request has no Content-Type; send application/json',
    { contentType: contentType ?? null, expected: 'application/json' },
  );
}

/** Errors thrown by express's body parser carry a `type` and an HTTP status. */
interface BodyParserError {
  type: string;
  status?: number;
  statusCode?: number;
  limit?: number;
  length?: number;
  charset?: string;
  encoding?: string;
}

function isBodyParserError(err: unknown): err is Error & BodyParserError {
  return err instanceof Error && typeof (err as Partial<BodyParserError>).type === 'string';
}

function fromBodyParser(err: Error & BodyParserError): ApiError | null {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'INVALID_JSON', `the request body is not valid JSON: ${err.message}`);
    case 'entity.too.large':
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the request body exceeds the limit of ${err.limit ?? '?'} bytes`, {
        limit: err.limit ?? null,
        length: err.length ?? null,
      });
    case 'charset.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `charset '${err.charset ?? ''}' is not supported; send UTF-8`, { charset: err.charset ?? null });
    case 'encoding.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `content encoding '${err.encoding ?? ''}' is not supported`, { encoding: err.encoding ?? null });
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError(400, 'BAD_REQUEST_BODY', 'the request body was incomplete');
    default:
      return null;
  }
}

/** The status and JSON body for any thrown value; `internal` tells the caller to log it. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string>; internal: boolean } {
  if (err instanceof ApiError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message, details: err.details } }, headers: { ...err.headers }, internal: false };
  }
  if (err instanceof TabulaError && err.kind !== 'internal') {
    const headers: Record<string, string> = err.kind === 'unauthorized' ? { 'WWW-Authenticate': 'Bearer realm="tabula"' } : {};
    return { status: KIND_STATUS[err.kind], body: { error: { code: err.code, message: err.message, details: err.details } }, headers, internal: false };
  }
  if (isBodyParserError(err)) {
    const mapped = fromBodyParser(err);
    if (mapped) return toErrorResponse(mapped);
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error; see the server log', details: {} } },
    headers: {},
    internal: true,
  };
}

export function sendError(res: Response, err: unknown, logger: Logger): void {
  const { status, body, headers, internal } = toErrorResponse(err);
  if (internal) {
    // The stack goes to the log only; the client gets the generic message.
    logger.error({ err, method: res.req.method, path: res.req.path }, 'unhandled error');
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).json(body);
}

/** The last middleware of the app. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    sendError(res, err, logger);
  };
}
