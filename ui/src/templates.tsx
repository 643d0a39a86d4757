// The template editor: CodeMirror on the draft, a host picker with the live preview of what that
// host gets, "what changes" (the draft rendered for every affected host, identical diffs grouped),
// save with a message, revision history with diff and rollback, and canary pins.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, api, describe, enc } from './api';
import { hunks, lineDiff } from './diff';
import { Editor } from './editor';
import { href, linkHandler } from './router';
import type { BlastRadius, HostView, PinView, RenderResult, TemplateRevision, TemplateSummary } from './types';

const DEBOUNCE_MS = 400;

/** Runs fn(value) DEBOUNCE_MS after value stops changing; drops answers that arrive out of order. */
function useDebounced<T, R>(value: T, fn: (v: T) => Promise<R>, enabled: boolean): { result: R | null; error: unknown; busy: boolean } {
  const [state, setState] = useState<{ result: R | null; error: unknown; busy: boolean }>({ result: null, error: null, busy: false });
  const seq = useRef(0);
  useEffect(() => {
    if (!enabled) {
      setState({ result: null, error: null, busy: false });
      return;
    }
    const mine = ++seq.current;
    setState((s) => ({ ...s, busy: true }));
    const t = setTimeout(() => {
      fn(value).then(
        (result) => mine === seq.current && setState({ result, error: null, busy: false }),
        (error: unknown) => mine === seq.current && setState({ result: null, error, busy: false }),
      );
    }, DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [value, enabled]);
  return state;
}

function errorText(err: unknown): string {
  if (err instanceof ApiFailure) {
    const host = typeof err.details.host === 'string' ? ` (host ${err.details.host})` : '';
    const line = typeof err.details.line === 'number' ? ` line ${err.details.line}` : '';
    return `${err.code}${host}${line}: ${err.message}`;
  }
  return describe(err);
}

export function UnifiedDiff(props: { text: string }) {
  return (
    <pre class="diff">
      {props.text.split('\n').map((l) => (
        <div class={l.startsWith('+++') || l.startsWith('---') ? 'meta' : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : ''}>{l || ' '}</div>
      ))}
    </pre>
  );
}

function RevisionDiff(props: { before: string; after: string }) {
  const lines = useMemo(() => hunks(lineDiff(props.before, props.after)), [props.before, props.after]);
  if (!lines.some((l) => l !== null && l.op !== ' ')) return <p class="muted">Identical to the current revision.</p>;
  return (
    <pre class="diff" data-testid="revision-diff">
      {lines.map((l) => (l === null ? <div class="hunk">…</div> : <div class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>{`${l.op}${l.text}`}</div>))}
    </pre>
  );
}

function BlastView(props: { radius: BlastRadius }) {
  const r = props.radius;
  return (
    <div data-testid="blast">
      <p>
        {r.changed} host{r.changed === 1 ? '' : 's'} change{r.changed === 1 ? 's' : ''} in {r.groups.length} group{r.groups.length === 1 ? '' : 's'} · {r.unchanged.length} unchanged ·{' '}
        {r.pinned.length} pinned · {r.failed.length} failed · {r.skipped.length} skipped
      </p>
      {r.groups.map((g, i) => (
        <details class="group" open={i < 3} data-group={i}>
          <summary>
            <strong>{g.hosts.length} host{g.hosts.length === 1 ? '' : 's'}</strong>: <span data-testid="group-hosts">{g.hosts.join(', ')}</span>
          </summary>
          <UnifiedDiff text={g.diff} />
        </details>
      ))}
      {r.failed.length > 0 && (
        <div class="error">
          Would fail on:
          <ul>
            {r.failed.map((f) => (
              <li>
                {f.host}: <code>{f.code}</code> {f.message}
                {f.line !== null ? ` (line ${f.line})` : ''}
              </li>
            ))}
          </ul>
        </div>
      )}
      {r.pinned.length > 0 && <p class="muted">Pinned (not reached by a save): {r.pinned.map((p) => `${p.host} → r${p.revision} (${p.via})`).join(', ')}</p>}
      {r.unchanged.length > 0 && <p class="muted">Unchanged: {r.unchanged.join(', ')}</p>}
      {r.skipped.length > 0 && <p class="muted">Skipped: {r.skipped.map((s) => `${s.host} (${s.code})`).join(', ')}</p>}
    </div>
  );
}

export function TemplatesPage(props: { template: string | null }) {
  const [templates, setTemplates] = useState<TemplateSummary[]>([]);
  const [hosts, setHosts] = useState<HostView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const name = props.template ?? templates.find((t) => t.name === 'apply.sh')?.name ?? templates[0]?.name ?? null;
  const info = templates.find((t) => t.name === name) ?? null;

  const [current, setCurrent] = useState<TemplateRevision | null>(null);
  const [draft, setDraft] = useState('');
  // Bumped when the draft is replaced from outside the editor (load, discard, a revision).
  const [draftVersion, setDraftVersion] = useState(0);
  const loadDraft = (text: string): void => {
    setDraft(text);
    setDraftVersion((v) => v + 1);
  };
  const [host, setHost] = useState('');
  const [message, setMessage] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [revisions, setRevisions] = useState<TemplateRevision[]>([]);
  const [shown, setShown] = useState<TemplateRevision | null>(null);
  const [pins, setPins] = useState<PinView[]>([]);
  const [canary, setCanary] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all([api<TemplateSummary[]>('GET', '/templates'), api<HostView[]>('GET', '/hosts')]).then(
      ([t, h]) => {
        setTemplates(t);
        setHosts(h);
        setHost((prev) => prev || h[0]?.name || '');
      },
      (e: unknown) => setError(describe(e)),
    );
  }, []);

  const reload = useCallback(
    async (keepDraft: boolean) => {
      if (!name) return;
      try {
        const [cur, revs, ps, list] = await Promise.all([
          api<TemplateRevision>('GET', `/templates/${enc(name)}`),
          api<TemplateRevision[]>('GET', `/templates/${enc(name)}/revisions`),
          api<PinView[]>('GET', `/templates/${enc(name)}/pins`),
          api<TemplateSummary[]>('GET', '/templates'),
        ]);
        setCurrent(cur);
        if (!keepDraft) {
          setDraft(cur.source ?? '');
          setDraftVersion((v) => v + 1);
        }
        setRevisions(revs);
        setPins(ps);
        setTemplates(list);
        setError(null);
      } catch (e) {
        setError(describe(e));
      }
    },
    [name],
  );
  useEffect(() => {
    setShown(null);
    setNotice(null);
    setSaveError(null);
    void reload(false);
  }, [reload]);

  const dirty = current !== null && draft !== current.source;
  const perHost = info?.perHost ?? true;
  const previewKey = useMemo(() => ({ name, host, draft }), [name, host, draft]);
  const preview = useDebounced(
    previewKey,
    (k) => api<RenderResult>('POST', `/templates/${enc(k.name ?? '')}/render`, { body: { ...(k.host ? { host: k.host } : {}), source: k.draft } }),
    name !== null && current !== null && (!perHost || host !== ''),
  );
  const diffKey = useMemo(() => ({ name, draft }), [name, draft]);
  const radius = useDebounced(diffKey, (k) => api<BlastRadius>('POST', `/templates/${enc(k.name ?? '')}/diff`, { body: { source: k.draft } }), name !== null && dirty);

  const run = async (what: () => Promise<string>): Promise<void> => {
    setBusy(true);
    setSaveError(null);
    setNotice(null);
    try {
      setNotice(await what());
    } catch (e) {
      setSaveError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const save = (): Promise<void> =>
    run(async () => {
      if (!name) return '';
      if (message.trim() === '') throw new Error('Say what the change is for: a message is required.');
      const r = await api<{ revision: { revision: number }; checked: string[] }>('POST', `/templates/${enc(name)}/revisions`, { body: { source: draft, message: message.trim() } });
      setMessage('');
      await reload(false);
      return `Saved revision ${r.revision.revision}; checked on ${r.checked.length} host${r.checked.length === 1 ? '' : 's'}.`;
    });
  const show = async (rev: number): Promise<void> => {
    if (!name) return;
    try {
      setShown(await api<TemplateRevision>('GET', `/templates/${enc(name)}/revisions/${rev}`));
      setCanary([]);
    } catch (e) {
      setSaveError(errorText(e));
    }
  };
  const rollback = (rev: number): Promise<void> =>
    run(async () => {
      if (!name) return '';
      const r = await api<{ previous: number; current: number }>('POST', `/templates/${enc(name)}/rollback`, { body: { revision: rev } });
      await reload(false);
      setShown(null);
      return `Rolled back: revision ${r.current} is current again (was ${r.previous}).`;
    });
  const pin = (rev: number): Promise<void> =>
    run(async () => {
      if (!name) return '';
      if (canary.length === 0) throw new Error('Pick the canary hosts first.');
      for (const h of canary) await api('POST', `/templates/${enc(name)}/pins`, { body: { revision: rev, host: h } });
      await reload(true);
      return `Pinned revision ${rev} on ${canary.join(', ')}.`;
    });
  const unpin = (p: PinView): Promise<void> =>
    run(async () => {
      if (!name) return '';
      if (p.host) await api('DELETE', `/templates/${enc(name)}/pins/hosts/${enc(p.host)}`);
      else if (p.cluster) await api('DELETE', `/templates/${enc(name)}/pins/clusters/${enc(p.cluster)}`);
      await reload(true);
      return `Unpinned ${p.host ?? p.cluster}.`;
    });

  return (
    <section class="templates">
      <header class="row">
        <h1>Templates</h1>
        <div class="tabs">
          {templates.map((t) => (
            <a href={href('templates', t.name)} onClick={linkHandler(href('templates', t.name))} class={t.name === name ? 'active' : ''} data-template={t.name}>
              {t.name} <small>r{t.current}</small>
            </a>
          ))}
        </div>
      </header>
      {error && <p class="error">{error}</p>}
      {info && <p class="muted">{info.description}</p>}
      <div class="cols">
        <div>
          <h2>
            Draft {current && <small class="muted">from revision {current.revision}</small>} {dirty && <span class="badge warn">edited</span>}
          </h2>
          {current && <Editor key={name} value={draft} version={draftVersion} onChange={setDraft} testid="template-editor" />}
          <div class="row save">
            <input placeholder="what this change is for" aria-label="save message" value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
            <button disabled={!dirty || busy} onClick={() => void save()}>
              Save revision
            </button>
            <button class="link" disabled={!dirty || busy} onClick={() => current && loadDraft(current.source ?? '')}>
              Discard
            </button>
          </div>
          {notice && (
            <p class="notice" role="status" data-testid="notice">
              {notice}
            </p>
          )}
          {saveError && (
            <p class="error" role="alert" data-testid="save-error">
              {saveError}
            </p>
          )}
        </div>
        <div>
          <h2>
            Preview for{' '}
            <select aria-label="preview host" value={host} onChange={(e) => setHost(e.currentTarget.value)}>
              {!perHost && <option value="">(no host)</option>}
              {hosts.map((h) => (
                <option value={h.name}>{h.name}</option>
              ))}
            </select>{' '}
            {preview.busy && <small class="muted">rendering…</small>}
          </h2>
          {preview.error ? (
            <p class="error" data-testid="preview-error">
              {errorText(preview.error)}
            </p>
          ) : preview.result ? (
            <>
              {preview.result.fallback && <p class="warn">This host gets the fallback plan: {preview.result.fallback}</p>}
              <pre class="code preview" data-testid="preview">
                {preview.result.text}
              </pre>
            </>
          ) : (
            <p class="muted">{perHost && hosts.length === 0 ? 'No hosts to preview for.' : '…'}</p>
          )}
        </div>
      </div>

      <h2>What changes {radius.busy && <small class="muted">rendering every affected host…</small>}</h2>
      {!dirty ? (
        <p class="muted">Edit the draft to see what every affected host would get.</p>
      ) : radius.error ? (
        <p class="error">{errorText(radius.error)}</p>
      ) : radius.result ? (
        <BlastView radius={radius.result} />
      ) : null}

      <div class="cols">
        <div>
          <h2>History</h2>
          <table data-testid="history">
            <thead>
              <tr>
                <th>rev</th>
                <th>message</th>
                <th>author</th>
                <th>when</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {revisions.map((r) => (
                <tr data-revision={r.revision} class={r.current ? 'current' : ''}>
                  <td>
                    {r.revision}
                    {r.current && <span class="badge ok">current</span>}
                  </td>
                  <td>{r.message}</td>
                  <td>{r.author}</td>
                  <td>{new Date(r.createdAt).toLocaleString()}</td>
                  <td>
                    <button class="link" onClick={() => void show(r.revision)}>
                      show
                    </button>{' '}
                    {!r.current && (
                      <button class="link" disabled={busy} onClick={() => void rollback(r.revision)}>
                        roll back to this
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Pins</h3>
          {pins.length === 0 ? (
            <p class="muted">No pins: every host follows the current revision.</p>
          ) : (
            <ul data-testid="pins">
              {pins.map((p) => (
                <li>
                  {p.host ? `host ${p.host}` : `cluster ${p.cluster}`} → revision {p.revision}{' '}
                  <button class="link" onClick={() => void unpin(p)}>
                    unpin
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          {shown && current && (
            <div data-testid="revision">
              <h2>
                Revision {shown.revision} <small class="muted">against current ({current.revision})</small>
              </h2>
              <RevisionDiff before={current.source ?? ''} after={shown.source ?? ''} />
              <div class="row">
                <button onClick={() => shown.source !== undefined && loadDraft(shown.source)}>Load into the draft</button>
                {shown.revision !== current.revision && (
                  <button disabled={busy} onClick={() => void rollback(shown.revision)}>
                    Roll back to revision {shown.revision}
                  </button>
                )}
              </div>
              {perHost && (
                <div class="card">
                  <h3>Pin revision {shown.revision} to a canary set</h3>
                  <div class="checks">
                    {hosts.map((h) => (
                      <label class="inline">
                        <input
                          type="checkbox"
                          name="canary"
                          value={h.name}
                          checked={canary.includes(h.name)}
                          onChange={() => setCanary(canary.includes(h.name) ? canary.filter((c) => c !== h.name) : [...canary, h.name])}
                        />{' '}
                        {h.name}
                      </label>
                    ))}
                  </div>
                  <button disabled={busy || canary.length === 0} onClick={() => void pin(shown.revision)}>
                    Pin to {canary.length} host{canary.length === 1 ? '' : 's'}
                  </button>
                </div>
              )}
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
