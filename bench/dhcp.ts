// DHCP: DORA exchanges/s with Kea's perfdhcp (client namespace) against Tabula, kea-dhcp4 (memfile,
// persist on) and dnsmasq (lease file, and --leasefile-ro), one at a time on the same veth, same
// pool. Three runs per server:
//   1. returning clients: 1,000 clients that already hold leases, offered rates climbing a ladder;
//      the highest rate with no drop at all is the "0 % drop" figure, the best completed the saturation;
//   2. new clients: 30,000 DISCOVERs from fresh MACs at a fixed rate, the lease table growing;
//   3. (Tabula only) latency percentiles from a capture on the server's veth at its 0 % drop rate.
// Only inside the namespaces this benchmark creates.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, benchLab, ensurePackage, finish, fmt, load, requireNetns, sleep } from './lib.js';
import type { LabProcess, NetnsLab } from '../test/support/netns.js';

const SERVER = '10.81.0.1';
const CLIENT = '10.81.0.2';
const POOL = ['10.81.1.0', '10.81.200.255'] as const; // 51,200 addresses in 10.81.0.0/16
const RETURNING = 1000;
const LADDER = [250, 500, 1000, 2000, 4000, 8000] as const;
const STEP_S = 3;
/** Past this drop ratio a server is saturated: the ladder stops. */
const SATURATED_DROP_PCT = 20;
const NEW_CLIENTS = 30_000;
const NEW_RATE = 1000;
const LATENCY_S = 5;

interface Perf {
  offered: number;
  rate: number;
  doDrops: number;
  raDrops: number;
  sent: number;
}

/** perfdhcp -4 on `iface`: `args` say how many clients, which rate, how long. */
async function perfdhcp(lab: NetnsLab, ns: string, bin: string, iface: string, offered: number, args: string[], timeoutS: number): Promise<Perf> {
  const r = await lab.exec(ns, bin, ['-4', '-l', iface, '-r', String(offered), ...args], (timeoutS + 30) * 1000);
  // perfdhcp exits 3 when packets were dropped: that is a figure, not a failure.
  if (r.code !== 0 && r.code !== 3) throw new Error(`perfdhcp failed (${r.code}): ${r.stderr}${r.stdout}`);
  const rate = Number(/Rate:\s+([\d.]+)\s+4-way exchanges\/second/.exec(r.stdout)?.[1] ?? NaN);
  const drops = [...r.stdout.matchAll(/drops ratio:\s+([\d.]+|-?nan)\s*%/g)].map((m) => (m[1] === undefined || /nan/.test(m[1]) ? NaN : Number(m[1])));
  const sent = Number(/sent packets:\s+(\d+)/.exec(r.stdout)?.[1] ?? NaN);
  if (!Number.isFinite(rate)) throw new Error(`cannot read perfdhcp output:\n${r.stdout}${r.stderr}`);
  return { offered, rate, doDrops: drops[0] ?? NaN, raDrops: drops[1] ?? NaN, sent };
}

const worstDrop = (p: Perf): number => (Number.isFinite(p.doDrops) && Number.isFinite(p.raDrops) ? Math.max(p.doDrops, p.raDrops) : 100);

// ------------------------------------------------------------------ latency from a capture

interface Seen {
  t: number;
  out: boolean;
  type: number;
  xid: number;
}

