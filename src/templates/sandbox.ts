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
