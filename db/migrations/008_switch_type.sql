-- Open vSwitch (issue 8): a cluster's switch type, the VM-facing port of a bridged network, and the
-- Open vSwitch bond modes. SQLite cannot change a CHECK constraint, so bonds is rebuilt; bond_members
-- and attachments reference it and are rebuilt with it (dropping bonds first would cascade them away).
-- Ids and AUTOINCREMENT counters are kept: an id handed out is never reused.

ALTER TABLE clusters ADD COLUMN switch_type TEXT NOT NULL DEFAULT 'linux' CHECK (switch_type IN ('linux', 'ovs'));

ALTER TABLE networks ADD COLUMN port_type TEXT NOT NULL DEFAULT 'access' CHECK (port_type IN ('access', 'trunk', 'hybrid'));
ALTER TABLE networks ADD COLUMN trunks TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(trunks));

CREATE TABLE bonds_new (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id        INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  name           TEXT    NOT NULL,
  mode           TEXT    NOT NULL
                 CHECK (mode IN ('balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb',
                                 'balance-slb', 'balance-tcp')),
  options        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  mac            TEXT    NULL,
  primary_member TEXT    NULL,
  labels         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
  UNIQUE (host_id, name)
);
INSERT INTO bonds_new (id, host_id, name, mode, options, mac, primary_member, labels)
  SELECT id, host_id, name, mode, options, mac, primary_member, labels FROM bonds;

CREATE TABLE bond_members_new (
  bond_id  INTEGER NOT NULL REFERENCES bonds_new (id) ON DELETE CASCADE,
  mac      TEXT    NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (bond_id, mac)
);
INSERT INTO bond_members_new (bond_id, mac, position) SELECT bond_id, mac, position FROM bond_members;

CREATE TABLE attachments_new (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE RESTRICT,
  nic_mac    TEXT    NULL,
  bond_id    INTEGER NULL REFERENCES bonds_new (id) ON DELETE CASCADE,
  ipv4       TEXT    NOT NULL DEFAULT '{"method":"none"}' CHECK (json_valid(ipv4)),
  ipv6       TEXT    NOT NULL DEFAULT '{"method":"none"}' CHECK (json_valid(ipv6)),
  custom     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(custom)),
  CHECK ((nic_mac IS NULL) <> (bond_id IS NULL))
);
INSERT INTO attachments_new (id, host_id, network_id, nic_mac, bond_id, ipv4, ipv6, custom)
  SELECT id, host_id, network_id, nic_mac, bond_id, ipv4, ipv6, custom FROM attachments;

-- The counters of the old tables, which may be past their largest id (deleted rows, or no row left).
INSERT INTO sqlite_sequence (name, seq) SELECT 'bonds_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'bonds_new');
INSERT INTO sqlite_sequence (name, seq) SELECT 'attachments_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'attachments_new');
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bonds'), 0)) WHERE name = 'bonds_new';
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'attachments'), 0)) WHERE name = 'attachments_new';

-- Children first, so that dropping bonds cascades into nothing.
DROP TABLE attachments;
DROP TABLE bond_members;
DROP TABLE bonds;
-- RENAME also rewrites the references of bond_members_new and attachments_new, and sqlite_sequence.
ALTER TABLE bonds_new RENAME TO bonds;
ALTER TABLE bond_members_new RENAME TO bond_members;
ALTER TABLE attachments_new RENAME TO attachments;

CREATE UNIQUE INDEX attachments_host_network ON attachments (host_id, network_id);
CREATE INDEX attachments_network ON attachments (network_id);
CREATE INDEX attachments_bond ON attachments (bond_id);
