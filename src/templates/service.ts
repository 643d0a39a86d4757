// Admin-editable templates: which revision a host gets (host pin > cluster pin > current), previews of
// exactly what a host would get, blast-radius diffs, and the checked writes (save, rollback, pin).
//
// Every write that changes what some host gets first renders the template for each of those hosts and
// lints the output (`sh -n`, `#!ipxe`); a failure refuses the write with the host and the line, and the
// database stays as it was. Rollback moves the current pointer back to an older revision (revisions
// are immutable and their numbers always mean the same text); it is checked like a save.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TabulaError, type Violation } from '../domain/errors.js';
import type { HostPlan } from '../domain/plan-types.js';
import type { EngineApi, HostView } from '../engine/types.js';
import { fallbackPlan } from '../boot/http/fallback.js';
import { HookService } from '../store/hook-store.js';
import { SqliteRepository } from '../store/sqlite.js';
import {
  type PinTarget,
  SHIPPED_AUTHOR,
  TEMPLATE_NAMES,
  type TemplateCurrent,
  type TemplateName,
  type TemplatePin,
  type TemplateRevision,
  TemplateStore,
} from '../store/template-store.js';
import type { ApplyContext } from './apply.js';
import { unifiedDiff } from './diff.js';
import type { GenericIpxeContext, HostIpxeContext } from './ipxe.js';
import { type LintProblem, type OutputKind, lintOutput } from './lint.js';
import { findTemplatesDir } from './paths.js';
import { SAMPLE_HOST, SAMPLE_HOST_NAME, sampleHooks, samplePlan } from './sample.js';
import { type CompiledTemplate, checkTemplateSource, compileTemplate, createTemplateEnv } from './sandbox.js';

export { TEMPLATE_NAMES, type TemplateName } from '../store/template-store.js';

/** The context each template is rendered with. */
export interface TemplateContexts {
  'boot.ipxe': GenericIpxeContext;
  'host.ipxe': HostIpxeContext;
  'apply.sh': ApplyContext;
}

export interface TemplateInfo {
  /** The shipped file in templates/ (revision 1). */
  file: string;
  output: OutputKind;
  /** Rendered per host (and so pinnable), or once for every blade. */
  perHost: boolean;
  description: string;
}

export const TEMPLATE_INFO: Readonly<Record<TemplateName, TemplateInfo>> = {
  'boot.ipxe': {
    file: 'boot.ipxe.hbs',
    output: 'ipxe',
    perHost: false,
    description: 'Generic iPXE script (GET /boot.ipxe): served before the server knows the blade, so one text for every blade; not pinnable.',
  },
  'host.ipxe': {
    file: 'host.ipxe.hbs',
    output: 'ipxe',
    perHost: true,
    description: 'Per-host iPXE script (GET /boot/{mac}/ipxe): kernel, initrd and the kernel command line with the boot token.',
  },
  'apply.sh': {
    file: 'apply.sh.hbs',
    output: 'shell',
    perHost: true,
    description: "Apply script (GET /boot/{mac}/config): builds the host's network from a bare kernel, from its plan.",
  },
};

/** Largest template source accepted. */
export const MAX_TEMPLATE_BYTES = 256 * 1024;
/** Stands in for the per-boot token in previews: a real token exists only inside a boot. */
export const PREVIEW_TOKEN = 'PREVIEW-BOOT-TOKEN';

/** What the boot chain tells blades; previews use the values of the server that serves this database. */
export interface BootSettings {
  publicUrl: string;
  kernelArgs: string;
  retrySeconds: number;
}

export const DEFAULT_BOOT_SETTINGS: BootSettings = { publicUrl: 'http://tabula.invalid:8080', kernelArgs: 'console=ttyS0 panic=-1', retrySeconds: 5 };

export type Via = 'host-pin' | 'cluster-pin' | 'current';

export interface Effective {
  revision: number;
  via: Via;
}

export interface TemplateSummary {
  name: TemplateName;
  file: string;
  output: OutputKind;
  perHost: boolean;
  current: number;
  revisions: number;
  pins: number;
  updatedBy: string;
  updatedAt: string;
  description: string;
}

