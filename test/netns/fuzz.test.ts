// Socket-level fuzz: more than 100,000 mutated, truncated and random DHCP and TFTP datagrams sent over
// UDP to a running `tabula serve` (DHCP through its bind-device launcher, TFTP, SQLite leases, metrics:
// the production path, not only the decoders). Afterwards the same process must still be alive and
// answer a real udhcpc and a real TFTP download.
//
// Safety: server and sender live in two namespaces this file creates, joined by one veth pair
// (10.99.0.1/16 <-> 10.99.0.2/16). Whatever address a fuzzed packet names (giaddr, ciaddr), a reply
// can only reach the sender's namespace or fail with "network unreachable": there is no other route.
// Bounded: fixed counts, a deadline in the sender, paced batches. A bigger run belongs in bench/.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabProcess, NetnsLab, REPO, buildCli, netnsUnavailable } from '../support/netns.js';

const skip = netnsUnavailable(['busybox', 'curl']);
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/netns/fuzz.test.ts skipped: ${skip}`);

const SERVER = '10.99.0.1';
const CLIENT = '10.99.0.2';
const DHCP_COUNT = 60_000;
const TFTP_COUNT = 50_000;
const SENDER = path.join(REPO, 'test', 'netns', 'fuzz-sender.mjs');
const CAPTURES = path.join(REPO, 'test', 'boot', 'dhcp', 'captures');
const TFTP_CAPTURES = path.join(REPO, 'test', 'boot', 'tftp', 'captures');
const PROXY_COUNT = 20_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let lab: NetnsLab;
let main: string;
let S: string, F: string, sIf: string, fIf: string;
let root: string;
let proc: LabProcess;
const small = randomBytes(3000);
const large = randomBytes(200_000);

/** Real client packets (the golden captures), as hex. */
function captured(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) =>
      readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('')
        .trim(),
    );
}

interface SenderResult {
  dhcp: number;
  tftp: number;
  tftpTransferPorts: number;
  truncated: number;
  byPort: Record<string, number>;
  pings: number;
  unansweredPings: number;
  received: number;
  timedOut: boolean;
}

async function fuzz(spec: Record<string, unknown>): Promise<SenderResult> {
  const full = { server: SERVER, client: CLIENT, seed: 20261202, deadlineMs: 240_000, dhcpSeeds: captured(CAPTURES), tftpSeeds: captured(TFTP_CAPTURES), tftpFiles: ['small.bin', 'sub/large.bin'], ...spec };
  const r = await lab.exec(F, process.execPath, [SENDER, JSON.stringify(full)], 300_000);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as SenderResult;
}

function serve(name: string, dhcp: string[]): LabProcess {
  return lab.tabula(S, main, name, [
    '--db', path.join(lab.dir, 'tabula.db'), 'serve',
    '--listen', `${SERVER}:8080`,
    '--tftp-listen', `${SERVER}:69`, '--tftp-root', root,
    '--dhcp-interface', sIf, ...dhcp,
    // warn: fuzzed NAKs and drops at info/debug would fill the test's memory with log lines
    '--log-level', 'warn',
  ]);
}

async function waitUp(p: LabProcess): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    if (p.exit) throw new Error(`tabula serve exited: ${JSON.stringify(p.exit)}\n${p.stdout.slice(-3000)}\n${p.stderr.slice(-3000)}`);
    const r = await lab.exec(F, 'curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://${SERVER}:8080/metrics`], 5000);
    if (r.code === 0) return;
    if (Date.now() > until) throw new Error('tabula serve did not come up within 60 s');
    await sleep(250);
  }
}

async function metrics(): Promise<string> {
  const r = await lab.exec(F, 'curl', ['-sS', '--max-time', '10', `http://${SERVER}:8080/metrics`], 15_000);
  if (r.code !== 0) throw new Error(`GET /metrics failed: ${r.stderr}`);
  return r.stdout;
}

/** Sum of every sample of a metric family. */
function total(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** UDP datagrams the kernel dropped for a full socket buffer in the server's namespace. */
async function udpRcvbufErrors(): Promise<number> {
  const r = await lab.exec(S, 'cat', ['/proc/net/snmp'], 5000);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? NaN);
}

/** A valid DHCP exchange and a valid TFTP download, both checked. */
async function stillServes(tag: string): Promise<void> {
  const dhcp = await lab.exec(F, 'busybox', ['udhcpc', '-i', fIf, '-f', '-q', '-n', '-t', '5', '-T', '2', '-s', '/bin/true'], 40_000);
  expect(dhcp.code, `udhcpc ${tag}: ${dhcp.stdout}${dhcp.stderr}`).toBe(0);
  expect(dhcp.stdout + dhcp.stderr).toMatch(/lease of 10\.99\.\d+\.\d+ obtained from 10\.99\.0\.1/);
  for (const [name, data] of [
    ['small.bin', small],
    ['sub/large.bin', large],
  ] as const) {
    const out = path.join(lab.dir, `${tag}-${path.basename(name)}`);
    const r = await lab.exec(F, 'curl', ['-sS', '--max-time', '30', '--tftp-blksize', '1024', `tftp://${SERVER}/${name}`, '-o', out], 40_000);
    expect(r.code, `curl tftp ${name} ${tag}: ${r.stderr}`).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
  }
}

