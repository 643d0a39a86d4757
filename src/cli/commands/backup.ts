// tabula backup FILE [--force]: a consistent copy of the database, safe while `tabula serve` runs.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { backupDatabase } from '../../store/backup.js';
import { type Session, action } from '../context.js';

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

export function registerBackup(program: Command, session: Session): void {
  program
    .command('backup')
    .description('copy the database to FILE while Tabula keeps running (one consistent snapshot, checked before it is kept)')
    .argument('<file>', 'the backup to write (its directory must exist)')
    .option('--force', 'replace FILE when it exists')
    .action(
      action<{ force?: boolean }>(session, (ctx, [file], opts) => {
        const source = ctx.session.dbPath(ctx.globals);
        // Progress for a large database: the copy is one call, so say what it is about to do.
        let size = 0;
        try {
          size = statSync(source).size;
        } catch {
          // missing: backupDatabase says so
        }
        if (!ctx.json && size > 0) ctx.err(`copying ${source} (${mib(size)})...\n`);
        const r = backupDatabase(source, file as string, { force: opts.force === true });
        ctx.print(r, () => `backup of ${source} written to ${r.file}: ${mib(r.bytes)}, schema ${String(r.schemaVersion).padStart(3, '0')}, ${r.hosts} host(s), integrity ok, ${r.ms} ms\n`);
      }),
    );
}
