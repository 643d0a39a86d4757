import { beforeEach, describe, expect, it } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import type { InventoryReport } from '../../src/domain/model.js';
import type { OpenedEngine } from '../../src/engine/index.js';
import { rejectsWithoutWrites, useMemoryEngine } from '../support/engine-fixture.js';

const mac = (n: number): string => `52:54:00:00:02:${n.toString(16).padStart(2, '0')}`;
const report = (macs: number[], boot = macs[0] as number, names?: Record<number, string>): InventoryReport => ({
  bootMac: mac(boot),
  nics: macs.map((n) => ({ mac: mac(n), name: names?.[n] ?? `eth${n - 1}`, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: `0000:00:0${n}.0` })),
});

const engine = useMemoryEngine();
let opened: OpenedEngine;
beforeEach(() => {
  opened = engine.current;
});

const rejects = (fn: () => unknown, code: string): TabulaError => rejectsWithoutWrites(opened, fn, code);

describe('inventory reconciliation through the store', () => {
  it('an unknown MAC enrols a new host in the default cluster with the management network only', () => {
    const { engine } = opened;
    const r = engine.reportInventory(null, report([1, 2, 3]));
    expect(r.enrolled).toBe(true);
    expect(r.host).toMatchObject({ name: 'host-525400000201', state: 'new', cluster: 'default', bootMac: mac(1) });
    expect(engine.listNics(r.host.id).map((n) => n.name)).toEqual(['eth0', 'eth1', 'eth2']);
    const atts = engine.listAttachments(r.host.id);
    expect(atts.map((a) => [a.network, a.interface.name, a.ipv4.method])).toEqual([['mgmt', 'eth0', 'dhcp']]);
    expect(r.changes.map((c) => c.kind)).toEqual(['host-enrolled', 'nic-added', 'nic-added', 'nic-added', 'management-derived']);
    // a second report of the same machine finds it again (by MAC) and changes nothing
    const again = engine.reportInventory(null, report([1, 2, 3]));
    expect(again.enrolled).toBe(false);
    expect(again.host.id).toBe(r.host.id);
    expect(again.changes).toEqual([]);
    expect(again.host.generation).toBe(r.host.generation);
  });

  it('a vanished bond member deletes the NIC, leaves the bond partial and the host out of sync; its return heals it', () => {
    const { engine } = opened;
    const h = engine.reportInventory(null, report([1, 2, 3])).host;
    engine.createBond(h.name, { mode: 'active-backup', members: ['eth0', 'eth1'], options: { miimon: 100 } });
    const gen = engine.getHost(h.name).generation;
    const gone = engine.reportInventory(h.name, report([1, 3]));
    expect(engine.listNics(h.name).map((n) => n.mac)).toEqual([mac(1), mac(3)]);
    const b = engine.getBond(h.name, 'bond0');
    expect(b.partial).toBe(true);
    expect(b.members).toEqual([
      { mac: mac(1), name: 'eth0', present: true },
      { mac: mac(2), name: null, present: false },
    ]);
    expect(gone.host.inSync).toBe(false);
    expect(gone.syncReasons.map((s) => s.code)).toEqual(['BOND_PARTIAL']);
    expect(gone.syncReasons[0]?.message).toContain(mac(2));
    expect(gone.host.generation).toBe(gen + 1); // the plan lost a port
    const back = engine.reportInventory(h.name, report([1, 2, 3]));
    expect(engine.getBond(h.name, 'bond0').partial).toBe(false);
    expect(back.syncReasons).toEqual([]);
  });

  it('a renamed NIC keeps its identity, labels and bond membership', () => {
    const { engine } = opened;
    const h = engine.reportInventory(null, report([1, 2, 3])).host;
    engine.updateNic(h.name, 'eth2', { labels: ['san'] });
    const r = engine.reportInventory(h.name, report([1, 2, 3], 1, { 3: 'enp0s9' }));
    expect(r.changes).toEqual([{ kind: 'nic-renamed', mac: mac(3), message: `NIC ${mac(3)} renamed from eth2 to enp0s9` }]);
    expect(engine.getNic(h.name, 'enp0s9')).toMatchObject({ mac: mac(3), labels: ['san'] });
  });

  it('a NIC that moved to another machine leaves its old host', () => {
    const { engine } = opened;
    const a = engine.reportInventory(null, report([1, 2])).host;
    const b = engine.reportInventory(null, report([5, 6], 5)).host;
    expect(a.id).not.toBe(b.id);
    // the card with MAC 2 was moved from blade A into blade B
    const r = engine.reportInventory(null, report([5, 6, 2], 5));
    expect(r.host.id).toBe(b.id);
    expect(r.changes.map((c) => c.kind)).toEqual(['nic-moved', 'nic-added']);
    expect(engine.listNics(a.name).map((n) => n.mac)).toEqual([mac(1)]);
    expect(engine.listNics(b.name).map((n) => n.mac).sort()).toEqual([mac(2), mac(5), mac(6)]);
    // an unknown boot MAC next to a known NIC is the same machine with a new boot NIC
    const same = engine.reportInventory(null, report([9, 1], 9));
    expect(same.host.id).toBe(a.id);
    expect(same.enrolled).toBe(false);
  });

  it('a malformed report is refused and writes nothing', () => {
    const { engine } = opened;
    rejects(() => engine.reportInventory(null, { bootMac: mac(1), nics: [{ mac: 'zz', name: 'eth0' }] }), 'INVALID_MAC');
  });
});

