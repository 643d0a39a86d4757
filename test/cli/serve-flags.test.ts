// `tabula serve`'s boot flags: every bad value is a usage error (exit 2) naming its flag, before any
// database or socket is opened; the DHCP plan derived from an interface table; and, in-process on
// loopback, TFTP with its metrics and the /pxe/ HTTP mirror of the TFTP root.
// No DHCP server is started here: DHCP runs only in the network-namespace tests (test/netns).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDhcpPlan } from '../../src/cli/commands/serve-options.js';
import type { DhcpFlags } from '../../src/cli/commands/serve-options.js';
import { UsageError } from '../../src/cli/parse.js';
import { tftpGet } from '../boot/tftp/client.js';
import { Sandbox, waitFor } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

describe('serve flag values (exit 2, naming the flag, no database)', () => {
  const cases: [string, string[], RegExp][] = [
    ['a bad --tftp-listen', ['serve', '--tftp-listen', 'nowhere'], /option '--tftp-listen <host:port\|off>' argument 'nowhere' is invalid/],
    ['a --tftp-listen port out of range', ['serve', '--tftp-listen', '0.0.0.0:99999'], /option '--tftp-listen.*port '99999'/],
    ['a missing --tftp-root', ['serve', '--tftp-root', '/nonexistent/tabula-tftp'], /^error: --tftp-root: no such directory '\/nonexistent\/tabula-tftp'$/],
    ['a --boot-dir that is a file', ['serve', '--tftp-root', '.', '--boot-dir', '/etc/hostname'], /^error: --boot-dir: '\/etc\/hostname' is not a directory$/],
    ['a bad --dhcp-mode', ['serve', '--dhcp-mode', 'half'], /option '--dhcp-mode <mode>' argument 'half' is invalid\. Allowed choices are full, proxy, off/],
    ['--dhcp-mode full without an interface', ['serve', '--dhcp-mode', 'full'], /^error: --dhcp-mode full needs --dhcp-interface IFACE/],
    ['--dhcp-mode proxy without an interface', ['serve', '--dhcp-mode', 'proxy'], /^error: --dhcp-mode proxy needs --dhcp-interface IFACE/],
    ['--dhcp-range without an interface', ['serve', '--dhcp-range', '10.0.0.10-10.0.0.20'], /^error: --dhcp-range needs --dhcp-interface IFACE/],
    ['--dhcp-dns without an interface', ['serve', '--dhcp-dns', '10.0.0.1'], /^error: --dhcp-dns needs --dhcp-interface/],
    ['a malformed --dhcp-range', ['serve', '--dhcp-range', '10.0.0.10'], /option '--dhcp-range <start-end>' argument '10\.0\.0\.10' is invalid\. '10\.0\.0\.10' is not START-END/],
    ['a backwards --dhcp-range', ['serve', '--dhcp-range', '10.0.0.20-10.0.0.10'], /option '--dhcp-range <start-end>'.*ends before it starts/],
    ['a --dhcp-range with a bad address', ['serve', '--dhcp-range', '10.0.0.1-10.0.0.300'], /option '--dhcp-range <start-end>'.*end '10\.0\.0\.300' is not an IPv4 address/],
    ['a bad --dhcp-router', ['serve', '--dhcp-router', 'gateway'], /option '--dhcp-router <ip>' argument 'gateway' is invalid/],
    ['a bad --dhcp-dns', ['serve', '--dhcp-dns', '10.0.0.1,,10.0.0.2'], /option '--dhcp-dns <ip,...>'.*empty item/],
    ['a short --dhcp-lease-time', ['serve', '--dhcp-lease-time', '5'], /option '--dhcp-lease-time <seconds>'.*from 60/],
    ['a bad --dhcp-interface name', ['serve', '--dhcp-interface', 'a/b'], /option '--dhcp-interface <iface>' argument 'a\/b' is invalid/],
    ['an unknown --dhcp-interface', ['serve', '--dhcp-interface', 'tblnosuch0', '--dhcp-range', '10.0.0.10-10.0.0.20'], /^error: --dhcp-interface: there is no network interface 'tblnosuch0' here/],
    ['the loopback as --dhcp-interface', ['serve', '--dhcp-interface', 'lo', '--dhcp-range', '127.0.0.10-127.0.0.20'], /^error: --dhcp-interface: 'lo' is a loopback interface$/],
  ];
  for (const [what, argv, message] of cases) {
    it(`${what}`, async () => {
      const r = await sb.run(argv);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(existsSync(sb.db)).toBe(false);
    });
  }
});

describe('resolveDhcpPlan', () => {
  const nic = (address: string, cidr: string, internal = false): NetworkInterfaceInfo => ({
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal,
    cidr,
  });
  const table: NodeJS.Dict<NetworkInterfaceInfo[]> = {
    lo: [nic('127.0.0.1', '127.0.0.1/8', true)],
    prov0: [nic('10.77.0.1', '10.77.0.1/24')],
    v6only: [{ address: 'fd00::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:02', internal: false, cidr: 'fd00::1/64', scopeid: 0 }],
  };
  const plan = (f: DhcpFlags) => resolveDhcpPlan(f, table);
  const usage = (f: DhcpFlags): string => {
    try {
      plan(f);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error('expected a usage error');
  };

  it('is off without an interface, and with --dhcp-mode off', () => {
    expect(plan({})).toBeNull();
    expect(plan({ dhcpInterface: 'prov0', dhcpMode: 'off' })).toBeNull();
  });

  it('full mode: the interface subnet with its range, router, DNS and lease time', () => {
    expect(
      plan({ dhcpInterface: 'prov0', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.199' }], dhcpRouter: '10.77.0.254', dhcpDns: ['10.77.0.53'], dhcpLeaseTime: 600 }),
    ).toEqual({
      mode: 'full',
      interface: 'prov0',
      serverIp: '10.77.0.1',
      prefix: 24,
      ports: [67],
      subnets: [{ network: '10.77.0.0', prefix: 24, range: ['10.77.0.100', '10.77.0.199'], router: '10.77.0.254', dns: ['10.77.0.53'], leaseSeconds: 600 }],
    });
  });

  it('full mode: a relayed subnet needs /PREFIX,ROUTER and comes after the local one', () => {
    const p = plan({
      dhcpInterface: 'prov0',
      dhcpRange: [
        { start: '10.78.0.10', end: '10.78.0.20', prefix: 24, router: '10.78.0.1' },
        { start: '10.77.0.100', end: '10.77.0.110' },
      ],
    });
    expect(p?.subnets.map((s) => [s.network, s.prefix, s.router])).toEqual([
      ['10.77.0.0', 24, undefined],
      ['10.78.0.0', 24, '10.78.0.1'],
    ]);
    expect(usage({ dhcpInterface: 'prov0', dhcpRange: [{ start: '10.78.0.10', end: '10.78.0.20', prefix: 24 }] })).toMatch(/^--dhcp-range 10\.78\.0\.10-10\.78\.0\.20\/24: a relayed subnet needs its router/);
  });

  it('proxy mode: ports 67 and 4011, no addresses', () => {
    expect(plan({ dhcpInterface: 'prov0', dhcpMode: 'proxy' })).toEqual({ mode: 'proxy', interface: 'prov0', serverIp: '10.77.0.1', prefix: 24, subnets: [], ports: [67, 4011] });
    expect(usage({ dhcpInterface: 'prov0', dhcpMode: 'proxy', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.110' }] })).toMatch(/^--dhcp-range: --dhcp-mode proxy hands out no addresses/);
  });

  it('refuses what cannot work, naming the flag', () => {
    expect(usage({ dhcpInterface: 'prov0' })).toMatch(/^--dhcp-range START-END is required with --dhcp-mode full \(e\.g\. --dhcp-range 10\.77\.0\.100-10\.77\.0\.199 inside 10\.77\.0\.0\/24\)/);
    expect(usage({ dhcpInterface: 'prov0', dhcpRange: [{ start: '10.77.1.100', end: '10.77.1.110' }] })).toMatch(/^--dhcp-range 10\.77\.1\.100-10\.77\.1\.110 is not inside prov0's subnet 10\.77\.0\.0\/24/);
    expect(usage({ dhcpInterface: 'prov0', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.255' }] })).toMatch(/^--dhcp-range: .*broadcast/);
    expect(
      usage({
        dhcpInterface: 'prov0',
        dhcpRange: [
          { start: '10.77.0.100', end: '10.77.0.110' },
          { start: '10.77.0.120', end: '10.77.0.130' },
        ],
      }),
    ).toMatch(/already has a range/);
    expect(usage({ dhcpInterface: 'prov0', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.110' }], dhcpRouter: '10.99.0.1' })).toMatch(/^--dhcp-router 10\.99\.0\.1 is not in prov0's subnet/);
    expect(usage({ dhcpInterface: 'v6only', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.110' }] })).toMatch(/^--dhcp-interface: 'v6only' has no IPv4 address/);
    expect(usage({ dhcpInterface: 'nosuch', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.110' }] })).toMatch(/^--dhcp-interface: there is no network interface 'nosuch' here \(interfaces: lo, prov0, v6only\)/);
    expect(usage({ dhcpInterface: 'prov0', dhcpMode: 'off', dhcpRange: [{ start: '10.77.0.100', end: '10.77.0.110' }] })).toMatch(/^--dhcp-range makes no sense with --dhcp-mode off/);
  });
});

interface LogLine {
  msg: string;
  [k: string]: unknown;
}

describe('serve with TFTP on loopback', () => {
  it('serves the TFTP root over TFTP and /pxe/, counts bytes and transfers in /metrics, and stops cleanly', async () => {
    const root = join(sb.dir, 'tftp');
    mkdirSync(root);
    const data = Buffer.alloc(100_000, 7);
    writeFileSync(join(root, 'undionly.kpxe'), data);
    writeFileSync(join(sb.dir, 'secret'), 'outside the root');
    const ac = new AbortController();
    const serving = sb.run(['serve', '--listen', '127.0.0.1:0', '--tftp-listen', '127.0.0.1:0', '--tftp-root', root], { signal: ac.signal });
    try {
      const logs = (): LogLine[] => sb.logs.map((l) => JSON.parse(l) as LogLine);
      const api = await waitFor('the API', () => logs().find((l) => l.msg.startsWith('API listening')));
      const tftp = await waitFor('TFTP', () => logs().find((l) => l.msg.startsWith('TFTP listening')));
      expect(tftp).toMatchObject({ service: 'tftp', address: '127.0.0.1', root });
      expect(api['publicUrl']).toBe(`http://127.0.0.1:${api['port'] as number}`);
      const base = `http://127.0.0.1:${api['port'] as number}`;

      const got = await tftpGet({ port: tftp['port'] as number, file: 'undionly.kpxe', options: { blksize: 1468 } });
      expect(got.ok).toBe(true);
      expect(got.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      const refused = await tftpGet({ port: tftp['port'] as number, file: '../secret' });
      expect(refused.ok).toBe(false);
      expect(refused.error?.code).toBe(2);

      const http = await fetch(`${base}/pxe/undionly.kpxe`);
      expect(http.status).toBe(200);
      expect(http.headers.get('content-length')).toBe(String(data.length));
      expect(Buffer.from(await http.arrayBuffer()).equals(data)).toBe(true);
      const escape = await fetch(`${base}/pxe/..%2Fsecret`);
      expect(escape.status).toBe(403);
      await escape.body?.cancel();
      const missing = await fetch(`${base}/pxe/nothing.efi`);
      expect(missing.status).toBe(404);
      await missing.body?.cancel();

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain(`tabula_tftp_bytes_total ${data.length}`);
      expect(metrics).toMatch(/tabula_tftp_transfers_total\{outcome="complete"\} 1/);
      expect(metrics).toMatch(/tabula_tftp_transfers_total\{outcome="refused"\} 1/);
    } finally {
      ac.abort();
    }
    const r = await serving;
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((JSON.parse(sb.logs.at(-1) as string) as LogLine).msg).toBe('stopped');
  });
});
