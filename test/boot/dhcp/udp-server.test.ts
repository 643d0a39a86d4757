// The socket wrapper on loopback. Safety: the server binds 127.0.0.1 on a random port, broadcasts are
// suppressed (allowBroadcast: false), and every reply that is sent is a unicast to 127.0.0.1: the
// requests come "through a relay" (giaddr 127.0.0.1) or from a configured client (ciaddr 127.0.0.1),
// with reply ports 67/68 rewritten to the test socket's port.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodePacket } from '../../../src/boot/dhcp/packet.js';
import type { DhcpPacket } from '../../../src/boot/dhcp/packet.js';
import { DEFAULT_BOOT_FILES } from '../../../src/boot/dhcp/pxe.js';
import { DhcpResponder } from '../../../src/boot/dhcp/server-logic.js';
import { startDhcpServer } from '../../../src/boot/dhcp/udp-server.js';
import type { DhcpServer, DhcpServerLogger } from '../../../src/boot/dhcp/udp-server.js';
import { edk2Discover, ipxeBiosDiscover, udhcpcDiscover, udhcpcMessage } from './fixtures.js';

const LOOP = '127.0.0.1';

function responder(): DhcpResponder {
  return new DhcpResponder({
    mode: 'full',
    serverIp: LOOP,
    subnets: [{ network: '127.0.0.0', prefix: 8, range: ['127.0.0.100', '127.0.0.199'], leaseSeconds: 600 }],
    bootConfig: { httpScriptUrl: 'http://127.0.0.1:8080/ipxe/boot.ipxe', httpBootUrl: 'http://127.0.0.1:8080/efi/', files: { ...DEFAULT_BOOT_FILES } },
  });
}

