// The safe plan a blade gets when its stored configuration breaks a rule (the engine refuses its plan
// with HOST_CONFIG_INVALID): no bonds, no labels, no custom properties, only the management network on
// the NIC the blade booted from, with DHCP. The blade stays reachable and reports in; an admin fixes
// the configuration and the next boot gets the real plan.
import type { Violation } from '../../domain/errors.js';
import type { HostConfig, LogicalNetwork } from '../../domain/model.js';
import { DEFAULT_MTU } from '../../domain/model.js';
import { type HostPlan, planHost } from '../../domain/plan.js';
import { validateHost } from '../../domain/validate.js';

export interface FallbackPlan {
  plan: HostPlan;
  /** The configuration the plan was made from (it passes validation). */
  config: HostConfig;
}

const hasErrors = (vs: Violation[]): boolean => vs.some((v) => v.severity === 'error');

/**
 * The reduced configuration, from the most faithful to the most minimal: the management network as
 * the cluster defines it (VLAN, MTU, bridge); then untagged and unbridged, as the PXE firmware itself
 * reached the server; then with the boot NIC as the only NIC. The first one that validates wins; null
 * when none does (no management network, or the boot NIC was never reported).
 */
export function fallbackPlan(cfg: HostConfig, bootMac: string): FallbackPlan | null {
  const mgmt = cfg.networks.find((n) => n.role === 'management');
  const nic = cfg.nics.find((n) => n.mac === bootMac) ?? (cfg.host.bootMac !== null ? cfg.nics.find((n) => n.mac === cfg.host.bootMac) : undefined);
  if (!mgmt || !nic) return null;
  const asDefined: LogicalNetwork = { ...mgmt, label: null };
  const plain: LogicalNetwork = { ...asDefined, vlan: null, bridged: false, mtu: DEFAULT_MTU };
  const allNics = cfg.nics.map((n) => ({ ...n, labels: [] }));
  const candidates: [LogicalNetwork, HostConfig['nics']][] = [
    [asDefined, allNics],
    [plain, allNics],
    [plain, [{ ...nic, labels: [] }]],
  ];
  for (const [network, nics] of candidates) {
    const config: HostConfig = {
      cluster: { ...cfg.cluster },
      networks: [network],
      host: { ...cfg.host, bootMac: nic.mac, custom: {} },
      nics,
      bonds: [],
      attachments: [
        {
          id: 0,
          hostId: cfg.host.id,
          networkId: network.id,
          iface: { kind: 'nic', mac: nic.mac },
          ipv4: { method: 'dhcp' },
          ipv6: { method: 'none' },
          custom: {},
        },
      ],
    };
    if (!hasErrors(validateHost(config))) return { plan: planHost(config), config };
  }
  return null;
}
