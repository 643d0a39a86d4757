// Migrations 008 (switch type, port types, OVS bond modes: bonds rebuilt) and 009 (attachment QoS) on a
// database of version 007 that holds bonds, members and attachments, some rows already deleted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPackageRoot, migrate } from '../../src/store/migrate.js';
import { SqliteRepository } from '../../src/store/sqlite.js';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tabula-migrate-ovs-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A migrations folder holding the shipped files up to `last`. */
function upTo(last: number): string {
  const src = path.join(findPackageRoot(), 'db', 'migrations');
  const dir = path.join(tmp, `m${last}`);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(src)) if (/^\d+_/.test(f) && parseInt(f, 10) <= last) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

describe('migrations 008 and 009', () => {
  it('keep bonds, members, attachments and id counters, and add the new columns with their defaults', () => {
    const file = path.join(tmp, 'tabula.db');
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    migrate(db, upTo(7));
    const at = new Date().toISOString();
    db.prepare("INSERT INTO hosts (name, cluster_id, created_at, updated_at) VALUES ('blade1', 1, ?, ?)").run(at, at);
    const bond = (name: string): number =>
      Number(db.prepare("INSERT INTO bonds (host_id, name, mode, options) VALUES (1, ?, '802.3ad', '{\"lacp_rate\":\"fast\"}')").run(name).lastInsertRowid);
    const b0 = bond('bond0');
    const b1 = bond('bond1');
    db.prepare("INSERT INTO bond_members (bond_id, mac, position) VALUES (?, '52:54:00:00:01:02', 0), (?, '52:54:00:00:01:03', 1)").run(b1, b1);
    const att = db.prepare("INSERT INTO attachments (host_id, network_id, bond_id, ipv4) VALUES (1, 1, ?, '{\"method\":\"dhcp\"}')").run(b1).lastInsertRowid;
    db.prepare('DELETE FROM bonds WHERE id = ?').run(b0); // the counter stays past the largest id left
    db.close();

    const repo = SqliteRepository.open(file);
    try {
      const cfg = repo.loadHostConfig(1);
      expect(cfg.cluster.switchType).toBe('linux');
      expect(cfg.networks[0]).toMatchObject({ name: 'mgmt', portType: 'access', trunks: [] });
      expect(cfg.bonds).toEqual([expect.objectContaining({ id: b1, name: 'bond1', mode: '802.3ad', options: { lacp_rate: 'fast' }, members: ['52:54:00:00:01:02', '52:54:00:00:01:03'] })]);
      expect(cfg.attachments).toEqual([expect.objectContaining({ id: Number(att), iface: { kind: 'bond', bondId: b1 }, ipv4: { method: 'dhcp' }, qos: {} })]);
      // OVS modes are now storable; the foreign keys follow the rebuilt table (a bond delete cascades).
      const ovsBond = Number(repo.db.prepare("INSERT INTO bonds (host_id, name, mode) VALUES (1, 'bond2', 'balance-tcp')").run().lastInsertRowid);
      expect(ovsBond).toBe(b1 + 1);
      expect(() => repo.db.prepare("INSERT INTO bonds (host_id, name, mode) VALUES (1, 'bond3', 'lacp')").run()).toThrow(/CHECK/);
      repo.db.prepare('DELETE FROM bonds WHERE id = ?').run(b1);
      expect(repo.db.prepare('SELECT count(*) AS n FROM bond_members').get()).toEqual({ n: 0 });
      expect(repo.db.prepare('SELECT count(*) AS n FROM attachments').get()).toEqual({ n: 0 });
      expect(repo.db.pragma('foreign_key_check')).toEqual([]);
      expect(repo.db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE '%_new'").all()).toEqual([]);
    } finally {
      repo.close();
    }
  });

  it('keep a deleted bond id from being handed out again, even when no bond is left', () => {
    const file = path.join(tmp, 'empty.db');
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    migrate(db, upTo(7));
    const at = new Date().toISOString();
    db.prepare("INSERT INTO hosts (name, cluster_id, created_at, updated_at) VALUES ('blade1', 1, ?, ?)").run(at, at);
    const id = Number(db.prepare("INSERT INTO bonds (host_id, name, mode) VALUES (1, 'bond0', 'active-backup')").run().lastInsertRowid);
    db.prepare('DELETE FROM bonds').run();
    db.close();
    const repo = SqliteRepository.open(file);
    try {
      expect(Number(repo.db.prepare("INSERT INTO bonds (host_id, name, mode) VALUES (1, 'bond0', 'balance-slb')").run().lastInsertRowid)).toBe(id + 1);
    } finally {
      repo.close();
    }
  });
});
