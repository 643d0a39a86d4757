// Boot storm (issue 6, item 5): N blades (default 10,000) boot at once against ONE `tabula serve`
// (DHCP full mode, TFTP, HTTP boot chain) on a database seeded through the engine with every blade as
// a known host with a plan (4 NICs, an active-backup bond, 2 VLANs). The blades are simulated by
// bench/storm-client.ts in the client namespace, at most --concurrency of them in flight; each does
// the whole chain a BIOS blade does (see that file) and counts as a failure at the first stage that
// still fails after the retries a real client makes. Prints completion time, blades/s, failures by
// stage, p50/p99 per stage, the server's peak RSS and CPU seconds. No peer does this whole chain:
// RESULT ratio=n/a peer=none.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../src/engine/index.js';
import { CLI, ROOT, benchLab, finish, fmt, load, requireNetns } from './lib.js';
import { seedBlade } from './seed.js';
import type { NetnsLab } from '../test/support/netns.js';
import { STAGES, type StormOutcome } from './storm-blade.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = '10.86.0.1';
const CLIENT = '10.86.0.2';
/** The blades' subnet behind the relay: the client namespace holds all of it (a local route). */
const BLADE_NET = '10.87.0.0/16';
const RELAY = '10.87.0.1';
const POOL = ['10.87.1.0', '10.87.255.254'] as const;
const HTTP_PORT = 8080;
const SHAPE = { nics: 4, bonds: 1, vlans: 2 } as const;
/** Debian's ipxe package; a random file of its size when it is not installed. */
const UNDIONLY = '/usr/lib/ipxe/undionly.kpxe';
const UNDIONLY_SIZE = 74_213;
const KERNEL_BYTES = 8 << 20;
const INITRD_BYTES = 24 << 20;
/** The client's whole-run bound; `npm run bench` gives each benchmark 15 minutes in all. */
const CLIENT_DEADLINE_MS = 9 * 60_000;
/** Blades in flight at the deadline get this long to finish, then count as unfinished. */
const CLIENT_GRACE_MS = 60_000;
const TARGET_RSS_MB = 300;

interface Args {
  blades: number;
  concurrency: number;
  /** Trial runs: print the figures and the RESULT line, append nothing to docs/benchmarks.md. */
  record: boolean;
  /** Where the server writes a V8 CPU profile (node --cpu-prof), or null. */
  cpuProf: string | null;
  /** The storm's bound: no blade starts after it (CLIENT_DEADLINE_MS by default). */
  deadlineMs: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { blades: 10_000, concurrency: 200, record: true, cpuProf: null, deadlineMs: CLIENT_DEADLINE_MS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--no-record') {
      a.record = false;
      continue;
    }
    if (flag === '--cpu-prof' && argv[i + 1] !== undefined) {
      a.cpuProf = path.resolve(argv[++i] as string);
      continue;
    }
    const value = argv[i + 1];
    const n = Number(value);
    if ((flag === '--blades' || flag === '--concurrency' || flag === '--deadline-s') && value !== undefined && Number.isInteger(n) && n >= 1) {
      if (flag === '--blades' && n > 65_000) throw new Error('--blades: at most 65,000 (the seeded MACs and addresses are unique up to there)');
      if (flag === '--blades') a.blades = n;
      else if (flag === '--concurrency') a.concurrency = n;
      else a.deadlineMs = n * 1000;
      i++;
      continue;
    }
    throw new Error(`usage: storm [--blades N] [--concurrency C] [--deadline-s S] [--no-record] [--cpu-prof DIR] (N, C and S positive integers); got '${argv.slice(i).join(' ')}'`);
  }
  return a;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number, tick: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / tick;
}

function statusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** The namespace's UDP counters (/proc/net/snmp): where datagrams were dropped. */
async function udpCounters(lab: NetnsLab, ns: string): Promise<Record<string, number>> {
  const r = await lab.exec(ns, 'cat', ['/proc/net/snmp'], 10_000);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (rows[0] ?? '').split(/\s+/).slice(1);
  const values = (rows[1] ?? '').split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? NaN]));
}

function udpDrops(before: Record<string, number>, after: Record<string, number>): string {
  const d = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
  return `${d('InDatagrams').toLocaleString('en')} in, ${d('RcvbufErrors')} receive-buffer drops, ${d('InErrors')} in-errors, ${d('NoPorts')} to closed ports`;
}

