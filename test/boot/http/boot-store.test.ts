// SqliteBootStore on its own: tokens, superseding, which boot an event joins, adoption, pruning.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRange } from '../../../src/boot/http/index.js';
import { type OpenedEngine, openEngine } from '../../../src/engine/index.js';
import { Registry } from '../../../src/metrics.js';
import { ADOPT_WINDOW_MS, MAX_BOOTS_PER_HOST, SqliteBootStore, UNATTACHED_RETENTION_MS, hashBootToken, isFirmwareEvent } from '../../../src/store/boot-store.js';
import { inventory, mac } from './helpers.js';

let o: OpenedEngine;
let clock: number;
let store: SqliteBootStore;
let metrics: Registry;

beforeEach(() => {
  o = openEngine({ dbPath: ':memory:' });
  clock = Date.parse('2026-01-01T00:00:00.000Z');
  metrics = new Registry();
  store = new SqliteBootStore(o.repo, { now: () => clock, metrics });
});
afterEach(() => {
  o.close();
});

const hostWith = (macs: number[]): number => o.engine.reportInventory(null, inventory(macs)).host.id;
const stages = (hostId: number, i = 0): string[] => store.listBoots(hostId, 10)[i]?.events.map((e) => e.stage) ?? [];

describe('boot tokens', () => {
  it('startBoot issues a fresh token per boot, stores only its hash, and supersedes earlier boots', () => {
    const a = hostWith([1, 2]);
    const first = store.startBoot(a, mac(1));
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.lookupToken(first.token)).toMatchObject({ hostId: a, bootId: first.bootId, mac: mac(1) });
    expect(store.verifyBootToken(first.token, mac(1))).toEqual({ hostId: a, bootId: first.bootId });
    expect(store.verifyBootToken(first.token, '52-54-00-00-05-02')).toEqual({ hostId: a, bootId: first.bootId }); // another NIC of the host
    clock += 1000;
    const second = store.startBoot(a, '52-54-00-00-05-01');
    expect(second.token).not.toBe(first.token);
    expect(store.lookupToken(first.token)).toBeNull();
    expect(store.verifyBootToken(second.token, mac(1))).toEqual({ hostId: a, bootId: second.bootId });
    const rows = o.repo.dumpTables().boots as { token_hash: string | null; superseded: number }[];
    expect(rows.map((r) => [r.token_hash, r.superseded])).toEqual([
      [null, 1],
      [hashBootToken(second.token), 0],
    ]);
    expect(JSON.stringify(o.repo.dumpTables())).not.toContain(second.token);
    expect(store.listBoots(a, 10).map((b) => [b.id, b.current, b.startedAt])).toEqual([
      [second.bootId, true, '2026-01-01T00:00:01.000Z'],
      [first.bootId, false, '2026-01-01T00:00:00.000Z'],
    ]);
  });

  it('a token does not verify for a MAC of another host, nor garbage', () => {
    const a = hostWith([1]);
    const b = hostWith([2]);
    const ta = store.startBoot(a, mac(1)).token;
    store.startBoot(b, mac(2));
    expect(store.verifyBootToken(ta, mac(2))).toBeNull();
    expect(store.verifyBootToken(ta, mac(9))).toBeNull();
    expect(store.verifyBootToken(ta, 'nonsense')).toBeNull();
    expect(store.lookupToken('')).toBeNull();
    expect(store.lookupToken('x'.repeat(10_000))).toBeNull();
    expect(store.lookupToken(`${ta.slice(0, -1)}${ta.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
  });

  it('keeps the newest boots of a host only', () => {
    const a = hostWith([1]);
    for (let i = 0; i < MAX_BOOTS_PER_HOST + 5; i++) {
      clock += 1000;
      store.startBoot(a, mac(1));
    }
    expect(store.listBoots(a, 1000)).toHaveLength(MAX_BOOTS_PER_HOST);
  });
});

describe('which boot an event joins', () => {
  it('firmware DHCP and TFTP wait for the next boot; the OS’s DHCP and HTTP stages join the current one', () => {
    const a = hostWith([1, 2]);
    store.startBoot(a, mac(1));
    store.record({ mac: mac(1), stage: 'kernel', data: { bytes: 1 } });
    store.record({ mac: mac(1), stage: 'dhcp-discover', data: { client: 'udhcp' } }); // the blade's own udhcpc
    clock += 60_000;
    // a reboot: the firmware asks again
    store.record({ mac: mac(1), stage: 'dhcp-discover', data: { arch: 0, userClass: null } });
    store.record({ mac: mac(2), stage: 'dhcp-discover', data: { arch: 7 } }); // first tried the other NIC
    store.record({ mac: mac(1), stage: 'tftp', data: { file: 'undionly.kpxe', bytes: 70000 } });
    store.record({ mac: mac(1), stage: 'dhcp-request', data: { userClass: 'iPXE' } });
    expect(stages(a)).toEqual(['kernel', 'dhcp-discover']);
    clock += 2000;
    store.startBoot(a, mac(1));
    expect(stages(a, 0)).toEqual(['dhcp-discover', 'dhcp-discover', 'tftp', 'dhcp-request']);
    expect(stages(a, 1)).toEqual(['kernel', 'dhcp-discover']);
  });

  it('events of an unknown MAC are adopted when it enrols and boots within 10 minutes; older ones are not', () => {
    const m = mac(7);
    store.record({ mac: m, stage: 'dhcp-discover', data: { arch: 7 } });
    clock += ADOPT_WINDOW_MS - 1000;
    store.record({ mac: '52-54-00-00-05-07', stage: 'dhcp-ack', data: { arch: 7 } });
    clock += 2000; // the discover is now 10 min 1 s old
    const { host } = o.engine.findOrEnrolHost(m);
    store.startBoot(host.id, m);
    expect(stages(host.id)).toEqual(['dhcp-ack']);
    const rows = o.repo.dumpTables().boot_events as { stage: string; boot_id: number | null; host_id: number | null; mac: string }[];
    expect(rows.map((r) => [r.stage, r.boot_id !== null, r.host_id, r.mac])).toEqual([
      ['dhcp-discover', false, null, m],
      ['dhcp-ack', true, host.id, m],
    ]);
  });

  it('records the time from boot start to each stage, strips token-like data, and never throws', () => {
    const a = hostWith([1]);
    store.startBoot(a, mac(1));
    clock += 3500;
    store.record({ mac: mac(1), stage: 'kernel', data: { bytes: 5, token: 'secret', bootToken: 'secret2' } });
    expect(store.listBoots(a, 1)[0]?.events).toEqual([{ stage: 'kernel', at: '2026-01-01T00:00:03.500Z', data: { bytes: 5 } }]);
    const h = metrics.render();
    expect(h).toContain('tabula_boot_stage_seconds_sum{stage="kernel"} 3.5');
    expect(h).toContain('tabula_boot_events_total{stage="kernel"} 1');
    expect(() => store.record({ mac: 'garbage', stage: 'kernel' })).not.toThrow();
    o.repo.db.exec('DROP TABLE boot_events');
    expect(() => store.record({ mac: mac(1), stage: 'initrd' })).not.toThrow();
  });

  it('prunes unattached events too old to be adopted', () => {
    store.record({ mac: mac(5), stage: 'dhcp-discover', data: { arch: 0 } });
    clock += UNATTACHED_RETENTION_MS + 1;
    store.record({ mac: mac(6), stage: 'dhcp-discover', data: { arch: 0 } });
    expect((o.repo.dumpTables().boot_events as { mac: string }[]).map((r) => r.mac)).toEqual([mac(6)]);
  });

  it('deleting a host removes its boots and their events', () => {
    const a = hostWith([1]);
    store.startBoot(a, mac(1));
    store.record({ mac: mac(1), stage: 'kernel' });
    o.engine.deleteHost(a);
    const t = o.repo.dumpTables();
    expect(t.boots).toEqual([]);
    expect(t.boot_events).toEqual([]);
  });

  it('isFirmwareEvent', () => {
    expect(isFirmwareEvent({ stage: 'tftp' })).toBe(true);
    expect(isFirmwareEvent({ stage: 'dhcp-offer', data: { arch: 0 } })).toBe(true);
    expect(isFirmwareEvent({ stage: 'dhcp-ack', data: { userClass: 'iPXE' } })).toBe(true);
    expect(isFirmwareEvent({ stage: 'dhcp-ack', data: { arch: null } })).toBe(false);
    expect(isFirmwareEvent({ stage: 'dhcp-request' })).toBe(false);
    expect(isFirmwareEvent({ stage: 'kernel', data: { arch: 7 } })).toBe(false);
    // as src/boot/dhcp/instrument.ts records them
    expect(isFirmwareEvent({ stage: 'dhcp-discover', data: { arch: null, firmware: 'bios', userClass: null, ipxe: false } })).toBe(true);
    expect(isFirmwareEvent({ stage: 'dhcp-discover', data: { arch: null, firmware: 'unknown', userClass: 'x,iPXE', ipxe: false } })).toBe(true);
    expect(isFirmwareEvent({ stage: 'dhcp-discover', data: { arch: null, firmware: 'unknown', userClass: null, ipxe: false, vendorClass: 'udhcp 1.35.0' } })).toBe(false);
  });
});

describe('parseRange', () => {
  it('serves one byte range and ignores what it does not understand', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=10-', 100)).toEqual({ kind: 'partial', start: 10, end: 99 });
    expect(parseRange('bytes=90-200', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=5-1', 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=-', 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=99999999999999999999-', 100)).toEqual({ kind: 'full' });
  });
});

describe('boot start during a storm', () => {
  let o2: OpenedEngine;
  beforeEach(() => {
    o2 = openEngine({ dbPath: ':memory:' });
  });
  afterEach(() => o2.close());

  it('finds the events to adopt through the partial indexes, never by scanning every unattached event', () => {
    const plan = (sql: string): string =>
      (o2.repo.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1, 1, '2026-01-01', '2026-01-02') as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(plan('UPDATE boot_events SET boot_id = ? WHERE boot_id IS NULL AND host_id = ? AND at >= ? AND at <= ?')).toMatch(/boot_events_unattached_host/);
    expect(
      (o2.repo.db.prepare('EXPLAIN QUERY PLAN UPDATE boot_events SET boot_id = ?, host_id = ? WHERE boot_id IS NULL AND mac = ? AND at >= ? AND at <= ?').all(1, 1, 'x', 'a', 'b') as { detail: string }[])
        .map((r) => r.detail)
        .join('; '),
    ).toMatch(/boot_events_unattached /);
  });
});
