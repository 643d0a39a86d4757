// Lint of rendered output, before a template revision can reach a blade: `sh -n` for shell scripts
// (the text goes to the shell on stdin, nothing is written to disk or executed), `#!ipxe` on the first
// line for iPXE scripts (iPXE refuses a script without it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface LintProblem {
  message: string;
  /** 1-based line of the rendered output, when known. */
  line: number | null;
}

export type OutputKind = 'shell' | 'ipxe';

/** How long one `sh -n` may take before it counts as a failure (a parse is milliseconds). */
export const SH_LINT_TIMEOUT_MS = 10_000;

export function lintIpxe(text: string): LintProblem | null {
  const first = text.split('\n', 1)[0] ?? '';
  if (first.trimEnd() !== '#!ipxe') return { message: `the first line must be '#!ipxe', not '${first.slice(0, 60)}'`, line: 1 };
  return null;
}

/**
 * The shell blades run the apply script and hooks with: the image's busybox ash (pxe/build.sh ships
 * Debian's busybox-static, the same binary as here).
 */
export const BLADE_SHELL: readonly [string, ...string[]] = ['/bin/busybox', 'sh'];

/** Runs `SHELL -n` with the script on stdin; the shell parses it and executes nothing. */
export function lintShell(text: string, shell: readonly [string, ...string[]] = ['/bin/sh']): Promise<LintProblem | null> {
  const [cmd, ...pre] = shell;
  return new Promise((resolve) => {
    const child = spawn(cmd, [...pre, '-n'], { stdio: ['pipe', 'ignore', 'pipe'], env: {} });
    let stderr = '';
    let settled = false;
    const done = (p: LintProblem | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(p);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ message: `sh -n did not finish within ${SH_LINT_TIMEOUT_MS} ms`, line: null });
    }, SH_LINT_TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.on('error', (e) => done({ message: `cannot run ${shell.join(' ')} -n: ${e.message}`, line: null }));
    // A shell that stops reading early (syntax error) closes the pipe: not an error of ours.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      if (code === 0) return done(null);
      const msg = stderr.trim().split('\n')[0] ?? '';
      // dash: "sh: 4: Syntax error: ..."; bash: "bash: line 4: syntax error ..."
      const m = /^[^:]*:\s*(?:line\s+)?(\d+):\s*(.*)$/.exec(msg);
      done(m ? { message: m[2] || msg, line: Number(m[1]) } : { message: msg || `sh -n exited with ${code}`, line: null });
    });
    child.stdin.end(text);
  });
}

/**
 * Lints a script as the blade's shell parses it: busybox ash decides (it accepts `function f {`, which
 * dash refuses; both refuse a here-string). busybox names no line, so a refusal takes its line from
 * /bin/sh when that refuses too. Without busybox on this machine, /bin/sh alone decides.
 */
export async function lintBladeShell(text: string): Promise<LintProblem | null> {
  if (!existsSync(BLADE_SHELL[0])) return lintShell(text);
  const verdict = await lintShell(text, BLADE_SHELL);
  if (verdict === null || verdict.line !== null) return verdict;
  const line = (await lintShell(text))?.line ?? null;
  return { message: verdict.message.replace(/^sh:\s*/, ''), line };
}

export function lintOutput(kind: OutputKind, text: string): Promise<LintProblem | null> {
  return kind === 'ipxe' ? Promise.resolve(lintIpxe(text)) : lintBladeShell(text);
}
