// The lab's pure parts: layout, demo configuration, QEMU command line, and the seed through a real
// in-memory engine (no root, no QEMU).
import { describe, expect, it } from 'vitest';
import { openEngine } from '../../src/engine/index.js';
import { seedDemo } from '../../src/lab/seed.js';
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