export type RevisionInfo = Omit<TemplateRevision, 'source'> & { current: boolean };

export interface PinView {
  name: TemplateName;
  revision: number;
  host: string | null;
  cluster: string | null;
  author: string;
  createdAt: string;
}

export interface RenderResult {
  name: TemplateName;
  /** null for boot.ipxe rendered without a host. */
  host: string | null;
  /** null when a proposed source was rendered. */
  revision: number | null;
  via: Via | 'proposed' | 'requested';
  /** Present when the host's configuration is invalid and the boot chain serves the fallback plan. */
  fallback: string | null;
  text: string;
}

export interface HostNote {
  host: string;
  code: string;
  message: string;
  line: number | null;
}

export interface DiffGroup {
  hosts: string[];
  diff: string;
}

export interface BlastRadius {
  name: TemplateName;
  /** The revision the hosts that follow the current pointer get today. */
  current: number;
  /** Hosts whose output changes, grouped by identical diff, largest group first. */
  groups: DiffGroup[];
  changed: number;
  unchanged: string[];
  /** Hosts on a pin: the change does not reach them. */
  pinned: { host: string; revision: number; via: Via }[];
  /** Hosts the proposed source fails to render for. */
  failed: HostNote[];
  /** Hosts nothing can be rendered for (no plan, no MAC). */
  skipped: HostNote[];
}

export interface CheckSummary {
  /** Hosts rendered and linted. */
  checked: string[];
  skipped: HostNote[];
}

export interface SaveResult extends CheckSummary {
  revision: RevisionInfo;
  previous: number;
  activated: boolean;
}

export interface RollbackResult extends CheckSummary {
  name: TemplateName;
  previous: number;
  current: number;
}

export interface PinResult extends CheckSummary {
  pin: PinView;
}

export interface SaveInput {
  source: string;
  message: string;
  author?: string;
  /** Default true. False keeps the current revision (a candidate for canary pins). */
  activate?: boolean;
}

export type PinTargetRef = { host: string } | { cluster: string };

const DEFAULT_AUTHOR = 'admin';

// ---------------------------------------------------------------- errors

function bad(code: string, message: string, details: Record<string, unknown>): TabulaError {
  const violation: Violation = { code, message, severity: 'error' };
  return new TabulaError('validation', code, message, { ...details, violations: [violation] });
}

export function parseTemplateName(name: string): TemplateName {
  const n = name.endsWith('.hbs') ? name.slice(0, -4) : name;
  if ((TEMPLATE_NAMES as readonly string[]).includes(n)) return n as TemplateName;
  throw new TabulaError('not-found', 'TEMPLATE_NOT_FOUND', `template '${name.slice(0, 64)}' does not exist (templates: ${TEMPLATE_NAMES.join(', ')})`, {
    template: name.slice(0, 64),
  });
}

function checkRevisionNumber(name: TemplateName, revision: number): void {
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw bad('TEMPLATE_REVISION_INVALID', `template '${name}': revision ${revision} is not a whole number >= 1`, { template: name, revision });
  }
}

function checkText(name: TemplateName, what: 'message' | 'author', value: string, max: number): string {
  const v = value.trim();
  if (v.length === 0 || v.length > max || /[\u0000-\u001f]/.test(v)) {
    throw bad('TEMPLATE_INPUT_INVALID', `template '${name}': the ${what} must be 1 to ${max} printable characters on one line`, { template: name, field: what });
  }
  if (what === 'author' && v === SHIPPED_AUTHOR) {
    // Revisions by this author count as shipped ones, which a Tabula upgrade may replace.
    throw bad('TEMPLATE_INPUT_INVALID', `template '${name}': the author '${SHIPPED_AUTHOR}' is reserved for the shipped templates`, { template: name, field: what });
  }
  return v;
}

export function readShippedTemplates(dir = findTemplatesDir()): Record<TemplateName, string> {
  const out = {} as Record<TemplateName, string>;
  for (const name of TEMPLATE_NAMES) out[name] = readFileSync(join(dir, TEMPLATE_INFO[name].file), 'utf8');
  return out;
}

