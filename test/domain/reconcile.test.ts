import { describe, expect, it } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import type { InventoryReport } from '../../src/domain/model.js';
import { normalizeReport, reconcileInventory } from '../../src/domain/reconcile.js';
import { validateHost } from '../../src/domain/validate.js';
import { attachOnBond, attachOnNic, bond, codes, hostConfig, mac, mgmtOf, network, nic } from '../support/builders.js';

const report = (nics: { n: number; name?: string }[], boot = 1): InventoryReport => ({
  bootMac: mac(boot),
  nics: nics.map(({ n, name }) => ({ mac: mac(n), name: name ?? `eth${n - 1}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: `0000:00:0${n}.0` })),
});

describe('normalizeReport', () => {
  const refused = (r: InventoryReport): string => {
    try {
      normalizeReport(r);
    } catch (e) {
      expect(e).toBeInstanceOf(TabulaError);
      return (e as TabulaError).code;
    }
    throw new Error('report was accepted');
  };
  it('accepts MACs in any common spelling and normalises them', () => {
    const r = normalizeReport({ bootMac: '52-54-00-00-01-01', nics: [{ mac: '525400000101', name: 'eth0' }] });
    expect(r.bootMac).toBe(mac(1));
    expect(r.nics[0]).toEqual({ mac: mac(1), name: 'eth0', driver: null, speed: null, carrier: false, pciAddress: null });
  });
  it('refuses bad reports whole', () => {
    expect(refused({ bootMac: mac(1), nics: [] })).toBe('INVENTORY_EMPTY');
    expect(refused({ bootMac: 'nope', nics: [{ mac: mac(1), name: 'eth0' }] })).toBe('INVALID_MAC');
    expect(refused({ bootMac: mac(1), nics: [{ mac: '01:00:5e:00:00:01', name: 'eth0' }] })).toBe('INVALID_MAC');
    expect(refused({ bootMac: mac(1), nics: [{ mac: mac(1), name: 'eth0' }, { mac: mac(1), name: 'eth1' }] })).toBe('INVENTORY_DUPLICATE_MAC');
    expect(refused({ bootMac: mac(1), nics: [{ mac: mac(1), name: 'eth0' }, { mac: mac(2), name: 'eth0' }] })).toBe('INVENTORY_DUPLICATE_NAME');
    expect(refused({ bootMac: mac(2), nics: [{ mac: mac(1), name: 'eth0' }] })).toBe('INVENTORY_BOOT_MAC_NOT_REPORTED');
    expect(refused({ bootMac: mac(1), nics: [{ mac: mac(1), name: 'a-very-long-ifname' }] })).toBe('INTERFACE_NAME_INVALID');
    expect(refused({ bootMac: mac(1), nics: [{ mac: mac(1), name: 'eth0', speed: -5 }] })).toBe('INVENTORY_INVALID_SPEED');
  });
});

describe('reconcileInventory', () => {
  it('saves a new NIC', () => {
    const cfg = hostConfig({ nics: [nic(1), nic(2)] });
    const { config, changes } = reconcileInventory(cfg, normalizeReport(report([{ n: 1 }, { n: 2 }, { n: 3 }])));
    expect(config.nics.map((n) => n.mac)).toEqual([mac(1), mac(2), mac(3)]);
    expect(config.nics[2]?.id).toBeLessThanOrEqual(0);
    expect(changes.filter((c) => c.kind === 'nic-added').map((c) => c.mac)).toEqual([mac(3)]);
  });

  it('removes a vanished NIC; its bond becomes partial and is flagged', () => {
    const mgmt = network('mgmt', { role: 'management' });
    const cfg = hostConfig({ networks: [mgmt], bonds: [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)])] });
    cfg.attachments = [attachOnBond(mgmt, 1, { method: 'dhcp' })];
    const { config, changes } = reconcileInventory(cfg, normalizeReport(report([{ n: 1 }, { n: 3 }])));
    expect(config.nics.map((n) => n.mac)).toEqual([mac(1), mac(3)]);
    expect(config.bonds[0]?.members).toEqual([mac(1), mac(2)]); // membership kept: heals when the NIC returns
    expect(changes.map((c) => c.kind)).toEqual(['nic-removed']);
    const found = validateHost(config);
    expect(codes(found)).toEqual([]);
    expect(codes(found, 'warning')).toEqual(['BOND_PARTIAL']);
  });

  it('updates a renamed NIC (same MAC) and keeps its labels and id', () => {
    const cfg = hostConfig({ nics: [nic(1), nic(2, { labels: ['san'] })] });
    const { config, changes } = reconcileInventory(cfg, normalizeReport(report([{ n: 1 }, { n: 2, name: 'enp0s4' }])));
    expect(config.nics[1]).toMatchObject({ id: 2, mac: mac(2), name: 'enp0s4', labels: ['san'] });
    expect(changes.filter((c) => c.kind.startsWith('nic-'))).toEqual([{ kind: 'nic-renamed', mac: mac(2), message: `NIC ${mac(2)} renamed from eth1 to enp0s4` }]);
  });

  it('derives the management network on the boot NIC when the host has none', () => {
    const cfg = hostConfig({ nics: [], bootMac: null });
    const { config, changes } = reconcileInventory(cfg, normalizeReport(report([{ n: 1 }, { n: 2 }], 2)));
    const m = config.attachments.find((a) => a.networkId === mgmtOf(cfg).id);
    expect(m?.iface).toEqual({ kind: 'nic', mac: mac(2) });
    expect(m?.ipv4).toEqual({ method: 'dhcp' });
    expect(changes.map((c) => c.kind)).toContain('management-derived');
    expect(codes(validateHost(config))).toEqual([]);
  });

  it('derives it on the bond that contains the boot NIC', () => {
    const cfg = hostConfig({ bonds: [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)])], bootMac: null });
    const { config } = reconcileInventory(cfg, normalizeReport(report([{ n: 1 }, { n: 2 }, { n: 3 }], 2)));
    expect(config.attachments[0]?.iface).toEqual({ kind: 'bond', bondId: 1 });
  });

  it('moves management to the interface the host now boots through', () => {
    const cfg = hostConfig({});
    cfg.attachments = [attachOnNic(mgmtOf(cfg), mac(1), { method: 'dhcp' })];
    const { config, changes } = reconcileInventory(cfg, normalizeReport(report([{ n: 1 }, { n: 2 }, { n: 3 }], 3)));
    expect(config.attachments[0]?.iface).toEqual({ kind: 'nic', mac: mac(3) });
    expect(changes.map((c) => c.kind)).toEqual(['boot-mac-changed', 'management-derived']);
  });
});

describe('report size', () => {
  it('INVENTORY_TOO_LARGE above 1024 NICs; 1024 is accepted', () => {
    const many = (n: number): InventoryReport => ({
      bootMac: '02:00:00:00:00:00',
      nics: Array.from({ length: n }, (_, i) => ({ mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, name: `n${i}` })),
    });
    expect(normalizeReport(many(1024)).nics).toHaveLength(1024);
    expect(() => normalizeReport(many(1025))).toThrow(expect.objectContaining({ code: 'INVENTORY_TOO_LARGE' }));
  });
});
