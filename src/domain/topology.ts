// Derived views of a HostConfig shared by validation and planning: which networks sit on which
// device (stored attachments plus label-derived ones), and the names of the devices Tabula creates.
import type { Attachment, Bond, HostConfig, InterfaceRef, LogicalNetwork, Nic } from './model.js';
import { MAX_IFNAME } from './model.js';

export interface EffectiveAttachment {
  attachment: Attachment;
  network: LogicalNetwork;
  /** Set when the attachment comes from a label rather than from the database. */
  viaLabel: string | null;
}

/** A device that networks can sit on: a present NIC or a bond. */
export interface BaseDevice {
  key: string;
  ref: InterfaceRef;
  name: string;
  nic?: Nic;
  bond?: Bond;
}

export function ifaceKey(ref: InterfaceRef): string {
  return ref.kind === 'nic' ? `nic:${ref.mac}` : `bond:${ref.bondId}`;
}

export function sameIface(a: InterfaceRef, b: InterfaceRef): boolean {
  return ifaceKey(a) === ifaceKey(b);
}

export class Topology {
  readonly nicByMac = new Map<string, Nic>();
  readonly bondById = new Map<number, Bond>();
  readonly networkById = new Map<number, LogicalNetwork>();
  /** NIC MAC → the bond that lists it as a member. First bond wins; duplicates are a validation error. */
  readonly bondOfMember = new Map<string, Bond>();
  readonly effective: EffectiveAttachment[];

  constructor(readonly cfg: HostConfig) {
    for (const n of cfg.nics) this.nicByMac.set(n.mac, n);
    for (const b of cfg.bonds) {
      this.bondById.set(b.id, b);
      for (const m of b.members) if (!this.bondOfMember.has(m)) this.bondOfMember.set(m, b);
    }
    for (const n of cfg.networks) this.networkById.set(n.id, n);
    this.effective = this.computeEffective();
  }

  /** Kernel/device name of an interface reference, or null when the NIC is not present. */
  nameOf(ref: InterfaceRef): string | null {
    if (ref.kind === 'nic') return this.nicByMac.get(ref.mac)?.name ?? null;
    return this.bondById.get(ref.bondId)?.name ?? null;
  }

  present(ref: InterfaceRef): boolean {
    return ref.kind === 'nic' ? this.nicByMac.has(ref.mac) : this.bondById.has(ref.bondId);
  }

  describe(ref: InterfaceRef): string {
    return this.nameOf(ref) ?? (ref.kind === 'nic' ? `missing NIC ${ref.mac}` : `missing bond #${ref.bondId}`);
  }

  presentMembers(bond: Bond): Nic[] {
    return bond.members.map((m) => this.nicByMac.get(m)).filter((n): n is Nic => n !== undefined);
  }

  attachmentsOn(ref: InterfaceRef): EffectiveAttachment[] {
    const key = ifaceKey(ref);
    return this.effective.filter((e) => ifaceKey(e.attachment.iface) === key);
  }

  /** The interface the boot NIC's traffic flows through: the bond containing it, else the NIC. */
  bootIface(): InterfaceRef | null {
    const mac = this.cfg.host.bootMac;
    if (!mac || !this.nicByMac.has(mac)) return null;
    const bond = this.bondOfMember.get(mac);
    return bond ? { kind: 'bond', bondId: bond.id } : { kind: 'nic', mac };
  }

  managementNetwork(): LogicalNetwork | undefined {
    return this.cfg.networks.find((n) => n.role === 'management');
  }

  private computeEffective(): EffectiveAttachment[] {
    const out: EffectiveAttachment[] = [];
    const explicitNetworks = new Set<number>();
    for (const a of this.cfg.attachments) {
      const network = this.networkById.get(a.networkId);
      if (!network) continue; // reported by validation (network not in the host's cluster)
      explicitNetworks.add(a.networkId);
      out.push({ attachment: a, network, viaLabel: null });
    }
    // oVirt-style labels: a labelled network lands on every NIC or bond with that label,
    // unless the network is attached explicitly on this host (explicit wins).
    const labelled = this.cfg.networks
      .filter((n) => n.label !== null && !explicitNetworks.has(n.id))
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const network of labelled) {
      const label = network.label as string;
      const ifaces: InterfaceRef[] = [
        ...this.cfg.nics.filter((n) => n.labels.includes(label)).map((n): InterfaceRef => ({ kind: 'nic', mac: n.mac })),
        ...this.cfg.bonds.filter((b) => b.labels.includes(label)).map((b): InterfaceRef => ({ kind: 'bond', bondId: b.id })),
      ];
      for (const iface of ifaces) {
        out.push({
          attachment: {
            id: 0,
            hostId: this.cfg.host.id,
            networkId: network.id,
            iface,
            ipv4: { method: 'none' },
            ipv6: { method: 'none' },
            custom: {},
          },
          network,
          viaLabel: label,
        });
      }
    }
    return out;
  }
}

/**
 * Name of the VLAN device for `vlan` on `base`: base.vlan, with the base shortened when the
 * result would pass the kernel's 15-character limit (enp129s0f1np1.4000 -> enp129s0f.4000).
 */
export function vlanDeviceName(base: string, vlan: number): string {
  const suffix = `.${vlan}`;
  return `${base.slice(0, MAX_IFNAME - suffix.length)}${suffix}`;
}
