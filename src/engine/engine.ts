// The engine: the master of Tabula's model. Each public method is one repository transaction that
// loads the affected configuration, applies a pure domain change, validates the whole result and saves
// it, or throws a TabulaError and writes nothing.
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createBond, destroyBond, findBond, updateBond } from '../domain/bond-ops.js';
import { TabulaError, type Violation, conflict, fromViolations, invalid, notFound } from '../domain/errors.js';
import type {
  Attachment,
  Cluster,
  ClusterDefaults,
  Host,
  HostConfig,
  InterfaceRef,
  InventoryChange,
  InventoryReport,
  LogicalNetwork,
  Nic,
  SyncReason,
} from '../domain/model.js';
import { DEFAULT_MTU, HOST_STATES, SWITCH_TYPES, type SwitchType } from '../domain/model.js';
import { canonicalIpv6, macProblem, normalizeMac, parseIpv4 } from '../domain/net.js';
import { type HostPlan, planHost } from '../domain/plan.js';
import { type StoredReport, diffState, observe, reportSyncReasons } from '../domain/observed.js';
import { normalizeReport, reconcileInventory } from '../domain/reconcile.js';
import { Topology } from '../domain/topology.js';
import { CLUSTER_NAME_RE, LABEL_RE, validateHost, validateNetwork } from '../domain/validate.js';
import type { Repository } from '../store/repository.js';
import type {
  AttachmentInput,
  AttachmentPatch,
  AttachmentView,
  BootReportInput,
  BondInput,
  BondPatch,
  BondView,
  ClusterInput,
  ClusterPatch,
  EngineApi,
  HostInput,
  HostPatch,
  HostReport,
  HostView,
  NetworkInput,
  NetworkPatch,
  NicPatch,
  ReconcileResult,
  Ref,
  TokenCreated,
} from './types.js';

export interface EngineOptions {
  logger?: Logger;
}

const isId = (ref: Ref): boolean => typeof ref === 'number' || /^[0-9]+$/.test(ref);
const DNS_NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const TOKEN_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Plan identity without the generation, to tell whether a change altered what the blade gets. */
function planFingerprint(cfg: HostConfig): string {
  const plan = planHost(cfg);
  return JSON.stringify([plan.state, plan.steps, plan.bootInterface]);
}

export class Engine implements EngineApi {
  private readonly log: Logger | undefined;

  constructor(
    readonly repo: Repository,
    opts: EngineOptions = {},
  ) {
    this.log = opts.logger;
  }

  // ---------------------------------------------------------------- lookups

  private cluster(ref: Ref): Cluster {
    const c = isId(ref) ? this.repo.getClusterById(Number(ref)) : this.repo.getClusterByName(String(ref));
    if (!c) throw notFound('cluster', ref);
    return c;
  }

  private host(ref: Ref): Host {
    const h = isId(ref) ? this.repo.getHostById(Number(ref)) : this.repo.getHostByName(String(ref));
    if (!h) throw notFound('host', ref);
    return h;
  }

  private network(cluster: Cluster, ref: Ref): LogicalNetwork {
    const all = this.repo.listNetworks(cluster.id);
    const n = isId(ref) ? all.find((x) => x.id === Number(ref)) : all.find((x) => x.name === String(ref));
    if (!n) throw notFound('network', `${cluster.name}/${ref}`);
    return n;
  }

  private config(ref: Ref): HostConfig {
    return this.repo.loadHostConfig(this.host(ref).id);
  }

  private otherHostOf(hostId: number): (mac: string) => string | undefined {
    return (mac) => {
      const h = this.repo.findHostByMac(mac);
      return h && h.id !== hostId ? h.name : undefined;
    };
  }

  // ---------------------------------------------------------------- commit

  /**
   * Validates `next`, bumps the generation when the plan changed, records warnings as sync reasons
   * and saves. `acceptErrors` is for facts reported by hardware: they are stored even when they break
   * a rule, and the broken rules become sync reasons (the plan is then refused until fixed).
   */
  private commitHost(before: HostConfig | null, next: HostConfig, opts: { acceptErrors?: boolean } = {}): HostConfig {
    const violations = validateHost(next);
    const errors = violations.filter((v) => v.severity === 'error');
    if (errors.length > 0 && !opts.acceptErrors) throw fromViolations(errors, { host: next.host.name });
    const changed = before === null || planFingerprint(before) !== planFingerprint(next);
    const syncReasons: SyncReason[] = violations.map((v) => ({ code: v.code, message: v.message }));
    const host: Host = { ...next.host, syncReasons, generation: next.host.generation + (changed && before !== null ? 1 : 0) };
    return this.repo.saveHostConfig({ ...next, host });
  }

