// `tabula host report` reads the latest report the boot chain stored, from the same database file:
// the kernel's interfaces as a table, the checks, the differences; --json is the lab's contract.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/program.js';
import type { HostReport } from '../../../src/engine/types.js';
import { seedBlade } from '../../image/engine-blade.js';
import { type BootHarness, hyp, send, startBootHarness } from './helpers.js';

let h: BootHarness;
let db: string;

async function tabula(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['--db', db, ...argv], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) }, { env: {}, logStream: { write: () => {} } });
  return { code, stdout, stderr };
}

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'kernel', name), 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  db = join(mkdtempSync(join(tmpdir(), 'tabula-report-cli-')), 'tabula.db');
  h = await startBootHarness({ dbPath: db });
});
afterAll(async () => {
  await h.close();
  rmSync(dirname(db), { recursive: true, force: true });
});

describe('tabula host report', () => {
  it('fails with REPORT_NOT_FOUND before the first report', async () => {
    const blade = await seedBlade(h);
    const r = await tabula(['--json', 'host', 'report', blade.name]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('REPORT_NOT_FOUND');
  });

  it('prints the interfaces, checks and differences of the latest report, and the same as --json', async () => {
    const blade = h.opened.engine.getHost('blade1');
    const token = (await send(h, 'GET', `/boot/${hyp(blade.bootMac as string)}/ipxe`)).text.match(/tabula\.token=(\S+)/)?.[1] as string;
    const raw = fixture('verified-report.json');
    ((raw.kernel as { bonds: Record<string, Record<string, string>> }).bonds.bond0 as Record<string, string>).miimon = '300';
    const posted = await send(h, 'POST', `/boot/${hyp(blade.bootMac as string)}/report`, { token, json: { ...raw, generation: blade.generation } });
    expect(posted.status).toBe(200);

    const text = await tabula(['host', 'report', 'blade1']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))?.split(/\s{2,}/);
    expect(lines.find((l) => l.startsWith('NAME'))).toMatch(/^NAME\s+TYPE\s+STATE\s+MTU\s+CONTROLLER\s+BOND MODE\s+MIIMON\s+VLAN\s+PORTS\s+ADDRESSES$/);
    expect(row('bond0')).toEqual(['bond0', 'bond', 'up', '9000', '-', 'active-backup', '300', '-', 'eth0,eth1', '-']);
    expect(row('bond0.100')).toEqual(['bond0.100', 'vlan', 'up', '9000', 'mgmt', '-', '-', '100@bond0', '-', '-']);
    expect(row('mgmt')).toEqual(['mgmt', 'linux-bridge', 'up', '9000', '-', '-', '-', '-', 'bond0.100', '10.100.0.11/24']);
    expect(text.stdout).toMatch(/^block-devices\s+ok\s+none$/m);
    expect(text.stdout).toContain('differences from the plan:\n  bond0 link-aggregation.options.miimon: planned 100, observed 300\n');
    expect(text.stdout).toMatch(/in sync:\s+no/);

    const json = await tabula(['--json', 'host', 'report', 'blade1']);
    const r = JSON.parse(json.stdout) as HostReport;
    expect(r).toMatchObject({ verified: true, rolledBack: false, inSync: false, generation: blade.generation });
    expect(r.interfaces.map((i) => i.name)).toEqual(['bond0', 'bond0.100', 'eth0', 'eth1', 'eth2', 'mgmt']);
    expect(r.differences).toEqual([{ interface: 'bond0', field: 'link-aggregation.options.miimon', planned: 100, observed: 300 }]);
    expect(r.checks.length).toBeGreaterThan(10);
  });
});
