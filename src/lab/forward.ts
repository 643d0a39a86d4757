// Runs inside the lab's namespace: a Unix socket (reachable from any namespace, since it lives in the
// filesystem) forwarded to the API on the rack's bridge, so that `tabula lab` and the e2e tests can
// talk to `tabula serve` without a route into the namespace. Usage: node forward.js SOCKET HOST PORT
import { rmSync } from 'node:fs';
import net from 'node:net';

const [socketPath, host, portText] = process.argv.slice(2);
if (!socketPath || !host || !portText) {
  process.stderr.write('usage: forward.js SOCKET HOST PORT\n');
  process.exit(2);
}
rmSync(socketPath, { force: true });
const server = net.createServer((client) => {
  const upstream = net.connect(Number(portText), host);
  client.pipe(upstream).pipe(client);
  const end = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
});
server.listen(socketPath, () => process.stdout.write(`forwarding ${socketPath} to ${host}:${portText}\n`));
const stop = (): void => {
  server.close();
  rmSync(socketPath, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
