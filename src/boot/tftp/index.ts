// Read-only TFTP server for PXE boot files (see server.ts).
export { startTftpServer, negotiateOptions } from './server.js';
export type {
  Negotiated,
  NegotiationLimits,
  TftpLogger,
  TftpServer,
  TftpServerOptions,
  TftpServerStats,
  TransferEvent,
  TransferOutcome,
} from './server.js';
export { bufferFile, openRootFile } from './files.js';
export type { FileProvider, TftpClient, TftpFile } from './files.js';
export { normalizeRequestName, resolveUnderRoot, isInsideRoot } from './paths.js';
export { TftpErrorCode, TftpPacketError, decodePacket } from './packet.js';
export type { TftpPacket } from './packet.js';
