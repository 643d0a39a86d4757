// Which form field an engine error concerns, by its stable code (src/domain/validate.ts and the
// engine's conflicts), so the console can show the message next to that field. Request-shape
// errors (400 INVALID_REQUEST) name the field in their issue path instead.

/** What fieldErrors reads of an API failure (ApiFailure in api.ts). */
export interface FailureLike {
  code: string;
  message: string;
  issues: { in: string; path: string; message: string }[];
  violations: { code: string; message: string; severity: string }[];
}

const NETWORK_FIELDS: Readonly<Record<string, string>> = {
  NETWORK_NAME_INVALID: 'name',
  DUPLICATE_NETWORK_NAME: 'name',
  NETWORK_NOT_FOUND: 'name',
  VLAN_ID_OUT_OF_RANGE: 'vlan',
  DUPLICATE_VLAN_ON_INTERFACE: 'vlan',
  VLAN_MTU_EXCEEDS_PARENT: 'vlan',
  MULTIPLE_UNTAGGED_NETWORKS: 'vlan',
  BOND_MEMBER_IS_VLAN_PARENT: 'vlan',
  MTU_OUT_OF_RANGE: 'mtu',
  BRIDGE_MTU_MISMATCH: 'mtu',
  NETWORK_ROLE_INVALID: 'role',
  DUPLICATE_MANAGEMENT_NETWORK: 'role',
  MANAGEMENT_NETWORK_MISSING: 'role',
  LABEL_INVALID: 'label',
  NETWORK_ATTACHED_TWICE: 'label',
  BOND_MEMBER_HAS_NETWORK: 'label',
  REQUIRED_NETWORK_MISSING: 'required',
  BOND_MODE_NOT_BRIDGEABLE: 'bridged',
  NETWORK_IN_USE: 'name',
  // Port types of ovs clusters (docs/model.md "Open vSwitch, port types and QoS").
  PORT_TYPE_INVALID: 'portType',
  PORT_TYPE_NEEDS_OVS: 'portType',
  TRUNK_PORT_ADDRESS: 'portType',
  PORT_TYPE_VLAN_MISMATCH: 'vlan',
  TRUNK_VLANS_INVALID: 'trunks',
  TRUNK_CONTAINS_ACCESS_TAG: 'trunks',
};

/**
 * A code some rules share between fields: VLAN_ID_OUT_OF_RANGE is the network's own VLAN or one of its
 * trunk VLANs ("trunk VLAN id 5000 is outside 1-4094"); only the message tells them apart.
 */
function networkFieldOf(code: string, message: string): string | null {
  if (code === 'VLAN_ID_OUT_OF_RANGE' && /\btrunk VLAN\b/.test(message)) return 'trunks';
  return fieldOfCode('network', code);
}

const BOND_FIELDS: Readonly<Record<string, string>> = {
  BOND_NAME_INVALID: 'name',
  DUPLICATE_INTERFACE_NAME: 'name',
  INTERFACE_NAME_CONFLICT: 'name',
  INTERFACE_NAME_INVALID: 'name',
  BOND_NOT_FOUND: 'name',
  BOND_MODE_INVALID: 'mode',
  BOND_MODE_SWITCH_TYPE: 'mode',
  BOND_LACP_REQUIRED: 'lacp',
  BOND_OPTION_SWITCH_TYPE: 'options',
  BOND_MODE_NOT_BRIDGEABLE: 'mode',
  BOND_LACP_RATE_MODE: 'mode',
  BOND_XMIT_HASH_MODE: 'mode',
  BOND_PRIMARY_MODE: 'mode',
  BOND_ARP_MODE: 'mode',
  BOND_TOO_FEW_MEMBERS: 'members',
  BOND_DUPLICATE_MEMBER: 'members',
  BOND_MEMBER_IN_OTHER_BOND: 'members',
  BOND_MEMBER_HAS_NETWORK: 'members',
  BOND_MEMBER_IS_VLAN_PARENT: 'members',
  BOND_MEMBER_NOT_FOUND: 'members',
  NIC_NOT_FOUND: 'members',
  BOND_PARTIAL: 'members',
  BOND_PRIMARY_NOT_MEMBER: 'options',
  BOND_OPTION_INVALID: 'options',
  BOND_MIIMON_AND_ARP: 'options',
  BOND_DELAY_WITHOUT_MIIMON: 'options',
  BOND_ARP_TARGET_INVALID: 'options',
  BOND_ARP_TARGET_REQUIRED: 'options',
  INVALID_MAC: 'mac',
  LABEL_INVALID: 'labels',
};

export type FormKind = 'network' | 'bond';

export function fieldOfCode(form: FormKind, code: string): string | null {
  const table = form === 'network' ? NETWORK_FIELDS : BOND_FIELDS;
  return table[code] ?? null;
}

function fieldOf(form: FormKind, code: string, message: string): string | null {
  return form === 'network' ? networkFieldOf(code, message) : fieldOfCode(form, code);
}

/** Messages per field ('' = the form as a whole), from an API failure. */
export type FieldErrors = Record<string, { code: string; message: string }[]>;

export function fieldErrors(form: FormKind, failure: FailureLike): FieldErrors {
  const out: FieldErrors = {};
  const add = (field: string, code: string, message: string): void => {
    (out[field] ??= []).push({ code, message });
  };
  const issues = failure.issues;
  const violations = failure.violations.filter((v) => v.severity === 'error');
  if (issues.length > 0) {
    for (const i of issues) {
      // "options.miimon" → options; "members.1" → members
      const top = i.path.split('.')[0] ?? '';
      add(i.in === 'body' ? top : '', failure.code, i.path ? `${i.path}: ${i.message}` : i.message);
    }
  } else if (violations.length > 0) {
    for (const v of violations) add(fieldOf(form, v.code, v.message) ?? '', v.code, v.message);
  } else {
    add(fieldOf(form, failure.code, failure.message) ?? '', failure.code, failure.message);
  }
  return out;
}
