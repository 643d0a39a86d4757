// The console talks only to the public REST API (/api/v1) with the operator's bearer token. The
// token lives in sessionStorage (gone when the tab closes) and is sent only as Authorization.
const TOKEN_KEY = 'tabula.token';
export const API = '/api/v1';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Violation as the engine reports it (details.violations of a 422). */
export interface Violation {
  code: string;
  message: string;
  severity: 'error' | 'warning';
  objects?: Record<string, string | number>;
}

/** A request-shape issue (details.issues of a 400 INVALID_REQUEST). */
export interface RequestIssue {
  in: string;
  path: string;
  message: string;
  code: string;
}

/** A non-2xx answer of the API, as its JSON error body describes it. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
  get violations(): Violation[] {
    const v = this.details.violations;
    return Array.isArray(v) ? (v as Violation[]) : [];
  }
  get issues(): RequestIssue[] {
    const v = this.details.issues;
    return Array.isArray(v) ? (v as RequestIssue[]) : [];
  }
}

type UnauthorizedListener = (failure: ApiFailure) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called on every 401, so the shell can show the "token missing or invalid" state. */
export function onUnauthorized(fn: UnauthorizedListener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

async function failureOf(res: Response): Promise<ApiFailure> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: Record<string, unknown> = {};
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body.error && typeof body.error.code === 'string') code = body.error.code;
    if (body.error && typeof body.error.message === 'string') message = body.error.message;
    if (body.error && typeof body.error.details === 'object' && body.error.details !== null) details = body.error.details as Record<string, unknown>;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiFailure(res.status, code, message, details);
}

export interface RequestOptions {
  body?: unknown;
  /** Overrides the stored token (the login form checks a token before keeping it). */
  token?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function send(method: string, path: string, o: RequestOptions): Promise<Response> {
  const token = o.token ?? storedToken();
  const headers: Record<string, string> = { accept: 'application/json', ...(o.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit = { method, headers, cache: 'no-store' };
  if (o.signal) init.signal = o.signal;
  if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(o.body);
  }
  const res = await fetch(`${API}${path}`, init);
  if (res.status === 401) {
    const failure = await failureOf(res);
    if (o.token === undefined) for (const fn of unauthorizedListeners) fn(failure);
    throw failure;
  }
  return res;
}

/** JSON request; throws ApiFailure on any error status. */
export async function api<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, o);
  if (!res.ok) throw await failureOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Text request (the plan as YAML). */
export async function apiText(path: string): Promise<string> {
  const res = await send('GET', path, {});
  if (!res.ok) throw await failureOf(res);
  return res.text();
}

/** A conditional GET: null when the server answers 304 for the given ETag. */
export async function apiIfChanged<T>(path: string, etag: string | null, signal?: AbortSignal): Promise<{ body: T; etag: string | null } | null> {
  const headers: Record<string, string> = etag ? { 'if-none-match': etag } : {};
  const res = await send('GET', path, { headers, ...(signal ? { signal } : {}) });
  if (res.status === 304) return null;
  if (!res.ok) throw await failureOf(res);
  return { body: (await res.json()) as T, etag: res.headers.get('etag') };
}

export const enc = encodeURIComponent;

export function describe(err: unknown): string {
  if (err instanceof ApiFailure) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
