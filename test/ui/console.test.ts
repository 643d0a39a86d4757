// The web console end to end: Debian's chromium (playwright-core) against the real app (API, boot
// chain, /ui) on 127.0.0.1 with a seeded temporary database. Log in (a wrong token first), see the
// rack, watch it follow a boot driven through the boot endpoints without a reload, open a host and its
// topology, create a network and see the engine's duplicate-VLAN error next to the VLAN field, edit a
// template (preview, the diff grouped for three hosts), save, roll back, pin a canary. Screenshots of
// the rack and the template editor go to docs/console/.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBootServices } from '../../src/boot/http/index.js';
import { type OpenedEngine, sqliteBootBackend } from '../../src/engine/index.js';
import { Registry } from '../../src/metrics.js';
import { CHROMIUM, type ConsoleRig, HAVE_CHROMIUM, IS_ROOT, SHOTS, startConsole } from './harness.js';

const WAIT = 10_000;

if (!HAVE_CHROMIUM && !IS_ROOT) {
  console.warn(`console tests skipped: ${CHROMIUM} is missing and only root can install it (test/support/ensure-deps.sh installs Debian's chromium)`);
}

const mac = (blade: number, nic: number): string => `52:54:00:00:0${blade}:0${nic}`;
const hyp = (m: string): string => m.replace(/:/g, '-');

let rig: ConsoleRig | undefined;
let opened: OpenedEngine;
let base: string;
let token: string;
let page: Page;

