// Real TFTP clients (curl tftp:// and atftp) against `tabula serve --tftp-root`, over a veth between
// two network namespaces this file creates and removes: 1 MiB and 30 MiB files with and without
// blksize, bytes compared by SHA-256; path escapes refused.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabProcess, NetnsLab, buildCli, netnsUnavailable } from '../support/netns.js';

const skip = netnsUnavailable(['curl', 'atftp']);
const d = skip ? describe.skip : describe;
if (skip) console.warn(`test/netns/tftp.test.ts skipped: ${skip}`);

const SERVER = '10.77.0.1';
const CLIENT = '10.77.0.2';

let lab: NetnsLab;
let S: string, C: string;
let cIface: string;
let root: string;
let out: string;
let server: LabProcess;
const sums = new Map<string, string>();

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Deterministic-size random file, written in 1 MiB chunks. */
function makeFile(name: string, mib: number): void {
  const file = path.join(root, name);
  const h = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let i = 0; i < mib; i++) {
    const b = randomBytes(1 << 20);
    h.update(b);
    chunks.push(b);
  }
  writeFileSync(file, Buffer.concat(chunks));
  sums.set(name, h.digest('hex'));
}

d('TFTP in network namespaces', () => {
  beforeAll(async () => {
    lab = new NetnsLab('tftp');
    const main = await buildCli();
    root = path.join(lab.dir, 'root');
    out = path.join(lab.dir, 'out');
    mkdirSync(root);
    mkdirSync(out);
    makeFile('one.bin', 1);
    makeFile('thirty.bin', 30);
    mkdirSync(path.join(root, 'efi'));
    writeFileSync(path.join(root, 'efi', 'ipxe.efi'), 'nested file\n');
    writeFileSync(path.join(lab.dir, 'secret.txt'), 'outside the TFTP root\n');
    symlinkSync(path.join(lab.dir, 'secret.txt'), path.join(root, 'link-out'));

    S = lab.netns('S');
    C = lab.netns('C');
    const [s, c] = lab.veth(S, 's', C, 'c');
    cIface = c;
    lab.addr(S, s, `${SERVER}/24`);
    lab.addr(C, c, `${CLIENT}/24`);
    server = lab.tabula(S, main, 'serve-tftp', ['--db', path.join(lab.dir, 'tabula.db'), 'serve', '--listen', `${SERVER}:8080`, '--tftp-listen', `${SERVER}:69`, '--tftp-root', root]);
    await server.waitForLog('TFTP listening', (l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('TFTP listening'));
  }, 240_000);

  afterAll(async () => {
    if (server) expect((await server.stop('SIGTERM', 8000)).code).toBe(0);
    await lab?.cleanup();
  }, 60_000);

  type Client = 'curl' | 'atftp';
  const fetchers: Record<Client, (file: string, dest: string, blksize: number | null) => string[]> = {
    // curl sends no options with --tftp-no-options (plain RFC 1350, 512-byte blocks)
    curl: (file, dest, blksize) => ['curl', '-sS', '--max-time', '120', ...(blksize ? ['--tftp-blksize', String(blksize)] : ['--tftp-no-options']), '-o', dest, `tftp://${SERVER}/${file}`],
    atftp: (file, dest, blksize) => ['atftp', ...(blksize ? ['--option', `blksize ${blksize}`] : []), '--get', '-r', file, '-l', dest, SERVER],
  };

  async function get(client: Client, file: string, blksize: number | null): Promise<{ code: number | null; dest: string; output: string }> {
    const dest = path.join(out, `${client}-${blksize ?? 'plain'}-${file.replace(/[^a-z0-9.]/gi, '_')}`);
    rmSync(dest, { force: true });
    const [cmd, ...args] = fetchers[client](file, dest, blksize);
    const r = await lab.exec(C, cmd as string, args, 150_000);
    return { code: r.code, dest, output: r.stdout + r.stderr };
  }

  for (const client of ['curl', 'atftp'] as const) {
    for (const blksize of [null, 1468] as const) {
      for (const file of ['one.bin', 'thirty.bin']) {
        it(`${client} fetches ${file} ${blksize ? `with blksize ${blksize}` : 'without options'}, bytes identical`, async () => {
          const r = await get(client, file, blksize);
          expect(r.code, r.output).toBe(0);
          expect(await sha256File(r.dest)).toBe(sums.get(file));
          rmSync(r.dest, { force: true });
        }, 160_000);
      }
    }
  }

  it('a file in a subdirectory is served', async () => {
    const r = await get('curl', 'efi/ipxe.efi', 1468);
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(r.dest, 'utf8')).toBe('nested file\n');
  }, 30_000);

  const escapes: Array<[Client, string]> = [
    ['curl', '../secret.txt'],
    ['curl', 'efi/../../secret.txt'],
    ['curl', 'link-out'],
    ['atftp', '../secret.txt'],
    ['atftp', 'link-out'],
    ['atftp', '/../secret.txt'],
  ];
  for (const [client, name] of escapes) {
    it(`${client} cannot leave the root with '${name}'`, async () => {
      const dest = path.join(out, `escape-${client}-${name.replace(/[^a-z0-9.]/gi, '_')}`);
      rmSync(dest, { force: true });
      const [cmd, ...args] =
        client === 'curl' ? ['curl', '-sS', '--max-time', '20', '--path-as-is', '-o', dest, `tftp://${SERVER}/${name}`] : ['atftp', '--get', '-r', name, '-l', dest, SERVER];
      const r = await lab.exec(C, cmd as string, args, 30_000);
      expect(r.code, r.stdout + r.stderr).not.toBe(0);
      // curl: exit 69 is CURLE_TFTP_PERM, the server's ERROR 2 (access violation); atftp prints the ERROR
      if (client === 'curl') expect(r.code).toBe(69);
      else expect(r.stdout + r.stderr).toMatch(/access violation|'\.\.' in file name|leaves the TFTP root/i);
      const got = existsSync(dest) ? readFileSync(dest, 'utf8') : '';
      expect(got).not.toContain('outside the TFTP root');
    }, 40_000);
  }

  it('an absolute path is relative to the root: /etc/passwd is not the host file', async () => {
    const dest = path.join(out, 'passwd');
    const r = await lab.exec(C, 'curl', ['-sS', '--max-time', '20', '-o', dest, `tftp://${SERVER}//etc/passwd`], 30_000);
    expect(r.code).not.toBe(0);
    expect(existsSync(dest) ? readFileSync(dest, 'utf8') : '').not.toContain('root:');
  }, 40_000);

  it('boot.ipxe over TFTP is generated for the client: its own per-host script, found by its MAC', async () => {
    const clientMac = (await lab.exec(C, 'cat', [`/sys/class/net/${cIface}/address`], 5_000)).stdout.trim();
    expect(clientMac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const dest = path.join(out, 'boot.ipxe');
    const r = await lab.exec(C, 'curl', ['-sS', '--max-time', '20', '--tftp-blksize', '1468', '-o', dest, `tftp://${SERVER}/boot.ipxe`], 30_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const script = readFileSync(dest, 'utf8');
    expect(script.startsWith('#!ipxe')).toBe(true);
    expect(script).toContain(`http://${SERVER}:8080/boot/${clientMac.replace(/:/g, '-')}/kernel`);
    // a boot started: the script carries a fresh boot token, and a second fetch gets another one
    const token = /tabula\.token=(\S+)/.exec(script)?.[1];
    expect(token).toBeTruthy();
    const again = await lab.exec(C, 'curl', ['-sS', '--max-time', '20', '-o', '-', `tftp://${SERVER}/boot.ipxe`], 30_000);
    expect(/tabula\.token=(\S+)/.exec(again.stdout)?.[1]).not.toBe(token);
  }, 60_000);

  it('counts transfers and bytes in /metrics', async () => {
    const r = await lab.exec(C, 'curl', ['-s', '--max-time', '5', `http://${SERVER}:8080/metrics`], 10_000);
    expect(r.code).toBe(0);
    const complete = Number(/^tabula_tftp_transfers_total\{outcome="complete"\} (\d+)$/m.exec(r.stdout)?.[1]);
    const refused = Number(/^tabula_tftp_transfers_total\{outcome="refused"\} (\d+)$/m.exec(r.stdout)?.[1]);
    const bytes = Number(/^tabula_tftp_bytes_total (\d+)$/m.exec(r.stdout)?.[1]);
    expect(complete).toBeGreaterThanOrEqual(9);
    expect(refused).toBeGreaterThanOrEqual(7);
    expect(bytes).toBeGreaterThanOrEqual(4 * 31 * (1 << 20));
  }, 20_000);
});
