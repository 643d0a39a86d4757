// A stand-in for the blade-facing half of `tabula serve`, for the boot-image tests (test/image/).
// Run inside the test's network namespace: `ip netns exec NS node server.mjs --dir DIR --port N --token T`.
// No dependencies. Serves, under the same paths and headers as src/boot/http/router.ts:
//   GET  /healthz                  200 ok
//   POST /boot/{mac}/inventory     stored as DIR/inventory.json
//   GET  /boot/{mac}/config        DIR/config.sh, read on every request (the test swaps it), with
//                                  X-Tabula-Generation taken from the script's header comment; while
//                                  DIR/hold exists, a poll with ?applied=N for another generation gets
//                                  204 + X-Tabula-Hold: maintenance (the real server's maintenance hold)
//   POST /boot/{mac}/report        stored as DIR/report-<n>.json; with --refuse-kernel, a report that
//                                  carries a "kernel" field is answered 400 (an older server)
// The three /boot routes need `X-Tabula-Token: T` (401 otherwise). Every request is one JSON line in
// DIR/server.log (method, path, status, remote address, ms since start).
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const dir = args.dir;
const port = Number(args.port ?? 8080);
const token = args.token ?? 't';
const refuseKernel = process.argv.includes('--refuse-kernel');
if (!dir) throw new Error('--dir is required');
const t0 = Date.now();
const logFile = path.join(dir, 'server.log');

function log(entry) {
  appendFileSync(logFile, `${JSON.stringify({ ms: Date.now() - t0, ...entry })}\n`);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = Buffer.concat(chunks).toString('utf8');
    const entry = { method: req.method, path: url.pathname, ...(url.search ? { query: url.search } : {}), remote: req.socket.remoteAddress, bytes: body.length };
    const done = (status, out, headers) => {
      log({ ...entry, status });
      send(res, status, out, headers);
    };
    if (url.pathname === '/healthz' && req.method === 'GET') return done(200, 'ok\n');
    const m = /^\/boot\/([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\/(inventory|config|report)$/.exec(url.pathname);
    if (!m) return done(404, 'not found\n');
    if (req.headers['x-tabula-token'] !== token) return done(401, 'bad token\n');
    const [, mac, what] = m;
    if (what === 'inventory' && req.method === 'POST') {
      writeFileSync(path.join(dir, 'inventory.json'), body);
      writeFileSync(path.join(dir, 'inventory.headers.json'), JSON.stringify(req.headers));
      return done(200, JSON.stringify({ mac, accepted: true }), { 'Content-Type': 'application/json' });
    }
    if (what === 'config' && req.method === 'GET') {
      const file = path.join(dir, 'config.sh');
      if (!existsSync(file)) return done(404, 'no config\n');
      const script = readFileSync(file, 'utf8');
      const gen = /generation (\d+)/.exec(script)?.[1] ?? '0';
      const applied = url.searchParams.get('applied');
      if (applied !== null && applied !== gen && existsSync(path.join(dir, 'hold'))) {
        return done(204, '', { 'X-Tabula-Hold': 'maintenance', 'X-Tabula-Generation': gen });
      }
      return done(200, script, { 'X-Tabula-Generation': gen });
    }
    if (what === 'report' && req.method === 'POST') {
      if (refuseKernel && 'kernel' in JSON.parse(body)) return done(400, JSON.stringify({ error: { code: 'INVALID_REQUEST' } }), { 'Content-Type': 'application/json' });
      const n = readdirSync(dir).filter((f) => /^report-\d+\.json$/.test(f)).length + 1;
      writeFileSync(path.join(dir, `report-${n}.json`), body);
      return done(200, JSON.stringify({ reported: n }), { 'Content-Type': 'application/json' });
    }
    return done(405, 'method not allowed\n');
  });
});

server.listen(port, '0.0.0.0', () => {
  log({ listening: port });
  process.stdout.write(`listening ${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
