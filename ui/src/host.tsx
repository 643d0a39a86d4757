// One host: NICs as reported, bonds (create, edit, delete), the topology diagram, the plan as YAML,
// the last report's checks and the boot timeline of the last boots. Reloads when the rack's ETag
// moves (a boot progressed, the host changed).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, api, apiIfChanged, apiText, describe, enc } from './api';
import { Editor } from './editor';
import { type FieldErrors, fieldErrors } from './fields';
import { Field, FieldError } from './forms';
import { POLL_MS, SyncBadge } from './rack';
import { BootChart } from './timeline';
import { graphFromPlan, graphFromStored } from './graph';
import { Topology } from './topology';
import type { AttachmentView, BondView, BootRecord, Cluster, HostPlan, HostReport, HostView, Nic, SwitchType } from './types';

interface HostData {
  host: HostView;
  nics: Nic[];
  bonds: BondView[];
  attachments: AttachmentView[];
  plan: HostPlan | null;
  planYaml: string | null;
  planError: string | null;
  report: HostReport | null;
  boots: BootRecord[];
  bootsError: string | null;
  /** The host's cluster's: how its plan is built (Linux bonds and bridges, or Open vSwitch). */
  switchType: SwitchType;
}

async function orNull<T>(p: Promise<T>, onError?: (e: unknown) => void): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) throw e;
    onError?.(e);
    return null;
  }
}

async function loadHost(ref: string): Promise<HostData> {
  const h = enc(ref);
  let planError: string | null = null;
  let bootsError: string | null = null;
  const [host, nics, bonds, attachments, plan, planYaml, report, boots, clusters] = await Promise.all([
    api<HostView>('GET', `/hosts/${h}`),
    api<Nic[]>('GET', `/hosts/${h}/nics`),
    api<BondView[]>('GET', `/hosts/${h}/bonds`),
    api<AttachmentView[]>('GET', `/hosts/${h}/attachments`),
    orNull(api<HostPlan>('GET', `/hosts/${h}/plan`), (e) => (planError = describe(e))),
    orNull(apiText(`/hosts/${h}/plan?format=yaml`)),
    orNull(api<HostReport>('GET', `/hosts/${h}/report`)),
    orNull(api<BootRecord[]>('GET', `/hosts/${h}/boots?limit=5`), (e) => (bootsError = describe(e))),
    orNull(api<Cluster[]>('GET', '/clusters')),
  ]);
  // The cluster says it even without a valid plan; an ovs plan says it too.
  const switchType: SwitchType = clusters?.find((c) => c.name === host.cluster)?.switchType ?? (plan?.switchType === 'ovs' ? 'ovs' : 'linux');
  return { host, nics, bonds, attachments, plan, planYaml, planError, report, boots: boots ?? [], bootsError, switchType };
}

