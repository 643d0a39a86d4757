// One in-memory engine per test, and the assertion every refused engine call must pass: the right
// typed error, and not a byte written.
import { afterEach, beforeEach, expect } from 'vitest';
import { TabulaError } from '../../src/domain/errors.js';
import { type OpenedEngine, openEngine } from '../../src/engine/index.js';

/** A fresh in-memory engine for each test of the file; read `.current` inside tests. */
export function useMemoryEngine(): { readonly current: OpenedEngine } {
  const box: { current: OpenedEngine } = { current: undefined as unknown as OpenedEngine };
  beforeEach(() => {
    box.current = openEngine({ dbPath: ':memory:' });
  });
  afterEach(() => box.current.close());
  return box;
}

/** `fn` throws a TabulaError with `code`, and the database is exactly as before. */
export function rejectsWithoutWrites(opened: OpenedEngine, fn: () => unknown, code: string): TabulaError {
  const before = opened.repo.dumpTables();
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TabulaError);
    expect((e as TabulaError).code).toBe(code);
    // a refused write leaves nothing behind
    expect(opened.repo.dumpTables()).toEqual(before);
    return e as TabulaError;
  }
  throw new Error(`expected ${code}`);
}
