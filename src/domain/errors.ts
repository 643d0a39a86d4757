// Typed errors: a stable SCREAMING_SNAKE code, a message naming the objects, and machine-readable details.

export type ErrorKind = 'validation' | 'not-found' | 'conflict' | 'bad-request' | 'unauthorized' | 'internal';

export interface Violation {
  code: string;
  message: string;
  /** warnings are accepted and shown (e.g. a partial bond left by a vanished NIC); errors refuse the write. */
  severity: 'error' | 'warning';
  /** Names of the objects involved, for UIs that point at the field. */
  objects?: Record<string, string | number>;
}

export class TabulaError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown>;

  constructor(kind: ErrorKind, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'TabulaError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export function notFound(what: string, ref: string | number): TabulaError {
  const code = `${what.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_NOT_FOUND`;
  return new TabulaError('not-found', code, `${what} '${ref}' does not exist`, { [what]: ref });
}

export function badRequest(code: string, message: string, details: Record<string, unknown> = {}): TabulaError {
  return new TabulaError('bad-request', code, message, details);
}

export function conflict(code: string, message: string, details: Record<string, unknown> = {}): TabulaError {
  return new TabulaError('conflict', code, message, details);
}

/** One rule broken: the error carries that rule's code. */
export function invalid(code: string, message: string, objects: Record<string, string | number> = {}): TabulaError {
  return new TabulaError('validation', code, message, { violations: [{ code, message, severity: 'error', objects }] });
}

/** Several violations at once: the first error's code leads, all are listed in details. */
export function fromViolations(violations: Violation[], context: Record<string, unknown> = {}): TabulaError {
  const errors = violations.filter((v) => v.severity === 'error');
  const first = errors[0];
  if (!first) throw new Error('fromViolations called without an error violation');
  const message = errors.length === 1 ? first.message : `${first.message} (and ${errors.length - 1} more)`;
  return new TabulaError('validation', first.code, message, { ...context, violations: errors });
}
