// DHCP: DORA exchanges/s with Kea's perfdhcp (client namespace) against Tabula, kea-dhcp4 (memfile,
// persist on) and dnsmasq (lease file, and --leasefile-ro), one at a time on the same veth, same
// pool, same offered rate. Only inside the namespaces this benchmark creates.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, benchLab, ensurePackage, finish, fmt, load, requireNetns, sleep } from './lib.js';
import type { LabProcess, NetnsLab } from '../test/support/netns.js';

const SERVER = '10.81.0.1';
const CLIENT = '10.81.0.2';
const POOL = ['10.81.1.0', '10.81.40.255'] as const; // 10,240 addresses in 10.81.0.0/16
const CLIENTS = 1000;
// Offered DORA/s, low to saturation. Each rate runs for SECONDS on a freshly started server.
const RATES = [100, 400, 1000, 4000] as const;
const SECONDS = 5;
/** Below this drop ratio a rate counts as sustained (perfdhcp has no exact 0 % search). */
const SUSTAINED_DROP_PCT = 1;

interface Perf {
  rate: number;
  doDrops: number;
  raDrops: number;
  raw: string;
}

async function perfdhcp(lab: NetnsLab, ns: string, bin: string, iface: string, rate: number): Promise<Perf> {
  const r = await lab.exec(ns, bin, ['-4', '-l', iface, '-r', String(rate), '-R', String(CLIENTS), '-p', String(SECONDS)], (SECONDS + 30) * 1000);
  // perfdhcp exits 3 when packets were dropped: that is a figure, not a failure.
  if (r.code !== 0 && r.code !== 3) throw new Error(`perfdhcp failed (${r.code}): ${r.stderr}${r.stdout}`);
  const got = Number(/Rate:\s+([\d.]+)\s+4-way exchanges\/second/.exec(r.stdout)?.[1] ?? NaN);
  const drops = [...r.stdout.matchAll(/drops ratio:\s+([\d.]+)\s*%/g)].map((m) => Number(m[1]));
  if (!Number.isFinite(got)) throw new Error(`cannot read perfdhcp output:\n${r.stdout}${r.stderr}`);
  return { rate: got, doDrops: drops[0] ?? NaN, raDrops: drops[1] ?? NaN, raw: r.stdout };
}