  /** Re-validates and re-plans every host of a cluster after a cluster-level change (networks, defaults). */
  private recheckCluster(cluster: Cluster, before: LogicalNetwork[], after: LogicalNetwork[], beforeCluster: Cluster = cluster): void {
    const problems: Violation[] = [];
    const updates: Host[] = [];
    for (const h of this.repo.listHosts({ clusterId: cluster.id })) {
      const stored = this.repo.loadHostConfig(h.id);
      const old: HostConfig = { ...stored, cluster: beforeCluster, networks: before };
      const next: HostConfig = { ...stored, cluster, networks: after };
      const violations = validateHost(next);
      // Only errors this change introduces block it; pre-existing ones (reported hardware) do not.
      const oldErrors = new Set(validateHost(old).filter((v) => v.severity === 'error').map((v) => `${v.code}|${v.message}`));
      problems.push(...violations.filter((v) => v.severity === 'error' && !oldErrors.has(`${v.code}|${v.message}`)));
      const reasons = violations.map((v) => ({ code: v.code, message: v.message }));
      const changed = planFingerprint(old) !== planFingerprint(next);
      if (changed || JSON.stringify(stored.host.syncReasons) !== JSON.stringify(reasons)) {
        updates.push({ ...stored.host, generation: stored.host.generation + (changed ? 1 : 0), syncReasons: reasons });
      }
    }
    if (problems.length > 0) throw fromViolations(problems, { cluster: cluster.name });
    for (const u of updates) this.repo.updateHost(u);
  }

  // ---------------------------------------------------------------- clusters

  listClusters(): Cluster[] {
    return this.repo.listClusters();
  }

  getCluster(ref: Ref): Cluster {
    return this.cluster(ref);
  }

  private checkDefaults(d: ClusterDefaults, who: string): void {
    for (const s of d.dnsServers) {
      if (parseIpv4(s) === null && canonicalIpv6(s) === null) throw invalid('INVALID_IP_ADDRESS', `${who}: DNS server '${s}' is not an IP address`, { dnsServer: s });
    }
    for (const s of d.dnsSearch) {
      if (!DNS_NAME_RE.test(s)) throw invalid('DNS_SEARCH_INVALID', `${who}: DNS search domain '${s}' is not a domain name`, { dnsSearch: s });
    }
  }

  private checkClusterName(name: string, selfId: number | null): void {
    if (!CLUSTER_NAME_RE.test(name)) {
      throw invalid('CLUSTER_NAME_INVALID', `cluster '${name}': names start with a letter and hold up to 64 letters, digits, '_', '.', '-'`, { cluster: name });
    }
    const other = this.repo.getClusterByName(name);
    if (other && other.id !== selfId) throw conflict('DUPLICATE_CLUSTER_NAME', `cluster '${name}' already exists`, { cluster: name });
  }

  private checkSwitchType(value: string, who: string): SwitchType {
    if (!(SWITCH_TYPES as readonly string[]).includes(value)) {
      throw invalid('SWITCH_TYPE_INVALID', `${who}: switch type '${value}' is not one of ${SWITCH_TYPES.join(', ')}`, { switchType: value });
    }
    return value as SwitchType;
  }

  createCluster(input: ClusterInput): Cluster {
    return this.repo.transaction(() => {
      this.checkClusterName(input.name, null);
      const switchType = this.checkSwitchType(input.switchType ?? 'linux', `cluster '${input.name}'`);
      const defaults: ClusterDefaults = { dnsServers: input.defaults?.dnsServers ?? [], dnsSearch: input.defaults?.dnsSearch ?? [] };
      this.checkDefaults(defaults, `cluster '${input.name}'`);
      if (input.isDefault) this.clearDefault();
      const cluster = this.repo.insertCluster({ name: input.name, description: input.description ?? '', isDefault: input.isDefault ?? false, defaults, switchType });
      const m = input.managementNetwork ?? { name: 'mgmt' };
      const network = this.networkFromInput(cluster.id, { ...m, role: 'management', required: true });
      const problems = validateNetwork({ ...network, id: 0 }, [], switchType).filter((v) => v.severity === 'error');
      if (problems.length) throw fromViolations(problems, { cluster: cluster.name });
      this.repo.insertNetwork(network);
      this.log?.info({ cluster: cluster.name }, 'cluster created');
      return this.repo.getClusterById(cluster.id) as Cluster;
    });
  }

  private clearDefault(): void {
    const current = this.repo.getDefaultCluster();
    if (current) this.repo.updateCluster({ ...current, isDefault: false });
  }

  updateCluster(ref: Ref, patch: ClusterPatch): Cluster {
    return this.repo.transaction(() => {
      const before = this.cluster(ref);
      if (patch.name !== undefined) this.checkClusterName(patch.name, before.id);
      if (patch.isDefault === false && before.isDefault) {
        throw invalid('CLUSTER_DEFAULT_REQUIRED', `cluster '${before.name}' is the default cluster; make another cluster the default instead`, {
          cluster: before.name,
        });
      }
      const defaults: ClusterDefaults = { ...before.defaults, ...(patch.defaults ?? {}) };
      this.checkDefaults(defaults, `cluster '${before.name}'`);
      const switchType = patch.switchType !== undefined ? this.checkSwitchType(patch.switchType, `cluster '${before.name}'`) : (before.switchType ?? 'linux');
      const networks = this.repo.listNetworks(before.id);
      if (switchType !== (before.switchType ?? 'linux')) {
        // Network rules that depend on the switch type (trunk and hybrid ports need ovs).
        const problems = networks.flatMap((n) => validateNetwork(n, networks, switchType)).filter((v) => v.severity === 'error');
        if (problems.length) throw fromViolations(problems, { cluster: before.name });
      }
      if (patch.isDefault && !before.isDefault) this.clearDefault();
      const after: Cluster = {
        ...before,
        name: patch.name ?? before.name,
        description: patch.description ?? before.description,
        isDefault: patch.isDefault ?? before.isDefault,
        defaults,
        switchType,
      };
      const saved = this.repo.updateCluster(after);
      this.recheckCluster(saved, networks, networks, before);
      return saved;
    });
  }

