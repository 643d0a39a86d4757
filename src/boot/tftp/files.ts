// What the TFTP server serves: a small file abstraction (so content can be generated per client) and
// the default implementation reading from the root directory through a file handle.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { TftpErrorCode } from './packet.js';
import { resolveUnderRoot, type PathRefusal } from './paths.js';

export interface TftpClient {
  address: string;
  port: number;
}

/** One opened file. `size` is fixed for the whole transfer (it is what tsize announces). */
export interface TftpFile {
  size: number;
  /**
   * Bytes [offset, offset + length), with offset + length <= size. Must return exactly `length`
   * bytes; a shorter buffer aborts the transfer (it would otherwise end it early and silently).
   */
  read(offset: number, length: number): Promise<Buffer>;
  close?(): void;
}

/**
 * Serves generated or remapped content. `name` is the normalized, root-relative request name
 * (no leading `/`, `/` separators, no `..`). Return null to fall through to the root directory.
 */
export interface FileProvider {
  open(name: string, client: TftpClient): Promise<TftpFile | null>;
}

/** A TftpFile over an in-memory buffer (handy for generated content). */
export function bufferFile(data: Buffer): TftpFile {
  return {
    size: data.length,
    read: async (offset, length) => data.subarray(offset, offset + length),
  };
}

class HandleFile implements TftpFile {
  private closed = false;
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.handle.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break; // the file shrank under us: short buffer, the transfer aborts
      got += bytesRead;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close().catch(() => undefined);
  }
}

export type OpenedRootFile = { ok: true; file: TftpFile } | PathRefusal;

/**
 * Opens `<rootReal>/<segments>` for reading after realpath containment (paths.ts). Only regular files
 * are served. O_NONBLOCK keeps a FIFO from blocking the open; O_NOFOLLOW refuses a final component
 * swapped for a symlink after the realpath check. (An intermediate directory swapped for a symlink in
 * that window is not caught: that needs write access to the root, which is trusted.)
 */
export async function openRootFile(rootReal: string, segments: readonly string[]): Promise<OpenedRootFile> {
  const resolved = await resolveUnderRoot(rootReal, segments);
  if (!resolved.ok) return resolved;
  let handle: FileHandle;
  try {
    handle = await open(resolved.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, code: TftpErrorCode.FILE_NOT_FOUND, reason: 'file not found' };
    return { ok: false, code: TftpErrorCode.ACCESS_VIOLATION, reason: `cannot open file (${code ?? 'error'})` };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      return { ok: false, code: TftpErrorCode.ACCESS_VIOLATION, reason: 'not a regular file' };
    }
    return { ok: true, file: new HandleFile(handle, st.size) };
  } catch (err) {
    await handle.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, code: TftpErrorCode.ACCESS_VIOLATION, reason: `cannot stat file (${code ?? 'error'})` };
  }
}