/** DHCP messages of a pcap file (Ethernet, IPv4, UDP 67/68): time, direction, type and xid. */
export function dhcpFromPcap(buf: Buffer, serverIp: string): Seen[] {
  const out: Seen[] = [];
  if (buf.length < 24) return out;
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4;
  const nano = buf.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le || nano ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const server = serverIp.split('.').map(Number);
  for (let o = 24; o + 16 <= buf.length; ) {
    const t = u32(o) + u32(o + 4) / (nano ? 1e9 : 1e6);
    const len = u32(o + 8);
    const p = o + 16;
    o = p + len;
    if (o > buf.length || len < 14 + 20 + 8 + 240) continue;
    if (buf.readUInt16BE(p + 12) !== 0x0800) continue;
    const ip = p + 14;
    const ihl = (buf[ip]! & 0x0f) * 4;
    if (buf[ip + 9] !== 17) continue;
    const fromServer = [0, 1, 2, 3].every((i) => buf[ip + 12 + i] === server[i]);
    const bootp = ip + ihl + 8;
    const xid = buf.readUInt32BE(bootp + 4);
    // options after the magic cookie: find 53 (message type)
    let type = 0;
    for (let q = bootp + 240; q < o; ) {
      const code = buf[q]!;
      if (code === 255) break;
      if (code === 0) {
        q++;
        continue;
      }
      const l = buf[q + 1] ?? 0;
      if (code === 53) type = buf[q + 2] ?? 0;
      q += 2 + l;
    }
    if (type !== 0) out.push({ t, out: fromServer, type, xid });
  }
  return out;
}

