// The console's Networks page for Open vSwitch port types (issue 8), in Debian's chromium against the
// real API on 127.0.0.1 with a seeded temporary database: an ovs cluster whose host blade4 carries mgmt
// (VLAN 100) and a hybrid network (native 400, trunks 401-402) on an LACP bond, and a linux default
// cluster whose blade5 has a balance-rr bond. Creates a trunk network from the form and reads it back
// in the table and over the API; a malformed trunk list is stopped in the browser, a bad one is
// refused by the engine next to the trunks field with nothing stored; edits the hybrid network
// (TRUNK_CONTAINS_ACCESS_TAG first, PORT_TYPE_VLAN_MISMATCH at the VLAN field) keeping its other
// fields; switches cluster types (each refusal shown as the engine words it, then a switch that
// re-plans the host). Writes docs/console/networks.png.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedEngine } from '../../src/engine/index.js';
import { type ConsoleRig, HAVE_CHROMIUM, IS_ROOT, SHOTS, startConsole } from './harness.js';

const WAIT = 10_000;
const mac = (blade: number, nic: number): string => `52:54:00:00:0${blade}:0${nic}`;

let rig: ConsoleRig | undefined;
let opened: OpenedEngine;
let base: string;
let token: string;
let page: Page;

function seed(o: OpenedEngine): void {
  const e = o.engine;
  const nics = (b: number) => [0, 1, 2].map((n) => ({ mac: mac(b, n), name: `eth${n}`, driver: 'virtio_net', speed: 10000, carrier: true }));
  e.createCluster({ name: 'rack-ovs', switchType: 'ovs', managementNetwork: { name: 'mgmt', vlan: 100 } });
  e.createNetwork('rack-ovs', {
    name: 'vmhybrid',
    role: 'vm',
    vlan: 400,
    bridged: true,
    portType: 'hybrid',
    trunks: [401, 402],
    label: 'vms',
    description: 'tenant VMs',
  });
  e.createHost({ name: 'blade4', cluster: 'rack-ovs', bootMac: mac(4, 0) });
  e.reportInventory('blade4', { bootMac: mac(4, 0), nics: nics(4) });
  e.createBond('blade4', { name: 'bond0', mode: 'balance-tcp', members: ['eth0', 'eth1'], labels: ['vms'], options: { lacp: 'active' } });

  // A linux cluster host whose bond Open vSwitch cannot build.
  e.createHost({ name: 'blade5', bootMac: mac(5, 0) });
  e.reportInventory('blade5', { bootMac: mac(5, 0), nics: nics(5) });
  e.createBond('blade5', { name: 'bond1', mode: 'balance-rr', members: ['eth1', 'eth2'], options: { miimon: 100 } });
}

