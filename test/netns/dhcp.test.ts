// Real DHCP clients against `tabula serve --dhcp-interface`, inside network namespaces this file
// creates and removes (test/support/netns.ts). Topology:
//
//   ns C1 ─ veth ─┐                                   ns R (relay): 10.77.0.2 on the bridge,
//   ns C2 ─ veth ─┤ bridge BR (10.77.0.1/24) ─ ns S    10.78.0.1 "behind" it (route in S via 10.77.0.2)
//   ns C3 ─ veth ─┤        tabula serve                 ns X ─ veth ─ SX (10.79.0.1/24) in S: a second
//   ns R  ─ veth ─┘                                     interface where DHCP must stay silent
//
// Clients: busybox udhcpc (arch via -x 0x5d, user class via -x 0x4d, env dumped by a -s script),
// ISC dhclient (option 93 declared in its config), and a bare UDP probe for crafted relay and
// proxyDHCP packets. The server is the built CLI, run as root through its own bind-device launcher.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../src/boot/dhcp/packet.js';
import { ip, opt, packet, u16 } from '../boot/dhcp/fixtures.js';
import { type LabProcess, NetnsLab, REPO, buildCli, netnsUnavailable } from '../support/netns.js';

const skip = netnsUnavailable(['busybox', 'dhclient', 'python3', 'curl']);
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/netns/dhcp.test.ts skipped: ${skip}`);

const SERVER = '10.77.0.1';
const RELAY_LAN = '10.77.0.2';
const GIADDR = '10.78.0.1';
const HTTP = `http://${SERVER}:8080`;
const PROBE = path.join(REPO, 'test', 'netns', 'udp-probe.mjs');

let lab: NetnsLab;
let main: string;
let S: string, C1: string, C2: string, C3: string, R: string, X: string;
let BR: string, SX: string, c1: string, c2: string, c3: string, r: string, x: string;
let db: string;
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** Env of a udhcpc/dhclient script call: KEY=VALUE lines. */
function readEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** A udhcpc -s script that dumps its environment to <dir>/<tag>.<event>.env and configures the address. */
function udhcpcScript(tag: string): string {
  const file = path.join(lab.dir, `udhcpc-${tag}.sh`);
  writeFileSync(
    file,
    `#!/bin/sh
env > "${lab.dir}/${tag}.$1.env.tmp" && mv "${lab.dir}/${tag}.$1.env.tmp" "${lab.dir}/${tag}.$1.env"
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
esac
exit 0
`,
  );
  chmodSync(file, 0o755);
  return file;
}

interface UdhcpcResult {
  code: number | null;
  bound: Record<string, string> | null;
  output: string;
}

/** udhcpc -q (exit once bound) or -n (exit when no lease after `tries` DISCOVERs one second apart). */
async function udhcpc(ns: string, iface: string, tag: string, extra: string[], tries = 3): Promise<UdhcpcResult> {
  const script = udhcpcScript(tag);
  const r = await lab.exec(ns, 'busybox', ['udhcpc', '-i', iface, '-f', '-q', '-n', '-t', String(tries), '-T', '1', '-A', '1', '-s', script, '-O', 'tftp', '-O', 'bootfile', ...extra], 30_000);
  const boundFile = path.join(lab.dir, `${tag}.bound.env`);
  return { code: r.code, bound: existsSync(boundFile) ? readEnv(boundFile) : null, output: r.stdout + r.stderr };
}

const PXE_BIOS = ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000'];
const PXE_UEFI = ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'];

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await sleep(100);
  }
}

async function dhclient(ns: string, iface: string, tag: string, config: string): Promise<Record<string, string>> {
  const conf = path.join(lab.dir, `dhclient-${tag}.conf`);
  writeFileSync(conf, config);
  const script = path.join(lab.dir, `dhclient-${tag}.sh`);
  writeFileSync(script, `#!/bin/sh\nenv > "${lab.dir}/${tag}.$reason.env.tmp" && mv "${lab.dir}/${tag}.$reason.env.tmp" "${lab.dir}/${tag}.$reason.env"\nexit 0\n`);
  chmodSync(script, 0o755);
  const p = lab.spawn(ns, `dhclient-${tag}`, 'dhclient', ['-4', '-d', '-1', '-v', '-cf', conf, '-sf', script, '-lf', path.join(lab.dir, `${tag}.leases`), '-pf', path.join(lab.dir, `${tag}.pid`), iface]);
  try {
    await waitForFile(path.join(lab.dir, `${tag}.BOUND.env`), 25_000);
    return readEnv(path.join(lab.dir, `${tag}.BOUND.env`));
  } finally {
    await p.stop('SIGTERM', 3000);
  }
}

