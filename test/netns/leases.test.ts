// Lease edge cases over the wire, against `tabula serve` (launcher, SQLite leases) in a namespace this
// file creates: kill -9 between OFFER and ACK, two clients asking for one reserved address, and pool
// exhaustion (no offer, a warn log line, a metric). Packets are crafted and sent from a second
// namespace with the bare UDP probe (from 0.0.0.0:68 to 255.255.255.255:67, as a client does).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../src/boot/dhcp/packet.js';
import { openEngine } from '../../src/engine/index.js';
import { ip, opt, plainDiscover, plainMessage } from '../boot/dhcp/fixtures.js';
import { type LabProcess, NetnsLab, REPO, buildCli, netnsUnavailable } from '../support/netns.js';

const skip = netnsUnavailable(['curl']);
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/netns/leases.test.ts skipped: ${skip}`);

const SERVER = '10.55.0.1';
const RESERVED = '10.55.0.50';
const OWNER = '52:54:00:55:00:01';
const PROBE = path.join(REPO, 'test', 'netns', 'udp-probe.mjs');
const PXE = [opt(60, 'PXEClient:Arch:00000:UNDI:002001'), opt(93, 0, 0)];
const mac = (n: number): string => `52:54:00:55:01:${n.toString(16).padStart(2, '0')}`;

let lab: NetnsLab;
let main: string;
let db: string;
let S: string, C: string, sIf: string;
const started: LabProcess[] = [];

async function startServer(name: string): Promise<{ proc: LabProcess; servingPid: number }> {
  const proc = lab.tabula(S, main, name, ['--db', db, 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', 'off', '--tftp-root', lab.dir, '--dhcp-interface', sIf, '--dhcp-range', '10.55.0.100-10.55.0.102', '--log-level', 'info']);
  started.push(proc);
  const spawned = await proc.waitForLog('the launched server', (l) => l['msg'] === 'serving from the launched process', 60_000);
  await proc.waitForLog('DHCP serving', (l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('DHCP ('), 60_000);
  return { proc, servingPid: spawned['childPid'] as number };
}

/** Broadcasts one client packet from C and returns the replies meant for that xid. */
async function exchange(packet: Buffer, listenMs = 3000): Promise<DhcpPacket[]> {
  const xid = packet.readUInt32BE(4);
  const arg = JSON.stringify({ bind: { address: '0.0.0.0', port: 68 }, to: { address: '255.255.255.255', port: 67 }, hex: packet.toString('hex'), listenMs, count: 1 });
  const r = await lab.exec(C, process.execPath, [PROBE, arg], 20_000);
  if (r.stderr.trim() !== '') throw new Error(`probe: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => decodePacket(Buffer.from((JSON.parse(l) as { hex: string }).hex, 'hex')))
    .filter((p) => p.xid === xid);
}

async function one(packet: Buffer): Promise<DhcpPacket> {
  const replies = await exchange(packet);
  expect(replies).toHaveLength(1);
  return replies[0] as DhcpPacket;
}

const type = (p: DhcpPacket): number | undefined => p.options.get(53)?.[0];
const selecting = (m: string, xid: number, addr: string): Buffer => plainMessage(3, m, xid, [opt(54, ip(SERVER)), opt(50, ip(addr)), ...PXE]);

d('DHCP lease edge cases against a running server', () => {
  beforeAll(async () => {
    lab = new NetnsLab('lease');
    main = await buildCli();
    S = lab.netns('S');
    C = lab.netns('C');
    let cIf: string;
    [sIf, cIf] = lab.veth(S, 's', C, 'c');
    lab.addr(S, sIf, `${SERVER}/24`);
    lab.ip(S, 'route', 'add', '255.255.255.255/32', 'dev', sIf);
    lab.ip(C, 'route', 'add', '255.255.255.255/32', 'dev', cIf);
    // A blade whose management address (untagged, static, on its boot NIC) is reserved for it.
    db = path.join(lab.dir, 'tabula.db');
    const opened = openEngine({ dbPath: db });
    try {
      const host = opened.engine.reportInventory(null, {
        bootMac: OWNER,
        nics: [{ mac: OWNER, name: 'eth0', driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: '0000:00:03.0' }],
      }).host;
      opened.engine.updateAttachment(host.id, 'mgmt', { ipv4: { method: 'static', address: RESERVED, prefix: 24, gateway: null } });
    } finally {
      opened.close();
    }
  }, 240_000);

  afterAll(async () => {
    for (const p of started.reverse()) await p.stop('SIGTERM', 5000);
    await lab?.cleanup();
  }, 60_000);

  it('kill -9 between OFFER and ACK: the restarted server keeps the offer for its client and ACKs it', async () => {
    const first = await startServer('serve-1');
    const offer = await one(plainDiscover(mac(1), 0x1001, PXE));
    expect(type(offer)).toBe(2);
    const offered = offer.yiaddr;
    expect(offered).toBe('10.55.0.100');

    process.kill(first.servingPid, 'SIGKILL');
    expect((await first.proc.exited).code).toBe(137);
    await startServer('serve-2');

    // another client in between: the offered address is not free
    const other = await one(plainDiscover(mac(2), 0x1002, PXE));
    expect(other.yiaddr).not.toBe(offered);
    const ack = await one(selecting(mac(1), 0x1001, offered));
    expect(type(ack)).toBe(5);
    expect(ack.yiaddr).toBe(offered);
  }, 120_000);

  it('two clients asking for the reserved address: the stranger is offered another and NAKed for it, the owner gets it', async () => {
    const stranger = await one(plainDiscover(mac(3), 0x2001, [opt(50, ip(RESERVED)), ...PXE]));
    expect(type(stranger)).toBe(2);
    expect(stranger.yiaddr).not.toBe(RESERVED);
    const nak = await one(selecting(mac(3), 0x2001, RESERVED));
    expect(type(nak)).toBe(6);
    const owner = await one(plainDiscover(OWNER, 0x2002, [opt(50, ip(RESERVED)), ...PXE]));
    expect(owner.yiaddr).toBe(RESERVED);
    expect(type(await one(selecting(OWNER, 0x2002, RESERVED)))).toBe(5);
  }, 60_000);

  it('pool exhaustion: no offer, a warn log line naming the subnet, and a metric', async () => {
    // .100 bound (test 1), .101 offered (test 1), .102 offered to the stranger: the range is dry.
    const server = started.at(-1) as LabProcess;
    const dry = await exchange(plainDiscover(mac(4), 0x3001, PXE), 3000);
    expect(dry).toHaveLength(0);
    const line = await server.waitForLog('the pool-exhausted line', (l) => l['msg'] === 'dhcp no-offer' && l['mac'] === mac(4));
    expect(line).toMatchObject({ level: 'warn', reason: 'pool-exhausted', detail: '10.55.0.0/24' });
    // C has no address (it is a DHCP client): ask from inside S
    const metrics = (await lab.exec(S, 'curl', ['-sS', '--max-time', '10', `http://${SERVER}:8080/metrics`], 15_000)).stdout;
    expect(metrics).toMatch(/^tabula_dhcp_dropped_total\{reason="pool-exhausted"\} [1-9]/m);
    // the owner of a reservation is not affected by a dry pool
    expect((await one(plainDiscover(OWNER, 0x3002, PXE))).yiaddr).toBe(RESERVED);
  }, 60_000);
});
