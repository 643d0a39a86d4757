import { describe, expect, it } from 'vitest';
import { renderGenericIpxe, renderHostIpxe } from '../../src/templates/ipxe.js';

describe('iPXE scripts', () => {
  it('the generic script chains to the per-host script by the booting MAC, and retries', () => {
    const s = renderGenericIpxe({ publicUrl: 'http://10.77.0.1:8080', retrySeconds: 5 });
    expect(s.startsWith('#!ipxe\n')).toBe(true);
    expect(s).toContain('set tabula-server http://10.77.0.1:8080');
    expect(s).toContain('chain --autofree ${tabula-server}/boot/${netX/mac:hexhyp}/ipxe');
    expect(s).toContain('sleep 5');
  });
  it('the host script boots the kernel with BOOTIF, the server, the token and initrd= for UEFI', () => {
    const s = renderHostIpxe({
      publicUrl: 'http://10.77.0.1:8080',
      mac: '52-54-00-00-01-01',
      token: 'tok123',
      kernelArgs: 'console=ttyS0 panic=-1',
      host: { name: 'blade1', generation: 3 },
    });
    const kernel = s.split('\n').find((l) => l.startsWith('kernel ')) ?? '';
    expect(kernel).toContain('http://10.77.0.1:8080/boot/52-54-00-00-01-01/kernel initrd=initrd.img');
    expect(kernel).toContain('BOOTIF=01-${netX/mac:hexhyp}');
    expect(kernel).toContain('tabula.token=tok123');
    expect(kernel).toContain('console=ttyS0 panic=-1');
    expect(s).toContain('initrd --name initrd.img http://10.77.0.1:8080/boot/52-54-00-00-01-01/initrd');
    expect(s.trim().endsWith('boot')).toBe(true);
  });
  it('a missing variable is an error, not an empty string', () => {
    expect(() => renderGenericIpxe({ publicUrl: 'http://x' } as never)).toThrow(/retrySeconds/);
  });
});
