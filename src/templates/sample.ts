// A built-in sample host, rendered and linted when a change reaches no real host that can be rendered
// (an empty database, or only hosts without a plan yet), so that a broken apply.sh is still refused.
// It exercises most step kinds: a bond with options, a tagged VLAN with MTU 9000, a bridge, static
// IPv4 and IPv6, a route, DNS, DHCP and custom properties.
import { type ApplyHook, type Hook, applyHooks } from '../domain/hooks.js';
import type { HostConfig } from '../domain/model.js';
import { type HostPlan, planHost } from '../domain/plan.js';

/** How checks name the sample in their results; its plan calls the host sample-host. */
export const SAMPLE_HOST = '(sample)';
export const SAMPLE_HOST_NAME = 'sample-host';

const AT = '2026-01-01T00:00:00.000Z';

export function sampleHostConfig(): HostConfig {
  const cluster = { id: 1, name: 'sample', description: '', isDefault: false, defaults: { dnsServers: ['10.0.0.53'], dnsSearch: ['lab.example'] }, createdAt: AT, updatedAt: AT };
  const net = (id: number, name: string, role: HostConfig['networks'][number]['role'], vlan: number | null, mtu: number, bridged: boolean) => ({
    id,
    clusterId: 1,
    name,
    vlan,
    mtu,
    bridged,
    role,
    required: false,
    label: null,
    description: '',
  });
  const nic = (id: number, name: string, mac: string) => ({ id, hostId: 1, mac, name, driver: 'virtio_net', speed: 10000, carrier: true, pciAddress: null, labels: [] });
  return {
    cluster,
    networks: [net(1, 'mgmt', 'management', null, 1500, false), net(2, 'storage', 'storage', 200, 9000, false), net(3, 'vm', 'vm', 100, 1500, true)],
    host: {
      id: 1,
      name: SAMPLE_HOST_NAME,
      clusterId: 1,
      state: 'active',
      bootMac: '52:54:00:00:00:01',
      generation: 1,
      appliedGeneration: null,
      custom: { 'sysctl/net.ipv4.ip_forward': '1' },
      syncReasons: [],
      lastInventoryAt: AT,
      createdAt: AT,
      updatedAt: AT,
    },
    nics: [nic(1, 'eth0', '52:54:00:00:00:01'), nic(2, 'eth1', '52:54:00:00:00:02'), nic(3, 'eth2', '52:54:00:00:00:03')],
    bonds: [
      {
        id: 1,
        hostId: 1,
        name: 'bond0',
        mode: 'active-backup',
        options: { miimon: 100, primary: 'eth1' },
        members: ['52:54:00:00:00:02', '52:54:00:00:00:03'],
        mac: null,
        primaryMember: 'eth1',
        labels: [],
      },
    ],
    attachments: [
      { id: 1, hostId: 1, networkId: 1, iface: { kind: 'nic', mac: '52:54:00:00:00:01' }, ipv4: { method: 'dhcp' }, ipv6: { method: 'none' }, custom: {} },
      {
        id: 2,
        hostId: 1,
        networkId: 2,
        iface: { kind: 'bond', bondId: 1 },
        ipv4: { method: 'static', address: '10.20.0.12', prefix: 24, gateway: '10.20.0.1' },
        ipv6: { method: 'static', address: 'fd20::12', prefix: 64, gateway: null },
        custom: { 'ethtool/rx': '4096' },
      },
      { id: 3, hostId: 1, networkId: 3, iface: { kind: 'bond', bondId: 1 }, ipv4: { method: 'none' }, ipv6: { method: 'none' }, custom: {} },
    ],
  };
}

export function samplePlan(): HostPlan {
  return planHost(sampleHostConfig());
}

/** One hook per phase and scope, with quotes and a heredoc, so that a template that mangles hooks fails its lint. */
export function sampleHooks(): ApplyHook[] {
  const at = (i: number, h: Omit<Hook, 'id' | 'createdAt' | 'updatedAt'>): Hook => ({ ...h, id: i, createdAt: AT, updatedAt: AT });
  return applyHooks(
    [at(1, { scope: 'cluster', owner: 'sample', phase: 'before-apply', name: 'log-start', order: 10, script: "echo \"it's $TABULA_HOST, generation $TABULA_GENERATION\"\n" })],
    [
      at(2, { scope: 'host', owner: SAMPLE_HOST_NAME, phase: 'after-apply', name: 'motd', order: 50, script: "cat > /tmp/motd <<'END'\nbuilt by 'tabula' $HOME\nEND\n" }),
    ],
  );
}
