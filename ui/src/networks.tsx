// A cluster's logical networks: the list, and a form to create or edit one (with the VM-facing port
// type and trunk VLANs of ovs clusters). The engine checks every host of the cluster; its errors appear
// next to the field they concern (fields.ts). The header switches the cluster between linux and ovs.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, describe, enc } from './api';
import { type FieldErrors, fieldErrors } from './fields';
import { Field, FieldError } from './forms';
import { vlanList } from './graph';
import { href, navigate } from './router';
import type { Cluster, HostView, LogicalNetwork, PortType, SwitchType } from './types';
import { parseVlanList } from './vlans';

const ROLES = ['vm', 'storage', 'migration', 'display', 'other', 'management'];
const PORT_TYPES: PortType[] = ['access', 'trunk', 'hybrid'];
const SWITCH_NAMES: Record<SwitchType, string> = { linux: 'Linux bridge', ovs: 'Open vSwitch' };

interface Draft {
  name: string;
  vlan: string;
  mtu: string;
  bridged: boolean;
  role: string;
  required: boolean;
  label: string;
  description: string;
  portType: PortType;
  /** As typed: "300,301,310-312". */
  trunks: string;
}

const EMPTY: Draft = { name: '', vlan: '', mtu: '1500', bridged: false, role: 'vm', required: false, label: '', description: '', portType: 'access', trunks: '' };

/** The port type is a bridged network's; it stays visible on a host-level one that still has a trunk type, so the engine's refusal has a place. */
const showsPortType = (d: Draft): boolean => d.bridged || d.portType !== 'access';
const showsTrunks = (d: Draft): boolean => showsPortType(d) && d.portType !== 'access';

function draftOf(n: LogicalNetwork): Draft {
  return {
    name: n.name,
    vlan: n.vlan === null ? '' : String(n.vlan),
    mtu: String(n.mtu),
    bridged: n.bridged,
    role: n.role,
    required: n.required,
    label: n.label ?? '',
    description: n.description,
    portType: n.portType ?? 'access',
    trunks: vlanList(n.trunks ?? []),
  };
}

/**
 * The request body; a non-number VLAN or MTU is sent as typed so the API names the field. Port type
 * and trunks are sent only while the form shows them, so an edit keeps what it does not show; an
 * access port sends an empty trunk list (a trunk port made access drops its VLANs).
 */
function bodyOf(d: Draft): { body: Record<string, unknown> } | { errors: FieldErrors } {
  const num = (s: string): number | string => (/^-?[0-9]+$/.test(s.trim()) ? Number(s.trim()) : s);
  const port: Record<string, unknown> = {};
  if (showsPortType(d)) {
    port.portType = d.portType;
    if (d.portType === 'access') port.trunks = [];
    else {
      const parsed = parseVlanList(d.trunks);
      if (!parsed.ok) return { errors: { trunks: [{ code: 'TRUNK_LIST_FORMAT', message: parsed.message }] } };
      port.trunks = parsed.vlans;
    }
  }
  const body = {
    name: d.name.trim(),
    vlan: d.vlan.trim() === '' ? null : num(d.vlan),
    mtu: num(d.mtu),
    bridged: d.bridged,
    role: d.role,
    required: d.required,
    label: d.label.trim() === '' ? null : d.label.trim(),
    description: d.description,
    ...port,
  };
  return { body };
}

