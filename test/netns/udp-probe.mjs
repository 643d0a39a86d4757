// A bare UDP probe for the namespace tests (plain JavaScript: it runs under `ip netns exec ... node`
// without a TypeScript loader). Sends one datagram and prints every datagram received, as JSON lines,
// until `count` arrived or `listenMs` passed.
//
//   node udp-probe.mjs '{"bind":{"address":"0.0.0.0","port":68},"to":{"address":"255.255.255.255","port":67},
//                        "hex":"0101...","listenMs":3000,"count":1}'
import dgram from 'node:dgram';

const spec = JSON.parse(process.argv[2] ?? '{}');
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
let received = 0;
const done = (code) => {
  socket.close();
  process.exitCode = code;
};
socket.on('message', (msg, rinfo) => {
  process.stdout.write(`${JSON.stringify({ from: rinfo.address, port: rinfo.port, hex: msg.toString('hex') })}\n`);
  received++;
  if (spec.count !== undefined && received >= spec.count) done(0);
});
socket.on('error', (err) => {
  process.stderr.write(`probe error: ${err.message}\n`);
  done(3);
});
socket.bind(spec.bind, () => {
  socket.setBroadcast(true);
  const timer = setTimeout(() => done(received > 0 ? 0 : 1), spec.listenMs ?? 3000);
  timer.unref?.();
  socket.send(Buffer.from(spec.hex, 'hex'), spec.to.port, spec.to.address, (err) => {
    if (err) {
      process.stderr.write(`probe send error: ${err.message}\n`);
      clearTimeout(timer);
      done(2);
    }
  });
});