describe('writes are validated and atomic', () => {
  function blade(): string {
    return opened.engine.reportInventory(null, report([1, 2, 3])).host.name;
  }

  it('creating a bond moves management up; destroying it moves it back, each in one transaction', () => {
    const { engine } = opened;
    const h = blade();
    const b = engine.createBond(h, { mode: 'failover', members: ['eth1', 'eth0'] });
    expect(b).toMatchObject({ name: 'bond0', mode: 'active-backup', primaryMember: mac(1), effectiveMac: mac(1) });
    expect(engine.getAttachment(h, 'mgmt').interface).toMatchObject({ kind: 'bond', name: 'bond0' });
    engine.deleteBond(h, 'bond0');
    expect(engine.getAttachment(h, 'mgmt').interface).toMatchObject({ kind: 'nic', name: 'eth0' });
    expect(engine.listBonds(h)).toEqual([]);
  });

  it('a rule broken by a write refuses it and leaves the database unchanged', () => {
    const { engine } = opened;
    const h = blade();
    engine.createNetwork('default', { name: 'vmnet', vlan: 100, bridged: true });
    engine.createBond(h, { mode: 'balance-rr', members: ['eth1', 'eth2'] });
    rejects(() => engine.createAttachment(h, { network: 'vmnet', interface: 'bond0' }), 'BOND_MODE_NOT_BRIDGEABLE');
    rejects(() => engine.createBond(h, { mode: 'active-backup', members: ['eth0', 'eth1'] }), 'BOND_MEMBER_IN_OTHER_BOND');
    rejects(() => engine.createBond(h, { mode: '802.3ad', members: ['eth0'], options: { lacp_rate: 'fast' } }), 'BOND_TOO_FEW_MEMBERS');
    rejects(() => engine.updateBond(h, 'bond0', { options: { lacp_rate: 'fast' } }), 'BOND_LACP_RATE_MODE');
    rejects(() => engine.createNetwork('default', { name: 'bad', vlan: 4095 }), 'VLAN_ID_OUT_OF_RANGE');
  });

  it('the management network cannot be detached while the host is active', () => {
    const { engine } = opened;
    const h = blade();
    engine.updateHost(h, { state: 'active' });
    rejects(() => engine.deleteAttachment(h, 'mgmt'), 'MANAGEMENT_DETACH_ACTIVE');
    rejects(() => engine.deleteNetwork('default', 'mgmt'), 'MANAGEMENT_NETWORK_REQUIRED');
    rejects(() => engine.deleteHost(h), 'HOST_ACTIVE');
    engine.updateHost(h, { state: 'maintenance' });
    engine.deleteAttachment(h, 'mgmt');
    expect(engine.getHost(h).syncReasons.map((r) => r.code)).toContain('MANAGEMENT_NETWORK_MISSING');
    rejects(() => engine.updateHost(h, { state: 'active' }), 'MANAGEMENT_NETWORK_MISSING');
  });

  it('management must stay on the interface that reaches the engine', () => {
    const { engine } = opened;
    const h = blade();
    rejects(() => engine.updateAttachment(h, 'mgmt', { interface: 'eth2' }), 'MANAGEMENT_NOT_ON_BOOT_INTERFACE');
  });

  it('a cluster-level change is checked against every host of the cluster', () => {
    const { engine } = opened;
    const h = blade();
    engine.createNetwork('default', { name: 'storage', vlan: 200, mtu: 9000 });
    engine.createAttachment(h, { network: 'storage', interface: 'eth1', ipv4: { method: 'static', address: '10.20.0.5', prefix: 24 } });
    // a labelled untagged network would land on eth1 next to... fine; but an untagged one on eth0 clashes with mgmt
    engine.updateNic(h, 'eth0', { labels: ['front'] });
    const e = rejects(() => engine.createNetwork('default', { name: 'public', label: 'front' }), 'MULTIPLE_UNTAGGED_NETWORKS');
    expect(e.details.cluster).toBe('default');
    engine.createNetwork('default', { name: 'backup', vlan: 300 });
    engine.createAttachment(h, { network: 'backup', interface: 'eth1' });
    rejects(() => engine.updateNetwork('default', 'backup', { vlan: 200 }), 'DUPLICATE_VLAN_ON_INTERFACE');
    engine.updateNetwork('default', 'backup', { vlan: 201 });
    rejects(() => engine.deleteNetwork('default', 'storage'), 'NETWORK_IN_USE');
  });

  it('the generation moves only when the plan changes', () => {
    const { engine } = opened;
    const h = blade();
    const g0 = engine.getHost(h).generation;
    engine.updateHost(h, { state: 'maintenance' });
    expect(engine.getHost(h).generation).toBe(g0);
    engine.createNetwork('default', { name: 'storage', vlan: 200 });
    expect(engine.getHost(h).generation).toBe(g0); // not attached: nothing changes for this host
    engine.updateNetwork('default', 'mgmt', { mtu: 9000 });
    expect(engine.getHost(h).generation).toBe(g0 + 1);
    expect(engine.getPlan(h).generation).toBe(g0 + 1);
    expect(engine.getPlan(h).state.interfaces.find((i) => i.name === 'eth0')?.mtu).toBe(9000);
  });

  it('the plan of an invalid host is refused with every violation listed', () => {
    const { engine } = opened;
    const h = blade();
    engine.updateHost(h, { state: 'maintenance' });
    engine.createNetwork('default', { name: 'storage', vlan: 200 });
    engine.createAttachment(h, { network: 'storage', interface: 'eth1' });
    // The hardware then swaps: eth1 becomes the boot NIC; reality is stored even though it breaks a rule.
    const r = engine.reportInventory(h, report([1, 2, 3], 2));
    expect(r.findings.map((f) => f.code)).not.toContain('MANAGEMENT_NOT_ON_BOOT_INTERFACE');
    expect(engine.getAttachment(h, 'mgmt').interface.name).toBe('eth1');
    expect(engine.getPlan(h).state.networks.mgmt?.interface).toBe('eth1');
  });

  it('names: defaults, duplicates, references by id or name', () => {
    const { engine } = opened;
    const c = engine.createCluster({ name: 'rack2', defaults: { dnsServers: ['10.0.0.53'] }, managementNetwork: { name: 'ovirtmgmt', vlan: 10, bridged: true, mtu: 9000 } });
    expect(engine.listNetworks(c.id).map((n) => [n.name, n.role, n.vlan])).toEqual([['ovirtmgmt', 'management', 10]]);
    rejects(() => engine.createCluster({ name: 'rack2' }), 'DUPLICATE_CLUSTER_NAME');
    rejects(() => engine.createCluster({ name: 'x', defaults: { dnsServers: ['not-an-ip'] } }), 'INVALID_IP_ADDRESS');
    const host = engine.createHost({ name: 'blade9', cluster: 'rack2', bootMac: '52-54-00-AA-BB-CC' });
    expect(host.bootMac).toBe('52:54:00:aa:bb:cc');
    expect(engine.getHost(String(host.id)).name).toBe('blade9');
    rejects(() => engine.createHost({ name: 'blade9' }), 'DUPLICATE_HOST_NAME');
    rejects(() => engine.createHost({ name: 'blade10', bootMac: '52:54:00:aa:bb:cc' }), 'MAC_IN_USE');
    rejects(() => engine.getHost('nope'), 'HOST_NOT_FOUND');
    rejects(() => engine.deleteCluster('rack2'), 'CLUSTER_NOT_EMPTY');
    rejects(() => engine.deleteCluster('default'), 'CLUSTER_IS_DEFAULT');
  });

  it('tokens are stored hashed and verified', () => {
    const { engine, repo } = opened;
    const t = engine.createToken('ci');
    expect(t.token).toMatch(/^tbl_/);
    expect(JSON.stringify(repo.dumpTables())).not.toContain(t.token);
    expect(engine.verifyToken(t.token)).toBe(true);
    expect(engine.verifyToken(`${t.token}x`)).toBe(false);
    rejects(() => engine.createToken('ci'), 'TOKEN_EXISTS');
    engine.revokeToken('ci');
    expect(engine.verifyToken(t.token)).toBe(false);
  });
});

