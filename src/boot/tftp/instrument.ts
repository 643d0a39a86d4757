// What `tabula serve` hangs on the TFTP server: metrics and a 'tftp' boot timeline event per transfer.
//
//   tabula_tftp_bytes_total                 bytes acknowledged by clients
//   tabula_tftp_transfers_total{outcome}    complete | aborted | timeout | refused
//
// TFTP knows the client's IP, the timeline wants its MAC: the DHCP lease for that address when there
// is one, else the kernel's neighbour table (the client just talked to us, so it is there).
import { readFileSync } from 'node:fs';
import type { BootEventSink } from '../events.js';
import type { Registry } from '../../metrics.js';
import type { TransferEvent } from './server.js';

/** IPv4 -> MAC from /proc/net/arp (this network namespace), or null. */
export function neighbourMac(ip: string, arpTable = '/proc/net/arp'): string | null {
  let text: string;
  try {
    text = readFileSync(arpTable, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n').slice(1)) {
    const [addr, , flags, hw] = line.trim().split(/\s+/);
    // flags 0x0: incomplete entry
    if (addr === ip && flags !== '0x0' && hw && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(hw) && hw !== '00:00:00:00:00:00') return hw;
  }
  return null;
}

export interface TftpInstrumentOptions {
  metrics: Registry;
  events?: BootEventSink;
  /** Client IPv4 -> MAC; default neighbourMac. */
  macFor?: (ip: string) => string | null;
  onSinkError?: (err: unknown) => void;
}

/** An onTransfer callback for startTftpServer. */
export function instrumentTftp(opts: TftpInstrumentOptions): (e: TransferEvent) => void {
  const bytes = opts.metrics.counter('tabula_tftp_bytes_total', 'TFTP bytes acknowledged by clients');
  const transfers = opts.metrics.counter('tabula_tftp_transfers_total', 'TFTP transfers by outcome');
  const macFor = opts.macFor ?? ((ip: string) => neighbourMac(ip));
  return (e) => {
    bytes.inc({}, e.bytes);
    transfers.inc({ outcome: e.outcome });
    if (!opts.events) return;
    const address = e.client.address.replace(/^::ffff:/, '');
    const mac = macFor(address);
    if (mac === null) return;
    try {
      opts.events.record({
        mac,
        stage: 'tftp',
        data: {
          file: e.file,
          outcome: e.outcome,
          bytes: e.bytes,
          size: e.size ?? null,
          blksize: e.blksize,
          windowsize: e.windowsize,
          ms: Math.round(e.durationMs),
          client: address,
          ...(e.reason !== undefined ? { reason: e.reason } : {}),
        },
      });
    } catch (err) {
      opts.onSinkError?.(err);
    }
  };
}
