-- Per-cluster and per-host replacements of the DHCP server's boot file map (src/boot/dhcp/boot-files.ts):
-- one row per (owner, key). The owner is a cluster or a host, never both; rows go with their owner.
-- Keys: the firmware classes of src/boot/dhcp/pxe.ts (TFTP file names) and the two HTTP URLs.
CREATE TABLE boot_files (
  cluster_id INTEGER NULL REFERENCES clusters (id) ON DELETE CASCADE,
  host_id    INTEGER NULL REFERENCES hosts (id) ON DELETE CASCADE,
  key        TEXT    NOT NULL CHECK (key IN ('bios', 'uefiX64', 'uefiIa32', 'arm64', 'arm32', 'httpBootUrl', 'httpScriptUrl')),
  value      TEXT    NOT NULL CHECK (length(value) BETWEEN 1 AND 1024),
  updated_at TEXT    NOT NULL,
  CHECK ((cluster_id IS NULL) <> (host_id IS NULL))
);
CREATE UNIQUE INDEX boot_files_cluster ON boot_files (cluster_id, key) WHERE cluster_id IS NOT NULL;
CREATE UNIQUE INDEX boot_files_host ON boot_files (host_id, key) WHERE host_id IS NOT NULL;
