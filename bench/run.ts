// `npm run bench`: every benchmark in turn, each in its own process (its own namespaces), then the
// RESULT lines together. A failing benchmark is reported and the others still run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BENCHES = ['tftp', 'http', 'engine', 'dhcp', 'storm', 'boot'] as const;

const results: string[] = [];
const took: string[] = [];
let failed = 0;
const t0 = Date.now();
for (const name of BENCHES) {
  console.log(`\n== ${name}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(HERE, `${name}.js`)], {
    stdio: ['inherit', 'pipe', 'inherit'],
    encoding: 'utf8',
    timeout: 900_000,
    env: { ...process.env, TABULA_BENCH_COMMAND: 'npm run bench' },
  });
  process.stdout.write(r.stdout ?? '');
  took.push(`${name} ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    failed++;
    results.push(`FAILED ${name} (exit ${r.status ?? r.signal})`);
  } else results.push(line);
}
console.log(`\n${results.join('\n')}`);
// The budget: all six in under 20 minutes on a 2-core machine.
console.log(`\ntook ${((Date.now() - t0) / 60_000).toFixed(1)} min (${took.join(', ')})`);
process.exitCode = failed > 0 ? 1 : 0;
