// The lab's pure parts: layout, demo configuration, QEMU command line, and the seed through a real
// in-memory engine (no root, no QEMU).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/program.js';
import { openEngine } from '../../src/engine/index.js';
import { seedDemo } from '../../src/lab/seed.js';
import { bladeJson, summaryText } from '../../src/lab/summary.js';
import type { BladeResult } from '../../src/lab/watch.js';
import { serialChecks } from './support.js';
import { bladeConfig, bladeSpecs, checkLabName, checkShape, qemuArgs } from '../../src/lab/spec.js';

describe('lab layout', () => {
  it('gives stable, distinct MACs and mixed firmware two BIOS to one UEFI', () => {
    const blades = bladeSpecs({ blades: 3, nics: 2, firmware: 'mixed' });
    expect(blades.map((b) => b.firmware)).toEqual(['bios', 'bios', 'uefi']);
    expect(blades[0]?.macs).toEqual(['52:54:00:7a:01:01', '52:54:00:7a:01:02']);
    expect(new Set(blades.flatMap((b) => b.macs)).size).toBe(6);
    expect(new Set(blades.flatMap((b) => b.taps)).size).toBe(6);
  });

  it('refuses bad shapes and names with a clear message', () => {
    expect(() => checkShape({ blades: 0, nics: 2, firmware: 'bios' })).toThrow(/--blades 0/);
    expect(() => checkShape({ blades: 1, nics: 9, firmware: 'bios' })).toThrow(/--nics 9/);
    expect(() => checkLabName('Bad Name')).toThrow(/lab name/);
  });

  it('puts the data networks on a balance-xor bond with four NICs, and pings the peers', () => {
    const blades = bladeSpecs({ blades: 2, nics: 4, firmware: 'bios' });
    const cfg = bladeConfig(blades[0]!, blades);
    expect(cfg.bonds.map((b) => [b.name, b.mode, b.members.join(',')])).toEqual([
      ['bond0', 'active-backup', 'eth0,eth1'],
      ['bond1', 'balance-xor', 'eth2,eth3'],
    ]);
    expect(cfg.attachments.map((a) => `${a.network}@${a.interface}`)).toEqual(['mgmt@bond0', 'storage@bond1', 'vmnet@bond1']);
    expect(cfg.peers).toEqual(['10.200.0.12', '10.100.0.12']);
  });

  it('builds a diskless QEMU command line (pflash only for UEFI)', () => {
    const [bios, , uefi] = bladeSpecs({ blades: 3, nics: 2, firmware: 'mixed' });
    const a = qemuArgs(bios!, { serial: '/s', qmp: '/q', pid: '/p' });
    expect(a).toContain('-no-reboot');
    expect(a.join(' ')).toContain('-accel tcg');
    expect(a.join(' ')).not.toContain('-drive');
    expect(a.join(' ')).toContain('mac=52:54:00:7a:01:01,bootindex=1');
    const u = qemuArgs(uefi!, { serial: '/s', qmp: '/q', pid: '/p', vars: '/v' }).join(' ');
    expect(u).toContain('if=pflash,format=raw,file=/v');
    expect(() => qemuArgs(uefi!, { serial: '/s', qmp: '/q', pid: '/p' })).toThrow(/OVMF_VARS/);
  });
});

describe('lab seed', () => {
  it('seeds a demo cluster whose plans have the bonds, VLANs and bridges of the demo', () => {
    const opened = openEngine({ dbPath: ':memory:' });
    try {
      const blades = bladeSpecs({ blades: 3, nics: 2, firmware: 'mixed' });
      const { token } = seedDemo(opened.engine, blades);
      expect(token.length).toBeGreaterThan(10);
      const plan = opened.engine.getPlan('blade2');
      const byName = new Map(plan.state.interfaces.map((i) => [i.name, i]));
      expect(byName.get('bond0')?.['link-aggregation']).toMatchObject({ mode: 'active-backup', options: { miimon: 100 } });
      expect(byName.get('mgmt')?.mtu).toBe(9000);
      expect(byName.get('mgmt')?.ipv4).toMatchObject({ address: [{ ip: '10.77.0.12', 'prefix-length': 24 }] });
      expect(byName.get('bond0.200')?.vlan).toEqual({ 'base-iface': 'bond0', id: 200 });
      expect(byName.get('vmnet')?.bridge?.port).toEqual([{ name: 'bond0.100' }]);
      expect(plan.state['custom-properties']['tabula.peer-ping']).toBe('10.200.0.11,10.100.0.11,10.200.0.13,10.100.0.13');
      expect(opened.engine.checkHost('blade2').filter((v) => v.severity === 'error')).toEqual([]);
    } finally {
      opened.close();
    }
  });
});

