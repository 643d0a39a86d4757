// Template revisions, the current pointer and pins, over the repository's SQLite connection (tables of
// db/migrations/004_templates.sql). Every public method is one transaction. The store checks only what
// the schema needs; the rules (lint, pinnable names, conflicts) live in src/templates/service.ts.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { SqliteRepository } from './sqlite.js';

export const TEMPLATE_NAMES = ['boot.ipxe', 'host.ipxe', 'apply.sh'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** The author recorded for revisions that come from the shipped files in templates/. */
export const SHIPPED_AUTHOR = 'tabula';

export interface TemplateRevision {
  name: TemplateName;
  revision: number;
  source: string;
  sha256: string;
  author: string;
  message: string;
  createdAt: string;
}

export interface TemplateCurrent {
  name: TemplateName;
  revision: number;
  updatedBy: string;
  updatedAt: string;
}

export type PinTarget = { kind: 'host'; id: number } | { kind: 'cluster'; id: number };

export interface TemplatePin {
  id: number;
  name: TemplateName;
  revision: number;
  target: PinTarget;
  author: string;
  createdAt: string;
}

interface RevisionRow {
  name: string;
  revision: number;
  source: string;
  sha256: string;
  author: string;
  message: string;
  created_at: string;
}

interface CurrentRow {
  name: string;
  revision: number;
  updated_by: string;
  updated_at: string;
}

interface PinRow {
  id: number;
  name: string;
  revision: number;
  cluster_id: number | null;
  host_id: number | null;
  author: string;
  created_at: string;
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const toRevision = (r: RevisionRow): TemplateRevision => ({
  name: r.name as TemplateName,
  revision: r.revision,
  source: r.source,
  sha256: r.sha256,
  author: r.author,
  message: r.message,
  createdAt: r.created_at,
});

const toCurrent = (r: CurrentRow): TemplateCurrent => ({ name: r.name as TemplateName, revision: r.revision, updatedBy: r.updated_by, updatedAt: r.updated_at });

const toPin = (r: PinRow): TemplatePin => ({
  id: r.id,
  name: r.name as TemplateName,
  revision: r.revision,
  target: r.host_id !== null ? { kind: 'host', id: r.host_id } : { kind: 'cluster', id: r.cluster_id as number },
  author: r.author,
  createdAt: r.created_at,
});

export class TemplateStore {
  private readonly db: Database.Database;
  private readonly now: () => string;

  constructor(
    private readonly repo: SqliteRepository,
    opts: { now?: () => string } = {},
  ) {
    this.db = repo.db;
    this.now = opts.now ?? (() => new Date().toISOString());
  }

  /** Prepared once per SQL text (the repository's cache). */
  private stmt(sql: string): Database.Statement {
    return this.repo.statement(sql);
  }

  private tx<T>(fn: () => T): T {
    return this.repo.transaction(fn);
  }

  /**
   * Seeds revision 1 of every name from the shipped sources when the name has none yet. When the current
   * revision of a name is still a shipped one and the shipped file has changed since (an upgrade of
   * Tabula), the new shipped text becomes a new revision and current; an admin's revision is never
   * replaced. Returns the names that got a new revision.
   */
  syncShipped(shipped: Readonly<Record<TemplateName, string>>): TemplateName[] {
    return this.tx(() => {
      const changed: TemplateName[] = [];
      for (const name of TEMPLATE_NAMES) {
        const source = shipped[name];
        const current = this.currentRow(name);
        if (current === undefined) {
          const latest = this.latestRevisionNumber(name);
          if (latest === 0) {
            this.insertRevisionRow(name, 1, source, SHIPPED_AUTHOR, 'shipped template (templates/)');
            this.setCurrentRow(name, 1, SHIPPED_AUTHOR);
          } else {
            this.setCurrentRow(name, latest, SHIPPED_AUTHOR);
          }
          changed.push(name);
          continue;
        }
        const rev = this.getRow(name, current.revision) as RevisionRow;
        if (rev.author === SHIPPED_AUTHOR && current.updated_by === SHIPPED_AUTHOR && rev.sha256 !== sha256(source)) {
          const n = this.latestRevisionNumber(name) + 1;
          this.insertRevisionRow(name, n, source, SHIPPED_AUTHOR, 'shipped template updated (templates/)');
          this.setCurrentRow(name, n, SHIPPED_AUTHOR);
          changed.push(name);
        }
      }
      return changed;
    });
  }

  private currentRow(name: TemplateName): CurrentRow | undefined {
    return this.stmt('SELECT * FROM template_current WHERE name = ?').get(name) as CurrentRow | undefined;
  }

  private getRow(name: TemplateName, revision: number): RevisionRow | undefined {
    return this.stmt('SELECT * FROM template_revisions WHERE name = ? AND revision = ?').get(name, revision) as RevisionRow | undefined;
  }

  private latestRevisionNumber(name: TemplateName): number {
    const r = this.stmt('SELECT MAX(revision) AS n FROM template_revisions WHERE name = ?').get(name) as { n: number | null };
    return r.n ?? 0;
  }

  private insertRevisionRow(name: TemplateName, revision: number, source: string, author: string, message: string): void {
    this.stmt('INSERT INTO template_revisions (name, revision, source, sha256, author, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      name,
      revision,
      source,
      sha256(source),
      author,
      message,
      this.now(),
    );
  }

  private setCurrentRow(name: TemplateName, revision: number, by: string): void {
    this.stmt(
      `INSERT INTO template_current (name, revision, updated_by, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    ).run(name, revision, by, this.now());
  }

  current(name: TemplateName): TemplateCurrent | undefined {
    const r = this.currentRow(name);
    return r && toCurrent(r);
  }

  getRevision(name: TemplateName, revision: number): TemplateRevision | undefined {
    const r = this.getRow(name, revision);
    return r && toRevision(r);
  }

  /** Newest first. */
  listRevisions(name: TemplateName): TemplateRevision[] {
    return (this.stmt('SELECT * FROM template_revisions WHERE name = ? ORDER BY revision DESC').all(name) as RevisionRow[]).map(toRevision);
  }

  countRevisions(name: TemplateName): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM template_revisions WHERE name = ?').get(name) as { n: number }).n;
  }

  /**
   * Appends the next revision; when `activate`, it also becomes current. `expectCurrent` guards against
   * a concurrent change between the caller's checks and this write: null is returned when the current
   * revision is no longer the one the caller checked against.
   */
  appendRevision(input: { name: TemplateName; source: string; author: string; message: string; activate: boolean; expectCurrent: number }): TemplateRevision | null {
    return this.tx(() => {
      const cur = this.currentRow(input.name);
      if (!cur || cur.revision !== input.expectCurrent) return null;
      const n = this.latestRevisionNumber(input.name) + 1;
      this.insertRevisionRow(input.name, n, input.source, input.author, input.message);
      if (input.activate) this.setCurrentRow(input.name, n, input.author);
      return toRevision(this.getRow(input.name, n) as RevisionRow);
    });
  }

  /** Moves the current pointer (rollback); false when the current revision moved meanwhile. */
  setCurrent(input: { name: TemplateName; revision: number; by: string; expectCurrent: number }): boolean {
    return this.tx(() => {
      const cur = this.currentRow(input.name);
      if (!cur || cur.revision !== input.expectCurrent) return false;
      if (!this.getRow(input.name, input.revision)) throw new Error(`template '${input.name}' has no revision ${input.revision}`);
      this.setCurrentRow(input.name, input.revision, input.by);
      return true;
    });
  }

  listPins(name?: TemplateName): TemplatePin[] {
    const rows =
      name === undefined
        ? (this.stmt('SELECT * FROM template_pins ORDER BY name, id').all() as PinRow[])
        : (this.stmt('SELECT * FROM template_pins WHERE name = ? ORDER BY id').all(name) as PinRow[]);
    return rows.map(toPin);
  }

  getPin(name: TemplateName, target: PinTarget): TemplatePin | undefined {
    const sql = target.kind === 'host' ? 'SELECT * FROM template_pins WHERE name = ? AND host_id = ?' : 'SELECT * FROM template_pins WHERE name = ? AND cluster_id = ?';
    const r = this.stmt(sql).get(name, target.id) as PinRow | undefined;
    return r && toPin(r);
  }

  /** Creates or replaces the pin of `target` for `name`. */
  setPin(input: { name: TemplateName; revision: number; target: PinTarget; author: string }): TemplatePin {
    return this.tx(() => {
      if (!this.getRow(input.name, input.revision)) throw new Error(`template '${input.name}' has no revision ${input.revision}`);
      this.deletePinRow(input.name, input.target);
      const { lastInsertRowid } = this.stmt(
        'INSERT INTO template_pins (name, revision, cluster_id, host_id, author, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(
        input.name,
        input.revision,
        input.target.kind === 'cluster' ? input.target.id : null,
        input.target.kind === 'host' ? input.target.id : null,
        input.author,
        this.now(),
      );
      return toPin(this.stmt('SELECT * FROM template_pins WHERE id = ?').get(Number(lastInsertRowid)) as PinRow);
    });
  }

  private deletePinRow(name: TemplateName, target: PinTarget): number {
    const sql = target.kind === 'host' ? 'DELETE FROM template_pins WHERE name = ? AND host_id = ?' : 'DELETE FROM template_pins WHERE name = ? AND cluster_id = ?';
    return this.stmt(sql).run(name, target.id).changes;
  }

  /** True when a pin was removed. */
  deletePin(name: TemplateName, target: PinTarget): boolean {
    return this.tx(() => this.deletePinRow(name, target) > 0);
  }
}
