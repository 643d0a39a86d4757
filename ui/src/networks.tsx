// A cluster's logical networks: the list, and a form to create or edit one. The engine checks every
// host of the cluster; its errors appear next to the field they concern (fields.ts).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, describe, enc } from './api';
import { type FieldErrors, fieldErrors } from './fields';
import { Field, FieldError } from './forms';
import { href, navigate } from './router';
import type { Cluster, LogicalNetwork } from './types';

const ROLES = ['vm', 'storage', 'migration', 'display', 'other', 'management'];

interface Draft {
  name: string;
  vlan: string;
  mtu: string;
  bridged: boolean;
  role: string;
  required: boolean;
  label: string;
  description: string;
}

const EMPTY: Draft = { name: '', vlan: '', mtu: '1500', bridged: false, role: 'vm', required: false, label: '', description: '' };

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
  };
}

/** The request body; a non-number VLAN or MTU is sent as typed so the API names the field. */
function bodyOf(d: Draft): Record<string, unknown> {
  const num = (s: string): number | string => (/^-?[0-9]+$/.test(s.trim()) ? Number(s.trim()) : s);
  return {
    name: d.name.trim(),
    vlan: d.vlan.trim() === '' ? null : num(d.vlan),
    mtu: num(d.mtu),
    bridged: d.bridged,
    role: d.role,
    required: d.required,
    label: d.label.trim() === '' ? null : d.label.trim(),
    description: d.description,
  };
}

function NetworkForm(props: { cluster: string; editing: LogicalNetwork | null; onDone(): void }) {
  const [d, setD] = useState<Draft>(props.editing ? draftOf(props.editing) : EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]): void => setD({ ...d, [k]: v });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const path = `/clusters/${enc(props.cluster)}/networks`;
      if (props.editing) await api('PATCH', `${path}/${enc(props.editing.name)}`, { body: bodyOf(d) });
      else await api('POST', path, { body: bodyOf(d) });
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

export function NetworksPage(props: { cluster: string | null }) {
  const [clusters, setClusters] = useState<Cluster[] | null>(null);
  const [networks, setNetworks] = useState<LogicalNetwork[]>([]);
  const [form, setForm] = useState<{ editing: LogicalNetwork | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cluster = props.cluster ?? clusters?.find((c) => c.isDefault)?.name ?? clusters?.[0]?.name ?? null;

  useEffect(() => {
    api<Cluster[]>('GET', '/clusters').then(setClusters, (e: unknown) => setError(describe(e)));
  }, []);
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