d('fuzz over UDP against a running tabula serve', () => {
  beforeAll(async () => {
    lab = new NetnsLab('fuzz');
    main = await buildCli();
    S = lab.netns('S');
    F = lab.netns('F');
    [sIf, fIf] = lab.veth(S, 's', F, 'f');
    lab.addr(S, sIf, `${SERVER}/16`);
    lab.addr(F, fIf, `${CLIENT}/16`);
    // no default route in a fresh namespace: broadcast replies need one of their own
    lab.ip(S, 'route', 'add', '255.255.255.255/32', 'dev', sIf);
    root = path.join(lab.dir, 'tftp');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'small.bin'), small);
    writeFileSync(path.join(root, 'sub', 'large.bin'), large);
    writeFileSync(path.join(root, 'boot.file'), small); // what the captured firmware RRQs ask for
    proc = serve('serve-full', ['--dhcp-range', '10.99.1.0-10.99.255.250']);
    await waitUp(proc);
  }, 240_000);

  afterAll(async () => {
    await lab?.cleanup();
  }, 60_000);

  it(`answers before, survives ${DHCP_COUNT + TFTP_COUNT} mutated DHCP and TFTP datagrams, and answers after`, async () => {
    await stillServes('before');
    const before = await metrics();
    const dropsBefore = await udpRcvbufErrors();

    const t0 = Date.now();
    const sent = await fuzz({ mode: 'full', dhcpPorts: [67], dhcp: DHCP_COUNT, tftp: TFTP_COUNT });
    const elapsed = Date.now() - t0;
    const kernelDrops = (await udpRcvbufErrors()) - dropsBefore;
    expect(sent.timedOut).toBe(false);
    expect(sent.dhcp).toBe(DHCP_COUNT);
    expect(sent.tftp + sent.tftpTransferPorts).toBe(TFTP_COUNT);
    expect(sent.tftpTransferPorts).toBeGreaterThan(0); // hostile datagrams reached transfer ports too
    expect(sent.truncated).toBeGreaterThan(1000);
    // Every batch was followed by a ping the server answered: it kept answering all along.
    expect(sent.pings).toBeGreaterThan(500);
    expect(sent.unansweredPings).toBe(0);

    // Same process, still up, and it really processed the flood (not an idle socket).
    expect(proc.exit).toBeNull();
    await stillServes('after');
    const after = await metrics();
    const seen = (name: string): number => total(after, name) - total(before, name);
    const dhcpSeen = seen('tabula_dhcp_packets_total') + seen('tabula_dhcp_dropped_total');
    // every fuzzed DHCP datagram reached the server: counted as decoded (by type) or as dropped
    expect(dhcpSeen).toBeGreaterThanOrEqual(DHCP_COUNT);
    expect(seen('tabula_dhcp_packets_total')).toBeGreaterThan(1000);
    expect(seen('tabula_tftp_transfers_total')).toBeGreaterThan(100);
    expect(proc.stderr).not.toMatch(/Uncaught|TypeError|RangeError/);
    console.log(
      `fuzz: sent ${sent.dhcp} DHCP + ${sent.tftp} TFTP (+${sent.tftpTransferPorts} to transfer ports) in ${elapsed} ms; ` +
        `${sent.pings} pings answered; server counted ${dhcpSeen} DHCP packets/drops and ${seen('tabula_tftp_transfers_total')} TFTP transfers; ` +
        `${sent.received} replies came back; kernel receive-buffer drops in the server namespace: ${kernelDrops}`,
    );
  }, 420_000);

  it(`proxy mode: ${PROXY_COUNT} mutated DHCP datagrams to ports 67 and 4011, every batch answered, still serving`, async () => {
    expect((await proc.stop('SIGTERM', 8000)).code).toBe(0);
    proc = serve('serve-proxy', ['--dhcp-mode', 'proxy']);
    await waitUp(proc);
    const before = await metrics();
    const t0 = Date.now();
    const sent = await fuzz({ mode: 'proxy', dhcpPorts: [67, 4011], dhcp: PROXY_COUNT, tftp: 0, seed: 4011 });
    expect(sent.timedOut).toBe(false);
    expect(sent.dhcp).toBe(PROXY_COUNT);
    expect(sent.byPort['67']).toBeGreaterThan(PROXY_COUNT / 3);
    expect(sent.byPort['4011']).toBeGreaterThan(PROXY_COUNT / 3);
    expect(sent.pings).toBeGreaterThan(100);
    expect(sent.unansweredPings).toBe(0); // each ping is a real PXE DISCOVER (67) or boot-server REQUEST (4011)
    expect(proc.exit).toBeNull();
    const after = await metrics();
    const seen = total(after, 'tabula_dhcp_packets_total') + total(after, 'tabula_dhcp_dropped_total') - total(before, 'tabula_dhcp_packets_total') - total(before, 'tabula_dhcp_dropped_total');
    expect(seen).toBeGreaterThanOrEqual(PROXY_COUNT);
    console.log(`fuzz (proxy): ${sent.byPort['67']} to 67 + ${sent.byPort['4011']} to 4011 in ${Date.now() - t0} ms; ${sent.pings} pings answered`);
  }, 300_000);
});