// ---------------------------------------------------------------- the service

interface HostEntry {
  view: HostView;
  effective: Effective;
}

type Prepared = { ok: true; context: unknown; fallback: string | null } | { ok: false; note: HostNote };

export interface TemplateServiceOptions {
  /** Sources of revision 1; default: the files in templates/. */
  shipped?: Record<TemplateName, string>;
  boot?: BootSettings;
}

export class TemplateService {
  readonly store: TemplateStore;
  private readonly shipped: Record<TemplateName, string>;
  private synced = false;
  private readonly cache = new Map<string, CompiledTemplate<unknown>>();
  /** What the boot chain on this database tells blades; previews use it. */
  boot: BootSettings;

  constructor(
    private readonly engine: EngineApi,
    private readonly repo: SqliteRepository,
    opts: TemplateServiceOptions = {},
  ) {
    this.store = new TemplateStore(repo);
    this.shipped = opts.shipped ?? readShippedTemplates();
    this.boot = opts.boot ?? { ...DEFAULT_BOOT_SETTINGS };
  }

  /** Seeds revision 1 (and shipped updates) on first use. */
  private ready(): void {
    if (this.synced) return;
    this.store.syncShipped(this.shipped);
    this.synced = true;
  }

  private current(name: TemplateName): TemplateCurrent {
    this.ready();
    const c = this.store.current(name);
    if (!c) throw new Error(`template '${name}' has no current revision`);
    return c;
  }

  private revision(name: TemplateName, revision: number): TemplateRevision {
    checkRevisionNumber(name, revision);
    this.ready();
    const r = this.store.getRevision(name, revision);
    if (!r) {
      throw new TabulaError('not-found', 'TEMPLATE_REVISION_NOT_FOUND', `template '${name}' has no revision ${revision}`, { template: name, revision });
    }
    return r;
  }

  /** Compiles a source, or refuses it with TEMPLATE_COMPILE_FAILED and the line. */
  private compileSource(name: TemplateName, source: string, label: string): CompiledTemplate<unknown> {
    if (Buffer.byteLength(source, 'utf8') > MAX_TEMPLATE_BYTES) {
      throw bad('TEMPLATE_TOO_LARGE', `template '${name}' (${label}) is larger than ${MAX_TEMPLATE_BYTES} bytes`, { template: name });
    }
    const env = createTemplateEnv();
    const problem = checkTemplateSource(env, source);
    if (problem) {
      throw bad('TEMPLATE_COMPILE_FAILED', `template '${name}' (${label}) does not compile${problem.line !== null ? ` at line ${problem.line}` : ''}: ${problem.message}`, {
        template: name,
        line: problem.line,
      });
    }
    return compileTemplate<unknown>(env, source, name);
  }

  private compiled(name: TemplateName, revision: number): CompiledTemplate<unknown> {
    const key = `${name}@${revision}`;
    let t = this.cache.get(key);
    if (!t) {
      t = this.compileSource(name, this.revision(name, revision).source, `revision ${revision}`);
      this.cache.set(key, t);
    }
    return t;
  }

  // -------------------------------------------------------------- resolution

  private pinMaps(name: TemplateName): { hosts: Map<number, number>; clusters: Map<number, number> } {
    const hosts = new Map<number, number>();
    const clusters = new Map<number, number>();
    for (const p of this.store.listPins(name)) (p.target.kind === 'host' ? hosts : clusters).set(p.target.id, p.revision);
    return { hosts, clusters };
  }

  private effectiveFrom(pins: { hosts: Map<number, number>; clusters: Map<number, number> }, current: number, host: { id: number; clusterId: number }): Effective {
    const h = pins.hosts.get(host.id);
    if (h !== undefined) return { revision: h, via: 'host-pin' };
    const c = pins.clusters.get(host.clusterId);
    if (c !== undefined) return { revision: c, via: 'cluster-pin' };
    return { revision: current, via: 'current' };
  }