function NetworkForm(props: { cluster: string; switchType: SwitchType; editing: LogicalNetwork | null; onDone(): void }) {
  const [d, setD] = useState<Draft>(props.editing ? draftOf(props.editing) : EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]): void => setD({ ...d, [k]: v });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const request = bodyOf(d);
    if ('errors' in request) {
      setErrors(request.errors);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const path = `/clusters/${enc(props.cluster)}/networks`;
      if (props.editing) await api('PATCH', `${path}/${enc(props.editing.name)}`, { body: request.body });
      else await api('POST', path, { body: request.body });
      props.onDone();
    } catch (err) {
      setErrors(err instanceof ApiFailure ? fieldErrors('network', err) : { '': [{ code: 'ERROR', message: describe(err) }] });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="network-form">
      <h3>{props.editing ? `Edit network ${props.editing.name}` : 'New network'}</h3>
      <Field label="name" field="name" errors={errors}>
        <input name="name" value={d.name} onInput={(e) => set('name', e.currentTarget.value)} />
      </Field>
      <Field label="VLAN" field="vlan" errors={errors} hint="1-4094; empty for untagged">
        <input name="vlan" inputMode="numeric" value={d.vlan} onInput={(e) => set('vlan', e.currentTarget.value)} />
      </Field>
      <Field label="MTU" field="mtu" errors={errors}>
        <input name="mtu" inputMode="numeric" value={d.mtu} onInput={(e) => set('mtu', e.currentTarget.value)} />
      </Field>
      <Field label="role" field="role" errors={errors}>
        <select name="role" value={d.role} onChange={(e) => set('role', e.currentTarget.value)}>
          {ROLES.map((r) => (
            <option value={r}>{r}</option>
          ))}
        </select>
      </Field>
      <Field label="label" field="label" errors={errors} hint="hosts whose NIC or bond carries this label get the network">
        <input name="label" value={d.label} onInput={(e) => set('label', e.currentTarget.value)} />
      </Field>
      <Field label="bridged" field="bridged" errors={errors}>
        <input type="checkbox" name="bridged" checked={d.bridged} onChange={(e) => set('bridged', e.currentTarget.checked)} />
      </Field>
      {showsPortType(d) && (
        <Field
          label="port type"
          field="portType"
          errors={errors}
          hint={`the VMs' port on Open vSwitch clusters: trunk and hybrid need switch type ovs (this cluster: ${props.switchType}); hybrid = the VLAN above untagged + trunks`}
        >
          <select name="portType" value={d.portType} onChange={(e) => set('portType', e.currentTarget.value as PortType)}>
            {PORT_TYPES.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </Field>
      )}
      {showsTrunks(d) && (
        <Field label="trunks" field="trunks" errors={errors} hint="tagged VLANs, e.g. 300,301,310-312">
          <input name="trunks" value={d.trunks} onInput={(e) => set('trunks', e.currentTarget.value)} />
        </Field>
      )}
      <Field label="required" field="required" errors={errors}>
        <input type="checkbox" name="required" checked={d.required} onChange={(e) => set('required', e.currentTarget.checked)} />
      </Field>
      <Field label="description" field="description" errors={errors}>
        <input name="description" value={d.description} onInput={(e) => set('description', e.currentTarget.value)} />
      </Field>
      <FieldError errors={errors} field="" />
      <button type="submit" disabled={busy}>
        {props.editing ? 'Save network' : 'Create network'}
      </button>{' '}
      <button type="button" class="link" onClick={props.onDone}>
        Cancel
      </button>
    </form>
  );
}

/**
 * The cluster's switch type with a switch to the other one. Every host of the cluster is re-planned
 * (a new generation), so the change is confirmed first; the engine's refusal is shown as it words it.
 */
