// One transaction runner per connection: db.transaction() builds a new wrapper on every call, which
// the DHCP and boot hot paths paid per packet and per event. Nested calls become savepoints.
import type Database from 'better-sqlite3';

const runners = new WeakMap<Database.Database, (fn: () => unknown) => unknown>();

/** Runs `fn` in a transaction of `db` (a savepoint when one is open); a throw rolls back and rethrows. */
export function atomically<T>(db: Database.Database, fn: () => T): T {
  let run = runners.get(db);
  if (!run) {
    run = db.transaction((f: () => unknown) => f());
    runners.set(db, run);
  }
  return run(fn) as T;
}
