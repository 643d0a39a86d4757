-- DHCP leases (src/boot/dhcp/sqlite-leases.ts). One row per address: the primary key is the address,
-- so two clients can never hold the same one, whatever state their records are in. A MAC holds at
-- most one address ('' marks a declined address, which belongs to nobody). Times are epoch
-- milliseconds of the DHCP server's clock. Every offer, bind, release and decline is one transaction.
CREATE TABLE dhcp_leases (
  ip_num     INTEGER PRIMARY KEY CHECK (ip_num BETWEEN 0 AND 4294967295),
  ip         TEXT    NOT NULL UNIQUE,
  mac        TEXT    NOT NULL,
  state      TEXT    NOT NULL CHECK (state IN ('offered', 'bound', 'declined')),
  expires    INTEGER NOT NULL,
  client_id  TEXT    NULL,
  updated_at TEXT    NOT NULL,
  CHECK ((state = 'declined') = (mac = ''))
);
CREATE UNIQUE INDEX dhcp_leases_mac ON dhcp_leases (mac) WHERE mac <> '';
-- Reclaiming expired records walks this index from the oldest expiry; nothing scans the table.
CREATE INDEX dhcp_leases_expires ON dhcp_leases (expires);
