// Realistic hosts for the benchmarks, written through the engine (the same validation as the API).
import type { InventoryReport } from '../src/domain/model.js';
import type { Engine } from '../src/engine/index.js';

/** MAC of NIC `nic` of blade `blade` (locally administered range, unique up to 16 million blades × 256 NICs). */
export function bladeMac(blade: number, nic: number): string {
  const b = [0x52, 0x54, 0x01 + ((blade >> 16) & 0xff), (blade >> 8) & 0xff, blade & 0xff, nic & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function inventory(blade: number, nics: number): InventoryReport {
  return {
    bootMac: bladeMac(blade, 0),
    nics: Array.from({ length: nics }, (_, i) => ({
      mac: bladeMac(blade, i),
      name: `eth${i}`,
      driver: 'ice',
      speed: 25000,
      carrier: true,
      pciAddress: `0000:${(0x10 + (i >> 3)).toString(16)}:00.${i & 7}`,
    })),
  };
}

/** Networks `vlan<N>` (VLAN N+100) in the default cluster, created once. */
export function ensureVlans(engine: Engine, count: number): string[] {
  const have = new Set(engine.listNetworks('default').map((n) => n.name));
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `vlan${i}`;
    if (!have.has(name)) engine.createNetwork('default', { name, vlan: 100 + i, mtu: 9000 });
    names.push(name);
  }
  return names;
}

/**
 * Static address of blade `blade` on VLAN network `v`, in a /16: 10.v.x.y for the first 65,533 blades,
 * then 172.(16 + v % 16).x.y for the next 65,533 (the host part is never the network or broadcast).
 */
export function bladeAddress(blade: number, v: number): string {
  const n = blade < 65533 ? blade + 1 : blade - 65533 + 1;
  if (n > 65533) throw new Error(`bladeAddress: blade ${blade} is beyond the seeded address space`);
  const first = blade < 65533 ? `10.${v % 200}` : `172.${16 + (v % 16)}`;
  return `${first}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

/**
 * Blade `blade`: `nics` NICs from an inventory report, `bonds` active-backup bonds of two NICs each
 * (eth2k+1, eth2k+2; eth0 stays the boot NIC) and `vlans` attachments spread round-robin over the
 * bonds, each with a static address. Returns the host id.
 */
export function seedBlade(engine: Engine, blade: number, shape: { nics: number; bonds: number; vlans: number }): number {
  const nets = ensureVlans(engine, shape.vlans);
  const host = engine.reportInventory(null, inventory(blade, shape.nics)).host;
  const bonds: string[] = [];
  for (let b = 0; b < shape.bonds; b++) {
    const bond = engine.createBond(host.id, { name: `bond${b}`, mode: 'active-backup', members: [`eth${2 * b + 1}`, `eth${2 * b + 2}`] });
    bonds.push(bond.name);
  }
  for (let v = 0; v < shape.vlans; v++) {
    const iface = bonds.length > 0 ? (bonds[v % bonds.length] as string) : 'eth0';
    engine.createAttachment(host.id, { network: nets[v] as string, interface: iface, ipv4: { method: 'static', address: bladeAddress(blade, v), prefix: 16 } });
  }
  return host.id;
}