interface Client {
  port: number;
  send(buf: Buffer, port: number): Promise<void>;
  next(timeoutMs?: number): Promise<DhcpPacket>;
  quiet(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

async function client(bindAddress = LOOP): Promise<Client> {
  const sock = dgram.createSocket('udp4');
  const queue: Buffer[] = [];
  const waiters: Array<(b: Buffer) => void> = [];
  sock.on('message', (msg) => {
    const w = waiters.shift();
    if (w) w(msg);
    else queue.push(msg);
  });
  await new Promise<void>((resolve) => sock.bind({ port: 0, address: bindAddress }, resolve));
  const port = sock.address().port;
  return {
    port,
    send: (buf, to) => new Promise<void>((resolve, reject) => sock.send(buf, to, LOOP, (err) => (err ? reject(err) : resolve()))),
    next: (timeoutMs = 2000) =>
      new Promise<DhcpPacket>((resolve, reject) => {
        const queued = queue.shift();
        if (queued) return resolve(decodePacket(queued));
        const timer = setTimeout(() => reject(new Error('no reply')), timeoutMs);
        waiters.push((b) => {
          clearTimeout(timer);
          resolve(decodePacket(b));
        });
      }),
    quiet: (ms) => new Promise<boolean>((resolve) => setTimeout(() => resolve(queue.length === 0), ms)),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)();
});

async function setup(clientAddress = LOOP): Promise<{ server: DhcpServer; c: Client; logs: string[] }> {
  const c = await client(clientAddress);
  cleanups.push(() => c.close());
  const logs: string[] = [];
  const logger: DhcpServerLogger = {
    debug: (_o, m) => logs.push(`debug ${m ?? ''}`),
    info: (_o, m) => logs.push(`info ${m ?? ''}`),
    warn: (_o, m) => logs.push(`warn ${m ?? ''}`),
    error: (_o, m) => logs.push(`error ${m ?? ''}`),
  };
  const server = await startDhcpServer({
    responder: responder(),
    address: LOOP,
    port: 0,
    allowBroadcast: false,
    destinationPorts: { client: c.port, relay: c.port },
    logger,
  });
  cleanups.push(() => server.close());
  return { server, c, logs };
}

describe('startDhcpServer on 127.0.0.1', () => {
  it('refuses to start without an explicit binding', async () => {
    await expect(startDhcpServer({ responder: responder() })).rejects.toThrow(/address and port, or fd/);
    await expect(startDhcpServer({ responder: responder(), port: 6767 })).rejects.toThrow(/address and port, or fd/);
  });

  it('answers a relayed DISCOVER by unicast and survives empty and garbage datagrams', async () => {
    const { server, c, logs } = await setup();
    const port = server.address().port;
    expect(server.address().address).toBe(LOOP);

    await c.send(edk2Discover({ giaddr: LOOP }), port);
    const offer = await c.next();
    expect(offer.op).toBe(2);
    expect(offer.options.get(53)).toEqual(Buffer.from([2]));
    expect(offer.yiaddr).toBe('127.0.0.100');
    expect(offer.giaddr).toBe(LOOP);
    expect(offer.file).toBe('ipxe.efi');

    await c.send(Buffer.alloc(0), port);
    await c.send(Buffer.from('GET / HTTP/1.0\r\n\r\n'), port);
    const garbage = Buffer.alloc(400);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 255;
    await c.send(garbage, port);
    const badLength = Buffer.from(udhcpcDiscover({ giaddr: LOOP }));
    badLength[241] = 250; // option 53 claims 250 bytes
    await c.send(badLength, port);

    await c.send(ipxeBiosDiscover({ giaddr: LOOP }), port);
    const second = await c.next();
    expect(second.options.get(67)?.toString()).toBe('http://127.0.0.1:8080/ipxe/boot.ipxe');
    expect(second.yiaddr).toBe('127.0.0.101');

    expect(server.stats.received).toBe(6);
    expect(server.stats.decodeErrors).toBe(4);
    expect(server.stats.decodeErrorsByReason).toEqual({ 'too-short': 2, 'bad-op': 1, 'option-overrun': 1 });
    expect(server.stats.handlerErrors).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(server.stats.sent).toBe(2);
    expect(logs.filter((l) => l.startsWith('info dhcp offer'))).toHaveLength(2);
  });

  it('answers a renewing client at ciaddr:68 (rewritten to the test port)', async () => {
    // the client socket sits on 127.0.0.150 (loopback) so that the unicast to ciaddr reaches it
    const { server, c } = await setup('127.0.0.150');
    await c.send(udhcpcMessage(3, { ciaddr: '127.0.0.150' }), server.address().port);
    const ack = await c.next();
    expect(ack.options.get(53)).toEqual(Buffer.from([5]));
    expect(ack.ciaddr).toBe('127.0.0.150');
  });

  it('never broadcasts when told not to: the reply is counted and dropped', async () => {
    const { server, c } = await setup();
    await c.send(udhcpcDiscover(), server.address().port); // no giaddr, no ciaddr -> 255.255.255.255
    expect(await c.quiet(150)).toBe(true);
    expect(server.stats.suppressedBroadcasts).toBe(1);
    expect(server.stats.sent).toBe(0);
  });

  it('counts a handler exception instead of crashing', async () => {
    const c = await client();
    cleanups.push(() => c.close());
    const server = await startDhcpServer({
      responder: {
        handle: () => {
          throw new Error('boom');
        },
      },
      address: LOOP,
      port: 0,
      allowBroadcast: false,
    });
    cleanups.push(() => server.close());
    await c.send(edk2Discover({ giaddr: LOOP }), server.address().port);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.stats.handlerErrors).toBe(1);
  });

  describe('group commit (unitOfWork)', () => {
    // A unit of work that behaves like SQLite transactions and savepoints over an in-memory journal.
    function journalUnit(): { unit: <T>(work: () => T) => T; journal: string[]; outer: number; depth: () => number } {
      const state = { journal: [] as string[], outer: 0, depth: 0 };
      const unit = <T>(work: () => T): T => {
        if (state.depth === 0) state.outer++;
        const mark = state.journal.length;
        state.depth++;
        try {
          return work();
        } catch (err) {
          state.journal.length = mark; // roll back this unit only
          throw err;
        } finally {
          state.depth--;
        }
      };
      return { unit, get journal() { return state.journal; }, get outer() { return state.outer; }, depth: () => state.depth };
    }

    async function start(handle: (p: DhcpPacket) => void, unit: <T>(work: () => T) => T, c: Client): Promise<DhcpServer> {
      const inner = responder();
      const server = await startDhcpServer({
        responder: { handle: (p, meta) => { handle(p); return inner.handle(p, meta); } },
        address: LOOP,
        port: 0,
        allowBroadcast: false,
        destinationPorts: { client: c.port, relay: c.port },
        unitOfWork: unit,
      });
      cleanups.push(() => server.close());
      return server;
    }

    const macOf = (i: number): string => `52:54:00:aa:00:${i.toString(16).padStart(2, '0')}`;

    it('handles a burst of datagrams in fewer units than packets, inside the unit, and answers every one', async () => {
      const c = await client();
      cleanups.push(() => c.close());
      const u = journalUnit();
      const depths: number[] = [];
      const server = await start((p) => { depths.push(u.depth()); u.journal.push(p.chaddr); }, u.unit, c);
      const port = server.address().port;
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.send(edk2Discover({ giaddr: LOOP, mac: macOf(i), xid: 1000 + i }), port)));
      const offers = await Promise.all(Array.from({ length: 20 }, () => c.next()));
      expect(new Set(offers.map((o) => o.chaddr)).size).toBe(20);
      expect(u.journal).toHaveLength(20);
      // Each packet ran in its own unit nested in the burst's unit.
      expect(depths.every((d) => d === 2)).toBe(true);
      expect(u.outer).toBeLessThan(20);
      expect(server.stats.batches).toBe(u.outer);
    });

    it('sends nothing for a burst whose unit fails as a whole (no ACK without a stored lease)', async () => {
      const c = await client();
      cleanups.push(() => c.close());
      let depth = 0;
      const failingCommit = <T>(work: () => T): T => {
        depth++;
        try {
          const r = work();
          if (depth === 1) throw new Error('disk I/O error');
          return r;
        } finally {
          depth--;
        }
      };
      const server = await start(() => {}, failingCommit, c);
      await c.send(edk2Discover({ giaddr: LOOP }), server.address().port);
      expect(await c.quiet(200)).toBe(true);
      expect(server.stats.batchErrors).toBe(1);
      expect(server.stats.sent).toBe(0);
    });

    it('rolls back only the packet whose handler threw; the others of the burst are kept and answered', async () => {
      const c = await client();
      cleanups.push(() => c.close());
      const u = journalUnit();
      const bad = macOf(2);
      const server = await start((p) => {
        u.journal.push(p.chaddr);
        if (p.chaddr === bad) throw new Error('half-way failure');
      }, u.unit, c);
      const port = server.address().port;
      await Promise.all([1, 2, 3].map((i) => c.send(edk2Discover({ giaddr: LOOP, mac: macOf(i), xid: 2000 + i }), port)));
      const got = [await c.next(), await c.next()].map((o) => o.chaddr).sort();
      expect(got).toEqual([macOf(1), macOf(3)]);
      expect(await c.quiet(150)).toBe(true);
      expect(u.journal.sort()).toEqual([macOf(1), macOf(3)]);
      expect(server.stats.handlerErrors).toBe(1);
    });
  });

  it('rejects when the port is taken by a socket without SO_REUSEADDR', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind({ port: 0, address: LOOP }, resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    await expect(startDhcpServer({ responder: responder(), address: LOOP, port: holder.address().port, allowBroadcast: false })).rejects.toThrow(/EADDRINUSE/);
  });
});
