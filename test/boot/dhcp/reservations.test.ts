// EngineReservations against a real engine on an in-memory database, and the responder using it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES } from '../../../src/boot/dhcp/pxe.js';
import { EngineReservations } from '../../../src/boot/dhcp/reservations.js';
import type { ReservationConflict } from '../../../src/boot/dhcp/reservations.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import type { DhcpAction, DhcpServerConfig } from '../../../src/boot/dhcp/server-logic.js';
import { SqliteLeaseStore } from '../../../src/store/lease-store.js';
import type { InventoryReport } from '../../../src/domain/model.js';
import { type OpenedEngine, openEngine } from '../../../src/engine/index.js';
import { reservationStamp } from '../../../src/store/reservation-stamp.js';
import { SqliteBootFileStore } from '../../../src/store/boot-file-store.js';
import { ip, opt, plainDiscover, plainMessage } from './fixtures.js';

const mac = (n: number): string => `52:54:00:00:03:${n.toString(16).padStart(2, '0')}`;
const report = (macs: number[], boot = macs[0] as number): InventoryReport => ({
  bootMac: mac(boot),
  nics: macs.map((n, i) => ({ mac: mac(n), name: `eth${i}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: `0000:00:0${n}.0` })),
});
const STATIC = (address: string) => ({ ipv4: { method: 'static' as const, address, prefix: 24, gateway: null } });

let opened: OpenedEngine;
beforeEach(() => {
  opened = openEngine({ dbPath: ':memory:' });
});
afterEach(() => opened.close());

/** A host enrolled by its inventory, management network made static on the boot NIC. */
function blade(nics: number[], address: string | null): number {
  const { engine } = opened;
  const r = engine.reportInventory(null, report(nics));
  if (address !== null) engine.updateAttachment(r.host.id, 'mgmt', STATIC(address));
  return r.host.id;
}

describe('EngineReservations', () => {
  it('reserves the static management address of the boot NIC, with the host name', () => {
    const id = blade([1, 2], '10.77.0.21');
    const res = new EngineReservations(opened.engine, { refreshMs: 0 });
    const name = opened.engine.getHost(id).name;
    expect(res.lookup(mac(1))).toEqual({ ip: '10.77.0.21', hostname: name });
    expect(res.lookup(mac(1).toUpperCase())).toEqual({ ip: '10.77.0.21', hostname: name });
    expect(res.macFor('10.77.0.21')).toBe(mac(1));
    // another NIC of the same host is not the boot MAC
    expect(res.lookup(mac(2))).toBeUndefined();
    expect(res.lookup('garbage')).toBeUndefined();
    expect(res.macFor('10.77.0.22')).toBeUndefined();
  });

  it('no reservation: DHCP management, unknown MACs, hosts without a boot MAC', () => {
    blade([3], null);
    opened.engine.createHost({ name: 'manual', bootMac: null });
    const res = new EngineReservations(opened.engine, { refreshMs: 0 });
    expect(res.lookup(mac(3))).toBeUndefined();
    expect(res.lookup(mac(99))).toBeUndefined();
    expect(res.all().size).toBe(0);
  });

  it('a bond containing the boot NIC is the boot interface', () => {
    const { engine } = opened;
    const id = blade([4, 5], null);
    engine.createBond(id, { name: 'bond0', mode: 'active-backup', members: ['eth0', 'eth1'] });
    engine.updateAttachment(id, 'mgmt', { interface: 'bond0', ...STATIC('10.77.0.30') });
    const res = new EngineReservations(engine, { refreshMs: 0 });
    expect(engine.getAttachment(id, 'mgmt').interface.kind).toBe('bond');
    expect(res.lookup(mac(4))).toMatchObject({ ip: '10.77.0.30' });
  });

  it('the reservation follows the boot MAC when the host boots from another NIC', () => {
    const { engine } = opened;
    const id = blade([6, 7], '10.77.0.31');
    const res = new EngineReservations(engine, { refreshMs: 0 });
    expect(res.lookup(mac(6))?.ip).toBe('10.77.0.31');
    engine.reportInventory(id, report([6, 7], 7));
    expect(engine.getAttachment(id, 'mgmt').interface.mac).toBe(mac(7));
    expect(res.lookup(mac(6))).toBeUndefined();
    expect(res.lookup(mac(7))?.ip).toBe('10.77.0.31');
    expect(res.macFor('10.77.0.31')).toBe(mac(7));
  });

  it('a tagged management network gives no reservation', () => {
    const { engine } = opened;
    engine.createCluster({ name: 'tagged', managementNetwork: { name: 'mgmt', vlan: 100 } });
    const h = engine.createHost({ name: 'vlan-blade', cluster: 'tagged', bootMac: mac(8) });
    engine.reportInventory(h.id, report([8]));
    engine.updateAttachment(h.id, 'mgmt', STATIC('10.77.0.40'));
    const res = new EngineReservations(engine, { refreshMs: 0 });
    expect(res.lookup(mac(8))).toBeUndefined();
  });

  it('an address claimed by two hosts is reserved for neither, and reported', () => {
    blade([10], '10.77.0.50');
    blade([11], '10.77.0.50');
    blade([12], '10.77.0.51');
    const conflicts: ReservationConflict[] = [];
    const res = new EngineReservations(opened.engine, { refreshMs: 0, onConflict: (c) => conflicts.push(c) });
    expect(res.lookup(mac(10))).toBeUndefined();
    expect(res.lookup(mac(11))).toBeUndefined();
    expect(res.macFor('10.77.0.50')).toBeUndefined();
    expect(res.lookup(mac(12))?.ip).toBe('10.77.0.51');
    expect(conflicts).toEqual([{ ip: '10.77.0.50', hosts: ['host-52540000030a', 'host-52540000030b'] }]);
  });

  it('the index is rebuilt once it is older than refreshMs, not before', () => {
    let t = 0;
    const res = new EngineReservations(opened.engine, { refreshMs: 1000, now: () => t });
    const id = blade([13], null);
    expect(res.lookup(mac(13))).toBeUndefined();
    opened.engine.updateAttachment(id, 'mgmt', STATIC('10.77.0.60'));
    t = 999;
    expect(res.lookup(mac(13))).toBeUndefined();
    t = 1000;
    expect(res.lookup(mac(13))?.ip).toBe('10.77.0.60');
    opened.engine.updateAttachment(id, 'mgmt', STATIC('10.77.0.61'));
    res.invalidate();
    expect(res.lookup(mac(13))?.ip).toBe('10.77.0.61');
  });
});

describe('the reservation index under a version stamp', () => {
  it('is not rebuilt while the stamp stays the same, and is rebuilt as soon as it changes', () => {
    let t = 0;
    let builds = 0;
    // The engine with its listHosts counted: one call per index build.
    const counting = Object.create(opened.engine) as typeof opened.engine;
    counting.listHosts = (...a) => (builds++, opened.engine.listHosts(...a));
    const res = new EngineReservations(counting, { refreshMs: 1000, now: () => t, version: () => reservationStamp(opened.repo) });
    const id = blade([14], null);
    expect(res.lookup(mac(14))).toBeUndefined();
    expect(builds).toBe(1);
    // A boot report and a lease-like write elsewhere change nothing the index derives from.
    opened.engine.recordApplied(id, opened.engine.getHost(id).generation);
    t = 5000;
    expect(res.lookup(mac(14))).toBeUndefined();
    expect(builds).toBe(1);
    opened.engine.updateAttachment(id, 'mgmt', STATIC('10.77.0.62'));
    t = 5999;
    expect(res.lookup(mac(14))).toBeUndefined(); // within refreshMs of the last check
    t = 6000;
    expect(res.lookup(mac(14))?.ip).toBe('10.77.0.62');
    expect(builds).toBe(2);
  });

  it('the stamp moves with hosts, networks and boot files, not with reports', () => {
    const { engine, repo } = opened;
    const s0 = reservationStamp(repo);
    const id = blade([15], null);
    const s1 = reservationStamp(repo);
    expect(s1).not.toBe(s0);
    engine.updateAttachment(id, 'mgmt', STATIC('10.77.0.63'));
    const s2 = reservationStamp(repo);
    expect(s2).not.toBe(s1);
    engine.createNetwork('default', { name: 'storage', vlan: 300 });
    const s3 = reservationStamp(repo);
    expect(s3).not.toBe(s2);
    new SqliteBootFileStore(repo.db).apply({ hostId: id }, { bios: 'custom.kpxe' });
    const s4 = reservationStamp(repo);
    expect(s4).not.toBe(s3);
    engine.recordApplied(id, engine.getHost(id).generation);
    expect(reservationStamp(repo)).toBe(s4);
  });
});

describe('the responder with engine reservations and SQLite leases', () => {
  const CFG: DhcpServerConfig = {
    mode: 'full',
    serverIp: '10.77.0.1',
    subnets: [{ network: '10.77.0.0', prefix: 24, range: ['10.77.0.20', '10.77.0.22'], leaseSeconds: 3600 }],
    bootConfig: { httpScriptUrl: 'http://10.77.0.1/boot.ipxe', httpBootUrl: 'http://10.77.0.1/', files: { ...DEFAULT_BOOT_FILES } },
  };
  const sends = (a: DhcpAction[]): DhcpPacket[] => a.flatMap((x) => ('send' in x ? [x.send] : []));
  const handle = (r: DhcpResponder, raw: Buffer): DhcpPacket[] => sends(r.handle(decodePacket(raw), { receivedOn: 'port67', now: 1000 }));

  it('the reserved blade gets its address; the pool skips it for everyone else', () => {
    const id = blade([20], '10.77.0.21');
    const r = new DhcpResponder(CFG, {
      leases: new SqliteLeaseStore(opened.repo.db),
      reservations: new EngineReservations(opened.engine, { refreshMs: 0 }),
    });
    const a = handle(r, plainDiscover(mac(30), 1))[0];
    const b = handle(r, plainDiscover(mac(31), 2))[0];
    expect([a?.yiaddr, b?.yiaddr]).toEqual(['10.77.0.20', '10.77.0.22']);
    const mine = handle(r, plainDiscover(mac(20), 3))[0] as DhcpPacket;
    expect(mine.yiaddr).toBe('10.77.0.21');
    expect(mine.options.get(12)?.toString()).toBe(opened.engine.getHost(id).name);
    const ack = handle(r, plainMessage(3, mac(20), 3, [opt(54, ip('10.77.0.1')), opt(50, ip('10.77.0.21'))]))[0] as DhcpPacket;
    expect(ack.options.get(53)?.[0]).toBe(5);
    expect(ack.yiaddr).toBe('10.77.0.21');
    // a stranger asking for the reserved address is refused
    const nak = handle(r, plainMessage(3, mac(32), 4, [opt(50, ip('10.77.0.21'))]))[0] as DhcpPacket;
    expect(nak.options.get(53)?.[0]).toBe(6);
  });
});
