// The two iPXE scripts of the HTTP boot chain. Values come from the engine, never from the request,
// except the MAC, which the caller has already normalised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findTemplatesDir } from './paths.js';
import { type CompiledTemplate, compileTemplate, createTemplateEnv } from './sandbox.js';

export interface GenericIpxeContext {
  publicUrl: string;
  retrySeconds: number;
}

export interface HostIpxeContext {
  publicUrl: string;
  mac: string;
  token: string;
  kernelArgs: string;
  host: { name: string; generation: number };
}

const cache = new Map<string, CompiledTemplate<unknown>>();

function shipped<C>(file: string): CompiledTemplate<C> {
  let t = cache.get(file);
  if (!t) {
    t = compileTemplate<unknown>(createTemplateEnv(), readFileSync(join(findTemplatesDir(), file), 'utf8'), file);
    cache.set(file, t);
  }
  return t as CompiledTemplate<C>;
}

export function renderGenericIpxe(ctx: GenericIpxeContext): string {
  return shipped<GenericIpxeContext>('boot.ipxe.hbs').render(ctx);
}

export function renderHostIpxe(ctx: HostIpxeContext): string {
  return shipped<HostIpxeContext>('host.ipxe.hbs').render(ctx);
}