/** A GET of the public API with the console's token: status and body. */
async function apiGet(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** The element's text now ('' while it is absent), for expect.poll. */
function text(selector: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .textContent({ timeout: 250 })
    .then((t) => t ?? '', () => '');
}
const poll = (fn: () => Promise<string>) => expect.poll(fn, { timeout: WAIT, interval: 100 });
const cell = (network: string, col: string): Promise<string> => text(`tr[data-network="${network}"] td[data-col="${col}"]`);
const FORM = '[data-testid=network-form]';
const fieldError = (field: string): string => `${FORM} [data-field="${field}"] [data-field-error="${field}"]`;

describe.skipIf(!HAVE_CHROMIUM && !IS_ROOT)('web console: networks with OVS port types (chromium)', () => {
  beforeAll(async () => {
    rig = await startConsole({ prefix: 'tabula-console-networks-', seed, login: true, waitMs: WAIT });
    ({ opened, base, token, page } = rig);
  }, 45_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('creates a trunk network from "300,301,310-312" and shows its port type and trunks in the table', async () => {
    await page.goto(`${base}/ui/networks/rack-ovs`);
    await page.waitForSelector('tr[data-network="vmhybrid"]');
    expect(await text('[data-testid=switch-type]')).toBe('Open vSwitch');
    expect(await cell('vmhybrid', 'portType')).toBe('hybrid');
    expect(await cell('vmhybrid', 'trunks')).toBe('401-402');
    expect(await cell('mgmt', 'portType')).toBe('');

    await page.click('button:has-text("New network")');
    const form = page.locator(FORM);
    // A host-level network has no VM port: the field appears with "bridged".
    expect(await form.locator('select[name=portType]').count()).toBe(0);
    await form.locator('input[name=name]').fill('vmtrunk');
    await form.locator('input[name=bridged]').check();
    expect(await text(`${FORM} [data-field="portType"] small`)).toContain('this cluster: ovs');
    expect(await form.locator('input[name=trunks]').count()).toBe(0);
    await form.locator('select[name=portType]').selectOption('trunk');
    await form.locator('input[name=trunks]').fill('300,301,310-312');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector(FORM, { state: 'detached' });

    await poll(() => cell('vmtrunk', 'trunks')).toBe('300-301, 310-312');
    expect(await cell('vmtrunk', 'portType')).toBe('trunk');
    expect(await text('tr[data-network="vmtrunk"] td:nth-child(2)')).toBe('untagged');
    const stored = await apiGet('/clusters/rack-ovs/networks/vmtrunk');
    expect(stored.body).toMatchObject({ portType: 'trunk', trunks: [300, 301, 310, 311, 312], vlan: null, bridged: true });
  });

  it('stops a malformed trunk list in the browser and shows the engine refusal of a bad one next to the trunks field, storing nothing', async () => {
    await page.click('button:has-text("New network")');
    const form = page.locator(FORM);
    await form.locator('input[name=name]').fill('vmbad');
    await form.locator('input[name=bridged]').check();
    await form.locator('select[name=portType]').selectOption('trunk');

    // Syntax: checked before any request.
    await form.locator('input[name=trunks]').fill('500,,x');
    await form.locator('button[type=submit]').click();
    await poll(() => text(fieldError('trunks'))).toContain('TRUNK_LIST_FORMAT');
    expect(await text(fieldError('trunks'))).toContain('empty entry');
    await form.locator('input[name=trunks]').fill('512-510');
    await form.locator('button[type=submit]').click();
    await poll(() => text(fieldError('trunks'))).toContain('runs backwards');

    // Well-formed but against the rules: the engine's codes, both at the trunks field.
    await form.locator('input[name=trunks]').fill('500,500,5000');
    await form.locator('button[type=submit]').click();
    await poll(() => text(fieldError('trunks'))).toContain('TRUNK_VLANS_INVALID');
    const errors = await page.locator(`${fieldError('trunks')} > div`).allTextContents();
    expect(errors).toEqual([
      "TRUNK_VLANS_INVALID network 'vmbad': trunk VLAN 500 is listed twice",
      "VLAN_ID_OUT_OF_RANGE network 'vmbad': trunk VLAN id 5000 is outside 1-4094",
    ]);
    expect(await form.locator('[data-field="vlan"] [data-field-error]').count()).toBe(0);
    expect(await form.locator('[data-field-error="form"]').count()).toBe(0);
    expect((await apiGet('/clusters/rack-ovs/networks/vmbad')).status).toBe(404);
    const names = ((await apiGet('/clusters/rack-ovs/networks')).body as { name: string }[]).map((n) => n.name);
    expect(names.sort()).toEqual(['mgmt', 'vmhybrid', 'vmtrunk']);
    await form.locator('button:has-text("Cancel")').click();
  });

  it('edits the hybrid network: trunks reaching mgmt and a missing native VLAN refused at their fields, then saved keeping the rest', async () => {
    await page.click('tr[data-network="vmhybrid"] button:has-text("edit")');
    const form = page.locator(FORM);
    expect(await form.locator('select[name=portType]').inputValue()).toBe('hybrid');
    expect(await form.locator('input[name=trunks]').inputValue()).toBe('401-402');

    // VLAN 100 is mgmt's, untagged on the same OVS bridge of blade4.
    await form.locator('input[name=trunks]').fill('100,401-403');
    await form.locator('button[type=submit]').click();
    await poll(() => text(fieldError('trunks'))).toContain('TRUNK_CONTAINS_ACCESS_TAG');
    expect(await text(fieldError('trunks'))).toContain("which network 'mgmt' carries on the same Open vSwitch bridge");
    await page.screenshot({ path: join(SHOTS, 'networks.png'), fullPage: true });

    // A hybrid port's native VLAN is the network's VLAN: clearing it is refused at the VLAN field.
    await form.locator('input[name=trunks]').fill('401-403');
    await form.locator('input[name=vlan]').fill('');
    await form.locator('button[type=submit]').click();
    await poll(() => text(fieldError('vlan'))).toContain('PORT_TYPE_VLAN_MISMATCH');
    expect(await form.locator('[data-field="trunks"] [data-field-error]').count()).toBe(0);
    expect((await apiGet('/clusters/rack-ovs/networks/vmhybrid')).body).toMatchObject({ vlan: 400, trunks: [401, 402] });
    const generation = opened.engine.getHost('blade4').generation;

    await form.locator('input[name=vlan]').fill('400');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector(FORM, { state: 'detached' });
    await poll(() => cell('vmhybrid', 'trunks')).toBe('401-403');
    expect((await apiGet('/clusters/rack-ovs/networks/vmhybrid')).body).toMatchObject({
      portType: 'hybrid',
      vlan: 400,
      trunks: [401, 402, 403],
      bridged: true,
      role: 'vm',
      label: 'vms',
      description: 'tenant VMs',
      mtu: 1500,
    });
    expect(opened.engine.getHost('blade4').generation).toBe(generation + 1);

    // Editing a host-level network sends no port fields: mgmt stays an access port untouched.
    await page.click('tr[data-network="mgmt"] button:has-text("edit")');
    expect(await form.locator('select[name=portType]').count()).toBe(0);
    await form.locator('input[name=description]').fill('management');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector(FORM, { state: 'detached' });
    expect((await apiGet('/clusters/rack-ovs/networks/mgmt')).body).toMatchObject({ description: 'management', portType: 'access', trunks: [], vlan: 100 });
  });

  it('switches cluster types after a confirmation; the engine refusals are shown verbatim and change nothing', async () => {
    // rack-ovs has trunk networks: linux cannot build them.
    await page.click('[data-testid=switch-type-control] button:has-text("switch to Linux bridge")');
    await poll(() => text('[data-testid=switch-confirm]')).toContain("Every host's plan changes");
    expect(await text('[data-testid=switch-confirm]')).toContain('1 host (blade4) get a new generation');
    await page.click('[data-testid=switch-confirm] button:has-text("Switch to linux")');
    await poll(() => text('[data-testid=switch-error]')).toContain('PORT_TYPE_NEEDS_OVS');
    const refusal = (() => {
      try {
        opened.engine.updateCluster('rack-ovs', { switchType: 'linux' });
      } catch (e) {
        return e as Error & { code: string };
      }
      throw new Error('the engine accepted rack-ovs → linux');
    })();
    expect(await text('[data-testid=switch-error] > div')).toBe(`${refusal.code} ${refusal.message}`);
    // Both trunk networks are named, each in the engine's words.
    expect(await page.locator('[data-testid=switch-error] li').allTextContents()).toEqual([
      "PORT_TYPE_NEEDS_OVS network 'vmhybrid': hybrid ports need an ovs cluster; a linux cluster gives VMs one VLAN per bridge",
      "PORT_TYPE_NEEDS_OVS network 'vmtrunk': trunk ports need an ovs cluster; a linux cluster gives VMs one VLAN per bridge",
    ]);
    expect((await apiGet('/clusters/rack-ovs')).body).toMatchObject({ switchType: 'ovs' });
    expect(await text('[data-testid=switch-type]')).toBe('Open vSwitch');

    // The default cluster: blade5's balance-rr bond has no Open vSwitch equivalent.
    await page.locator('select[aria-label=cluster]').selectOption('default');
    await poll(() => text('[data-testid=switch-type]')).toBe('Linux bridge');
    expect(await page.locator('[data-testid=switch-error]').count()).toBe(0);
    const before = opened.engine.getHost('blade5').generation;
    await page.click('[data-testid=switch-type-control] button:has-text("switch to Open vSwitch")');
    await poll(() => text('[data-testid=switch-confirm]')).toContain('1 host (blade5)');
    await page.click('[data-testid=switch-confirm] button:has-text("Switch to ovs")');
    await poll(() => text('[data-testid=switch-error]')).toContain('BOND_MODE_SWITCH_TYPE');
    expect(await text('[data-testid=switch-error] > div')).toContain("bond 'bond1': mode balance-rr is a Linux bonding mode");
    expect((await apiGet('/clusters/default')).body).toMatchObject({ switchType: 'linux' });
    expect(opened.engine.getHost('blade5').generation).toBe(before);

    // Cancel leaves everything as it is.
    opened.engine.updateBond('blade5', 'bond1', { mode: 'active-backup' });
    const fixed = opened.engine.getHost('blade5').generation;
    await page.click('[data-testid=switch-type-control] button:has-text("switch to Open vSwitch")');
    await page.click('[data-testid=switch-confirm] button:has-text("Cancel")');
    expect(await page.locator('[data-testid=switch-confirm]').count()).toBe(0);
    expect((await apiGet('/clusters/default')).body).toMatchObject({ switchType: 'linux' });

    // With an active-backup bond the switch goes through and re-plans blade5.
    await page.click('[data-testid=switch-type-control] button:has-text("switch to Open vSwitch")');
    await page.click('[data-testid=switch-confirm] button:has-text("Switch to ovs")');
    await poll(() => text('[data-testid=switch-type]')).toBe('Open vSwitch');
    expect(await page.locator('[data-testid=switch-error]').count()).toBe(0);
    expect((await apiGet('/clusters/default')).body).toMatchObject({ switchType: 'ovs' });
    expect(opened.engine.getHost('blade5').generation).toBe(fixed + 1);
    expect(((await apiGet('/hosts/blade5/plan')).body as { switchType?: string }).switchType).toBe('ovs');
    // The network form now speaks of the new switch type.
    await page.click('button:has-text("New network")');
    await page.locator(`${FORM} input[name=bridged]`).check();
    expect(await text(`${FORM} [data-field="portType"] small`)).toContain('this cluster: ovs');
  });
});
