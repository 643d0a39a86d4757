// HTTP boot chain: requests/s for the rendered per-host iPXE script and apply script (real DB lookup
// and template render) vs nginx serving a static file of the same size, and kernel streaming MB/s
// vs nginx with sendfile. wrk runs in the client namespace; both servers share the veth.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openEngine } from '../src/engine/index.js';
import { CLI, benchLab, ensurePackage, finish, fmt, geomean, load, requireNetns, sleep } from './lib.js';
import { bladeMac, seedBlade } from './seed.js';
import type { NetnsLab } from '../test/support/netns.js';

const SERVER = '10.78.1.1';
const PEER = '10.78.1.3';
const CLIENT = '10.78.1.2';
const DURATION_S = 8;
const CONNECTIONS = 16;
const KERNEL_MIB = 64;

interface Wrk {
  rps: number;
  bytesPerSec: number;
  non2xx: number;
  errors: string | null;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

async function wrk(lab: NetnsLab, ns: string, bin: string, url: string, connections: number, headers: string[] = []): Promise<Wrk> {
  const args = ['-t1', `-c${connections}`, `-d${DURATION_S}s`, '--timeout', '10s', ...headers.flatMap((h) => ['-H', h]), url];
  const r = await lab.exec(ns, bin, args, (DURATION_S + 30) * 1000);
  if (r.code !== 0) throw new Error(`wrk ${url} failed (${r.code}): ${r.stderr}${r.stdout}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const t = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(r.stdout);
  const bytesPerSec = t ? Number(t[1]) * (UNITS[t[2] as string] ?? 1) : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(r.stdout)?.[0] ?? null;
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${r.stdout}`);
  return { rps, bytesPerSec, non2xx, errors };
}

async function curl(lab: NetnsLab, ns: string, args: string[]): Promise<string> {
  const r = await lab.exec(ns, 'curl', ['-sS', '--fail', '--max-time', '30', ...args], 40_000);
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  requireNetns(['curl']);
  const nginx = ensurePackage('nginx-light', 'nginx');
  const wrkBin = ensurePackage('wrk', 'wrk');
  const lab = benchLab('http');
  try {
    // Seed: one blade with 4 NICs, one bond, 2 VLAN attachments (a typical compute blade).
    const db = path.join(lab.dir, 'tabula.db');
    const opened = openEngine({ dbPath: db });
    seedBlade(opened.engine, 7, { nics: 4, bonds: 1, vlans: 2 });
    for (let i = 100; i < 1100; i++) seedBlade(opened.engine, i, { nics: 4, bonds: 1, vlans: 2 }); // a DB that is not trivially small
    opened.close();
    const mac = bladeMac(7, 0).replace(/:/g, '-');

    const boot = path.join(lab.dir, 'boot');
    const www = path.join(lab.dir, 'www');
    mkdirSync(boot);
    mkdirSync(www);
    const kernel = randomBytes(KERNEL_MIB << 20);
    writeFileSync(path.join(boot, 'vmlinuz'), kernel);
    writeFileSync(path.join(boot, 'initrd.img'), randomBytes(1 << 20));
    writeFileSync(path.join(www, 'vmlinuz'), kernel);

    const S = lab.netns('S');
    const C = lab.netns('C');
    const [s, c] = lab.veth(S, 's', C, 'c');
    lab.addr(S, s, `${SERVER}/24`);
    lab.addr(S, s, `${PEER}/24`);
    lab.addr(C, c, `${CLIENT}/24`);

    const tabula = lab.tabula(S, CLI, 'tabula', ['--db', db, 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', 'off', '--tftp-root', boot, '--boot-dir', boot]);
    await tabula.waitForLog('API listening', (l) => String(l['msg'] ?? '').startsWith('API listening'));
    const base = `http://${SERVER}:8080`;

    // Sizes of what a blade really gets, for the static peer files.
    const script = await curl(lab, C, [`${base}/boot/${mac}/ipxe`]);
    const token = /tabula\.token=([A-Za-z0-9_-]+)/.exec(script)?.[1];
    if (!token) throw new Error(`no token in the iPXE script:\n${script}`);
    const apply = await curl(lab, C, ['-H', `Authorization: Bearer ${token}`, `${base}/boot/${mac}/config`]);
    writeFileSync(path.join(www, 'host.ipxe'), 'x'.repeat(Buffer.byteLength(script)));
    writeFileSync(path.join(www, 'apply.sh'), 'x'.repeat(Buffer.byteLength(apply)));

    const conf = path.join(lab.dir, 'nginx.conf');
    writeFileSync(
      conf,
      [
        'daemon off;',
        'worker_processes auto;',
        `pid ${path.join(lab.dir, 'nginx.pid')};`,
        `error_log ${path.join(lab.dir, 'nginx-error.log')};`,
        'events { worker_connections 1024; }',
        'http {',
        `  access_log ${path.join(lab.dir, 'nginx-access.log')};`,
        '  sendfile on; tcp_nopush on; keepalive_requests 100000;',
        `  client_body_temp_path ${lab.dir}/nginx-body; proxy_temp_path ${lab.dir}/nginx-proxy;`,
        '  default_type application/octet-stream;',
        `  server { listen ${PEER}:8081; root ${www}; }`,
        '}',
        '',
      ].join('\n'),
    );
    const peer = lab.spawn(S, 'nginx', nginx, ['-c', conf, '-p', lab.dir]);
    await sleep(700);
    if (peer.exit) throw new Error(`nginx exited: ${peer.stderr}`);
    const pbase = `http://${PEER}:8081`;
    await curl(lab, C, ['-o', '/dev/null', `${pbase}/host.ipxe`]);

    const rows = ['| what | Tabula | nginx static | ratio | load |', '|---|---|---|---|---|'];
    const add = (what: string, ours: number, theirs: number, unit: string, note = ''): number => {
      const ratio = ours / theirs;
      const line = `| ${what}${note} | ${fmt(ours)} ${unit} | ${fmt(theirs)} ${unit} | ${ratio.toFixed(2)} | ${load()} |`;
      console.log(line);
      rows.push(line);
      return ratio;
    };
    const check = (who: string, w: Wrk): void => {
      if (w.non2xx > 0) throw new Error(`${who}: ${w.non2xx} non-2xx responses`);
    };

    // Every GET of the per-host script starts a boot: token issued, boot row and event written.
    const ours1 = await wrk(lab, C, wrkBin, `${base}/boot/${mac}/ipxe`, CONNECTIONS);
    check('tabula ipxe', ours1);
    const theirs1 = await wrk(lab, C, wrkBin, `${pbase}/host.ipxe`, CONNECTIONS);
    check('nginx host.ipxe', theirs1);
    const rIpxe = add(`per-host iPXE script (${Buffer.byteLength(script)} B), ${CONNECTIONS} connections`, ours1.rps, theirs1.rps, 'req/s');

    // The iPXE run above replaced the token: fetch the current one.
    const script2 = await curl(lab, C, [`${base}/boot/${mac}/ipxe`]);
    const token2 = /tabula\.token=([A-Za-z0-9_-]+)/.exec(script2)?.[1] as string;
    const ours2 = await wrk(lab, C, wrkBin, `${base}/boot/${mac}/config`, CONNECTIONS, [`Authorization: Bearer ${token2}`]);
    check('tabula config', ours2);
    const theirs2 = await wrk(lab, C, wrkBin, `${pbase}/apply.sh`, CONNECTIONS);
    check('nginx apply.sh', theirs2);
    const rApply = add(`apply script (${Buffer.byteLength(apply)} B), ${CONNECTIONS} connections`, ours2.rps, theirs2.rps, 'req/s');

    const ours3 = await wrk(lab, C, wrkBin, `${base}/boot/${mac}/kernel`, 4);
    check('tabula kernel', ours3);
    const theirs3 = await wrk(lab, C, wrkBin, `${pbase}/vmlinuz`, 4);
    check('nginx vmlinuz', theirs3);
    const rStream = add(`kernel ${KERNEL_MIB} MiB streaming, 4 connections`, ours3.bytesPerSec / 1e6, theirs3.bytesPerSec / 1e6, 'MB/s');

    await tabula.stop();
    await peer.stop('SIGQUIT');
    rows.push('', `RESULT: the rendered per-host iPXE script req/s; ratio = geometric mean of the two script ratios (${geomean([rIpxe, rApply]).toFixed(2)}); streaming ratio ${rStream.toFixed(2)}.`);
    finish({
      name: 'http',
      command: 'npm run bench:http',
      peers: [
        `nginx (Debian nginx-light) with its own config in a temp folder: \`daemon off\`, \`worker_processes auto\` (2 here), access log to a file, \`sendfile on; tcp_nopush on\`, serving static files of the same byte size as Tabula's rendered scripts and the same ${KERNEL_MIB} MiB kernel; listens on ${PEER}:8081 in the server namespace.`,
        `Tabula: \`tabula serve --listen ${SERVER}:8080 --boot-dir DIR\` on a database seeded through the engine with 1,001 blades (4 NICs, 1 active-backup bond, 2 VLAN attachments each); JSON request log to stdout (a pipe).`,
        `Load: \`wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s\` (kernel: -c4) from the client namespace over the veth. Every Tabula iPXE request is a real boot start (token, boot row, event written); the apply script is rendered from the host plan on every request.`,
      ],
      lines: rows,
      result: { value: ours1.rps, unit: 'req/s', ratio: geomean([rIpxe, rApply]), peer: 'nginx-static' },
    });
  } finally {
    await lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