  /** The revision of `name` that host `hostId` gets: host pin, else cluster pin, else current. */
  effectiveRevision(name: TemplateName, hostId: number): Effective {
    const current = this.current(name).revision;
    if (!TEMPLATE_INFO[name].perHost) return { revision: current, via: 'current' };
    const host = this.repo.getHostById(hostId);
    if (!host) return { revision: current, via: 'current' };
    return this.effectiveFrom(this.pinMaps(name), current, host);
  }

  private hostEntries(name: TemplateName): HostEntry[] {
    const current = this.current(name).revision;
    const pins = this.pinMaps(name);
    return this.engine.listHosts().map((view) => ({
      view,
      effective: TEMPLATE_INFO[name].perHost ? this.effectiveFrom(pins, current, view) : { revision: current, via: 'current' as const },
    }));
  }

  // -------------------------------------------------------------- the boot chain

  // A revision that fails for a host at boot time (its data changed since the revision was checked)
  // answers TEMPLATE_RENDER_FAILED naming the host; the blade keeps its boot network and retries.

  renderGenericIpxe(ctx: GenericIpxeContext): string {
    const rev = this.current('boot.ipxe').revision;
    return this.renderChecked('boot.ipxe', this.compiled('boot.ipxe', rev), ctx, null, `revision ${rev}`);
  }

  renderHostIpxe(hostId: number, ctx: HostIpxeContext): string {
    const rev = this.effectiveRevision('host.ipxe', hostId).revision;
    return this.renderChecked('host.ipxe', this.compiled('host.ipxe', rev), ctx, ctx.host.name, `revision ${rev}`);
  }

  renderApply(hostId: number, plan: HostPlan): string {
    const rev = this.effectiveRevision('apply.sh', hostId).revision;
    const ctx: ApplyContext = { plan, hooks: this.hooksOf(hostId) };
    return this.renderChecked('apply.sh', this.compiled('apply.sh', rev), ctx, plan.host, `revision ${rev}`);
  }

  /** The admin hooks a host's apply script carries (cluster's, then its own), fallback plan included. */
  private hooksOf(hostId: number): ApplyContext['hooks'] {
    return new HookService(this.engine, this.repo).forHost(hostId);
  }

  // -------------------------------------------------------------- contexts, as the boot chain builds them

  /** The plan the config route serves: the host's plan, or the fallback plan when its configuration is invalid. */
  private planFor(host: HostView): { plan: HostPlan; fallback: string | null } | HostNote {
    try {
      return { plan: this.engine.getPlan(host.id), fallback: null };
    } catch (err) {
      if (!(err instanceof TabulaError)) throw err;
      if (err.code !== 'HOST_CONFIG_INVALID') return { host: host.name, code: err.code, message: err.message, line: null };
      const violations = (err.details.violations ?? []) as Violation[];
      const safe = host.bootMac !== null ? fallbackPlan(this.repo.loadHostConfig(host.id), host.bootMac) : null;
      if (!safe) return { host: host.name, code: err.code, message: `${err.message}; no fallback plan either (no boot NIC known)`, line: null };
      return { plan: safe.plan, fallback: violations[0]?.code ?? err.code };
    }
  }

  private prepare(name: TemplateName, host: HostView | null): Prepared {
    const b = this.boot;
    if (name === 'boot.ipxe') return { ok: true, context: { publicUrl: b.publicUrl.replace(/\/+$/, ''), retrySeconds: b.retrySeconds } satisfies GenericIpxeContext, fallback: null };
    if (!host) throw new TabulaError('bad-request', 'TEMPLATE_HOST_REQUIRED', `template '${name}' is rendered per host: name a host`, { template: name });
    if (name === 'host.ipxe') {
      const mac = host.bootMac ?? this.engine.listNics(host.id)[0]?.mac ?? null;
      if (mac === null) return { ok: false, note: { host: host.name, code: 'HOST_NO_MAC', message: `host '${host.name}' has no boot MAC and no NIC yet`, line: null } };
      const ctx: HostIpxeContext = {
        publicUrl: b.publicUrl.replace(/\/+$/, ''),
        mac: mac.replace(/:/g, '-'),
        token: PREVIEW_TOKEN,
        kernelArgs: b.kernelArgs,
        host: { name: host.name, generation: host.generation },
      };
      return { ok: true, context: ctx, fallback: null };
    }
    const p = this.planFor(host);
    if ('host' in p) return { ok: false, note: p };
    return { ok: true, context: { plan: p.plan, hooks: this.hooksOf(host.id) } satisfies ApplyContext, fallback: p.fallback };
  }

