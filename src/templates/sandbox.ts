// Handlebars for admin-edited templates: a fresh environment per renderer, prototype access off,
// strict lookups, and only pure helpers (no file system, no network). Output is shell or iPXE text,
// never HTML, so HTML escaping is off; shell safety comes from the shq helper.
import Handlebars from 'handlebars';

/** POSIX shell single-quoting: the value reaches sh as one literal word, whatever it holds. */
export function shellQuote(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export type TemplateEnv = typeof Handlebars;

export function createTemplateEnv(): TemplateEnv {
  const env = Handlebars.create();
  // `log` writes to the server's console: admin templates get no side channel at all.
  env.unregisterHelper('log');
  env.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  env.registerHelper('shq', (v: unknown) => shellQuote(v));
  return env;
}

export interface CompiledTemplate<C> {
  render(context: C): string;
}

export function compileTemplate<C>(env: TemplateEnv, source: string, name: string): CompiledTemplate<C> {
  const fn = env.compile<C>(source, { strict: true, noEscape: true });
  return {
    render(context: C): string {
      try {
        return fn(context, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
      } catch (e) {
        throw new Error(`template '${name}': ${(e as Error).message}`);
      }
    },
  };
}

export interface SourceProblem {
  message: string;
  /** 1-based line of the template source, when Handlebars says. */
  line: number | null;
}

interface AstNode {
  type: string;
  loc?: { start: { line: number } };
  path?: { type: string; original?: unknown; parts?: string[] };
  params?: AstNode[];
  hash?: { pairs: { value: AstNode }[] };
  program?: { body: AstNode[] };
  inverse?: { body: AstNode[] };
}

/**
 * Everything that can be known about a source without rendering it: syntax, block nesting, partials
 * and decorators (none exist in this environment) and helpers that are not registered. Returns the
 * first problem, or null.
 */
export function checkTemplateSource(env: TemplateEnv, source: string): SourceProblem | null {
  const lineOf = (e: unknown): number | null => {
    const err = e as { lineNumber?: unknown; message?: unknown };
    if (typeof err.lineNumber === 'number') return err.lineNumber;
    const m = /line (\d+)/.exec(String(err.message ?? ''));
    return m ? Number(m[1]) : null;
  };
  let ast: { body: AstNode[] };
  try {
    ast = env.parse(source) as unknown as { body: AstNode[] };
    env.precompile(source, { strict: true, noEscape: true });
  } catch (e) {
    return { message: String((e as Error).message).split('\n')[0] ?? 'syntax error', line: lineOf(e) };
  }
  const helpers = env.helpers as Record<string, unknown>;
  let problem: SourceProblem | null = null;
  const visit = (n: AstNode | undefined): void => {
    if (!n || problem) return;
    const line = n.loc?.start.line ?? null;
    if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
      problem = { message: 'partials are not available in Tabula templates', line };
      return;
    }
    if (n.type === 'DecoratorBlock' || n.type === 'Decorator') {
      problem = { message: 'decorators are not available in Tabula templates', line };
      return;
    }
    const isCall = n.type === 'SubExpression' || n.type === 'BlockStatement' || ((n.params?.length ?? 0) > 0 || (n.hash?.pairs.length ?? 0) > 0);
    if (isCall && n.path?.type === 'PathExpression' && (n.path.parts?.length ?? 0) === 1) {
      const helper = String(n.path.original);
      // A block over a plain value ({{#plan.steps}}) is Handlebars' implicit each/with: only named calls matter.
      const plainBlock = n.type === 'BlockStatement' && (n.params?.length ?? 0) === 0;
      if (!plainBlock && !Object.prototype.hasOwnProperty.call(helpers, helper)) {
        problem = { message: `unknown helper '${helper}' (available: ${Object.keys(helpers).filter((h) => !h.endsWith('Missing')).sort().join(', ')})`, line };
        return;
      }
    }
    for (const p of n.params ?? []) visit(p);
    for (const pair of n.hash?.pairs ?? []) visit(pair.value);
    for (const c of n.program?.body ?? []) visit(c);
    for (const c of n.inverse?.body ?? []) visit(c);
  };
  for (const n of ast.body) visit(n);
  return problem;
}
