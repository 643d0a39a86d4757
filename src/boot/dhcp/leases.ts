// Lease bookkeeping for the DHCP responder.
//
// InMemoryLeaseStore keeps two hash maps (MAC -> record, address -> record) for O(1) lookups and,
// per dynamic range, a byte map of taken addresses with a cursor and a FIFO of freed addresses:
//   allocate = first never-used address at the cursor (the cursor only moves forward), else the
//              address freed longest ago (FIFO, lazily skipping ones taken again), else reclaim
//              expired records through a min-heap on expiry and try again.
// Each step is amortised O(1), the reclaim O(log n) per expired record; nothing scans the lease table.
// Expired records are kept (and their address stays taken) until the range runs dry, so a returning
// client gets its old address back, as ISC dhcpd and Kea do.
import { ipToUint, uintToIp } from './ip.js';

export type LeaseState = 'offered' | 'bound' | 'declined';

export interface Lease {
  /** Lower-case colon MAC; '' for a declined address, which belongs to nobody. */
  readonly mac: string;
  readonly ip: string;
  readonly state: LeaseState;
  /** Epoch milliseconds (the responder's `now` clock). */
  readonly expires: number;
  /** Option 61 as hex, when the client sent one. */
  readonly clientId?: string;
}

export interface LeaseStore {
  get(mac: string): Lease | undefined;
  findByAddress(ip: string): Lease | undefined;
  /** Holds `ip` for `mac` until `until` (an OFFER). Moves the MAC off any other address it held. */
  offer(mac: string, ip: string, until: number): void;
  bind(mac: string, ip: string, until: number, clientId?: string): void;
  release(mac: string): void;
  /** Marks `ip` unusable until `until` (RFC 2131 §4.3.3) and drops whoever held it. */
  decline(ip: string, until: number): void;
  /**
   * A free address in the inclusive range, or undefined when none is left. Does not take it: the
   * caller follows with offer()/bind(). `accept` may veto candidates (e.g. reserved for another MAC);
   * a vetoed, never-used address is skipped for good.
   */
  allocate(range: readonly [string, string], now: number, accept?: (ip: string) => boolean): string | undefined;
  /** Records held: offered, bound and declined, including expired ones not yet reclaimed. */
  inUse(): number;
}

interface LeaseRecord {
  mac: string;
  ip: string;
  ipNum: number;
  state: LeaseState;
  expires: number;
  clientId?: string;
  gen: number;
}

interface HeapEntry {
  expires: number;
  ipNum: number;
  gen: number;
}

/** Largest dynamic range one store handles (a /8). */
export const MAX_RANGE_SIZE = 1 << 24;

/**
 * Allocation index of one dynamic range: a byte map of taken addresses, a cursor that only moves
 * forward and a FIFO of freed addresses. Shared by the in-memory and the SQLite lease stores.
 */
export class RangePool {
  readonly start: number;
  readonly end: number;
  private readonly taken: Uint8Array;
  private cursor = 0;
  private freed: number[] = [];
  private head = 0;

  constructor(start: number, end: number) {
    this.start = start;
    this.end = end;
    this.taken = new Uint8Array(end - start + 1);
  }

  /** An empty pool for a [start, end] range of dotted addresses; RangeError when it is backwards or too big. */
  static forRange(range: readonly [string, string]): RangePool {
    const key = `${range[0]}-${range[1]}`;
    const start = parseOrThrow(range[0]);
    const end = parseOrThrow(range[1]);
    if (end < start) throw new RangeError(`range ${key} ends before it starts`);
    if (end - start + 1 > MAX_RANGE_SIZE) throw new RangeError(`range ${key} is larger than ${MAX_RANGE_SIZE} addresses`);
    return new RangePool(start, end);
  }

  contains(n: number): boolean {
    return n >= this.start && n <= this.end;
  }

  take(n: number): void {
    this.taken[n - this.start] = 1;
  }

