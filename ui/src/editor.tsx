// CodeMirror 6 as a preact component: shell highlighting (the templates are sh and iPXE scripts with
// Handlebars tags), line numbers, undo history; read-only mode for rendered output.
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { StreamLanguage, bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { yaml } from '@codemirror/lang-yaml';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';

const shellLanguage = StreamLanguage.define(shell);

/**
 * `value` is pushed into the editor only when `version` changes (the parent loaded another text):
 * pushing on every render would fight the user's typing with a render that is one keystroke behind.
 */
export function Editor(props: { value: string; version?: number; onChange?: (text: string) => void; readOnly?: boolean; language?: 'shell' | 'yaml'; testid?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    if (!host.current) return;
    const extensions: Extension[] = [
      lineNumbers(),
      drawSelection(),
      highlightActiveLine(),
      bracketMatching(),
      history(),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      props.language === 'yaml' ? yaml() : shellLanguage,
      EditorView.lineWrapping,
      EditorView.updateListener.of((u) => {
        if (u.docChanged) onChange.current?.(u.state.doc.toString());
      }),
    ];
    if (props.readOnly) extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));
    view.current = new EditorView({ state: EditorState.create({ doc: props.value, extensions }), parent: host.current });
    return () => {
      view.current?.destroy();
      view.current = null;
    };
    // The editor is created once; later values are pushed in below.
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.version]);

  return <div class={`editor${props.readOnly ? ' readonly' : ''}`} ref={host} data-testid={props.testid} />;
}
