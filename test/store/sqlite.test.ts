import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Attachment, Bond, Host, HostConfig, LogicalNetwork, Nic } from '../../src/domain/model.js';
import { SqliteRepository } from '../../src/store/sqlite.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const mac = (n: number): string => `52:54:00:00:03:${n.toString(16).padStart(2, '0')}`;

let repo: SqliteRepository;
beforeEach(() => {
  repo = SqliteRepository.openInMemory();
});
afterEach(() => repo.close());

/** The SQLite error a statement raised, for asserting constraint failures precisely. */
function sqliteError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a SQLite error');
}

function defaultCluster() {
  const c = repo.getDefaultCluster();
  if (!c) throw new Error('no default cluster');
  return c;
}

function mgmt(clusterId = defaultCluster().id): LogicalNetwork {
  const n = repo.listNetworks(clusterId).find((x) => x.role === 'management');
  if (!n) throw new Error('no management network');
  return n;
}

function newHost(name = 'blade1', overrides: Partial<Host> = {}): Host {
  return repo.insertHost({
    name,
    clusterId: defaultCluster().id,
    state: 'new',
    bootMac: null,
    generation: 1,
    appliedGeneration: null,
    custom: {},
    syncReasons: [],
    lastInventoryAt: null,
    ...overrides,
  });
}

