// The virtual rack's layout as pure data: names, MACs and addresses of every blade, the demo cluster
// each blade gets, and the QEMU command line of a blade. No I/O here, so it is unit-tested directly.
//
// Everything lives inside the lab's own network namespace, so device names only need to be unique
// within it; the namespace name carries the lab's unique name.

import { TabulaError } from '../domain/errors.js';
import { SWITCH_TYPES, type SwitchType } from '../domain/model.js';

export type { SwitchType };

export type Firmware = 'bios' | 'uefi';
export type FirmwareChoice = Firmware | 'mixed';

export const SERVER_IP = '10.77.0.1';
export const SERVER_PREFIX = 24;
export const SERVER_IP6 = 'fd77::1';
export const API_PORT = 8080;
export const DHCP_RANGE = { start: '10.77.0.100', end: '10.77.0.199' };
export const BRIDGE = 'rack';
export const RACK_MTU = 9000;

export const CLUSTER = 'rack1';
export const MGMT = { name: 'mgmt', mtu: 9000 } as const;
export const STORAGE = { name: 'storage', vlan: 200, mtu: 9000, subnet: '10.200.0' } as const;
export const VMNET = { name: 'vmnet', vlan: 100, mtu: 1500, subnet: '10.100.0' } as const;
/** Host custom property that makes a blade ping these addresses after applying (advisory checks). */
export const PEER_PING = 'tabula.peer-ping';

export const MAX_BLADES = 32;
export const MAX_NICS = 8;

export interface LabShape {
  blades: number;
  nics: number;
  firmware: FirmwareChoice;
  /** How the demo cluster's blades build their network (default linux: kernel bonds, VLANs, bridges). */
  switchType?: SwitchType;
}

export interface BladeSpec {
  /** 1-based. */
  index: number;
  name: string;
  firmware: Firmware;
  /** One per NIC, in PCI order: eth0, eth1, ... */
  macs: string[];
  nicNames: string[];
  /** Tap device of each NIC inside the lab namespace. */
  taps: string[];
  mgmtIp: string;
  storageIp: string;
  vmIp: string;
}

/** A lab shape or name the lab refuses (LAB_INVALID), or a step of building or running it that failed (LAB_FAILED). */
export function labError(message: string, code: 'LAB_INVALID' | 'LAB_FAILED' = 'LAB_FAILED'): TabulaError {
  return new TabulaError(code === 'LAB_INVALID' ? 'bad-request' : 'internal', code, message);
}

/** A lab name: it becomes part of the namespace name `tabula-lab-NAME`. */
export function checkLabName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(name)) throw labError(`lab name '${name}' must be 1-20 characters of a-z, 0-9 and '-', starting with a letter`, 'LAB_INVALID');
  return name;
}

export const namespaceOf = (name: string): string => `tabula-lab-${name}`;

export function checkShape(s: LabShape): LabShape {
  if (!Number.isInteger(s.blades) || s.blades < 1 || s.blades > MAX_BLADES) throw labError(`--blades ${s.blades} must be a whole number from 1 to ${MAX_BLADES}`, 'LAB_INVALID');
  if (!Number.isInteger(s.nics) || s.nics < 1 || s.nics > MAX_NICS) throw labError(`--nics ${s.nics} must be a whole number from 1 to ${MAX_NICS}`, 'LAB_INVALID');
  if (!['bios', 'uefi', 'mixed'].includes(s.firmware)) throw labError(`--firmware '${String(s.firmware)}' must be bios, uefi or mixed`, 'LAB_INVALID');
  if (s.switchType !== undefined) checkSwitchType(s.switchType);
  return s;
}

