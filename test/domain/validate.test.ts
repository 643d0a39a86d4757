import { describe, expect, it } from 'vitest';
import type { Violation } from '../../src/domain/errors.js';
import type { HostConfig, LogicalNetwork } from '../../src/domain/model.js';
import { validateHost, validateNetwork } from '../../src/domain/validate.js';
import { attachOnBond, attachOnNic, bond, codes, hostConfig, mac, network, nic } from '../support/builders.js';

// A clean host: three NICs, booted from eth0, management (DHCP) on eth0.
function base(opts: { networks?: LogicalNetwork[]; extra?: Partial<HostConfig>; state?: HostConfig['host']['state'] } = {}): HostConfig {
  const mgmt = network('mgmt', { role: 'management', required: true });
  const cfg = hostConfig({ networks: [mgmt, ...(opts.networks ?? [])], state: opts.state ?? 'maintenance' });
  return { ...cfg, attachments: [attachOnNic(mgmt, mac(1), { method: 'dhcp' })], ...opts.extra };
}
const mgmtOf = (cfg: HostConfig): LogicalNetwork => cfg.networks[0] as LogicalNetwork;
const withAttachments = (cfg: HostConfig, ...more: HostConfig['attachments']): HostConfig => ({ ...cfg, attachments: [...cfg.attachments, ...more] });

interface Case {
  code: string;
  bad: () => HostConfig;
  edge: () => HostConfig;
}

/** Builds the pair for a bond rule: same host, only the bond differs. */
function bondCase(code: string, badBond: Parameters<typeof bond>, edgeBond: Parameters<typeof bond>): Case {
  return {
    code,
    bad: () => ({ ...base(), bonds: [bond(...badBond)] }),
    edge: () => ({ ...base(), bonds: [bond(...edgeBond)] }),
  };
}

const storage = (o: Partial<LogicalNetwork> = {}): LogicalNetwork => network('storage', { vlan: 200, ...o });

