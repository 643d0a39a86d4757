// The whole HTTP boot chain for a new MAC, as a blade walks it: generic script, per-host script with its
// token, kernel and initrd, inventory, config, report; then the timeline over the API and /metrics.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootRecord } from '../../../src/boot/events.js';
import { call, errorOf, startHarness } from '../../api/helpers.js';
import { type BootHarness, PUBLIC_URL, errorCode, hyp, inventory, mac, send, startBootHarness, tokenOf } from './helpers.js';

let h: BootHarness;
beforeAll(async () => {
  h = await startBootHarness();
});
afterAll(async () => {
  await h.close();
});

const bootTables = (): unknown => {
  const t = h.opened.repo.dumpTables();
  return { boots: t.boots, boot_events: t.boot_events, hosts: t.hosts };
};

describe('the boot chain of a new blade', () => {
  const m = mac(1);
  let token = '';
  let hostId = 0;
  let generation = 0;

  it('GET /boot.ipxe: the generic script, and nothing recorded', async () => {
    const before = bootTables();
    const r = await send(h, 'GET', '/boot.ipxe');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.text.startsWith('#!ipxe\n')).toBe(true);
    expect(r.text).toContain(`set tabula-server ${PUBLIC_URL}\n`);
    expect(r.text).toContain('chain --autofree ${tabula-server}/boot/${netX/mac:hexhyp}/ipxe');
    expect(bootTables()).toEqual(before);
  });

  it('firmware DHCP before the script is kept for the boot that follows', () => {
    h.services.events.record({ mac: m, stage: 'dhcp-discover', data: { arch: 7, userClass: 'iPXE' } });
    h.services.events.record({ mac: m, stage: 'dhcp-offer', data: { arch: 7, ip: '10.77.0.100' } });
    h.services.events.record({ mac: m, stage: 'dhcp-request', data: { arch: 7 } });
    h.services.events.record({ mac: m, stage: 'dhcp-ack', data: { arch: 7, ip: '10.77.0.100' } });
    const rows = h.opened.repo.dumpTables().boot_events as { boot_id: number | null; host_id: number | null }[];
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.boot_id === null && r.host_id === null)).toBe(true);
  });

  it('GET /boot/{mac}/ipxe enrols the MAC and hands out the per-host script with a fresh token', async () => {
    const r = await send(h, 'GET', `/boot/${hyp(m)}/ipxe`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    token = tokenOf(r.text);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const kernel = r.text.split('\n').find((l) => l.startsWith('kernel ')) ?? '';
    expect(kernel).toContain(`${PUBLIC_URL}/boot/${hyp(m)}/kernel initrd=initrd.img BOOTIF=01-\${netX/mac:hexhyp}`);
    expect(kernel).toContain(`tabula.server=${PUBLIC_URL} `);
    expect(kernel).toContain('console=ttyS0 panic=-1');
    expect(r.text).toContain(`initrd --name initrd.img ${PUBLIC_URL}/boot/${hyp(m)}/initrd`);
    const hosts = h.opened.engine.listHosts();
    expect(hosts.map((x) => [x.name, x.bootMac, x.state])).toEqual([['host-525400000501', m, 'new']]);
    hostId = (hosts[0] as { id: number }).id;
    // the four DHCP events now belong to this boot and host
    const rows = h.opened.repo.dumpTables().boot_events as { boot_id: number | null; host_id: number | null; stage: string }[];
    expect(rows.filter((x) => x.stage.startsWith('dhcp-')).every((x) => x.boot_id !== null && x.host_id === hostId)).toBe(true);
  });

  it('the colon form of the MAC is accepted, a malformed one is refused', async () => {
    const bad = await send(h, 'GET', '/boot/52-54-00-zz-00-01/kernel');
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe('INVALID_MAC');
    const multicast = await send(h, 'GET', '/boot/01-00-5e-00-00-01/ipxe');
    expect(multicast.status).toBe(400);
    expect(h.opened.engine.listHosts()).toHaveLength(1);
  });

  it('GET kernel: whole file, one range, HEAD, and 416 past the end', async () => {
    const size = h.kernel.length;
    const full = await send(h, 'GET', `/boot/${hyp(m)}/kernel`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe(String(size));
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('content-type')).toBe('application/octet-stream');
    expect(full.body.equals(h.kernel)).toBe(true);

    const part = await send(h, 'GET', `/boot/${m}/kernel`, { headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(part.body.equals(h.kernel.subarray(0, 100))).toBe(true);

    const tail = await send(h, 'GET', `/boot/${hyp(m)}/kernel`, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect(tail.body.equals(h.kernel.subarray(size - 10))).toBe(true);

    const head = await send(h, 'HEAD', `/boot/${hyp(m)}/kernel`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.body.length).toBe(0);

    const past = await send(h, 'GET', `/boot/${hyp(m)}/kernel`, { headers: { range: `bytes=${size}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
    expect(past.body.length).toBe(0);
  });

  it('GET initrd: the whole file', async () => {
    const r = await send(h, 'GET', `/boot/${hyp(m)}/initrd`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(h.initrd.length));
    expect(r.body.equals(h.initrd)).toBe(true);
  });

  it('POST inventory with the token saves the NICs and derives the management network', async () => {
    const r = await send(h, 'POST', `/boot/${hyp(m)}/inventory`, { token, json: inventory([1, 2, 3]) });
    expect(r.status).toBe(200);
    const result = r.json as { host: { name: string; generation: number }; changes: { kind: string }[] };
    expect(result.host.name).toBe('host-525400000501');
    expect(result.changes.map((c) => c.kind)).toEqual(['nic-added', 'nic-added', 'nic-added', 'management-derived']);
    expect(h.opened.engine.listNics(hostId).map((n) => [n.name, n.mac])).toEqual([
      ['eth0', mac(1)],
      ['eth1', mac(2)],
      ['eth2', mac(3)],
    ]);
    expect(h.opened.engine.listAttachments(hostId).map((a) => [a.network, a.interface.name, a.ipv4.method])).toEqual([['mgmt', 'eth0', 'dhcp']]);
    generation = result.host.generation;
    expect(generation).toBeGreaterThan(1);
  });

  it('the blade’s own DHCP (no PXE architecture) joins the current boot', () => {
    h.services.events.record({ mac: m, stage: 'dhcp-discover', data: { client: 'udhcp 1.35.0' } });
    const rows = h.opened.repo.dumpTables().boot_events as { boot_id: number | null; stage: string; data: string }[];
    const last = rows[rows.length - 1];
    expect(last?.stage).toBe('dhcp-discover');
    expect(last?.boot_id).not.toBeNull();
  });

  it('GET config (token in X-Tabula-Token) is the apply script of the plan, which sh -n accepts', async () => {
    const r = await send(h, 'GET', `/boot/${hyp(m)}/config`, { xToken: token });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('x-tabula-generation')).toBe(String(generation));
    expect(r.headers.get('x-tabula-fallback')).toBeNull();
    expect(r.text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(r.text).toContain("tabula_dhcp 'eth0'");
    expect(r.text).toContain(`step done generation ${generation}`);
    const sh = spawnSync('sh', ['-n'], { input: r.text, encoding: 'utf8' });
    expect(sh.stderr).toBe('');
    expect(sh.status).toBe(0);
  });

  it('POST report verified records the applied generation: the host is in sync', async () => {
    expect(h.opened.engine.getHost(hostId).inSync).toBe(false);
    const r = await send(h, 'POST', `/boot/${hyp(m)}/report`, {
      token,
      json: { generation, verified: true, checks: [{ name: 'ping-engine', ok: true }, { name: 'mtu', ok: true, detail: '1500' }], durationsMs: { apply: 812, verify: 95 } },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ host: 'host-525400000501', generation, reported: generation, appliedGeneration: generation, fallback: false, inSync: true });
    const host = h.opened.engine.getHost(hostId);
    expect(host.appliedGeneration).toBe(generation);
    expect(host.inSync).toBe(true);
  });

  it('GET /api/v1/hosts/{id}/boots shows the boot with its stages in order', async () => {
    const r = await send(h, 'GET', `/api/v1/hosts/${hostId}/boots`, { token: h.adminToken });
    expect(r.status).toBe(200);
    const boots = r.json as BootRecord[];
    expect(boots).toHaveLength(1);
    const b = boots[0] as BootRecord;
    expect(b).toMatchObject({ mac: m, current: true });
    expect(b.events.map((e) => e.stage)).toEqual([
      'dhcp-discover',
      'dhcp-offer',
      'dhcp-request',
      'dhcp-ack',
      'host-script',
      'kernel',
      'kernel',
      'kernel',
      'initrd',
      'inventory',
      'dhcp-discover',
      'config',
      'report',
      'verified',
    ]);
    const at = b.events.map((e) => Date.parse(e.at));
    expect([...at].sort((x, y) => x - y)).toEqual(at);
    expect(b.events.filter((e) => e.stage === 'kernel').map((e) => e.data)).toEqual([
      { bytes: h.kernel.length, size: h.kernel.length, status: 200 },
      { bytes: 100, size: h.kernel.length, status: 206, range: '0-99' },
      { bytes: 10, size: h.kernel.length, status: 206, range: `${h.kernel.length - 10}-${h.kernel.length - 1}` },
    ]);
    expect(b.events.find((e) => e.stage === 'report')?.data).toEqual({ generation, verified: true, rolledBack: false, checks: 2, failed: 0, 'ms.apply': 812, 'ms.verify': 95 });
    expect(b.events.find((e) => e.stage === 'config')?.data).toEqual({ generation, fallback: false });

    const limited = await send(h, 'GET', `/api/v1/hosts/host-525400000501/boots?limit=1`, { token: h.adminToken });
    expect((limited.json as BootRecord[]).map((x) => x.id)).toEqual([b.id]);
    for (const bad of ['0', '101', 'x', '1.5']) {
      const r2 = await send(h, 'GET', `/api/v1/hosts/${hostId}/boots?limit=${bad}`, { token: h.adminToken });
      expect(r2.status, bad).toBe(400);
    }
    expect((await send(h, 'GET', `/api/v1/hosts/${hostId}/boots`)).status).toBe(401);
    const missing = await send(h, 'GET', '/api/v1/hosts/nope/boots', { token: h.adminToken });
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('HOST_NOT_FOUND');
  });

  it('/metrics shows requests by route and status, tokens issued and stage durations', async () => {
    const r = await send(h, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const t = r.text;
    expect(t).toContain('tabula_http_requests_total{route="/boot.ipxe",status="200"} 1');
    expect(t).toContain('tabula_http_requests_total{route="/boot/{mac}/kernel",status="206"} 2');
    expect(t).toContain('tabula_http_requests_total{route="/boot/{mac}/kernel",status="416"} 1');
    expect(t).toContain('tabula_http_requests_total{route="/boot/{mac}/config",status="200"} 1');
    expect(t).toContain('tabula_http_requests_total{route="/api/v1/hosts/{host}/boots",status="200"} 2');
    expect(t).toContain('tabula_boot_tokens_issued_total 1');
    expect(t).toContain('tabula_boot_events_total{stage="ipxe-script"} 1');
    expect(t).toMatch(/^tabula_boot_stage_seconds_count\{stage="kernel"\} 3$/m);
    expect(t).toMatch(/^tabula_boot_stage_seconds_count\{stage="verified"\} 1$/m);
    // adopted firmware events happened before the boot started: no duration for them
    expect(t).not.toMatch(/tabula_boot_stage_seconds_count\{stage="dhcp-offer"\}/);
  });

  it('other methods on boot paths are 405 with Allow; HEAD of the per-host script starts no boot', async () => {
    const before = bootTables();
    const head = await send(h, 'HEAD', `/boot/${hyp(m)}/ipxe`);
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET');
    const post = await send(h, 'POST', '/boot.ipxe');
    expect(post.status).toBe(405);
    expect(errorCode(post)).toBe('METHOD_NOT_ALLOWED');
    const del = await send(h, 'DELETE', `/boot/${hyp(m)}/kernel`);
    expect(del.status).toBe(405);
    expect(bootTables()).toEqual(before);
    const unknown = await send(h, 'GET', `/boot/${hyp(m)}/nothing`);
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('ROUTE_NOT_FOUND');
  });
});

describe('missing boot artefacts', () => {
  it('answer 404 BOOT_ARTIFACT_MISSING naming the file, and record nothing', async () => {
    const bare = await startBootHarness({ withArtefacts: false });
    try {
      for (const [what, file] of [
        ['kernel', 'vmlinuz'],
        ['initrd', 'initrd.img'],
      ]) {
        const r = await send(bare, 'GET', `/boot/${hyp(mac(9))}/${what}`);
        expect(r.status).toBe(404);
        expect(errorCode(r)).toBe('BOOT_ARTIFACT_MISSING');
        expect((r.json as { error: { details: { file: string }; message: string } }).error.details.file).toBe(file);
        expect((r.json as { error: { message: string } }).error.message).toContain(file);
        expect((r.json as { error: { message: string } }).error.message).not.toContain(bare.bootDir);
      }
      expect(bare.opened.repo.dumpTables().boot_events).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('an app without the boot services', () => {
  it('serves no boot routes and no /metrics, and the boots route says the timeline is unavailable', async () => {
    const api = await startHarness();
    try {
      expect((await call(api, 'GET', '/boot.ipxe', { token: null })).status).toBe(404);
      expect((await call(api, 'GET', '/metrics', { token: null })).status).toBe(404);
      const host = api.opened.engine.createHost({ name: 'blade1' });
      const r = await call(api, 'GET', `/api/v1/hosts/${host.id}/boots`);
      expect(r.status).toBe(503);
      expect(errorOf(r).code).toBe('BOOT_TIMELINE_UNAVAILABLE');
    } finally {
      await api.close();
    }
  });
});
