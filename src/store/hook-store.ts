// Admin hook scripts per cluster and per host (migration 007). The service checks every write before
// touching the database (name, phase, order, size, then `sh -n`), and a write bumps the generation of
// every host it reaches in the same transaction: the hooks travel inside the apply script, so a hook
// change changes what those hosts apply, and a running blade picks it up on its next poll.
import type Database from 'better-sqlite3';
import { TabulaError, invalid } from '../domain/errors.js';
import { type ApplyHook, type Hook, type HookInput, type HookPhase, type HookScope, applyHooks, validateHookInput } from '../domain/hooks.js';
import type { EngineApi, Ref } from '../engine/types.js';
import { lintBladeShell } from '../templates/lint.js';
import { SqliteRepository } from './sqlite.js';

interface Row {
  id: number;
  cluster_id: number | null;
  host_id: number | null;
  phase: HookPhase;
  name: string;
  sort_order: number;
  script: string;
  created_at: string;
  updated_at: string;
}

export type HookOwner = { clusterId: number } | { hostId: number };

const ORDER_BY = 'ORDER BY phase DESC, sort_order, name'; // 'before-apply' sorts after 'after-apply'

export class HookStore {
  constructor(private readonly db: Database.Database) {}

  private column(owner: HookOwner): readonly ['cluster_id' | 'host_id', number] {
    return 'clusterId' in owner ? (['cluster_id', owner.clusterId] as const) : (['host_id', owner.hostId] as const);
  }

  list(owner: HookOwner, ownerName: string): Hook[] {
    const [col, id] = this.column(owner);
    const rows = this.db.prepare(`SELECT * FROM hooks WHERE ${col} = ? ${ORDER_BY}`).all(id) as Row[];
    return rows.map((r) => toHook(r, ownerName));
  }

  find(owner: HookOwner, phase: HookPhase, name: string): number | null {
    const [col, id] = this.column(owner);
    const r = this.db.prepare(`SELECT id FROM hooks WHERE ${col} = ? AND phase = ? AND name = ?`).get(id, phase, name) as { id: number } | undefined;
    return r?.id ?? null;
  }