  // -------------------------------------------------------------- reads

  list(): TemplateSummary[] {
    this.ready();
    const pins = this.store.listPins();
    return TEMPLATE_NAMES.map((name) => {
      const c = this.current(name);
      const info = TEMPLATE_INFO[name];
      return {
        name,
        file: info.file,
        output: info.output,
        perHost: info.perHost,
        current: c.revision,
        revisions: this.store.countRevisions(name),
        pins: pins.filter((p) => p.name === name).length,
        updatedBy: c.updatedBy,
        updatedAt: c.updatedAt,
        description: info.description,
      };
    });
  }

  /** One revision with its source (default: the current one). */
  show(nameRef: string, revision?: number): TemplateRevision & { current: boolean } {
    const name = parseTemplateName(nameRef);
    const current = this.current(name).revision;
    const r = this.revision(name, revision ?? current);
    return { ...r, current: r.revision === current };
  }

  /** Every revision, newest first, without sources. */
  history(nameRef: string): RevisionInfo[] {
    const name = parseTemplateName(nameRef);
    const current = this.current(name).revision;
    return this.store.listRevisions(name).map(({ source: _source, ...r }) => ({ ...r, current: r.revision === current }));
  }

  pins(nameRef?: string): PinView[] {
    this.ready();
    const name = nameRef === undefined ? undefined : parseTemplateName(nameRef);
    return this.store.listPins(name).map((p) => this.pinView(p));
  }

  private pinView(p: TemplatePin): PinView {
    const host = p.target.kind === 'host' ? (this.repo.getHostById(p.target.id)?.name ?? String(p.target.id)) : null;
    const cluster = p.target.kind === 'cluster' ? (this.repo.getClusterById(p.target.id)?.name ?? String(p.target.id)) : null;
    return { name: p.name, revision: p.revision, host, cluster, author: p.author, createdAt: p.createdAt };
  }

  /**
   * Exactly what `host` gets for `name` (its effective revision), or what it would get from another
   * revision or a proposed source. The boot token is PREVIEW_TOKEN: real ones exist only inside a boot.
   */
  render(nameRef: string, hostRef: string | null, opts: { revision?: number; source?: string } = {}): RenderResult {
    const name = parseTemplateName(nameRef);
    if (opts.revision !== undefined && opts.source !== undefined) {
      throw new TabulaError('bad-request', 'TEMPLATE_INPUT_INVALID', `template '${name}': give a revision or a source to render, not both`, { template: name });
    }
    const host = hostRef === null ? null : this.engine.getHost(hostRef);
    let revision: number | null;
    let via: RenderResult['via'];
    let t: CompiledTemplate<unknown>;
    if (opts.source !== undefined) {
      t = this.compileSource(name, opts.source, 'proposed');
      revision = null;
      via = 'proposed';
    } else {
      const eff = opts.revision !== undefined ? { revision: opts.revision, via: 'requested' as const } : host ? this.effectiveRevision(name, host.id) : { revision: this.current(name).revision, via: 'current' as const };
      t = this.compiled(name, eff.revision);
      revision = eff.revision;
      via = eff.via;
    }
    const prepared = this.prepare(name, host);
    if (!prepared.ok) throw new TabulaError('validation', 'TEMPLATE_PREVIEW_UNAVAILABLE', `template '${name}' cannot be rendered for host '${prepared.note.host}': ${prepared.note.message}`, { template: name, host: prepared.note.host, reason: prepared.note.code });
    const text = this.renderChecked(name, t, prepared.context, host?.name ?? null, revision === null ? 'proposed' : `revision ${revision}`);
    return { name, host: host?.name ?? null, revision, via, fallback: prepared.fallback, text };
  }

