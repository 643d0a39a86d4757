// The boot timeline seam: protocol servers report what they did for a MAC; the engine side stores
// it per host (see src/boot/http for the store and the API that shows it).

export const BOOT_STAGES = [
  'dhcp-discover',
  'dhcp-offer',
  'dhcp-request',
  'dhcp-ack',
  'dhcp-nak',
  'tftp',
  'ipxe-script',
  'host-script',
  'kernel',
  'initrd',
  'inventory',
  'config',
  /** A running blade's poll answered 204: its host is in maintenance, the new generation waits. */
  'held',
  'report',
  'verified',
  'rolled-back',
] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

export interface BootEvent {
  /** Normalised lower-case colon MAC of the booting NIC. */
  mac: string;
  stage: BootStage;
  /** Stage details: arch, user class, file, bytes, status... never a token. */
  data?: Record<string, string | number | boolean | null>;
}

export interface BootEventSink {
  record(event: BootEvent): void;
}
