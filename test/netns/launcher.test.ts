// bind-device.py inside a throwaway network namespace: the sockets it hands over are bound to
// 0.0.0.0:67/4011 with SO_BINDTODEVICE on the named interface, inherited across exec, and Node adopts
// them with dgram bind({ fd }). No DHCP server runs here; nothing is sent.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAUNCHER_EXIT, launcherPath } from '../../src/boot/launcher/index.js';
import { NetnsLab, netnsUnavailable } from '../support/netns.js';

const skip = netnsUnavailable(['python3']);
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/netns/launcher.test.ts skipped: ${skip}`);

let lab: NetnsLab;
let A: string, B: string, a: string;

d('bind-device.py in a network namespace', () => {
  beforeAll(() => {
    lab = new NetnsLab('launcher');
    A = lab.netns('A');
    B = lab.netns('B');
    [a] = lab.veth(A, 'a', B, 'b');
  });
  afterAll(async () => {
    await lab?.cleanup();
  }, 30_000);

  const CHECK = `
import os, socket
out = []
for pair in os.environ["TABULA_DHCP_FDS"].split(","):
    port, fd = pair.split(":")
    s = socket.socket(fileno=int(fd))
    dev = s.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).split(b"\\0")[0].decode()
    out.append("%s %s %s:%d bcast=%d reuse=%d rcvbuf4m=%d" % (port, dev, s.getsockname()[0], s.getsockname()[1],
        s.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST), s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
        s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 4 << 20))
    s.detach()
print(os.environ["TABULA_DHCP_INTERFACE"])
print("\\n".join(out))
`;

  it('binds 67 and 4011 to the interface and passes them across exec', async () => {
    const r = await lab.exec(A, 'python3', [launcherPath(), '--interface', a, '--port', '67', '--port', '4011', '--', 'python3', '-c', CHECK], 20_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // rcvbuf4m: a storm's burst of DISCOVERs fits in the receive buffer (4 MiB, past rmem_max as root)
    expect(r.stdout.trim().split('\n')).toEqual([a, `67 ${a} 0.0.0.0:67 bcast=1 reuse=1 rcvbuf4m=1`, `4011 ${a} 0.0.0.0:4011 bcast=1 reuse=1 rcvbuf4m=1`]);
  });

  it('Node adopts the descriptor with dgram bind({ fd })', async () => {
    const js = `
const dgram = require('node:dgram');
const [port, fd] = process.env.TABULA_DHCP_FDS.split(':').map(Number);
const s = dgram.createSocket('udp4');
s.bind({ fd }, () => { console.log(JSON.stringify({ port, address: s.address() })); s.close(); });`;
    const r = await lab.exec(A, 'python3', [launcherPath(), '--interface', a, '--port', '67', '--', process.execPath, '-e', js], 20_000);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ port: 67, address: { address: '0.0.0.0', port: 67, family: 'IPv4' } });
  });

  it('a port already bound on the interface is a clear error (exit 71) and runs nothing', async () => {
    const holder = lab.spawn(A, 'holder', 'python3', [
      '-c',
      `import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("0.0.0.0", 67))\nprint("bound", flush=True)\ntime.sleep(30)`,
    ]);
    try {
      const until = Date.now() + 10_000;
      while (!holder.stdout.includes('bound') && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      const r = await lab.exec(A, 'python3', [launcherPath(), '--interface', a, '--port', '67', '--', 'sh', '-c', 'echo ran'], 20_000);
      expect(r.code).toBe(LAUNCHER_EXIT.osError);
      expect(r.stderr).toBe(`tabula bind-device: UDP port 67 on ${a} is in use (another DHCP server?)\n`);
      expect(r.stdout).toBe('');
    } finally {
      await holder.stop('SIGKILL', 2000);
    }
  });

  it('a command that does not exist exits 127', async () => {
    const r = await lab.exec(A, 'python3', [launcherPath(), '--interface', a, '--port', '67', '--', path.join(lab.dir, 'nothing-here')], 20_000);
    expect(r.code).toBe(LAUNCHER_EXIT.commandNotFound);
    expect(r.stderr).toMatch(/cannot run .*nothing-here/);
  });
});