  free(n: number): void {
    const idx = n - this.start;
    if (this.taken[idx] !== 1) return;
    this.taken[idx] = 0;
    // Addresses at or past the cursor will be met by the cursor anyway.
    if (idx < this.cursor) this.freed.push(idx);
  }

  /** Next candidate, without taking it. Skips taken and vetoed entries for good. */
  candidate(accept: ((ip: string) => boolean) | undefined): number | undefined {
    const size = this.taken.length;
    while (this.cursor < size) {
      const idx = this.cursor;
      if (this.taken[idx] === 0 && (!accept || accept(uintToIp(this.start + idx)))) return this.start + idx;
      this.cursor++;
    }
    while (this.head < this.freed.length) {
      const idx = this.freed[this.head] as number;
      if (this.taken[idx] === 0 && (!accept || accept(uintToIp(this.start + idx)))) return this.start + idx;
      this.head++;
    }
    // Queue fully consumed: start it afresh.
    this.freed = [];
    this.head = 0;
    return undefined;
  }

  /** Drops the consumed prefix of the freed queue now and then, so it does not grow without bound. */
  compact(): void {
    if (this.head > 4096 && this.head * 2 > this.freed.length) {
      this.freed = this.freed.slice(this.head);
      this.head = 0;
    }
  }
}

/** The RangePool of every range a lease store has served, keyed by "first-last". */
export class RangePools {
  private readonly pools = new Map<string, RangePool>();

  /** The range's pool; `seed` marks the addresses already held the first time the range is used. */
  of(range: readonly [string, string], seed: (pool: RangePool) => void): RangePool {
    const key = `${range[0]}-${range[1]}`;
    let pool = this.pools.get(key);
    if (pool) return pool;
    pool = RangePool.forRange(range);
    seed(pool);
    this.pools.set(key, pool);
    return pool;
  }

  /** Marks an address taken in every pool that holds it. */
  take(n: number): void {
    for (const pool of this.pools.values()) if (pool.contains(n)) pool.take(n);
  }

  /** Marks an address free in every pool that holds it. */
  free(n: number): void {
    for (const pool of this.pools.values()) if (pool.contains(n)) pool.free(n);
  }
}

/** An IPv4 address as a number; a TypeError naming the text otherwise. */
export function parseOrThrow(ip: string): number {
  const n = ipToUint(ip);
  if (n === null) throw new TypeError(`'${ip}' is not an IPv4 address`);
  return n;
}

function toLease(r: LeaseRecord): Lease {
  return r.clientId === undefined
    ? { mac: r.mac, ip: r.ip, state: r.state, expires: r.expires }
    : { mac: r.mac, ip: r.ip, state: r.state, expires: r.expires, clientId: r.clientId };
}

export class InMemoryLeaseStore implements LeaseStore {
  private readonly byMac = new Map<string, LeaseRecord>();
  private readonly byIp = new Map<number, LeaseRecord>();
  private readonly pools = new RangePools();
  private heap: HeapEntry[] = [];
  private gen = 0;

  get(mac: string): Lease | undefined {
    const r = this.byMac.get(mac);
    return r ? toLease(r) : undefined;
  }

  findByAddress(ip: string): Lease | undefined {
    const n = ipToUint(ip);
    if (n === null) return undefined;
    const r = this.byIp.get(n);
    return r ? toLease(r) : undefined;
  }

  offer(mac: string, ip: string, until: number): void {
    const n = parseOrThrow(ip);
    const current = this.byMac.get(mac);
    // A bound client that re-DISCOVERs keeps its binding; the offer must not shorten it.
    if (current && current.ipNum === n && current.state === 'bound' && current.expires >= until) return;
    this.assign(mac, n, 'offered', until, current?.ipNum === n ? current.clientId : undefined);
  }

  bind(mac: string, ip: string, until: number, clientId?: string): void {
    this.assign(mac, parseOrThrow(ip), 'bound', until, clientId);
  }

