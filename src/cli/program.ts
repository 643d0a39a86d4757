// The `tabula` command tree. run() never exits the process: it returns the exit code
// (0 ok, 1 domain or validation error, 2 usage error).
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { LOG_LEVELS } from '../log.js';
import { registerAttach } from './commands/attach.js';
import { registerBackup } from './commands/backup.js';
import { registerBond } from './commands/bond.js';
import { registerBootFiles } from './commands/boot-files.js';
import { registerCluster } from './commands/cluster.js';
import { registerHook } from './commands/hook.js';
import { registerHost } from './commands/host.js';
import { registerLab } from './commands/lab.js';
import { registerNetwork } from './commands/network.js';
import { registerPlan } from './commands/plan.js';
import { registerServe } from './commands/serve.js';
import { registerToken } from './commands/token.js';
import { registerTemplate } from './commands/template.js';
import { DEFAULT_DB, type Io, type RunOptions, Session } from './context.js';
import { formatError, formatUsageError } from './format.js';
import { UsageError } from './parse.js';

export type { Io, RunOptions } from './context.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

const processIo: Io = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
};

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** --json before any `--`: known before commander parses, so that usage errors can be JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

export function buildProgram(session: Session, json: boolean, errColor: boolean): Command {
  const env = session.env;
  const program = new Command('tabula')
    .description('Tabula: stateless PXE-boot provisioning. Manage clusters, networks, hosts, bonds and attachments, or run the server.')
    .version(version(), '-V, --version')
    // Settings first: subcommands created with .command() inherit them.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => session.io.stdout(s),
      writeErr: (s) => session.io.stderr(s),
      outputError: (s, write) => write(formatUsageError(s, { json, color: errColor })),
    })
    .option('--db <path>', `SQLite database (default: $TABULA_DB or ${DEFAULT_DB})${env['TABULA_DB'] ? `, now ${env['TABULA_DB']}` : ''}`)
    .option('--json', 'machine output: JSON on stdout, errors as {"error": {...}} on stderr')
    .addOption(new Option('--log-level <level>', 'log level (default: $TABULA_LOG_LEVEL, else info for serve and warn otherwise)').choices(LOG_LEVELS));

  registerServe(program, session);
  registerToken(program, session);
  registerCluster(program, session);
  registerNetwork(program, session);
  registerHost(program, session);
  registerBond(program, session);
  registerAttach(program, session);
  registerPlan(program, session);
  registerBootFiles(program, session);
  registerTemplate(program, session);
  registerHook(program, session);
  registerLab(program, session);
  registerBackup(program, session);
  return program;
}

/**
 * Runs one `tabula` command line (without the node and script arguments) and returns its exit code.
 * io defaults to the process's stdout/stderr; opts lets tests and embedders stop `serve`, capture logs
 * and feed standard input.
 */
export async function run(argv: string[], io: Io = processIo, opts: RunOptions = {}): Promise<number> {
  const json = wantsJson(argv);
  const real = io === processIo;
  const noColor = (opts.env ?? process.env)['NO_COLOR'] !== undefined;
  const color = opts.color ?? (real && !noColor && process.stdout.isTTY === true);
  const errColor = opts.color ?? (real && !noColor && process.stderr.isTTY === true);
  const session = new Session(io, opts, { color });
  session.argv = argv;
  try {
    const program = buildProgram(session, json, errColor);
    await program.parseAsync(argv, { from: 'user' });
    return session.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed the message (or the help) already.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      io.stderr(formatUsageError(e.message, { json, color: errColor }));
      return EXIT_USAGE;
    }
    io.stderr(formatError(e, { json, color: errColor }));
    return EXIT_ERROR;
  } finally {
    session.close();
  }
}
