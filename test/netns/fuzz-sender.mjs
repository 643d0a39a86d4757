// The packet side of test/netns/fuzz.test.ts (plain JavaScript: it runs under `ip netns exec ... node`
// inside the test's own namespace). Sends seeded, mutated and truncated DHCP datagrams to the DHCP
// port and TFTP datagrams to the TFTP port and to the transfer ports (TIDs) the server answers from,
// in small paced batches, and stops at the count or the deadline, whichever comes first. Prints one
// JSON line with what it sent.
//
//   node fuzz-sender.mjs '{"server":"10.99.0.1","client":"10.99.0.2","mode":"full","dhcpPorts":[67],
//                          "dhcp":60000,"tftp":50000,"seed":1,"deadlineMs":150000,
//                          "dhcpSeeds":["hex",...],"tftpSeeds":["hex",...],"tftpFiles":["small.bin"]}'
import dgram from 'node:dgram';

const cfg = JSON.parse(process.argv[2]);
const started = Date.now();
const deadline = started + cfg.deadlineMs;

// xorshift32: the same stream for the same seed, so a failure can be replayed.
let state = cfg.seed >>> 0 || 1;
const rnd = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
};
const below = (n) => rnd() % n;
const randomBytes = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rnd() & 255;
  return b;
};

/** One mutation of `seed`; sometimes several stacked. */
function mutate(seed, dhcp) {
  let b = Buffer.from(seed);
  const rounds = 1 + below(3);
  for (let r = 0; r < rounds; r++) {
    switch (below(dhcp ? 11 : 9)) {
      case 0: // bit flips
        for (let i = 0, n = 1 + below(8); i < n && b.length; i++) b[below(b.length)] ^= 1 << below(8);
        break;
      case 1: // random bytes
        for (let i = 0, n = 1 + below(16); i < n && b.length; i++) b[below(b.length)] = rnd() & 255;
        break;
      case 2: // truncate anywhere
        b = b.subarray(0, below(b.length + 1));
        break;
      case 3: // truncate near the interesting boundary (DHCP header + cookie, TFTP opcode + name)
        b = b.subarray(0, dhcp ? 230 + below(20) : below(Math.min(b.length + 1, 12)));
        break;
      case 4: // random tail
        b = Buffer.concat([b, randomBytes(below(dhcp ? 600 : 80))]);
        break;
      case 5: // duplicate a chunk
        if (b.length > 2) {
          const at = below(b.length - 1);
          const chunk = b.subarray(at, at + 1 + below(Math.min(64, b.length - at)));
          b = Buffer.concat([b.subarray(0, at), chunk, chunk, b.subarray(at)]);
        }
        break;
      case 6: // extreme values in place
        if (b.length) b[below(b.length)] = [0, 1, 0x7f, 0x80, 0xff][below(5)];
        break;
      case 7: // entirely random datagram
        b = randomBytes(below(dhcp ? 700 : 600));
        break;
      case 8: // empty
        b = Buffer.alloc(0);
        break;
      case 9: // DHCP: an option length byte gone wrong
        if (b.length > 242) b[240 + below(b.length - 240)] = below(256);
        break;
      case 10: // DHCP: another message type, another client, maybe through a "relay" (our own address)
        b = Buffer.from(b);
        if (b.length >= 244) {
          const i = b.indexOf(Buffer.from([53, 1]), 240);
          if (i > 0 && i + 2 < b.length) b[i + 2] = 1 + below(9);
          if (below(2)) for (let k = 30; k < 34; k++) b[k] = rnd() & 255;
          if (below(4) === 0) Buffer.from(cfg.client.split('.').map(Number)).copy(b, 24);
        }
        break;
    }
  }
  return b;
}

function tftpSeeds() {
  const z = Buffer.from([0]);
  const rrq = (name, ...opts) => Buffer.concat([Buffer.from([0, 1]), Buffer.from(name), z, Buffer.from('octet'), z, ...opts.flatMap((o) => [Buffer.from(o), z])]);
  const out = [];
  for (const f of cfg.tftpFiles) {
    out.push(rrq(f));
    out.push(rrq(f, 'blksize', '1468', 'tsize', '0'));
    out.push(rrq(f, 'blksize', '8', 'windowsize', '4', 'timeout', '1'));
    out.push(rrq(`../${f}`));
  }
  for (const h of cfg.tftpSeeds ?? []) out.push(Buffer.from(h, 'hex')); // real firmware RRQs
  out.push(rrq('/etc/passwd'));
  out.push(Buffer.concat([Buffer.from([0, 2]), Buffer.from('upload.bin'), z, Buffer.from('octet'), z])); // WRQ
  out.push(Buffer.from([0, 3, 0, 1, 1, 2, 3])); // DATA
  out.push(Buffer.from([0, 4, 0, 1])); // ACK
  out.push(Buffer.concat([Buffer.from([0, 5, 0, 8]), Buffer.from('aborted'), z])); // ERROR
  out.push(Buffer.concat([Buffer.from([0, 6]), Buffer.from('blksize'), z, Buffer.from('512'), z])); // OACK
  return out;
}

// Several client sockets: the server ignores a second RRQ from a port whose transfer still runs.
const tids = new Set();
let received = 0;
const socks = [];
for (let i = 0; i < 8; i++) {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (_msg, rinfo) => {
    received++;
    if (rinfo.port !== 67 && rinfo.port !== 69 && tids.size < 64) tids.add(rinfo.port);
  });
  sock.on('error', () => {}); // ICMP errors after a send: the fuzz goes on
  await new Promise((r) => sock.bind({ address: cfg.client, port: 0 }, r));
  socks.push(sock);
}