function nic(hostId: number, n: number, overrides: Partial<Nic> = {}): Nic {
  return { id: -n, hostId, mac: mac(n), name: `eth${n - 1}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: `0000:00:0${n}.0`, labels: [], ...overrides };
}

function bond(hostId: number, id: number, name: string, members: string[], overrides: Partial<Bond> = {}): Bond {
  return { id, hostId, name, mode: 'active-backup', options: { miimon: 100 }, members, mac: null, primaryMember: members[0] ?? null, labels: [], ...overrides };
}

function attachment(hostId: number, networkId: number, iface: Attachment['iface'], overrides: Partial<Attachment> = {}): Attachment {
  return { id: 0, hostId, networkId, iface, ipv4: { method: 'dhcp' }, ipv6: { method: 'none' }, custom: {}, ...overrides };
}

/** A host with four NICs, bond0 over eth2+eth3 (inserted with a temporary id), mgmt on eth0 and a VLAN network on bond0. */
function seededHost(): { cfg: HostConfig; storage: LogicalNetwork } {
  const h = newHost();
  const storage = repo.insertNetwork({
    clusterId: h.clusterId,
    name: 'storage',
    vlan: 20,
    mtu: 9000,
    bridged: false,
    role: 'storage',
    required: false,
    label: null,
    description: '',
  });
  const base = repo.loadHostConfig(h.id);
  const cfg = repo.saveHostConfig({
    ...base,
    nics: [1, 2, 3, 4].map((n) => nic(h.id, n)),
    bonds: [bond(h.id, -7, 'bond0', [mac(3), mac(4)])],
    attachments: [
      attachment(h.id, mgmt().id, { kind: 'nic', mac: mac(1) }),
      attachment(h.id, storage.id, { kind: 'bond', bondId: -7 }, { id: -1, ipv4: { method: 'static', address: '10.0.20.5', prefix: 24, gateway: null } }),
    ],
  });
  return { cfg, storage };
}

describe('seed', () => {
  it('holds the default cluster and its management network', () => {
    const clusters = repo.listClusters();
    expect(clusters).toHaveLength(1);
    const c = clusters[0];
    expect(c).toMatchObject({ name: 'default', description: 'Auto-enrolled hosts land here', isDefault: true, defaults: { dnsServers: [], dnsSearch: [] } });
    expect(c?.createdAt).toMatch(ISO);
    expect(c?.updatedAt).toMatch(ISO);
    expect(repo.listNetworks(defaultCluster().id)).toEqual([
      {
        id: expect.any(Number),
        clusterId: defaultCluster().id,
        name: 'mgmt',
        vlan: null,
        mtu: 1500,
        bridged: false,
        role: 'management',
        required: true,
        label: null,
        description: 'Management network',
        portType: 'access',
        trunks: [],
      },
    ]);
  });
});

describe('clusters and networks', () => {
  it('round-trip every field', () => {
    const c = repo.insertCluster({ name: 'rack2', description: 'second rack', isDefault: false, defaults: { dnsServers: ['10.0.0.53'], dnsSearch: ['rack2.example'] } });
    expect(c).toEqual({
      id: expect.any(Number),
      name: 'rack2',
      description: 'second rack',
      isDefault: false,
      defaults: { dnsServers: ['10.0.0.53'], dnsSearch: ['rack2.example'] },
      switchType: 'linux',
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(repo.getClusterById(c.id)).toEqual(c);
    expect(repo.getClusterByName('rack2')).toEqual(c);
    expect(repo.getClusterByName('nope')).toBeUndefined();
    expect(repo.listClusters().map((x) => x.name)).toEqual(['default', 'rack2']);

    const n = repo.insertNetwork({ clusterId: c.id, name: 'vms', vlan: 100, mtu: 9000, bridged: true, role: 'vm', required: false, label: 'lbl', description: 'VMs' });
    expect(n).toEqual({
      id: expect.any(Number),
      clusterId: c.id,
      name: 'vms',
      vlan: 100,
      mtu: 9000,
      bridged: true,
      role: 'vm',
      required: false,
      label: 'lbl',
      description: 'VMs',
      portType: 'access',
      trunks: [],
    });
    expect(repo.getNetworkById(n.id)).toEqual(n);
    const a = repo.insertNetwork({ clusterId: c.id, name: 'a-net', vlan: null, mtu: 1500, bridged: false, role: 'other', required: true, label: null, description: '' });
    expect(repo.listNetworks(c.id).map((x) => x.name)).toEqual(['a-net', 'vms']);
    const n2 = repo.updateNetwork({ ...n, vlan: null, bridged: false, label: null, required: true });
    expect(n2).toEqual({ ...n, vlan: null, bridged: false, label: null, required: true });
    repo.deleteNetwork(a.id);
    expect(repo.getNetworkById(a.id)).toBeUndefined();

    const n3 = repo.updateNetwork({ ...n2, bridged: true, vlan: null, portType: 'trunk', trunks: [100, 200] });
    expect(repo.getNetworkById(n.id)).toEqual({ ...n2, bridged: true, vlan: null, portType: 'trunk', trunks: [100, 200] });
    expect(n3.trunks).toEqual([100, 200]);

    const c2 = repo.updateCluster({ ...c, name: 'rack2b', description: '', defaults: { dnsServers: [], dnsSearch: ['x.example'] }, switchType: 'ovs', createdAt: 'ignored' });
    expect(c2).toMatchObject({ id: c.id, name: 'rack2b', description: '', defaults: { dnsServers: [], dnsSearch: ['x.example'] }, switchType: 'ovs', createdAt: c.createdAt });
    expect(c2.updatedAt >= c.updatedAt).toBe(true);

    // switching the default: clear the old one first, as the engine does
    repo.updateCluster({ ...defaultCluster(), isDefault: false });
    expect(repo.getDefaultCluster()).toBeUndefined();
    repo.updateCluster({ ...c2, isDefault: true });
    expect(repo.getDefaultCluster()?.id).toBe(c.id);

    repo.updateCluster({ ...c2, isDefault: false });
    repo.deleteCluster(c.id);
    expect(repo.getClusterById(c.id)).toBeUndefined();
    expect(repo.getNetworkById(n.id)).toBeUndefined(); // cascaded
  });

  it('refuses to update a cluster or network that does not exist', () => {
    const c = defaultCluster();
    expect(() => repo.updateCluster({ ...c, id: 4242 })).toThrow(/cluster #4242 not found/);
    expect(() => repo.updateNetwork({ ...mgmt(), id: 4242 })).toThrow(/network #4242 not found/);
  });

  it('refuses a second default cluster (partial unique index)', () => {
    const e = sqliteError(() => repo.insertCluster({ name: 'other', description: '', isDefault: true, defaults: { dnsServers: [], dnsSearch: [] } }));
    expect(e.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(e.message).toMatch(/clusters\.is_default/);
    // a non-default one is fine
    expect(repo.insertCluster({ name: 'other', description: '', isDefault: false, defaults: { dnsServers: [], dnsSearch: [] } }).isDefault).toBe(false);
  });

  it('refuses a second management network in one cluster, but not in another cluster', () => {
    const c = defaultCluster();
    const e = sqliteError(() =>
      repo.insertNetwork({ clusterId: c.id, name: 'mgmt2', vlan: 5, mtu: 1500, bridged: false, role: 'management', required: true, label: null, description: '' }),
    );
    expect(e.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(e.message).toMatch(/networks\.cluster_id/);
    const other = repo.insertCluster({ name: 'rack2', description: '', isDefault: false, defaults: { dnsServers: [], dnsSearch: [] } });
    const m = repo.insertNetwork({ clusterId: other.id, name: 'mgmt', vlan: null, mtu: 1500, bridged: false, role: 'management', required: true, label: null, description: '' });
    expect(m.role).toBe('management');
  });

  it('enforces the CHECK and UNIQUE constraints of networks', () => {
    const base = { clusterId: defaultCluster().id, name: 'n', vlan: null, mtu: 1500, bridged: false, role: 'vm' as const, required: false, label: null, description: '' };
    expect(sqliteError(() => repo.insertNetwork({ ...base, vlan: 4095 })).code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(sqliteError(() => repo.insertNetwork({ ...base, vlan: 0 })).code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(sqliteError(() => repo.insertNetwork({ ...base, mtu: 67 })).code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(sqliteError(() => repo.insertNetwork({ ...base, mtu: 9217 })).code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(sqliteError(() => repo.insertNetwork({ ...base, role: 'bogus' as 'vm' })).code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(sqliteError(() => repo.insertNetwork({ ...base, name: 'mgmt' })).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(repo.insertNetwork({ ...base, vlan: 4094, mtu: 9216 }).vlan).toBe(4094);
  });
});

describe('hosts', () => {
  it('round-trip every field and filter/sort deterministically', () => {
    const other = repo.insertCluster({ name: 'rack2', description: '', isDefault: false, defaults: { dnsServers: [], dnsSearch: [] } });
    const b = newHost('zeta', {
      state: 'maintenance',
      bootMac: mac(9),
      generation: 3,
      appliedGeneration: 2,
      custom: { rack: 'r1' },
      syncReasons: [{ code: 'BOND_PARTIAL', message: 'bond0 has one member' }],
      lastInventoryAt: '2026-02-03T04:05:06.789Z',
    });
    expect(b).toEqual({
      id: expect.any(Number),
      name: 'zeta',
      clusterId: defaultCluster().id,
      state: 'maintenance',
      bootMac: mac(9),
      generation: 3,
      appliedGeneration: 2,
      custom: { rack: 'r1' },
      syncReasons: [{ code: 'BOND_PARTIAL', message: 'bond0 has one member' }],
      lastInventoryAt: '2026-02-03T04:05:06.789Z',
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const a = newHost('alpha', { clusterId: other.id, state: 'active' });
    expect(a).toMatchObject({ bootMac: null, appliedGeneration: null, lastInventoryAt: null, custom: {}, syncReasons: [] });
    expect(repo.getHostById(b.id)).toEqual(b);
    expect(repo.getHostByName('alpha')).toEqual(a);
    expect(repo.listHosts().map((h) => h.name)).toEqual(['alpha', 'zeta']);
    expect(repo.listHosts({ clusterId: other.id }).map((h) => h.name)).toEqual(['alpha']);
    expect(repo.listHosts({ state: 'maintenance' }).map((h) => h.name)).toEqual(['zeta']);
    expect(repo.listHosts({ clusterId: other.id, state: 'maintenance' })).toEqual([]);

    const b2 = repo.updateHost({ ...b, name: 'zeta2', bootMac: null, appliedGeneration: null, custom: {}, syncReasons: [], lastInventoryAt: null, createdAt: 'ignored' });
    expect(b2).toMatchObject({ id: b.id, name: 'zeta2', bootMac: null, appliedGeneration: null, custom: {}, syncReasons: [], lastInventoryAt: null, createdAt: b.createdAt });

    repo.deleteHost(b.id);
    expect(repo.getHostById(b.id)).toBeUndefined();
    expect(() => repo.updateHost(b2)).toThrow(/host #\d+ not found/);
  });

  it('refuses a duplicate name, a duplicate boot MAC, an unknown state and a missing cluster', () => {
    newHost('a', { bootMac: mac(1) });
    expect(sqliteError(() => newHost('a')).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteError(() => newHost('b', { bootMac: mac(1) })).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteError(() => newHost('c', { state: 'asleep' as 'new' })).code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(sqliteError(() => newHost('d', { clusterId: 999 })).code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
  });

  it('keeps a cluster with hosts from being deleted', () => {
    const c = repo.insertCluster({ name: 'rack2', description: '', isDefault: false, defaults: { dnsServers: [], dnsSearch: [] } });
    newHost('a', { clusterId: c.id });
    // ON DELETE RESTRICT fails immediately; SQLite reports it as SQLITE_CONSTRAINT_TRIGGER.
    const e = sqliteError(() => repo.deleteCluster(c.id));
    expect(e.code).toBe('SQLITE_CONSTRAINT_TRIGGER');
    expect(e.message).toBe('FOREIGN KEY constraint failed');
    expect(repo.getClusterById(c.id)).toBeDefined();
  });

  it('finds a host by boot MAC first, then by any NIC MAC', () => {
    const a = newHost('a', { bootMac: mac(1) });
    const b = newHost('b');
    repo.saveHostConfig({ ...repo.loadHostConfig(b.id), nics: [nic(b.id, 2)] });
    expect(repo.findHostByMac(mac(1))?.id).toBe(a.id);
    expect(repo.findHostByMac(mac(2))?.id).toBe(b.id);
    expect(repo.findHostByMac(mac(3))).toBeUndefined();
  });
});

describe('host configuration', () => {
  it('saves with temporary ids, including an attachment on a bond inserted in the same call', () => {
    const { cfg, storage } = seededHost();
    const h = cfg.host;
    expect(cfg.nics.map((n) => n.name)).toEqual(['eth0', 'eth1', 'eth2', 'eth3']);
    expect(cfg.nics.every((n) => n.id > 0 && n.hostId === h.id)).toBe(true);
    expect(cfg.nics[0]).toEqual({ ...nic(h.id, 1), id: cfg.nics[0]?.id });
    expect(cfg.bonds).toHaveLength(1);
    const b0 = cfg.bonds[0] as Bond;
    expect(b0.id).toBeGreaterThan(0);
    expect(b0).toEqual({ ...bond(h.id, b0.id, 'bond0', [mac(3), mac(4)]) });
    expect(cfg.attachments).toHaveLength(2);
    const [onNic, onBond] = cfg.attachments as [Attachment, Attachment];
    expect(onNic).toEqual({ id: expect.any(Number), hostId: h.id, networkId: mgmt().id, iface: { kind: 'nic', mac: mac(1) }, ipv4: { method: 'dhcp' }, ipv6: { method: 'none' }, custom: {}, qos: {} });
    expect(onBond).toMatchObject({ networkId: storage.id, iface: { kind: 'bond', bondId: b0.id }, ipv4: { method: 'static', address: '10.0.20.5', prefix: 24, gateway: null } });
    expect(onNic.id).toBeGreaterThan(0);
    expect(onBond.id).toBeGreaterThan(onNic.id);
    // what was returned is what is stored
    expect(repo.loadHostConfig(h.id)).toEqual(cfg);
    expect(cfg.cluster).toEqual(defaultCluster());
    expect(cfg.networks.map((n) => n.name)).toEqual(['mgmt', 'storage']);
    expect(repo.hostIdsAttachedToNetwork(storage.id)).toEqual([h.id]);
    expect(repo.hostIdsAttachedToNetwork(mgmt().id)).toEqual([h.id]);
  });

  it('writes the host row, updates kept children in place and deletes absent ones', () => {
    const { cfg } = seededHost();
    const [e0, e1, e2, e3] = cfg.nics as [Nic, Nic, Nic, Nic];
    const b0 = cfg.bonds[0] as Bond;
    const onBond = cfg.attachments[1] as Attachment;
    const saved = repo.saveHostConfig({
      ...cfg,
      host: { ...cfg.host, generation: 2, custom: { k: 'v' }, syncReasons: [{ code: 'X', message: 'y' }] },
      nics: [{ ...e0, labels: ['lbl'], speed: null, driver: null, carrier: false, pciAddress: null }, e2, e3], // eth1 removed
      bonds: [{ ...b0, mode: '802.3ad', options: { lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' }, members: [mac(4), mac(3)], mac: '02:00:00:00:00:01', primaryMember: mac(4), labels: ['a', 'b'] }],
      attachments: [{ ...onBond, ipv4: { method: 'none' }, custom: { p: 'q' } }], // mgmt attachment removed
    });
    expect(saved.host).toMatchObject({ generation: 2, custom: { k: 'v' }, syncReasons: [{ code: 'X', message: 'y' }] });
    expect(saved.nics.map((n) => n.id)).toEqual([e0.id, e2.id, e3.id]);
    expect(saved.nics[0]).toEqual({ ...e0, labels: ['lbl'], speed: null, driver: null, carrier: false, pciAddress: null });
    expect(repo.findHostByMac(e1.mac)).toBeUndefined();
    expect(saved.bonds).toEqual([
      { ...b0, mode: '802.3ad', options: { lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' }, members: [mac(4), mac(3)], mac: '02:00:00:00:00:01', primaryMember: mac(4), labels: ['a', 'b'] },
    ]);
    expect(saved.attachments).toEqual([{ ...onBond, ipv4: { method: 'none' }, custom: { p: 'q' } }]);
    expect(repo.hostIdsAttachedToNetwork(mgmt().id)).toEqual([]);
  });

  it('swaps the names of two NICs in one save', () => {
    const { cfg } = seededHost();
    const [e0, e1] = cfg.nics as [Nic, Nic];
    const saved = repo.saveHostConfig({ ...cfg, nics: cfg.nics.map((n) => (n.id === e0.id ? { ...n, name: 'eth1' } : n.id === e1.id ? { ...n, name: 'eth0' } : n)) });
    expect(saved.nics.slice(0, 2).map((n) => [n.name, n.id, n.mac])).toEqual([
      ['eth0', e1.id, e1.mac],
      ['eth1', e0.id, e0.mac],
    ]);
  });

  it('renames a bond to a name freed in the same save, and swaps two bond names', () => {
    const { cfg, storage } = seededHost();
    const b0 = cfg.bonds[0] as Bond;
    const onBond = cfg.attachments[1] as Attachment;
    // bond0 -> bond1, a new bond takes bond0
    const s1 = repo.saveHostConfig({ ...cfg, bonds: [{ ...b0, name: 'bond1' }, bond(cfg.host.id, 0, 'bond0', [mac(1), mac(2)])] });
    expect(s1.bonds.map((b) => [b.name, b.members])).toEqual([
      ['bond0', [mac(1), mac(2)]],
      ['bond1', [mac(3), mac(4)]],
    ]);
    expect(s1.bonds.find((b) => b.name === 'bond1')?.id).toBe(b0.id);
    expect(s1.attachments.find((a) => a.id === onBond.id)?.iface).toEqual({ kind: 'bond', bondId: b0.id });
    // swap the two names
    const s2 = repo.saveHostConfig({ ...s1, bonds: s1.bonds.map((b) => ({ ...b, name: b.name === 'bond0' ? 'bond1' : 'bond0' })) });
    expect(s2.bonds.find((b) => b.name === 'bond0')?.id).toBe(b0.id);
    // delete bond0 (b0) and create a new bond0 in the same save, moving the attachment onto it
    const other = s2.bonds.find((b) => b.id !== b0.id) as Bond;
    const s3 = repo.saveHostConfig({
      ...s2,
      bonds: [other, bond(cfg.host.id, -3, 'bond0', [mac(3), mac(4)], { mode: 'balance-alb' })],
      attachments: s2.attachments.map((a) => (a.id === onBond.id ? { ...a, iface: { kind: 'bond', bondId: -3 } } : a)),
    });
    const fresh = s3.bonds.find((b) => b.name === 'bond0') as Bond;
    expect(fresh.id).not.toBe(b0.id);
    expect(fresh.mode).toBe('balance-alb');
    expect(s3.attachments.find((a) => a.id === onBond.id)).toMatchObject({ networkId: storage.id, iface: { kind: 'bond', bondId: fresh.id } });
    expect(repo.db.prepare('SELECT count(*) AS n FROM bond_members WHERE bond_id = ?').get(b0.id)).toEqual({ n: 0 });
  });

  it('moves an attachment off a bond that is removed in the same save, keeping its id', () => {
    const { cfg } = seededHost();
    const onBond = cfg.attachments[1] as Attachment;
    const saved = repo.saveHostConfig({
      ...cfg,
      bonds: [],
      attachments: cfg.attachments.map((a) => (a.id === onBond.id ? { ...a, iface: { kind: 'nic', mac: mac(3) } } : a)),
    });
    expect(saved.bonds).toEqual([]);
    expect(saved.attachments.map((a) => [a.id, a.iface])).toEqual([
      [cfg.attachments[0]?.id, { kind: 'nic', mac: mac(1) }],
      [onBond.id, { kind: 'nic', mac: mac(3) }],
    ]);
  });

  it('lets a MAC pass from a removed NIC to a new one, and two NICs swap MACs', () => {
    const { cfg } = seededHost();
    const [e0, e1, e2, e3] = cfg.nics as [Nic, Nic, Nic, Nic];
    const s1 = repo.saveHostConfig({ ...cfg, nics: [e0, e2, e3, { ...nic(cfg.host.id, 2), id: -1, name: 'ens5' }] });
    expect(s1.nics.find((n) => n.mac === mac(2))).toMatchObject({ name: 'ens5' });
    expect(s1.nics.find((n) => n.mac === mac(2))?.id).not.toBe(e1.id);
    const s2 = repo.saveHostConfig({ ...s1, nics: s1.nics.map((n) => (n.id === e2.id ? { ...n, mac: e3.mac } : n.id === e3.id ? { ...n, mac: e2.mac } : n)) });
    expect(s2.nics.find((n) => n.id === e2.id)?.mac).toBe(e3.mac);
    expect(s2.nics.find((n) => n.id === e3.id)?.mac).toBe(e2.mac);
  });

  it('keeps bond members and NIC attachments for a NIC that vanished (no foreign key)', () => {
    const { cfg } = seededHost();
    const saved = repo.saveHostConfig({ ...cfg, nics: cfg.nics.filter((n) => n.mac !== mac(4) && n.mac !== mac(1)) });
    expect(saved.bonds[0]?.members).toEqual([mac(3), mac(4)]);
    expect(saved.attachments[0]?.iface).toEqual({ kind: 'nic', mac: mac(1) });
  });

  it('orders NICs by name then MAC', () => {
    const h = newHost();
    const saved = repo.saveHostConfig({
      ...repo.loadHostConfig(h.id),
      nics: [nic(h.id, 3, { name: 'eth0' }), nic(h.id, 1, { name: 'eth1' }), nic(h.id, 2, { name: 'eth0' })],
    });
    expect(saved.nics.map((n) => [n.name, n.mac])).toEqual([
      ['eth0', mac(2)],
      ['eth0', mac(3)],
      ['eth1', mac(1)],
    ]);
  });

  it('refuses ids that are not the host’s and dangling bond references, writing nothing', () => {
    const { cfg } = seededHost();
    const other = newHost('other');
    const otherCfg = repo.saveHostConfig({ ...repo.loadHostConfig(other.id), nics: [nic(other.id, 9)] });
    const before = repo.dumpTables();
    const foreignNic = otherCfg.nics[0] as Nic;
    expect(() => repo.saveHostConfig({ ...cfg, host: { ...cfg.host, generation: 99 }, nics: [...cfg.nics, foreignNic] })).toThrow(/NIC #\d+ does not belong/);
    expect(() => repo.saveHostConfig({ ...cfg, host: { ...cfg.host, generation: 99 }, bonds: [] })).toThrow(/bond #\d+, which is not among/);
    expect(() =>
      repo.saveHostConfig({ ...cfg, attachments: [...cfg.attachments, attachment(cfg.host.id, mgmt().id, { kind: 'bond', bondId: -5 })] }),
    ).toThrow(/new bond -5/);
    expect(repo.dumpTables()).toEqual(before);
  });

  it('rolls a failing save back completely (a NIC MAC held by another host)', () => {
    const { cfg } = seededHost();
    const other = newHost('other');
    repo.saveHostConfig({ ...repo.loadHostConfig(other.id), nics: [nic(other.id, 9)] });
    const before = repo.dumpTables();
    const e = sqliteError(() =>
      repo.saveHostConfig({ ...cfg, host: { ...cfg.host, name: 'renamed' }, bonds: [], attachments: [], nics: [...cfg.nics, nic(cfg.host.id, 9)] }),
    );
    expect(e.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(repo.dumpTables()).toEqual(before);
  });

  it('deleting a host cascades to its NICs, bonds, members, attachments and events', () => {
    const { cfg } = seededHost();
    repo.appendHostEvent(cfg.host.id, 'inventory', {});
    repo.deleteHost(cfg.host.id);
    const t = repo.dumpTables();
    for (const table of ['hosts', 'nics', 'bonds', 'bond_members', 'attachments', 'host_events']) expect(t[table]).toEqual([]);
  });

  it('refuses to delete a network that is still attached', () => {
    const { storage } = seededHost();
    const e = sqliteError(() => repo.deleteNetwork(storage.id));
    expect(e.code).toBe('SQLITE_CONSTRAINT_TRIGGER'); // RESTRICT
    expect(e.message).toBe('FOREIGN KEY constraint failed');
    expect(repo.getNetworkById(storage.id)).toBeDefined();
  });

  it('loadHostConfig of an unknown host throws', () => {
    expect(() => repo.loadHostConfig(4242)).toThrow(/host #4242 not found/);
  });
});

describe('transactions', () => {
  it('a throw after writes leaves every table unchanged', () => {
    seededHost();
    const before = repo.dumpTables();
    // the engine's tables (later migrations add the boot services' own)
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining(['api_tokens', 'attachments', 'bond_members', 'bonds', 'boot_events', 'boots', 'clusters', 'host_events', 'hosts', 'networks', 'nics', 'schema_migrations']),
    );
    expect(() =>
      repo.transaction(() => {
        const h = newHost('doomed');
        repo.insertToken('t', 'h');
        repo.appendHostEvent(h.id, 'x', { a: 1 });
        repo.insertCluster({ name: 'doomed', description: '', isDefault: false, defaults: { dnsServers: [], dnsSearch: [] } });
        const cfg = repo.loadHostConfig(repo.listHosts()[0]?.id as number);
        repo.saveHostConfig({ ...cfg, nics: [], bonds: [], attachments: [] });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(repo.dumpTables()).toEqual(before);
  });

  it('commits what fn wrote and returns its value; nested calls join as savepoints', () => {
    const id = repo.transaction(() => {
      const h = newHost('kept');
      expect(() =>
        repo.transaction(() => {
          repo.insertToken('inner', 'h');
          throw new Error('inner');
        }),
      ).toThrow('inner');
      repo.insertToken('outer', 'h2');
      return h.id;
    });
    expect(repo.getHostById(id)?.name).toBe('kept');
    expect(repo.listTokens().map((t) => t.name)).toEqual(['outer']);
  });
});

describe('tokens and events', () => {
  it('round-trip tokens', () => {
    const b = repo.insertToken('zz', 'hash-b');
    const a = repo.insertToken('aa', 'hash-a');
    expect(a).toEqual({ id: expect.any(Number), name: 'aa', hash: 'hash-a', createdAt: expect.stringMatching(ISO), lastUsedAt: null });
    expect(repo.listTokens().map((t) => t.name)).toEqual(['aa', 'zz']);
    expect(repo.findTokenByHash('hash-b')).toEqual(b);
    expect(repo.findTokenByHash('nope')).toBeUndefined();
    repo.touchToken(b.id);
    expect(repo.findTokenByHash('hash-b')?.lastUsedAt).toMatch(ISO);
    expect(sqliteError(() => repo.insertToken('zz', 'other')).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteError(() => repo.insertToken('new', 'hash-a')).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(repo.deleteToken('zz')).toBe(true);
    expect(repo.deleteToken('zz')).toBe(false);
    expect(repo.listTokens()).toEqual([a]);
  });

  it('round-trip host events, newest first, limited', () => {
    const h = newHost();
    const e1 = repo.appendHostEvent(h.id, 'inventory', { nics: 3, changes: [{ kind: 'nic-added' }] });
    const e2 = repo.appendHostEvent(h.id, 'applied', { generation: 2 });
    expect(e1).toEqual({ id: expect.any(Number), hostId: h.id, at: expect.stringMatching(ISO), kind: 'inventory', data: { nics: 3, changes: [{ kind: 'nic-added' }] } });
    expect(repo.listHostEvents(h.id, 10)).toEqual([e2, e1]);
    expect(repo.listHostEvents(h.id, 1)).toEqual([e2]);
    expect(repo.listHostEvents(h.id + 1, 10)).toEqual([]);
  });
});

describe('dumpTables', () => {
  it('returns rows in rowid order and sees every change', () => {
    const before = repo.dumpTables();
    expect(before.clusters).toHaveLength(1);
    expect(before.networks).toHaveLength(1);
    repo.insertToken('t', 'h');
    const after = repo.dumpTables();
    expect(after).not.toEqual(before);
    expect(after.api_tokens).toEqual([expect.objectContaining({ name: 't', hash: 'h', last_used_at: null })]);
  });
});
