// tabula lab up | down | list: the virtual rack (src/lab). Needs root, QEMU, dnsmasq and the built boot
// image (npm run lab builds it first).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { TabulaError } from '../../domain/errors.js';
import type { HostPlan } from '../../domain/plan-types.js';
import { type LabState, apiOk, createLab, defaultRunRoot, destroyLab, listLabs, loadState, startBlade } from '../../lab/rack.js';
import { OVMF_CODE, OVMF_VARS, type FirmwareChoice, checkLabName, checkSwitchType, labError } from '../../lab/spec.js';
import { bladeJson, summaryText } from '../../lab/summary.js';
import { type BladeResult, watchBlades } from '../../lab/watch.js';
import { findPackageRoot } from '../../store/migrate.js';
import { type Ctx, type Session, action } from '../context.js';

interface UpOptions {
  blades: number;
  firmware: FirmwareChoice;
  nics: number;
  /** Checked in the action (checkSwitchType): a bad value is LAB_INVALID, like a bad lab name. */
  switch: string;
  timeout: number;
  once?: boolean;
  name?: string;
}

const whole =
  (flag: string, min: number, max: number) =>
  (v: string): number => {
    if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}.`);
    return Number(v);
  };

const labFailure = (message: string): TabulaError => labError(message, 'LAB_FAILED');

function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(path.join(d, cmd)));
}

/** Why the lab cannot run here, or null. */
export function labUnavailable(firmware: FirmwareChoice): string | null {
  if (process.platform !== 'linux') return 'the lab needs Linux (network namespaces, taps)';
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespace, taps, DHCP on port 67)';
  for (const [cmd, pkg] of [
    ['ip', 'iproute2'],
    ['qemu-system-x86_64', 'qemu-system-x86'],
  ] as const) {
    if (!onPath(cmd)) return `'${cmd}' is not installed (apt-get install ${pkg})`;
  }
  // Router advertisements: radvd (preferred: no SLAAC on the blades) or dnsmasq's ra-only mode.
  if (!onPath('radvd') && !onPath('dnsmasq')) return "neither 'radvd' nor 'dnsmasq' is installed (apt-get install radvd)";
  if (!existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom')) return "QEMU's iPXE ROM is missing (apt-get install ipxe-qemu)";
  if (firmware !== 'bios' && !(existsSync(OVMF_CODE) && existsSync(OVMF_VARS))) return `UEFI firmware ${OVMF_CODE} is missing (apt-get install ovmf)`;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  return null;
}

/** The running CLI's main.js (so that serve runs the same build). */
function cliMain(): string {
  const script = process.argv[1];
  if (script && /[\\/]cli[\\/]main\.js$/.test(script)) return path.resolve(script);
  return path.join(findPackageRoot(), 'dist', 'cli', 'main.js');
}

async function plannedInterfaces(s: LabState, r: BladeResult): Promise<HostPlan['state']['interfaces']> {
  try {
    return (await apiOk<HostPlan>(s, 'GET', `/api/v1/hosts/${encodeURIComponent(r.host)}/plan`)).state.interfaces;
  } catch {
    return [];
  }
}

function howTo(s: LabState): string {
  const ex = `ip netns exec ${s.namespace}`;
  return [
    `The rack '${s.name}' keeps running in namespace ${s.namespace} (state: ${path.join(s.dir, 'state.json')}).`,
    `  API:     ${ex} curl -s -H 'Authorization: Bearer ${s.token}' ${s.apiUrl}/api/v1/hosts`,
    `           (or from here: curl -s --unix-socket ${s.socket} -H 'Authorization: Bearer ${s.token}' http://lab/api/v1/hosts)`,
    `  token:   ${s.token}`,
    `  CLI:     tabula --db ${s.db} host list`,
    `  console: tail -f ${path.join(s.dir, 'blade1.serial')}   server log: ${s.serverLog}`,
    `  stop:    tabula lab down ${s.name}`,
    '',
  ].join('\n');
}