interface Reply {
  from: string;
  port: number;
  wire: Buffer;
  p: DhcpPacket;
}

/** Sends one crafted datagram from inside `ns` and returns the DHCP replies it got. */
async function probe(ns: string, spec: { bind: { address: string; port: number }; to: { address: string; port: number }; packet: Buffer; listenMs?: number; count?: number }): Promise<Reply[]> {
  const arg = JSON.stringify({ bind: spec.bind, to: spec.to, hex: spec.packet.toString('hex'), listenMs: spec.listenMs ?? 4000, count: spec.count });
  const res = await lab.exec(ns, process.execPath, [PROBE, arg], 20_000);
  if (res.stderr.trim() !== '') throw new Error(`probe failed: ${res.stderr}`);
  return res.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { from: string; port: number; hex: string })
    .map((o) => {
      const wire = Buffer.from(o.hex, 'hex');
      return { from: o.from, port: o.port, wire, p: decodePacket(wire) };
    });
}

/** Option codes in wire order (stops at END). */
function optionOrder(wire: Buffer): number[] {
  const codes: number[] = [];
  let i = 240;
  while (i < wire.length && wire[i] !== 255) {
    if (wire[i] === 0) {
      i++;
      continue;
    }
    codes.push(wire[i] as number);
    i += 2 + (wire[i + 1] as number);
  }
  return codes;
}

const type = (p: DhcpPacket): number | undefined => p.options.get(53)?.[0];
const ipOpt = (p: DhcpPacket, code: number): string | undefined => {
  const v = p.options.get(code);
  return v && v.length >= 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined;
};
const inPool = (a: string | undefined, prefix: string, lo: number, hi: number): boolean => {
  if (!a?.startsWith(prefix)) return false;
  const last = Number(a.split('.')[3]);
  return last >= lo && last <= hi;
};