  deleteCluster(ref: Ref): void {
    this.repo.transaction(() => {
      const c = this.cluster(ref);
      if (c.isDefault) throw conflict('CLUSTER_IS_DEFAULT', `cluster '${c.name}' is the default cluster and cannot be removed`, { cluster: c.name });
      const hosts = this.repo.listHosts({ clusterId: c.id });
      if (hosts.length) {
        throw conflict('CLUSTER_NOT_EMPTY', `cluster '${c.name}' still has ${hosts.length} host(s): ${hosts.slice(0, 5).map((h) => h.name).join(', ')}`, {
          cluster: c.name,
          hosts: hosts.map((h) => h.name),
        });
      }
      this.repo.deleteCluster(c.id);
    });
  }

  // ---------------------------------------------------------------- networks

  listNetworks(cluster: Ref): LogicalNetwork[] {
    return this.repo.listNetworks(this.cluster(cluster).id);
  }

  getNetwork(cluster: Ref, network: Ref): LogicalNetwork {
    return this.network(this.cluster(cluster), network);
  }

  private networkFromInput(clusterId: number, input: NetworkInput): Omit<LogicalNetwork, 'id'> {
    return {
      clusterId,
      name: input.name,
      vlan: input.vlan ?? null,
      mtu: input.mtu ?? DEFAULT_MTU,
      bridged: input.bridged ?? false,
      role: input.role ?? 'other',
      required: input.required ?? false,
      label: input.label ?? null,
      description: input.description ?? '',
      portType: input.portType ?? 'access',
      trunks: input.trunks ?? [],
    };
  }

  private checkNetwork(n: LogicalNetwork, others: LogicalNetwork[], switchType: SwitchType | undefined): void {
    const errors = validateNetwork(n, others, switchType ?? 'linux').filter((v) => v.severity === 'error');
    if (errors.length) throw fromViolations(errors, { network: n.name });
  }

  createNetwork(clusterRef: Ref, input: NetworkInput): LogicalNetwork {
    return this.repo.transaction(() => {
      const cluster = this.cluster(clusterRef);
      const before = this.repo.listNetworks(cluster.id);
      const draft: LogicalNetwork = { ...this.networkFromInput(cluster.id, input), id: 0 };
      this.checkNetwork(draft, before, cluster.switchType);
      const saved = this.repo.insertNetwork(this.networkFromInput(cluster.id, input));
      this.recheckCluster(cluster, before, [...before, saved]);
      this.log?.info({ cluster: cluster.name, network: saved.name }, 'network created');
      return saved;
    });
  }

  updateNetwork(clusterRef: Ref, ref: Ref, patch: NetworkPatch): LogicalNetwork {
    return this.repo.transaction(() => {
      const cluster = this.cluster(clusterRef);
      const old = this.network(cluster, ref);
      const before = this.repo.listNetworks(cluster.id);
      const next: LogicalNetwork = {
        ...old,
        name: patch.name ?? old.name,
        vlan: patch.vlan !== undefined ? patch.vlan : old.vlan,
        mtu: patch.mtu ?? old.mtu,
        bridged: patch.bridged ?? old.bridged,
        role: patch.role ?? old.role,
        required: patch.required ?? old.required,
        label: patch.label !== undefined ? patch.label : old.label,
        description: patch.description ?? old.description,
        portType: patch.portType ?? old.portType ?? 'access',
        trunks: patch.trunks ?? old.trunks ?? [],
      };
      if (old.role === 'management' && next.role !== 'management') {
        throw invalid('MANAGEMENT_NETWORK_REQUIRED', `network '${old.name}' is the management network of cluster '${cluster.name}'; a cluster keeps exactly one`, {
          network: old.name,
        });
      }
      this.checkNetwork(next, before, cluster.switchType);
      const saved = this.repo.updateNetwork(next);
      this.recheckCluster(cluster, before, before.map((n) => (n.id === saved.id ? saved : n)));
      return saved;
    });
  }

  deleteNetwork(clusterRef: Ref, ref: Ref): void {
    this.repo.transaction(() => {
      const cluster = this.cluster(clusterRef);
      const n = this.network(cluster, ref);
      if (n.role === 'management') {
        throw invalid('MANAGEMENT_NETWORK_REQUIRED', `network '${n.name}' is the management network of cluster '${cluster.name}' and cannot be removed`, {
          network: n.name,
        });
      }
      const users = this.repo.hostIdsAttachedToNetwork(n.id);
      if (users.length) {
        const names = users.map((id) => this.repo.getHostById(id)?.name ?? String(id));
        throw conflict('NETWORK_IN_USE', `network '${n.name}' is attached on ${names.length} host(s): ${names.slice(0, 5).join(', ')}; detach it first`, {
          network: n.name,
          hosts: names,
        });
      }
      const before = this.repo.listNetworks(cluster.id);
      this.repo.deleteNetwork(n.id);
      this.recheckCluster(cluster, before, before.filter((x) => x.id !== n.id));
    });
  }

