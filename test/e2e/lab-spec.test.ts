// The lab's pure parts: layout, demo configuration, QEMU command line, and the seed through a real
// in-memory engine (no root, no QEMU).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { Session } from '../../src/cli/context.js';
import { buildProgram, run } from '../../src/cli/program.js';
import type { HostPlan, InterfaceState } from '../../src/domain/plan-types.js';
import { openEngine } from '../../src/engine/index.js';
import { seedDemo } from '../../src/lab/seed.js';
import { bladeJson, summaryText } from '../../src/lab/summary.js';
import type { BladeResult } from '../../src/lab/watch.js';
import { serialChecks } from './support.js';
import { bladeConfig, bladeSpecs, checkLabName, checkShape, checkSwitchType, qemuArgs } from '../../src/lab/spec.js';

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

  it('on an ovs switch gives bond0 its first NIC as primary and makes the four-NIC bond1 balance-slb', () => {
    const blades = bladeSpecs({ blades: 2, nics: 4, firmware: 'bios', switchType: 'ovs' });
    const cfg = bladeConfig(blades[1]!, blades, 'ovs');
    expect(cfg.bonds).toEqual([
      { name: 'bond0', mode: 'active-backup', members: ['eth0', 'eth1'], options: { miimon: 100, primary: 'eth0' } },
      { name: 'bond1', mode: 'balance-slb', members: ['eth2', 'eth3'], options: { miimon: 100 } },
    ]);
    // Same networks in the same places as on linux, and the linux layout keeps no primary.
    expect(cfg.attachments).toEqual(bladeConfig(blades[1]!, blades).attachments);
    expect(bladeConfig(blades[1]!, blades).bonds[0]?.options).toEqual({ miimon: 100 });
  });

  it('refuses a switch type other than linux or ovs with LAB_INVALID', () => {
    expect(checkSwitchType('ovs')).toBe('ovs');
    expect(checkSwitchType('linux')).toBe('linux');
    expect(() => checkSwitchType('bridge')).toThrow(expect.objectContaining({ code: 'LAB_INVALID', message: "--switch 'bridge' must be linux or ovs" }));
    expect(() => checkShape({ blades: 1, nics: 2, firmware: 'bios', switchType: 'OVS' as 'ovs' })).toThrow(expect.objectContaining({ code: 'LAB_INVALID' }));
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

describe('lab seed, ovs switch', () => {
  const bridgePort = (plan: HostPlan, bridge: string, port: string): NonNullable<InterfaceState['bridge']>['port'][number] | undefined =>
    plan.state.interfaces.find((i) => i.name === bridge)?.bridge?.port.find((p) => p.name === port);

  for (const nics of [1, 2, 4]) {
    it(`seeds an ovs cluster whose ${nics}-NIC blades plan without a validation error`, () => {
      const opened = openEngine({ dbPath: ':memory:' });
      try {
        const blades = bladeSpecs({ blades: 3, nics, firmware: 'bios', switchType: 'ovs' });
        seedDemo(opened.engine, blades, 'ovs');
        expect(opened.engine.getCluster('rack1').switchType).toBe('ovs');
        for (const b of blades) {
          expect(opened.engine.checkHost(b.name).filter((v) => v.severity === 'error'), b.name).toEqual([]);
          const plan = opened.engine.getPlan(b.name);
          expect(plan.switchType).toBe('ovs');
          // No kernel bonds, VLAN devices or Linux bridges: Open vSwitch builds it all.
          expect(plan.state.interfaces.filter((i) => ['bond', 'vlan', 'linux-bridge'].includes(i.type)).map((i) => i.name)).toEqual([]);
          const internal = new Map(plan.state.interfaces.filter((i) => i.type === 'ovs-interface').map((i) => [i.name, i]));
          expect([...internal.keys()].sort()).toEqual(['mgmt', 'storage', 'vmnet']);
          expect(internal.get('mgmt')?.ipv4).toMatchObject({ address: [{ ip: b.mgmtIp, 'prefix-length': 24 }] });
          expect(internal.get('mgmt')?.['mac-address']).toBe(b.macs[0]);
          const dataBridge = nics >= 4 ? 'ovsbr1' : 'ovsbr0';
          expect(bridgePort(plan, 'ovsbr0', 'mgmt')?.vlan).toEqual({ mode: 'access', tag: 0 });
          expect(bridgePort(plan, dataBridge, 'storage')?.vlan).toEqual({ mode: 'access', tag: 200 });
          expect(bridgePort(plan, dataBridge, 'vmnet')?.vlan).toEqual({ mode: 'access', tag: 100 });
        }
        const plan = opened.engine.getPlan('blade1');
        if (nics === 1) {
          expect(plan.state.interfaces.filter((i) => i.type === 'ovs-bridge').map((i) => i.name)).toEqual(['ovsbr0']);
          expect(bridgePort(plan, 'ovsbr0', 'eth0')).toEqual({ name: 'eth0' });
        } else {
          expect(bridgePort(plan, 'ovsbr0', 'bond0')?.['link-aggregation']).toEqual({
            mode: 'active-backup',
            lacp: 'off',
            port: [{ name: 'eth0' }, { name: 'eth1' }],
            'ovs-db': { other_config: { 'bond-detect-mode': 'miimon', 'bond-miimon-interval': '100', 'bond-primary': 'eth0' } },
          });
        }
        if (nics === 4) {
          expect(bridgePort(plan, 'ovsbr1', 'bond1')?.['link-aggregation']).toMatchObject({ mode: 'balance-slb', lacp: 'off', port: [{ name: 'eth2' }, { name: 'eth3' }] });
        } else {
          expect(plan.state.interfaces.some((i) => i.name === 'ovsbr1')).toBe(false);
        }
      } finally {
        opened.close();
      }
    });
  }

  it('the engine refuses the linux four-NIC layout on an ovs cluster (why bond1 is balance-slb there)', () => {
    const opened = openEngine({ dbPath: ':memory:' });
    try {
      const blades = bladeSpecs({ blades: 1, nics: 4, firmware: 'bios' });
      // A linux seed cannot become ovs: balance-xor is no Open vSwitch mode.
      seedDemo(opened.engine, blades);
      expect(() => opened.engine.updateCluster('rack1', { switchType: 'ovs' })).toThrow(/balance-xor/);
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
    switchType: 'linux',
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
    expect(text).toContain('blade1  uefi  linux  52:54:00:7a:01:01  ROLLED BACK (failed: server)');
    expect(text).toContain('1/2 checks ok');
    expect(text).toMatch(/bond0 +mtu 9000 +bond active-backup miimon=100 ports eth0,eth1/);
    expect(text).not.toContain('lacp_rate');
    expect(text).toMatch(/mgmt +mtu 9000 +bridge ports bond0 +10\.77\.0\.11\/24/);
    expect(text).toContain('! server: no answer within 60s');
  });

  it('shows an Open vSwitch blade: bridges with their ports, internal ports with their VLAN, bonds with members enabled', () => {
    const ovsBlade: BladeResult = {
      ...result,
      switchType: 'ovs',
      outcome: 'verified',
      verified: true,
      rolledBack: false,
      secondsToVerified: 41.2,
      failedChecks: [],
      report: null,
      interfaces: [
        { name: 'eth0', type: 'ethernet', state: 'up', mtu: 9000, controller: 'ovsbr0', ipv4: { enabled: false }, ipv6: { enabled: false } },
        {
          name: 'ovsbr0',
          type: 'ovs-bridge',
          state: 'down',
          mtu: 9000,
          bridge: {
            options: { stp: { enabled: false }, 'mcast-snooping-enable': false },
            port: [
              {
                name: 'bond0',
                'link-aggregation': {
                  mode: 'active-backup',
                  lacp: 'off',
                  port: [{ name: 'eth0' }, { name: 'eth1' }],
                  'ovs-db': { other_config: { 'bond-miimon-interval': '100', 'bond-primary': 'eth0' } },
                  'members-enabled': ['eth0', 'eth1'],
                } as NonNullable<NonNullable<InterfaceState['bridge']>['port'][number]['link-aggregation']>,
              },
              { name: 'mgmt', vlan: { mode: 'access', tag: 0 } },
              { name: 'storage', vlan: { mode: 'access', tag: 200 } },
            ],
          },
          ipv4: { enabled: false },
          ipv6: { enabled: false },
        },
        { name: 'mgmt', type: 'ovs-interface', state: 'up', mtu: 9000, controller: 'ovsbr0', ipv4: { enabled: true, address: [{ ip: '10.77.0.11', 'prefix-length': 24 }] }, ipv6: { enabled: false } },
        { name: 'storage', type: 'ovs-interface', state: 'up', mtu: 9000, controller: 'ovsbr0', ipv4: { enabled: true, address: [{ ip: '10.200.0.11', 'prefix-length': 24 }] }, ipv6: { enabled: false } },
      ],
    };
    const text = summaryText([ovsBlade], () => 'reported');
    expect(text).toContain('blade1  uefi  ovs  52:54:00:7a:01:01  verified in 41.2 s');
    expect(text).toMatch(/ovsbr0 +mtu 9000 +ovs bridge ports bond0,mgmt,storage\n/);
    expect(text).toMatch(/mgmt +mtu 9000 +ovs internal port on ovsbr0, untagged +10\.77\.0\.11\/24/);
    expect(text).toMatch(/storage +mtu 9000 +ovs internal port on ovsbr0, vlan 200 +10\.200\.0\.11\/24/);
    expect(text).toMatch(/eth0 +mtu 9000 +ethernet in ovsbr0/);
    expect(text).toMatch(/bond0 +- +ovs bond active-backup lacp=off primary=eth0 miimon=100 ports eth0,eth1 enabled eth0,eth1/);
    expect(bladeJson(ovsBlade).switchType).toBe('ovs');
  });

  it('gives the JSON fields the lab promises', () => {
    const j = bladeJson(result);
    expect(j).toMatchObject({ name: 'blade1', mac: '52:54:00:7a:01:01', firmware: 'uefi', switchType: 'linux', verified: false, secondsToVerified: null, rolledBack: true });
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

  it('takes --switch linux by default and --switch ovs as given', async () => {
    const parse = async (argv: string[]): Promise<Record<string, unknown>> => {
      const c = capture();
      const program = buildProgram(new Session(c.io, {}, { color: false }), false, false);
      const labCmd = program.commands.find((x) => x.name() === 'lab') as Command;
      const upCmd = labCmd.commands.find((x) => x.name() === 'up') as Command;
      // Parse only: the real action would build a rack.
      upCmd.action(() => undefined);
      await program.parseAsync(argv, { from: 'user' });
      return upCmd.opts();
    };
    expect((await parse(['lab', 'up'])).switch).toBe('linux');
    expect(await parse(['lab', 'up', '--switch', 'ovs', '--nics', '4'])).toMatchObject({ switch: 'ovs', nics: 4 });
  });

  it('refuses a bad --switch with LAB_INVALID (exit 1) before building anything', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lab-root-'));
    const c = capture();
    expect(await run(['--json', 'lab', 'up', '--switch', 'openvswitch', '--blades', '1', '--once'], c.io, { env: { ...process.env, TABULA_LAB_DIR: dir } })).toBe(1);
    expect(JSON.parse(c.err.join('')).error).toMatchObject({ code: 'LAB_INVALID', message: "--switch 'openvswitch' must be linux or ovs" });
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
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
