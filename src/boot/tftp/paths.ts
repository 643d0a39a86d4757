// Path safety for the TFTP server: a requested name is always relative to the served root, and what
// finally gets opened must still be inside the root after every symlink has been resolved.
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { TftpErrorCode } from './packet.js';

export type PathRefusal = { ok: false; code: 1 | 2; reason: string };

/** A request name reduced to safe, root-relative segments. */
export type NormalizedName = { ok: true; name: string; segments: string[] } | PathRefusal;

export const MAX_NAME_LENGTH = 1024;

const refuse = (code: 1 | 2, reason: string): PathRefusal => ({ ok: false, code, reason });

/**
 * Checks and normalizes a requested file name, without touching the file system.
 * - NUL and other control characters: refused (access violation).
 * - A leading `/` means the root (PXE clients send `/pxelinux.0`); so `/etc/passwd` is `<root>/etc/passwd`.
 * - Backslashes are treated as separators (Windows-style clients send `boot\x64\wdsnbp.com`), which
 *   also means `..\..\x` is seen as the `..` segments it is.
 * - Any `..` segment is refused outright, even one that would stay inside the root (`a/../b`).
 * - Empty and `.` segments are dropped; a name with no segment left is "file not found".
 */
export function normalizeRequestName(raw: string): NormalizedName {
  if (raw.length > MAX_NAME_LENGTH) return refuse(TftpErrorCode.ACCESS_VIOLATION, 'file name too long');
  if (raw.includes('\0')) return refuse(TftpErrorCode.ACCESS_VIOLATION, 'NUL byte in file name');
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(raw)) return refuse(TftpErrorCode.ACCESS_VIOLATION, 'control character in file name');
  const segments: string[] = [];
  for (const seg of raw.split(/[/\\]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return refuse(TftpErrorCode.ACCESS_VIOLATION, "'..' in file name");
    segments.push(seg);
  }
  if (segments.length === 0) return refuse(TftpErrorCode.FILE_NOT_FOUND, 'empty file name');
  return { ok: true, name: segments.join('/'), segments };
}

/** True when `target` (already a realpath) is `root` itself or below it. `root` must be a realpath too. */
export function isInsideRoot(root: string, target: string): boolean {
  if (target === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return target.startsWith(prefix);
}

export type ResolvedPath = { ok: true; path: string } | PathRefusal;

/**
 * Resolves normalized segments under `rootReal` (the realpath of the root) following symlinks, and
 * refuses the result if it leaves the root (access violation). Missing files and dangling symlinks
 * are "file not found"; unreadable path components and symlink loops are "access violation".
 */
export async function resolveUnderRoot(rootReal: string, segments: readonly string[]): Promise<ResolvedPath> {
  let real: string;
  try {
    real = await realpath(join(rootReal, ...segments));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return refuse(TftpErrorCode.FILE_NOT_FOUND, 'file not found');
    if (code === 'ELOOP') return refuse(TftpErrorCode.ACCESS_VIOLATION, 'symlink loop');
    return refuse(TftpErrorCode.ACCESS_VIOLATION, `cannot resolve path (${code ?? 'error'})`);
  }
  if (!isInsideRoot(rootReal, real)) return refuse(TftpErrorCode.ACCESS_VIOLATION, 'path leaves the TFTP root');
  return { ok: true, path: real };
}