  // ---------------------------------------------------------------- hosts

  private view(h: Host): HostView {
    const cluster = this.repo.getClusterById(h.clusterId);
    const reasons = [...h.syncReasons];
    if (h.appliedGeneration !== h.generation) {
      reasons.push({
        code: 'NOT_APPLIED',
        message: h.appliedGeneration === null ? `generation ${h.generation} has not been applied by the host yet` : `host runs generation ${h.appliedGeneration}, the engine holds ${h.generation}`,
      });
    }
    // The latest boot report: failed verification, fallback plan, kernel state unlike the plan.
    const report = this.repo.getHostReport(h.id);
    if (report) reasons.push(...reportSyncReasons(report, h.generation));
    return { ...h, syncReasons: reasons, cluster: cluster?.name ?? String(h.clusterId), inSync: reasons.length === 0 };
  }

  listHosts(filter: { cluster?: Ref; state?: Host['state'] } = {}): HostView[] {
    const clusterId = filter.cluster !== undefined ? this.cluster(filter.cluster).id : undefined;
    if (filter.state !== undefined && !HOST_STATES.includes(filter.state)) {
      throw invalid('HOST_STATE_INVALID', `host state '${filter.state}' is not one of ${HOST_STATES.join(', ')}`);
    }
    return this.repo.listHosts({ ...(clusterId !== undefined ? { clusterId } : {}), ...(filter.state ? { state: filter.state } : {}) }).map((h) => this.view(h));
  }

  getHost(ref: Ref): HostView {
    return this.view(this.host(ref));
  }

  private bootMac(mac: string | null | undefined, hostId: number | null, who: string): string | null {
    if (mac === undefined || mac === null) return null;
    const p = macProblem(mac);
    if (p) throw invalid('INVALID_MAC', `${who}: boot MAC '${mac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`, { mac });
    const norm = normalizeMac(mac) as string;
    const owner = this.repo.findHostByMac(norm);
    if (owner && owner.id !== hostId) throw conflict('MAC_IN_USE', `${who}: MAC ${norm} belongs to host '${owner.name}'`, { mac: norm, host: owner.name });
    return norm;
  }

  private checkHostName(name: string, selfId: number | null): void {
    const other = this.repo.getHostByName(name);
    if (other && other.id !== selfId) throw conflict('DUPLICATE_HOST_NAME', `host '${name}' already exists`, { host: name });
  }

  private checkState(state: string | undefined): void {
    if (state !== undefined && !(HOST_STATES as readonly string[]).includes(state)) {
      throw invalid('HOST_STATE_INVALID', `host state '${state}' is not one of ${HOST_STATES.join(', ')}`, { state });
    }
  }

  createHost(input: HostInput): HostView {
    return this.repo.transaction(() => {
      const cluster = input.cluster !== undefined ? this.cluster(input.cluster) : this.defaultCluster();
      this.checkHostName(input.name, null);
      this.checkState(input.state);
      const host = this.repo.insertHost({
        name: input.name,
        clusterId: cluster.id,
        state: input.state ?? 'new',
        bootMac: this.bootMac(input.bootMac, null, `host '${input.name}'`),
        generation: 1,
        appliedGeneration: null,
        custom: input.custom ?? {},
        syncReasons: [],
        lastInventoryAt: null,
      });
      const saved = this.commitHost(null, this.repo.loadHostConfig(host.id));
      this.log?.info({ host: host.name, cluster: cluster.name }, 'host created');
      return this.view(saved.host);
    });
  }

  private defaultCluster(): Cluster {
    const c = this.repo.getDefaultCluster();
    if (!c) throw new TabulaError('conflict', 'NO_DEFAULT_CLUSTER', 'no cluster is marked as the default; mark one with isDefault');
    return c;
  }

  updateHost(ref: Ref, patch: HostPatch): HostView {
    return this.repo.transaction(() => {
      const before = this.config(ref);
      const h = before.host;
      if (patch.name !== undefined) this.checkHostName(patch.name, h.id);
      this.checkState(patch.state);
      let next: HostConfig = {
        ...before,
        host: {
          ...h,
          name: patch.name ?? h.name,
          state: patch.state ?? h.state,
          bootMac: patch.bootMac !== undefined ? this.bootMac(patch.bootMac, h.id, `host '${h.name}'`) : h.bootMac,
          custom: patch.custom ?? h.custom,
        },
      };
      if (patch.cluster !== undefined) {
        const target = this.cluster(patch.cluster);
        if (target.id !== before.cluster.id) next = this.moveToCluster(next, target);
      }
      return this.view(this.commitHost(before, next).host);
    });
  }

