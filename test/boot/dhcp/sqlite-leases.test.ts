// SqliteLeaseStore: the InMemoryLeaseStore semantics (run against both), durability across a
// close/reopen of the database file, and the responder on top of it (restart between OFFER and ACK,
// two clients wanting one address, pool exhaustion, DECLINE, RELEASE).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryLeaseStore } from '../../../src/boot/dhcp/leases.js';
import type { LeaseStore } from '../../../src/boot/dhcp/leases.js';
import { decodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES } from '../../../src/boot/dhcp/pxe.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import type { DhcpAction, DhcpLogEntry, DhcpServerConfig, Endpoint, Reservation, ReservationSource } from '../../../src/boot/dhcp/server-logic.js';
import { SqliteLeaseStore } from '../../../src/store/lease-store.js';
import { SqliteRepository } from '../../../src/store/sqlite.js';
import { ip, opt, plainDiscover, plainMessage } from './fixtures.js';

const RANGE = ['10.0.0.10', '10.0.0.14'] as const;
const mac = (i: number) => `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

let dir: string;
let repos: SqliteRepository[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tabula-leases-'));
  repos = [];
});
afterEach(() => {
  for (const r of repos) r.close();
  rmSync(dir, { recursive: true, force: true });
});

function openRepo(name = 'tabula.db'): SqliteRepository {
  const r = SqliteRepository.open(path.join(dir, name));
  repos.push(r);
  return r;
}

function sqliteStore(): SqliteLeaseStore {
  return new SqliteLeaseStore(openRepo().db);
}

// ------------------------------------------------------------------ the LeaseStore contract, twice

const stores: Array<[string, () => LeaseStore]> = [
  ['InMemoryLeaseStore', () => new InMemoryLeaseStore()],
  ['SqliteLeaseStore', sqliteStore],
];

describe.each(stores)('LeaseStore contract: %s', (_name, make) => {
  it('allocates in order and does not hand out taken addresses', () => {
    const s = make();
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const a = s.allocate(RANGE, 0) as string;
      s.offer(mac(i), a, 1000);
      got.push(a);
    }
    expect(got).toEqual(['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14']);
    expect(s.allocate(RANGE, 0)).toBeUndefined();
    expect(s.inUse()).toBe(5);
  });

  it('allocate does not take: calling it twice without offer returns the same address', () => {
    const s = make();
    expect(s.allocate(RANGE, 0)).toBe('10.0.0.10');
    expect(s.allocate(RANGE, 0)).toBe('10.0.0.10');
  });

  it('skips addresses taken out of order and vetoed ones', () => {
    const s = make();
    s.bind(mac(1), '10.0.0.10', 1000);
    expect(s.allocate(RANGE, 0, (a) => a !== '10.0.0.11')).toBe('10.0.0.12');
  });

  it('looks up by MAC and by address; a MAC holds one address', () => {
    const s = make();
    s.offer(mac(1), '10.0.0.10', 100);
    s.bind(mac(1), '10.0.0.12', 200, '01020304');
    expect(s.get(mac(1))).toEqual({ mac: mac(1), ip: '10.0.0.12', state: 'bound', expires: 200, clientId: '01020304' });
    expect(s.findByAddress('10.0.0.10')).toBeUndefined();
    expect(s.findByAddress('10.0.0.12')?.mac).toBe(mac(1));
    expect(s.get('')).toBeUndefined();
    expect(s.findByAddress('not-an-ip')).toBeUndefined();
    expect(s.inUse()).toBe(1);
  });

  it('binding an address another MAC holds moves it (the responder checks first; the store never keeps two holders)', () => {
    const s = make();
    s.bind(mac(1), '10.0.0.10', 1000);
    s.bind(mac(2), '10.0.0.10', 1000);
    expect(s.get(mac(1))).toBeUndefined();
    expect(s.findByAddress('10.0.0.10')?.mac).toBe(mac(2));
    expect(s.inUse()).toBe(1);
  });

  it('an offer does not shorten an existing binding of the same address, and keeps the client id', () => {
    const s = make();
    s.bind(mac(1), '10.0.0.10', 10_000, 'aa');
    s.offer(mac(1), '10.0.0.10', 500);
    expect(s.get(mac(1))).toMatchObject({ state: 'bound', expires: 10_000, clientId: 'aa' });
    s.offer(mac(1), '10.0.0.10', 20_000);
    expect(s.get(mac(1))).toEqual({ mac: mac(1), ip: '10.0.0.10', state: 'offered', expires: 20_000, clientId: 'aa' });
  });

  it('release frees the address for the next allocation (after never-used ones)', () => {
    const s = make();
    for (let i = 0; i < 5; i++) s.offer(mac(i), s.allocate(RANGE, 0) as string, 1000);
    s.release(mac(2));
    expect(s.get(mac(2))).toBeUndefined();
    expect(s.findByAddress('10.0.0.12')).toBeUndefined();
    expect(s.allocate(RANGE, 0)).toBe('10.0.0.12');
  });

  it('decline takes an address from its holder and keeps it out until it expires', () => {
    const s = make();
    s.bind(mac(1), '10.0.0.10', 1000);
    s.decline('10.0.0.10', 5000);
    expect(s.get(mac(1))).toBeUndefined();
    expect(s.findByAddress('10.0.0.10')).toMatchObject({ state: 'declined', mac: '', expires: 5000 });
    expect(s.allocate(RANGE, 100)).toBe('10.0.0.11');
  });

  it('expired records keep their address until the range runs dry, then are reclaimed', () => {
    const s = make();
    for (let i = 0; i < 5; i++) s.offer(mac(i), s.allocate(RANGE, 0) as string, 100 + i);
    expect(s.get(mac(3))?.ip).toBe('10.0.0.13');
    const a = s.allocate(RANGE, 1000) as string;
    expect(a).toBe('10.0.0.10');
    s.offer(mac(99), a, 2000);
    expect(s.get(mac(0))).toBeUndefined();
    expect(s.inUse()).toBe(1);
  });

  it('nothing expired yet: the range stays exhausted', () => {
    const s = make();
    for (let i = 0; i < 5; i++) s.offer(mac(i), s.allocate(RANGE, 0) as string, 1000);
    expect(s.allocate(RANGE, 999)).toBeUndefined();
    expect(s.allocate(RANGE, 1000)).toBe('10.0.0.10');
  });

  it('refuses malformed addresses and ranges', () => {
    const s = make();
    expect(() => s.bind(mac(1), '10.0.0.300', 1)).toThrow(TypeError);
    expect(() => s.allocate(['10.0.0.9', '10.0.0.1'], 0)).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ SQLite specifics

describe('SqliteLeaseStore: durability and the table', () => {
  it('every record survives closing and reopening the database file', () => {
    const file = path.join(dir, 'durable.db');
    const r1 = SqliteRepository.open(file);
    const s1 = new SqliteLeaseStore(r1.db);
    s1.offer(mac(1), '10.0.0.10', 1000);
    s1.bind(mac(2), '10.0.0.11', 2000, 'beef');
    s1.decline('10.0.0.12', 3000);
    s1.offer(mac(3), '10.0.0.13', 4000);
    s1.release(mac(3));
    r1.close();

    const r2 = SqliteRepository.open(file);
    repos.push(r2);
    const s2 = new SqliteLeaseStore(r2.db);
    expect(s2.get(mac(1))).toEqual({ mac: mac(1), ip: '10.0.0.10', state: 'offered', expires: 1000 });
    expect(s2.get(mac(2))).toEqual({ mac: mac(2), ip: '10.0.0.11', state: 'bound', expires: 2000, clientId: 'beef' });
    expect(s2.findByAddress('10.0.0.12')).toMatchObject({ state: 'declined', mac: '' });
    expect(s2.get(mac(3))).toBeUndefined();
    expect(s2.inUse()).toBe(3);
    // the rebuilt index skips what the table holds
    expect(s2.allocate(RANGE, 0)).toBe('10.0.0.13');
    expect(s2.boundCount(0)).toBe(1);
    expect(s2.boundCount(2000)).toBe(0);
  });

  it('each write is committed on its own (a second connection sees it at once)', () => {
    const file = path.join(dir, 'wal.db');
    const writer = SqliteRepository.open(file);
    repos.push(writer);
    const reader = SqliteRepository.open(file);
    repos.push(reader);
    expect(writer.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const w = new SqliteLeaseStore(writer.db);
    const r = new SqliteLeaseStore(reader.db);
    w.bind(mac(7), '10.0.0.10', 5000);
    expect(r.get(mac(7))?.ip).toBe('10.0.0.10');
    w.release(mac(7));
    expect(r.get(mac(7))).toBeUndefined();
  });

  it('the table itself refuses a second holder of an address and a second address for a MAC', () => {
    const repo = openRepo();
    const s = new SqliteLeaseStore(repo.db);
    s.bind(mac(1), '10.0.0.10', 1000);
    const insert = repo.db.prepare("INSERT INTO dhcp_leases (ip_num, ip, mac, state, expires, updated_at) VALUES (?, ?, ?, 'bound', 1000, 'x')");
    expect(() => insert.run(0x0a00000a, '10.0.0.10', mac(2))).toThrow(/UNIQUE|PRIMARY KEY/);
    expect(() => insert.run(0x0a00000b, '10.0.0.11', mac(1))).toThrow(/UNIQUE/);
    expect(() => insert.run(0x0a00000c, '10.0.0.12', '')).toThrow(/CHECK/);
  });

  it('a row written behind the index (another connection) is skipped, never handed out twice', () => {
    const file = path.join(dir, 'two.db');
    const a = SqliteRepository.open(file);
    repos.push(a);
    const b = SqliteRepository.open(file);
    repos.push(b);
    const sa = new SqliteLeaseStore(a.db);
    const sb = new SqliteLeaseStore(b.db);
    expect(sa.allocate(RANGE, 0)).toBe('10.0.0.10'); // builds sa's index
    sb.bind(mac(9), '10.0.0.10', 1000);
    expect(sa.allocate(RANGE, 0)).toBe('10.0.0.11');
  });

  it('allocation cost does not grow with the lease table (20,000 leases)', () => {
    const s = sqliteStore();
    const range = ['10.1.0.1', '10.1.255.254'] as const;
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const a = s.allocate(range, 0);
      if (a === undefined) throw new Error(`exhausted at ${i}`);
      s.bind(`c${i}`, a, 10_000);
    }
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 20_000; i < 22_000; i++) s.bind(`c${i}`, s.allocate(range, 0) as string, 10_000);
    const last = performance.now() - t1;
    expect(s.inUse()).toBe(22_000);
    // The last 2,000, with 20,000 leases in the table, cost about what 2,000 cost on average before.
    expect(last).toBeLessThan((first / 10) * 2 + 100);
  }, 60_000);
});

// ------------------------------------------------------------------ the responder on SQLite

const SERVER = '10.77.0.1';
const T0 = 1_700_000_000_000;
const CFG: DhcpServerConfig = {
  mode: 'full',
  serverIp: SERVER,
  subnets: [{ network: '10.77.0.0', prefix: 24, range: ['10.77.0.100', '10.77.0.102'], leaseSeconds: 3600 }],
  bootConfig: { httpScriptUrl: 'http://10.77.0.1:8080/boot.ipxe', httpBootUrl: 'http://10.77.0.1:8080/', files: { ...DEFAULT_BOOT_FILES } },
};

interface Result {
  sends: Array<{ send: DhcpPacket; to: Endpoint }>;
  logs: DhcpLogEntry[];
}

function handle(r: DhcpResponder, raw: Buffer, now = T0): Result {
  const actions: DhcpAction[] = r.handle(decodePacket(raw), { receivedOn: 'port67', now });
  return {
    sends: actions.filter((a): a is { send: DhcpPacket; to: Endpoint } => 'send' in a),
    logs: actions.filter((a): a is { log: DhcpLogEntry } => 'log' in a).map((a) => a.log),
  };
}

const type = (p: DhcpPacket): number | undefined => p.options.get(53)?.[0];
const discover = (m: string, xid: number, extra: Buffer[] = []) => plainDiscover(m, xid, extra);
const selecting = (m: string, xid: number, want: string) => plainMessage(3, m, xid, [opt(54, ip(SERVER)), opt(50, ip(want))]);

function only(res: Result): DhcpPacket {
  expect(res.sends).toHaveLength(1);
  return (res.sends[0] as { send: DhcpPacket }).send;
}

describe('DhcpResponder on SqliteLeaseStore', () => {
  it('restart between OFFER and ACK: the reopened server ACKs the offered address and keeps it from others', () => {
    const file = path.join(dir, 'restart.db');
    const r1 = SqliteRepository.open(file);
    const offer = only(handle(new DhcpResponder(CFG, { leases: new SqliteLeaseStore(r1.db) }), discover(mac(1), 1)));
    expect(type(offer)).toBe(2);
    const offered = offer.yiaddr;
    expect(offered).toBe('10.77.0.100');
    r1.close();

    const r2 = SqliteRepository.open(file);
    repos.push(r2);
    const leases = new SqliteLeaseStore(r2.db);
    // Non-authoritative: it answers a REQUEST only when it has a record, so the ACK proves the record survived.
    const again = new DhcpResponder({ ...CFG, authoritative: false }, { leases });
    expect(leases.get(mac(1))).toMatchObject({ ip: offered, state: 'offered' });
    // another client asking in between gets another address
    expect(only(handle(again, discover(mac(2), 2))).yiaddr).toBe('10.77.0.101');
    const ack = only(handle(again, plainMessage(3, mac(1), 1, [opt(50, ip(offered))]))); // INIT-REBOOT
    expect(type(ack)).toBe(5);
    expect(ack.yiaddr).toBe(offered);
    expect(leases.get(mac(1))).toMatchObject({ ip: offered, state: 'bound', expires: T0 + 3600_000 });
  });

  it('two clients asking for the same address: the first gets it, the second is offered another and NAKed for it', () => {
    const repo = openRepo();
    const r = new DhcpResponder(CFG, { leases: new SqliteLeaseStore(repo.db) });
    const want = [opt(50, ip('10.77.0.102'))];
    expect(only(handle(r, discover(mac(1), 1, want))).yiaddr).toBe('10.77.0.102');
    expect(only(handle(r, discover(mac(2), 2, want))).yiaddr).toBe('10.77.0.100');
    expect(type(only(handle(r, selecting(mac(1), 1, '10.77.0.102'))))).toBe(5);
    const nak = only(handle(r, selecting(mac(2), 2, '10.77.0.102')));
    expect(type(nak)).toBe(6);
    expect(nak.options.get(56)?.toString()).toBe('not-your-address'); // its own record holds 10.77.0.100
    const holders = repo.db.prepare("SELECT mac FROM dhcp_leases WHERE ip = '10.77.0.102'").all();
    expect(holders).toEqual([{ mac: mac(1) }]);
  });

  it('two clients asking for the same reserved address: only its owner gets it', () => {
    const repo = openRepo();
    const reserved: Reservation = { ip: '10.77.0.101', hostname: 'blade1' };
    const reservations: ReservationSource = {
      lookup: (m) => (m === mac(1) ? reserved : undefined),
      macFor: (a) => (a === reserved.ip ? mac(1) : undefined),
    };
    const r = new DhcpResponder(CFG, { leases: new SqliteLeaseStore(repo.db), reservations });
    const want = [opt(50, ip('10.77.0.101'))];
    const other = only(handle(r, discover(mac(2), 2, want)));
    expect(other.yiaddr).toBe('10.77.0.100');
    expect(type(only(handle(r, selecting(mac(2), 2, '10.77.0.101'))))).toBe(6);
    const owner = only(handle(r, discover(mac(1), 1)));
    expect(owner.yiaddr).toBe('10.77.0.101');
    expect(owner.options.get(12)?.toString()).toBe('blade1');
    expect(type(only(handle(r, selecting(mac(1), 1, '10.77.0.101'))))).toBe(5);
  });

  it('pool exhaustion: no offer, logged with its reason, and an address comes back after a RELEASE', () => {
    const repo = openRepo();
    const r = new DhcpResponder(CFG, { leases: new SqliteLeaseStore(repo.db) });
    for (let i = 1; i <= 3; i++) {
      const o = only(handle(r, discover(mac(i), i)));
      expect(type(only(handle(r, selecting(mac(i), i, o.yiaddr))))).toBe(5);
    }
    const dry = handle(r, discover(mac(4), 4));
    expect(dry.sends).toHaveLength(0);
    expect(dry.logs).toContainEqual(expect.objectContaining({ level: 'warn', event: 'no-offer', reason: 'pool-exhausted', detail: '10.77.0.0/24', mac: mac(4) }));

    const rel = handle(r, plainMessage(7, mac(2), 9, [opt(54, ip(SERVER))], { ciaddr: '10.77.0.101' }));
    expect(rel.logs).toContainEqual(expect.objectContaining({ event: 'release', ip: '10.77.0.101' }));
    expect(repo.db.prepare("SELECT COUNT(*) AS n FROM dhcp_leases WHERE ip = '10.77.0.101'").get()).toEqual({ n: 0 });
    expect(only(handle(r, discover(mac(4), 4))).yiaddr).toBe('10.77.0.101');
  });

  it('DECLINE: the address leaves the pool (durably) and the client is offered another', () => {
    const file = path.join(dir, 'decline.db');
    const r1 = SqliteRepository.open(file);
    const r = new DhcpResponder(CFG, { leases: new SqliteLeaseStore(r1.db) });
    const o = only(handle(r, discover(mac(1), 1)));
    expect(type(only(handle(r, selecting(mac(1), 1, o.yiaddr))))).toBe(5);
    const dec = handle(r, plainMessage(4, mac(1), 3, [opt(54, ip(SERVER)), opt(50, ip(o.yiaddr))]));
    expect(dec.logs).toContainEqual(expect.objectContaining({ level: 'warn', event: 'decline', ip: o.yiaddr }));
    r1.close();

    const r2 = SqliteRepository.open(file);
    repos.push(r2);
    const leases = new SqliteLeaseStore(r2.db);
    expect(leases.findByAddress(o.yiaddr)).toMatchObject({ state: 'declined', mac: '', expires: T0 + 600_000 });
    const again = new DhcpResponder(CFG, { leases });
    const next = only(handle(again, discover(mac(1), 5)));
    expect(next.yiaddr).not.toBe(o.yiaddr);
  });
});