/** Server latency per exchange step: first request seen -> reply, by xid. */
export function latencies(seen: readonly Seen[]): { offer: number[]; ack: number[] } {
  const firstIn = new Map<string, number>();
  const offer: number[] = [];
  const ack: number[] = [];
  for (const s of seen) {
    const k = `${s.xid}:${s.type === 2 || s.type === 1 ? 'd' : 'r'}`;
    if (!s.out) {
      if ((s.type === 1 || s.type === 3) && !firstIn.has(k)) firstIn.set(k, s.t);
      continue;
    }
    const at = firstIn.get(k);
    if (at === undefined) continue;
    firstIn.delete(k);
    if (s.type === 2) offer.push((s.t - at) * 1000);
    else if (s.type === 5) ack.push((s.t - at) * 1000);
  }
  return { offer, ack };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

// ------------------------------------------------------------------ servers

interface Peer {
  name: string;
  start: () => Promise<LabProcess>;
}

async function main(): Promise<void> {
  requireNetns();
  const perf = ensurePackage('kea-admin', 'perfdhcp');
  const kea = ensurePackage('kea-dhcp4-server', 'kea-dhcp4');
  const dnsmasq = ensurePackage('dnsmasq-base', 'dnsmasq');
  const tcpdump = ensurePackage('tcpdump', 'tcpdump');
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

    let fresh = 0;
    const peers: Peer[] = [
      {
        name: 'tabula',
        start: async () => {
          const p = lab.tabula(S, CLI, 'tabula', [
            '--db', path.join(lab.dir, `tabula-${fresh++}.db`), 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', 'off', '--tftp-root', lab.dir,
            '--dhcp-interface', s, '--dhcp-range', `${POOL[0]}-${POOL[1]}`, '--dhcp-lease-time', '3600',
          ]);
          await p.waitForLog('DHCP serving', (l) => String(l['msg'] ?? '').startsWith('DHCP ('));
          return p;
        },
      },
      {
        name: 'kea-dhcp4',
        start: async () => {
          const dir = path.join(lab.dir, `kea-${fresh++}`);
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
        start: async () => {
          const dir = path.join(lab.dir, `dnsmasq-${fresh++}`);
          mkdirSync(dir, { recursive: true });
          const args = [
            '-d', '--conf-file=/dev/null', '--port=0', `--interface=${s}`, '--bind-interfaces', `--pid-file=${path.join(dir, 'pid')}`,
            `--dhcp-range=${POOL[0]},${POOL[1]},255.255.0.0,1h`, '--dhcp-lease-max=60000', '--quiet-dhcp', '--no-ping',
            mode === 'lease file' ? `--dhcp-leasefile=${path.join(dir, 'leases')}` : '--leasefile-ro',
          ];
          const p = lab.spawn(S, 'dnsmasq', dnsmasq, args);
          await sleep(700);
          if (p.exit) throw new Error(`dnsmasq exited: ${p.stderr}`);
          return p;
        },
      })),
    ];

    const ladderRows = ['| server | offered DORA/s | completed DORA/s | drops DISCOVER-OFFER | drops REQUEST-ACK | load |', '|---|---|---|---|---|---|'];
    const newRows = ['| server | offered DORA/s | DISCOVERs sent | completed DORA/s | drops DISCOVER-OFFER | drops REQUEST-ACK | load |', '|---|---|---|---|---|---|---|'];
    const zeroDrop = new Map<string, number>();
    const underOnePct = new Map<string, number>();
    /** Offered rate of Tabula's best step without drops: the latency run offers it again. */
    let tabulaZeroOffered = LADDER[0] as number;
    const peak = new Map<string, number>();
    const newRate = new Map<string, number>();

    for (const peer of peers) {
      // 1. returning clients: one server for the whole ladder; a warm-up gives every client its lease.
      const p = await peer.start();
      try {
        await perfdhcp(lab, C, perf, c, 500, ['-R', String(RETURNING), '-p', String(STEP_S)], STEP_S);
        for (const rate of LADDER) {
          const r = await perfdhcp(lab, C, perf, c, rate, ['-R', String(RETURNING), '-p', String(STEP_S)], STEP_S);
          if (worstDrop(r) === 0) {
            zeroDrop.set(peer.name, Math.max(zeroDrop.get(peer.name) ?? 0, r.rate));
            if (peer.name === 'tabula') tabulaZeroOffered = rate;
          }
          peak.set(peer.name, Math.max(peak.get(peer.name) ?? 0, r.rate));
          if (worstDrop(r) < 1) underOnePct.set(peer.name, Math.max(underOnePct.get(peer.name) ?? 0, r.rate));
          const line = `| ${peer.name} | ${rate} | ${fmt(r.rate)} | ${r.doDrops} % | ${r.raDrops} % | ${load()} |`;
          console.log(line);
          ladderRows.push(line);
          if (worstDrop(r) > SATURATED_DROP_PCT) break;
        }
      } finally {
        await p.stop('SIGTERM', 5000);
      }
      // 2. new clients on a fresh server: the lease table grows to ~30,000.
      const q = await peer.start();
      try {
        const seconds = Math.ceil(NEW_CLIENTS / NEW_RATE);
        const r = await perfdhcp(lab, C, perf, c, NEW_RATE, ['-R', '10000000', '-n', String(NEW_CLIENTS), '-p', String(seconds + 5)], seconds + 5);
        newRate.set(peer.name, r.rate);
        const line = `| ${peer.name} | ${NEW_RATE} | ${r.sent} | ${fmt(r.rate)} | ${r.doDrops} % | ${r.raDrops} % | ${load()} |`;
        console.log(line);
        newRows.push(line);
      } finally {
        await q.stop('SIGTERM', 5000);
      }
    }

    // 3. Tabula's latency, from a capture on the server veth (kernel timestamps in and out).
    const latencyRate = tabulaZeroOffered;
    const pcap = path.join(lab.dir, 'tabula.pcap');
    const t = await peers[0]!.start();
    let lat: { offer: number[]; ack: number[] } = { offer: [], ack: [] };
    try {
      const cap = lab.spawn(S, 'tcpdump', tcpdump, ['-i', s, '-s', '600', '-U', '-w', pcap, 'udp port 67 or udp port 68']);
      await sleep(1000);
      await perfdhcp(lab, C, perf, c, latencyRate, ['-R', String(RETURNING), '-p', String(LATENCY_S)], LATENCY_S);
      await sleep(300);
      await cap.stop('SIGINT', 3000);
      lat = latencies(dhcpFromPcap(readFileSync(pcap), SERVER));
    } finally {
      await t.stop('SIGTERM', 5000);
    }
    const latRow = (what: string, xs: number[]): string =>
      `| ${what} | ${xs.length} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 90))} | ${fmt(pct(xs, 99))} | ${fmt(pct(xs, 100))} |`;

    const ours = zeroDrop.get('tabula') ?? 0;
    const ratio = (name: string): number | null => {
      const theirs = zeroDrop.get(name) ?? 0;
      return theirs > 0 ? ours / theirs : null;
    };
    const r2 = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(2));
    const names = peers.map((x) => x.name);
    const lines = [
      `**Returning clients** (${RETURNING} clients holding leases; offered rates ${LADDER.join(', ')} DORA/s for ${STEP_S} s each on one running server, after a ${STEP_S} s warm-up at 500/s; the ladder stops past ${SATURATED_DROP_PCT} % drops):`,
      '',
      ...ladderRows,
      '',
      `0 % drop (highest completed rate of a step without a single drop): ${names.map((n) => `${n} ${fmt(zeroDrop.get(n) ?? 0)}`).join(', ')} DORA/s. Under 1 % drops: ${names.map((n) => `${n} ${fmt(underOnePct.get(n) ?? 0)}`).join(', ')}. Saturation (best completed): ${names.map((n) => `${n} ${fmt(peak.get(n) ?? 0)}`).join(', ')}.`,
      `Ratios at 0 % drop: ${r2(ratio('kea-dhcp4'))} vs Kea (target ≥ 2), ${r2(ratio('dnsmasq'))} vs dnsmasq with lease file, ${r2(ratio('dnsmasq-leasefile-ro'))} vs dnsmasq --leasefile-ro (target ≥ 1).`,
      '',
      `**New clients** (${NEW_CLIENTS.toLocaleString('en')} DISCOVERs from MACs drawn from 10,000,000, so nearly all new, at ${NEW_RATE}/s on a fresh server; the lease table grows to ~${NEW_CLIENTS.toLocaleString('en')}):`,
      '',
      ...newRows,
      '',
      `**Tabula latency** (server side: request in → reply out on the server veth, tcpdump kernel timestamps; ${RETURNING} returning clients at ${latencyRate} DORA/s for ${LATENCY_S} s):`,
      '',
      '| step | exchanges | p50 ms | p90 ms | p99 ms | max ms |',
      '|---|---|---|---|---|---|',
      latRow('DISCOVER → OFFER', lat.offer),
      latRow('REQUEST → ACK', lat.ack),
      '',
      'Durability: Tabula commits every lease before its ACK leaves (one SQLite WAL commit per burst of datagrams), so leases survive a kill -9 (test/netns/leases.test.ts); Kea memfile appends each lease to its CSV; dnsmasq with a lease file rewrites it, and with --leasefile-ro keeps leases in memory only.',
    ];
    const keaRatio = ratio('kea-dhcp4');
    finish({
      name: 'dhcp',
      command: 'npm run bench:dhcp',
      peers: [
        `Load: \`perfdhcp -4 -l <client veth> -r RATE ...\` (Debian kea-admin) in the client namespace; perfdhcp speaks as a relay on the link (source port 67, replies unicast to it). Servers one at a time on the same server veth, pool ${POOL[0]}-${POOL[1]} (51,200 addresses in a /16), lease 1 h.`,
        `Tabula: \`tabula serve --dhcp-interface <veth> --dhcp-range ${POOL[0]}-${POOL[1]} --dhcp-lease-time 3600\` (full mode, leases in SQLite, fresh database per run, info logging: one line per OFFER and ACK).`,
        'kea-dhcp4 (Debian kea-dhcp4-server) in the foreground with its own JSON config: raw sockets on the veth, memfile with persist true (CSV lease file), lfc-interval 0, valid-lifetime 3600, WARN logging to a file.',
        'dnsmasq (Debian dnsmasq-base) in the foreground (-d), --conf-file=/dev/null, --port=0 (no DNS), --bind-interfaces on the veth, --dhcp-range over the same pool, --dhcp-lease-max=60000, --quiet-dhcp and --no-ping (its default ping-before-offer check stalls it on perfdhcp\'s unanswered pings, and neither Tabula nor Kea pings); once with --dhcp-leasefile=FILE and once with --leasefile-ro.',
      ],
      lines,
      result: { value: ours, unit: 'DORA/s-at-0%-drop', ratio: keaRatio, peer: 'kea-dhcp4' },
    });
  } finally {
    await lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