/** The lab's --switch value: the demo cluster's switch type. */
export function checkSwitchType(value: string): SwitchType {
  if (!(SWITCH_TYPES as readonly string[]).includes(value)) throw labError(`--switch '${value}' must be ${SWITCH_TYPES.join(' or ')}`, 'LAB_INVALID');
  return value as SwitchType;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Stable MAC of blade `b` (1-based), NIC `k` (0-based). */
export function bladeMac(b: number, k: number): string {
  return `52:54:00:7a:${hex2(b)}:${hex2(k + 1)}`;
}

/** mixed: every third blade is UEFI (two BIOS, one UEFI for three blades). */
export function firmwareOf(choice: FirmwareChoice, index: number): Firmware {
  if (choice !== 'mixed') return choice;
  return index % 3 === 0 ? 'uefi' : 'bios';
}

export function bladeSpec(index: number, shape: LabShape): BladeSpec {
  const nics = Array.from({ length: shape.nics }, (_, k) => k);
  return {
    index,
    name: `blade${index}`,
    firmware: firmwareOf(shape.firmware, index),
    macs: nics.map((k) => bladeMac(index, k)),
    nicNames: nics.map((k) => `eth${k}`),
    taps: nics.map((k) => `b${index}n${k}`),
    mgmtIp: `10.77.0.${10 + index}`,
    storageIp: `${STORAGE.subnet}.${10 + index}`,
    vmIp: `${VMNET.subnet}.${10 + index}`,
  };
}

export function bladeSpecs(shape: LabShape): BladeSpec[] {
  return Array.from({ length: shape.blades }, (_, i) => bladeSpec(i + 1, shape));
}

// ------------------------------------------------------------------ the demo configuration

export interface BondPlan {
  name: string;
  mode: 'active-backup' | 'balance-xor' | 'balance-slb';
  members: string[];
  options: { miimon: number; primary?: string };
}

export interface AttachPlan {
  network: string;
  interface: string;
  address: string;
  prefix: number;
}

export interface BladeConfig {
  bonds: BondPlan[];
  attachments: AttachPlan[];
  /** Addresses this blade pings on the tagged networks (its peers'). */
  peers: string[];
}

/**
 * The demo network of one blade: management (untagged, bridged, MTU 9000) on an active-backup bond of
 * the first two NICs, storage (VLAN 200) and the bridged VM network (VLAN 100) on the same bond, or
 * on a second bond of NICs 3-4 when the blade has four.
 *
 * On an ovs switch the same layout becomes Open vSwitch bonds that work behind the lab's plain Linux
 * bridge: bond0 names eth0 as primary (both members sit on one bridge, which keeps sending the server's
 * answers to the port it learnt while the blade provisioned on eth0; OVS drops them on a backup member),
 * and bond1 is balance-slb, OVS's switch-independent balancing (balance-xor is not an OVS mode, and
 * balance-tcp needs LACP, whose frames the Linux bridge drops).
 */
export function bladeConfig(blade: BladeSpec, all: readonly BladeSpec[], switchType: SwitchType = 'linux'): BladeConfig {
  const ovs = switchType === 'ovs';
  const bonds: BondPlan[] = [];
  let mgmtIf = blade.nicNames[0] as string;
  let dataIf = mgmtIf;
  if (blade.nicNames.length >= 2) {
    const members = blade.nicNames.slice(0, 2);
    bonds.push({ name: 'bond0', mode: 'active-backup', members, options: { miimon: 100, ...(ovs ? { primary: members[0] as string } : {}) } });
    mgmtIf = 'bond0';
    dataIf = 'bond0';
  }
  if (blade.nicNames.length >= 4) {
    bonds.push({ name: 'bond1', mode: ovs ? 'balance-slb' : 'balance-xor', members: blade.nicNames.slice(2, 4), options: { miimon: 100 } });
    dataIf = 'bond1';
  }
  const attachments: AttachPlan[] = [
    { network: MGMT.name, interface: mgmtIf, address: blade.mgmtIp, prefix: SERVER_PREFIX },
    { network: STORAGE.name, interface: dataIf, address: blade.storageIp, prefix: 24 },
    { network: VMNET.name, interface: dataIf, address: blade.vmIp, prefix: 24 },
  ];
  const peers = all.filter((b) => b.index !== blade.index).flatMap((b) => [b.storageIp, b.vmIp]);
  return { bonds, attachments, peers };
}

// ------------------------------------------------------------------ QEMU

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface QemuFiles {
  serial: string;
  qmp: string;
  pid: string;
  /** UEFI only: this blade's throwaway copy of OVMF_VARS. */
  vars?: string;
}

/**
 * A diskless blade: TCG (KVM here is PVM and cannot run firmware), 1 CPU, 256 MiB (UEFI needs 160),
 * no -drive but the UEFI firmware's pflash, serial to a file, QMP for link cuts and resets. NIC 0 boots
 * with QEMU's default virtio ROM (Debian's is iPXE); the others get no ROM so the firmware skips them.
 */
export function qemuArgs(blade: BladeSpec, files: QemuFiles): string[] {
  const args = ['-name', blade.name, '-accel', 'tcg', '-smp', '1', '-m', '256', '-nodefaults', '-nographic', '-no-reboot', '-no-user-config'];
  args.push('-serial', `file:${files.serial}`, '-monitor', 'none', '-qmp', `unix:${files.qmp},server=on,wait=off`, '-pidfile', files.pid);
  if (blade.firmware === 'uefi') {
    if (!files.vars) throw labError(`${blade.name}: UEFI needs a copy of OVMF_VARS`, 'LAB_INVALID');
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${files.vars}`);
  }
  blade.taps.forEach((tap, k) => {
    args.push('-netdev', `tap,id=n${k},ifname=${tap},script=no,downscript=no`);
    args.push('-device', `virtio-net-pci,netdev=n${k},mac=${blade.macs[k]}${k === 0 ? ',bootindex=1' : ',romfile='}`);
  });
  return args;
}
