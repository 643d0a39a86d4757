// Boot reports carrying the kernel's state, through the real POST /boot/{mac}/report: the engine keeps
// the latest per host, compares it with the plan and puts the host in or out of sync; the report is
// read back from GET /api/v1/hosts/{host}/report. The kernel states are real captures
// (test/fixtures/kernel, from image boots of the same blade).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostReport } from '../../../src/engine/types.js';
import { seedBlade, type SeededBlade } from '../../image/engine-blade.js';
import { type BootHarness, bootHost, errorCode, hyp, send, startBootHarness } from './helpers.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'kernel');
type RawReport = { generation: number; verified: boolean; rolledBack?: boolean; checks: { name: string; ok: boolean }[]; kernel: Record<string, unknown> };
const fixture = (name: string): RawReport => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as RawReport;

let h: BootHarness;
let blade: SeededBlade;
let generation: number;
beforeAll(async () => {
  h = await startBootHarness();
  blade = await seedBlade(h);
  generation = h.opened.engine.getHost(blade.name).generation;
});
afterAll(async () => {
  await h.close();
});

const post = (json: unknown) => send(h, 'POST', `/boot/${hyp(blade.mac)}/report`, { token: blade.token, json });
const latest = async (): Promise<HostReport> => {
  const r = await send(h, 'GET', `/api/v1/hosts/${blade.name}/report`, { token: h.adminToken });
  expect(r.status).toBe(200);
  return r.json as HostReport;
};

describe('boot reports with the kernel state', () => {
  it('answers 404 REPORT_NOT_FOUND before any report', async () => {
    const r = await send(h, 'GET', `/api/v1/hosts/${blade.name}/report`, { token: h.adminToken });
    expect(r.status).toBe(404);
    expect(errorCode(r)).toBe('REPORT_NOT_FOUND');
  });

  it('a verified report whose kernel state matches the plan puts the host in sync', async () => {
    const r = await post({ ...fixture('verified-report.json'), generation });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ inSync: true, appliedGeneration: generation });
    const rep = await latest();
    expect(rep).toMatchObject({ host: 'blade1', generation, hostGeneration: generation, verified: true, rolledBack: false, fallback: false, observed: true, compared: true, differences: [], inSync: true, syncReasons: [] });
    const bond = rep.interfaces.find((i) => i.name === 'bond0');
    expect(bond?.['link-aggregation']).toMatchObject({ mode: 'active-backup', port: ['eth0', 'eth1'], options: { miimon: 100, primary: 'eth0' } });
    expect(rep.interfaces.find((i) => i.name === 'mgmt')).toMatchObject({ type: 'linux-bridge', mtu: 9000, ipv4: { address: [{ ip: '10.100.0.11', 'prefix-length': 24 }] } });
    expect(rep.checks.find((c) => c.name === 'block-devices')?.detail).toBe('none');
    expect(rep.bootId).toBe(h.services.store.currentBootIdOf(blade.mac));
  });

  it('a verified report whose kernel differs from the plan leaves the host out of sync, with the differences as reasons', async () => {
    const raw = fixture('verified-report.json');
    const bonds = raw.kernel.bonds as Record<string, Record<string, string>>;
    (bonds.bond0 as Record<string, string>).miimon = '250';
    const r = await post({ ...raw, generation });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ inSync: false });
    const rep = await latest();
    expect(rep.differences).toEqual([{ interface: 'bond0', field: 'link-aggregation.options.miimon', planned: 100, observed: 250 }]);
    expect(rep.syncReasons).toEqual([{ code: 'STATE_DIFFERS', message: 'bond0 link-aggregation.options.miimon: planned 100, observed 250' }]);
    expect(h.opened.engine.getHost(blade.name)).toMatchObject({ inSync: false, syncReasons: rep.syncReasons });
  });

  it('a rolled-back report is out of sync with its failed checks and every planned device missing', async () => {
    const r = await post({ ...fixture('rollback-report.json'), generation });
    expect(r.status).toBe(200);
    const rep = await latest();
    expect(rep).toMatchObject({ verified: false, rolledBack: true, inSync: false, compared: true });
    expect(rep.syncReasons[0]).toEqual({ code: 'REPORT_NOT_VERIFIED', message: `generation ${generation} failed verification on the blade and was rolled back: server` });
    expect(rep.differences.filter((d) => d.field === 'present').map((d) => d.interface)).toEqual(['bond0', 'bond0.100', 'mgmt']);
    expect(rep.interfaces.map((i) => i.name)).toEqual(['eth0', 'eth1', 'eth2']);
    // The generation the blade verified earlier stays applied: the host runs it, badly.
    expect(h.opened.engine.getHost(blade.name).appliedGeneration).toBe(generation);
  });

  it('a failed advisory check does not keep the host out of sync', async () => {
    const raw = fixture('verified-report.json');
    raw.checks.push({ name: 'peer:10.100.0.12', ok: false, advisory: true } as RawReport['checks'][number]);
    const r = await post({ ...raw, generation });
    expect(r.json).toMatchObject({ inSync: true });
    expect((await latest()).checks.at(-1)).toEqual({ name: 'peer:10.100.0.12', ok: false, advisory: true });
  });

  it('a report of an older generation is kept but not compared; the host is out of sync until it applies the new one', async () => {
    h.opened.engine.updateNetwork('default', 'mgmt', { mtu: 1500 });
    const now = h.opened.engine.getHost(blade.name).generation;
    expect(now).toBeGreaterThan(generation);
    await post({ ...fixture('verified-report.json'), generation });
    const rep = await latest();
    expect(rep).toMatchObject({ generation, hostGeneration: now, compared: false, differences: [], inSync: false });
    expect(rep.syncReasons.map((x) => x.code)).toEqual(['NOT_APPLIED']);
    h.opened.engine.updateNetwork('default', 'mgmt', { mtu: 9000 });
  });

  it('refuses a hostile kernel state and keeps the last report', async () => {
    const before = await latest();
    const link = Array.from({ length: 2000 }, (_, i) => ({ ifname: `x${i}` }));
    const r = await post({ generation, verified: true, kernel: { link } });
    expect(r.status).toBe(400);
    expect(errorCode(r)).toBe('INVALID_REQUEST');
    const deep = await post({ generation, verified: true, kernel: { link: [{ ifname: 'eth0', mtu: -5 }] } });
    expect(deep.status).toBe(400);
    expect((await latest()).receivedAt).toBe(before.receivedAt);
  });

  it('a report without kernel state still works (older images): verified, nothing compared', async () => {
    const other = await bootHost(h, [0x41]);
    const gen = h.opened.engine.getHost(other.hostId).generation;
    const r = await send(h, 'POST', `/boot/${hyp(other.mac)}/report`, { token: other.token, json: { generation: gen, verified: true } });
    expect(r.json).toMatchObject({ inSync: true });
    const rep = await send(h, 'GET', `/api/v1/hosts/${other.hostId}/report`, { token: h.adminToken });
    expect(rep.json).toMatchObject({ observed: false, compared: false, interfaces: [], differences: [], inSync: true });
  });
});
