// TFTP throughput: Tabula vs tftpd-hpa on one veth pair between two namespaces. 1 MiB and 30 MiB
// files, 1 and 50 concurrent clients, blksize 1468, lock-step and windowsize 16. Configurations
// alternate between the two servers so that background load hits both alike.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, benchLab, ensurePackage, finish, fmt, geomean, load, requireNetns } from './lib.js';

const SERVER = '10.78.0.1';
const PEER = '10.78.0.3';
const CLIENT = '10.78.0.2';
const BLKSIZE = 1468;
const WINDOW = 16;
const CLIENT_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tftp-client.js');

interface Config {
  file: string;
  mib: number;
  clients: number;
  repeat: number;
  windowsize: number;
}

const CONFIGS: Config[] = [];
for (const [file, mib, repeat1, repeat50] of [
  ['one.bin', 1, 20, 2],
  ['thirty.bin', 30, 2, 1],
] as const) {
  for (const clients of [1, 50]) {
    for (const windowsize of [0, WINDOW]) CONFIGS.push({ file, mib, clients, repeat: clients === 1 ? repeat1 : repeat50, windowsize });
  }
}

interface Run {
  bytes: number;
  seconds: number;
  transfers: number;
  busy: number;
  failures: number;
  firstFailure: string | null;
  blksize: number | null;
  windowsize: number | null;
}

async function main(): Promise<void> {
  requireNetns();
  const tftpd = ensurePackage('tftpd-hpa', 'in.tftpd');
  const lab = benchLab('tftp');
  try {
    const root = path.join(lab.dir, 'root');
    mkdirSync(root, { recursive: true });
    chmodSync(lab.dir, 0o755);
    chmodSync(root, 0o755);
    const sums = new Map<string, string>();
    for (const [name, mib] of [['one.bin', 1], ['thirty.bin', 30]] as const) {
      const b = randomBytes(mib << 20);
      writeFileSync(path.join(root, name), b, { mode: 0o644 });
      sums.set(name, createHash('sha256').update(b).digest('hex'));
    }
    const S = lab.netns('S');
    const C = lab.netns('C');
    const [s, c] = lab.veth(S, 's', C, 'c');
    lab.addr(S, s, `${SERVER}/24`);
    lab.addr(S, s, `${PEER}/24`);
    lab.addr(C, c, `${CLIENT}/24`);

    const tabula = lab.tabula(S, CLI, 'tabula', ['--db', path.join(lab.dir, 'tabula.db'), 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', `${SERVER}:69`, '--tftp-root', root]);
    await tabula.waitForLog('TFTP listening', (l) => String(l['msg'] ?? '').startsWith('TFTP listening'));
    // Foreground (-L), its own address, chroot to the root (-s), default user; never the system service.
    const peer = lab.spawn(S, 'tftpd-hpa', tftpd, ['-L', '-s', root, '--address', `${PEER}:69`]);
    await new Promise((r) => setTimeout(r, 500));
    if (peer.exit) throw new Error(`tftpd-hpa exited: ${peer.stderr}`);

    const rows: string[] = ['| file | clients × repeats | window asked | Tabula MB/s | tftpd-hpa MB/s | ratio | busy refusals (Tabula / tftpd-hpa) | load |', '|---|---|---|---|---|---|---|---|'];
    const ratios: number[] = [];
    const windowRatios: number[] = [];
    const windowOurs: number[] = [];
    for (const cfg of CONFIGS) {
      const got: Record<string, Run> = {};
      for (const [who, host] of [['tabula', SERVER], ['tftpd-hpa', PEER]] as const) {
        const opts = { host, port: 69, file: cfg.file, size: cfg.mib << 20, sha256: sums.get(cfg.file), clients: cfg.clients, repeat: cfg.repeat, blksize: BLKSIZE, windowsize: cfg.windowsize, deadlineMs: 120_000 };
        const r = await lab.exec(C, process.execPath, [CLIENT_JS, JSON.stringify(opts)], 150_000);
        if (r.code !== 0) throw new Error(`client against ${who} failed (${r.code}): ${r.stderr}`);
        const run = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Run;
        if (run.failures > 0) throw new Error(`${run.failures} failed transfers against ${who}: ${run.firstFailure}`);
        got[who] = run;
      }
      const mbs = (x: Run): number => x.bytes / 1e6 / x.seconds;
      const ours = mbs(got['tabula']!);
      const theirs = mbs(got['tftpd-hpa']!);
      const ratio = ours / theirs;
      ratios.push(ratio);
      if (cfg.windowsize > 0) {
        windowRatios.push(ratio);
        windowOurs.push(ours);
      }
      const line = `| ${cfg.mib} MiB | ${cfg.clients} × ${cfg.repeat} | ${cfg.windowsize || 'none'} (Tabula got ${got['tabula']!.windowsize}, tftpd-hpa ${got['tftpd-hpa']!.windowsize}) | ${fmt(ours)} | ${fmt(theirs)} | ${ratio.toFixed(2)} | ${got['tabula']!.busy} / ${got['tftpd-hpa']!.busy} | ${load()} |`;
      console.log(line);
      rows.push(line);
    }
    const g = geomean(ratios);
    const gw = geomean(windowRatios);
    rows.push('', `Geometric mean of the ratios: ${g.toFixed(2)} over all ${ratios.length} configurations, ${gw.toFixed(2)} with windowsize asked. RESULT: geometric mean of Tabula's MB/s and of the ratios over the windowsize-asked rows.`);
    await tabula.stop();
    await peer.stop();
    finish({
      name: 'tftp',
      command: 'npm run bench:tftp',
      peers: [
        `tftpd-hpa (Debian tftpd-hpa) run as \`in.tftpd -L -s ROOT --address ${PEER}:69\` in the server namespace (foreground, chroot, default user, default limits; it has no windowsize, so it answers without it and runs lock-step).`,
        `Tabula: \`tabula serve --tftp-listen ${SERVER}:69 --tftp-root ROOT\` (defaults: max blksize 1468, max windowsize 64), same namespace and veth.`,
        `Client: bench/tftp-client.ts in the client namespace (one Node process, N concurrent transfers, each transfer's SHA-256 checked), RRQ with blksize ${BLKSIZE}, tsize 0, and windowsize ${WINDOW} where asked. MB/s = all bytes / wall time.`,
      ],
      lines: rows,
      // Headline: windowsize asked (the target); value and ratio are geometric means over those 4.
      result: { value: geomean(windowOurs), unit: 'MB/s-geomean-windowed', ratio: gw, peer: 'tftpd-hpa' },
    });
  } finally {
    await lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