describe('findOrEnrolHost', () => {
  it('finds a host by boot MAC or NIC MAC and enrols unknown machines once', () => {
    const { engine } = opened;
    const first = engine.findOrEnrolHost('52-54-00-00-02-41');
    expect(first.enrolled).toBe(true);
    expect(first.host).toMatchObject({ name: 'host-525400000241', state: 'new', bootMac: '52:54:00:00:02:41' });
    expect(engine.findOrEnrolHost('52:54:00:00:02:41')).toMatchObject({ enrolled: false, host: { id: first.host.id } });
    // its first inventory fills in the NICs and the management network
    const r = engine.reportInventory(null, { bootMac: '52:54:00:00:02:41', nics: [{ mac: '52:54:00:00:02:41', name: 'eth0' }] });
    expect(r.host.id).toBe(first.host.id);
    expect(engine.getAttachment(first.host.id, 'mgmt').interface.name).toBe('eth0');
    rejects(() => engine.findOrEnrolHost('ff:ff:ff:ff:ff:ff'), 'INVALID_MAC');
  });
});

describe('engine-level rules: each triggers and passes at its edge', () => {
  function blade(): string {
    return opened.engine.reportInventory(null, report([1, 2, 3])).host.name;
  }

  it('CLUSTER_NAME_INVALID', () => {
    rejects(() => opened.engine.createCluster({ name: '9rack' }), 'CLUSTER_NAME_INVALID');
    expect(opened.engine.createCluster({ name: 'rack9' }).name).toBe('rack9');
  });

  it('DNS_SEARCH_INVALID', () => {
    rejects(() => opened.engine.createCluster({ name: 'r1', defaults: { dnsSearch: ['bad domain'] } }), 'DNS_SEARCH_INVALID');
    expect(opened.engine.createCluster({ name: 'r1', defaults: { dnsSearch: ['rack1.example'] } }).defaults.dnsSearch).toEqual(['rack1.example']);
  });

  it('CLUSTER_DEFAULT_REQUIRED: the default moves, it is never unset', () => {
    const { engine } = opened;
    rejects(() => engine.updateCluster('default', { isDefault: false }), 'CLUSTER_DEFAULT_REQUIRED');
    engine.createCluster({ name: 'rack2' });
    engine.updateCluster('rack2', { isDefault: true });
    expect(engine.listClusters().filter((c) => c.isDefault).map((c) => c.name)).toEqual(['rack2']);
  });

  it('NO_DEFAULT_CLUSTER: enrolment needs one', () => {
    const { engine, repo } = opened;
    const d = repo.getDefaultCluster();
    if (!d) throw new Error('seed default cluster missing');
    repo.updateCluster({ ...d, isDefault: false });
    rejects(() => engine.reportInventory(null, report([1])), 'NO_DEFAULT_CLUSTER');
    repo.updateCluster({ ...d, isDefault: true });
    expect(engine.reportInventory(null, report([1])).enrolled).toBe(true);
  });

  it('HOST_STATE_INVALID', () => {
    const h = blade();
    rejects(() => opened.engine.updateHost(h, { state: 'rebooting' as never }), 'HOST_STATE_INVALID');
    expect(opened.engine.updateHost(h, { state: 'non-operational' }).state).toBe('non-operational');
  });

  it('INTERFACE_NOT_FOUND and NETWORK_ALREADY_ATTACHED', () => {
    const { engine } = opened;
    const h = blade();
    engine.createNetwork('default', { name: 'storage', vlan: 200 });
    rejects(() => engine.createAttachment(h, { network: 'storage', interface: 'eth9' }), 'INTERFACE_NOT_FOUND');
    expect(engine.createAttachment(h, { network: 'storage', interface: mac(2) }).interface.name).toBe('eth1');
    rejects(() => engine.createAttachment(h, { network: 'storage', interface: 'eth2' }), 'NETWORK_ALREADY_ATTACHED');
    expect(engine.updateAttachment(h, 'storage', { interface: 'eth2' }).interface.name).toBe('eth2');
  });

  it('ATTACHMENT_FROM_LABEL: label-derived attachments change through labels', () => {
    const { engine } = opened;
    const h = blade();
    engine.createNetwork('default', { name: 'san', vlan: 300, label: 'san' });
    engine.updateNic(h, 'eth2', { labels: ['san'] });
    const derived = engine.getAttachment(h, 'san');
    expect(derived).toMatchObject({ id: 0, viaLabel: 'san', interface: { name: 'eth2' } });
    rejects(() => engine.deleteAttachment(h, 'san'), 'ATTACHMENT_FROM_LABEL');
    rejects(() => engine.getAttachment(h, 0), 'ATTACHMENT_NOT_FOUND');
    engine.updateNic(h, 'eth2', { labels: [] });
    expect(engine.listAttachments(h).map((a) => a.network)).toEqual(['mgmt']);
  });

  it('HOST_MOVE_NETWORK_MISSING: a host moves only where its networks exist', () => {
    const { engine } = opened;
    const h = blade();
    engine.createNetwork('default', { name: 'storage', vlan: 200 });
    engine.createAttachment(h, { network: 'storage', interface: 'eth1' });
    engine.createCluster({ name: 'bare', managementNetwork: { name: 'mgmt' } });
    rejects(() => engine.updateHost(h, { cluster: 'bare' }), 'HOST_MOVE_NETWORK_MISSING');
    engine.createCluster({ name: 'full', managementNetwork: { name: 'mgmt' } });
    engine.createNetwork('full', { name: 'storage', vlan: 201 });
    const moved = engine.updateHost(h, { cluster: 'full' });
    expect(moved.cluster).toBe('full');
    expect(engine.getPlan(h).state.networks.storage?.vlan).toBe(201);
  });

  it('NOT_APPLIED: a host is out of sync until it has applied its generation', () => {
    const v = opened.engine.getHost(blade());
    expect(v.appliedGeneration).toBeNull();
    expect(v.syncReasons.map((r) => r.code)).toEqual(['NOT_APPLIED']);
    expect(v.inSync).toBe(false);
  });
});