const dhcpSeeds = cfg.dhcpSeeds.map((h) => Buffer.from(h, 'hex'));
const tftp = tftpSeeds();
const sent = { dhcp: 0, tftp: 0, tftpTransferPorts: 0, truncated: 0, byPort: {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const send = (buf, port) => new Promise((r) => socks[below(socks.length)].send(buf, port, cfg.server, () => r()));

// Flow control instead of guessed sleeps: after each batch, a ping the server must answer on every
// port the batch went to. DHCP full mode: an INFORM from ciaddr = us (answered to us:68); proxy mode:
// a PXE DISCOVER on 67 (answered by broadcast to :68) and a PXE REQUEST with ciaddr = us on 4011;
// TFTP: an RRQ for a missing file (answered with ERROR). The server reads each socket in order, so an
// answered ping means the whole batch before it was read, and the socket buffers never overflow. A
// ping without an answer within 10 s is counted.
const dhcpPing = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const tftpPing = dgram.createSocket('udp4');
const waitingDhcp = new Map();
let waitingTftp = null;
dhcpPing.on('message', (msg) => {
  if (msg.length >= 8 && msg[0] === 2) waitingDhcp.get(msg.readUInt32BE(4))?.();
});
tftpPing.on('message', (msg) => {
  if (waitingTftp && msg.length >= 4 && msg[1] === 5) waitingTftp();
});
await new Promise((r) => dhcpPing.bind({ address: '0.0.0.0', port: 68 }, r));
await new Promise((r) => tftpPing.bind({ address: cfg.client, port: 0 }, r));

function dhcpPacket(xid, type, ciaddr, extra) {
  const b = Buffer.alloc(300);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(xid, 4);
  if (ciaddr) Buffer.from(cfg.client.split('.').map(Number)).copy(b, 12);
  Buffer.from([2, 0, 0, 0x99, 0, 2]).copy(b, 28);
  Buffer.concat([Buffer.from([99, 130, 83, 99, 53, 1, type]), extra, Buffer.from([255])]).copy(b, 236);
  return b;
}
const PXE_OPTIONS = Buffer.concat([Buffer.from([60, 32]), Buffer.from('PXEClient:Arch:00000:UNDI:002001'), Buffer.from([93, 2, 0, 0])]);
function dhcpPingPacket(port, xid) {
  if (cfg.mode !== 'proxy') return dhcpPacket(xid, 8, true, Buffer.alloc(0));
  return port === 67 ? dhcpPacket(xid, 1, false, PXE_OPTIONS) : dhcpPacket(xid, 3, true, PXE_OPTIONS);
}

const pings = { sent: 0, unanswered: 0 };
async function ping(port) {
  pings.sent++;
  const xid = (0x70000000 + pings.sent) >>> 0;
  let packet;
  const answered = new Promise((resolve) => {
    if (port === 69) {
      waitingTftp = () => resolve(true);
      packet = Buffer.from(`\0\x01fuzz-ping-${xid}\0octet\0`, 'latin1');
    } else {
      waitingDhcp.set(xid, () => resolve(true));
      packet = dhcpPingPacket(port, xid);
    }
  });
  (port === 69 ? tftpPing : dhcpPing).send(packet, port, cfg.server);
  const ok = await Promise.race([answered, sleep(10_000).then(() => false)]);
  if (port === 69) waitingTftp = null;
  else waitingDhcp.delete(xid);
  if (!ok) pings.unanswered++;
}

const dhcpPorts = cfg.dhcpPorts ?? [67];
const BATCH = 150;
let timedOut = false;
while (sent.dhcp < cfg.dhcp || sent.tftp + sent.tftpTransferPorts < cfg.tftp) {
  if (Date.now() > deadline) {
    timedOut = true;
    break;
  }
  const jobs = [];
  const touched = new Set();
  for (let i = 0; i < BATCH; i++) {
    if (sent.dhcp >= cfg.dhcp && sent.tftp + sent.tftpTransferPorts >= cfg.tftp) break;
    if (sent.dhcp < cfg.dhcp && (below(2) === 0 || sent.tftp + sent.tftpTransferPorts >= cfg.tftp)) {
      const seed = dhcpSeeds[below(dhcpSeeds.length)];
      const b = mutate(seed, true);
      if (b.length < seed.length) sent.truncated++;
      const port = dhcpPorts[below(dhcpPorts.length)];
      jobs.push(send(b, port));
      sent.dhcp++;
      sent.byPort[port] = (sent.byPort[port] ?? 0) + 1;
      touched.add(port);
    } else {
      const b = mutate(tftp[below(tftp.length)], false);
      if (tids.size > 0 && below(4) === 0) {
        jobs.push(send(b, [...tids][below(tids.size)]));
        sent.tftpTransferPorts++;
      } else {
        jobs.push(send(b, 69));
        sent.tftp++;
        touched.add(69);
      }
    }
  }
  await Promise.all(jobs);
  await Promise.all([...touched].map((port) => ping(port)));
}
await sleep(200);
for (const s of [...socks, dhcpPing, tftpPing]) s.close();
console.log(JSON.stringify({ ...sent, pings: pings.sent, unansweredPings: pings.unanswered, received, timedOut, elapsedMs: Date.now() - started }));
