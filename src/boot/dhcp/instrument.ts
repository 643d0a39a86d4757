// What `tabula serve` wraps around the DHCP responder: boot timeline events (dhcp-discover, -offer,
// -request, -ack, -nak with architecture and user class) and Prometheus metrics.
//
//   tabula_dhcp_packets_total{type}    requests received and decoded, by message type
//   tabula_dhcp_replies_total{type}    replies handed to the socket, by message type
//   tabula_dhcp_dropped_total{reason}  requests not answered (decode errors, drops, pool exhausted...)
//   tabula_dhcp_leases_in_use          bound, unexpired leases (sampled at scrape time)
import type { BootEvent, BootEventSink } from '../events.js';
import type { Counter, Registry } from '../../metrics.js';
import { ZERO_IP } from './ip.js';
import { MessageType, getMessageType, getUserClasses, messageTypeName } from './options.js';
import type { DhcpPacket } from './packet.js';
import { classifyClient } from './pxe.js';
import type { DhcpAction, RequestMeta } from './server-logic.js';
import type { DhcpHandler } from './udp-server.js';

export interface DhcpMetrics {
  packets: Counter;
  replies: Counter;
  dropped: Counter;
}

/** Registers (or finds) the DHCP metrics in `registry`; `leasesInUse` is sampled at render time. */
export function dhcpMetrics(registry: Registry, leasesInUse?: () => number): DhcpMetrics {
  const m = {
    packets: registry.counter('tabula_dhcp_packets_total', 'DHCP requests received, by message type'),
    replies: registry.counter('tabula_dhcp_replies_total', 'DHCP replies sent, by message type'),
    dropped: registry.counter('tabula_dhcp_dropped_total', 'DHCP requests dropped or not answered, by reason'),
  };
  const gauge = registry.gauge('tabula_dhcp_leases_in_use', 'Bound DHCP leases that have not expired');
  if (leasesInUse) gauge.collect(leasesInUse);
  return m;
}

/** 'DHCPDISCOVER' -> 'discover'; unknown codes -> 'type-N'. */
export function messageLabel(code: number | null): string {
  if (code === null) return 'none';
  return messageTypeName(code).replace(/^DHCP/, '').toLowerCase();
}

/** Drop reasons the responder logs, and the log events that mean "no reply". */
const NO_REPLY_EVENTS = new Set(['drop', 'no-offer']);

type EventData = NonNullable<BootEvent['data']>;

/** What a request says about the booting machine, for the timeline. Never throws. */
export function clientData(p: DhcpPacket, meta: Pick<RequestMeta, 'receivedOn'>): EventData {
  const c = classifyClient(p);
  const data: EventData = {
    xid: p.xid,
    arch: c.arch,
    firmware: c.firmware,
    userClass: getUserClasses(p).join(',') || null,
    vendorClass: c.vendorClass,
    ipxe: c.ipxe,
    uuid: c.uuid,
    clientId: c.clientId,
    port: meta.receivedOn === 'port4011' ? 4011 : 67,
  };
  if (p.giaddr !== ZERO_IP) data['relay'] = p.giaddr;
  return data;
}

const REQUEST_STAGES: ReadonlyMap<number, BootEvent['stage']> = new Map([
  [MessageType.DISCOVER, 'dhcp-discover'],
  [MessageType.REQUEST, 'dhcp-request'],
]);
const REPLY_STAGES: ReadonlyMap<string, BootEvent['stage']> = new Map([
  ['offer', 'dhcp-offer'],
  ['ack', 'dhcp-ack'],
  ['nak', 'dhcp-nak'],
]);

export interface InstrumentOptions {
  events?: BootEventSink;
  metrics?: DhcpMetrics;
  /** Told when the sink throws (the reply still goes out). */
  onSinkError?: (err: unknown) => void;
}

/**
 * Wraps a responder: records the request and each reply on the timeline and counts them. The
 * responder's actions are returned unchanged; a failing sink never costs a reply.
 */
export function instrumentDhcp(responder: DhcpHandler, opts: InstrumentOptions): DhcpHandler {
  const { events, metrics } = opts;
  const record = (e: BootEvent): void => {
    if (!events) return;
    try {
      events.record(e);
    } catch (err) {
      opts.onSinkError?.(err);
    }
  };
  return {
    handle(packet: DhcpPacket, meta: RequestMeta): DhcpAction[] {
      const type = getMessageType(packet);
      metrics?.packets.inc({ type: messageLabel(type) });
      const data = clientData(packet, meta);
      const stage = type === null ? undefined : REQUEST_STAGES.get(type);
      if (stage && packet.chaddr !== '') record({ mac: packet.chaddr, stage, data });
      const actions = responder.handle(packet, meta);
      for (const a of actions) {
        if ('send' in a) {
          metrics?.replies.inc({ type: messageLabel(getMessageType(a.send)) });
          continue;
        }
        const log = a.log;
        if (NO_REPLY_EVENTS.has(log.event)) metrics?.dropped.inc({ reason: log.reason ?? log.event });
        const replyStage = REPLY_STAGES.get(log.event);
        if (replyStage && log.mac) {
          const reply: EventData = { ...data };
          if (log.ip !== undefined) reply['ip'] = log.ip;
          if (log.boot) {
            reply['file'] = log.boot.file;
            reply['bootKind'] = log.boot.kind;
          }
          if (log.reason !== undefined) reply['reason'] = log.reason;
          record({ mac: log.mac, stage: replyStage, data: reply });
        }
      }
      return actions;
    },
  };
}