function SwitchTypeControl(props: { cluster: Cluster; onChanged(): void }) {
  const current: SwitchType = props.cluster.switchType ?? 'linux';
  const target: SwitchType = current === 'ovs' ? 'linux' : 'ovs';
  const [hosts, setHosts] = useState<string[] | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | string | null>(null);
  const [busy, setBusy] = useState(false);
  const name = props.cluster.name;

  const ask = async (): Promise<void> => {
    setFailure(null);
    try {
      setHosts((await api<HostView[]>('GET', `/hosts?cluster=${enc(name)}`)).map((h) => h.name));
      setConfirming(true);
    } catch (e) {
      setFailure(e instanceof ApiFailure ? e : describe(e));
    }
  };
  const apply = async (): Promise<void> => {
    setBusy(true);
    try {
      await api('PATCH', `/clusters/${enc(name)}`, { body: { switchType: target } });
      setConfirming(false);
      props.onChanged();
    } catch (e) {
      setConfirming(false);
      setFailure(e instanceof ApiFailure ? e : describe(e));
    } finally {
      setBusy(false);
    }
  };
  const violations = failure instanceof ApiFailure ? failure.violations.filter((v) => v.severity === 'error') : [];

  return (
    <div class="switch-type" data-testid="switch-type-control">
      <span class={`badge switch ${current}`} data-testid="switch-type" title={`switch type of cluster ${name}`}>
        {SWITCH_NAMES[current]}
      </span>{' '}
      {!confirming && (
        <button type="button" class="link" onClick={() => void ask()}>
          switch to {SWITCH_NAMES[target]}
        </button>
      )}
      {confirming && hosts && (
        <div class="card confirm" role="dialog" aria-label="change switch type" data-testid="switch-confirm">
          <p>
            Switch cluster <b>{name}</b> from {SWITCH_NAMES[current]} to {SWITCH_NAMES[target]}? Every host's plan changes:{' '}
            {hosts.length === 0
              ? 'the cluster has no hosts yet.'
              : `${hosts.length} host${hosts.length === 1 ? '' : 's'} (${hosts.join(', ')}) get a new generation and rebuild their network as ${
                  target === 'ovs' ? 'Open vSwitch bridges, bonds and ports' : 'kernel bonds, VLAN devices and Linux bridges'
                } on their next boot.`}
          </p>
          <button type="button" disabled={busy} onClick={() => void apply()}>
            Switch to {target}
          </button>{' '}
          <button type="button" class="link" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {failure && (
        <div class="error" role="alert" data-testid="switch-error">
          {failure instanceof ApiFailure ? (
            <>
              <div>
                <code>{failure.code}</code> {failure.message}
              </div>
              {violations.length > 1 && (
                <ul>
                  {violations.map((v) => (
                    <li>
                      <code>{v.code}</code> {v.message}
                    </li>
                  ))}
                </ul>
              )}
            </>
          ) : (
            failure
          )}
        </div>
      )}
    </div>
  );
}

export function NetworksPage(props: { cluster: string | null }) {
  const [clusters, setClusters] = useState<Cluster[] | null>(null);
  const [networks, setNetworks] = useState<LogicalNetwork[]>([]);
  const [form, setForm] = useState<{ editing: LogicalNetwork | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cluster = props.cluster ?? clusters?.find((c) => c.isDefault)?.name ?? clusters?.[0]?.name ?? null;

  const loadClusters = useCallback(() => {
    api<Cluster[]>('GET', '/clusters').then(setClusters, (e: unknown) => setError(describe(e)));
  }, []);
  useEffect(loadClusters, [loadClusters]);
  const selected = clusters?.find((c) => c.name === cluster) ?? null;
  const reload = useCallback(async () => {
    if (!cluster) return;
    try {
      setNetworks(await api<LogicalNetwork[]>('GET', `/clusters/${enc(cluster)}/networks`));
      setError(null);
    } catch (e) {
      setError(describe(e));
    }
  }, [cluster]);
  useEffect(() => void reload(), [reload]);

  const remove = async (n: LogicalNetwork): Promise<void> => {
    if (!cluster) return;
    try {
      await api('DELETE', `/clusters/${enc(cluster)}/networks/${enc(n.name)}`);
      await reload();
    } catch (e) {
      setError(describe(e));
    }
  };

  return (
    <section>
      <header class="row">
        <h1>Networks</h1>
        <select aria-label="cluster" value={cluster ?? ''} onChange={(e) => navigate(href('networks', e.currentTarget.value))}>
          {(clusters ?? []).map((c) => (
            <option value={c.name}>{c.name}</option>
          ))}
        </select>
        {selected && <SwitchTypeControl key={selected.name} cluster={selected} onChanged={loadClusters} />}
      </header>
      {error && <p class="error">{error}</p>}
      <table data-testid="networks">
        <thead>
          <tr>
            <th>name</th>
            <th>VLAN</th>
            <th>MTU</th>
            <th>role</th>
            <th>bridged</th>
            <th>required</th>
            <th>label</th>
            <th title="the VMs' port on Open vSwitch clusters">port</th>
            <th>trunks</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {networks.map((n) => (
            <tr data-network={n.name}>
              <td>{n.name}</td>
              <td>{n.vlan ?? 'untagged'}</td>
              <td>{n.mtu}</td>
              <td>{n.role}</td>
              <td>{n.bridged ? 'yes' : ''}</td>
              <td>{n.required ? 'yes' : ''}</td>
              <td>{n.label ?? ''}</td>
              <td data-col="portType">{n.bridged || (n.portType ?? 'access') !== 'access' ? (n.portType ?? 'access') : ''}</td>
              <td data-col="trunks">{vlanList(n.trunks ?? [])}</td>
              <td>
                <button class="link" onClick={() => setForm({ editing: n })}>
                  edit
                </button>{' '}
                {n.role !== 'management' && (
                  <button class="link" onClick={() => void remove(n)}>
                    delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {cluster &&
        (form ? (
          <NetworkForm
            key={form.editing?.name ?? 'new'}
            cluster={cluster}
            switchType={selected?.switchType ?? 'linux'}
            editing={form.editing}
            onDone={() => {
              setForm(null);
              void reload();
            }}
          />
        ) : (
          <button onClick={() => setForm({ editing: null })}>New network</button>
        ))}
    </section>
  );
}
