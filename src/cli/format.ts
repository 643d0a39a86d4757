// Plain-text output for the CLI: aligned tables, `key: value` blocks and error reports. No dependency,
// no colour unless the stream is a terminal.
import { TabulaError, type Violation } from '../domain/errors.js';

export interface Style {
  /** ANSI bold/colour; only when writing to a terminal. */
  color: boolean;
}

const bold = (s: string, st: Style): string => (st.color ? `\x1b[1m${s}\x1b[22m` : s);
const red = (s: string, st: Style): string => (st.color ? `\x1b[31m${s}\x1b[39m` : s);
const yellow = (s: string, st: Style): string => (st.color ? `\x1b[33m${s}\x1b[39m` : s);

/** How a scalar reads in a table cell or a field value: null/undefined/'' as '-', booleans as yes/no. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.length ? value.map(cell).join(',') : '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  align?: 'left' | 'right';
}

/** Columns separated by two spaces, padded to the widest cell; the last column is not padded. */
export function table<T>(columns: Column<T>[], rows: readonly T[], style: Style = { color: false }): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r)).replace(/\s*\n\s*/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: string[], header: boolean): string =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        const w = widths[i] as number;
        const padded = columns[i]?.align === 'right' ? v.padStart(w) : last ? v : v.padEnd(w);
        return header ? bold(padded, style) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header), true), ...cells.map((r) => line(r, false))].join('\n') + '\n';
}

/** `key: value` lines with the values aligned; values go through cell(). */
export function fields(pairs: readonly (readonly [string, unknown])[], style: Style = { color: false }): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${bold(`${k}:`.padEnd(width), style)} ${cell(v)}`.trimEnd()).join('\n') + '\n';
}

/** One line per finding: `error CODE: message` / `warning CODE: message`. */
export function violationLines(violations: readonly Violation[], style: Style = { color: false }, indent = ''): string {
  return violations
    .map((v) => `${indent}${v.severity === 'error' ? red('error', style) : yellow('warning', style)} ${v.code}: ${v.message}\n`)
    .join('');
}

function violationsOf(details: Record<string, unknown>): Violation[] {
  const v = details['violations'];
  return Array.isArray(v) ? (v as Violation[]) : [];
}

export interface ErrorReport {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** What any thrown value becomes on the way out: a TabulaError keeps its code and details. */
export function errorReport(err: unknown): ErrorReport {
  if (err instanceof TabulaError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message, details: {} };
  return { code: 'INTERNAL', message: String(err), details: {} };
}

/**
 * Human: `error CODE: message`, then one indented line per violation when there are several (or when
 * the only one says something else than the headline).
 * JSON: `{ "error": { code, message, details } }` on one line.
 */
export function formatError(err: unknown, opts: { json: boolean } & Partial<Style>): string {
  const r = errorReport(err);
  if (opts.json) return `${JSON.stringify({ error: r })}\n`;
  const style: Style = { color: opts.color ?? false };
  let out = `${red('error', style)} ${r.code}: ${r.message}\n`;
  const vs = violationsOf(r.details);
  const only = vs[0];
  if (vs.length > 1 || (only && (only.code !== r.code || only.message !== r.message))) out += violationLines(vs, style, '  ');
  return out;
}

/** A usage problem (bad flag value, missing flag, ...): `error: message`, or the JSON error with code USAGE. */
export function formatUsageError(message: string, opts: { json: boolean } & Partial<Style>): string {
  const text = message.replace(/^error:\s*/, '').trim();
  if (opts.json) return `${JSON.stringify({ error: { code: 'USAGE', message: text, details: {} } })}\n`;
  return `${red('error', { color: opts.color ?? false })}: ${text}\n`;
}
