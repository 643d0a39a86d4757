// tabula boot-files show|set: the CLI face of the per-cluster and per-host boot file overrides.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, mac } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox();
  await sb.ok(['cluster', 'create', 'rack1']);
  await sb.ok(['host', 'create', 'blade1', '--cluster', 'rack1', '--boot-mac', mac(1)]);
});
afterEach(() => sb.cleanup());

describe('tabula boot-files', () => {
  it('sets a cluster entry, overrides it on one host, and removes it again', async () => {
    const c = await sb.okJson<{ cluster: string; files: Record<string, string> }>(['boot-files', 'set', '--cluster', 'rack1', 'uefiX64=snponly.efi', 'bios=undionly.kpxe']);
    expect(c).toEqual({ cluster: 'rack1', files: { uefiX64: 'snponly.efi', bios: 'undionly.kpxe' } });
    const h = await sb.okJson<{ files: Record<string, string>; effective: Record<string, string> }>(['boot-files', 'set', '--host', 'blade1', 'uefiX64=ipxe.efi']);
    expect(h.files).toEqual({ uefiX64: 'ipxe.efi' });
    expect(h.effective).toEqual({ uefiX64: 'ipxe.efi', bios: 'undionly.kpxe' });
    const human = await sb.ok(['boot-files', 'show', '--host', 'blade1']);
    expect(human).toMatch(/uefiX64\s+ipxe\.efi\s+ipxe\.efi/);
    expect(human).toMatch(/bios\s+-\s+undionly\.kpxe/);
    const after = await sb.okJson<{ files: Record<string, string>; effective: Record<string, string> }>(['boot-files', 'set', '--host', 'blade1', '--unset', 'uefiX64']);
    expect(after.files).toEqual({});
    expect(after.effective.uefiX64).toBe('snponly.efi');
  });

  it('refuses bad keys and values with their codes and changes nothing', async () => {
    const bad = await sb.run(['--json', 'boot-files', 'set', '--cluster', 'rack1', 'uefiX64=../etc/passwd']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('BOOT_FILE_INVALID');
    const unknown = await sb.run(['--json', 'boot-files', 'set', '--cluster', 'rack1', 'floppy=a.img']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('BOOT_FILE_KEY_UNKNOWN');
    expect(await sb.okJson(['boot-files', 'show', '--cluster', 'rack1'])).toEqual({ cluster: 'rack1', files: {} });
  });

  it('usage errors: no owner, both owners, nothing to change, not KEY=VALUE', async () => {
    for (const argv of [
      ['boot-files', 'show'],
      ['boot-files', 'show', '--host', 'blade1', '--cluster', 'rack1'],
      ['boot-files', 'set', '--host', 'blade1'],
      ['boot-files', 'set', '--host', 'blade1', 'uefiX64'],
      ['boot-files', 'set', '--host', 'blade1', 'bios=a.kpxe', '--unset', 'bios'],
    ]) {
      const r = await sb.run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
    }
  });
});