const SWITCH_NAMES: Record<SwitchType, string> = { linux: 'Linux bridge', ovs: 'Open vSwitch' };
const BOND_MODES: Record<SwitchType, string[]> = {
  linux: ['active-backup', 'balance-rr', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'],
  ovs: ['active-backup', 'balance-slb', 'balance-tcp', '802.3ad'],
};
const LACP_MODES = ['off', 'passive', 'active'];

function BondForm(props: { host: string; nics: Nic[]; bond: BondView | null; switchType: SwitchType; onDone(): void }) {
  const editing = props.bond;
  const ovs = props.switchType === 'ovs';
  const [name, setName] = useState(editing?.name ?? '');
  const [mode, setMode] = useState(editing?.mode ?? 'active-backup');
  // Open vSwitch bonds say whether they run LACP (a Linux 802.3ad bond always does).
  const [lacp, setLacp] = useState(typeof editing?.options.lacp === 'string' ? editing.options.lacp : 'off');
  const [members, setMembers] = useState<string[]>(editing ? editing.members.map((m) => m.name ?? m.mac) : []);
  const [miimon, setMiimon] = useState(editing?.options.miimon !== undefined ? String(editing.options.miimon) : '100');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const toggle = (n: string): void => setMembers(members.includes(n) ? members.filter((m) => m !== n) : [...members, n]);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    const options: Record<string, unknown> = miimon.trim() === '' ? {} : { miimon: Number(miimon) };
    if (ovs) {
      // Keep what the form does not show (lacp_rate, updelay) on an edit.
      const { miimon: _old, ...kept } = editing?.options ?? {};
      Object.assign(options, kept, { lacp });
    }
    try {
      if (editing) await api('PATCH', `/hosts/${enc(props.host)}/bonds/${enc(editing.name)}`, { body: { ...(name !== editing.name ? { name } : {}), mode, members, options } });
      else await api('POST', `/hosts/${enc(props.host)}/bonds`, { body: { ...(name.trim() ? { name: name.trim() } : {}), mode, members, options } });
      props.onDone();
    } catch (err) {
      if (err instanceof ApiFailure) setErrors(fieldErrors('bond', err));
      else setErrors({ '': [{ code: 'ERROR', message: describe(err) }] });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="bond-form">
      <h3>{editing ? `Edit bond ${editing.name}` : 'New bond'}</h3>
      <Field label="name" field="name" errors={errors} hint={editing ? undefined : 'empty: bondN'}>
        <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="mode" field="mode" errors={errors}>
        <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
          {BOND_MODES[props.switchType].map((m) => (
            <option value={m}>{m}</option>
          ))}
        </select>
      </Field>
      {ovs && (
        <Field label="LACP" field="lacp" errors={errors}>
          <select name="lacp" value={lacp} onChange={(e) => setLacp(e.currentTarget.value)}>
            {LACP_MODES.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </Field>
      )}
      <Field label="members" field="members" errors={errors}>
        <span class="checks">
          {props.nics.map((n) => (
            <label class="inline">
              <input type="checkbox" name="members" value={n.name} checked={members.includes(n.name)} onChange={() => toggle(n.name)} /> {n.name}
            </label>
          ))}
        </span>
      </Field>
      <Field label="miimon (ms)" field="options" errors={errors}>
        <input name="miimon" inputMode="numeric" value={miimon} onInput={(e) => setMiimon(e.currentTarget.value)} />
      </Field>
      <FieldError errors={errors} field="" />
      <button type="submit" disabled={busy}>
        {editing ? 'Save bond' : 'Create bond'}
      </button>{' '}
      <button type="button" class="link" onClick={props.onDone}>
        Cancel
      </button>
    </form>
  );
}

export function HostPage(props: { host: string }) {
  const [data, setData] = useState<HostData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [bondForm, setBondForm] = useState<{ bond: BondView | null } | null>(null);
  const [bondError, setBondError] = useState<string | null>(null);
  const etag = useRef<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setData(await loadHost(props.host));
      setError(null);
    } catch (err) {
      setError(describe(err));
    }
  }, [props.host]);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      if (document.visibilityState !== 'hidden') {
        try {
          const r = await apiIfChanged<unknown>(`/rack`, etag.current);
          if (r) {
            etag.current = r.etag;
            await reload();
          }
        } catch (err) {
          if (!stopped) setError(describe(err));
        }
      }
      if (!stopped) timer = setTimeout(() => void tick(), POLL_MS * 2);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [reload]);

  if (error && !data) return <p class="error">{error}</p>;
  if (!data) return <p class="muted">loading…</p>;
  const { host, nics, bonds, attachments, plan, planYaml, planError, report, boots } = data;
  const graph = plan ? graphFromPlan(plan, nics) : graphFromStored(nics, bonds, attachments, data.switchType);
  const deleteBond = async (b: BondView): Promise<void> => {
    setBondError(null);
    try {
      await api('DELETE', `/hosts/${enc(host.name)}/bonds/${enc(b.name)}`);
      await reload();
    } catch (err) {
      setBondError(describe(err));
    }
  };

  return (
    <section class="host">
      <header class="row">
        <h1 data-testid="host-name">{host.name}</h1>
        <SyncBadge host={host} />
        <span class={`badge switch ${data.switchType}`} data-testid="switch-type" title={`switch type of cluster ${host.cluster}`}>
          {SWITCH_NAMES[data.switchType]}
        </span>
        <span class="muted">
          cluster {host.cluster} · {host.state} · generation {host.appliedGeneration ?? '–'} applied / {host.generation} current · boot MAC {host.bootMac ?? 'none'}
        </span>
      </header>
      {error && <p class="error">{error}</p>}
      {host.syncReasons.length > 0 && (
        <ul class="reasons">
          {host.syncReasons.map((r) => (
            <li>
              <code>{r.code}</code> {r.message}
            </li>
          ))}
        </ul>
      )}

      <h2>Topology</h2>
      {planError && <p class="warn">No valid plan ({planError}); drawn from the stored bonds and attachments.</p>}
      <div class="scroll">
        <Topology graph={graph} />
      </div>

      <div class="cols">
        <div>
          <h2>NICs as reported</h2>
          <table data-testid="nics">
            <thead>
              <tr>
                <th>name</th>
                <th>MAC</th>
                <th>driver</th>
                <th>speed</th>
                <th>link</th>
                <th>labels</th>
              </tr>
            </thead>
            <tbody>
              {nics.map((n) => (
                <tr>
                  <td>{n.name}</td>
                  <td>
                    <code>{n.mac}</code>
                  </td>
                  <td>{n.driver ?? ''}</td>
                  <td>{n.speed !== null ? `${n.speed} Mb/s` : ''}</td>
                  <td>{n.carrier ? 'up' : <span class="bad">no carrier</span>}</td>
                  <td>{n.labels.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {nics.length === 0 && <p class="muted">No NICs reported yet (the blade reports them at boot).</p>}

          <h2>Bonds</h2>
          <table data-testid="bonds">
            <thead>
              <tr>
                <th>name</th>
                <th>mode</th>
                <th>members</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {bonds.map((b) => (
                <tr>
                  <td>{b.name}</td>
                  <td>{b.mode}</td>
                  <td>
                    {b.members.map((m) => `${m.name ?? m.mac}${m.present ? '' : ' (missing)'}`).join(', ')}
                    {b.partial && <span class="badge warn">partial</span>}
                  </td>
                  <td>
                    <button class="link" onClick={() => setBondForm({ bond: b })}>
                      edit
                    </button>{' '}
                    <button class="link" onClick={() => void deleteBond(b)}>
                      delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {bondError && <p class="error">{bondError}</p>}
          {bondForm ? (
            <BondForm
              key={bondForm.bond?.name ?? 'new'}
              host={host.name}
              nics={nics}
              bond={bondForm.bond}
              switchType={data.switchType}
              onDone={() => {
                setBondForm(null);
                void reload();
              }}
            />
          ) : (
            <button onClick={() => setBondForm({ bond: null })}>New bond</button>
          )}

          <h2>Last report</h2>
          {report ? (
            <div data-testid="report">
              <p>
                generation {report.generation} · {report.verified ? <span class="badge ok">verified</span> : <span class="badge bad">not verified</span>}
                {report.rolledBack && <span class="badge bad">rolled back</span>}
                {report.fallback && <span class="badge warn">fallback plan</span>} · {new Date(report.receivedAt).toLocaleString()}
              </p>
              <table>
                <thead>
                  <tr>
                    <th>check</th>
                    <th>result</th>
                    <th>detail</th>
                  </tr>
                </thead>
                <tbody>
                  {report.checks.map((c) => (
                    <tr data-check={c.name}>
                      <td>{c.name}</td>
                      <td>{c.ok ? <span class="badge ok">ok</span> : <span class={`badge ${c.advisory ? 'warn' : 'bad'}`}>{c.advisory ? 'advisory' : 'failed'}</span>}</td>
                      <td>{c.detail ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {report.differences.length > 0 && (
                <>
                  <h3>Differences from the plan</h3>
                  <ul>
                    {report.differences.map((d) => (
                      <li>
                        {d.interface} {d.field}: planned <code>{JSON.stringify(d.planned)}</code>, observed <code>{JSON.stringify(d.observed)}</code>
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </div>
          ) : (
            <p class="muted">No boot report yet.</p>
          )}
        </div>
        <div>
          <h2>Plan</h2>
          {planYaml !== null ? <Editor value={planYaml} version={host.generation} readOnly language="yaml" testid="plan-yaml" /> : <p class="warn">{planError ?? 'No plan.'}</p>}
        </div>
      </div>

      <h2>Boot timeline</h2>
      {data.bootsError ? <p class="muted">{data.bootsError}</p> : <BootChart boots={boots} />}
    </section>
  );
}
