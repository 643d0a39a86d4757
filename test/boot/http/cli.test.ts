// `tabula host boots` reads the timeline the boot chain wrote, from the same database file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/program.js';
import type { BootRecord } from '../../../src/boot/events.js';
import { type BootHarness, hyp, inventory, mac, send, startBootHarness, tokenOf } from './helpers.js';

let h: BootHarness;
let db: string;

async function tabula(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['--db', db, ...argv], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) }, { env: {}, logStream: { write: () => {} } });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  // A file database (WAL) so that the CLI opens the same data next to the running server.
  db = join(mkdtempSync(join(tmpdir(), 'tabula-boot-cli-')), 'tabula.db');
  h = await startBootHarness({ dbPath: db });
  const m = mac(1);
  h.services.events.record({ mac: m, stage: 'dhcp-discover', data: { arch: 7, userClass: 'iPXE' } });
  const first = tokenOf((await send(h, 'GET', `/boot/${hyp(m)}/ipxe`)).text);
  await send(h, 'GET', `/boot/${hyp(m)}/kernel`);
  const token = tokenOf((await send(h, 'GET', `/boot/${hyp(m)}/ipxe`)).text);
  expect(token).not.toBe(first);
  await send(h, 'GET', `/boot/${hyp(m)}/kernel`);
  await send(h, 'GET', `/boot/${hyp(m)}/initrd`);
  expect((await send(h, 'POST', `/boot/${hyp(m)}/inventory`, { token, json: inventory([1, 2]) })).status).toBe(200);
  const config = await send(h, 'GET', `/boot/${hyp(m)}/config`, { token });
  const generation = Number(config.headers.get('x-tabula-generation'));
  expect((await send(h, 'POST', `/boot/${hyp(m)}/report`, { token, json: { generation, verified: true } })).status).toBe(200);
});
afterAll(async () => {
  await h.close();
  rmSync(dirname(db), { recursive: true, force: true });
});

describe('tabula host boots', () => {
  it('prints each boot (start, MAC, current) and its stages with seconds since the start', async () => {
    const r = await tabula(['host', 'boots', 'host-525400000501']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const blocks = r.stdout.trimEnd().split('\n\n');
    expect(blocks).toHaveLength(2);
    const [latest, older] = blocks.map((b) => b.split('\n')) as [string[], string[]];
    expect(latest[0]).toMatch(/^boot \d+ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}52:54:00:00:05:01 {2}current$/);
    expect(older[0]).toMatch(/^boot \d+ {2}\S+ {2}52:54:00:00:05:01$/);
    const stageOf = (line: string): string => (line.trim().split(/\s+/)[1] as string);
    expect(latest.slice(1).map(stageOf)).toEqual(['host-script', 'kernel', 'initrd', 'inventory', 'config', 'report', 'verified']);
    expect(older.slice(1).map(stageOf)).toEqual(['dhcp-discover', 'host-script', 'kernel']);
    for (const line of [...latest.slice(1), ...older.slice(1)]) expect(line).toMatch(/^ {2} *[+-]\d+\.\d{3}s {2}\S+/);
    expect(older[1]).toMatch(/^ {2}-\d+\.\d{3}s {2}dhcp-discover {2}arch=7 userClass=iPXE$/);
    expect(latest.find((l) => l.includes(' kernel '))).toMatch(/bytes=5000 size=5000 status=200$/);
  });

  it('--json prints the same list as the API, and --limit caps it', async () => {
    const r = await tabula(['--json', 'host', 'boots', 'host-525400000501', '--limit', '1']);
    expect(r.code).toBe(0);
    const fromCli = JSON.parse(r.stdout) as BootRecord[];
    const api = await send(h, 'GET', '/api/v1/hosts/host-525400000501/boots?limit=1', { token: h.adminToken });
    expect(fromCli).toEqual(api.json);
    expect(fromCli).toHaveLength(1);
    expect(fromCli[0]?.current).toBe(true);
  });

  it('refuses a bad --limit (exit 2) and an unknown host (exit 1); a host without boots says so', async () => {
    const bad = await tabula(['host', 'boots', 'host-525400000501', '--limit', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit <n>' argument '0' is invalid/);
    const unknown = await tabula(['host', 'boots', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error HOST_NOT_FOUND/);
    await tabula(['host', 'create', 'quiet']);
    expect(await tabula(['host', 'boots', 'quiet'])).toEqual({ code: 0, stdout: "host 'quiet': no boots recorded\n", stderr: '' });
  });
});
