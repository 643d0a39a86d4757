// Bearer-token authentication for everything under /api/v1. The token is checked by the engine
// (which stores only hashes); it is never logged, not even in part.
import type { RequestHandler } from 'express';
import type { EngineApi } from '../engine/types.js';
import { ApiError } from './errors.js';

const REALM = 'tabula';
const BEARER_RE = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

function unauthorized(message: string, invalidToken: boolean): ApiError {
  // RFC 6750 §3: no error attribute when no credentials were sent; invalid_token when they were wrong.
  const challenge = invalidToken ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
  return new ApiError(401, 'UNAUTHORIZED', message, {}, { 'WWW-Authenticate': challenge });
}

/** Extracts the bearer token of an Authorization header; null when absent or of another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = BEARER_RE.exec(header);
  return m?.[1] ?? null;
}

export function requireBearer(engine: Pick<EngineApi, 'verifyToken'>): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization');
    const token = bearerToken(header);
    if (token === null) {
      next(unauthorized(header ? 'the Authorization header must be "Bearer <token>"' : 'a bearer token is required', header !== undefined));
      return;
    }
    let known: boolean;
    try {
      known = engine.verifyToken(token);
    } catch (err) {
      next(err);
      return;
    }
    if (!known) {
      next(unauthorized('the bearer token is not valid', true));
      return;
    }
    next();
  };
}