const cases: Case[] = [
  bondCase('BOND_TOO_FEW_MEMBERS', [1, 'bond0', 'active-backup', [mac(2)]], [1, 'bond0', 'active-backup', [mac(2), mac(3)]]),
  {
    code: 'BOND_MEMBER_IN_OTHER_BOND',
    bad: () => ({ ...base({ extra: { nics: [nic(1), nic(2), nic(3), nic(4)] } }), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)]), bond(2, 'bond1', 'active-backup', [mac(3), mac(4)])] }),
    edge: () => ({ ...base({ extra: { nics: [nic(1), nic(2), nic(3), nic(4), nic(5)] } }), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)]), bond(2, 'bond1', 'active-backup', [mac(4), mac(5)])] }),
  },
  {
    code: 'BOND_MEMBER_HAS_NETWORK',
    bad: () => {
      const st = network('storage');
      const cfg = base({ networks: [st] });
      return { ...withAttachments(cfg, attachOnNic(st, mac(2))), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])] };
    },
    edge: () => {
      const st = network('storage');
      const cfg = base({ networks: [st] });
      return { ...withAttachments(cfg, attachOnBond(st, 1)), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])] };
    },
  },
  {
    code: 'BOND_MEMBER_IS_VLAN_PARENT',
    bad: () => {
      const st = storage();
      return { ...withAttachments(base({ networks: [st] }), attachOnNic(st, mac(3))), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])] };
    },
    edge: () => {
      const st = storage();
      return { ...withAttachments(base({ networks: [st] }), attachOnBond(st, 1)), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])] };
    },
  },
  bondCase('INVALID_MAC', [1, 'bond0', 'active-backup', [mac(2), mac(3)], {}, { mac: '01:00:5e:00:00:01' }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], {}, { mac: '02:00:00:00:00:01' }]),
  bondCase('BOND_NAME_INVALID', [1, 'team0', 'active-backup', [mac(2), mac(3)]], [1, 'bond_storage', 'active-backup', [mac(2), mac(3)]]),
  bondCase('INTERFACE_NAME_INVALID', [1, 'bond012345678901', 'active-backup', [mac(2), mac(3)]], [1, 'bond01234567890', 'active-backup', [mac(2), mac(3)]]),
  {
    code: 'DUPLICATE_INTERFACE_NAME',
    bad: () => ({ ...base({ extra: { nics: [nic(1), nic(2), nic(3), nic(4), nic(5)] } }), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)]), bond(2, 'bond0', 'active-backup', [mac(4), mac(5)])] }),
    edge: () => ({ ...base({ extra: { nics: [nic(1), nic(2), nic(3), nic(4), nic(5)] } }), bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)]), bond(2, 'bond1', 'active-backup', [mac(4), mac(5)])] }),
  },
  bondCase('BOND_MIIMON_AND_ARP', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { miimon: 100, arp_interval: 200, arp_ip_target: ['10.0.0.1'] }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { miimon: 100, arp_interval: 0 }]),
  bondCase('BOND_ARP_TARGET_REQUIRED', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { arp_interval: 200 }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { arp_interval: 200, arp_ip_target: ['10.0.0.1'] }]),
  bondCase('BOND_ARP_TARGET_INVALID', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { arp_interval: 200, arp_ip_target: ['10.0.0.256'] }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { arp_interval: 200, arp_ip_target: ['10.0.0.255'] }]),
  bondCase('BOND_ARP_MODE', [1, 'bond0', '802.3ad', [mac(2), mac(3)], { arp_interval: 200, arp_ip_target: ['10.0.0.1'] }], [1, 'bond0', 'balance-xor', [mac(2), mac(3)], { arp_interval: 200, arp_ip_target: ['10.0.0.1'] }]),
  bondCase('BOND_LACP_RATE_MODE', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { lacp_rate: 'fast' }], [1, 'bond0', '802.3ad', [mac(2), mac(3)], { lacp_rate: 'fast' }]),
  bondCase('BOND_XMIT_HASH_MODE', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { xmit_hash_policy: 'layer3+4' }], [1, 'bond0', 'balance-xor', [mac(2), mac(3)], { xmit_hash_policy: 'layer3+4' }]),
  bondCase('BOND_PRIMARY_MODE', [1, 'bond0', '802.3ad', [mac(2), mac(3)], { primary: 'eth1' }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { primary: 'eth1' }]),
  bondCase('BOND_PRIMARY_NOT_MEMBER', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { primary: 'eth0' }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { primary: 'eth2' }]),
  bondCase('BOND_DELAY_WITHOUT_MIIMON', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { updelay: 200, arp_interval: 100, arp_ip_target: ['10.0.0.1'] }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { updelay: 200, miimon: 100 }]),
  bondCase('BOND_OPTION_INVALID', [1, 'bond0', 'active-backup', [mac(2), mac(3)], { miimon: -1 }], [1, 'bond0', 'active-backup', [mac(2), mac(3)], { miimon: 0 }]),
  bondCase('BOND_DUPLICATE_MEMBER', [1, 'bond0', 'active-backup', [mac(2), mac(2), mac(3)]], [1, 'bond0', 'active-backup', [mac(2), mac(3)]]),
  {
    code: 'MULTIPLE_UNTAGGED_NETWORKS',
    bad: () => {
      const a = network('a');
      const b = network('b');
      return withAttachments(base({ networks: [a, b] }), attachOnNic(a, mac(2)), attachOnNic(b, mac(2)));
    },
    edge: () => {
      const a = network('a');
      const b = network('b', { vlan: 10 });
      return withAttachments(base({ networks: [a, b] }), attachOnNic(a, mac(2)), attachOnNic(b, mac(2)));
    },
  },
  {
    code: 'DUPLICATE_VLAN_ON_INTERFACE',
    bad: () => {
      const a = network('a', { vlan: 100 });
      const b = network('b', { vlan: 100 });
      return withAttachments(base({ networks: [a, b] }), attachOnNic(a, mac(2)), attachOnNic(b, mac(2)));
    },
    edge: () => {
      const a = network('a', { vlan: 100 });
      const b = network('b', { vlan: 100 });
      return withAttachments(base({ networks: [a, b] }), attachOnNic(a, mac(2)), attachOnNic(b, mac(3)));
    },
  },
  {
    code: 'VLAN_MTU_EXCEEDS_PARENT',
    bad: () => {
      const u = network('plain', { mtu: 1500 });
      const v = network('jumbo', { vlan: 10, mtu: 1501 });
      return withAttachments(base({ networks: [u, v] }), attachOnNic(u, mac(2)), attachOnNic(v, mac(2)));
    },
    edge: () => {
      const u = network('plain', { mtu: 1500 });
      const v = network('jumbo', { vlan: 10, mtu: 1500 });
      return withAttachments(base({ networks: [u, v] }), attachOnNic(u, mac(2)), attachOnNic(v, mac(2)));
    },
  },
  {
    code: 'BRIDGE_MTU_MISMATCH',
    bad: () => {
      const u = network('vmnet', { mtu: 1500, bridged: true });
      const v = network('jumbo', { vlan: 10, mtu: 9000 });
      return withAttachments(base({ networks: [u, v] }), attachOnNic(u, mac(2)), attachOnNic(v, mac(2)));
    },
    edge: () => {
      const u = network('vmnet', { mtu: 9000, bridged: true });
      const v = network('jumbo', { vlan: 10, mtu: 9000 });
      return withAttachments(base({ networks: [u, v] }), attachOnNic(u, mac(2)), attachOnNic(v, mac(2)));
    },
  },
  ...(['balance-rr', 'balance-tlb', 'balance-alb'] as const).map(
    (mode): Case => ({
      code: 'BOND_MODE_NOT_BRIDGEABLE',
      bad: () => {
        const vm = network('vmnet', { bridged: true, vlan: 100 });
        return { ...withAttachments(base({ networks: [vm] }), attachOnBond(vm, 1)), bonds: [bond(1, 'bond0', mode, [mac(2), mac(3)])] };
      },
      edge: () => {
        // the same mode is fine for a network that is not bridged
        const vm = network('vmnet', { bridged: false, vlan: 100 });
        return { ...withAttachments(base({ networks: [vm] }), attachOnBond(vm, 1)), bonds: [bond(1, 'bond0', mode, [mac(2), mac(3)])] };
      },
    }),
  ),
  {
    code: 'NETWORK_ATTACHED_TWICE',
    bad: () => {
      const st = network('storage', { label: 'san' });
      const cfg = base({ networks: [st], extra: { nics: [nic(1), nic(2, { labels: ['san'] }), nic(3, { labels: ['san'] })] } });
      return cfg;
    },
    edge: () => {
      // a bridged network may span several ports
      const st = network('storage', { label: 'san', bridged: true });
      return base({ networks: [st], extra: { nics: [nic(1), nic(2, { labels: ['san'] }), nic(3, { labels: ['san'] })] } });
    },
  },
  {
    code: 'INVALID_IP_ADDRESS',
    bad: () => {
      const st = network('storage');
      return withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2), { method: 'static', address: '10.1.0.0', prefix: 24 }));
    },
    edge: () => {
      const st = network('storage');
      return withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2), { method: 'static', address: '10.1.0.1', prefix: 24 }));
    },
  },
  {
    code: 'IP_PREFIX_INVALID',
    bad: () => {
      const st = network('storage');
      return withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2), { method: 'static', address: '10.1.0.5', prefix: 33 }));
    },
    edge: () => {
      const st = network('storage');
      return withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2), { method: 'static', address: '10.1.0.5', prefix: 32 }));
    },
  },
  {
    code: 'GATEWAY_NOT_IN_SUBNET',
    bad: () => {
      const st = network('storage');
      return withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2), { method: 'static', address: '10.1.0.5', prefix: 24, gateway: '10.1.1.1' }));
    },
    edge: () => {
      const st = network('storage');
      return withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2), { method: 'static', address: '10.1.0.5', prefix: 24, gateway: '10.1.0.254' }));
    },
  },
  {
    code: 'DUPLICATE_IP_ADDRESS',
    bad: () => {
      const a = network('a');
      const b = network('b');
      return withAttachments(base({ networks: [a, b] }), attachOnNic(a, mac(2), { method: 'static', address: '10.1.0.5', prefix: 24 }), attachOnNic(b, mac(3), { method: 'static', address: '10.1.0.5', prefix: 24 }));
    },
    edge: () => {
      const a = network('a');
      const b = network('b');
      return withAttachments(base({ networks: [a, b] }), attachOnNic(a, mac(2), { method: 'static', address: '10.1.0.5', prefix: 24 }), attachOnNic(b, mac(3), { method: 'static', address: '10.2.0.5', prefix: 24 }));
    },
  },
  {
    code: 'MULTIPLE_DEFAULT_GATEWAYS',
    bad: () => {
      const a = network('a');
      const b = network('b');
      return withAttachments(
        base({ networks: [a, b] }),
        attachOnNic(a, mac(2), { method: 'static', address: '10.1.0.5', prefix: 24, gateway: '10.1.0.1' }),
        attachOnNic(b, mac(3), { method: 'static', address: '10.2.0.5', prefix: 24, gateway: '10.2.0.1' }),
      );
    },
    edge: () => {
      const a = network('a');
      const b = network('b');
      return withAttachments(
        base({ networks: [a, b] }),
        attachOnNic(a, mac(2), { method: 'static', address: '10.1.0.5', prefix: 24, gateway: '10.1.0.1' }),
        attachOnNic(b, mac(3), { method: 'static', address: '10.2.0.5', prefix: 24 }),
      );
    },
  },
  {
    code: 'MANAGEMENT_NETWORK_MISSING',
    bad: () => ({ ...base({ state: 'active' }), attachments: [] }),
    edge: () => base({ state: 'active' }),
  },
  {
    code: 'MANAGEMENT_NOT_ON_BOOT_INTERFACE',
    bad: () => {
      const cfg = base();
      return { ...cfg, attachments: [attachOnNic(mgmtOf(cfg), mac(2), { method: 'dhcp' })] };
    },
    edge: () => {
      // on the bond that contains the boot NIC is fine
      const cfg = base();
      return { ...cfg, bonds: [bond(1, 'bond0', 'active-backup', [mac(1), mac(2)])], attachments: [attachOnBond(mgmtOf(cfg), 1, { method: 'dhcp' })] };
    },
  },
  {
    code: 'MANAGEMENT_WITHOUT_ADDRESS',
    bad: () => {
      const cfg = base();
      return { ...cfg, attachments: [attachOnNic(mgmtOf(cfg), mac(1), { method: 'none' })] };
    },
    edge: () => {
      const cfg = base();
      return { ...cfg, attachments: [attachOnNic(mgmtOf(cfg), mac(1), { method: 'none' }, { ipv6: { method: 'static', address: 'fd00::5', prefix: 64 } })] };
    },
  },
  {
    code: 'INTERFACE_NAME_CONFLICT',
    bad: () => {
      // a bridge named like a NIC
      const br = network('eth2', { bridged: true, vlan: 5 });
      return withAttachments(base({ networks: [br] }), attachOnNic(br, mac(2)));
    },
    edge: () => {
      const br = network('eth3', { bridged: true, vlan: 5 });
      return withAttachments(base({ networks: [br] }), attachOnNic(br, mac(2)));
    },
  },
  {
    code: 'CUSTOM_PROPERTY_INVALID',
    bad: () => ({ ...base(), host: { ...base().host, custom: { 'sysctl net.ipv4': '1' } } }),
    edge: () => ({ ...base(), host: { ...base().host, custom: { 'sysctl/net.ipv4.ip_forward': '1', 'ethtool:eth0': '-K eth0 gro off' } } }),
  },
  {
    code: 'HOST_NAME_INVALID',
    bad: () => ({ ...base(), host: { ...base().host, name: '1blade' } }),
    edge: () => ({ ...base(), host: { ...base().host, name: 'b1.rack1.example' } }),
  },
  {
    code: 'LABEL_INVALID',
    bad: () => base({ extra: { nics: [nic(1), nic(2, { labels: ['has space'] }), nic(3)] } }),
    edge: () => base({ extra: { nics: [nic(1), nic(2, { labels: ['san_a-1'] }), nic(3)] } }),
  },
];

