// DHCPv4 for PXE provisioning: codec, typed options, client classification, the RFC 2131 state
// machine (full and proxyDHCP modes) and a thin UDP wrapper.
export * from './packet.js';
export * from './options.js';
export * from './pxe.js';
export * from './server-logic.js';
export * from './udp-server.js';
export { ipToUint, uintToIp, isIpv4 } from './ip.js';
export { EngineReservations } from './reservations.js';
export type { EngineReservationsOptions, ReservationConflict } from './reservations.js';