/** Starts `tabula serve` in S through the launcher; resolves with [launcher parent, serving child pid]. */
async function startServer(name: string, dhcpArgs: string[]): Promise<{ proc: LabProcess; servingPid: number }> {
  const proc = lab.tabula(S, main, name, ['--db', db, 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', 'off', '--tftp-root', lab.dir, '--log-level', 'debug', ...dhcpArgs]);
  try {
    const spawned = await proc.waitForLog('the launched server', (l) => l['msg'] === 'serving from the launched process');
    await proc.waitForLog('DHCP serving', (l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('DHCP ('));
    return { proc, servingPid: spawned['childPid'] as number };
  } catch (e) {
    await proc.stop('SIGTERM', 5000);
    throw e;
  }
}

const FULL = ['--dhcp-interface', '', '--dhcp-range', '10.77.0.100-10.77.0.150', '--dhcp-range', '10.78.0.100-10.78.0.150/24,10.78.0.1', '--dhcp-router', SERVER, '--dhcp-dns', '10.77.0.53', '--dhcp-lease-time', '600'];
const fullArgs = (): string[] => FULL.map((a) => (a === '' ? BR : a));

d('DHCP in network namespaces', () => {
  beforeAll(async () => {
    lab = new NetnsLab('dhcp');
    main = await buildCli();
    db = path.join(lab.dir, 'tabula.db');
    S = lab.netns('S');
    C1 = lab.netns('C1');
    C2 = lab.netns('C2');
    C3 = lab.netns('C3');
    R = lab.netns('R');
    X = lab.netns('X');
    const ports: string[] = [];
    for (const [ns, tag] of [
      [C1, '1'],
      [C2, '2'],
      [C3, '3'],
      [R, 'r'],
    ] as const) {
      const [sPort, cEnd] = lab.veth(S, `s${tag}`, ns, `c${tag}`);
      ports.push(sPort);
      if (tag === '1') c1 = cEnd;
      if (tag === '2') c2 = cEnd;
      if (tag === '3') c3 = cEnd;
      if (tag === 'r') r = cEnd;
    }
    BR = lab.bridge(S, 'br', ports);
    lab.addr(S, BR, `${SERVER}/24`);
    [SX, x] = lab.veth(S, 'sx', X, 'x');
    lab.addr(S, SX, '10.79.0.1/24');
    // The relay: on the bridge as 10.77.0.2, and 10.78.0.1 for the subnet it relays.
    lab.addr(R, r, `${RELAY_LAN}/24`);
    lab.addr(R, 'lo', `${GIADDR}/24`);
    lab.ip(S, 'route', 'add', '10.78.0.0/24', 'via', RELAY_LAN, 'dev', BR);
  }, 240_000);

  afterAll(async () => {
    await lab?.cleanup();
  }, 60_000);

  describe('full mode', () => {
    let server: { proc: LabProcess; servingPid: number };
    beforeAll(async () => {
      server = await startServer('serve-full', fullArgs());
    }, 60_000);
    afterAll(async () => {
      const exit = await server?.proc.stop('SIGTERM', 8000);
      expect(exit?.code).toBe(0);
    }, 20_000);

    it('udhcpc as a BIOS PXE client (arch 0): a lease with undionly.kpxe over TFTP from the interface address', async () => {
      const res = await udhcpc(C1, c1, 'c1-bios', PXE_BIOS);
      expect(res.code, res.output).toBe(0);
      const env = res.bound as Record<string, string>;
      expect(inPool(env['ip'], '10.77.0.', 100, 150)).toBe(true);
      expect(env).toMatchObject({ mask: '24', router: SERVER, dns: '10.77.0.53', serverid: SERVER, siaddr: SERVER, boot_file: 'undionly.kpxe', tftp: SERVER, bootfile: 'undionly.kpxe', lease: '600' });
      // not an iPXE client: no option 175
      expect(env['opt175']).toBeUndefined();
    }, 40_000);

    it('udhcpc as a UEFI x64 PXE client (arch 7): ipxe.efi, same address for the same MAC', async () => {
      const before = readEnv(path.join(lab.dir, 'c1-bios.bound.env'))['ip'];
      const res = await udhcpc(C1, c1, 'c1-uefi', PXE_UEFI);
      expect(res.code, res.output).toBe(0);
      expect(res.bound).toMatchObject({ ip: before, siaddr: SERVER, boot_file: 'ipxe.efi', bootfile: 'ipxe.efi', tftp: SERVER });
    }, 40_000);

    it('udhcpc with user class "iPXE" (option 77): the HTTP boot script URL, and option 175 no-pxedhcp', async () => {
      const res = await udhcpc(C1, c1, 'c1-ipxe', [...PXE_BIOS, '-x', '0x4d:69505845']);
      expect(res.code, res.output).toBe(0);
      expect(res.bound).toMatchObject({ bootfile: `${HTTP}/boot.ipxe`, boot_file: `${HTTP}/boot.ipxe` });
      expect(res.bound?.['opt175']).toBe('b00101');
      expect(res.bound?.['tftp']).toBeUndefined();
    }, 40_000);

    it('a plain udhcpc (no PXE vendor class) gets a lease and no boot file', async () => {
      const res = await udhcpc(C3, c3, 'c3-plain', []);
      expect(res.code, res.output).toBe(0);
      expect(inPool(res.bound?.['ip'], '10.77.0.', 100, 150)).toBe(true);
      expect(res.bound?.['boot_file']).toBeUndefined();
      expect(res.bound?.['bootfile']).toBeUndefined();
    }, 40_000);

    it('dhclient as BIOS and UEFI PXE clients', async () => {
      const conf = (arch: number) => `option pxe-arch code 93 = unsigned integer 16;
send pxe-arch ${arch};
send vendor-class-identifier "PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016";
request subnet-mask, broadcast-address, routers, domain-name-servers, host-name, tftp-server-name, bootfile-name;
timeout 20;
retry 1;
`;
      const bios = await dhclient(C2, c2, 'c2-dhclient-bios', conf(0));
      expect(inPool(bios['new_ip_address'], '10.77.0.', 100, 150)).toBe(true);
      expect(bios).toMatchObject({
        new_filename: 'undionly.kpxe',
        new_next_server: SERVER,
        new_dhcp_server_identifier: SERVER,
        new_tftp_server_name: SERVER,
        new_bootfile_name: 'undionly.kpxe',
        new_subnet_mask: '255.255.255.0',
        new_routers: SERVER,
        new_domain_name_servers: '10.77.0.53',
        new_dhcp_lease_time: '600',
      });
      const uefi = await dhclient(C2, c2, 'c2-dhclient-uefi', conf(7));
      expect(uefi).toMatchObject({ new_ip_address: bios['new_ip_address'], new_filename: 'ipxe.efi', new_next_server: SERVER });
    }, 80_000);

    it('a relayed DISCOVER and REQUEST (giaddr set) are answered to the relay on port 67, option 82 echoed last', async () => {
      const relayMac = '02:00:00:78:00:01';
      const rai = opt(82, opt(1, 'swp7'), opt(2, 'leaf-a'));
      const common = [opt(60, 'PXEClient:Arch:00000:UNDI:002001'), opt(93, u16(0))];
      const discover = packet({ xid: 0x7e1a0001, hops: 1, giaddr: GIADDR, mac: relayMac }, [opt(53, 1), ...common, rai], 300);
      const [offer, ...more] = await probe(R, { bind: { address: '0.0.0.0', port: 67 }, to: { address: SERVER, port: 67 }, packet: discover, count: 1 });
      expect(more).toHaveLength(0);
      expect(offer).toBeDefined();
      const o = offer as Reply;
      expect([o.from, o.port]).toEqual([SERVER, 67]);
      expect(type(o.p)).toBe(2);
      expect(o.p.giaddr).toBe(GIADDR);
      expect(o.p.xid).toBe(0x7e1a0001);
      expect(o.p.chaddr).toBe(relayMac);
      expect(inPool(o.p.yiaddr, '10.78.0.', 100, 150)).toBe(true);
      expect(ipOpt(o.p, 3)).toBe(GIADDR); // the relayed subnet's router
      expect(ipOpt(o.p, 54)).toBe(SERVER);
      expect(o.p.file).toBe('undionly.kpxe');
      expect(o.p.options.get(82)?.equals(rai.subarray(2))).toBe(true);
      expect(optionOrder(o.wire).at(-1)).toBe(82);

      const request = packet({ xid: 0x7e1a0002, hops: 1, giaddr: GIADDR, mac: relayMac }, [opt(53, 3), opt(54, ip(SERVER)), opt(50, ip(o.p.yiaddr)), ...common, rai], 300);
      const [ack] = await probe(R, { bind: { address: '0.0.0.0', port: 67 }, to: { address: SERVER, port: 67 }, packet: request, count: 1 });
      expect(ack).toBeDefined();
      const a = ack as Reply;
      expect([a.from, a.port, type(a.p), a.p.yiaddr, a.p.giaddr]).toEqual([SERVER, 67, 5, o.p.yiaddr, GIADDR]);
      expect(a.p.options.get(82)?.equals(rai.subarray(2))).toBe(true);
      expect(optionOrder(a.wire).at(-1)).toBe(82);
    }, 30_000);

    it('a relay from a subnet the server does not serve gets no answer', async () => {
      lab.addr(R, 'lo', '10.66.0.1/24');
      lab.ip(S, 'route', 'add', '10.66.0.0/24', 'via', RELAY_LAN, 'dev', BR);
      const discover = packet({ xid: 0x7e1a0003, hops: 1, giaddr: '10.66.0.1', mac: '02:00:00:66:00:01' }, [opt(53, 1), opt(82, opt(1, 'x'))], 300);
      const replies = await probe(R, { bind: { address: '0.0.0.0', port: 67 }, to: { address: SERVER, port: 67 }, packet: discover, listenMs: 2000 });
      expect(replies).toEqual([]);
    }, 20_000);

    it('two interfaces: DHCP on the bridge only; a client behind the other interface gets nothing', async () => {
      const rxBefore = rxPackets(SX);
      const [other, here] = await Promise.all([udhcpc(X, x, 'x-other', PXE_BIOS, 3), udhcpc(C3, c3, 'c3-here', PXE_BIOS, 3)]);
      expect(here.code, here.output).toBe(0);
      expect(here.bound?.['siaddr']).toBe(SERVER);
      expect(other.code).not.toBe(0);
      expect(other.bound).toBeNull();
      expect(other.output).toMatch(/no lease, failing/);
      // its DISCOVERs did reach the server's namespace on SX: silence is the socket's binding, not a dead link
      expect(rxPackets(SX) - rxBefore).toBeGreaterThanOrEqual(3);
      const xMac = lab.ip(X, 'link', 'show', x).match(/link\/ether ([0-9a-f:]{17})/)?.[1];
      expect(xMac).toBeDefined();
      expect(server.proc.logs().some((l) => l['mac'] === xMac)).toBe(false);
    }, 40_000);

    it('counts packets, replies and leases in /metrics', async () => {
      const res = await lab.exec(S, 'curl', ['-s', '--max-time', '5', `${HTTP}/metrics`], 10_000);
      expect(res.code).toBe(0);
      const m = res.stdout;
      const value = (re: RegExp): number => Number(re.exec(m)?.[1] ?? NaN);
      expect(value(/^tabula_dhcp_packets_total\{type="discover"\} (\d+)$/m)).toBeGreaterThanOrEqual(6);
      expect(value(/^tabula_dhcp_packets_total\{type="request"\} (\d+)$/m)).toBeGreaterThanOrEqual(6);
      expect(value(/^tabula_dhcp_replies_total\{type="offer"\} (\d+)$/m)).toBeGreaterThanOrEqual(6);
      expect(value(/^tabula_dhcp_replies_total\{type="ack"\} (\d+)$/m)).toBeGreaterThanOrEqual(6);
      expect(value(/^tabula_dhcp_dropped_total\{reason="no-subnet-for-relay"\} (\d+)$/m)).toBe(1);
      // C1, C2, C3 and the relayed client hold bound leases
      expect(value(/^tabula_dhcp_leases_in_use (\d+)$/m)).toBeGreaterThanOrEqual(4);
    }, 20_000);
  });

  describe('proxy mode', () => {
    let server: { proc: LabProcess; servingPid: number };
    beforeAll(async () => {
      server = await startServer('serve-proxy', ['--dhcp-interface', BR, '--dhcp-mode', 'proxy']);
      // The client already has an address from the rack's DHCP server.
      lab.ip(C1, 'addr', 'flush', 'dev', c1);
      lab.addr(C1, c1, '10.77.0.60/24');
      lab.ip(C1, 'route', 'add', '255.255.255.255/32', 'dev', c1);
    }, 60_000);
    afterAll(async () => {
      const exit = await server?.proc.stop('SIGTERM', 8000);
      expect(exit?.code).toBe(0);
    }, 20_000);

    const mac = '02:00:00:00:60:01';
    const pxe = [opt(60, 'PXEClient:Arch:00007:UNDI:003016'), opt(93, u16(7)), opt(97, 0, Array.from({ length: 16 }, (_, i) => i))];

    it('answers a PXE DISCOVER with boot options and no address (yiaddr 0.0.0.0)', async () => {
      const discover = packet({ xid: 0x50000001, flags: 0x8000, mac }, [opt(53, 1), ...pxe], 300);
      const replies = await probe(C1, { bind: { address: '0.0.0.0', port: 68 }, to: { address: '255.255.255.255', port: 67 }, packet: discover, count: 1 });
      expect(replies).toHaveLength(1);
      const o = replies[0] as Reply;
      expect([o.from, o.port]).toEqual([SERVER, 67]);
      expect(type(o.p)).toBe(2);
      expect(o.p.yiaddr).toBe('0.0.0.0');
      expect(o.p.siaddr).toBe(SERVER);
      expect(o.p.file).toBe('ipxe.efi');
      expect(o.p.options.get(60)?.toString()).toBe('PXEClient');
      expect(o.p.options.get(67)?.toString()).toBe('ipxe.efi');
      expect(ipOpt(o.p, 54)).toBe(SERVER);
      // no lease options in a proxy offer
      for (const code of [1, 3, 51]) expect(o.p.options.has(code)).toBe(false);
      expect(o.p.options.get(97)?.equals(Buffer.from([0, ...Array.from({ length: 16 }, (_, i) => i)]))).toBe(true);
    }, 20_000);

    it('stays silent for a non-PXE DISCOVER (the rack DHCP server handles it)', async () => {
      const discover = packet({ xid: 0x50000002, mac: '02:00:00:00:60:02' }, [opt(53, 1), opt(60, 'udhcp 1.35.0')], 300);
      expect(await probe(C1, { bind: { address: '0.0.0.0', port: 68 }, to: { address: '255.255.255.255', port: 67 }, packet: discover, listenMs: 2000 })).toEqual([]);
    }, 20_000);

    it('answers the boot server REQUEST on port 4011 back to the client', async () => {
      const request = packet({ xid: 0x50000003, ciaddr: '10.77.0.60', mac }, [opt(53, 3), ...pxe], 300);
      const replies = await probe(C1, { bind: { address: '10.77.0.60', port: 68 }, to: { address: SERVER, port: 4011 }, packet: request, count: 1 });
      expect(replies).toHaveLength(1);
      const a = replies[0] as Reply;
      expect([a.from, a.port, type(a.p), a.p.yiaddr, a.p.siaddr, a.p.file]).toEqual([SERVER, 4011, 5, '0.0.0.0', SERVER, 'ipxe.efi']);
    }, 20_000);

    it('udhcpc gets no address from a proxy-only server', async () => {
      lab.ip(C3, 'addr', 'flush', 'dev', c3);
      const res = await udhcpc(C3, c3, 'c3-proxy', PXE_BIOS, 2);
      expect(res.bound).toBeNull();
      expect(res.code).not.toBe(0);
    }, 30_000);
  });

  describe('lease durability', () => {
    it('kill -9 after the ACK, restart: the lease is still held and the client renews the same address', async () => {
      const started: LabProcess[] = [];
      try {
        await durability(started);
      } finally {
        for (const p of started.reverse()) await p.stop('SIGTERM', 5000);
      }
    }, 90_000);

    async function durability(started: LabProcess[]): Promise<void> {
      const first = await startServer('serve-durable-1', fullArgs());
      started.push(first.proc);
      // C2 keeps running (no -q) so that it can renew later; its script configures the address.
      lab.ip(C2, 'addr', 'flush', 'dev', c2);
      const script = udhcpcScript('c2-durable');
      const client = lab.spawn(C2, 'udhcpc-c2', 'busybox', ['udhcpc', '-i', c2, '-f', '-t', '5', '-T', '1', '-s', script, ...PXE_BIOS]);
      started.push(client);
      await waitForFile(path.join(lab.dir, 'c2-durable.bound.env'), 20_000);
      const held = readEnv(path.join(lab.dir, 'c2-durable.bound.env'))['ip'] as string;
      expect(inPool(held, '10.77.0.', 100, 150)).toBe(true);
      const c2Mac = lab.ip(C2, 'link', 'show', c2).match(/link\/ether ([0-9a-f:]{17})/)?.[1] as string;
      await first.proc.waitForLog('the ACK', (l) => l['event'] === 'ack' && l['mac'] === c2Mac && l['ip'] === held);

      // kill -9 the process that serves (and holds the database), not the launcher parent
      process.kill(first.servingPid, 'SIGKILL');
      const parentExit = await first.proc.exited;
      expect(parentExit.code).toBe(137);

      const second = await startServer('serve-durable-2', fullArgs());
      started.push(second.proc);
      // Another client now: had the lease been lost, it would be offered the held address.
      lab.ip(C3, 'addr', 'flush', 'dev', c3);
      const other = await udhcpc(C3, c3, 'c3-after-restart', []);
      expect(other.code, other.output).toBe(0);
      expect(other.bound?.['ip']).toBeDefined();
      expect(other.bound?.['ip']).not.toBe(held);

      // SIGUSR1: udhcpc renews now (unicast REQUEST with ciaddr to the server it knows).
      process.kill(client.pid, 'SIGUSR1');
      await waitForFile(path.join(lab.dir, 'c2-durable.renew.env'), 15_000);
      expect(readEnv(path.join(lab.dir, 'c2-durable.renew.env'))).toMatchObject({ ip: held, serverid: SERVER, siaddr: SERVER });
      const ack = await second.proc.waitForLog('the renewal ACK', (l) => l['event'] === 'ack' && l['mac'] === c2Mac);
      expect(ack).toMatchObject({ ip: held, message: 'DHCPREQUEST' });
      await client.stop('SIGTERM', 3000);
      expect((await second.proc.stop('SIGTERM', 8000)).code).toBe(0);
    }

    it('killing the launcher parent takes the serving process with it', async () => {
      const s = await startServer('serve-orphan', fullArgs());
      expect(lab.pids(S)).toContain(s.servingPid);
      process.kill(s.proc.pid, 'SIGKILL'); // the launcher parent
      await s.proc.exited;
      const until = Date.now() + 5000;
      while (lab.pids(S).includes(s.servingPid) && Date.now() < until) await sleep(100);
      expect(lab.pids(S)).not.toContain(s.servingPid);
    }, 30_000);
  });
});

function rxPackets(dev: string): number {
  const out = lab.ip(S, '-s', 'link', 'show', dev);
  const lines = out.split('\n').map((l) => l.trim());
  const i = lines.findIndex((l) => l.startsWith('RX:'));
  return Number((lines[i + 1] ?? '').split(/\s+/)[1]);
}
