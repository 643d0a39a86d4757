// The TFTP provider that generates boot.ipxe per client (src/boot/tftp/generated.ts).
import { describe, expect, it } from 'vitest';
import { TFTP_BOOT_SCRIPT, bootScriptProvider } from '../../../src/boot/tftp/generated.js';

const client = { address: '10.77.0.9', port: 2000 };

function provider(macFor: (ip: string) => string | null, fail = false) {
  const calls: string[] = [];
  const errors: unknown[] = [];
  const p = bootScriptProvider({
    scripts: {
      genericScript: () => '#!ipxe\n# generic\n',
      hostScript: (mac, via) => {
        if (fail) throw new Error('template broke');
        calls.push(`${mac} ${via}`);
        return `#!ipxe\n# host ${mac}\n`;
      },
    },
    macFor,
    onError: (e) => errors.push(e),
  });
  return { p, calls, errors };
}

async function text(file: { size: number; read(o: number, l: number): Promise<Buffer> } | null): Promise<string> {
  if (!file) throw new Error('no file');
  return (await file.read(0, file.size)).toString('utf8');
}

describe('bootScriptProvider', () => {
  it('a known client gets its own per-host script (a boot over TFTP), read in any slices', async () => {
    const { p, calls } = provider((ip) => (ip === client.address ? '52:54:00:00:00:09' : null));
    const f = await p.open(TFTP_BOOT_SCRIPT, client);
    expect(await text(f)).toBe('#!ipxe\n# host 52:54:00:00:00:09\n');
    expect(calls).toEqual(['52:54:00:00:00:09 tftp']);
    expect((await f?.read(7, 6))?.toString()).toBe('# host');
  });

  it('an unknown client gets the generic script; other names fall through to the root', async () => {
    const { p, calls } = provider(() => null);
    expect(await text(await p.open(TFTP_BOOT_SCRIPT, client))).toBe('#!ipxe\n# generic\n');
    expect(calls).toEqual([]);
    expect(await p.open('undionly.kpxe', client)).toBeNull();
    expect(await p.open('efi/boot.ipxe', client)).toBeNull();
  });

  it('a render failure is reported and falls through instead of crashing the server', async () => {
    const { p, errors } = provider(() => '52:54:00:00:00:09', true);
    expect(await p.open(TFTP_BOOT_SCRIPT, client)).toBeNull();
    expect(errors).toHaveLength(1);
  });
});
