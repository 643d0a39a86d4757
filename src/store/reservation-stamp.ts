// A cheap stamp of what the DHCP reservations derive from (src/boot/dhcp/reservations.ts): hosts
// (any change to a host's plan bumps its generation), networks and boot file overrides. Boot reports,
// leases and timeline events leave it unchanged, so a boot storm does not rebuild the index.
import type { SqliteRepository } from './sqlite.js';

const STAMP_SQL = `SELECT
  (SELECT COUNT(*) || ',' || TOTAL(generation) || ',' || IFNULL(MAX(id), 0) FROM hosts) || '/' ||
  (SELECT COUNT(*) || ',' || IFNULL(MAX(id), 0) || ',' || TOTAL(IFNULL(vlan, -1)) || ',' || TOTAL(CASE WHEN role = 'management' THEN id END) FROM networks) || '/' ||
  (SELECT COUNT(*) || ',' || IFNULL(MAX(updated_at), '') FROM boot_files) AS v`;

export function reservationStamp(repo: SqliteRepository): string {
  return (repo.statement(STAMP_SQL).get() as { v: string }).v;
}
