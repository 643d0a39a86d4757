import { describe, expect, it } from 'vitest';
import { NEW_BOND_ID, createBond, destroyBond, nextBondName, parseBondMode, updateBond } from '../../src/domain/bond-ops.js';
import { TabulaError } from '../../src/domain/errors.js';
import type { HostConfig } from '../../src/domain/model.js';
import { validateHost } from '../../src/domain/validate.js';
import { attachOnNic, bond, codes, hostConfig, mac, mgmtOf, network, nic } from '../support/builders.js';

const nobody = (): undefined => undefined;

function expectCode(fn: () => unknown, code: string): TabulaError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TabulaError);
    expect((e as TabulaError).code).toBe(code);
    return e as TabulaError;
  }
  throw new Error(`expected ${code}`);
}

describe('bond modes', () => {
  it('accepts kernel names and the seed words', () => {
    expect(parseBondMode('active-backup')).toBe('active-backup');
    expect(parseBondMode('failover')).toBe('active-backup');
    expect(parseBondMode('load-balancing')).toBe('balance-rr');
    expect(parseBondMode('link-aggregation')).toBe('802.3ad');
    expect(parseBondMode('broadcast')).toBe('broadcast');
    expect(parseBondMode('Balance-ALB')).toBe('balance-alb');
    expectCode(() => parseBondMode('lacp'), 'BOND_MODE_INVALID');
  });
});

describe('bond naming', () => {
  it('picks bondN with the smallest unused N', () => {
    const cfg = hostConfig({ bonds: [bond(1, 'bond0', 'active-backup', []), bond(2, 'bond2', 'active-backup', [])] });
    expect(nextBondName(cfg)).toBe('bond1');
    expect(nextBondName(hostConfig({}))).toBe('bond0');
  });
});

describe('createBond (XenAPI semantics)', () => {
  function hostWithNetworks(): { cfg: HostConfig; storage: ReturnType<typeof network> } {
    const mgmt = network('mgmt', { role: 'management' });
    const storage = network('storage', { vlan: 200 });
    const cfg = hostConfig({ networks: [mgmt, storage], nics: [nic(1), nic(2), nic(3, { labels: ['san'] })] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'static', address: '10.0.0.11', prefix: 24 }), attachOnNic(storage, mac(2))];
    return { cfg, storage };
  }

  it('moves networks, IP configuration, management and labels from the members up to the bond', () => {
    const { cfg } = hostWithNetworks();
    const { config } = createBond(cfg, { mode: 'failover', members: ['eth1', 'eth0', mac(3)] }, nobody);
    const b = config.bonds[0];
    expect(b?.name).toBe('bond0');
    expect(b?.mode).toBe('active-backup');
    expect(b?.members).toEqual([mac(2), mac(1), mac(3)]);
    // the member carrying management is the primary, even though it was listed second
    expect(b?.primaryMember).toBe(mac(1));
    expect(config.attachments.every((a) => a.iface.kind === 'bond' && a.iface.bondId === NEW_BOND_ID)).toBe(true);
    expect(config.attachments.find((a) => a.networkId === mgmtOf(cfg).id)?.ipv4).toEqual({ method: 'static', address: '10.0.0.11', prefix: 24 });
    expect(b?.labels).toEqual(['san']);
    expect(config.nics.every((n) => n.labels.length === 0)).toBe(true);
    expect(codes(validateHost(config))).toEqual([]);
  });

  it('without management on a member, the first member with IP configuration is primary', () => {
    const mgmt = network('mgmt', { role: 'management' });
    const st = network('storage');
    const cfg = hostConfig({ networks: [mgmt, st] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' }), attachOnNic(st, mac(3), { method: 'static', address: '10.9.0.3', prefix: 24 })];
    const { config } = createBond(cfg, { mode: 'active-backup', members: ['eth1', 'eth2'] }, nobody);
    expect(config.bonds[0]?.primaryMember).toBe(mac(3));
  });

  it('refuses members that are not on the host, naming the other host when there is one', () => {
    const { cfg } = hostWithNetworks();
    expectCode(() => createBond(cfg, { mode: 'active-backup', members: ['eth0', 'eth9'] }, nobody), 'BOND_MEMBER_NOT_FOUND');
    const e = expectCode(() => createBond(cfg, { mode: 'active-backup', members: ['eth0', '52:54:00:99:99:99'] }, () => 'blade7'), 'BOND_MEMBER_OTHER_HOST');
    expect(e.message).toContain('blade7');
  });

  it('refuses an invalid explicit MAC before anything else', () => {
    const { cfg } = hostWithNetworks();
    expectCode(() => createBond(cfg, { mode: 'active-backup', members: ['eth0', 'eth1'], mac: 'ff:ff:ff:ff:ff:ff' }, nobody), 'INVALID_MAC');
  });
});

describe('destroyBond', () => {
  it('moves networks and labels back to the primary member', () => {
    const mgmt = network('mgmt', { role: 'management' });
    const cfg = hostConfig({ networks: [mgmt] });
    cfg.attachments = [attachOnNic(mgmt, mac(1), { method: 'dhcp' })];
    const created = createBond(cfg, { mode: 'active-backup', members: ['eth0', 'eth1'], labels: ['x'] }, nobody).config;
    const stored = { ...created, bonds: created.bonds.map((b) => ({ ...b, id: 7 })), attachments: created.attachments.map((a) => ({ ...a, iface: { kind: 'bond' as const, bondId: 7 } })) };
    const after = destroyBond(stored, 'bond0');
    expect(after.bonds).toEqual([]);
    expect(after.attachments[0]?.iface).toEqual({ kind: 'nic', mac: mac(1) });
    expect(after.nics.find((n) => n.mac === mac(1))?.labels).toEqual(['x']);
    expect(codes(validateHost(after))).toEqual([]);
  });
  it('a bond that does not exist is a typed not-found', () => {
    expectCode(() => destroyBond(hostConfig({}), 'bond3'), 'BOND_NOT_FOUND');
  });
});

describe('updateBond', () => {
  it('keeps the primary while it stays a member and re-picks it otherwise', () => {
    const cfg = hostConfig({ bonds: [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)], {}, { primaryMember: mac(2) })] });
    expect(updateBond(cfg, 'bond0', { members: ['eth1', 'eth2'] }, nobody).bonds[0]?.primaryMember).toBe(mac(2));
    expect(updateBond(cfg, 'bond0', { members: ['eth0', 'eth2'] }, nobody).bonds[0]?.primaryMember).toBe(mac(1));
    expect(updateBond(cfg, 1, { mode: 'link-aggregation' }, nobody).bonds[0]?.mode).toBe('802.3ad');
  });
});

describe('destroyBond without members', () => {
  it('BOND_HAS_NO_MEMBER when networks have nowhere to go; fine without networks', () => {
    const mgmt = network('mgmt', { role: 'management' });
    const empty = bond(4, 'bond0', 'active-backup', [], {}, { primaryMember: null });
    const withNet = hostConfig({ networks: [mgmt], bonds: [empty] });
    withNet.attachments = [{ ...attachOnNic(mgmt, mac(1), { method: 'dhcp' }), iface: { kind: 'bond', bondId: 4 } }];
    expectCode(() => destroyBond(withNet, 'bond0'), 'BOND_HAS_NO_MEMBER');
    expect(destroyBond(hostConfig({ bonds: [empty] }), 'bond0').bonds).toEqual([]);
  });
});