  insert(owner: HookOwner, h: { phase: HookPhase; name: string; order: number; script: string }): number {
    const [col, id] = this.column(owner);
    const at = new Date().toISOString();
    const r = this.db
      .prepare(`INSERT INTO hooks (${col}, phase, name, sort_order, script, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(id, h.phase, h.name, h.order, h.script, at, at);
    return Number(r.lastInsertRowid);
  }

  update(hookId: number, h: { order: number; script: string }): void {
    this.db.prepare('UPDATE hooks SET sort_order = ?, script = ?, updated_at = ? WHERE id = ?').run(h.order, h.script, new Date().toISOString(), hookId);
  }

  delete(hookId: number): void {
    this.db.prepare('DELETE FROM hooks WHERE id = ?').run(hookId);
  }
}

function toHook(r: Row, owner: string): Hook {
  const scope: HookScope = r.cluster_id !== null ? 'cluster' : 'host';
  return { id: r.id, scope, owner, phase: r.phase, name: r.name, order: r.sort_order, script: r.script, createdAt: r.created_at, updatedAt: r.updated_at };
}

export interface HookList {
  /** 'cluster' or 'host'. */
  scope: HookScope;
  owner: string;
  hooks: Hook[];
  /** For a host: every hook its apply script carries (cluster's, then its own), in run order. */
  effective?: ApplyHook[];
}

export interface HookChange {
  hook: Hook;
  /** Hosts whose generation the change bumped, with their new generation. */
  bumped: { host: string; generation: number }[];
}

export type HookOwnerRef = { host: Ref } | { cluster: Ref };

/** The API's and the CLI's view of hooks: owners by reference (id or name), checks before any write. */
export class HookService {
  private readonly store: HookStore;

  constructor(
    private readonly engine: EngineApi,
    private readonly repo: SqliteRepository,
  ) {
    this.store = new HookStore(repo.db);
  }

  private resolve(ref: HookOwnerRef): { owner: HookOwner; label: string; name: string; scope: HookScope } {
    if ('host' in ref) {
      const h = this.engine.getHost(ref.host);
      return { owner: { hostId: h.id }, label: `host '${h.name}'`, name: h.name, scope: 'host' };
    }
    const c = this.engine.getCluster(ref.cluster);
    return { owner: { clusterId: c.id }, label: `cluster '${c.name}'`, name: c.name, scope: 'cluster' };
  }

  /** What the apply script of a host carries, in run order. */
  forHost(hostId: number): ApplyHook[] {
    const h = this.repo.getHostById(hostId);
    if (!h) return [];
    const cluster = this.repo.getClusterById(h.clusterId);
    return applyHooks(this.store.list({ clusterId: h.clusterId }, cluster?.name ?? ''), this.store.list({ hostId }, h.name));
  }

  list(ref: HookOwnerRef): HookList {
    const o = this.resolve(ref);
    const hooks = this.store.list(o.owner, o.name);
    if ('hostId' in o.owner) return { scope: o.scope, owner: o.name, hooks, effective: this.forHost(o.owner.hostId) };
    return { scope: o.scope, owner: o.name, hooks };
  }

  /**
   * Creates a hook, or replaces the script and order of the hook with the same phase and name when
   * `replace` is set (else HOOK_EXISTS). The script must pass `sh -n` (HOOK_LINT_FAILED).
   */
  async save(ref: HookOwnerRef, input: HookInput, replace = false): Promise<HookChange> {
    const o = this.resolve(ref);
    const valid = validateHookInput(o.label, input);
    const problem = await lintBladeShell(valid.script);
    if (problem) {
      throw invalid(
        'HOOK_LINT_FAILED',
        `${o.label}: hook '${valid.name}' fails sh -n${problem.line !== null ? ` at line ${problem.line}` : ''}: ${problem.message}`,
        problem.line !== null ? { name: valid.name, line: problem.line } : { name: valid.name },
      );
    }
    return this.repo.transaction(() => {
      const existing = this.store.find(o.owner, valid.phase, valid.name);
      let id: number;
      if (existing !== null) {
        if (!replace) {
          throw new TabulaError('conflict', 'HOOK_EXISTS', `${o.label} already has a ${valid.phase} hook '${valid.name}' (replace it, or remove it first)`, {
            name: valid.name,
            phase: valid.phase,
          });
        }
        this.store.update(existing, valid);
        id = existing;
      } else {
        id = this.store.insert(o.owner, valid);
      }
      const hook = this.store.list(o.owner, o.name).find((h) => h.id === id) as Hook;
      return { hook, bumped: this.bump(o.owner, `hook ${valid.phase}/${valid.name} ${existing !== null ? 'replaced' : 'added'}`) };
    });
  }

  /** Changes the script and/or order of an existing hook, checked like a new one (HOOK_NOT_FOUND if none). */
  async update(ref: HookOwnerRef, phase: string, name: string, patch: { order?: number | undefined; script?: string | undefined }): Promise<HookChange> {
    const current = this.get(ref, phase, name);
    return this.save(ref, { phase: current.phase, name: current.name, order: patch.order ?? current.order, script: patch.script ?? current.script }, true);
  }

  /** One hook by owner, phase and name; HOOK_PHASE_INVALID or HOOK_NOT_FOUND. */
  get(ref: HookOwnerRef, phase: string, name: string): Hook {
    const o = this.resolve(ref);
    if (phase !== 'before-apply' && phase !== 'after-apply') {
      throw invalid('HOOK_PHASE_INVALID', `${o.label}: phase '${phase.slice(0, 40)}' is not before-apply or after-apply`, { name: name.slice(0, 80) });
    }
    const hook = this.store.list(o.owner, o.name).find((h) => h.phase === phase && h.name === name);
    if (!hook) throw new TabulaError('not-found', 'HOOK_NOT_FOUND', `${o.label} has no ${phase} hook '${name.slice(0, 80)}'`, { name: name.slice(0, 80), phase });
    return hook;
  }

  remove(ref: HookOwnerRef, phase: string, name: string): HookChange {
    const o = this.resolve(ref);
    return this.repo.transaction(() => {
      const hook = this.get(ref, phase, name);
      this.store.delete(hook.id);
      return { hook, bumped: this.bump(o.owner, `hook ${hook.phase}/${hook.name} removed`) };
    });
  }

  /** A new generation for every host the owner's hooks reach, and a host event saying why. */
  private bump(owner: HookOwner, why: string): { host: string; generation: number }[] {
    const hosts = 'hostId' in owner ? [this.repo.getHostById(owner.hostId)].filter((h) => h !== null && h !== undefined) : this.repo.listHosts({ clusterId: owner.clusterId });
    return hosts.map((h) => {
      const saved = this.repo.updateHost({ ...h, generation: h.generation + 1 });
      this.repo.appendHostEvent(h.id, 'hooks-changed', { generation: saved.generation, change: why });
      return { host: saved.name, generation: saved.generation };
    });
  }
}

/** The service behind an engine opened on SQLite (the API gets only the engine). */
export function hookServiceOf(engine: EngineApi): HookService {
  const repo = (engine as { repo?: unknown }).repo;
  if (!(repo instanceof SqliteRepository)) {
    throw new TabulaError('internal', 'HOOKS_UNAVAILABLE', 'hooks need the engine to run on the SQLite store');
  }
  return new HookService(engine, repo);
}