  /** Moving a host keeps its attachments by network name; every attached network must exist in the target. */
  private moveToCluster(cfg: HostConfig, target: Cluster): HostConfig {
    const targetNetworks = this.repo.listNetworks(target.id);
    const byName = new Map(targetNetworks.map((n) => [n.name, n]));
    const missing: string[] = [];
    const attachments = cfg.attachments.map((a) => {
      const old = cfg.networks.find((n) => n.id === a.networkId);
      const mapped = old ? byName.get(old.name) : undefined;
      if (!mapped) {
        missing.push(old?.name ?? `#${a.networkId}`);
        return a;
      }
      return { ...a, networkId: mapped.id };
    });
    if (missing.length) {
      throw invalid('HOST_MOVE_NETWORK_MISSING', `host '${cfg.host.name}' cannot move to cluster '${target.name}': it has no network ${missing.map((m) => `'${m}'`).join(', ')}`, {
        host: cfg.host.name,
        cluster: target.name,
      });
    }
    return { ...cfg, cluster: target, networks: targetNetworks, host: { ...cfg.host, clusterId: target.id }, attachments };
  }

  deleteHost(ref: Ref): void {
    this.repo.transaction(() => {
      const h = this.host(ref);
      if (h.state === 'active') {
        throw conflict('HOST_ACTIVE', `host '${h.name}' is active; put it in maintenance before removing it`, { host: h.name });
      }
      this.repo.deleteHost(h.id);
      this.log?.info({ host: h.name }, 'host removed');
    });
  }

  // ---------------------------------------------------------------- NICs

  listNics(host: Ref): Nic[] {
    return this.config(host).nics;
  }

  private findNic(cfg: HostConfig, ref: Ref): Nic {
    const s = String(ref);
    const mac = normalizeMac(s);
    const nic = cfg.nics.find((n) => n.name === s) ?? (mac ? cfg.nics.find((n) => n.mac === mac) : undefined) ?? (isId(s) ? cfg.nics.find((n) => n.id === Number(s)) : undefined);
    if (!nic) throw notFound('nic', `${cfg.host.name}/${s}`);
    return nic;
  }

  getNic(host: Ref, nic: Ref): Nic {
    return this.findNic(this.config(host), nic);
  }

  updateNic(host: Ref, ref: Ref, patch: NicPatch): Nic {
    return this.repo.transaction(() => {
      const before = this.config(host);
      const nic = this.findNic(before, ref);
      for (const l of patch.labels) {
        if (!LABEL_RE.test(l)) throw invalid('LABEL_INVALID', `NIC ${nic.name}: label '${l}' must match ${LABEL_RE.source}`, { nic: nic.name });
      }
      const labels = [...new Set(patch.labels)].sort();
      const saved = this.commitHost(before, { ...before, nics: before.nics.map((n) => (n.id === nic.id ? { ...n, labels } : n)) });
      return saved.nics.find((n) => n.mac === nic.mac) as Nic;
    });
  }

  // ---------------------------------------------------------------- bonds

  private bondView(cfg: HostConfig, bondId: number): BondView {
    const t = new Topology(cfg);
    const b = t.bondById.get(bondId);
    if (!b) throw notFound('bond', `${cfg.host.name}/#${bondId}`);
    const members = b.members.map((mac) => {
      const nic = t.nicByMac.get(mac);
      return { mac, name: nic?.name ?? null, present: nic !== undefined };
    });
    const present = members.filter((m) => m.present);
    const primary = members.find((m) => m.mac === b.primaryMember && m.present) ?? present[0];
    return {
      id: b.id,
      hostId: b.hostId,
      name: b.name,
      mode: b.mode,
      options: b.options,
      members,
      mac: b.mac,
      effectiveMac: b.mac ?? primary?.mac ?? null,
      primaryMember: b.primaryMember,
      labels: b.labels,
      partial: present.length < Math.max(2, members.length),
    };
  }

  listBonds(host: Ref): BondView[] {
    const cfg = this.config(host);
    return cfg.bonds.map((b) => this.bondView(cfg, b.id));
  }

  getBond(host: Ref, bond: Ref): BondView {
    const cfg = this.config(host);
    return this.bondView(cfg, findBond(cfg, bond).id);
  }

  createBond(host: Ref, input: BondInput): BondView {
    return this.repo.transaction(() => {
      const before = this.config(host);
      if (input.name !== undefined && before.bonds.some((b) => b.name === input.name)) {
        throw invalid('DUPLICATE_INTERFACE_NAME', `bond '${input.name}' already exists on host '${before.host.name}'`, { bond: input.name });
      }
      const { config } = createBond(before, input, this.otherHostOf(before.host.id));
      const saved = this.commitHost(before, config);
      const name = config.bonds[config.bonds.length - 1]?.name;
      const bond = saved.bonds.find((b) => b.name === name);
      if (!bond) throw new Error('created bond was not saved');
      this.log?.info({ host: before.host.name, bond: bond.name, mode: bond.mode }, 'bond created');
      return this.bondView(saved, bond.id);
    });
  }

  updateBond(host: Ref, ref: Ref, patch: BondPatch): BondView {
    return this.repo.transaction(() => {
      const before = this.config(host);
      const old = findBond(before, ref);
      if (patch.name !== undefined && patch.name !== old.name && before.bonds.some((b) => b.name === patch.name)) {
        throw invalid('DUPLICATE_INTERFACE_NAME', `bond '${patch.name}' already exists on host '${before.host.name}'`, { bond: patch.name });
      }
      const saved = this.commitHost(before, updateBond(before, ref, patch, this.otherHostOf(before.host.id)));
      return this.bondView(saved, old.id);
    });
  }

