-- The latest boot report of each host (issue 4): what the blade verified and, when it sent its kernel
-- state, that state in the plan's nmstate shape and how it differs from the plan. One row per host,
-- replaced by every report; the boot timeline (002) keeps the history of reports as events.
CREATE TABLE host_reports (
  host_id     INTEGER PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
  -- The boot the report came from. No foreign key: old boots are pruned, their last report stays.
  boot_id     INTEGER NULL,
  generation  INTEGER NOT NULL CHECK (generation >= 0),
  verified    INTEGER NOT NULL CHECK (verified IN (0, 1)),
  rolled_back INTEGER NOT NULL CHECK (rolled_back IN (0, 1)),
  -- The blade ran the fallback plan (the host's configuration was invalid), not the host's plan.
  fallback    INTEGER NOT NULL DEFAULT 0 CHECK (fallback IN (0, 1)),
  received_at TEXT    NOT NULL,
  checks      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(checks)),
  -- 1 when the report carried the kernel's state (interfaces is then what it held).
  observed    INTEGER NOT NULL DEFAULT 0 CHECK (observed IN (0, 1)),
  interfaces  TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(interfaces)),
  routes      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(routes)),
  -- 1 when the observed state was compared with the plan of `generation` (see differences).
  compared    INTEGER NOT NULL DEFAULT 0 CHECK (compared IN (0, 1)),
  differences TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(differences)),
  CHECK (NOT (verified = 1 AND rolled_back = 1))
);
