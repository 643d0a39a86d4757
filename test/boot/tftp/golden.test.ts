// Golden TFTP requests: the first read requests of real firmware, captured with tcpdump by
// test/boot/dhcp/captures/capture.sh (captures/*.hex: iPXE under SeaBIOS and OVMF, EDK2's own UEFI
// PXE). Each is sent as is to the server on 127.0.0.1; the OACK and the DATA that follow are checked
// byte by byte against RFC 1350, 2347 (OACK layout), 2348 (blksize), 2349 (tsize) and 7440 (windowsize).
import { createHash } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TftpServer, startTftpServer } from '../../../src/boot/tftp/server.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'captures');
const SIZE = 100_000;
// Deterministic content, so a wrong offset cannot match by accident.
const FILE = createHash('sha512').update('seed').digest();
const CONTENT = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) CONTENT[i] = ((FILE[i % 64] as number) + Math.floor(i / 64)) & 255;

function load(name: string): { wire: Buffer; notes: string[] } {
  const lines = readFileSync(path.join(DIR, `${name}.hex`), 'utf8').split('\n');
  return {
    notes: lines.filter((l) => l.startsWith('#')).map((l) => l.slice(1).trim()),
    wire: Buffer.from(lines.filter((l) => !l.startsWith('#')).join('').trim(), 'hex'),
  };
}

/** name\0value\0 pairs after a 2-byte opcode; asserts the layout leaves no stray byte. */
function pairs(wire: Buffer, from: number): Array<[string, string]> {
  const parts = wire.subarray(from).toString('latin1').split('\0');
  expect(parts.pop(), 'ends with NUL').toBe('');
  const out: Array<[string, string]> = [];
  for (let i = 0; i < parts.length; i += 2) out.push([parts[i] as string, parts[i + 1] as string]);
  return out;
}

let root: string;
let server: TftpServer;
let port = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'tabula-tftp-golden-'));
  writeFileSync(path.join(root, 'boot.file'), CONTENT);
  server = await startTftpServer({ root, address: '127.0.0.1', port: 0, defaultTimeoutMs: 2000 });
  port = server.address().port;
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

interface Client {
  send(b: Buffer, to: number): void;
  next(): Promise<{ msg: Buffer; port: number }>;
}

async function client(): Promise<Client> {
  const sock = createSocket('udp4');
  sockets.push(sock);
  const queue: Array<{ msg: Buffer; port: number }> = [];
  const waiters: Array<(m: { msg: Buffer; port: number }) => void> = [];
  sock.on('message', (msg, r) => {
    const m = { msg, port: r.port };
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    send: (b, to) => sock.send(b, to, '127.0.0.1'),
    next: () =>
      new Promise((resolve, reject) => {
        const q = queue.shift();
        if (q) return resolve(q);
        const t = setTimeout(() => reject(new Error('no TFTP reply within 3 s')), 3000);
        waiters.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      }),
  };
}

const ack = (block: number): Buffer => Buffer.from([0, 4, (block >> 8) & 255, block & 255]);

const CASES = [
  { name: 'ipxe-bios-rrq', oack: [['blksize', '1432'], ['tsize', String(SIZE)]], blksize: 1432, window: 1 },
  { name: 'ipxe-uefi-rrq', oack: [['blksize', '1432'], ['tsize', String(SIZE)]], blksize: 1432, window: 1 },
  // EDK2 asks for blksize 1468 and windowsize 4 (RFC 7440) as well as tsize
  { name: 'edk2-uefi-rrq', oack: [['blksize', '1468'], ['tsize', String(SIZE)], ['windowsize', '4']], blksize: 1468, window: 4 },
] as const;

describe('real firmware read requests', () => {
  it.each(CASES)('$name decodes as an octet RRQ for boot.file with options', ({ name }) => {
    const { wire, notes } = load(name);
    expect(notes.join('\n')).toMatch(/made by test\/boot\/dhcp\/captures\/capture\.sh at \d{4}-/);
    expect(notes.at(-1)).toMatch(/TFTP RRQ from 10\.77\.0\.\d+:\d+ to 10\.77\.0\.1:69/);
    expect(wire.subarray(0, 2)).toEqual(Buffer.from([0, 1]));
    const [file, mode, ...rest] = wire.subarray(2).toString('latin1').split('\0');
    expect([file, mode]).toEqual(['boot.file', 'octet']);
    expect(rest.length).toBeGreaterThanOrEqual(4);
  });

  it.each(CASES)('$name -> OACK from a new port, then the whole file in DATA blocks, byte by byte', async ({ name, oack, blksize, window }) => {
    const c = await client();
    c.send(load(name).wire, port);
    const first = await c.next();
    // RFC 1350: the transfer runs from a fresh port (TID), never from 69 (here: the listening port)
    expect(first.port).not.toBe(port);
    const tid = first.port;
    expect(first.msg.subarray(0, 2)).toEqual(Buffer.from([0, 6]));
    // RFC 2347: only acknowledged options; blksize as asked (within the server's 1468), tsize = real size
    expect(new Map(pairs(first.msg, 2))).toEqual(new Map(oack));

    // RFC 2347: the client's ACK 0 starts the transfer; RFC 7440: `window` blocks per ACK
    const got: Buffer[] = [];
    let block = 0;
    c.send(ack(0), tid);
    for (;;) {
      let last: Buffer | undefined;
      for (let i = 0; i < window; i++) {
        const d = await c.next();
        expect(d.port).toBe(tid);
        expect(d.msg.readUInt16BE(0)).toBe(3);
        expect(d.msg.readUInt16BE(2)).toBe(block + 1);
        const payload = d.msg.subarray(4);
        expect(payload.equals(CONTENT.subarray(block * blksize, (block + 1) * blksize))).toBe(true);
        got.push(payload);
        block++;
        last = payload;
        if (payload.length < blksize) break;
      }
      c.send(ack(block), tid);
      if ((last as Buffer).length < blksize) break;
    }
    expect(block).toBe(Math.floor(SIZE / blksize) + 1);
    expect(Buffer.concat(got).equals(CONTENT)).toBe(true);
  });

  it("EDK2's tsize probe: OACK, then its ERROR 8 ends the transfer without DATA", async () => {
    const before = server.stats().aborted;
    const c = await client();
    c.send(load('edk2-uefi-rrq').wire, port);
    const oack = await c.next();
    expect(oack.msg.readUInt16BE(0)).toBe(6);
    c.send(Buffer.concat([Buffer.from([0, 5, 0, 8]), Buffer.from('User aborted the transfer\0', 'latin1')]), oack.port);
    const until = Date.now() + 3000;
    while (server.stats().aborted === before && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(server.stats().aborted).toBe(before + 1);
    await expect(c.next()).rejects.toThrow(/no TFTP reply/);
  });
});