  deleteBond(host: Ref, ref: Ref): void {
    this.repo.transaction(() => {
      const before = this.config(host);
      this.commitHost(before, destroyBond(before, ref));
    });
  }

  // ---------------------------------------------------------------- attachments

  private attachmentView(cfg: HostConfig, t: Topology, e: Topology['effective'][number]): AttachmentView {
    const a = e.attachment;
    return {
      id: a.id,
      hostId: a.hostId,
      networkId: a.networkId,
      network: e.network.name,
      interface: {
        kind: a.iface.kind,
        name: t.nameOf(a.iface),
        mac: a.iface.kind === 'nic' ? a.iface.mac : null,
        bondId: a.iface.kind === 'bond' ? a.iface.bondId : null,
        present: t.present(a.iface),
      },
      viaLabel: e.viaLabel,
      ipv4: a.ipv4,
      ipv6: a.ipv6,
      custom: a.custom,
      qos: a.qos ?? {},
    };
  }

  listAttachments(host: Ref): AttachmentView[] {
    const cfg = this.config(host);
    const t = new Topology(cfg);
    return t.effective.map((e) => this.attachmentView(cfg, t, e));
  }

  private findAttachment(cfg: HostConfig, ref: Ref): Attachment {
    const s = String(ref);
    let a: Attachment | undefined;
    if (isId(s)) a = cfg.attachments.find((x) => x.id === Number(s));
    else {
      const n = cfg.networks.find((x) => x.name === s);
      a = n ? cfg.attachments.find((x) => x.networkId === n.id) : undefined;
      if (!a && n && new Topology(cfg).effective.some((e) => e.network.id === n.id)) {
        throw invalid('ATTACHMENT_FROM_LABEL', `network '${s}' reaches host '${cfg.host.name}' through a label; change the NIC or bond labels instead`, {
          network: s,
        });
      }
    }
    if (!a) throw notFound('attachment', `${cfg.host.name}/${s}`);
    return a;
  }

  getAttachment(host: Ref, ref: Ref): AttachmentView {
    const cfg = this.config(host);
    const t = new Topology(cfg);
    const s = String(ref);
    // Label-derived attachments have no id of their own (0): they are addressed by network name only.
    const e = t.effective.find((x) => (isId(s) ? x.attachment.id > 0 && x.attachment.id === Number(s) : x.network.name === s));
    if (!e) throw notFound('attachment', `${cfg.host.name}/${s}`);
    return this.attachmentView(cfg, t, e);
  }

  private resolveIface(cfg: HostConfig, text: string): InterfaceRef {
    const bond = cfg.bonds.find((b) => b.name === text);
    if (bond) return { kind: 'bond', bondId: bond.id };
    const nic = cfg.nics.find((n) => n.name === text);
    if (nic) return { kind: 'nic', mac: nic.mac };
    const mac = normalizeMac(text);
    if (mac && cfg.nics.some((n) => n.mac === mac)) return { kind: 'nic', mac };
    throw invalid('INTERFACE_NOT_FOUND', `host '${cfg.host.name}' has no NIC or bond '${text}'`, { host: cfg.host.name, interface: text });
  }

  createAttachment(host: Ref, input: AttachmentInput): AttachmentView {
    return this.repo.transaction(() => {
      const before = this.config(host);
      const network = this.network(before.cluster, input.network);
      if (before.attachments.some((a) => a.networkId === network.id)) {
        throw invalid('NETWORK_ALREADY_ATTACHED', `network '${network.name}' is already attached on host '${before.host.name}'; update that attachment instead`, {
          network: network.name,
          host: before.host.name,
        });
      }
      const attachment: Attachment = {
        id: 0,
        hostId: before.host.id,
        networkId: network.id,
        iface: this.resolveIface(before, input.interface),
        ipv4: input.ipv4 ?? (network.role === 'management' ? { method: 'dhcp' } : { method: 'none' }),
        ipv6: input.ipv6 ?? { method: 'none' },
        custom: input.custom ?? {},
        qos: input.qos ?? {},
      };
      const saved = this.commitHost(before, { ...before, attachments: [...before.attachments, attachment] });
      return this.getAttachmentIn(saved, network.id);
    });
  }

  private getAttachmentIn(cfg: HostConfig, networkId: number): AttachmentView {
    const t = new Topology(cfg);
    const e = t.effective.find((x) => x.network.id === networkId && x.viaLabel === null);
    if (!e) throw new Error('attachment vanished during save');
    return this.attachmentView(cfg, t, e);
  }

  updateAttachment(host: Ref, ref: Ref, patch: AttachmentPatch): AttachmentView {
    return this.repo.transaction(() => {
      const before = this.config(host);
      const old = this.findAttachment(before, ref);
      const next: Attachment = {
        ...old,
        iface: patch.interface !== undefined ? this.resolveIface(before, patch.interface) : old.iface,
        ipv4: patch.ipv4 ?? old.ipv4,
        ipv6: patch.ipv6 ?? old.ipv6,
        custom: patch.custom ?? old.custom,
        qos: patch.qos ?? old.qos ?? {},
      };
      const saved = this.commitHost(before, { ...before, attachments: before.attachments.map((a) => (a.id === old.id ? next : a)) });
      return this.getAttachmentIn(saved, old.networkId);
    });
  }

