// Boot file overrides end to end: a PATCH on the REST API of a running `tabula serve` changes what a
// real udhcpc (as a UEFI PXE client) is told in option 67, per cluster and per host, while an unknown
// machine keeps the default. Server and client live in two namespaces this file creates (one veth).
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../src/engine/index.js';
import { type LabProcess, NetnsLab, buildCli, netnsUnavailable } from '../support/netns.js';

const skip = netnsUnavailable(['busybox', 'curl']);
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/netns/boot-files.test.ts skipped: ${skip}`);

const SERVER = '10.66.0.1';
const BLADE_MAC = '52:54:00:66:00:01';
const STRANGER_MAC = '52:54:00:66:00:99';
const PXE_UEFI = ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let lab: NetnsLab;
let S: string, C: string, sIf: string, cIf: string;
let proc: LabProcess;
let token: string;
let hostName: string;

/** udhcpc -q as a UEFI PXE client from `mac`; returns option 67 as udhcpc saw it (or undefined). */
async function bootFileFor(mac: string, tag: string): Promise<string | undefined> {
  lab.ip(C, 'link', 'set', cIf, 'down');
  lab.ip(C, 'link', 'set', cIf, 'address', mac);
  lab.ip(C, 'link', 'set', cIf, 'up');
  const out = path.join(lab.dir, `${tag}.env`);
  rmSync(out, { force: true });
  const script = path.join(lab.dir, `${tag}.sh`);
  writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > "${out}"\nexit 0\n`);
  chmodSync(script, 0o755);
  const r = await lab.exec(C, 'busybox', ['udhcpc', '-i', cIf, '-f', '-q', '-n', '-t', '4', '-T', '2', '-s', script, '-O', 'bootfile', ...PXE_UEFI], 30_000);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(existsSync(out)).toBe(true);
  const line = readFileSync(out, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('bootfile='));
  return line?.slice('bootfile='.length);
}

/** Polls (bounded) until DHCP tells `mac` the expected file: the reservation index refreshes every 2 s. */
async function expectBootFile(mac: string, want: string, tag: string): Promise<void> {
  let got: string | undefined;
  for (let i = 0; i < 6; i++) {
    got = await bootFileFor(mac, `${tag}-${i}`);
    if (got === want) return;
    await sleep(1000);
  }
  expect(got).toBe(want);
}

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const args = ['-sS', '--max-time', '10', '-X', method, '-H', `Authorization: Bearer ${token}`, '-w', '\n%{http_code}'];
  if (body !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(body));
  const r = await lab.exec(C, 'curl', [...args, `http://${SERVER}:8080/api/v1${route}`], 15_000);
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const text = lines.join('\n');
  return { status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

d('boot file overrides reach real DHCP clients', () => {
  beforeAll(async () => {
    lab = new NetnsLab('bootf');
    const main = await buildCli();
    S = lab.netns('S');
    C = lab.netns('C');
    [sIf, cIf] = lab.veth(S, 's', C, 'c');
    lab.addr(S, sIf, `${SERVER}/24`);
    lab.addr(C, cIf, '10.66.0.2/24');
    lab.ip(S, 'route', 'add', '255.255.255.255/32', 'dev', sIf);
    // The database before the server opens it: a cluster, an enrolled blade in it, an API token.
    const db = path.join(lab.dir, 'tabula.db');
    const opened = openEngine({ dbPath: db });
    try {
      opened.engine.createCluster({ name: 'rack1' });
      const host = opened.engine.reportInventory(null, {
        bootMac: BLADE_MAC,
        nics: [{ mac: BLADE_MAC, name: 'eth0', driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: '0000:00:03.0' }],
      }).host;
      hostName = opened.engine.updateHost(host.id, { cluster: 'rack1' }).name;
      token = opened.engine.createToken('netns').token;
    } finally {
      opened.close();
    }
    proc = lab.tabula(S, main, 'serve', ['--db', db, 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', 'off', '--tftp-root', lab.dir, '--dhcp-interface', sIf, '--dhcp-range', '10.66.0.100-10.66.0.150', '--log-level', 'info']);
    await proc.waitForLog('DHCP serving', (l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('DHCP ('), 60_000);
  }, 240_000);

  afterAll(async () => {
    await lab?.cleanup();
  }, 60_000);

  it('default, then the cluster entry, then the host entry; a stranger keeps the default; bad input changes nothing', async () => {
    await expectBootFile(BLADE_MAC, 'ipxe.efi', 'default');

    const c = await api('PATCH', '/clusters/rack1/boot-files', { uefiX64: 'snponly.efi' });
    expect(c).toEqual({ status: 200, json: { cluster: 'rack1', files: { uefiX64: 'snponly.efi' } } });
    await expectBootFile(BLADE_MAC, 'snponly.efi', 'cluster');

    const h = await api('PATCH', `/hosts/${hostName}/boot-files`, { uefiX64: 'blade/ipxe.efi' });
    expect(h.status).toBe(200);
    expect(h.json).toMatchObject({ effective: { uefiX64: 'blade/ipxe.efi' } });
    await expectBootFile(BLADE_MAC, 'blade/ipxe.efi', 'host');
    expect(await bootFileFor(STRANGER_MAC, 'stranger')).toBe('ipxe.efi');

    const bad = await api('PATCH', `/hosts/${hostName}/boot-files`, { uefiX64: '../../etc/shadow' });
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ error: { code: 'BOOT_FILE_INVALID' } });
    expect((await api('GET', `/hosts/${hostName}/boot-files`)).json).toMatchObject({ files: { uefiX64: 'blade/ipxe.efi' } });
    await sleep(2500);
    expect(await bootFileFor(BLADE_MAC, 'after-bad')).toBe('blade/ipxe.efi');
  }, 180_000);
});
