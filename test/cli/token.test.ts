import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

describe('tabula token', () => {
  it('create prints the token once (alone on stdout), list shows names only, revoke removes it', async () => {
    const created = await sb.run(['token', 'create', 'admin']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^tbl_[A-Za-z0-9_-]{20,}\n$/);
    expect(created.stderr).toContain("token 'admin' created");
    expect(created.stderr).toContain('cannot be shown again');
    const token = created.stdout.trim();

    const list = await sb.run(['token', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+CREATED\s+LAST USED$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^admin\s+\d{4}-\d\d-\d\dT\S+\s+-$/);
    expect(list.stdout).not.toContain(token);

    const json = await sb.okJson<{ name: string; createdAt: string; lastUsedAt: string | null }[]>(['token', 'list']);
    expect(json).toEqual([{ name: 'admin', createdAt: expect.any(String), lastUsedAt: null }]);

    const revoked = await sb.run(['token', 'revoke', 'admin']);
    expect(revoked).toEqual({ code: 0, stdout: "token 'admin' revoked\n", stderr: '' });
    expect(await sb.okJson(['token', 'list'])).toEqual([]);
  });

  it('create --json gives name and token; a duplicate name and an unknown revoke are errors (exit 1)', async () => {
    const created = await sb.run(['--json', 'token', 'create', 'ci']);
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout) as { name: string; token: string };
    expect(body.name).toBe('ci');
    expect(body.token).toMatch(/^tbl_/);

    const dup = await sb.run(['token', 'create', 'ci']);
    expect(dup.code).toBe(1);
    expect(dup.stdout).toBe('');
    expect(dup.stderr).toBe("error TOKEN_EXISTS: a token named 'ci' already exists\n");

    const gone = await sb.run(['token', 'revoke', 'nobody']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe("error TOKEN_NOT_FOUND: token 'nobody' does not exist\n");

    const bad = await sb.run(['token', 'create', 'no spaces']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error TOKEN_NAME_INVALID: token name 'no spaces'/);
  });
});
