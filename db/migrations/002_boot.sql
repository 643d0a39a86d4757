-- The boot timeline (issue 3): one row per boot of a host (started when the blade fetches its iPXE
-- script, which carries a fresh boot token) and one row per stage of a boot. Only the SHA-256 of a
-- token is stored, and only while its boot is current: a newer boot supersedes the older ones and
-- clears their hashes, so their tokens stop working.

CREATE TABLE boots (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  -- The MAC the blade booted from (lower-case colon form).
  mac        TEXT    NOT NULL,
  -- sha256 hex of the boot token; NULL once the boot is superseded.
  token_hash TEXT    NULL UNIQUE,
  started_at TEXT    NOT NULL,
  superseded INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1)),
  CHECK (superseded = 0 OR token_hash IS NULL)
);
CREATE INDEX boots_host ON boots (host_id, id);
-- At most one current boot per host.
CREATE UNIQUE INDEX boots_one_current ON boots (host_id) WHERE superseded = 0;

-- boot_id NULL: not (yet) part of a boot, e.g. the DHCP exchange of firmware before its iPXE script,
-- adopted by the boot that starts next. host_id NULL: the MAC was unknown when the event happened.
CREATE TABLE boot_events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  boot_id INTEGER NULL REFERENCES boots (id) ON DELETE CASCADE,
  host_id INTEGER NULL REFERENCES hosts (id) ON DELETE CASCADE,
  mac     TEXT    NOT NULL,
  stage   TEXT    NOT NULL,
  at      TEXT    NOT NULL,
  data    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX boot_events_boot ON boot_events (boot_id, at, id);
CREATE INDEX boot_events_host ON boot_events (host_id, id);
CREATE INDEX boot_events_unattached ON boot_events (mac, at) WHERE boot_id IS NULL;
CREATE INDEX boot_events_unattached_at ON boot_events (at) WHERE boot_id IS NULL;
