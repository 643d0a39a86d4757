// The Node side of bind-device.py: run `tabula serve` again through the launcher so that the DHCP
// sockets are bound to one interface (SO_BINDTODEVICE), and adopt the inherited descriptors.
//
//   tabula serve --dhcp-interface eth1           (TABULA_DHCP_FDS unset)
//     └─ python3 bind-device.py --interface eth1 --port 67 --die-with-parent <pid> -- node main.js serve ...
//          └─ (execvpe) node main.js serve ...     (TABULA_DHCP_FDS=67:3, adopts fd 3)
//
// The first process waits for the second, forwards SIGINT/SIGTERM/SIGHUP and exits with its code; the
// second dies with the first (PR_SET_PDEATHSIG), so killing either never leaves a DHCP server behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { TabulaError } from '../../domain/errors.js';
import { findPackageRoot } from '../../store/migrate.js';

export const FDS_ENV = 'TABULA_DHCP_FDS';
export const INTERFACE_ENV = 'TABULA_DHCP_INTERFACE';

/** Exit codes of bind-device.py (sysexits.h); it explains itself on stderr. */
export const LAUNCHER_EXIT = { usage: 64, noInterface: 69, osError: 71, notPermitted: 77, commandNotFound: 127 } as const;

/** bind-device.py: shipped as source next to this module's source (tsc does not copy it to dist/). */
export function launcherPath(): string {
  return path.join(findPackageRoot(), 'src', 'boot', 'launcher', 'bind-device.py');
}

export interface InheritedSockets {
  interface: string;
  /** port -> file descriptor */
  fds: Map<number, number>;
}

/**
 * The sockets a launcher handed over, or null when the environment names none. Throws on a
 * malformed value (a launcher bug or a hand-set variable: better to stop than to serve on a wrong fd).
 */
export function inheritedSockets(env: Readonly<Record<string, string | undefined>>): InheritedSockets | null {
  const raw = env[FDS_ENV];
  if (raw === undefined || raw === '') return null;
  const fds = new Map<number, number>();
  for (const part of raw.split(',')) {
    const m = /^(\d{1,5}):(\d{1,6})$/.exec(part);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535 || Number(m[2]) < 3) {
      throw new TabulaError('internal', 'BAD_INHERITED_SOCKETS', `${FDS_ENV}='${raw}' is not PORT:FD[,PORT:FD] with FD >= 3`, { value: raw });
    }
    fds.set(Number(m[1]), Number(m[2]));
  }
  const iface = env[INTERFACE_ENV];
  if (iface === undefined || iface === '') {
    throw new TabulaError('internal', 'BAD_INHERITED_SOCKETS', `${FDS_ENV} is set but ${INTERFACE_ENV} is not: the sockets' interface is unknown`, {});
  }
  return { interface: iface, fds };
}

const CAP_NET_BIND_SERVICE = 10n;
const CAP_NET_RAW = 13n;

/**
 * Why this process cannot create device-bound DHCP sockets, or null when it can (root, or both
 * CAP_NET_RAW and CAP_NET_BIND_SERVICE effective). Linux only; elsewhere SO_BINDTODEVICE does not exist.
 */
export function privilegeProblem(): string | null {
  if (process.platform !== 'linux') return `--dhcp-interface needs Linux (SO_BINDTODEVICE); this is ${process.platform}`;
  if (process.getuid?.() === 0) return null;
  let eff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) eff = BigInt(`0x${m[1]}`);
  } catch {
    // no /proc: judge by uid alone
  }
  const has = (cap: bigint): boolean => ((eff >> cap) & 1n) === 1n;
  if (has(CAP_NET_RAW) && has(CAP_NET_BIND_SERVICE)) return null;
  return '--dhcp-interface binds UDP port 67 to one interface: run as root, or with CAP_NET_RAW and CAP_NET_BIND_SERVICE';
}

export interface RelaunchOptions {
  interface: string;
  ports: readonly number[];
  /** The full command to run with the sockets: [executable, ...args]. */
  command: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Default 'python3' (from PATH). */
  python?: string;
  /** Stops the child as SIGTERM would. */
  signal?: AbortSignal;
  /** Told once the child runs (its pid). */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs `command` through bind-device.py and resolves with its exit code once it ends (128 + signal
 * number when a signal ended it). Rejects with a clear error when python3 or the launcher is missing.
 */
export function relaunchWithDeviceSockets(opts: RelaunchOptions): Promise<number> {
  const script = launcherPath();
  if (!existsSync(script)) {
    return Promise.reject(new TabulaError('internal', 'LAUNCHER_MISSING', `the DHCP socket launcher ${script} is missing from this installation`, { file: script }));
  }
  const python = opts.python ?? 'python3';
  const args = [script, '--interface', opts.interface, ...opts.ports.flatMap((p) => ['--port', String(p)]), '--die-with-parent', String(process.pid), '--', ...opts.command];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined && k !== FDS_ENV && k !== INTERFACE_ENV) env[k] = v;

  return new Promise<number>((resolve, reject) => {
    const child = spawn(python, args, { stdio: 'inherit', env });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const onAbort = (): void => forward('SIGTERM');
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const cleanup = (): void => {
      for (const s of signals) process.off(s, forward);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    for (const s of signals) process.on(s, forward);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('spawn', () => {
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
      if (opts.signal?.aborted) onAbort();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      if (err.code === 'ENOENT') {
        reject(
          new TabulaError('internal', 'PYTHON_MISSING', `--dhcp-interface needs '${python}' (standard library only) to bind the DHCP socket to ${opts.interface}, and it was not found in PATH`, {
            python,
          }),
        );
      } else reject(err);
    });
    child.once('exit', (code, sig) => {
      cleanup();
      if (code !== null) resolve(code);
      else resolve(128 + (sig ? (constants.signals[sig] ?? 0) : 0));
    });
  });
}