  release(mac: string): void {
    const r = this.byMac.get(mac);
    if (r) this.remove(r);
  }

  decline(ip: string, until: number): void {
    const n = parseOrThrow(ip);
    const holder = this.byIp.get(n);
    if (holder) this.remove(holder);
    const rec: LeaseRecord = { mac: '', ip: uintToIp(n), ipNum: n, state: 'declined', expires: until, gen: ++this.gen };
    this.byIp.set(n, rec);
    this.pools.take(n);
    this.schedule(rec);
  }

  allocate(range: readonly [string, string], now: number, accept?: (ip: string) => boolean): string | undefined {
    const pool = this.poolFor(range);
    let n = pool.candidate(accept);
    if (n === undefined && this.reclaimExpired(now) > 0) n = pool.candidate(accept);
    pool.compact();
    return n === undefined ? undefined : uintToIp(n);
  }

  inUse(): number {
    return this.byIp.size;
  }

  private assign(mac: string, n: number, state: LeaseState, until: number, clientId: string | undefined): void {
    const old = this.byMac.get(mac);
    if (old && old.ipNum !== n) this.remove(old);
    const holder = this.byIp.get(n);
    if (holder && holder.mac !== mac) this.remove(holder);
    const rec: LeaseRecord = { mac, ip: uintToIp(n), ipNum: n, state, expires: until, gen: ++this.gen };
    if (clientId !== undefined) rec.clientId = clientId;
    this.byMac.set(mac, rec);
    this.byIp.set(n, rec);
    this.pools.take(n);
    this.schedule(rec);
  }

  private remove(r: LeaseRecord): void {
    if (this.byIp.get(r.ipNum) === r) {
      this.byIp.delete(r.ipNum);
      this.pools.free(r.ipNum);
    }
    if (r.mac !== '' && this.byMac.get(r.mac) === r) this.byMac.delete(r.mac);
  }

  private poolFor(range: readonly [string, string]): RangePool {
    // One pass over existing records when a range is first used (records may predate it).
    return this.pools.of(range, (pool) => {
      for (const n of this.byIp.keys()) if (pool.contains(n)) pool.take(n);
    });
  }

  // --- expiry heap (min-heap on `expires`; stale entries are skipped by generation) ---

  private schedule(r: LeaseRecord): void {
    const heap = this.heap;
    heap.push({ expires: r.expires, ipNum: r.ipNum, gen: r.gen });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as HeapEntry).expires <= (heap[i] as HeapEntry).expires) break;
      [heap[parent], heap[i]] = [heap[i] as HeapEntry, heap[parent] as HeapEntry];
      i = parent;
    }
    // Every renewal leaves a stale entry behind; rebuild when they outnumber live records.
    if (heap.length > 2 * this.byIp.size + 1024) this.rebuildHeap();
  }

  private pop(): HeapEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as HeapEntry;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && (heap[l] as HeapEntry).expires < (heap[m] as HeapEntry).expires) m = l;
        if (r < heap.length && (heap[r] as HeapEntry).expires < (heap[m] as HeapEntry).expires) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i] as HeapEntry, heap[m] as HeapEntry];
        i = m;
      }
    }
    return top;
  }

  private rebuildHeap(): void {
    const entries = [...this.byIp.values()].map((r) => ({ expires: r.expires, ipNum: r.ipNum, gen: r.gen }));
    entries.sort((a, b) => a.expires - b.expires); // a sorted array is a valid min-heap
    this.heap = entries;
  }

  /** Drops every record that expired by `now`. Returns how many. */
  private reclaimExpired(now: number): number {
    let count = 0;
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.expires > now) return count;
      this.pop();
      const r = this.byIp.get(top.ipNum);
      if (r && r.gen === top.gen && r.expires <= now) {
        this.remove(r);
        count++;
      }
    }
  }
}