describe('recordApplied (the generation a blade verified)', () => {
  it('records the current generation once, refuses a future one and a non-integer, keeps an older one', () => {
    const { engine } = opened;
    const { host } = engine.reportInventory(null, report([1, 2]));
    expect(host.generation).toBeGreaterThan(0);
    const done = engine.recordApplied(host.id, host.generation);
    expect(done.appliedGeneration).toBe(host.generation);
    expect(done.inSync).toBe(true);
    // the same generation again changes nothing
    const before = opened.repo.dumpTables();
    engine.recordApplied(host.id, host.generation);
    expect(opened.repo.dumpTables()).toEqual(before);
    // edge: the current generation + 1 is unknown to the engine
    rejects(() => engine.recordApplied(host.id, host.generation + 1), 'GENERATION_UNKNOWN');
    rejects(() => engine.recordApplied(host.id, -1), 'GENERATION_INVALID');
    rejects(() => engine.recordApplied(host.id, 1.5), 'GENERATION_INVALID');
    // an older generation is what the blade runs: recorded, and the host is then behind
    if (host.generation > 0) {
      const older = engine.recordApplied(host.id, host.generation - 1);
      expect(older.appliedGeneration).toBe(host.generation - 1);
      expect(older.inSync).toBe(false);
    }
  });
});
