// Form helpers: an engine error shown next to the field it concerns (fields.ts maps the codes).
import type { ComponentChildren } from 'preact';
import type { FieldErrors } from './fields';

export function FieldError(props: { errors: FieldErrors; field: string }) {
  const list = props.errors[props.field];
  if (!list || list.length === 0) return null;
  return (
    <div class="field-error" role="alert" data-field-error={props.field || 'form'}>
      {list.map((e) => (
        <div>
          <code>{e.code}</code> {e.message}
        </div>
      ))}
    </div>
  );
}

export function Field(props: { label: string; field: string; errors: FieldErrors; children: ComponentChildren; hint?: string }) {
  const bad = (props.errors[props.field]?.length ?? 0) > 0;
  return (
    <div class={`field${bad ? ' invalid' : ''}`} data-field={props.field}>
      <label>
        <span>{props.label}</span>
        {props.children}
      </label>
      {props.hint && <small class="muted">{props.hint}</small>}
      <FieldError errors={props.errors} field={props.field} />
    </div>
  );
}
