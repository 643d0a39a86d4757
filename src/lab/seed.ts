// Seeds a fresh database with the lab's demo cluster through the engine (the same calls the REST API
// makes): the cluster and its networks, then per blade the host, its NICs (an admin inventory report,
// so that bonds can name them before the first boot), bonds, attachments and the peer-ping property.
// The cluster's switch type (linux or ovs) decides the bond modes (spec.ts bladeConfig).
import type { EngineApi } from '../engine/types.js';
import { type BladeSpec, CLUSTER, MGMT, PEER_PING, STORAGE, type SwitchType, VMNET, bladeConfig } from './spec.js';

export interface SeedResult {
  /** Admin API token (shown once; only its hash is stored). */
  token: string;
}

export function seedHost(engine: EngineApi, blade: BladeSpec, all: readonly BladeSpec[], switchType: SwitchType = 'linux'): void {
  const cfg = bladeConfig(blade, all, switchType);
  engine.createHost({
    name: blade.name,
    cluster: CLUSTER,
    // Active hosts must keep management: configure in maintenance, then activate.
    state: 'maintenance',
    bootMac: blade.macs[0] as string,
    ...(cfg.peers.length ? { custom: { [PEER_PING]: cfg.peers.join(',') } } : {}),
  });
  engine.reportInventory(blade.name, {
    bootMac: blade.macs[0] as string,
    nics: blade.macs.map((mac, k) => ({ mac, name: blade.nicNames[k] as string, driver: 'virtio_net', speed: null, carrier: true, pciAddress: null })),
  });
  for (const b of cfg.bonds) engine.createBond(blade.name, { name: b.name, mode: b.mode, members: b.members, options: b.options });
  for (const a of cfg.attachments) {
    const ipv4 = { method: 'static' as const, address: a.address, prefix: a.prefix };
    // The inventory put management on the boot interface (and the bond took it over): update it.
    const existing = engine.listAttachments(blade.name).find((x) => x.network === a.network && x.viaLabel === null);
    if (existing) engine.updateAttachment(blade.name, existing.id, { interface: a.interface, ipv4 });
    else engine.createAttachment(blade.name, { network: a.network, interface: a.interface, ipv4 });
  }
  engine.updateHost(blade.name, { state: 'active' });
}

export function seedDemo(engine: EngineApi, blades: readonly BladeSpec[], switchType: SwitchType = 'linux'): SeedResult {
  engine.createCluster({
    name: CLUSTER,
    description: `tabula lab: the virtual rack (${switchType === 'ovs' ? 'Open vSwitch' : 'Linux'} switching)`,
    isDefault: true,
    switchType,
    managementNetwork: { name: MGMT.name, vlan: null, mtu: MGMT.mtu, bridged: true },
  });
  engine.createNetwork(CLUSTER, { name: STORAGE.name, vlan: STORAGE.vlan, mtu: STORAGE.mtu, role: 'storage' });
  engine.createNetwork(CLUSTER, { name: VMNET.name, vlan: VMNET.vlan, mtu: VMNET.mtu, bridged: true, role: 'vm' });
  for (const b of blades) seedHost(engine, b, blades, switchType);
  return { token: engine.createToken(`lab-admin-${Date.now()}`).token };
}
