// The seed's blade (the one test/image/direct-boot.test.ts boots) set up in a real engine behind the
// real boot services (test/boot/http/helpers.ts), so that a report a blade really sent can go through
// the real POST /boot/{mac}/report and be read back from GET /api/v1/hosts/{host}/report.
// bond0 = eth0+eth1 active-backup (miimon 100, primary eth0) → bond0.100 → bridge mgmt, MTU 9000,
// 10.100.0.11/24 via 10.100.0.1; the MACs are those of the image tests' QEMU NICs.
import { type BootHarness, hyp, send, tokenOf } from '../boot/http/helpers.js';

export const bladeMac = (n: number): string => `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`;

export interface SeededBlade {
  hostId: number;
  name: string;
  token: string;
  mac: string;
}

/** Starts a boot of the blade (iPXE script, inventory of three virtio NICs) and configures its network. */
export async function seedBlade(h: BootHarness, opts: { name?: string; peers?: string } = {}): Promise<SeededBlade> {
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
  e.updateHost(host.id, { name, custom: { 'sysctl/net.ipv4.conf.all.arp_announce': '2', ...(opts.peers ? { 'tabula.peer-ping': opts.peers } : {}) } });
  e.updateNetwork('default', 'mgmt', { vlan: 100, bridged: true, mtu: 9000 });
  e.createBond(name, { name: 'bond0', mode: 'active-backup', members: ['eth0', 'eth1'], options: { miimon: 100, primary: 'eth0' } });
  // Enrolment already put the required management network on the boot NIC: move it to the bond.
  const mgmt = { interface: 'bond0', ipv4: { method: 'static' as const, address: '10.100.0.11', prefix: 24, gateway: '10.100.0.1' } };
  if (e.listAttachments(name).some((a) => a.network === 'mgmt' && a.id > 0)) e.updateAttachment(name, 'mgmt', mgmt);
  else e.createAttachment(name, { network: 'mgmt', ...mgmt });
  return { hostId: host.id, name, token, mac: m };
}
