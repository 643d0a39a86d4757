-- A boot adopts the unattached events of its host's other NICs (startBoot). Without this index that
-- lookup scanned every unattached event of the last 10 minutes: during a storm of thousands of
-- blades, each boot start read tens of thousands of rows. By MAC the partial index
-- boot_events_unattached (mac, at) already serves it.
CREATE INDEX boot_events_unattached_host ON boot_events (host_id, at) WHERE boot_id IS NULL;
