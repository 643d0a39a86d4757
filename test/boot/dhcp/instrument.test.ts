// instrumentDhcp and instrumentTftp: the boot timeline events (with arch and user class) and the
// Prometheus counters `tabula serve` hangs on the protocol servers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dhcpMetrics, instrumentDhcp, messageLabel } from '../../../src/boot/dhcp/instrument.js';
import { decodePacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES } from '../../../src/boot/dhcp/pxe.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import type { DhcpServerConfig } from '../../../src/boot/dhcp/server-logic.js';
import type { BootEvent, BootEventSink } from '../../../src/boot/events.js';
import { instrumentTftp, neighbourMac } from '../../../src/boot/tftp/instrument.js';
import { Registry } from '../../../src/metrics.js';
import { ip, opt, plainDiscover, plainMessage, u16 } from './fixtures.js';

const CFG: DhcpServerConfig = {
  mode: 'full',
  serverIp: '10.77.0.1',
  subnets: [{ network: '10.77.0.0', prefix: 24, range: ['10.77.0.100', '10.77.0.100'], leaseSeconds: 600 }],
  bootConfig: { httpScriptUrl: 'http://10.77.0.1:8080/boot.ipxe', httpBootUrl: 'http://10.77.0.1:8080/pxe/', files: { ...DEFAULT_BOOT_FILES } },
};
const MAC = '52:54:00:aa:bb:01';
const PXE = [opt(60, 'PXEClient:Arch:00000:UNDI:002001'), opt(93, u16(0)), opt(77, 'iPXE'), opt(97, 0, Array.from({ length: 16 }, (_, i) => i + 1)), opt(61, 1, [0x52, 0x54, 0, 0xaa, 0xbb, 1])];

class Sink implements BootEventSink {
  events: BootEvent[] = [];
  record(e: BootEvent): void {
    this.events.push(e);
  }
}

describe('instrumentDhcp', () => {
  it('records discover/offer/request/ack with arch, user class, UUID and client id, and counts them', () => {
    const registry = new Registry();
    const sink = new Sink();
    const responder = new DhcpResponder(CFG);
    const handler = instrumentDhcp(responder, { events: sink, metrics: dhcpMetrics(registry, () => 42) });
    const meta = { receivedOn: 'port67' as const, now: 1000 };
    const offer = handler.handle(decodePacket(plainDiscover(MAC, 7, PXE)), meta);
    expect(offer.filter((a) => 'send' in a)).toHaveLength(1);
    handler.handle(decodePacket(plainMessage(3, MAC, 7, [opt(54, ip('10.77.0.1')), opt(50, ip('10.77.0.100')), ...PXE])), meta);

    expect(sink.events.map((e) => e.stage)).toEqual(['dhcp-discover', 'dhcp-offer', 'dhcp-request', 'dhcp-ack']);
    expect(sink.events.every((e) => e.mac === MAC)).toBe(true);
    expect(sink.events[0]?.data).toMatchObject({
      xid: 7,
      arch: 0,
      firmware: 'bios',
      userClass: 'iPXE',
      ipxe: true,
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      uuid: '01020304-0506-0708-090a-0b0c0d0e0f10', // wire byte order (pxe.ts)
      clientId: '01525400aabb01',
      port: 67,
    });
    expect(sink.events[3]?.data).toMatchObject({ ip: '10.77.0.100', file: 'http://10.77.0.1:8080/boot.ipxe', bootKind: 'http', userClass: 'iPXE' });

    const text = registry.render();
    expect(text).toContain('tabula_dhcp_packets_total{type="discover"} 1');
    expect(text).toContain('tabula_dhcp_packets_total{type="request"} 1');
    expect(text).toContain('tabula_dhcp_replies_total{type="offer"} 1');
    expect(text).toContain('tabula_dhcp_replies_total{type="ack"} 1');
    expect(text).toContain('tabula_dhcp_leases_in_use 42');
  });

  it('counts drops by reason (pool exhausted, NAK) and records the NAK', () => {
    const registry = new Registry();
    const sink = new Sink();
    const handler = instrumentDhcp(new DhcpResponder(CFG), { events: sink, metrics: dhcpMetrics(registry) });
    const meta = { receivedOn: 'port67' as const, now: 1000 };
    handler.handle(decodePacket(plainDiscover(MAC, 1)), meta);
    handler.handle(decodePacket(plainDiscover('52:54:00:aa:bb:02', 2)), meta); // the one address is offered
    handler.handle(decodePacket(plainMessage(3, '52:54:00:aa:bb:03', 3, [opt(50, ip('10.99.0.5'))])), meta);
    const text = registry.render();
    expect(text).toContain('tabula_dhcp_dropped_total{reason="pool-exhausted"} 1');
    expect(text).toContain('tabula_dhcp_replies_total{type="nak"} 1');
    expect(sink.events.filter((e) => e.stage === 'dhcp-nak')).toEqual([{ mac: '52:54:00:aa:bb:03', stage: 'dhcp-nak', data: expect.objectContaining({ reason: 'wrong-subnet' }) }]);
  });

  it('a failing sink costs no reply', () => {
    const errors: unknown[] = [];
    const handler = instrumentDhcp(new DhcpResponder(CFG), {
      events: {
        record() {
          throw new Error('disk full');
        },
      },
      onSinkError: (e) => errors.push(e),
    });
    const actions = handler.handle(decodePacket(plainDiscover(MAC, 1)), { receivedOn: 'port67', now: 1 });
    expect(actions.filter((a) => 'send' in a)).toHaveLength(1);
    expect(errors).toHaveLength(2);
  });

  it('labels message types', () => {
    expect([messageLabel(1), messageLabel(8), messageLabel(99), messageLabel(null)]).toEqual(['discover', 'inform', 'type-99', 'none']);
  });
});

