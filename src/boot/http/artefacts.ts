// Static boot artefacts (kernel, initrd) over HTTP: exact Content-Length, one byte range per request
// (RFC 9110 section 14), HEAD. The file names are fixed by the caller, never taken from the request.
import { type Stats, promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';

/** Size of the views written to the socket, so that backpressure holds while a slow client reads. */
const WRITE_CHUNK = 1 << 20;

export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * The byte range a `Range` header asks of a `size`-byte file. Only one `bytes` range is served;
 * anything else (several ranges, another unit, bad syntax) is ignored and the whole file is sent,
 * which RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'full' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'full' };
  if (a === '') {
    // suffix range: the last N bytes
    const n = Number(b);
    if (!Number.isSafeInteger(n)) return { kind: 'full' };
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const last = b === '' ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return { kind: 'full' };
  if (b !== '' && last < start) return { kind: 'full' }; // syntactically invalid: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

export interface ArtefactSent {
  status: 200 | 206 | 416;
  /** Bytes of the body actually written (0 for HEAD and 416). */
  bytes: number;
  /** The client went away before the body was complete. */
  aborted: boolean;
  /** When the response was handed to the OS (ms since the epoch): the time of the stage. */
  endedAt: number;
  range: { start: number; end: number } | null;
  size: number;
}

/** A regular file's stat, or null when it is missing (or not a regular file). */
async function statFile(file: string): Promise<Stats | null> {
  try {
    const st = await fsp.stat(file);
    return st.isFile() ? st : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

const versionOf = (st: Stats): string => `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

/**
 * The boot artefacts in memory. Every blade of a rack downloads the same kernel and initrd, so each
 * file is read once and every response writes views of one shared Buffer: no file reads and no
 * copies per request (the stream it replaces read each download from disk in 1 MiB chunks). A file
 * that changes on disk (a new build moves new files into place) is read again on its next request;
 * requests that arrive while it is read share that one read.
 */
export class ArtefactCache {
  private readonly held = new Map<string, { version: string; data: Buffer }>();
  private readonly reading = new Map<string, { version: string; data: Promise<Buffer> }>();

  /** The file's bytes as they are now, or null when it is missing or not a regular file. */
  async get(file: string): Promise<Buffer | null> {
    const st = await statFile(file);
    if (!st) {
      this.held.delete(file);
      return null;
    }
    const version = versionOf(st);
    const hit = this.held.get(file);
    if (hit?.version === version) return hit.data;
    const pending = this.reading.get(file);
    if (pending?.version === version) return pending.data;
    const data = fsp.readFile(file);
    this.reading.set(file, { version, data });
    try {
      const bytes = await data;
      // Changed while it was read: serve what was read, keep nothing, and read again next time.
      const after = await statFile(file);
      if (after && versionOf(after) === version && bytes.length === st.size) this.held.set(file, { version, data: bytes });
      return bytes;
    } finally {
      if (this.reading.get(file)?.data === data) this.reading.delete(file);
    }
  }
}

/** Sends `data` (a whole artefact) for GET or HEAD, honouring a single Range. */
export async function sendArtefact(req: Request, res: Response, data: Buffer): Promise<ArtefactSent> {
  const size = data.length;
  const range = parseRange(req.get('range'), size);
  // 'finish' comes before the promises below resolve, and before the client can ask for anything else.
  let endedAt = 0;
  res.once('finish', () => {
    endedAt = Date.now();
  });
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'no-cache');
  if (range.kind === 'unsatisfiable') {
    res.status(416).setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return { status: 416, bytes: 0, aborted: false, range: null, size, endedAt: Date.now() };
  }
  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : size - 1;
  const length = size === 0 ? 0 : end - start + 1;
  const status = range.kind === 'partial' ? 206 : 200;
  res.status(status);
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', String(length));
  if (range.kind === 'partial') res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  const result = (bytes: number, aborted: boolean): ArtefactSent => ({
    status,
    bytes,
    aborted,
    range: range.kind === 'partial' ? { start, end } : null,
    size,
    endedAt: endedAt || Date.now(),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return result(0, false);
  }
  let written = 0;
  // 1 MiB views into the shared buffer, written as the client reads: no copies, and a client that
  // hangs up stops the transfer (a single write of the whole slice would report it as finished).
  const source = Readable.from(views(data, start, end));
  source.on('data', (chunk: Buffer) => {
    written += chunk.length;
  });
  try {
    await pipeline(source, res);
  } catch (e) {
    // A client that hangs up mid-transfer is normal (iPXE retries); anything else is the caller's to log.
    if (!res.destroyed && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
    return result(written, true);
  }
  return result(written, !res.writableFinished);
}

function* views(data: Buffer, start: number, end: number): Generator<Buffer> {
  for (let at = start; at <= end; at += WRITE_CHUNK) yield data.subarray(at, Math.min(at + WRITE_CHUNK, end + 1));
}
