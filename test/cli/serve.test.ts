// `tabula serve` in-process: the API answers, the CLI works on the same database meanwhile, and
// aborting the run stops the server and closes the database.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, waitFor } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

interface LogLine {
  level: string;
  msg: string;
  name: string;
  time: string;
  [k: string]: unknown;
}

describe('tabula serve', () => {
  it('answers /healthz and an authenticated /api/v1/clusters on 127.0.0.1:0, then stops on abort', async () => {
    const ac = new AbortController();
    const serving = sb.run(['serve', '--listen', '127.0.0.1:0', '--tftp-listen', 'off', '--tftp-root', sb.dir], { signal: ac.signal });
    let settled = false;
    void serving.then(() => (settled = true));
    try {
      const logs = (): LogLine[] => sb.logs.map((l) => JSON.parse(l) as LogLine);
      const listening = await waitFor('the listen log', () => logs().find((l) => l.msg.startsWith('API listening')));
      expect(listening).toMatchObject({ level: 'info', name: 'tabula', service: 'api', address: '127.0.0.1', url: `http://127.0.0.1:${listening['port'] as number}`, db: sb.db });
      const port = listening['port'] as number;
      expect(port).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${port}`;

      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      await health.body?.cancel();

      const anonymous = await fetch(`${base}/api/v1/clusters`);
      expect(anonymous.status).toBe(401);
      await anonymous.body?.cancel();

      // the CLI works on the same database while the server runs
      const token = (await sb.ok(['token', 'create', 'test'])).trim();
      await sb.ok(['cluster', 'create', 'rack7']);
      const res = await fetch(`${base}/api/v1/clusters`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('"rack7"');
      expect(text).toContain('"default"');
      expect(settled).toBe(false);
    } finally {
      ac.abort();
    }
    const result = await serving;
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    const msgs = sb.logs.map((l) => (JSON.parse(l) as LogLine).msg);
    expect(msgs).toContain('shutting down');
    expect(msgs[msgs.length - 1]).toBe('stopped');
    // the port is closed
    const port = (sb.logs.map((l) => JSON.parse(l) as LogLine).find((l) => l.msg.startsWith('API listening')) as LogLine)['port'] as number;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('a port already in use is an error (exit 1) that names the address', async () => {
    const ac = new AbortController();
    const first = sb.run(['serve', '--listen', '127.0.0.1:0', '--tftp-listen', 'off', '--tftp-root', sb.dir], { signal: ac.signal });
    try {
      const line = await waitFor('the listen log', () => sb.logs.find((l) => l.includes('API listening')));
      const port = (JSON.parse(line) as LogLine)['port'] as number;
      const second = await sb.run(['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off', '--tftp-root', sb.dir]);
      expect(second.code).toBe(1);
      expect(second.stderr).toBe(`error LISTEN_FAILED: cannot listen on 127.0.0.1:${port}: the address is in use\n`);
    } finally {
      ac.abort();
    }
    expect((await first).code).toBe(0);
  });

  it('an already aborted signal starts and stops at once', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await sb.run(['serve', '--listen', '127.0.0.1:0', '--tftp-listen', 'off', '--tftp-root', sb.dir], { signal: ac.signal })).code).toBe(0);
    expect(sb.logs.map((l) => (JSON.parse(l) as LogLine).msg).at(-1)).toBe('stopped');
  });
});
