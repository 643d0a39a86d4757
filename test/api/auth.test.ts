// Bearer authentication on everything under /api/v1; /healthz stays open; tokens never reach the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, call, errorOf, report, startHarness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const WRONG = 'tbl_not-a-real-token-0123456789';

const protectedRoutes: [string, string, unknown][] = [
  ['GET', '/api/v1/openapi.json', undefined],
  ['GET', '/api/v1/clusters', undefined],
  ['POST', '/api/v1/clusters', { name: 'sneaky' }],
  ['DELETE', '/api/v1/clusters/default', undefined],
  ['GET', '/api/v1/hosts?state=new', undefined],
  ['POST', '/api/v1/inventory', report([1, 2])],
  ['GET', '/api/v1/hosts/blade1/plan?format=yaml', undefined],
  ['GET', '/api/v1/no-such-route', undefined],
];

function expectUnauthorized(r: Awaited<ReturnType<typeof call>>, label: string): void {
  expect(r.status, label).toBe(401);
  expect(errorOf(r).code, label).toBe('UNAUTHORIZED');
  expect(r.headers.get('www-authenticate'), label).toMatch(/^Bearer\b/);
}

describe('bearer authentication', () => {
  it('/healthz answers without a token', async () => {
    const r = await call(h, 'GET', '/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true });
  });

  it('401 without a token, with an unknown token, or with another scheme; nothing is written', async () => {
    const before = h.opened.repo.dumpTables();
    for (const [method, path, body] of protectedRoutes) {
      const o = body === undefined ? {} : { body };
      expectUnauthorized(await call(h, method, path, { ...o, token: null }), `${method} ${path} without a token`);
      expectUnauthorized(await call(h, method, path, { ...o, token: WRONG }), `${method} ${path} with a wrong token`);
      expectUnauthorized(await call(h, method, path, { ...o, token: null, headers: { authorization: `Basic ${Buffer.from(`x:${h.token}`).toString('base64')}` } }), `${method} ${path} Basic`);
      expectUnauthorized(await call(h, method, path, { ...o, token: null, headers: { authorization: 'Bearer' } }), `${method} ${path} empty Bearer`);
    }
    expect(h.opened.repo.dumpTables()).toEqual(before);
  });

  it('authentication comes before body parsing: an anonymous bad body is a 401, not a 400/413', async () => {
    expectUnauthorized(await call(h, 'POST', '/api/v1/clusters', { raw: '{oops', token: null }), 'invalid JSON');
    expectUnauthorized(await call(h, 'POST', '/api/v1/clusters', { raw: 'x'.repeat(2 * 1024 * 1024), token: null }), '2 MiB');
  });

  it('the right token opens every route of the list; the scheme is case-insensitive', async () => {
    for (const [method, path] of protectedRoutes.filter(([m]) => m === 'GET')) {
      const r = await call(h, method, path);
      expect(r.status, `${method} ${path}`).not.toBe(401);
    }
    const lower = await call(h, 'GET', '/api/v1/clusters', { token: null, headers: { authorization: `bearer ${h.token}` } });
    expect(lower.status).toBe(200);
  });

  it('a revoked token is refused', async () => {
    const extra = h.opened.engine.createToken('temporary').token;
    expect((await call(h, 'GET', '/api/v1/clusters', { token: extra })).status).toBe(200);
    h.opened.engine.revokeToken('temporary');
    expectUnauthorized(await call(h, 'GET', '/api/v1/clusters', { token: extra }), 'revoked');
  });

  it('request log lines carry method, route, status and duration, and never a token', async () => {
    await call(h, 'GET', '/api/v1/clusters/default');
    await call(h, 'GET', '/api/v1/clusters', { token: WRONG });
    const line = h.logs.find((l) => l.msg === 'request' && l.route === '/api/v1/clusters/{cluster}' && l.status === 200);
    expect(line).toMatchObject({ method: 'GET', route: '/api/v1/clusters/{cluster}', status: 200 });
    expect(typeof line?.ms).toBe('number');
    expect(h.logs.some((l) => l.msg === 'request' && l.status === 401)).toBe(true);
    const raw = h.rawLog();
    expect(raw.length).toBeGreaterThan(0);
    expect(raw).not.toContain(h.token);
    expect(raw).not.toContain(WRONG);
    expect(raw.toLowerCase()).not.toContain('authorization');
  });
});
