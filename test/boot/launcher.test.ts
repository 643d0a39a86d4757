// The DHCP socket launcher, the parts that bind nothing: the environment contract, the missing-python
// error, and bind-device.py's refusals (usage, unknown interface), which come before any socket.
// The binding itself is tested inside a network namespace (test/netns/launcher.test.ts).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_EXIT, inheritedSockets, launcherPath, privilegeProblem, relaunchWithDeviceSockets } from '../../src/boot/launcher/index.js';
import { TabulaError } from '../../src/domain/errors.js';
import { commandPath } from '../support/netns.js';

describe('inheritedSockets', () => {
  it('reads PORT:FD pairs and the interface', () => {
    expect(inheritedSockets({})).toBeNull();
    expect(inheritedSockets({ TABULA_DHCP_FDS: '' })).toBeNull();
    const s = inheritedSockets({ TABULA_DHCP_FDS: '67:3,4011:4', TABULA_DHCP_INTERFACE: 'br0' });
    expect(s?.interface).toBe('br0');
    expect([...(s?.fds ?? [])]).toEqual([
      [67, 3],
      [4011, 4],
    ]);
  });

  it('refuses malformed values rather than serving on a wrong descriptor', () => {
    for (const bad of ['67', '67:x', '67:1', '0:5', '70000:5', '67:3;4011:4']) {
      expect(() => inheritedSockets({ TABULA_DHCP_FDS: bad, TABULA_DHCP_INTERFACE: 'br0' }), bad).toThrow(TabulaError);
    }
    expect(() => inheritedSockets({ TABULA_DHCP_FDS: '67:3' })).toThrow(/TABULA_DHCP_INTERFACE is not/);
  });
});

describe('relaunchWithDeviceSockets', () => {
  it('names the missing python3', async () => {
    const err = await relaunchWithDeviceSockets({ interface: 'eth9', ports: [67], command: ['true'], env: process.env, python: 'tbl-no-such-python3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TabulaError);
    expect((err as TabulaError).code).toBe('PYTHON_MISSING');
    expect((err as Error).message).toMatch(/--dhcp-interface needs 'tbl-no-such-python3' .* to bind the DHCP socket to eth9/);
  });

  it.skipIf(process.getuid?.() !== 0)('as root, privileges are no problem', () => {
    expect(privilegeProblem()).toBeNull();
  });
});

const python = commandPath('python3');
describe.skipIf(!python)('bind-device.py refusals (before any socket)', () => {
  const launch = (...args: string[]) => spawnSync(python as string, [launcherPath(), ...args], { encoding: 'utf8', timeout: 10_000 });

  it('usage errors exit 64', () => {
    for (const args of [[], ['--interface', 'lo', '--port', '67'], ['--interface', 'lo', '--port', 'x', '--', 'true'], ['--bogus'], ['--port', '67', '--', 'true']]) {
      const r = launch(...args);
      expect(r.status, args.join(' ')).toBe(LAUNCHER_EXIT.usage);
      expect(r.stderr).toMatch(/^tabula bind-device: /);
    }
  });

  it('an unknown interface exits 69 and runs nothing', () => {
    const r = launch('--interface', 'tblnosuch9', '--port', '67', '--', 'sh', '-c', 'echo ran');
    expect(r.status).toBe(LAUNCHER_EXIT.noInterface);
    expect(r.stderr).toBe("tabula bind-device: no network interface 'tblnosuch9'\n");
    expect(r.stdout).toBe('');
  });
});