  private renderChecked(name: TemplateName, t: CompiledTemplate<unknown>, context: unknown, host: string | null, label: string): string {
    try {
      return t.render(context);
    } catch (e) {
      const msg = (e as Error).message.replace(/^template '[^']*': /, '');
      const m = / - (\d+):\d+$/.exec(msg);
      const line = m ? Number(m[1]) : null;
      throw bad('TEMPLATE_RENDER_FAILED', `template '${name}' (${label}) fails to render${host !== null ? ` for host '${host}'` : ''}${line !== null ? ` at template line ${line}` : ''}: ${msg}`, {
        template: name,
        host,
        line,
      });
    }
  }

  /** Renders a proposed source for every host that follows the current revision and groups the differences. */
  diff(nameRef: string, source: string): BlastRadius {
    const name = parseTemplateName(nameRef);
    const proposed = this.compileSource(name, source, 'proposed');
    const current = this.current(name).revision;
    const base = this.compiled(name, current);
    const out: BlastRadius = { name, current, groups: [], changed: 0, unchanged: [], pinned: [], failed: [], skipped: [] };
    const byDiff = new Map<string, string[]>();
    const note = (host: string | null, d: string): void => {
      const list = byDiff.get(d);
      if (list) list.push(host ?? '*');
      else byDiff.set(d, [host ?? '*']);
    };
    const entries = this.hostEntries(name);
    const targets: (HostView | null)[] = TEMPLATE_INFO[name].perHost ? [] : [null];
    for (const e of entries) {
      if (e.effective.via !== 'current') out.pinned.push({ host: e.view.name, revision: e.effective.revision, via: e.effective.via });
      else if (TEMPLATE_INFO[name].perHost) targets.push(e.view);
    }
    for (const host of targets) {
      const p = this.prepare(name, host);
      if (!p.ok) {
        out.skipped.push(p.note);
        continue;
      }
      let before: string;
      let after: string;
      try {
        before = base.render(p.context);
      } catch (e) {
        before = `(revision ${current} fails to render: ${(e as Error).message})\n`;
      }
      try {
        after = this.renderChecked(name, proposed, p.context, host?.name ?? null, 'proposed');
      } catch (e) {
        const err = e as TabulaError;
        out.failed.push({ host: host?.name ?? '*', code: err.code, message: err.message, line: (err.details.line as number | null) ?? null });
        continue;
      }
      note(host?.name ?? null, unifiedDiff(before, after, { fromLabel: `${name}@${current}`, toLabel: `${name} (proposed)` }));
    }
    // boot.ipxe is one text for every blade: its group lists every host ('*' when there is none yet).
    const all = (hosts: string[]): string[] => (hosts.length === 1 && hosts[0] === '*' && entries.length > 0 ? entries.map((e) => e.view.name) : hosts);
    for (const [d, hosts] of byDiff) {
      if (d === '') out.unchanged.push(...all(hosts));
      else out.groups.push({ hosts: all(hosts), diff: d });
    }
    out.groups.sort((a, b) => b.hosts.length - a.hosts.length || (a.hosts[0] ?? '').localeCompare(b.hosts[0] ?? ''));
    out.changed = out.groups.reduce((n, g) => n + g.hosts.length, 0);
    return out;
  }

  // -------------------------------------------------------------- checks before a write

