-- Admin hook scripts (issue 4, apply step 3): shell scripts a blade runs before it builds its network
-- (before-apply) and after (after-apply). The owner is a cluster or a host, never both; rows go with
-- their owner. Cluster hooks run before host hooks, then by sort_order, then by name.
CREATE TABLE hooks (
  id         INTEGER PRIMARY KEY,
  cluster_id INTEGER NULL REFERENCES clusters (id) ON DELETE CASCADE,
  host_id    INTEGER NULL REFERENCES hosts (id) ON DELETE CASCADE,
  phase      TEXT    NOT NULL CHECK (phase IN ('before-apply', 'after-apply')),
  name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  sort_order INTEGER NOT NULL DEFAULT 50 CHECK (sort_order BETWEEN 0 AND 999),
  script     TEXT    NOT NULL CHECK (length(script) BETWEEN 1 AND 65536),
  created_at TEXT    NOT NULL,
  updated_at TEXT    NOT NULL,
  CHECK ((cluster_id IS NULL) <> (host_id IS NULL))
);
CREATE UNIQUE INDEX hooks_cluster ON hooks (cluster_id, phase, name) WHERE cluster_id IS NOT NULL;
CREATE UNIQUE INDEX hooks_host ON hooks (host_id, phase, name) WHERE host_id IS NOT NULL;