async function main(): Promise<void> {
  requireNetns();
  const perf = ensurePackage('kea-admin', 'perfdhcp');
  const kea = ensurePackage('kea-dhcp4-server', 'kea-dhcp4');
  const dnsmasq = ensurePackage('dnsmasq-base', 'dnsmasq');
  const lab = benchLab('dhcp');
  try {
    const S = lab.netns('S');
    const C = lab.netns('C');
    const [s, c] = lab.veth(S, 's', C, 'c');
    lab.addr(S, s, `${SERVER}/16`);
    lab.addr(C, c, `${CLIENT}/16`);
    // Namespaces have no default route: broadcasts need one (pxe-lab.md).
    lab.ip(S, 'route', 'add', '255.255.255.255/32', 'dev', s);
    lab.ip(C, 'route', 'add', '255.255.255.255/32', 'dev', c);

    const peers: Array<{ name: string; start: () => Promise<LabProcess>; stopSignal: NodeJS.Signals }> = [
      {
        name: 'tabula',
        stopSignal: 'SIGTERM',
        start: async () => {
          const p = lab.tabula(S, CLI, 'tabula', [
            '--db', path.join(lab.dir, 'tabula.db'), 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', 'off', '--tftp-root', lab.dir,
            '--dhcp-interface', s, '--dhcp-range', `${POOL[0]}-${POOL[1]}`, '--dhcp-lease-time', '3600',
          ]);
          await p.waitForLog('DHCP serving', (l) => String(l['msg'] ?? '').startsWith('DHCP ('));
          return p;
        },
      },
      {
        name: 'kea-dhcp4',
        stopSignal: 'SIGTERM',
        start: async () => {
          const dir = path.join(lab.dir, 'kea');
          mkdirSync(dir, { recursive: true });
          const conf = path.join(dir, 'kea.json');
          writeFileSync(
            conf,
            JSON.stringify({
              Dhcp4: {
                'interfaces-config': { interfaces: [s], 'dhcp-socket-type': 'raw' },
                'lease-database': { type: 'memfile', persist: true, name: path.join(dir, 'leases4.csv'), 'lfc-interval': 0 },
                'valid-lifetime': 3600,
                subnet4: [{ id: 1, subnet: '10.81.0.0/16', pools: [{ pool: `${POOL[0]} - ${POOL[1]}` }] }],
                loggers: [{ name: 'kea-dhcp4', output_options: [{ output: path.join(dir, 'kea.log') }], severity: 'WARN' }],
              },
            }),
          );
          const p = lab.spawn(S, 'kea-dhcp4', kea, ['-c', conf], { ...process.env, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir });
          await sleep(1500);
          if (p.exit) throw new Error(`kea-dhcp4 exited: ${p.stderr}${p.stdout}`);
          return p;
        },
      },
      ...(['lease file', '--leasefile-ro'] as const).map((mode) => ({
        name: mode === 'lease file' ? 'dnsmasq' : 'dnsmasq-leasefile-ro',
        stopSignal: 'SIGTERM' as NodeJS.Signals,
        start: async () => {
          const dir = path.join(lab.dir, `dnsmasq-${mode === 'lease file' ? 'rw' : 'ro'}`);
          mkdirSync(dir, { recursive: true });
          const args = [
            '-d', '--conf-file=/dev/null', '--port=0', `--interface=${s}`, '--bind-interfaces', `--pid-file=${path.join(dir, 'pid')}`,
            `--dhcp-range=${POOL[0]},${POOL[1]},255.255.0.0,1h`, '--dhcp-lease-max=20000', '--quiet-dhcp',
            mode === 'lease file' ? `--dhcp-leasefile=${path.join(dir, 'leases')}` : '--leasefile-ro',
          ];
          const p = lab.spawn(S, 'dnsmasq', dnsmasq, args);
          await sleep(700);
          if (p.exit) throw new Error(`dnsmasq exited: ${p.stderr}`);
          return p;
        },
      })),
    ];

    const rows = ['| server | offered DORA/s | completed DORA/s | drops DISCOVER-OFFER | drops REQUEST-ACK | load |', '|---|---|---|---|---|---|'];
    // Best completed rate with drops under SUSTAINED_DROP_PCT, and the best at any drop ratio.
    const sustained = new Map<string, number>();
    const peak = new Map<string, number>();
    for (const peer of peers) {
      for (const rate of RATES) {
        const p = await peer.start();
        try {
          const r = await perfdhcp(lab, C, perf, c, rate);
          const ok = Number.isFinite(r.doDrops) && Number.isFinite(r.raDrops) && Math.max(r.doDrops, r.raDrops) < SUSTAINED_DROP_PCT;
          if (ok) sustained.set(peer.name, Math.max(sustained.get(peer.name) ?? 0, r.rate));
          peak.set(peer.name, Math.max(peak.get(peer.name) ?? 0, r.rate));
          const line = `| ${peer.name} | ${rate} | ${fmt(r.rate)} | ${r.doDrops} % | ${r.raDrops} % | ${load()} |`;
          console.log(line);
          rows.push(line);
        } finally {
          await p.stop(peer.stopSignal, 5000);
        }
        // dnsmasq answering nothing at the lowest rate will not at higher ones.
        if ((peak.get(peer.name) ?? 0) === 0) break;
      }
    }
    const ours = sustained.get('tabula') ?? 0;
    const ratio = (name: string): string => {
      const theirs = sustained.get(name) ?? 0;
      return theirs > 0 ? (ours / theirs).toFixed(2) : 'n/a (it completed no exchange)';
    };
    rows.push(
      '',
      `Sustained (highest completed rate with both drop ratios under ${SUSTAINED_DROP_PCT} %, among the offered rates): ${[...peers.map((p) => `${p.name} ${fmt(sustained.get(p.name) ?? 0)}`)].join(', ')} DORA/s. Peak completed: ${[...peers.map((p) => `${p.name} ${fmt(peak.get(p.name) ?? 0)}`)].join(', ')}.`,
      `Ratios at sustained rate: ${ratio('kea-dhcp4')} vs Kea, ${ratio('dnsmasq')} vs dnsmasq with lease file, ${ratio('dnsmasq-leasefile-ro')} vs dnsmasq --leasefile-ro.`,
      'perfdhcp -l <interface> behaves as a relay: it broadcasts with giaddr = its own address and source port 67, and takes replies on port 67. dnsmasq 2.90 logged nothing and answered none of these packets (broadcast or unicast to it, with or without --bind-interfaces), so its rows read 0: a limit of this load generator setup, not a dnsmasq figure. Not done yet: an exact 0 % drop search, the 30,000-new-client run and Tabula latency percentiles (issue 6).',
    );
    const keaRate = sustained.get('kea-dhcp4') ?? 0;
    finish({
      name: 'dhcp',
      command: 'npm run bench:dhcp',
      peers: [
        `Load: \`perfdhcp -4 -l <client veth> -r RATE -R ${CLIENTS} -p ${SECONDS}\` (Debian kea-admin 2.2) in the client namespace, RATE in ${RATES.join(', ')}: ${CLIENTS} distinct clients, DORA, each rate on a freshly started server; servers one at a time on the same server veth, pool ${POOL[0]}-${POOL[1]} (/16), lease 1 h.`,
        `Tabula: \`tabula serve --dhcp-interface <veth> --dhcp-range ${POOL[0]}-${POOL[1]} --dhcp-lease-time 3600\` (full mode, leases in SQLite, fresh database).`,
        'kea-dhcp4 (Debian kea-dhcp4-server 2.2) in the foreground with its own JSON config: raw sockets on the veth, memfile with persist true (CSV lease file), lfc-interval 0, valid-lifetime 3600, WARN logging to a file.',
        `dnsmasq (Debian) in the foreground (-d), --conf-file=/dev/null, --port=0 (no DNS), --bind-interfaces on the veth, --dhcp-range over the same pool, --dhcp-lease-max=20000, --quiet-dhcp; once with --dhcp-leasefile=FILE and once with --leasefile-ro.`,
      ],
      lines: rows,
      result: { value: ours, unit: 'DORA/s-sustained', ratio: keaRate > 0 ? ours / keaRate : null, peer: 'kea-dhcp4' },
    });
  } finally {
    await lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
