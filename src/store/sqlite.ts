// The Repository over better-sqlite3: synchronous, one connection, statements prepared once.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type {
  Attachment,
  AttachmentQos,
  Bond,
  BondMode,
  BondOptions,
  Cluster,
  ClusterDefaults,
  CustomProperties,
  Host,
  HostConfig,
  HostState,
  Ipv4Config,
  Ipv6Config,
  LogicalNetwork,
  NetworkRole,
  Nic,
  PortType,
  SwitchType,
  SyncReason,
} from '../domain/model.js';
import type { StoredReport } from '../domain/observed.js';
import { atomically } from './atomically.js';
import { migrate } from './migrate.js';
import type { ApiTokenRecord, HostEvent, HostFilter, NewCluster, NewHost, NewNetwork, Repository } from './repository.js';

// ---------------------------------------------------------------- rows as SQLite returns them

interface ClusterRow {
  id: number;
  name: string;
  description: string;
  is_default: number;
  defaults: string;
  switch_type: string;
  created_at: string;
  updated_at: string;
}

interface NetworkRow {
  id: number;
  cluster_id: number;
  name: string;
  vlan: number | null;
  mtu: number;
  bridged: number;
  role: string;
  required: number;
  label: string | null;
  description: string;
  port_type: string;
  trunks: string;
}

interface HostRow {
  id: number;
  name: string;
  cluster_id: number;
  state: string;
  boot_mac: string | null;
  generation: number;
  applied_generation: number | null;
  custom: string;
  sync_reasons: string;
  last_inventory_at: string | null;
  created_at: string;
  updated_at: string;
}

interface NicRow {
  id: number;
  host_id: number;
  mac: string;
  name: string;
  driver: string | null;
  speed: number | null;
  carrier: number;
  pci_address: string | null;
  labels: string;
}

interface BondRow {
  id: number;
  host_id: number;
  name: string;
  mode: string;
  options: string;
  mac: string | null;
  primary_member: string | null;
  labels: string;
}

interface AttachmentRow {
  id: number;
  host_id: number;
  network_id: number;
  nic_mac: string | null;
  bond_id: number | null;
  ipv4: string;
  ipv6: string;
  custom: string;
  qos: string;
}

interface TokenRow {
  id: number;
  name: string;
  hash: string;
  created_at: string;
  last_used_at: string | null;
}

interface ReportRow {
  host_id: number;
  boot_id: number | null;
  generation: number;
  verified: number;
  rolled_back: number;
  fallback: number;
  received_at: string;
  checks: string;
  observed: number;
  interfaces: string;
  routes: string;
  compared: number;
  differences: string;
}

interface EventRow {
  id: number;
  host_id: number;
  at: string;
  kind: string;
  data: string;
}

// ---------------------------------------------------------------- row <-> domain

/** The JSON columns are written only by this class, so their shape is trusted on the way back. */
function json<T>(text: string): T {
  return JSON.parse(text) as T;
}

const bool = (b: boolean): number => (b ? 1 : 0);
const now = (): string => new Date().toISOString();