describe('validateHost: every rule triggers, and passes near its edge', () => {
  it('the base configuration is clean', () => {
    expect(validateHost(base())).toEqual([]);
  });
  for (const c of cases) {
    it(`${c.code} triggers`, () => {
      const found = validateHost(c.bad());
      expect(codes(found)).toContain(c.code);
      const v = found.find((x) => x.code === c.code) as Violation;
      expect(v.message.length).toBeGreaterThan(10);
    });
    it(`${c.code} passes at its edge`, () => {
      expect(codes(validateHost(c.edge()))).toEqual([]);
    });
  }
});

describe('validateHost: warnings', () => {
  it('a partial bond left by a vanished NIC is allowed but flagged', () => {
    const cfg = { ...base(), nics: [nic(1), nic(2)], bonds: [bond(1, 'bond0', 'active-backup', [mac(2), mac(3)])] };
    const found = validateHost(cfg);
    expect(codes(found)).toEqual([]);
    expect(codes(found, 'warning')).toEqual(['BOND_PARTIAL']);
    expect(found[0]?.message).toContain(mac(3));
  });
  it('a missing management network only warns while the host is not active', () => {
    const found = validateHost({ ...base({ state: 'maintenance' }), attachments: [] });
    expect(codes(found)).toEqual([]);
    expect(codes(found, 'warning')).toEqual(['MANAGEMENT_NETWORK_MISSING']);
  });
  it('a required network that is not attached is a sync reason', () => {
    const st = network('storage', { required: true, vlan: 20 });
    expect(codes(validateHost(base({ networks: [st] })), 'warning')).toEqual(['REQUIRED_NETWORK_MISSING']);
    expect(codes(validateHost(withAttachments(base({ networks: [st] }), attachOnNic(st, mac(2)))), 'warning')).toEqual([]);
  });
  it('an attachment on a vanished NIC is kept and flagged', () => {
    const st = network('storage');
    const cfg = withAttachments(base({ networks: [st] }), attachOnNic(st, mac(9)));
    expect(codes(validateHost(cfg), 'warning')).toEqual(['ATTACHMENT_INTERFACE_MISSING']);
  });
});