async function up(ctx: Ctx, o: UpOptions): Promise<void> {
  const switchType = checkSwitchType(o.switch);
  const why = labUnavailable(o.firmware);
  if (why) throw labFailure(why);
  const tftpRoot = path.join(findPackageRoot(), 'pxe', 'build');
  for (const f of ['vmlinuz', 'initrd.img']) {
    if (!existsSync(path.join(tftpRoot, f))) throw labFailure(`${path.join(tftpRoot, f)} is missing: build the boot image first (npm run build:pxe)`);
  }
  // Progress goes to stderr with --json, so that stdout is the JSON document alone.
  const say = (line: string): void => (ctx.json ? ctx.err(`${line}\n`) : ctx.out(`${line}\n`));
  const t0 = Date.now();
  let state: LabState | null = null;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = true;
    if (state) {
      ctx.err(`\n${sig}: removing lab '${state.name}'\n`);
      destroyLab(state);
    }
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    state = await createLab({ runRoot: defaultRunRoot(ctx.session.env), blades: o.blades, nics: o.nics, firmware: o.firmware, switchType, cliMain: cliMain(), tftpRoot, ...(o.name ? { name: o.name } : {}), say });
    const s = state;
    say(`lab '${s.name}' (switch ${s.switchType}) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; booting ${s.blades.length} blade(s): ${s.blades.map((b) => `${b.name} (${b.firmware}, ${b.macs.length} NICs)`).join(', ')}`);
    for (const b of s.blades) startBlade(s, b.name);
    const results = await watchBlades(
      s,
      s.blades.map((b) => ({ blade: b })),
      { timeoutMs: o.timeout * 1000, onStage: (name, stage, sec) => say(`  ${sec.toFixed(1).padStart(6)} s  ${name.padEnd(8)} ${stage}`) },
    );
    const planned = new Map<string, boolean>();
    for (const r of results) {
      if (r.report === null) {
        r.interfaces = await plannedInterfaces(s, r);
        planned.set(r.name, true);
      }
    }
    if (ctx.json) {
      ctx.out(`${JSON.stringify(results.map((r) => ({ ...bladeJson(r), ...(planned.get(r.name) ? { interfaces: [], plannedInterfaces: r.interfaces } : {}) })), null, 2)}\n`);
    } else {
      say('');
      say(summaryText(results, (r) => (planned.get(r.name) ? 'interfaces as planned: this server has no report route yet' : 'interfaces as the blade reported them')));
    }
    const allVerified = results.every((r) => r.verified);
    if (o.once) {
      destroyLab(s);
      state = null;
      say(`lab '${s.name}' removed (--once)`);
    } else {
      (ctx.json ? ctx.err.bind(ctx) : ctx.out.bind(ctx))(howTo(s));
    }
    if (!allVerified) ctx.fail(1);
  } catch (e) {
    if (state && !interrupted) destroyLab(state);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function down(ctx: Ctx, name: string | undefined): void {
  const root = defaultRunRoot(ctx.session.env);
  const names = name ? [name] : listLabs(root);
  if (!names.length) {
    ctx.print({ removed: [] }, () => 'no lab is running\n');
    return;
  }
  const removed: { name: string; removed: string[] }[] = [];
  for (const n of names) removed.push({ name: n, removed: destroyLab(loadState(root, checkLabName(n))) });
  ctx.print({ removed }, () => removed.map((r) => `lab '${r.name}' removed: ${r.removed.join(', ') || 'nothing was running'}\n`).join(''));
}

function list(ctx: Ctx): void {
  const root = defaultRunRoot(ctx.session.env);
  const labs = listLabs(root).map((n) => loadState(root, n));
  ctx.print(
    labs.map((l) => ({ name: l.name, namespace: l.namespace, switchType: l.switchType, createdAt: l.createdAt, blades: l.blades.map((b) => b.name), dir: l.dir })),
    () =>
      labs.length === 0
        ? 'no lab is running\n'
        : ctx.table(
            [
              { header: 'NAME', value: (l: LabState) => l.name },
              { header: 'NAMESPACE', value: (l: LabState) => l.namespace },
              { header: 'SWITCH', value: (l: LabState) => l.switchType },
              { header: 'BLADES', value: (l: LabState) => l.blades.length },
              { header: 'CREATED', value: (l: LabState) => l.createdAt },
            ],
            labs,
          ),
  );
}

export function registerLab(program: Command, session: Session): void {
  const lab = program.command('lab').description('the virtual rack: PXE-boot diskless QEMU blades from tabula serve in a network namespace of their own (root)');
  lab
    .command('up')
    .description('build a rack, seed the demo cluster, boot the blades and wait until each is verified, failed or --timeout passed')
    .addOption(new Option('--blades <n>', 'number of blades').default(3).argParser(whole('--blades', 1, 32)))
    .addOption(new Option('--firmware <fw>', 'bios, uefi, or mixed (every third blade UEFI)').default('mixed').choices(['bios', 'uefi', 'mixed']))
    .addOption(new Option('--nics <k>', 'NICs per blade (4: a second bond, balance-xor on linux, balance-slb on ovs)').default(2).argParser(whole('--nics', 1, 8)))
    .addOption(new Option('--switch <type>', "the demo cluster's switch type: linux (kernel bonds, VLANs, bridges) or ovs (Open vSwitch)").default('linux'))
    .addOption(new Option('--timeout <seconds>', 'give up waiting after this long').default(600).argParser(whole('--timeout', 10, 7200)))
    .option('--once', 'tear the rack down after the summary (exit 0 only when every blade verified)')
    .option('--name <name>', 'lab name (default: a unique one)')
    .action(action<UpOptions>(session, (ctx, _args, o) => up(ctx, o)));
  lab
    .command('down')
    .description('remove a lab (every one without NAME): its processes by PID, its namespace, bridge and taps, its run folder')
    .argument('[name]', 'lab name')
    .action(action(session, (ctx, [name]) => down(ctx, name as string | undefined)));
  lab
    .command('list')
    .description('labs that are running')
    .action(action(session, (ctx) => list(ctx)));
}