function toCluster(r: ClusterRow): Cluster {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    isDefault: r.is_default !== 0,
    defaults: json<ClusterDefaults>(r.defaults),
    switchType: r.switch_type as SwitchType,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toNetwork(r: NetworkRow): LogicalNetwork {
  return {
    id: r.id,
    clusterId: r.cluster_id,
    name: r.name,
    vlan: r.vlan,
    mtu: r.mtu,
    bridged: r.bridged !== 0,
    role: r.role as NetworkRole,
    required: r.required !== 0,
    label: r.label,
    description: r.description,
    portType: r.port_type as PortType,
    trunks: json<number[]>(r.trunks),
  };
}

function toHost(r: HostRow): Host {
  return {
    id: r.id,
    name: r.name,
    clusterId: r.cluster_id,
    state: r.state as HostState,
    bootMac: r.boot_mac,
    generation: r.generation,
    appliedGeneration: r.applied_generation,
    custom: json<CustomProperties>(r.custom),
    syncReasons: json<SyncReason[]>(r.sync_reasons),
    lastInventoryAt: r.last_inventory_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toNic(r: NicRow): Nic {
  return {
    id: r.id,
    hostId: r.host_id,
    mac: r.mac,
    name: r.name,
    driver: r.driver,
    speed: r.speed,
    carrier: r.carrier !== 0,
    pciAddress: r.pci_address,
    labels: json<string[]>(r.labels),
  };
}

function toBond(r: BondRow, members: string[]): Bond {
  return {
    id: r.id,
    hostId: r.host_id,
    name: r.name,
    mode: r.mode as BondMode,
    options: json<BondOptions>(r.options),
    members,
    mac: r.mac,
    primaryMember: r.primary_member,
    labels: json<string[]>(r.labels),
  };
}

function toAttachment(r: AttachmentRow): Attachment {
  return {
    id: r.id,
    hostId: r.host_id,
    networkId: r.network_id,
    iface: r.nic_mac !== null ? { kind: 'nic', mac: r.nic_mac } : { kind: 'bond', bondId: r.bond_id as number },
    ipv4: json<Ipv4Config>(r.ipv4),
    ipv6: json<Ipv6Config>(r.ipv6),
    custom: json<CustomProperties>(r.custom),
    qos: json<AttachmentQos>(r.qos),
  };
}

function toToken(r: TokenRow): ApiTokenRecord {
  return { id: r.id, name: r.name, hash: r.hash, createdAt: r.created_at, lastUsedAt: r.last_used_at };
}

function toEvent(r: EventRow): HostEvent {
  return { id: r.id, hostId: r.host_id, at: r.at, kind: r.kind, data: json<Record<string, unknown>>(r.data) };
}

/** Splits the children of `next` against what is stored: which rows to delete, update and insert. */
/**
 * Rows to remove, insert and update for one host's save. `keep` is every stored row the save keeps;
 * `update` only those that differ from the stored row: most saves change one object of a host, and
 * rewriting all its rows (and their indexes) was most of the cost of a save.
 */
function diffById<T extends { id: number }>(what: string, stored: readonly T[], next: readonly T[]): { remove: T[]; keep: T[]; update: T[]; insert: T[] } {
  const storedById = new Map(stored.map((x) => [x.id, x]));
  const seen = new Set<number>();
  const keep: T[] = [];
  const update: T[] = [];
  const insert: T[] = [];
  for (const x of next) {
    if (x.id <= 0) {
      insert.push(x);
      continue;
    }
    // An id that is not this host's would make the UPDATE rewrite another host's row.
    const before = storedById.get(x.id);
    if (before === undefined) throw new Error(`${what} #${x.id} does not belong to this host`);
    if (seen.has(x.id)) throw new Error(`${what} #${x.id} appears twice`);
    seen.add(x.id);
    keep.push(x);
    if (before !== x && JSON.stringify(before) !== JSON.stringify(x)) update.push(x);
  }
  return { remove: stored.filter((x) => !seen.has(x.id)), keep, update, insert };
}

// ---------------------------------------------------------------- the repository

export class SqliteRepository implements Repository {
  private readonly stmts = new Map<string, Database.Statement>();

  /** Public so that tests can inspect tables directly. */
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating if needed) the database file at `file` and brings its schema up to date. */
  static open(file: string): SqliteRepository {
    const memory = file === ':memory:';
    if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    try {
      // WAL lets readers (CLI, API) run while a write is in progress; meaningless for :memory:.
      if (!memory) db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      db.pragma('synchronous = NORMAL');
      migrate(db);
    } catch (e) {
      db.close();
      throw e;
    }
    return new SqliteRepository(db);
  }

  static openInMemory(): SqliteRepository {
    return SqliteRepository.open(':memory:');
  }

  /** Prepared once per SQL text, then reused. */
  /** Prepared once per SQL text on this database, then reused; shared by the stores built on this repository. */
  statement(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private one<R>(sql: string, ...params: unknown[]): R | undefined {
    return this.statement(sql).get(...params) as R | undefined;
  }

  private all<R>(sql: string, ...params: unknown[]): R[] {
    return this.statement(sql).all(...params) as R[];
  }

  private run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.statement(sql).run(...params);
  }

  /** Runs an UPDATE/DELETE that must hit exactly one row. */
  private runOne(what: string, id: number, sql: string, ...params: unknown[]): void {
    if (this.run(sql, ...params).changes !== 1) throw new Error(`${what} #${id} not found`);
  }

  /** better-sqlite3 turns a nested transaction into a savepoint; a throw rolls back and rethrows. */
  transaction<T>(fn: () => T): T {
    return atomically(this.db, fn);
  }

  close(): void {
    this.stmts.clear();
    if (this.db.open) this.db.close();
  }

  /** Every user table's rows in rowid order: a cheap way to prove that a refused write changed nothing. */
  dumpTables(): Record<string, unknown[]> {
    const tables = this.all<{ name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    );
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) out[name] = this.db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}" ORDER BY rowid`).all();
    return out;
  }

  // ---------------------------------------------------------------- clusters

  listClusters(): Cluster[] {
    return this.all<ClusterRow>('SELECT * FROM clusters ORDER BY name').map(toCluster);
  }

  getClusterById(id: number): Cluster | undefined {
    const r = this.one<ClusterRow>('SELECT * FROM clusters WHERE id = ?', id);
    return r && toCluster(r);
  }

  getClusterByName(name: string): Cluster | undefined {
    const r = this.one<ClusterRow>('SELECT * FROM clusters WHERE name = ?', name);
    return r && toCluster(r);
  }

  getDefaultCluster(): Cluster | undefined {
    const r = this.one<ClusterRow>('SELECT * FROM clusters WHERE is_default = 1');
    return r && toCluster(r);
  }

  insertCluster(c: NewCluster): Cluster {
    const at = now();
    const { lastInsertRowid } = this.run(
      'INSERT INTO clusters (name, description, is_default, defaults, switch_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      c.name,
      c.description,
      bool(c.isDefault),
      JSON.stringify(c.defaults),
      c.switchType ?? 'linux',
      at,
      at,
    );
    return this.getClusterById(Number(lastInsertRowid)) as Cluster;
  }

  updateCluster(c: Cluster): Cluster {
    this.runOne(
      'cluster',
      c.id,
      'UPDATE clusters SET name = ?, description = ?, is_default = ?, defaults = ?, switch_type = ?, updated_at = ? WHERE id = ?',
      c.name,
      c.description,
      bool(c.isDefault),
      JSON.stringify(c.defaults),
      c.switchType ?? 'linux',
      now(),
      c.id,
    );
    return this.getClusterById(c.id) as Cluster;
  }

  deleteCluster(id: number): void {
    this.run('DELETE FROM clusters WHERE id = ?', id);
  }

  // ---------------------------------------------------------------- networks

  listNetworks(clusterId: number): LogicalNetwork[] {
    return this.all<NetworkRow>('SELECT * FROM networks WHERE cluster_id = ? ORDER BY name', clusterId).map(toNetwork);
  }

  getNetworkById(id: number): LogicalNetwork | undefined {
    const r = this.one<NetworkRow>('SELECT * FROM networks WHERE id = ?', id);
    return r && toNetwork(r);
  }

  insertNetwork(n: NewNetwork): LogicalNetwork {
    const { lastInsertRowid } = this.run(
      'INSERT INTO networks (cluster_id, name, vlan, mtu, bridged, role, required, label, description, port_type, trunks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      n.clusterId,
      n.name,
      n.vlan,
      n.mtu,
      bool(n.bridged),
      n.role,
      bool(n.required),
      n.label,
      n.description,
      n.portType ?? 'access',
      JSON.stringify(n.trunks ?? []),
    );
    return this.getNetworkById(Number(lastInsertRowid)) as LogicalNetwork;
  }

  updateNetwork(n: LogicalNetwork): LogicalNetwork {
    this.runOne(
      'network',
      n.id,
      'UPDATE networks SET cluster_id = ?, name = ?, vlan = ?, mtu = ?, bridged = ?, role = ?, required = ?, label = ?, description = ?, port_type = ?, trunks = ? WHERE id = ?',
      n.clusterId,
      n.name,
      n.vlan,
      n.mtu,
      bool(n.bridged),
      n.role,
      bool(n.required),
      n.label,
      n.description,
      n.portType ?? 'access',
      JSON.stringify(n.trunks ?? []),
      n.id,
    );
    return this.getNetworkById(n.id) as LogicalNetwork;
  }

  deleteNetwork(id: number): void {
    this.run('DELETE FROM networks WHERE id = ?', id);
  }

  hostIdsAttachedToNetwork(networkId: number): number[] {
    return this.all<{ host_id: number }>('SELECT DISTINCT host_id FROM attachments WHERE network_id = ? ORDER BY host_id', networkId).map((r) => r.host_id);
  }

  // ---------------------------------------------------------------- hosts

  listHosts(filter: HostFilter = {}): Host[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.clusterId !== undefined) {
      where.push('cluster_id = ?');
      params.push(filter.clusterId);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      params.push(filter.state);
    }
    // At most four distinct SQL texts, so the statement cache stays small.
    const sql = `SELECT * FROM hosts${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY name`;
    return this.all<HostRow>(sql, ...params).map(toHost);
  }

  getHostById(id: number): Host | undefined {
    const r = this.one<HostRow>('SELECT * FROM hosts WHERE id = ?', id);
    return r && toHost(r);
  }

  getHostByName(name: string): Host | undefined {
    const r = this.one<HostRow>('SELECT * FROM hosts WHERE name = ?', name);
    return r && toHost(r);
  }

  findHostByMac(mac: string): Host | undefined {
    const r =
      this.one<HostRow>('SELECT * FROM hosts WHERE boot_mac = ?', mac) ??
      this.one<HostRow>('SELECT hosts.* FROM nics JOIN hosts ON hosts.id = nics.host_id WHERE nics.mac = ?', mac);
    return r && toHost(r);
  }

  insertHost(h: NewHost): Host {
    const at = now();
    const { lastInsertRowid } = this.run(
      `INSERT INTO hosts (name, cluster_id, state, boot_mac, generation, applied_generation, custom, sync_reasons, last_inventory_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      h.name,
      h.clusterId,
      h.state,
      h.bootMac,
      h.generation,
      h.appliedGeneration,
      JSON.stringify(h.custom),
      JSON.stringify(h.syncReasons),
      h.lastInventoryAt,
      at,
      at,
    );
    return this.getHostById(Number(lastInsertRowid)) as Host;
  }

  updateHost(h: Host): Host {
    this.runOne(
      'host',
      h.id,
      `UPDATE hosts SET name = ?, cluster_id = ?, state = ?, boot_mac = ?, generation = ?, applied_generation = ?, custom = ?,
       sync_reasons = ?, last_inventory_at = ?, updated_at = ? WHERE id = ?`,
      h.name,
      h.clusterId,
      h.state,
      h.bootMac,
      h.generation,
      h.appliedGeneration,
      JSON.stringify(h.custom),
      JSON.stringify(h.syncReasons),
      h.lastInventoryAt,
      now(),
      h.id,
    );
    return this.getHostById(h.id) as Host;
  }

  deleteHost(id: number): void {
    this.run('DELETE FROM hosts WHERE id = ?', id);
  }

  // ---------------------------------------------------------------- host configuration

  private listNics(hostId: number): Nic[] {
    return this.all<NicRow>('SELECT * FROM nics WHERE host_id = ? ORDER BY name, mac', hostId).map(toNic);
  }

  private listBonds(hostId: number): Bond[] {
    const rows = this.all<BondRow>('SELECT * FROM bonds WHERE host_id = ? ORDER BY name', hostId);
    const members = new Map<number, string[]>();
    for (const m of this.all<{ bond_id: number; mac: string }>(
      'SELECT bond_members.bond_id, bond_members.mac FROM bond_members JOIN bonds ON bonds.id = bond_members.bond_id WHERE bonds.host_id = ? ORDER BY bond_members.bond_id, bond_members.position',
      hostId,
    )) {
      const list = members.get(m.bond_id);
      if (list) list.push(m.mac);
      else members.set(m.bond_id, [m.mac]);
    }
    return rows.map((r) => toBond(r, members.get(r.id) ?? []));
  }

  private listAttachments(hostId: number): Attachment[] {
    return this.all<AttachmentRow>('SELECT * FROM attachments WHERE host_id = ? ORDER BY id', hostId).map(toAttachment);
  }

  loadHostConfig(hostId: number): HostConfig {
    return this.transaction(() => {
      const host = this.getHostById(hostId);
      if (!host) throw new Error(`host #${hostId} not found`);
      const cluster = this.getClusterById(host.clusterId);
      if (!cluster) throw new Error(`cluster #${host.clusterId} of host '${host.name}' not found`);
      return {
        cluster,
        networks: this.listNetworks(cluster.id),
        host,
        nics: this.listNics(hostId),
        bonds: this.listBonds(hostId),
        attachments: this.listAttachments(hostId),
      };
    });
  }

  /**
   * Order of writes, chosen so that no UNIQUE constraint trips on a transient state:
   * 1. host row; removed attachments and NICs are deleted;
   * 2. rows whose unique key changes are parked under a placeholder key (updated NICs changing MAC,
   *    updated bonds changing name, and bonds about to be removed), so swaps and reuse of a freed
   *    name or MAC in the same call cannot collide;
   * 3. NICs and bonds are updated, then inserted; bond members are rewritten per bond;
   * 4. attachments are updated (ids kept) and inserted, with temporary bond ids resolved;
   * 5. removed bonds are deleted last, when no kept attachment points at them any more (deleting
   *    them earlier would cascade away an attachment that is being moved off them).
   */
  saveHostConfig(next: HostConfig): HostConfig {
    return this.transaction(() => {
      const hostId = next.host.id;
      const stored = this.loadHostConfig(hostId);
      const nics = diffById('NIC', stored.nics, next.nics);
      const bonds = diffById('bond', stored.bonds, next.bonds);
      const attachments = diffById('attachment', stored.attachments, next.attachments);

      // Check every bond reference before writing anything (the transaction would undo it anyway).
      const keptBondIds = new Set(bonds.keep.map((b) => b.id));
      const tempIds = new Map<number, number>();
      for (const b of bonds.insert) tempIds.set(b.id, (tempIds.get(b.id) ?? 0) + 1);
      for (const a of next.attachments) {
        if (a.iface.kind !== 'bond') continue;
        const ref = a.iface.bondId;
        if (ref > 0 && !keptBondIds.has(ref)) throw new Error(`attachment #${a.id} refers to bond #${ref}, which is not among this host's bonds`);
        if (ref <= 0 && tempIds.get(ref) !== 1) {
          throw new Error(`attachment #${a.id} refers to new bond ${ref}, which ${tempIds.has(ref) ? 'is ambiguous' : 'is not in this save'}`);
        }
      }

      this.updateHost(next.host);

      // 1. deletions that cannot hurt anything kept
      for (const a of attachments.remove) this.run('DELETE FROM attachments WHERE id = ?', a.id);
      for (const n of nics.remove) this.run('DELETE FROM nics WHERE id = ?', n.id);

      // 2. park changing unique keys (a placeholder starting with a colon is neither a valid MAC nor a valid kernel name, and embeds the row id)
      const storedNic = new Map(stored.nics.map((n) => [n.id, n]));
      for (const n of nics.update) {
        if (storedNic.get(n.id)?.mac !== n.mac) this.run('UPDATE nics SET mac = ? WHERE id = ?', `:parked:${n.id}`, n.id);
      }
      const storedBond = new Map(stored.bonds.map((b) => [b.id, b]));
      for (const b of [...bonds.update.filter((b) => storedBond.get(b.id)?.name !== b.name), ...bonds.remove]) {
        this.run('UPDATE bonds SET name = ? WHERE id = ?', `:parked:${b.id}`, b.id);
      }

      // 3. NICs and bonds
      for (const n of nics.update) {
        this.runOne(
          'NIC',
          n.id,
          'UPDATE nics SET mac = ?, name = ?, driver = ?, speed = ?, carrier = ?, pci_address = ?, labels = ? WHERE id = ?',
          n.mac,
          n.name,
          n.driver,
          n.speed,
          bool(n.carrier),
          n.pciAddress,
          JSON.stringify(n.labels),
          n.id,
        );
      }
      for (const n of nics.insert) {
        this.run(
          'INSERT INTO nics (host_id, mac, name, driver, speed, carrier, pci_address, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          hostId,
          n.mac,
          n.name,
          n.driver,
          n.speed,
          bool(n.carrier),
          n.pciAddress,
          JSON.stringify(n.labels),
        );
      }
      const realBondId = new Map<number, number>(bonds.keep.map((b) => [b.id, b.id]));
      for (const b of bonds.update) {
        this.runOne(
          'bond',
          b.id,
          'UPDATE bonds SET name = ?, mode = ?, options = ?, mac = ?, primary_member = ?, labels = ? WHERE id = ?',
          b.name,
          b.mode,
          JSON.stringify(b.options),
          b.mac,
          b.primaryMember,
          JSON.stringify(b.labels),
          b.id,
        );
      }
      for (const b of bonds.insert) {
        const { lastInsertRowid } = this.run(
          'INSERT INTO bonds (host_id, name, mode, options, mac, primary_member, labels) VALUES (?, ?, ?, ?, ?, ?, ?)',
          hostId,
          b.name,
          b.mode,
          JSON.stringify(b.options),
          b.mac,
          b.primaryMember,
          JSON.stringify(b.labels),
        );
        realBondId.set(b.id, Number(lastInsertRowid));
      }
      // Members: rewrite per bond (cheap, and keeps `position` dense and in order).
      for (const b of [...bonds.update, ...bonds.insert]) {
        const id = realBondId.get(b.id) as number;
        this.run('DELETE FROM bond_members WHERE bond_id = ?', id);
        b.members.forEach((mac, position) => this.run('INSERT INTO bond_members (bond_id, mac, position) VALUES (?, ?, ?)', id, mac, position));
      }

      // 4. attachments
      const ifaceColumns = (a: Attachment): [string | null, number | null] =>
        a.iface.kind === 'nic' ? [a.iface.mac, null] : [null, realBondId.get(a.iface.bondId) as number];
      for (const a of attachments.update) {
        this.runOne(
          'attachment',
          a.id,
          'UPDATE attachments SET network_id = ?, nic_mac = ?, bond_id = ?, ipv4 = ?, ipv6 = ?, custom = ?, qos = ? WHERE id = ?',
          a.networkId,
          ...ifaceColumns(a),
          JSON.stringify(a.ipv4),
          JSON.stringify(a.ipv6),
          JSON.stringify(a.custom),
          JSON.stringify(a.qos ?? {}),
          a.id,
        );
      }
      for (const a of attachments.insert) {
        this.run(
          'INSERT INTO attachments (host_id, network_id, nic_mac, bond_id, ipv4, ipv6, custom, qos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          hostId,
          a.networkId,
          ...ifaceColumns(a),
          JSON.stringify(a.ipv4),
          JSON.stringify(a.ipv6),
          JSON.stringify(a.custom),
          JSON.stringify(a.qos ?? {}),
        );
      }

      // 5. removed bonds (members cascade)
      for (const b of bonds.remove) this.run('DELETE FROM bonds WHERE id = ?', b.id);

      return this.loadHostConfig(hostId);
    });
  }

  // ---------------------------------------------------------------- API tokens

  insertToken(name: string, hash: string): ApiTokenRecord {
    const { lastInsertRowid } = this.run('INSERT INTO api_tokens (name, hash, created_at, last_used_at) VALUES (?, ?, ?, NULL)', name, hash, now());
    return toToken(this.one<TokenRow>('SELECT * FROM api_tokens WHERE id = ?', Number(lastInsertRowid)) as TokenRow);
  }

  findTokenByHash(hash: string): ApiTokenRecord | undefined {
    const r = this.one<TokenRow>('SELECT * FROM api_tokens WHERE hash = ?', hash);
    return r && toToken(r);
  }

  touchToken(id: number): void {
    this.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', now(), id);
  }

  listTokens(): ApiTokenRecord[] {
    return this.all<TokenRow>('SELECT * FROM api_tokens ORDER BY name').map(toToken);
  }

  deleteToken(name: string): boolean {
    return this.run('DELETE FROM api_tokens WHERE name = ?', name).changes > 0;
  }

  // ---------------------------------------------------------------- boot reports (005_reports.sql)

  saveHostReport(hostId: number, r: StoredReport): void {
    this.run(
      `INSERT OR REPLACE INTO host_reports (host_id, boot_id, generation, verified, rolled_back, fallback, received_at, checks, observed, interfaces, routes, compared, differences)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      hostId,
      r.bootId,
      r.generation,
      r.verified ? 1 : 0,
      r.rolledBack ? 1 : 0,
      r.fallback ? 1 : 0,
      r.receivedAt,
      JSON.stringify(r.checks),
      r.observed ? 1 : 0,
      JSON.stringify(r.interfaces),
      JSON.stringify(r.routes),
      r.compared ? 1 : 0,
      JSON.stringify(r.differences),
    );
  }

  getHostReport(hostId: number): StoredReport | undefined {
    const r = this.one<ReportRow>('SELECT * FROM host_reports WHERE host_id = ?', hostId);
    if (!r) return undefined;
    return {
      bootId: r.boot_id,
      generation: r.generation,
      verified: r.verified === 1,
      rolledBack: r.rolled_back === 1,
      fallback: r.fallback === 1,
      receivedAt: r.received_at,
      checks: JSON.parse(r.checks) as StoredReport['checks'],
      observed: r.observed === 1,
      interfaces: JSON.parse(r.interfaces) as StoredReport['interfaces'],
      routes: JSON.parse(r.routes) as StoredReport['routes'],
      compared: r.compared === 1,
      differences: JSON.parse(r.differences) as StoredReport['differences'],
    };
  }

  // ---------------------------------------------------------------- host events

  appendHostEvent(hostId: number, kind: string, data: Record<string, unknown>): HostEvent {
    const { lastInsertRowid } = this.run('INSERT INTO host_events (host_id, at, kind, data) VALUES (?, ?, ?, ?)', hostId, now(), kind, JSON.stringify(data));
    return toEvent(this.one<EventRow>('SELECT * FROM host_events WHERE id = ?', Number(lastInsertRowid)) as EventRow);
  }

  /** The newest `limit` events of a host, newest first. */
  listHostEvents(hostId: number, limit: number): HostEvent[] {
    return this.all<EventRow>('SELECT * FROM host_events WHERE host_id = ? ORDER BY id DESC LIMIT ?', hostId, limit).map(toEvent);
  }
}