function seed(o: OpenedEngine): void {
  const e = o.engine;
  for (const b of [1, 2, 3]) {
    const r = e.reportInventory(null, {
      bootMac: mac(b, 0),
      nics: [0, 1, 2].map((n) => ({ mac: mac(b, n), name: `eth${n}`, driver: 'virtio_net', speed: 10000, carrier: true })),
    });
    e.updateHost(r.host.name, { name: `blade${b}` });
  }
  // storage reaches every blade by label: on blade1 through a bond, on the others on eth1.
  e.createNetwork('default', { name: 'storage', vlan: 20, label: 'data', role: 'storage', bridged: true });
  e.createBond('blade1', { name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'], labels: ['data'], options: { miimon: 100 } });
  e.updateNic('blade2', 'eth1', { labels: ['data'] });
  e.updateNic('blade3', 'eth1', { labels: ['data'] });
}

/** The boot endpoints as a blade calls them. */
async function blade(path: string, init: { method?: string; token?: string; json?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.token) headers['x-tabula-token'] = init.token;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

const rackCell = (host: string, col: string): Promise<string> => text(`tr[data-host="${host}"] td[data-col="${col}"]`);

/** The element's text now ('' while it is absent), for expect.poll. */
function text(selector: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .textContent({ timeout: 250 })
    .then((t) => t ?? '', () => '');
}
/** expect.poll with the page's wait, not vitest's one second. */
const poll = (fn: () => Promise<string>) => expect.poll(fn, { timeout: WAIT, interval: 100 });

describe.skipIf(!HAVE_CHROMIUM && !IS_ROOT)('web console (chromium)', () => {
  beforeAll(async () => {
    rig = await startConsole({
      prefix: 'tabula-console-',
      seed,
      waitMs: WAIT,
      app: (o, tmp, logger) => {
        const metrics = new Registry();
        const backend = sqliteBootBackend(o, { metrics, logger });
        const services = createBootServices({ engine: o.engine, backend, publicUrl: 'http://10.77.0.1:8080/', bootDir: join(tmp, 'pxe'), metrics, logger });
        return { boot: services, bootTimeline: services.store };
      },
    });
    ({ opened, base, token, page } = rig);
  }, 45_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('refuses a wrong token with the 401 message, then logs in and lists the seeded hosts', async () => {
    await page.goto(`${base}/ui/`);
    await page.fill('#token', 'not-a-real-token');
    await page.click('button[type=submit]');
    await poll(() => text('[data-testid=auth-error]')).toContain('missing or invalid (401 UNAUTHORIZED)');
    expect(await page.evaluate(() => sessionStorage.getItem('tabula.token'))).toBeNull();

    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('tr[data-host="blade3"]');
    const names = await page.locator('table[data-testid=rack] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host')));
    expect(names).toEqual(['blade1', 'blade2', 'blade3']);
    expect(await rackCell('blade1', 'result')).toBe('never');
    // The filters work on the rows.
    await page.fill('input[aria-label="filter by name"]', 'blade2');
    await expect.poll(() => page.locator('table[data-testid=rack] tbody tr').count(), { timeout: WAIT }).toBe(1);
    await page.fill('input[aria-label="filter by name"]', '');
  });

  it('follows a boot driven through the boot endpoints without reloading the page', async () => {
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const m = mac(2, 0);
    const script = await (await blade(`/boot/${hyp(m)}/ipxe`)).text();
    const bootToken = /tabula\.token=(\S+)/.exec(script)?.[1] ?? '';
    expect(bootToken).not.toBe('');
    await poll(() => rackCell('blade2', 'result')).toBe('booting');

    await blade(`/boot/${hyp(m)}/inventory`, {
      method: 'POST',
      token: bootToken,
      json: { bootMac: m, nics: [0, 1, 2].map((n) => ({ mac: mac(2, n), name: `eth${n}`, driver: 'virtio_net', speed: 10000, carrier: true })) },
    });
    await poll(() => rackCell('blade2', 'stage')).toBe('inventory');
    const config = await blade(`/boot/${hyp(m)}/config`, { token: bootToken });
    const generation = Number(config.headers.get('x-tabula-generation'));
    await blade(`/boot/${hyp(m)}/report`, {
      method: 'POST',
      token: bootToken,
      json: { generation, verified: true, checks: [{ name: 'ping-engine', ok: true }, { name: 'mtu', ok: true, detail: '1500' }] },
    });
    await poll(() => rackCell('blade2', 'result')).toBe('verified');
    expect(await rackCell('blade2', 'seconds')).toMatch(/^\d+\.\d s$/);
    expect(await page.locator('tr[data-host="blade2"] .badge').first().textContent()).toBe('in sync');
    // Same document: the rows changed under a poll, not a reload.
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    // blade3 starts booting too, so the screenshot shows a rack in motion.
    const m3 = mac(3, 0);
    const script3 = await (await blade(`/boot/${hyp(m3)}/ipxe`)).text();
    await blade(`/boot/${hyp(m3)}/inventory`, {
      method: 'POST',
      token: /tabula\.token=(\S+)/.exec(script3)?.[1] ?? '',
      json: { bootMac: m3, nics: [0, 1, 2].map((n) => ({ mac: mac(3, n), name: `eth${n}`, driver: 'virtio_net', speed: 10000, carrier: true })) },
    });
    await poll(() => rackCell('blade3', 'stage')).toBe('inventory');
    expect(await rackCell('blade3', 'result')).toBe('booting');
    await page.setViewportSize({ width: 1400, height: 420 });
    await page.screenshot({ path: join(SHOTS, 'rack.png') });
    await page.setViewportSize({ width: 1400, height: 900 });
  }, 30_000);

  it('opens a host with its topology, plan, checks and boot timeline', async () => {
    await page.click('tr[data-host="blade1"] a');
    await page.waitForSelector('[data-testid=topology]');
    expect(await page.textContent('[data-testid=host-name]')).toBe('blade1');
    const nodes = await page.locator('[data-testid=topology] [data-node]').evaluateAll((n) => n.map((e) => e.getAttribute('data-node')));
    expect(nodes).toEqual(expect.arrayContaining(['if:eth0', 'if:eth1', 'if:eth2', 'if:bond0', 'if:bond0.20', 'if:storage', 'net:storage', 'net:mgmt']));
    expect(await page.locator('[data-testid=topology] path.edge').count()).toBeGreaterThanOrEqual(6);
    expect(await page.textContent('[data-testid=plan-yaml]')).toContain('apiVersion: tabula/v1');
    expect(await page.locator('[data-testid=nics] tbody tr').count()).toBe(3);

    // blade2 booted above: its page shows the report's checks and the stage chart.
    await page.goto(`${base}/ui/hosts/blade2`);
    await page.waitForSelector('[data-testid=report]');
    expect(await page.locator('[data-testid=report] tr[data-check]').count()).toBe(2);
    const stages = await page.locator('[data-testid=bootchart] [data-stage]').evaluateAll((n) => n.map((e) => e.getAttribute('data-stage')));
    expect(stages).toEqual(['host-script', 'inventory', 'config', 'report', 'verified']);
    await page.screenshot({ path: join(SHOTS, 'host.png'), fullPage: true });
  });

  it('creates a bond on the host page, with the engine error next to the members field first', async () => {
    await page.goto(`${base}/ui/hosts/blade3`);
    await page.waitForSelector('[data-testid=topology]');
    await page.click('button:has-text("New bond")');
    const form = page.locator('[data-testid=bond-form]');
    await form.locator('input[name=members][value=eth2]').check();
    await form.locator('button[type=submit]').click();
    await poll(() => text('[data-testid=bond-form] [data-field="members"] [data-field-error="members"]')).toContain('BOND_TOO_FEW_MEMBERS');
    expect(opened.engine.listBonds('blade3')).toEqual([]);

    await form.locator('input[name=members][value=eth1]').check();
    await form.locator('select[name=mode]').selectOption('802.3ad');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector('[data-testid=topology] [data-node="if:bond0"]');
    expect(opened.engine.listBonds('blade3').map((b) => [b.name, b.mode, b.members.map((m) => m.name).sort()])).toEqual([['bond0', '802.3ad', ['eth1', 'eth2']]]);
  });

  it('shows the engine error for a duplicate VLAN next to the VLAN field, creates the network, edits its MTU', async () => {
    await page.click('nav.top a:has-text("Networks")');
    await page.waitForSelector('tr[data-network="storage"]');
    await page.click('button:has-text("New network")');
    const form = page.locator('[data-testid=network-form]');
    await form.locator('input[name=name]').fill('backup');
    await form.locator('input[name=vlan]').fill('20');
    await form.locator('input[name=label]').fill('data');
    await form.locator('button[type=submit]').click();
    const vlanError = form.locator('[data-field="vlan"] [data-field-error="vlan"]');
    await poll(() => text('[data-testid=network-form] [data-field="vlan"] [data-field-error="vlan"]')).toContain('DUPLICATE_VLAN_ON_INTERFACE');
    expect(await vlanError.textContent()).toContain('would carry VLAN 20 twice');
    expect(await form.locator('[data-field="name"] [data-field-error]').count()).toBe(0);
    expect(opened.engine.listNetworks('default').map((n) => n.name)).not.toContain('backup');

    await form.locator('input[name=vlan]').fill('30');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector('tr[data-network="backup"]');
    expect(opened.engine.getNetwork('default', 'backup').vlan).toBe(30);

    // Editing goes through the same checks: an MTU out of range is shown next to the MTU field.
    await page.click('tr[data-network="backup"] button:has-text("edit")');
    await form.locator('input[name=mtu]').fill('20');
    await form.locator('button[type=submit]').click();
    await poll(() => text('[data-testid=network-form] [data-field="mtu"] [data-field-error="mtu"]')).toMatch(/MTU/);
    expect(opened.engine.getNetwork('default', 'backup').mtu).toBe(1500);
    await form.locator('input[name=mtu]').fill('9000');
    await form.locator('button[type=submit]').click();
    await poll(() => text('tr[data-network="backup"] td:nth-child(3)')).toBe('9000');
  });

  it('edits a template: preview, the diff grouped for three hosts, save, roll back, pin a canary', async () => {
    await page.click('nav.top a:has-text("Templates")');
    await page.click('a[data-template="apply.sh"]');

    const line = page.locator('[data-testid=template-editor] .cm-line', { hasText: /^set -eu$/ });
    await line.click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('echo console-canary');

    await poll(() => text('[data-testid=preview]')).toContain('echo console-canary');
    const blast = page.locator('[data-testid=blast]');
    await poll(() => text('[data-testid=blast]')).toContain('3 hosts change in 1 group');
    expect(await blast.locator('[data-testid=group-hosts]').allTextContents()).toEqual(['blade1, blade2, blade3']);
    expect(await blast.locator('pre.diff .add').allTextContents()).toEqual(['+echo console-canary']);
    await page.screenshot({ path: join(SHOTS, 'templates.png'), fullPage: true });

    await page.fill('input[aria-label="save message"]', 'console test: canary echo');
    await page.click('button:has-text("Save revision")');
    await poll(() => text('[data-testid=notice]')).toContain('Saved revision 2');
    await page.waitForSelector('tr[data-revision="2"].current');
    expect(opened.engine.getPlan('blade1').generation).toBeGreaterThan(0);

    await page.click('tr[data-revision="1"] button:has-text("roll back to this")');
    await poll(() => text('[data-testid=notice]')).toContain('revision 1 is current again');
    await page.waitForSelector('tr[data-revision="1"].current');

    await page.click('tr[data-revision="2"] button:has-text("show")');
    await poll(() => text('[data-testid=revision-diff]')).toContain('+echo console-canary');
    await page.check('input[name=canary][value=blade3]');
    await page.click('button:has-text("Pin to 1 host")');
    await poll(() => text('[data-testid=pins]')).toContain('host blade3 → revision 2');
    const served = await fetch(`${base}/api/v1/templates/apply.sh/pins`, { headers: { authorization: `Bearer ${token}` } });
    expect(await served.json()).toMatchObject([{ host: 'blade3', revision: 2 }]);
  }, 40_000);

  it('says the token is missing or invalid when the API answers 401 later', async () => {
    await page.evaluate(() => sessionStorage.setItem('tabula.token', 'revoked-or-wrong'));
    await page.goto(`${base}/ui/`);
    await poll(() => text('[data-testid=auth-error]')).toContain('The API token is missing or invalid (401 UNAUTHORIZED)');
    expect(await page.evaluate(() => sessionStorage.getItem('tabula.token'))).toBeNull();
  });
});
