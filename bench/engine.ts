// Engine: plan computation for a big host (64 NICs, 16 bonds, 200 VLANs), inventory reconciliation
// per report, and databases of 10,000 and 100,000 hosts (insert time, plan time, size). No peer exists for this:
// the RESULT line says ratio=n/a.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEngine } from '../src/engine/index.js';
import { finish, fmt, load } from './lib.js';
import { inventory, seedBlade } from './seed.js';

const FLEETS = [10_000, 100_000] as const;
const SINGLE = 500;
const HOSTS_PER_COMMIT = 1000;
const INSERT_BUDGET_MS = 330_000;

/** Runs fn up to `count` times or until `budgetMs` is spent; returns per-call ms (median, p99) and the count. */
function time(fn: (i: number) => void, count: number, budgetMs: number): { median: number; p99: number; n: number } {
  const ms: number[] = [];
  const until = Date.now() + budgetMs;
  for (let i = 0; i < count && Date.now() < until; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)] ?? NaN, p99: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))] ?? NaN, n: ms.length };
}

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tabula-bench-engine-'));
  const rows = ['| what | median | p99 | runs | load |', '|---|---|---|---|---|'];
  const row = (what: string, t: { median: number; p99: number; n: number }): void => {
    const line = `| ${what} | ${fmt(t.median)} ms | ${fmt(t.p99)} ms | ${t.n} | ${load()} |`;
    console.log(line);
    rows.push(line);
  };
  try {
    // 1. One big host.
    const big = openEngine({ dbPath: path.join(dir, 'big.db') });
    const t0 = Date.now();
    const id = seedBlade(big.engine, 1, { nics: 64, bonds: 16, vlans: 200 });
    const seedMs = Date.now() - t0;
    const plan = big.engine.getPlan(id);
    console.log(`big host seeded in ${seedMs} ms; plan has ${JSON.stringify(plan).length} bytes of JSON`);
    row('plan, host with 64 NICs, 16 bonds, 200 VLAN attachments', time(() => big.engine.getPlan(id), 200, 20_000));
    row('inventory report, 64 NICs, nothing changed', time(() => big.engine.reportInventory(id, inventory(1, 64)), 200, 20_000));
    big.close();

    // 2. Reconciliation on a typical blade, unchanged and with a NIC renamed back and forth.
    const small = openEngine({ dbPath: path.join(dir, 'small.db') });
    const sid = seedBlade(small.engine, 2, { nics: 4, bonds: 1, vlans: 2 });
    row('inventory report, 4 NICs, nothing changed', time(() => small.engine.reportInventory(sid, inventory(2, 4)), 1000, 20_000));
    row(
      'inventory report, 4 NICs, eth3 renamed (alternating)',
      time(
        (i) => {
          const r = inventory(2, 4);
          if (i % 2 === 0) r.nics[3]!.name = 'ens9';
          small.engine.reportInventory(sid, r);
        },
        1000,
        20_000,
      ),
    );
    small.close();

    // 3. One fleet database growing to 100,000 hosts, measured when it holds 10,000 and 100,000.
    // Hosts are written through the same engine calls (validation, plan, generation): the first
    // SINGLE one commit per call, the rest HOSTS_PER_COMMIT per outer transaction as a bulk import.
    const dbPath = path.join(dir, 'fleet.db');
    const fleet = openEngine({ dbPath });
    const ids: number[] = [];
    const s0 = Date.now();
    for (let b = 0; b < SINGLE; b++) ids.push(seedBlade(fleet.engine, b, { nics: 4, bonds: 1, vlans: 2 }));
    const singleMs = Date.now() - s0;
    const one = `| insert, first ${SINGLE} hosts, one commit per call (inventory + bond + 2 attachments) | ${fmt(singleMs / SINGLE)} ms/host | total ${fmt(singleMs / 1000)} s | ${SINGLE} | ${load()} |`;
    console.log(one);
    rows.push(one);
    const i0 = Date.now();
    let bulkMs = 0;
    for (const hosts of FLEETS) {
      const f0 = Date.now();
      const from = ids.length;
      while (ids.length < hosts && Date.now() - i0 < INSERT_BUDGET_MS) {
        const upto = Math.min(hosts, ids.length + HOSTS_PER_COMMIT);
        fleet.repo.transaction(() => {
          for (let b = ids.length; b < upto; b++) ids.push(seedBlade(fleet.engine, b, { nics: 4, bonds: 1, vlans: 2 }));
        });
        if (ids.length % 20_000 === 0) console.log(`  ${ids.length} hosts inserted`);
      }
      const ms = Date.now() - f0;
      bulkMs = (Date.now() - i0) / Math.max(1, ids.length - SINGLE);
      const many = `| insert, hosts ${from + 1}-${ids.length}, ${HOSTS_PER_COMMIT} per commit | ${fmt(ms / Math.max(1, ids.length - from))} ms/host | total ${fmt(ms / 1000)} s | ${ids.length - from} | ${load()} |`;
      console.log(many);
      rows.push(many);
      if (ids.length < hosts) rows.push(`Insert stopped at the ${INSERT_BUDGET_MS / 1000} s budget with ${ids.length} hosts.`);
      row(`plan, random host of ${ids.length}`, time((i) => fleet.engine.getPlan(ids[(i * 7919) % ids.length] as number), 2000, 20_000));
      row(`inventory report, random host of ${ids.length}, nothing changed`, time((i) => {
        const k = (i * 7919) % ids.length;
        fleet.engine.reportInventory(ids[k] as number, inventory(k, 4));
      }, 1000, 10_000));
      fleet.repo.db.pragma('wal_checkpoint(TRUNCATE)');
      const size = ['', '-wal', '-shm'].map((x) => (existsSync(dbPath + x) ? statSync(dbPath + x).size : 0)).reduce((a, b) => a + b, 0);
      const sline = `| database size, ${ids.length} hosts (db + wal + shm, after a checkpoint) | ${fmt(size / 2 ** 20)} MiB | ${fmt(size / ids.length / 1024)} KiB/host | | ${load()} |`;
      console.log(sline);
      rows.push(sline);
      if (ids.length < hosts) break;
    }
    fleet.close();
    finish({
      name: 'engine',
      command: 'npm run bench:engine',
      peers: ['none: no other tool computes the same plans, so ratio=n/a. In-process calls on the engine (better-sqlite3, file database in the OS temp folder, WAL as opened by the engine).'],
      lines: rows,
      result: { value: bulkMs, unit: 'ms/host-bulk-insert-to-100k', ratio: null, peer: 'none' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
