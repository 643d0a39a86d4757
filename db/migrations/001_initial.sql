-- Tabula's initial schema. Applied once by src/store/migrate.ts, inside one transaction, and recorded
-- in schema_migrations (which migrate.ts creates itself). JSON values are stored as TEXT; timestamps
-- are ISO-8601 UTC strings as produced by Date.prototype.toISOString(). Ids are AUTOINCREMENT: an id
-- the API handed out is never reused for another object after a delete.

CREATE TABLE clusters (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL UNIQUE,
  description TEXT    NOT NULL DEFAULT '',
  is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
  defaults    TEXT    NOT NULL DEFAULT '{"dnsServers":[],"dnsSearch":[]}' CHECK (json_valid(defaults)),
  created_at  TEXT    NOT NULL,
  updated_at  TEXT    NOT NULL
);
-- At most one default cluster (the engine clears the old default before setting a new one).
CREATE UNIQUE INDEX clusters_one_default ON clusters (is_default) WHERE is_default = 1;

CREATE TABLE networks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  cluster_id  INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  vlan        INTEGER NULL CHECK (vlan IS NULL OR vlan BETWEEN 1 AND 4094),
  mtu         INTEGER NOT NULL DEFAULT 1500 CHECK (mtu BETWEEN 68 AND 9216),
  bridged     INTEGER NOT NULL DEFAULT 0 CHECK (bridged IN (0, 1)),
  role        TEXT    NOT NULL DEFAULT 'other'
              CHECK (role IN ('management', 'vm', 'storage', 'display', 'migration', 'other')),
  required    INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
  label       TEXT    NULL,
  description TEXT    NOT NULL DEFAULT '',
  UNIQUE (cluster_id, name)
);
-- One management network per cluster.
CREATE UNIQUE INDEX networks_one_management ON networks (cluster_id) WHERE role = 'management';

CREATE TABLE hosts (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  name               TEXT    NOT NULL UNIQUE,
  -- RESTRICT: a cluster with hosts cannot be deleted (its networks would cascade away under them).
  cluster_id         INTEGER NOT NULL REFERENCES clusters (id) ON DELETE RESTRICT,
  state              TEXT    NOT NULL DEFAULT 'new'
                     CHECK (state IN ('new', 'maintenance', 'active', 'non-operational', 'unreachable')),
  boot_mac           TEXT    NULL UNIQUE,
  generation         INTEGER NOT NULL DEFAULT 0,
  applied_generation INTEGER NULL,
  custom             TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(custom)),
  sync_reasons       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(sync_reasons)),
  last_inventory_at  TEXT    NULL,
  created_at         TEXT    NOT NULL,
  updated_at         TEXT    NOT NULL
);
CREATE INDEX hosts_cluster ON hosts (cluster_id);

-- No UNIQUE (host_id, name): kernel names can swap between two NICs inside one save.
CREATE TABLE nics (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id     INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  mac         TEXT    NOT NULL UNIQUE,
  name        TEXT    NOT NULL,
  driver      TEXT    NULL,
  speed       INTEGER NULL,
  carrier     INTEGER NOT NULL DEFAULT 0 CHECK (carrier IN (0, 1)),
  pci_address TEXT    NULL,
  labels      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels))
);
CREATE INDEX nics_host ON nics (host_id);

CREATE TABLE bonds (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id        INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  name           TEXT    NOT NULL,
  mode           TEXT    NOT NULL
                 CHECK (mode IN ('balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb')),
  options        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  mac            TEXT    NULL,
  primary_member TEXT    NULL,
  labels         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
  UNIQUE (host_id, name)
);

-- Members are MACs with no foreign key to nics, on purpose: a vanished NIC leaves a partial bond
-- that heals when the NIC is reported again.
CREATE TABLE bond_members (
  bond_id  INTEGER NOT NULL REFERENCES bonds (id) ON DELETE CASCADE,
  mac      TEXT    NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (bond_id, mac)
);

-- An attachment sits on a NIC (by MAC, no foreign key, same reason as bond members) or on a bond.
CREATE TABLE attachments (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE RESTRICT,
  nic_mac    TEXT    NULL,
  bond_id    INTEGER NULL REFERENCES bonds (id) ON DELETE CASCADE,
  ipv4       TEXT    NOT NULL DEFAULT '{"method":"none"}' CHECK (json_valid(ipv4)),
  ipv6       TEXT    NOT NULL DEFAULT '{"method":"none"}' CHECK (json_valid(ipv6)),
  custom     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(custom)),
  CHECK ((nic_mac IS NULL) <> (bond_id IS NULL))
);
-- One explicit attachment per network and host (the engine says NETWORK_ALREADY_ATTACHED first).
CREATE UNIQUE INDEX attachments_host_network ON attachments (host_id, network_id);
-- Indexes on the other foreign keys keep RESTRICT/CASCADE checks from scanning the table.
CREATE INDEX attachments_network ON attachments (network_id);
CREATE INDEX attachments_bond ON attachments (bond_id);

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL UNIQUE,
  hash         TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  last_used_at TEXT NULL
);

CREATE TABLE host_events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  at      TEXT    NOT NULL,
  kind    TEXT    NOT NULL,
  data    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX host_events_host ON host_events (host_id, id);

-- Seed: the default cluster auto-enrolled hosts land in, with its management network.
INSERT INTO clusters (name, description, is_default, created_at, updated_at)
VALUES ('default', 'Auto-enrolled hosts land here', 1,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

INSERT INTO networks (cluster_id, name, vlan, mtu, bridged, role, required, label, description)
SELECT id, 'mgmt', NULL, 1500, 0, 'management', 1, NULL, 'Management network'
FROM clusters WHERE name = 'default';