  deleteAttachment(host: Ref, ref: Ref): void {
    this.repo.transaction(() => {
      const before = this.config(host);
      const a = this.findAttachment(before, ref);
      const network = before.networks.find((n) => n.id === a.networkId);
      if (network?.role === 'management' && before.host.state === 'active') {
        throw invalid(
          'MANAGEMENT_DETACH_ACTIVE',
          `management network '${network.name}' cannot be detached from host '${before.host.name}' while it is active; put the host in maintenance first`,
          { network: network.name, host: before.host.name },
        );
      }
      this.commitHost(before, { ...before, attachments: before.attachments.filter((x) => x.id !== a.id) });
    });
  }

  // ---------------------------------------------------------------- inventory

  reportInventory(hostRef: Ref | null, raw: InventoryReport): ReconcileResult {
    const report = normalizeReport(raw);
    return this.repo.transaction(() => {
      const changes: InventoryChange[] = [];
      let enrolled = false;
      let host: Host | undefined;
      if (hostRef !== null) host = this.host(hostRef);
      else host = this.repo.findHostByMac(report.bootMac) ?? report.nics.map((n) => this.repo.findHostByMac(n.mac)).find((h) => h !== undefined);
      if (!host) {
        host = this.enrol(report.bootMac);
        enrolled = true;
        changes.push({ kind: 'host-enrolled', mac: report.bootMac, message: `unknown machine ${report.bootMac} enrolled as host '${host.name}' in cluster '${this.defaultCluster().name}'` });
      }
      // A NIC seen on another host moved physically: the other host loses it.
      for (const n of report.nics) {
        const owner = this.repo.findHostByMac(n.mac);
        if (!owner || owner.id === host.id) continue;
        const cfg = this.repo.loadHostConfig(owner.id);
        const next: HostConfig = {
          ...cfg,
          host: { ...cfg.host, bootMac: cfg.host.bootMac === n.mac ? null : cfg.host.bootMac },
          nics: cfg.nics.filter((x) => x.mac !== n.mac),
        };
        this.commitHost(cfg, next, { acceptErrors: true });
        changes.push({ kind: 'nic-moved', mac: n.mac, message: `NIC ${n.mac} moved here from host '${owner.name}'` });
        this.repo.appendHostEvent(owner.id, 'inventory', { changes: [{ kind: 'nic-removed', mac: n.mac, message: `NIC ${n.mac} now reported by host '${host.name}'` }] });
      }
      const before = this.repo.loadHostConfig(host.id);
      const { config, changes: more } = reconcileInventory(before, report);
      changes.push(...more);
      const saved = this.commitHost(before, { ...config, host: { ...config.host, lastInventoryAt: new Date().toISOString() } }, { acceptErrors: true });
      const findings = validateHost(saved);
      this.repo.appendHostEvent(host.id, 'inventory', { bootMac: report.bootMac, nics: report.nics.length, changes });
      this.log?.info({ host: saved.host.name, enrolled, changes: changes.length }, 'inventory reconciled');
      const view = this.view(saved.host);
      return { host: view, enrolled, changes, syncReasons: saved.host.syncReasons, findings };
    });
  }

  /**
   * The host a booting MAC belongs to (boot MAC or any NIC), enrolling a new one in the default
   * cluster when the MAC is unknown. Used by the boot chain before the blade reports its inventory.
   */
  findOrEnrolHost(mac: string): { host: HostView; enrolled: boolean } {
    const p = macProblem(mac);
    if (p) throw invalid('INVALID_MAC', `MAC '${mac}' is ${p === 'malformed' ? 'not a MAC address' : `a ${p} address`}`, { mac });
    const norm = normalizeMac(mac) as string;
    return this.repo.transaction(() => {
      const found = this.repo.findHostByMac(norm);
      if (found) return { host: this.view(found), enrolled: false };
      const host = this.enrol(norm);
      this.repo.appendHostEvent(host.id, 'enrolled', { bootMac: norm });
      this.log?.info({ host: host.name, mac: norm }, 'unknown machine enrolled');
      return { host: this.view(host), enrolled: true };
    });
  }

  private enrol(bootMac: string): Host {
    const cluster = this.defaultCluster();
    const base = `host-${bootMac.replace(/:/g, '')}`;
    let name = base;
    for (let i = 2; this.repo.getHostByName(name); i++) name = `${base}-${i}`;
    return this.repo.insertHost({
      name,
      clusterId: cluster.id,
      state: 'new',
      bootMac,
      generation: 1,
      appliedGeneration: null,
      custom: {},
      syncReasons: [],
      lastInventoryAt: null,
    });
  }

  checkHost(host: Ref): Violation[] {
    return validateHost(this.config(host));
  }

