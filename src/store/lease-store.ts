// A durable LeaseStore over Tabula's SQLite database (table dhcp_leases, db/migrations/003_leases.sql).
//
// Same semantics as InMemoryLeaseStore (src/boot/dhcp/leases.ts): a MAC holds one address, expired records keep
// their address until the range runs dry, a declined address belongs to nobody until it expires.
// The database is the truth: every offer, bind, release and decline is one committed transaction
// (WAL), so leases survive a restart and a kill -9, and the primary key on the address makes two
// holders of one address impossible. Allocation uses the same in-memory RangePool index as the
// in-memory store (cursor + FIFO of freed addresses), built once per range from that range's rows
// and kept in step by this store's own writes; each candidate is then checked against the table by
// primary key, so a stale index can skip an address but never hand out a taken one. Expired records
// are reclaimed through the index on `expires`. Nothing scans the lease table per request.
//
// One DHCP server per database: another process deleting rows would not free them in this index
// (they become usable again after a restart).
import type Database from 'better-sqlite3';
import { ipToUint, uintToIp } from '../boot/dhcp/ip.js';
import { type RangePool, RangePools, parseOrThrow } from '../boot/dhcp/leases.js';
import type { Lease, LeaseState, LeaseStore } from '../boot/dhcp/leases.js';
import { atomically } from './atomically.js';

interface LeaseRow {
  ip_num: number;
  ip: string;
  mac: string;
  state: string;
  expires: number;
  client_id: string | null;
}

function toLease(r: LeaseRow): Lease {
  const base = { mac: r.mac, ip: r.ip, state: r.state as LeaseState, expires: r.expires };
  return r.client_id === null ? base : { ...base, clientId: r.client_id };
}

export class SqliteLeaseStore implements LeaseStore {
  private readonly db: Database.Database;
  private readonly pools = new RangePools();
  private readonly q: {
    byMac: Database.Statement<[string], LeaseRow>;
    byIp: Database.Statement<[number], LeaseRow>;
    exists: Database.Statement<[number], { one: number }>;
    dropOtherOfMac: Database.Statement<[string, number], { ip_num: number }>;
    upsert: Database.Statement<[number, string, string, string, number, string | null, string]>;
    dropMac: Database.Statement<[string], { ip_num: number }>;
    reclaim: Database.Statement<[number], { ip_num: number }>;
    inRange: Database.Statement<[number, number], { ip_num: number }>;
    count: Database.Statement<[], { n: number }>;
    countBound: Database.Statement<[number], { n: number }>;
  };

  /** `db`: the repository's connection (SqliteRepository.db), schema migrated to 003 or later. */
  constructor(db: Database.Database) {
    this.db = db;
    const cols = 'ip_num, ip, mac, state, expires, client_id';
    this.q = {
      byMac: db.prepare(`SELECT ${cols} FROM dhcp_leases WHERE mac = ? AND mac <> ''`),
      byIp: db.prepare(`SELECT ${cols} FROM dhcp_leases WHERE ip_num = ?`),
      exists: db.prepare('SELECT 1 AS one FROM dhcp_leases WHERE ip_num = ?'),
      dropOtherOfMac: db.prepare(`DELETE FROM dhcp_leases WHERE mac = ? AND mac <> '' AND ip_num <> ? RETURNING ip_num`),
      upsert: db.prepare(
        `INSERT INTO dhcp_leases (ip_num, ip, mac, state, expires, client_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (ip_num) DO UPDATE SET mac = excluded.mac, state = excluded.state, expires = excluded.expires,
           client_id = excluded.client_id, updated_at = excluded.updated_at`,
      ),
      dropMac: db.prepare(`DELETE FROM dhcp_leases WHERE mac = ? AND mac <> '' RETURNING ip_num`),
      reclaim: db.prepare('DELETE FROM dhcp_leases WHERE expires <= ? RETURNING ip_num'),
      inRange: db.prepare('SELECT ip_num FROM dhcp_leases WHERE ip_num BETWEEN ? AND ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM dhcp_leases'),
      countBound: db.prepare("SELECT COUNT(*) AS n FROM dhcp_leases WHERE state = 'bound' AND expires > ?"),
    };
  }

  get(mac: string): Lease | undefined {
    if (mac === '') return undefined;
    const r = this.q.byMac.get(mac);
    return r ? toLease(r) : undefined;
  }

  findByAddress(ip: string): Lease | undefined {
    const n = ipToUint(ip);
    if (n === null) return undefined;
    const r = this.q.byIp.get(n);
    return r ? toLease(r) : undefined;
  }

  offer(mac: string, ip: string, until: number): void {
    const n = parseOrThrow(ip);
    atomically(this.db, () => {
      const current = this.q.byMac.get(mac);
      // A bound client that re-DISCOVERs keeps its binding; the offer must not shorten it.
      if (current && current.ip_num === n && current.state === 'bound' && current.expires >= until) return;
      this.assign(mac, n, 'offered', until, current?.ip_num === n ? (current.client_id ?? undefined) : undefined);
    });
  }

  bind(mac: string, ip: string, until: number, clientId?: string): void {
    const n = parseOrThrow(ip);
    atomically(this.db, () => this.assign(mac, n, 'bound', until, clientId));
  }

  release(mac: string): void {
    if (mac === '') return;
    const freed = this.q.dropMac.all(mac);
    for (const r of freed) this.pools.free(r.ip_num);
  }

  decline(ip: string, until: number): void {
    const n = parseOrThrow(ip);
    // The upsert replaces whoever held the address: one statement, one transaction.
    this.q.upsert.run(n, uintToIp(n), '', 'declined', until, null, new Date().toISOString());
    this.pools.take(n);
  }

  allocate(range: readonly [string, string], now: number, accept?: (ip: string) => boolean): string | undefined {
    const pool = this.poolFor(range);
    // The index may lag the table (rows written by someone else): check the candidate by primary key.
    const check = (ip: string): boolean => {
      const n = ipToUint(ip) as number;
      if (this.q.exists.get(n)) {
        pool.take(n);
        return false;
      }
      return accept ? accept(ip) : true;
    };
    let n = pool.candidate(check);
    if (n === undefined && this.reclaimExpired(now) > 0) n = pool.candidate(check);
    pool.compact();
    return n === undefined ? undefined : uintToIp(n);
  }

  inUse(): number {
    return this.q.count.get()?.n ?? 0;
  }

  /** Bound leases not yet expired at `now` (the leases-in-use gauge). */
  boundCount(now: number): number {
    return this.q.countBound.get(now)?.n ?? 0;
  }

  private assign(mac: string, n: number, state: LeaseState, until: number, clientId: string | undefined): void {
    // The MAC's record on another address goes; the upsert then replaces any other holder of `n`.
    for (const r of this.q.dropOtherOfMac.all(mac, n)) this.pools.free(r.ip_num);
    this.q.upsert.run(n, uintToIp(n), mac, state, until, clientId ?? null, new Date().toISOString());
    this.pools.take(n);
  }

  private poolFor(range: readonly [string, string]): RangePool {
    // Once per range: the rows inside it (an index range scan of the primary key).
    return this.pools.of(range, (pool) => {
      for (const r of this.q.inRange.iterate(pool.start, pool.end)) pool.take(r.ip_num);
    });
  }

  /** Drops every record that expired by `now`, in one transaction. Returns how many. */
  private reclaimExpired(now: number): number {
    const freed = this.q.reclaim.all(now);
    for (const r of freed) this.pools.free(r.ip_num);
    return freed.length;
  }
}
