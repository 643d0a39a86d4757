// Boot file map overrides per cluster and per host: the pure rules, the REST API over a real engine on
// SQLite (migration 006), and what DHCP hands each client once they are set.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOOT_FILE_KEYS, bootFileProblem, mergeBootFiles, validateBootFilePatch } from '../../../src/boot/dhcp/boot-files.js';
import { SqliteBootFileStore } from '../../../src/store/boot-file-store.js';
import { decodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES } from '../../../src/boot/dhcp/pxe.js';
import { EngineReservations } from '../../../src/boot/dhcp/reservations.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import type { DhcpServerConfig } from '../../../src/boot/dhcp/server-logic.js';
import { TabulaError } from '../../../src/domain/errors.js';
import { type OpenedEngine, openEngine } from '../../../src/engine/index.js';
import { type Harness, call, errorOf, mac, report, startHarness } from '../../api/helpers.js';
import { opt, plainDiscover } from './fixtures.js';

describe('boot file rules', () => {
  it('accepts root-relative TFTP names and http(s) URLs', () => {
    for (const v of ['undionly.kpxe', 'efi/snponly.efi', 'vendor-x/ipxe_1.2+git.efi']) expect(bootFileProblem('uefiX64', v)).toBeNull();
    expect(bootFileProblem('httpBootUrl', 'http://10.0.0.1:8080/pxe/')).toBeNull();
    expect(bootFileProblem('httpScriptUrl', 'https://boot.example/ipxe/${mac}')).toBeNull();
  });

  it.each([
    ['bios', '', /is empty/],
    ['bios', '../etc/passwd', /relative to the TFTP root/],
    ['bios', '/undionly.kpxe', /relative to the TFTP root/],
    ['bios', 'a//b', /relative to the TFTP root/],
    ['bios', 'a/./b', /relative to the TFTP root/],
    ['bios', 'with space.efi', /only letters, digits/],
    ['bios', 'nul\0byte', /only letters, digits/],
    ['arm64', 'x'.repeat(128), /at most 127 bytes/],
    ['httpBootUrl', 'ipxe.efi', /not an absolute URL/],
    ['httpScriptUrl', 'tftp://10.0.0.1/boot.ipxe', /http:\/\/ or https:\/\//],
    ['httpScriptUrl', `http://x/${'a'.repeat(1100)}`, /at most 1024/],
  ] as const)('%s = %j is refused', (key, value, why) => {
    expect(bootFileProblem(key, value)).toMatch(why);
  });

  it('a patch is checked whole, with codes naming the owner, key and rule', () => {
    expect(validateBootFilePatch("host 'b1'", { bios: 'x.kpxe', uefiX64: null })).toEqual({ bios: 'x.kpxe', uefiX64: null });
    const unknown = (() => {
      try {
        validateBootFilePatch("cluster 'rack1'", { bios: 'ok.kpxe', ppc: 'x' });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(unknown).toBeInstanceOf(TabulaError);
    expect(unknown).toMatchObject({ code: 'BOOT_FILE_KEY_UNKNOWN', kind: 'validation' });
    expect((unknown as Error).message).toMatch(/^cluster 'rack1': 'ppc' is not a boot file key \(one of bios, /);
    expect(() => validateBootFilePatch("host 'b1'", { bios: '../x' })).toThrow(/^host 'b1': boot file 'bios' = '\.\.\/x' a TFTP file name is relative/);
    expect(() => validateBootFilePatch("host 'b1'", { bios: 7 })).toThrow(expect.objectContaining({ code: 'BOOT_FILE_INVALID' }));
  });

  it('the host wins key by key over its cluster', () => {
    expect(mergeBootFiles({ bios: 'c.kpxe', uefiX64: 'c.efi' }, { uefiX64: 'h.efi' })).toEqual({ bios: 'c.kpxe', uefiX64: 'h.efi' });
    expect(BOOT_FILE_KEYS).toContain('httpBootUrl');
  });
});

describe('REST: /clusters/{cluster}/boot-files and /hosts/{host}/boot-files', () => {
  let h: Harness;
  let hostName: string;
  beforeAll(async () => {
    h = await startHarness();
    h.opened.engine.createCluster({ name: 'rack1' });
    hostName = h.opened.engine.reportInventory(null, report([1, 2])).host.name;
    h.opened.engine.updateHost(hostName, { cluster: 'rack1' });
  });
  afterAll(async () => {
    await h.close();
  });
  const rows = (): unknown[] => h.opened.repo.db.prepare('SELECT cluster_id, host_id, key, value FROM boot_files ORDER BY rowid').all();

  it('sets cluster entries, inherits them on the host, lets the host override and remove', async () => {
    expect((await call(h, 'GET', '/api/v1/clusters/rack1/boot-files')).json).toEqual({ cluster: 'rack1', files: {} });
    const c = await call(h, 'PATCH', '/api/v1/clusters/rack1/boot-files', { body: { uefiX64: 'snponly.efi', bios: 'rack1/undionly.kpxe' } });
    expect(c.status).toBe(200);
    expect(c.json).toEqual({ cluster: 'rack1', files: { uefiX64: 'snponly.efi', bios: 'rack1/undionly.kpxe' } });

    const hostView = await call(h, 'GET', `/api/v1/hosts/${hostName}/boot-files`);
    expect(hostView.json).toEqual({ host: hostName, cluster: 'rack1', files: {}, effective: { uefiX64: 'snponly.efi', bios: 'rack1/undionly.kpxe' } });

    const p = await call(h, 'PATCH', `/api/v1/hosts/${hostName}/boot-files`, { body: { uefiX64: 'special/ipxe.efi' } });
    expect(p.json).toMatchObject({ files: { uefiX64: 'special/ipxe.efi' }, effective: { uefiX64: 'special/ipxe.efi', bios: 'rack1/undionly.kpxe' } });

    const removed = await call(h, 'PATCH', `/api/v1/hosts/${hostName}/boot-files`, { body: { uefiX64: null } });
    expect(removed.json).toMatchObject({ files: {}, effective: { uefiX64: 'snponly.efi' } });
  });

  it('bad input: 422 with a typed code, and the table is unchanged (the valid key of the same patch too)', async () => {
    const before = rows();
    const bad = await call(h, 'PATCH', '/api/v1/clusters/rack1/boot-files', { body: { arm64: 'fine.efi', bios: '../../etc/shadow' } });
    expect(bad.status).toBe(422);
    expect(errorOf(bad)).toMatchObject({ code: 'BOOT_FILE_INVALID' });
    expect(errorOf(bad).message).toMatch(/cluster 'rack1': boot file 'bios'/);
    // unknown keys and non-strings stop at the API's schema, like every other body
    const unknown = await call(h, 'PATCH', `/api/v1/hosts/${hostName}/boot-files`, { body: { sparc: 'x' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(errorOf(unknown).details)).toMatch(/unrecognized_keys/);
    const notString = await call(h, 'PATCH', `/api/v1/hosts/${hostName}/boot-files`, { body: { bios: 5 } });
    expect(notString.status).toBe(400);
    expect(rows()).toEqual(before);
  });

  it('unknown owners are 404', async () => {
    expect(errorOf(await call(h, 'GET', '/api/v1/clusters/nope/boot-files')).code).toBe('CLUSTER_NOT_FOUND');
    const r = await call(h, 'PATCH', '/api/v1/hosts/nope/boot-files', { body: { bios: 'x.kpxe' } });
    expect(r.status).toBe(404);
    expect(errorOf(r).code).toBe('HOST_NOT_FOUND');
  });
});

describe('DHCP hands out the overridden files', () => {
  let opened: OpenedEngine;
  beforeEach(() => {
    opened = openEngine({ dbPath: ':memory:' });
  });
  afterEach(() => opened.close());

  const CFG: DhcpServerConfig = {
    mode: 'full',
    serverIp: '10.77.0.1',
    subnets: [{ network: '10.77.0.0', prefix: 24, range: ['10.77.0.100', '10.77.0.150'], leaseSeconds: 600 }],
    bootConfig: { httpScriptUrl: 'http://10.77.0.1:8080/boot.ipxe', httpBootUrl: 'http://10.77.0.1:8080/pxe/', files: { ...DEFAULT_BOOT_FILES } },
  };
  const PXE_UEFI = [opt(60, 'PXEClient:Arch:00007:UNDI:003000'), opt(93, 0, 7)];
  const PXE_BIOS = [opt(60, 'PXEClient:Arch:00000:UNDI:002001'), opt(93, 0, 0)];
  const IPXE = [...PXE_BIOS, opt(77, 'iPXE')];

  function offer(r: DhcpResponder, m: string, extra: Buffer[], xid: number): DhcpPacket {
    const sent = r.handle(decodePacket(plainDiscover(m, xid, extra)), { receivedOn: 'port67', now: 1000 }).flatMap((a) => ('send' in a ? [a.send] : []));
    expect(sent).toHaveLength(1);
    return sent[0] as DhcpPacket;
  }

  it('defaults, then cluster, then host; a host in another cluster and unknown MACs keep the defaults', () => {
    const { engine, repo } = opened;
    engine.createCluster({ name: 'rack1' });
    engine.createCluster({ name: 'rack2' });
    const a = engine.reportInventory(null, report([1])).host;
    const b = engine.reportInventory(null, report([2])).host;
    const c = engine.reportInventory(null, report([3])).host;
    engine.updateHost(a.id, { cluster: 'rack1' });
    engine.updateHost(b.id, { cluster: 'rack1' });
    engine.updateHost(c.id, { cluster: 'rack2' });
    const store = new SqliteBootFileStore(repo.db);
    store.apply({ clusterId: engine.getCluster('rack1').id }, { uefiX64: 'snponly.efi', httpScriptUrl: 'http://10.77.0.9/rack1.ipxe' });
    store.apply({ hostId: b.id }, { uefiX64: 'b/ipxe.efi', bios: 'b/undionly.kpxe' });

    const r = new DhcpResponder(CFG, { reservations: new EngineReservations(engine, { refreshMs: 0, bootFiles: () => store.all() }) });
    expect(offer(r, mac(1), PXE_UEFI, 1).options.get(67)?.toString()).toBe('snponly.efi');
    expect(offer(r, mac(2), PXE_UEFI, 2).options.get(67)?.toString()).toBe('b/ipxe.efi');
    expect(offer(r, mac(2), PXE_BIOS, 3).file).toBe('b/undionly.kpxe');
    expect(offer(r, mac(3), PXE_UEFI, 4).options.get(67)?.toString()).toBe('ipxe.efi');
    expect(offer(r, mac(9), PXE_UEFI, 5).options.get(67)?.toString()).toBe('ipxe.efi');
    // iPXE in rack1 chains to the rack's own script
    expect(offer(r, mac(1), IPXE, 6).options.get(67)?.toString()).toBe('http://10.77.0.9/rack1.ipxe');
    expect(offer(r, mac(3), IPXE, 7).options.get(67)?.toString()).toBe('http://10.77.0.1:8080/boot.ipxe');

    // proxy mode reads the same overrides
    const proxy = new DhcpResponder({ ...CFG, mode: 'proxy', subnets: [] }, { reservations: new EngineReservations(engine, { refreshMs: 0, bootFiles: () => store.all() }) });
    expect(offer(proxy, mac(2), PXE_UEFI, 8).options.get(67)?.toString()).toBe('b/ipxe.efi');

    // a removed entry falls back to the cluster; deleting the host drops its rows
    store.apply({ hostId: b.id }, { uefiX64: null });
    expect(offer(r, mac(2), PXE_UEFI, 9).options.get(67)?.toString()).toBe('snponly.efi');
    engine.deleteHost(b.id);
    expect(repo.db.prepare('SELECT COUNT(*) AS n FROM boot_files WHERE host_id IS NOT NULL').get()).toEqual({ n: 0 });
  });

  it('the table refuses an owner-less row, a row with two owners and an unknown key', () => {
    const { engine, repo } = opened;
    const cid = engine.getCluster(engine.listClusters()[0]?.id as number).id;
    const host = engine.reportInventory(null, report([4])).host;
    const ins = (c: number | null, hid: number | null, key: string) =>
      () => repo.db.prepare("INSERT INTO boot_files (cluster_id, host_id, key, value, updated_at) VALUES (?, ?, ?, 'x', 'now')").run(c, hid, key);
    expect(ins(null, null, 'bios')).toThrow(/CHECK/);
    expect(ins(cid, host.id, 'bios')).toThrow(/CHECK/);
    expect(ins(cid, null, 'ppc')).toThrow(/CHECK/);
    ins(cid, null, 'bios')();
    expect(ins(cid, null, 'bios')).toThrow(/UNIQUE/);
  });
});
