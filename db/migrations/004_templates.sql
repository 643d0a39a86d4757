-- Admin-editable templates (issue 4): immutable revisions per template name, a current revision per
-- name, and pins of a revision for a cluster or a host (host pin > cluster pin > current).
--
-- Revision 1 of each name is the shipped file in templates/. It is seeded on first use by
-- src/store/template-store.ts (not here), so that the migration never embeds a copy of a file that
-- keeps evolving with the code. Rollback moves the current pointer back to an older revision; it
-- never rewrites or copies revisions (docs/templates.md).

CREATE TABLE template_revisions (
  name        TEXT    NOT NULL CHECK (name IN ('boot.ipxe', 'host.ipxe', 'apply.sh')),
  revision    INTEGER NOT NULL CHECK (revision >= 1),
  source      TEXT    NOT NULL,
  -- sha256 hex of source, to spot identical revisions cheaply.
  sha256      TEXT    NOT NULL,
  author      TEXT    NOT NULL,
  message     TEXT    NOT NULL,
  created_at  TEXT    NOT NULL,
  PRIMARY KEY (name, revision)
);

-- Immutable: a revision is never changed nor removed once written.
CREATE TRIGGER template_revisions_no_update BEFORE UPDATE ON template_revisions
BEGIN
  SELECT RAISE(ABORT, 'template revisions are immutable');
END;
CREATE TRIGGER template_revisions_no_delete BEFORE DELETE ON template_revisions
BEGIN
  SELECT RAISE(ABORT, 'template revisions are immutable');
END;

-- The revision every host gets unless a pin says otherwise.
CREATE TABLE template_current (
  name       TEXT    PRIMARY KEY,
  revision   INTEGER NOT NULL,
  updated_by TEXT    NOT NULL,
  updated_at TEXT    NOT NULL,
  FOREIGN KEY (name, revision) REFERENCES template_revisions (name, revision)
);

CREATE TABLE template_pins (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT    NOT NULL,
  revision   INTEGER NOT NULL,
  cluster_id INTEGER NULL REFERENCES clusters (id) ON DELETE CASCADE,
  host_id    INTEGER NULL REFERENCES hosts (id) ON DELETE CASCADE,
  author     TEXT    NOT NULL,
  created_at TEXT    NOT NULL,
  CHECK ((cluster_id IS NULL) <> (host_id IS NULL)),
  FOREIGN KEY (name, revision) REFERENCES template_revisions (name, revision)
);
-- One pin per template and host, one per template and cluster.
CREATE UNIQUE INDEX template_pins_host ON template_pins (name, host_id) WHERE host_id IS NOT NULL;
CREATE UNIQUE INDEX template_pins_cluster ON template_pins (name, cluster_id) WHERE cluster_id IS NOT NULL;
CREATE INDEX template_pins_host_fk ON template_pins (host_id);
CREATE INDEX template_pins_cluster_fk ON template_pins (cluster_id);
