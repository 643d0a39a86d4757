// Hand-built HostConfigs for pure domain tests (no database).
import type { Attachment, Bond, BondMode, BondOptions, Cluster, HostConfig, Ipv4Config, LogicalNetwork, Nic } from '../../src/domain/model.js';

export function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    id: 1,
    name: 'rack1',
    description: '',
    isDefault: true,
    defaults: { dnsServers: ['10.0.0.53'], dnsSearch: ['rack1.example'] },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

let nextNetworkId = 100;
export function network(name: string, overrides: Partial<LogicalNetwork> = {}): LogicalNetwork {
  return {
    id: nextNetworkId++,
    clusterId: 1,
    name,
    vlan: null,
    mtu: 1500,
    bridged: false,
    role: 'other',
    required: false,
    label: null,
    description: '',
    ...overrides,
  };
}

export function mac(n: number): string {
  return `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`;
}

export function nic(n: number, overrides: Partial<Nic> = {}): Nic {
  return {
    id: n,
    hostId: 1,
    mac: mac(n),
    name: `eth${n - 1}`,
    driver: 'virtio_net',
    speed: 10000,
    carrier: true,
    pciAddress: `0000:00:0${n}.0`,
    labels: [],
    ...overrides,
  };
}

export function bond(id: number, name: string, mode: BondMode, members: string[], options: BondOptions = {}, overrides: Partial<Bond> = {}): Bond {
  return { id, hostId: 1, name, mode, options, members, mac: null, primaryMember: members[0] ?? null, labels: [], ...overrides };
}

let nextAttachmentId = 1000;
export function attachOnNic(net: LogicalNetwork, nicMac: string, ipv4: Ipv4Config = { method: 'none' }, overrides: Partial<Attachment> = {}): Attachment {
  return {
    id: nextAttachmentId++,
    hostId: 1,
    networkId: net.id,
    iface: { kind: 'nic', mac: nicMac },
    ipv4,
    ipv6: { method: 'none' },
    custom: {},
    ...overrides,
  };
}

export function attachOnBond(net: LogicalNetwork, bondId: number, ipv4: Ipv4Config = { method: 'none' }, overrides: Partial<Attachment> = {}): Attachment {
  return { ...attachOnNic(net, '', ipv4), iface: { kind: 'bond', bondId }, ...overrides };
}

/** A host with `nicCount` NICs, booted from the first, in a cluster whose management network is `mgmt`. */
export function hostConfig(opts: {
  nics?: Nic[];
  networks?: LogicalNetwork[];
  bonds?: Bond[];
  attachments?: Attachment[];
  state?: HostConfig['host']['state'];
  bootMac?: string | null;
  custom?: Record<string, string>;
  name?: string;
}): HostConfig {
  const nics = opts.nics ?? [nic(1), nic(2), nic(3)];
  return {
    cluster: cluster(),
    networks: opts.networks ?? [network('mgmt', { role: 'management', required: true })],
    host: {
      id: 1,
      name: opts.name ?? 'blade1',
      clusterId: 1,
      state: opts.state ?? 'maintenance',
      bootMac: opts.bootMac === undefined ? (nics[0]?.mac ?? null) : opts.bootMac,
      generation: 1,
      appliedGeneration: null,
      custom: opts.custom ?? {},
      syncReasons: [],
      lastInventoryAt: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
    nics,
    bonds: opts.bonds ?? [],
    attachments: opts.attachments ?? [],
  };
}

export function mgmtOf(cfg: HostConfig): LogicalNetwork {
  const m = cfg.networks.find((n) => n.role === 'management');
  if (!m) throw new Error('no management network');
  return m;
}

export function codes(violations: { code: string; severity: string }[], severity: 'error' | 'warning' = 'error'): string[] {
  return violations.filter((v) => v.severity === severity).map((v) => v.code);
}
