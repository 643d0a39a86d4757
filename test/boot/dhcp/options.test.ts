import { describe, expect, it } from 'vitest';
import { DhcpEncodeError, decodePacket } from '../../../src/boot/dhcp/packet.js';
import {
  bootFileOption,
  broadcastOption,
  dnsOption,
  domainNameOption,
  getClientArch,
  getClientId,
  getClientNdi,
  getClientUuid,
  getIpxeEncapsulated,
  getLeaseTime,
  getMaxMessageSize,
  getMessageType,
  getParameterRequestList,
  getRelayAgentInfo,
  getRequestedIp,
  getServerId,
  getUserClasses,
  getVendorClass,
  hasUserClass,
  hostnameOption,
  ipxeNoPxeDhcpOption,
  leaseTimeOption,
  parseSubOptions,
  rebindingTimeOption,
  renewalTimeOption,
  routerOption,
  serverIdOption,
  subnetMaskOption,
  tftpServerOption,
  vendorClassOption,
} from '../../../src/boot/dhcp/options.js';
import {
  EDK2_PRL,
  EDK2_UUID,
  EDK2_VENDOR,
  IPXE_ENCAP,
  IPXE_MAC,
  bytes,
  edk2Discover,
  edk2Request,
  header,
  ip,
  ipxeBiosDiscover,
  opt,
  u16,
  u32,
  udhcpcDiscover,
} from './fixtures.js';

const withOptions = (...options: Buffer[]) => decodePacket(bytes(header({ xid: 1, mac: '02:00:00:00:00:01' }), opt(53, 1), ...options, 255));

describe('accessors on real client packets', () => {
  it('EDK2 DISCOVER', () => {
    const p = decodePacket(edk2Discover());
    expect(getMessageType(p)).toBe(1);
    expect(getMaxMessageSize(p)).toBe(1472);
    expect(getParameterRequestList(p)).toEqual(EDK2_PRL);
    expect(getVendorClass(p)).toBe(EDK2_VENDOR);
    expect(getClientArch(p)).toEqual([7]);
    expect(getClientNdi(p)).toEqual({ type: 1, major: 3, minor: 0 });
    expect(getClientUuid(p)).toBe(EDK2_UUID);
    expect(getUserClasses(p)).toEqual([]);
    expect(getClientId(p)).toBeNull();
  });

  it('EDK2 REQUEST', () => {
    const p = decodePacket(edk2Request('10.77.0.1', '10.77.0.100'));
    expect(getMessageType(p)).toBe(3);
    expect(getServerId(p)).toBe('10.77.0.1');
    expect(getRequestedIp(p)).toBe('10.77.0.100');
  });

  it('iPXE BIOS DISCOVER', () => {
    const p = decodePacket(ipxeBiosDiscover());
    expect(getClientArch(p)).toEqual([0]);
    expect(getClientNdi(p)).toEqual({ type: 1, major: 2, minor: 1 });
    expect(getUserClasses(p)).toEqual(['iPXE']);
    expect(hasUserClass(p, 'iPXE')).toBe(true);
    expect(getIpxeEncapsulated(p)).toEqual(Buffer.from(IPXE_ENCAP));
    expect(getClientId(p)?.toString('hex')).toBe('01' + IPXE_MAC.replaceAll(':', ''));
    expect(getClientUuid(p)).toBe('00000000-0000-0000-0000-000000000000');
    const sub = parseSubOptions(getIpxeEncapsulated(p) as Buffer);
    expect(sub.get(0xb1)).toEqual(Buffer.from([1, 0x1a, 0xf4, 0x10, 0x00]));
    expect(sub.get(0xeb)).toEqual(Buffer.from([1, 0, 0]));
    expect(sub.get(0x13)).toEqual(Buffer.from([1])); // HTTP
  });

  it('udhcpc DISCOVER', () => {
    const p = decodePacket(udhcpcDiscover());
    expect(getVendorClass(p)).toBe('udhcp 1.35.0');
    expect(getClientArch(p)).toEqual([]);
    expect(getMaxMessageSize(p)).toBe(576);
  });
});