describe('validateNetwork', () => {
  const n = (o: Partial<LogicalNetwork>): LogicalNetwork => network('net', o);
  const check = (net: LogicalNetwork, others: LogicalNetwork[] = []): string[] => codes(validateNetwork(net, others));
  it('VLAN id range 1-4094', () => {
    expect(check(n({ vlan: 0 }))).toEqual(['VLAN_ID_OUT_OF_RANGE']);
    expect(check(n({ vlan: 4095 }))).toEqual(['VLAN_ID_OUT_OF_RANGE']);
    expect(check(n({ vlan: 1 }))).toEqual([]);
    expect(check(n({ vlan: 4094 }))).toEqual([]);
    expect(check(n({ vlan: null }))).toEqual([]);
  });
  it('MTU range 68-9216', () => {
    expect(check(n({ mtu: 67 }))).toEqual(['MTU_OUT_OF_RANGE']);
    expect(check(n({ mtu: 9217 }))).toEqual(['MTU_OUT_OF_RANGE']);
    expect(check(n({ mtu: 68 }))).toEqual([]);
    expect(check(n({ mtu: 9216 }))).toEqual([]);
  });
  it('names are interface names (they become bridge names)', () => {
    expect(codes(validateNetwork(network('a234567890123456'), []))).toEqual(['NETWORK_NAME_INVALID']);
    expect(codes(validateNetwork(network('a23456789012345'), []))).toEqual([]);
    expect(codes(validateNetwork(network('9lives'), []))).toEqual(['NETWORK_NAME_INVALID']);
  });
  it('one management network per cluster, unique names', () => {
    const m = network('mgmt', { role: 'management' });
    expect(check(network('mgmt2', { role: 'management' }), [m])).toEqual(['DUPLICATE_MANAGEMENT_NETWORK']);
    expect(check(network('mgmt2', { role: 'vm' }), [m])).toEqual([]);
    expect(check(network('mgmt', { role: 'vm' }), [m])).toEqual(['DUPLICATE_NETWORK_NAME']);
  });
  it('labels and roles', () => {
    expect(check(n({ label: 'bad label' }))).toEqual(['LABEL_INVALID']);
    expect(check(n({ role: 'bogus' as LogicalNetwork['role'] }))).toEqual(['NETWORK_ROLE_INVALID']);
  });
});

describe('attachments outside the cluster', () => {
  it('ATTACHMENT_NETWORK_NOT_IN_CLUSTER after a network vanished from the host\'s cluster', () => {
    const stray = network('elsewhere', { clusterId: 2 });
    const cfg = base();
    expect(codes(validateHost(withAttachments(cfg, attachOnNic(stray, mac(2)))))).toEqual(['ATTACHMENT_NETWORK_NOT_IN_CLUSTER']);
    expect(codes(validateHost(cfg))).toEqual([]);
  });
});
