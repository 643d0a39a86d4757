// A blade of an `ovs` cluster set up in a real engine behind the real boot services (as engine-blade.ts
// does for the linux seed), for test/image/ovs-boot.test.ts:
//   bond0 = eth0+eth1, active-backup with primary eth0 (LACP off: the lab's Linux bridge would drop
//   LACP frames), an Open vSwitch bond on bridge ovsbr0; mgmt = internal port, VLAN 100 (access), 10.100.0.11/24 via
//   10.100.0.1; storage = internal port, VLAN 200 (access), 10.20.0.11/24.
// The MACs are those of the image tests' QEMU NICs.
import { type BootHarness, hyp, send, tokenOf } from '../boot/http/helpers.js';
import { type SeededBlade, bladeMac } from './engine-blade.js';

export const OVS_BLADE_IP = '10.100.0.11';
export const OVS_STORAGE_IP = '10.20.0.11';

/** Starts a boot of the blade (iPXE script, inventory of three virtio NICs) and configures its ovs network. */
export async function seedOvsBlade(h: BootHarness, opts: { name?: string } = {}): Promise<SeededBlade> {
  const m = bladeMac(1);
  const script = await send(h, 'GET', `/boot/${hyp(m)}/ipxe`);
  if (script.status !== 200) throw new Error(`ipxe ${script.status}: ${script.text}`);
  const token = tokenOf(script.text);
  const nics = [1, 2, 3].map((n) => ({ mac: bladeMac(n), name: `eth${n - 1}`, driver: 'virtio_net', speed: null, carrier: true }));
  const inv = await send(h, 'POST', `/boot/${hyp(m)}/inventory`, { token, json: { bootMac: m, nics } });
  if (inv.status !== 200) throw new Error(`inventory ${inv.status}: ${inv.text}`);
  const e = h.opened.engine;
  const host = h.opened.repo.findHostByMac(m);
  if (!host) throw new Error('the blade was not enrolled');
  const name = opts.name ?? 'blade1';
  e.updateHost(host.id, { name });
  e.updateNetwork('default', 'mgmt', { vlan: 100 });
  e.createNetwork('default', { name: 'storage', role: 'storage', vlan: 200 });
  e.updateCluster('default', { switchType: 'ovs' });
  // Primary eth0: both members sit on one lab bridge, and with eth1 active the server's answers were
  // seen to keep going to eth0 (learnt there while provisioning), which OVS drops on a backup member.
  e.createBond(name, { name: 'bond0', mode: 'active-backup', members: ['eth0', 'eth1'], options: { miimon: 100, primary: 'eth0' } });
  // Enrolment already put the required management network on the boot NIC: move it to the bond.
  const mgmt = { interface: 'bond0', ipv4: { method: 'static' as const, address: OVS_BLADE_IP, prefix: 24, gateway: '10.100.0.1' } };
  if (e.listAttachments(name).some((a) => a.network === 'mgmt' && a.id > 0)) e.updateAttachment(name, 'mgmt', mgmt);
  else e.createAttachment(name, { network: 'mgmt', ...mgmt });
  e.createAttachment(name, { network: 'storage', interface: 'bond0', ipv4: { method: 'static', address: OVS_STORAGE_IP, prefix: 24 } });
  return { hostId: host.id, name, token, mac: m };
}
