// Who is booting, and what to hand it. Pure functions over a decoded request.
//
// Client architecture types (RFC 4578 §2.1 and the IANA "Processor Architecture Types" registry):
//   0 x86 BIOS · 6 x86 UEFI (IA32) · 7 x64 UEFI · 9 EBC (sent by some x64 firmware) · 10 ARM32 UEFI
//   11 ARM64 UEFI · 15 x86 UEFI HTTP · 16 x64 UEFI HTTP · 18 ARM32 UEFI HTTP · 19 ARM64 UEFI HTTP
//
// Discriminating iPXE: option 77 (user class) == "iPXE". Options 60/93/175 are identical between the
// iPXE NIC ROM and a chainloaded undionly.kpxe, so anything else loops (see pxe-lab.md §3).
import { getClientArch, getClientId, getClientUuid, getUserClasses, getVendorClass } from './options.js';
import type { DhcpPacket } from './packet.js';

export type Firmware = 'bios' | 'uefi-x64' | 'uefi-ia32' | 'arm32' | 'arm64' | 'unknown';

export interface BootClient {
  firmware: Firmware;
  /** UEFI HTTP boot: arch 15/16/18/19 or vendor class HTTPClient. */
  httpBoot: boolean;
  /** User class iPXE: the ROM (or a chainloaded iPXE) is already running; give it the HTTP script. */
  ipxe: boolean;
  /** First entry of option 93, else the number in a `PXEClient:Arch:NNNNN` vendor class, else null. */
  arch: number | null;
  /** Option 97 in wire byte order. */
  uuid: string | null;
  /** Option 61 as lower-case hex without separators. */
  clientId: string | null;
  vendorClass: string | null;
  /** Vendor class starts with PXEClient or HTTPClient. */
  pxe: boolean;
}

export const HTTP_BOOT_ARCHES: ReadonlySet<number> = new Set([15, 16, 18, 19]);

const ARCH_FIRMWARE: ReadonlyMap<number, Firmware> = new Map<number, Firmware>([
  [0, 'bios'],
  [6, 'uefi-ia32'],
  [7, 'uefi-x64'],
  [9, 'uefi-x64'],
  [10, 'arm32'],
  [11, 'arm64'],
  [15, 'uefi-ia32'],
  [16, 'uefi-x64'],
  [18, 'arm32'],
  [19, 'arm64'],
]);

const VENDOR_ARCH_RE = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/;

export function classifyClient(p: DhcpPacket): BootClient {
  const vendorClass = getVendorClass(p);
  const pxe = vendorClass !== null && (vendorClass.startsWith('PXEClient') || vendorClass.startsWith('HTTPClient'));
  let arch: number | null = getClientArch(p)[0] ?? null;
  if (arch === null && vendorClass !== null) {
    const m = VENDOR_ARCH_RE.exec(vendorClass);
    if (m) arch = Number(m[1]);
  }
  let firmware: Firmware;
  if (arch !== null) firmware = ARCH_FIRMWARE.get(arch) ?? 'unknown';
  else firmware = pxe ? 'bios' : 'unknown'; // PXE 2.x BIOS ROMs that predate option 93
  const httpBoot = (arch !== null && HTTP_BOOT_ARCHES.has(arch)) || (vendorClass !== null && vendorClass.startsWith('HTTPClient'));
  const id = getClientId(p);
  return {
    firmware,
    httpBoot,
    ipxe: getUserClasses(p).includes('iPXE'),
    arch,
    uuid: getClientUuid(p),
    clientId: id ? id.toString('hex') : null,
    vendorClass,
    pxe,
  };
}

/** TFTP file names per firmware, relative to the TFTP root. */
export interface BootFiles {
  bios: string;
  /** ipxe.efi (full drivers) or snponly.efi (uses the firmware's SNP driver). */
  uefiX64: string;
  uefiIa32: string;
  arm64: string;
  arm32: string;
}

export interface BootTargets extends BootFiles {
  /** Where iPXE fetches its script (over HTTP), e.g. http://10.77.0.1:8080/ipxe/boot.ipxe */
  httpScriptUrl: string;
  /**
   * What UEFI HTTP boot downloads: an EFI binary URL. When it ends with '/', the per-firmware file
   * name from `files` is appended (…/ipxe.efi for x64, …/<arm64> for ARM64).
   */
  httpBootUrl: string;
}

export interface BootConfig {
  httpScriptUrl: string;
  httpBootUrl: string;
  files: BootFiles;
  /** Per-host or per-call replacements of any of the above. */
  override?: Partial<BootTargets>;
}

export interface BootChoice {
  kind: 'tftp' | 'http';
  file: string;
}

export const DEFAULT_BOOT_FILES: Readonly<BootFiles> = Object.freeze({
  bios: 'undionly.kpxe',
  uefiX64: 'ipxe.efi',
  uefiIa32: 'ipxe-i386.efi',
  arm64: 'ipxe-arm64.efi',
  arm32: 'ipxe-arm32.efi',
});

function resolveTargets(cfg: BootConfig): BootTargets {
  const t: BootTargets = { ...cfg.files, httpScriptUrl: cfg.httpScriptUrl, httpBootUrl: cfg.httpBootUrl };
  if (cfg.override) {
    for (const key of Object.keys(cfg.override) as Array<keyof BootTargets>) {
      const v = cfg.override[key];
      if (typeof v === 'string' && v !== '') t[key] = v;
    }
  }
  return t;
}

function fileFor(firmware: Firmware, t: BootFiles): string | null {
  switch (firmware) {
    case 'bios':
      return t.bios;
    case 'uefi-x64':
      return t.uefiX64;
    case 'uefi-ia32':
      return t.uefiIa32;
    case 'arm64':
      return t.arm64;
    case 'arm32':
      return t.arm32;
    case 'unknown':
      return null;
  }
}

/**
 * The boot file for a client, or null when it is not a network-boot client (a plain DHCP client such
 * as udhcpc) or its architecture has no file configured. Order: iPXE → HTTP script (never a TFTP
 * chainload: undionly.kpxe would load itself forever); UEFI HTTP boot → httpBootUrl; PXE → TFTP file
 * by architecture.
 */
export function chooseBootFile(client: BootClient, cfg: BootConfig): BootChoice | null {
  const t = resolveTargets(cfg);
  if (client.ipxe) return { kind: 'http', file: t.httpScriptUrl };
  if (client.httpBoot) {
    if (t.httpBootUrl.endsWith('/')) {
      const f = fileFor(client.firmware, t);
      return f ? { kind: 'http', file: t.httpBootUrl + f } : null;
    }
    return { kind: 'http', file: t.httpBootUrl };
  }
  if (!client.pxe) return null;
  const f = fileFor(client.firmware, t);
  return f ? { kind: 'tftp', file: f } : null;
}