describe('instrumentTftp', () => {
  const transfer = { file: 'undionly.kpxe', client: { address: '10.77.0.100', port: 2070 }, bytes: 1000, size: 1000, blksize: 1468, windowsize: 1, durationMs: 12.4, outcome: 'complete' as const };

  it('counts bytes and outcomes and records a tftp event for the client MAC', () => {
    const registry = new Registry();
    const sink = new Sink();
    const onTransfer = instrumentTftp({ metrics: registry, events: sink, macFor: (a) => (a === '10.77.0.100' ? MAC : null) });
    onTransfer(transfer);
    onTransfer({ ...transfer, client: { address: '10.77.0.200', port: 1 }, bytes: 0, outcome: 'refused', reason: 'file not found' });
    const text = registry.render();
    expect(text).toContain('tabula_tftp_bytes_total 1000');
    expect(text).toContain('tabula_tftp_transfers_total{outcome="complete"} 1');
    expect(text).toContain('tabula_tftp_transfers_total{outcome="refused"} 1');
    // no MAC known for 10.77.0.200: counted, not on any timeline
    expect(sink.events).toEqual([
      { mac: MAC, stage: 'tftp', data: { file: 'undionly.kpxe', outcome: 'complete', bytes: 1000, size: 1000, blksize: 1468, windowsize: 1, ms: 12, client: '10.77.0.100' } },
    ]);
  });

  it('neighbourMac reads complete entries of an ARP table', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tabula-arp-'));
    try {
      const file = path.join(dir, 'arp');
      writeFileSync(
        file,
        [
          'IP address       HW type     Flags       HW address            Mask     Device',
          '10.77.0.100      0x1         0x2         52:54:00:aa:bb:01     *        br0',
          '10.77.0.101      0x1         0x0         00:00:00:00:00:00     *        br0',
        ].join('\n'),
      );
      expect(neighbourMac('10.77.0.100', file)).toBe(MAC);
      expect(neighbourMac('10.77.0.101', file)).toBeNull();
      expect(neighbourMac('10.77.0.1', file)).toBeNull();
      expect(neighbourMac('10.77.0.100', path.join(dir, 'missing'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