  getPlan(host: Ref): HostPlan {
    const cfg = this.config(host);
    const errors = validateHost(cfg).filter((v) => v.severity === 'error');
    if (errors.length) {
      // Never hand a blade something invalid: the boot path falls back to a safe plan instead.
      throw new TabulaError('validation', 'HOST_CONFIG_INVALID', `host '${cfg.host.name}' has an invalid configuration: ${errors[0]?.message}`, {
        host: cfg.host.name,
        violations: errors,
      });
    }
    return planHost(cfg);
  }

  recordApplied(hostRef: Ref, generation: number): HostView {
    return this.repo.transaction(() => {
      const h = this.host(hostRef);
      if (!Number.isSafeInteger(generation) || generation < 0) {
        throw invalid('GENERATION_INVALID', `host '${h.name}': generation ${generation} is not a whole number`, { host: h.name });
      }
      if (generation > h.generation) {
        throw conflict('GENERATION_UNKNOWN', `host '${h.name}' reports generation ${generation}, but the engine holds generation ${h.generation}`, {
          host: h.name,
          generation,
          current: h.generation,
        });
      }
      const saved = h.appliedGeneration === generation ? h : this.repo.updateHost({ ...h, appliedGeneration: generation });
      if (h.appliedGeneration !== generation) this.repo.appendHostEvent(h.id, 'applied', { generation });
      this.log?.info({ host: h.name, generation }, 'generation applied');
      return this.view(saved);
    });
  }

  recordReport(hostRef: Ref, input: BootReportInput): { host: HostView; report: HostReport } {
    return this.repo.transaction(() => {
      const h = this.host(hostRef);
      if (!Number.isSafeInteger(input.generation) || input.generation < 0) {
        throw invalid('GENERATION_INVALID', `host '${h.name}': generation ${input.generation} is not a whole number`, { host: h.name });
      }
      if (input.generation > h.generation) {
        throw conflict('GENERATION_UNKNOWN', `host '${h.name}' reports generation ${input.generation}, but the engine holds generation ${h.generation}`, {
          host: h.name,
          generation: input.generation,
          current: h.generation,
        });
      }
      if (input.verified && !input.fallback) this.recordApplied(h.id, input.generation);
      const observed = input.kernel ? observe(input.kernel) : null;
      // Compared only with the plan the blade was given: the host's own, of its current generation.
      let compared = false;
      let differences: StoredReport['differences'] = [];
      if (observed && !input.fallback && input.generation === h.generation) {
        const cfg = this.repo.loadHostConfig(h.id);
        if (!validateHost(cfg).some((v) => v.severity === 'error')) {
          differences = diffState(planHost(cfg).state, observed);
          compared = true;
        }
      }
      const stored: StoredReport = {
        bootId: input.bootId,
        generation: input.generation,
        verified: input.verified,
        rolledBack: input.rolledBack,
        fallback: input.fallback,
        receivedAt: new Date().toISOString(),
        checks: input.checks,
        observed: observed !== null,
        interfaces: observed?.interfaces ?? [],
        routes: observed?.routes ?? [],
        compared,
        differences,
      };
      this.repo.saveHostReport(h.id, stored);
      // No host event: the boot timeline already records every report, and a blade may report often.
      if (differences.length) this.log?.warn({ host: h.name, generation: input.generation, differences: differences.length }, 'the blade reports a state unlike its plan');
      const view = this.view(this.host(h.id));
      return { host: view, report: this.reportView(view, stored) };
    });
  }

  getHostReport(hostRef: Ref): HostReport {
    const h = this.host(hostRef);
    const stored = this.repo.getHostReport(h.id);
    if (!stored) throw new TabulaError('not-found', 'REPORT_NOT_FOUND', `host '${h.name}' has sent no boot report yet`, { host: h.name });
    return this.reportView(this.view(h), stored);
  }

  private reportView(view: HostView, stored: StoredReport): HostReport {
    return { host: view.name, hostGeneration: view.generation, inSync: view.inSync, syncReasons: view.syncReasons, ...stored };
  }

  // ---------------------------------------------------------------- tokens

  createToken(name: string): TokenCreated {
    return this.repo.transaction(() => {
      if (!TOKEN_NAME_RE.test(name)) throw invalid('TOKEN_NAME_INVALID', `token name '${name}' must match ${TOKEN_NAME_RE.source}`, { token: name });
      if (this.repo.listTokens().some((t) => t.name === name)) throw conflict('TOKEN_EXISTS', `a token named '${name}' already exists`, { token: name });
      const token = `tbl_${randomBytes(32).toString('base64url')}`;
      this.repo.insertToken(name, hashToken(token));
      return { name, token };
    });
  }

  listTokens(): { name: string; createdAt: string; lastUsedAt: string | null }[] {
    return this.repo.listTokens().map((t) => ({ name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt }));
  }

  revokeToken(name: string): void {
    if (!this.repo.deleteToken(name)) throw notFound('token', name);
  }

  verifyToken(token: string): boolean {
    if (token.length < 8 || token.length > 256) return false;
    const rec = this.repo.findTokenByHash(hashToken(token));
    if (!rec) return false;
    // Recording every use would turn each API read into a write; once a minute is enough to audit.
    if (!rec.lastUsedAt || Date.now() - Date.parse(rec.lastUsedAt) > 60_000) this.repo.touchToken(rec.id);
    return true;
  }
}

