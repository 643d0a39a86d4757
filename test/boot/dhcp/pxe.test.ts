import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES, chooseBootFile, classifyClient } from '../../../src/boot/dhcp/pxe.js';
import type { BootClient, BootConfig } from '../../../src/boot/dhcp/pxe.js';
import { EDK2_UUID, IPXE_MAC, bytes, edk2Discover, header, ipxeBiosDiscover, opt, u16, udhcpcDiscover } from './fixtures.js';

const cfg: BootConfig = {
  httpScriptUrl: 'http://10.77.0.1:8080/ipxe/boot.ipxe',
  httpBootUrl: 'http://10.77.0.1:8080/efi/ipxe.efi',
  files: { ...DEFAULT_BOOT_FILES },
};

function client(arch: number | null, vendor: string | null, extra: Buffer[] = []): BootClient {
  const options = [opt(53, 1)];
  if (arch !== null) options.push(opt(93, u16(arch)));
  if (vendor !== null) options.push(opt(60, vendor));
  return classifyClient(decodePacket(bytes(header({ xid: 1, mac: '02:00:00:00:00:09' }), ...options, ...extra, 255)));
}

describe('classifyClient', () => {
  it('EDK2 UEFI PXE', () => {
    expect(classifyClient(decodePacket(edk2Discover()))).toEqual({
      firmware: 'uefi-x64',
      httpBoot: false,
      ipxe: false,
      arch: 7,
      uuid: EDK2_UUID,
      clientId: null,
      vendorClass: 'PXEClient:Arch:00007:UNDI:003000',
      pxe: true,
    });
  });

  it('iPXE BIOS ROM', () => {
    expect(classifyClient(decodePacket(ipxeBiosDiscover()))).toEqual({
      firmware: 'bios',
      httpBoot: false,
      ipxe: true,
      arch: 0,
      uuid: '00000000-0000-0000-0000-000000000000',
      clientId: '01' + IPXE_MAC.replaceAll(':', ''),
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      pxe: true,
    });
  });

  it('udhcpc is not a PXE client', () => {
    const c = classifyClient(decodePacket(udhcpcDiscover()));
    expect(c).toMatchObject({ firmware: 'unknown', pxe: false, ipxe: false, httpBoot: false, arch: null, vendorClass: 'udhcp 1.35.0' });
  });

  it('maps architectures', () => {
    expect(client(0, 'PXEClient').firmware).toBe('bios');
    expect(client(6, 'PXEClient').firmware).toBe('uefi-ia32');
    expect(client(7, 'PXEClient').firmware).toBe('uefi-x64');
    expect(client(9, 'PXEClient').firmware).toBe('uefi-x64');
    expect(client(10, 'PXEClient').firmware).toBe('arm32');
    expect(client(11, 'PXEClient').firmware).toBe('arm64');
    expect(client(2, 'PXEClient').firmware).toBe('unknown');
  });

  it('recognises UEFI HTTP boot by arch or by vendor class', () => {
    expect(client(16, 'HTTPClient:Arch:00016:UNDI:003000')).toMatchObject({ firmware: 'uefi-x64', httpBoot: true, pxe: true });
    expect(client(15, null)).toMatchObject({ firmware: 'uefi-ia32', httpBoot: true, pxe: false });
    expect(client(19, null)).toMatchObject({ firmware: 'arm64', httpBoot: true });
    expect(client(7, 'HTTPClient')).toMatchObject({ httpBoot: true });
    expect(client(7, 'PXEClient').httpBoot).toBe(false);
  });

  it('falls back to the arch in the vendor class, and to BIOS for old PXE ROMs', () => {
    expect(client(null, 'PXEClient:Arch:00011:UNDI:003000')).toMatchObject({ arch: 11, firmware: 'arm64' });
    expect(client(null, 'PXEClient')).toMatchObject({ arch: null, firmware: 'bios', pxe: true });
  });

  it('user class iPXE in RFC 3004 framing counts too', () => {
    expect(client(7, 'PXEClient', [opt(77, 4, 'iPXE')]).ipxe).toBe(true);
    expect(client(7, 'PXEClient', [opt(77, 'gPXE')]).ipxe).toBe(false);
  });
});

describe('chooseBootFile', () => {
  it('iPXE gets the HTTP script whatever its firmware (no chainload loop)', () => {
    expect(chooseBootFile(classifyClient(decodePacket(ipxeBiosDiscover())), cfg)).toEqual({ kind: 'http', file: cfg.httpScriptUrl });
    expect(chooseBootFile(client(7, 'PXEClient', [opt(77, 'iPXE')]), cfg)).toEqual({ kind: 'http', file: cfg.httpScriptUrl });
  });

  it('vendor PXE firmware gets a TFTP file by architecture', () => {
    expect(chooseBootFile(classifyClient(decodePacket(edk2Discover())), cfg)).toEqual({ kind: 'tftp', file: 'ipxe.efi' });
    expect(chooseBootFile(client(0, 'PXEClient:Arch:00000:UNDI:002001'), cfg)).toEqual({ kind: 'tftp', file: 'undionly.kpxe' });
    expect(chooseBootFile(client(6, 'PXEClient'), cfg)).toEqual({ kind: 'tftp', file: DEFAULT_BOOT_FILES.uefiIa32 });
    expect(chooseBootFile(client(9, 'PXEClient'), cfg)).toEqual({ kind: 'tftp', file: 'ipxe.efi' });
    expect(chooseBootFile(client(10, 'PXEClient'), cfg)).toEqual({ kind: 'tftp', file: DEFAULT_BOOT_FILES.arm32 });
    expect(chooseBootFile(client(11, 'PXEClient'), cfg)).toEqual({ kind: 'tftp', file: DEFAULT_BOOT_FILES.arm64 });
  });

  it('x86-64 UEFI file is configurable (snponly.efi)', () => {
    const c = { ...cfg, files: { ...cfg.files, uefiX64: 'snponly.efi' } };
    expect(chooseBootFile(client(7, 'PXEClient'), c)).toEqual({ kind: 'tftp', file: 'snponly.efi' });
  });

  it('UEFI HTTP boot gets the HTTP boot URL; a trailing slash appends the per-arch file', () => {
    expect(chooseBootFile(client(16, 'HTTPClient:Arch:00016:UNDI:003000'), cfg)).toEqual({ kind: 'http', file: cfg.httpBootUrl });
    const dir = { ...cfg, httpBootUrl: 'http://10.77.0.1:8080/efi/' };
    expect(chooseBootFile(client(19, 'HTTPClient'), dir)).toEqual({ kind: 'http', file: `http://10.77.0.1:8080/efi/${DEFAULT_BOOT_FILES.arm64}` });
  });

  it('plain DHCP clients and unknown architectures get nothing', () => {
    expect(chooseBootFile(classifyClient(decodePacket(udhcpcDiscover())), cfg)).toBeNull();
    expect(chooseBootFile(client(2, 'PXEClient'), cfg)).toBeNull();
  });

  it('overrides replace files and URLs', () => {
    const c = { ...cfg, override: { bios: 'custom.kpxe', httpScriptUrl: 'http://h/host.ipxe' } };
    expect(chooseBootFile(client(0, 'PXEClient'), c)).toEqual({ kind: 'tftp', file: 'custom.kpxe' });
    expect(chooseBootFile(client(0, 'PXEClient', [opt(77, 'iPXE')]), c)).toEqual({ kind: 'http', file: 'http://h/host.ipxe' });
    expect(chooseBootFile(client(7, 'PXEClient'), c)).toEqual({ kind: 'tftp', file: 'ipxe.efi' });
  });
});