/** The commit measured, and whether src/ had uncommitted changes (other work shares the checkout). */
function codeVersion(): string {
  try {
    const sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `commit ${sha}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'commit unknown (no git)';
  }
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const msText = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '–');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  requireNetns();
  const lab = benchLab('storm');
  try {
    // ---------------------------------------------------------------- the database, through the engine
    const db = path.join(lab.dir, 'tabula.db');
    const s0 = Date.now();
    const opened = openEngine({ dbPath: db });
    for (let b = 0; b < args.blades; b++) {
      seedBlade(opened.engine, b, SHAPE);
      if ((b + 1) % 2000 === 0) console.log(`seeded ${b + 1}/${args.blades} blades (${((Date.now() - s0) / 1000).toFixed(0)} s)`);
    }
    opened.close();
    const seedSeconds = (Date.now() - s0) / 1000;
    console.log(`seeded ${args.blades} blades in ${seedSeconds.toFixed(1)} s`);

    // ---------------------------------------------------------------- boot files
    const tftpRoot = path.join(lab.dir, 'tftp');
    const bootDir = path.join(lab.dir, 'boot');
    mkdirSync(tftpRoot);
    mkdirSync(bootDir);
    const bootFile = path.join(tftpRoot, 'undionly.kpxe');
    const realUndionly = existsSync(UNDIONLY);
    if (realUndionly) copyFileSync(UNDIONLY, bootFile);
    else writeFileSync(bootFile, randomBytes(UNDIONLY_SIZE));
    const bootBytes = readFileSync(bootFile);
    writeFileSync(path.join(bootDir, 'vmlinuz'), randomBytes(KERNEL_BYTES));
    writeFileSync(path.join(bootDir, 'initrd.img'), randomBytes(INITRD_BYTES));

    // ---------------------------------------------------------------- namespaces
    const S = lab.netns('S');
    const C = lab.netns('C');
    const [s, c] = lab.veth(S, 's', C, 'c');
    lab.addr(S, s, `${SERVER}/24`);
    lab.addr(C, c, `${CLIENT}/24`);
    // The server reaches the blades' subnet through the relay (the client namespace), which owns all of
    // it: every blade's sockets can bind the address it leased.
    lab.ip(S, 'route', 'add', BLADE_NET, 'via', CLIENT);
    lab.ip(C, 'route', 'add', 'local', BLADE_NET, 'dev', 'lo');

    // ---------------------------------------------------------------- the server
    const serveArgs = [
      '--db', db, 'serve', '--listen', `${SERVER}:${HTTP_PORT}`, '--tftp-listen', `${SERVER}:69`, '--tftp-root', tftpRoot, '--boot-dir', bootDir,
      '--dhcp-interface', s, '--dhcp-range', `${POOL[0]}-${POOL[1]}/16,${RELAY}`, '--dhcp-lease-time', '3600',
    ];
    // With --cpu-prof the node flags go before the CLI; serve's relaunch (for the DHCP sockets) keeps them.
    if (args.cpuProf) mkdirSync(args.cpuProf, { recursive: true });
    const tabula = args.cpuProf
      ? lab.spawn(S, 'tabula', process.execPath, ['--cpu-prof', '--cpu-prof-dir', args.cpuProf, CLI, ...serveArgs])
      : lab.tabula(S, CLI, 'tabula', serveArgs);
    const launched = await tabula.waitForLog('the serving process', (l) => l['msg'] === 'serving from the launched process' && typeof l['childPid'] === 'number');
    const pid = launched['childPid'] as number;
    await tabula.waitForLog('DHCP serving', (l) => String(l['msg'] ?? '').startsWith('DHCP ('), 60_000);
    await tabula.waitForLog('TFTP listening', (l) => String(l['msg'] ?? '').startsWith('TFTP listening'));
    // From here the server's log is counted, not kept: 10,000 blades write ~150,000 lines.
    tabula.child.stdout?.removeAllListeners('data');
    let logLines = 0;
    let logBytes = 0;
    const warnings: string[] = [];
    let warnCount = 0;
    let partial = '';
    tabula.child.stdout?.on('data', (d: Buffer) => {
      logBytes += d.length;
      const text = partial + d.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      logLines += lines.length;
      for (const line of lines) {
        if (/"level":(40|50|60)/.test(line)) {
          warnCount++;
          if (warnings.length < 5) warnings.push(line.slice(0, 400));
        }
      }
    });

    const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const rssIdleKb = statusKb(pid, 'VmRSS');
    const cpu0 = cpuSeconds(pid, tick);
    let rssPeakKb = rssIdleKb;
    const poll = setInterval(() => {
      try {
        rssPeakKb = Math.max(rssPeakKb, statusKb(pid, 'VmRSS'));
      } catch {
        // the server is gone: the client will say so
      }
    }, 200);

    // ---------------------------------------------------------------- the storm
    console.log(`storm: ${args.blades} blades, at most ${args.concurrency} in flight, load ${load()}`);
    const udpS0 = await udpCounters(lab, S);
    const udpC0 = await udpCounters(lab, C);
    const loadBefore = load();
    const client = lab.spawn(C, 'storm-client', process.execPath, [
      path.join(HERE, 'storm-client.js'),
      JSON.stringify({
        server: SERVER,
        httpPort: HTTP_PORT,
        tftpPort: 69,
        relay: RELAY,
        prefix: 16,
        blades: args.blades,
        concurrency: args.concurrency,
        nics: SHAPE.nics,
        bootFile: { name: 'undionly.kpxe', size: bootBytes.length, sha256: createHash('sha256').update(bootBytes).digest('hex') },
        deadlineMs: args.deadlineMs,
        graceMs: CLIENT_GRACE_MS,
      }),
    ]);
    client.child.stderr?.on('data', (d: Buffer) => process.stdout.write(d.toString('utf8').replace(/^(?!storm:).+$/gm, (l) => `client: ${l}`)));
    let bound: NodeJS.Timeout | undefined;
    const exit = await Promise.race([client.exited, new Promise<null>((r) => (bound = setTimeout(() => r(null), args.deadlineMs + CLIENT_GRACE_MS + 60_000)))]);
    clearTimeout(bound);
    clearInterval(poll);
    const loadAfter = load();
    if (!exit || exit.code !== 0) throw new Error(`the storm client ${exit ? `exited ${JSON.stringify(exit)}` : 'did not finish'}:\n${client.stderr.slice(-3000)}`);
    if (tabula.exit) throw new Error(`tabula serve died during the storm (${JSON.stringify(tabula.exit)}):\n${tabula.stderr.slice(-3000)}`);
    const out = JSON.parse(client.stdout.trim().split('\n').pop() ?? '{}') as StormOutcome;
    const udpS = udpDrops(udpS0, await udpCounters(lab, S));
    const udpC = udpDrops(udpC0, await udpCounters(lab, C));
    const cpu = cpuSeconds(pid, tick) - cpu0;
    const hwmKb = statusKb(pid, 'VmHWM');
    rssPeakKb = Math.max(rssPeakKb, statusKb(pid, 'VmRSS'));
    await tabula.stop();
    if (args.cpuProf) console.log(`server CPU profile(s) in ${args.cpuProf}`);
    const dbMb = ['', '-wal'].reduce((sum, ext) => sum + (existsSync(db + ext) ? statSync(db + ext).size : 0), 0) / 2 ** 20;

    // ---------------------------------------------------------------- figures
    const failed = out.blades - out.ok;
    const rows = [
      '| stage | done | p50 ms | p99 ms | max ms | retries | failures |',
      '|---|---|---|---|---|---|---|',
      ...STAGES.map((st) => {
        const f = out.stages[st];
        return f ? `| ${st} | ${f.n} | ${msText(f.p50)} | ${msText(f.p99)} | ${msText(f.max)} | ${f.retries} | ${f.failures} |` : `| ${st} | – | | | | | |`;
      }),
      `| whole blade | ${out.ok} | ${msText(out.blade.p50)} | ${msText(out.blade.p99)} | ${msText(out.blade.max)} | | ${failed} |`,
    ];
    const bounded = (out.failures['not-started'] ?? 0) + (out.failures['unfinished'] ?? 0) > 0;
    const other = Object.entries(out.failures).filter(([st]) => !(STAGES as readonly string[]).includes(st));
    const lines = [
      bounded
        ? `${out.blades} blades, at most ${args.concurrency} in flight: **not completed**: the run stopped at its bound (${fmt(args.deadlineMs / 1000)} s, then ${CLIENT_GRACE_MS / 1000} s for blades in flight) after ${fmt(out.seconds)} s with **${out.ok} blades booted** (${fmt(out.ok / out.seconds)} blades/s); **${failed} failed** (target 0): ${Object.entries(out.failures).map(([st, n]) => `${st} ${n}`).join(', ')}.`
        : `${out.blades} blades, at most ${args.concurrency} in flight: **${fmt(out.seconds)} s** to complete, **${fmt(out.ok / out.seconds)} blades/s**, **${failed} failed** (target 0)${failed ? `: ${Object.entries(out.failures).map(([st, n]) => `${st} ${n}`).join(', ')}` : ''}.`,
      `Server (the serving \`tabula serve\` process): peak RSS **${mb(Math.max(hwmKb, rssPeakKb))}** (VmHWM; ${mb(rssIdleKb)} idle before the storm; target < ${TARGET_RSS_MB} MB: ${Math.max(hwmKb, rssPeakKb) / 1024 < TARGET_RSS_MB ? 'met' : 'missed'}), **${fmt(cpu)} CPU s** during the storm (${fmt(cpu / out.seconds)} cores on average, ${fmt((1000 * cpu) / Math.max(1, out.ok))} ms per booted blade); ${logLines.toLocaleString('en')} log lines (${(logBytes / 2 ** 20).toFixed(0)} MiB), ${warnCount} at warn or above; database ${dbMb.toFixed(0)} MiB after. Client: ${fmt(out.clientCpuSeconds)} CPU s on the same 2 cores. Seeding ${args.blades} hosts through the engine took ${fmt(seedSeconds)} s (not counted). Load ${loadBefore} before, ${loadAfter} after.`,
      '',
      ...rows,
      '',
      `UDP in the server namespace: ${udpS}; in the client namespace: ${udpC}.`,
      `Per blade: ${out.stages['dhcp-os']?.n ? 3 : 2} DHCP exchanges (${out.dhcpNaks} NAKs), 1 TFTP transfer (${out.tftpBusy} "busy" refusals waited out), 8 HTTP requests; stage times include retries. Figures per stage are for blades that got past it.`,
      ...(other.length ? [`Other failures: ${other.map(([st, n]) => `${st} ${n}`).join(', ')}.`] : []),
      ...Object.entries(out.samples).map(([st, msgs]) => `- ${st} failure: ${msgs.map((m) => `\`${m.replace(/`/g, "'").slice(0, 300)}\``).join('; ')}`),
      ...(warnings.length ? ['Server warnings (first ones):', ...warnings.map((w) => `- \`${w.replace(/`/g, "'")}\``)] : []),
      '',
      `Targets (issue 6): 0 failures and server RSS < ${TARGET_RSS_MB} MB with 10,000 blades. Code: ${codeVersion()}.`,
    ];
    for (const l of lines) console.log(l);
    const argText = process.argv.slice(2).join(' ');
    if (!args.record) {
      console.log(`RESULT storm ${fmt(out.seconds)} s ratio=n/a peer=none (--no-record: not appended to docs/benchmarks.md)`);
      return;
    }
    finish({
      name: 'storm',
      command: `npm run bench:storm${argText ? ` -- ${argText}` : ''}`,
      peers: [
        'none: no peer serves this whole chain (DHCP, TFTP, per-host iPXE script, artefacts, inventory, rendered config, report) from one process; the figures stand alone.',
        `Tabula: \`tabula serve --listen ${SERVER}:${HTTP_PORT} --tftp-listen ${SERVER}:69 --dhcp-interface <veth> --dhcp-range ${POOL[0]}-${POOL[1]}/16,${RELAY} --dhcp-lease-time 3600\` (full mode; the blades' subnet is a relayed one), JSON log at info to a pipe, on a database seeded through the engine with ${args.blades} known hosts (${SHAPE.nics} NICs, ${SHAPE.bonds} active-backup bond, ${SHAPE.vlans} VLAN attachments with static addresses; the management network by DHCP on eth0).`,
        `Blades: one Node process (bench/storm-client.ts) in a second namespace, at most ${args.concurrency} blades in flight, each with its own MAC. DHCP goes through a relay agent: the client sends every blade's DISCOVER/REQUEST from ${RELAY}:67 with giaddr ${RELAY} and option 82, and Tabula answers unicast to the relay; the client namespace routes all of ${BLADE_NET} to itself, so each blade's TFTP and HTTP sockets bind the address it leased. Chain per blade: DORA as a PXE ROM (PXEClient arch 0, retransmit 4/8/16/32 s) → TFTP ${realUndionly ? "Debian's" : 'a random'} undionly.kpxe (${bootBytes.length.toLocaleString('en')} bytes; blksize 1432, tsize, lock-step; 2 s timeout, 5 retries; "busy" waited out) → DORA as iPXE (user class iPXE, 1-16 s) → GET /boot.ipxe and /boot/{mac}/ipxe → kernel and initrd, Range of the first MiB each → POST inventory (the seeded NICs, as pxe/init.sh sends them) → GET config, the apply script run against a model of the kernel → DORA as udhcpc for \`tabula_dhcp eth0\` → GET /healthz → POST the report (the checks and iproute2-shaped kernel state /init would send, ~9 KB) which must come back in sync. HTTP: a new connection per request (as busybox wget), 15 s timeout, 5 tries 2 s apart.`,
      ],
      lines,
      result: { value: out.seconds, unit: 's', ratio: null, peer: 'none' },
    });
  } finally {
    await lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