  /**
   * Renders `t` for each host (or once, for boot.ipxe) and lints the output. Identical outputs are linted
   * once. Throws TEMPLATE_RENDER_FAILED or TEMPLATE_LINT_FAILED naming the first failing host.
   */
  private async check(name: TemplateName, t: CompiledTemplate<unknown>, hosts: (HostView | null)[], label: string): Promise<CheckSummary> {
    const summary: CheckSummary = { checked: [], skipped: [] };
    const outputs = new Map<string, string[]>();
    for (const host of hosts) {
      const p = this.prepare(name, host);
      if (!p.ok) {
        summary.skipped.push(p.note);
        continue;
      }
      const text = this.renderChecked(name, t, p.context, host?.name ?? null, label);
      const who = host?.name ?? '*';
      const list = outputs.get(text);
      if (list) list.push(who);
      else outputs.set(text, [who]);
      summary.checked.push(who);
    }
    if (summary.checked.length === 0 && name !== 'boot.ipxe') {
      // Nothing real to check against: the built-in sample host stands in, so a broken script is still refused.
      const text = this.renderChecked(name, t, this.sampleContext(name), SAMPLE_HOST, label);
      outputs.set(text, [SAMPLE_HOST]);
      summary.checked.push(SAMPLE_HOST);
    }
    // Two shells at a time: the machine may be busy serving boots.
    const texts = [...outputs.keys()];
    const problems: (LintProblem | null)[] = new Array<LintProblem | null>(texts.length).fill(null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < texts.length) {
        const k = next++;
        problems[k] = await lintOutput(TEMPLATE_INFO[name].output, texts[k] as string);
      }
    };
    await Promise.all([worker(), worker()]);
    for (let k = 0; k < texts.length; k++) {
      const problem = problems[k];
      if (!problem) continue;
      const hostsOf = outputs.get(texts[k] as string) as string[];
      const host = hostsOf[0] === '*' ? null : (hostsOf[0] as string);
      const text = texts[k] as string;
      const lineText = problem.line !== null ? (text.split('\n')[problem.line - 1] ?? '') : null;
      throw bad(
        'TEMPLATE_LINT_FAILED',
        `template '${name}' (${label}) renders ${TEMPLATE_INFO[name].output === 'shell' ? 'a script that fails sh -n' : 'an invalid iPXE script'}${host !== null ? ` for host '${host}'` : ''}${hostsOf.length > 1 ? ` (and ${hostsOf.length - 1} more)` : ''}${problem.line !== null ? ` at output line ${problem.line}` : ''}: ${problem.message}`,
        { template: name, host, hosts: hostsOf, line: problem.line, lineText },
      );
    }
    return summary;
  }

  private sampleContext(name: 'host.ipxe' | 'apply.sh'): unknown {
    if (name === 'apply.sh') return { plan: samplePlan(), hooks: sampleHooks() } satisfies ApplyContext;
    const b = this.boot;
    return {
      publicUrl: b.publicUrl.replace(/\/+$/, ''),
      mac: '52-54-00-00-00-01',
      token: PREVIEW_TOKEN,
      kernelArgs: b.kernelArgs,
      host: { name: SAMPLE_HOST_NAME, generation: 1 },
    } satisfies HostIpxeContext;
  }

  /** Hosts that follow the current pointer (no pin): the ones a new current revision reaches. */
  private followers(name: TemplateName): (HostView | null)[] {
    if (!TEMPLATE_INFO[name].perHost) return [null];
    return this.hostEntries(name)
      .filter((e) => e.effective.via === 'current')
      .map((e) => e.view);
  }

  private conflict(name: TemplateName, expected: number): TabulaError {
    return new TabulaError('conflict', 'TEMPLATE_CONFLICT', `template '${name}' changed while this change was being checked (current was revision ${expected}); try again`, {
      template: name,
      expected,
    });
  }

  // -------------------------------------------------------------- writes

  /** Compiles, renders and lints for every host that follows the current revision, then appends a revision. */
  async save(nameRef: string, input: SaveInput): Promise<SaveResult> {
    const name = parseTemplateName(nameRef);
    const message = checkText(name, 'message', input.message, 500);
    const author = checkText(name, 'author', input.author ?? DEFAULT_AUTHOR, 128);
    const t = this.compileSource(name, input.source, 'proposed');
    const cur = this.current(name);
    const currentSource = this.revision(name, cur.revision).source;
    if (currentSource === input.source) {
      throw new TabulaError('conflict', 'TEMPLATE_UNCHANGED', `template '${name}': the source is identical to the current revision ${cur.revision}`, {
        template: name,
        revision: cur.revision,
      });
    }
    const summary = await this.check(name, t, this.followers(name), 'proposed');
    const activate = input.activate ?? true;
    const rev = this.store.appendRevision({ name, source: input.source, author, message, activate, expectCurrent: cur.revision });
    if (!rev) throw this.conflict(name, cur.revision);
    const { source: _s, ...info } = rev;
    return { revision: { ...info, current: activate }, previous: cur.revision, activated: activate, ...summary };
  }

  /** Makes an older (or newer) revision current again, checked like a save. */
  async rollback(nameRef: string, revision: number, by?: string): Promise<RollbackResult> {
    const name = parseTemplateName(nameRef);
    const author = checkText(name, 'author', by ?? DEFAULT_AUTHOR, 128);
    const target = this.revision(name, revision);
    const cur = this.current(name);
    if (cur.revision === target.revision) return { name, previous: cur.revision, current: cur.revision, checked: [], skipped: [] };
    const summary = await this.check(name, this.compiled(name, target.revision), this.followers(name), `revision ${target.revision}`);
    if (!this.store.setCurrent({ name, revision: target.revision, by: author, expectCurrent: cur.revision })) throw this.conflict(name, cur.revision);
    return { name, previous: cur.revision, current: target.revision, ...summary };
  }

  private resolveTarget(name: TemplateName, ref: PinTargetRef): { target: PinTarget; label: string; hosts: HostView[] } {
    if ('host' in ref) {
      const h = this.engine.getHost(ref.host);
      return { target: { kind: 'host', id: h.id }, label: `host '${h.name}'`, hosts: [h] };
    }
    const c = this.engine.getCluster(ref.cluster);
    const hostPins = this.pinMaps(name).hosts;
    // Hosts with their own pin keep it: a cluster pin does not reach them.
    const hosts = this.engine.listHosts({ cluster: c.id }).filter((h) => !hostPins.has(h.id));
    return { target: { kind: 'cluster', id: c.id }, label: `cluster '${c.name}'`, hosts };
  }

  /** Pins `revision` for a host or a cluster, after rendering and linting it for the hosts it reaches. */
  async pin(nameRef: string, revision: number, ref: PinTargetRef, by?: string): Promise<PinResult> {
    const name = parseTemplateName(nameRef);
    const author = checkText(name, 'author', by ?? DEFAULT_AUTHOR, 128);
    if (!TEMPLATE_INFO[name].perHost) {
      throw bad('TEMPLATE_NOT_PINNABLE', `template '${name}' is served before the blade is known, so it cannot be pinned per host or cluster`, { template: name });
    }
    const rev = this.revision(name, revision);
    const { target, hosts } = this.resolveTarget(name, ref);
    const summary = await this.check(name, this.compiled(name, rev.revision), hosts, `revision ${rev.revision}`);
    const pin = this.store.setPin({ name, revision: rev.revision, target, author });
    return { pin: this.pinView(pin), ...summary };
  }

  async unpin(nameRef: string, ref: PinTargetRef): Promise<PinView> {
    const name = parseTemplateName(nameRef);
    this.ready();
    const { target, label } = this.resolveTarget(name, ref);
    const pin = this.store.getPin(name, target);
    if (!pin || !this.store.deletePin(name, target)) {
      throw new TabulaError('not-found', 'TEMPLATE_PIN_NOT_FOUND', `template '${name}' has no pin for ${label}`, { template: name, ...ref });
    }
    return Promise.resolve(this.pinView(pin));
  }
}

// ---------------------------------------------------------------- one service per database

const services = new WeakMap<SqliteRepository, TemplateService>();

/** The template service of a database (shared by the boot chain, the API and the CLI in one process). */
export function templateServiceFor(engine: EngineApi, repo: SqliteRepository): TemplateService {
  let s = services.get(repo);
  if (!s) {
    s = new TemplateService(engine, repo);
    services.set(repo, s);
  }
  return s;
}

/** The template service behind an engine opened on SQLite (the API gets only the engine). */
export function templateServiceOf(engine: EngineApi): TemplateService {
  const repo = (engine as { repo?: unknown }).repo;
  if (!(repo instanceof SqliteRepository)) {
    throw new TabulaError('internal', 'TEMPLATES_UNAVAILABLE', 'templates need the engine to run on the SQLite store');
  }
  return templateServiceFor(engine, repo);
}
