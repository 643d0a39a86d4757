// Network-namespace lab for the tests that run real DHCP and TFTP clients against `tabula serve`.
//
// Rules (see pxe-lab.md §6): every namespace, veth and bridge is created here with a unique name
// (tbl<pid><tag>), links are created directly inside namespaces (nothing ever appears in the root
// namespace), servers run as `ip netns exec NS node dist/cli/main.js ...` and are killed by PID,
// `ip netns pids NS` is the safety net, and `ip netns del` ends it all, in afterAll even when a test
// failed. Every wait is bounded. Tests need root; without it they are skipped with the reason.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Why the namespace tests cannot run here, or null when they can. */
export function netnsUnavailable(needs: readonly string[] = []): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespace tests need root (ip netns, veth, port 67/69)';
  for (const cmd of ['ip', ...needs]) if (!commandPath(cmd)) return `'${cmd}' is not installed`;
  return null;
}

export function commandPath(cmd: string): string | null {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function sh(cmd: string, args: readonly string[], timeoutMs = 10_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the CLI, built once per run

const BUILD_DIR = path.join(REPO, 'node_modules', '.cache', 'tabula-netns');

/**
 * Builds src/ with tsc into a private output directory (not dist/, which other work may be using) and
 * returns its cli/main.js. Test files of one vitest run share the build: the first one builds under
 * a lock (mkdir), the others wait for it; the stamp names the vitest main process.
 */
export async function buildCli(): Promise<string> {
  const out = path.join(BUILD_DIR, 'dist');
  const main = path.join(out, 'cli', 'main.js');
  const stampFile = path.join(BUILD_DIR, 'stamp');
  const lock = path.join(BUILD_DIR, 'lock');
  const stamp = `vitest-${process.ppid}`;
  mkdirSync(BUILD_DIR, { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (existsSync(main) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return main;
    try {
      mkdirSync(lock);
    } catch {
      // Someone builds. A lock whose owner died, or that is older than any build, is stale.
      let owner = 0;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
        owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // gone meanwhile, or its pid not written yet
      }
      if ((owner > 0 && !alive(owner)) || age > 200_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build the CLI');
      await sleep(250);
      continue;
    }
    try {
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      rmSync(out, { recursive: true, force: true });
      const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = await run(process.execPath, [tsc, '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', out], 170_000);
      if (!existsSync(main)) throw new Error(`tsc produced no ${main} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
      // Type errors still emit JavaScript; they are the type check's business (tsc --noEmit), not ours.
      if (r.code !== 0) console.warn(`tsc reported errors while building the CLI for the namespace tests:\n${r.stdout.slice(0, 4000)}`);
      writeFileSync(stampFile, stamp);
      return main;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command to completion, killing it (by PID) after timeoutMs. */
export function run(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// ------------------------------------------------------------------ processes

export class LabProcess {
  stdout = '';
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once('error', () => {
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** JSON log lines written to stdout so far (others ignored). */
  logs(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line still being written
      }
    }
    return out;
  }

  /** Waits for a log line matching `pred`; fails early when the process exits. */
  async waitForLog(what: string, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs().find(pred);
      if (hit) return hit;
      if (this.exit) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}\nstdout:\n${this.stdout.slice(-4000)}\nstderr:\n${this.stderr.slice(-4000)}`);
      if (Date.now() > until) throw new Error(`timed out waiting for ${what} from ${this.name}\nstdout:\n${this.stdout.slice(-4000)}\nstderr:\n${this.stderr.slice(-4000)}`);
      await sleep(50);
    }
  }

  /** Signals the process (by PID) and waits up to `graceMs` for it to end, then SIGKILLs it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // gone already
      }
      const done = await Promise.race([this.exited, sleep(graceMs).then(() => null)]);
      if (!done) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    return this.exited;
  }
}

// ------------------------------------------------------------------ the lab

let labCount = 0;

export class NetnsLab {
  /** Unique per process and lab: fits interface names (15 bytes) with a short tag. */
  readonly prefix: string;
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly processes: LabProcess[] = [];
  private cleaned = false;

  constructor(label: string) {
    this.prefix = `tbl${process.pid % 100000}${String.fromCharCode(97 + (labCount++ % 26))}`;
    this.dir = path.join(REPO, 'node_modules', '.cache', 'tabula-netns', `lab-${label}-${this.prefix}`);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    // Last resort if the test process dies without afterAll: synchronous cleanup at exit.
    process.once('exit', () => this.cleanupSync());
  }

  /** A unique name for a namespace or interface: prefix + tag (keep tags <= 4 characters). */
  name(tag: string): string {
    const n = `${this.prefix}${tag}`;
    if (n.length > 15) throw new Error(`interface name ${n} is longer than 15 bytes`);
    return n;
  }

  /** A new namespace with lo up and bridge netfilter off (per-namespace; the host is untouched). */
  netns(tag: string): string {
    const ns = this.name(tag);
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const key of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables', 'bridge-nf-call-arptables']) {
      try {
        sh('ip', ['netns', 'exec', ns, 'sh', '-c', `[ -w /proc/sys/net/bridge/${key} ] && echo 0 > /proc/sys/net/bridge/${key} || true`]);
      } catch {
        // no bridge netfilter: nothing to turn off
      }
    }
    return ns;
  }

  /** A veth pair created directly in its two namespaces, both ends up. Returns [nameA, nameB]. */
  veth(nsA: string, tagA: string, nsB: string, tagB: string): [string, string] {
    const a = this.name(tagA);
    const b = this.name(tagB);
    sh('ip', ['link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
    sh('ip', ['-n', nsA, 'link', 'set', a, 'up']);
    sh('ip', ['-n', nsB, 'link', 'set', b, 'up']);
    return [a, b];
  }

  /** A bridge inside `ns`, up, with the given ports enslaved. */
  bridge(ns: string, tag: string, ports: readonly string[]): string {
    const br = this.name(tag);
    sh('ip', ['-n', ns, 'link', 'add', br, 'type', 'bridge']);
    sh('ip', ['-n', ns, 'link', 'set', br, 'type', 'bridge', 'forward_delay', '0']);
    for (const p of ports) sh('ip', ['-n', ns, 'link', 'set', p, 'master', br]);
    sh('ip', ['-n', ns, 'link', 'set', br, 'up']);
    return br;
  }

  addr(ns: string, dev: string, cidr: string): void {
    sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
  }

  ip(ns: string, ...args: string[]): string {
    return sh('ip', ['-n', ns, ...args]);
  }

  /** Runs a command inside `ns` to completion (bounded). */
  exec(ns: string, cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
  }

  /** Starts a long-running command inside `ns`; tracked and killed by PID at cleanup. */
  spawn(ns: string, name: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): LabProcess {
    // `ip netns exec` execs the command: the PID we get is the command's own.
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const p = new LabProcess(name, child);
    this.processes.push(p);
    return p;
  }

  /** `tabula ...args` from the built CLI inside `ns`. */
  tabula(ns: string, main: string, name: string, args: readonly string[]): LabProcess {
    const env = { ...process.env };
    delete env['TABULA_DHCP_FDS'];
    delete env['TABULA_DHCP_INTERFACE'];
    return this.spawn(ns, name, process.execPath, [main, ...args], env);
  }

  /** PIDs living in `ns`. */
  pids(ns: string): number[] {
    try {
      return sh('ip', ['netns', 'pids', ns])
        .split('\n')
        .map((s) => Number(s.trim()))
        .filter((n) => Number.isInteger(n) && n > 0);
    } catch {
      return [];
    }
  }

  /** Kills what we started (by PID), then anything left in our namespaces, then deletes them. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    await Promise.all(this.processes.map((p) => p.stop('SIGTERM', 3000).catch(() => undefined)));
    this.cleanupSync();
  }

  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.processes) {
      if (p.exit) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const ns of this.namespaces) {
      for (let round = 0; round < 20; round++) {
        const left = this.pids(ns);
        if (left.length === 0) break;
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
        execFileSync('sleep', ['0.05']);
      }
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