describe('accessors on edge cases', () => {
  it('user class: RFC 3004 framing vs raw bytes', () => {
    expect(getUserClasses(withOptions(opt(77, 4, 'iPXE', 3, 'foo')))).toEqual(['iPXE', 'foo']);
    expect(getUserClasses(withOptions(opt(77, 'iPXE')))).toEqual(['iPXE']);
    // framing that does not cover the value exactly is read as raw text
    expect(getUserClasses(withOptions(opt(77, 9, 'abc')))).toEqual(['\tabc']);
    expect(getUserClasses(withOptions(opt(77, 'iPXE\0')))).toEqual(['iPXE']);
    expect(getUserClasses(withOptions(opt(77)))).toEqual([]);
  });

  it('client arch: list of uint16, empty when malformed', () => {
    expect(getClientArch(withOptions(opt(93, u16(7), u16(9))))).toEqual([7, 9]);
    expect(getClientArch(withOptions(opt(93, 7)))).toEqual([]);
    expect(getClientArch(withOptions(opt(93)))).toEqual([]);
  });

  it('typed values of the wrong length read as absent', () => {
    const p = withOptions(opt(50, 10, 0, 0), opt(54, ip('10.0.0.1'), 0), opt(51, 0, 0, 1), opt(57, 5), opt(97, 0, 1, 2), opt(94, 1, 2));
    expect(getRequestedIp(p)).toBeNull();
    expect(getServerId(p)).toBeNull();
    expect(getLeaseTime(p)).toBeNull();
    expect(getMaxMessageSize(p)).toBeNull();
    expect(getClientUuid(p)).toBeNull();
    expect(getClientNdi(p)).toBeNull();
    expect(getVendorClass(p)).toBeNull();
  });

  it('uuid needs type 0', () => {
    expect(getClientUuid(withOptions(opt(97, 1, new Array<number>(16).fill(1))))).toBeNull();
  });

  it('lease time and relay agent info', () => {
    const p = withOptions(opt(51, u32(86400)), opt(82, 1, 4, 'eth0', 2, 2, 0xab, 0xcd));
    expect(getLeaseTime(p)).toBe(86400);
    expect(getRelayAgentInfo(p)).toEqual(bytes(1, 4, 'eth0', 2, 2, 0xab, 0xcd));
  });

  it('parseSubOptions stops quietly at a bad length', () => {
    expect([...parseSubOptions(bytes(1, 1, 9, 2, 40, 1)).keys()]).toEqual([1]);
  });
});

describe('builders', () => {
  const wire = (e: readonly [number, Buffer]) => [e[0], ...e[1]];
  it('produce the RFC 2132 encodings', () => {
    expect(wire(subnetMaskOption(24))).toEqual([1, 255, 255, 255, 0]);
    expect(wire(subnetMaskOption(20))).toEqual([1, 255, 255, 240, 0]);
    expect(wire(routerOption('10.77.0.1'))).toEqual([3, 10, 77, 0, 1]);
    expect(wire(dnsOption(['10.77.0.1', '9.9.9.9']))).toEqual([6, 10, 77, 0, 1, 9, 9, 9, 9]);
    expect(wire(hostnameOption('blade1'))).toEqual([12, ...Buffer.from('blade1')]);
    expect(wire(domainNameOption('lab.test'))).toEqual([15, ...Buffer.from('lab.test')]);
    expect(wire(broadcastOption('10.77.0.255'))).toEqual([28, 10, 77, 0, 255]);
    expect(wire(leaseTimeOption(3600))).toEqual([51, 0, 0, 0x0e, 0x10]);
    expect(wire(renewalTimeOption(1800))).toEqual([58, 0, 0, 0x07, 0x08]);
    expect(wire(rebindingTimeOption(3150))).toEqual([59, 0, 0, 0x0c, 0x4e]);
    expect(wire(serverIdOption('10.77.0.1'))).toEqual([54, 10, 77, 0, 1]);
    expect(wire(vendorClassOption('PXEClient'))).toEqual([60, ...Buffer.from('PXEClient')]);
    expect(wire(vendorClassOption('HTTPClient'))).toEqual([60, ...Buffer.from('HTTPClient')]);
    expect(wire(tftpServerOption('10.77.0.1'))).toEqual([66, ...Buffer.from('10.77.0.1')]);
    expect(wire(bootFileOption('undionly.kpxe'))).toEqual([67, ...Buffer.from('undionly.kpxe')]);
    expect(wire(ipxeNoPxeDhcpOption())).toEqual([175, 0xb0, 0x01, 0x01]);
  });

  it('refuse bad input', () => {
    expect(() => routerOption('10.0.0')).toThrow(DhcpEncodeError);
    expect(() => dnsOption([])).toThrow(DhcpEncodeError);
    expect(() => leaseTimeOption(-1)).toThrow(DhcpEncodeError);
    expect(() => subnetMaskOption(33)).toThrow(DhcpEncodeError);
    expect(() => hostnameOption('')).toThrow(DhcpEncodeError);
  });
});