describe('lab summary', () => {
  const result: BladeResult = {
    name: 'blade1',
    host: 'blade1',
    mac: '52:54:00:7a:01:01',
    firmware: 'uefi',
    outcome: 'rolled-back',
    verified: false,
    rolledBack: true,
    stages: { kernel: 3.1, 'rolled-back': 80.5 },
    secondsToVerified: null,
    generation: 7,
    failedChecks: ['server'],
    report: {
      generation: 7,
      verified: false,
      rolledBack: true,
      inSync: false,
      checks: [
        { name: 'apply', ok: true },
        { name: 'server', ok: false, detail: 'no answer within 60s' },
      ],
      interfaces: [],
      differences: [],
    },
    interfaces: [
      {
        name: 'bond0',
        type: 'bond',
        state: 'up',
        mtu: 9000,
        'link-aggregation': { mode: 'active-backup', port: ['eth0', 'eth1'], options: { miimon: 100, updelay: 0, lacp_rate: 'slow', xmit_hash_policy: 'layer2' } },
        ipv4: { enabled: false },
        ipv6: { enabled: false },
      },
      { name: 'mgmt', type: 'linux-bridge', state: 'up', mtu: 9000, bridge: { options: { stp: { enabled: false }, 'forward-delay': 0 }, port: [{ name: 'bond0' }] }, ipv4: { enabled: true, dhcp: false, address: [{ ip: '10.77.0.11', 'prefix-length': 24 }] }, ipv6: { enabled: false } },
    ],
  };

  it('shows the outcome, the mode-relevant bond options, the addresses and the failed checks', () => {
    const text = summaryText([result], () => 'reported');
    expect(text).toContain('blade1  uefi  52:54:00:7a:01:01  ROLLED BACK (failed: server)');
    expect(text).toContain('1/2 checks ok');
    expect(text).toMatch(/bond0 +mtu 9000 +bond active-backup miimon=100 ports eth0,eth1/);
    expect(text).not.toContain('lacp_rate');
    expect(text).toMatch(/mgmt +mtu 9000 +bridge ports bond0 +10\.77\.0\.11\/24/);
    expect(text).toContain('! server: no answer within 60s');
  });

  it('gives the JSON fields the lab promises', () => {
    const j = bladeJson(result);
    expect(j).toMatchObject({ name: 'blade1', mac: '52:54:00:7a:01:01', firmware: 'uefi', verified: false, secondsToVerified: null, rolledBack: true });
    expect(j.interfaces.map((i) => i.name)).toEqual(['bond0', 'mgmt']);
  });

  it('reads the checks a blade printed on its console, latest apply only', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lab-serial-'));
    const file = path.join(dir, 'b.serial');
    writeFileSync(
      file,
      [
        'tabula: [7.05] applying generation 5',
        'tabula: [9.37] check bond:bond0:mode: ok (balance-rr 0 (planned balance-rr))',
        'tabula: [40.1] applying generation 6',
        'tabula: [41.37] check bond:bond0:mode: ok (active-backup 1 (planned active-backup))',
        'tabula: [41.5] check peer:10.200.0.12: failed, advisory only (no answer to ping within 60s)',
        'tabula: [41.6] check server: FAILED (no answer)',
      ].join('\r\n'),
    );
    expect(serialChecks(file)).toEqual([
      { name: 'bond:bond0:mode', ok: true, detail: 'active-backup 1 (planned active-backup)' },
      { name: 'peer:10.200.0.12', ok: false, detail: 'no answer to ping within 60s', advisory: true },
      { name: 'server', ok: false, detail: 'no answer' },
    ]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('tabula lab (CLI errors, no root needed)', () => {
  const capture = (): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, out, err };
  };

  it('refuses a bad flag as a usage error (exit 2) before touching anything', async () => {
    const c = capture();
    expect(await run(['lab', 'up', '--blades', '0'], c.io)).toBe(2);
    expect(c.err.join('')).toMatch(/--blades must be a whole number from 1 to 32/);
  });

  it('names an unknown lab with LAB_INVALID (exit 1)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lab-root-'));
    const c = capture();
    expect(await run(['--json', 'lab', 'down', 'nosuch'], c.io, { env: { ...process.env, TABULA_LAB_DIR: dir } })).toBe(1);
    expect(JSON.parse(c.err.join('')).error).toMatchObject({ code: 'LAB_INVALID' });
    expect(JSON.parse(c.err.join('')).error.message).toContain("no lab 'nosuch'");
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a lab name that could not be a namespace name', () => {
    expect(() => checkLabName('../etc')).toThrow(expect.objectContaining({ code: 'LAB_INVALID' }));
  });
});
