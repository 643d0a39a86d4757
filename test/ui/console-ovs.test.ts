// The console's topology of an Open vSwitch host (issue 8), in Debian's chromium against the real API
// on 127.0.0.1 with a seeded temporary database: an ovs cluster host with an LACP bond, two internal
// VLAN ports (management, storage with QoS both ways), a trunk and a hybrid VM port, next to a Linux
// host whose VLAN device carries a limit. Checks the switch-type badge, the OVS columns, every node's
// labels (mode/LACP, tags, trunk lists, QoS) and every edge, then edits the bond's LACP from the host
// page (the engine's BOND_LACP_REQUIRED next to the LACP field first). Writes docs/console/ovs-host.png.
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
let page: Page;

function seed(o: OpenedEngine): void {
  const e = o.engine;
  const nics = (b: number) => [0, 1, 2].map((n) => ({ mac: mac(b, n), name: `eth${n}`, driver: 'virtio_net', speed: 10000, carrier: n !== 2 }));
  e.createCluster({ name: 'rack-ovs', switchType: 'ovs', managementNetwork: { name: 'mgmt', vlan: 100 } });
  e.createNetwork('rack-ovs', { name: 'storage', vlan: 200, mtu: 9000, role: 'storage' });
  e.createNetwork('rack-ovs', { name: 'vmtrunk', role: 'vm', bridged: true, portType: 'trunk', trunks: [300, 301, 302, 310] });
  e.createNetwork('rack-ovs', { name: 'vmhybrid', role: 'vm', vlan: 400, bridged: true, portType: 'hybrid', trunks: [401, 402] });
  e.createHost({ name: 'blade4', cluster: 'rack-ovs', bootMac: mac(4, 0) });
  e.reportInventory('blade4', { bootMac: mac(4, 0), nics: nics(4) });
  e.createBond('blade4', { name: 'bond0', mode: 'balance-tcp', members: ['eth0', 'eth1'], options: { lacp: 'active', lacp_rate: 'fast', miimon: 100 } });
  e.createAttachment('blade4', {
    network: 'storage',
    interface: 'bond0',
    ipv4: { method: 'static', address: '10.20.0.14', prefix: 24 },
    qos: { egress: { maxRate: 100_000, maxBurst: 10_000 }, ingress: { maxRate: 500_000, maxBurst: 50_000 } },
  });
  e.createAttachment('blade4', { network: 'vmtrunk', interface: 'bond0' });
  e.createAttachment('blade4', { network: 'vmhybrid', interface: 'bond0' });

  // A Linux host of the default cluster: its limit sits on the VLAN device.
  e.createNetwork('default', { name: 'backup', vlan: 30, role: 'storage' });
  e.createHost({ name: 'blade5', bootMac: mac(5, 0) });
  e.reportInventory('blade5', { bootMac: mac(5, 0), nics: nics(5) });
  e.createAttachment('blade5', { network: 'backup', interface: 'eth1', ipv4: { method: 'static', address: '10.30.0.15', prefix: 24 }, qos: { egress: { maxRate: 2_000_000, maxBurst: 200_000 } } });
}

/** Every text line of a node: name, detail lines, QoS lines. */
const nodeText = (id: string): Promise<string[]> => page.locator(`[data-testid=topology] [data-node="${id}"] text`).allTextContents();
const qosText = (id: string): Promise<string[]> => page.locator(`[data-testid=topology] [data-node="${id}"] text.qos`).allTextContents();
const attr = (selector: string, name: string): Promise<(string | null)[]> => page.locator(selector).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);

describe.skipIf(!HAVE_CHROMIUM && !IS_ROOT)('web console: Open vSwitch topology (chromium)', () => {
  beforeAll(async () => {
    rig = await startConsole({ prefix: 'tabula-console-ovs-', seed, login: true, waitMs: WAIT });
    ({ opened, base, page } = rig);
  }, 45_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('draws NICs → OVS bond → OVS bridge → internal ports → networks with their labels and QoS', async () => {
    await page.goto(`${base}/ui/hosts/blade4`);
    await page.waitForSelector('[data-testid=topology] [data-node="net:vmtrunk"]');
    expect(await page.textContent('[data-testid=switch-type]')).toBe('Open vSwitch');
    expect(await page.locator('[data-testid=topology] text.col').allTextContents()).toEqual(['NIC', 'OVS bond', 'OVS bridge', 'port', 'network']);

    const nodes = await attr('[data-testid=topology] [data-node]', 'data-node');
    expect([...nodes].sort()).toEqual(
      ['if:eth0', 'if:eth1', 'if:eth2', 'if:bond0', 'if:ovsbr0', 'if:mgmt', 'if:storage', 'if:vmtrunk', 'if:vmhybrid', 'net:mgmt', 'net:storage', 'net:vmtrunk', 'net:vmhybrid'].sort(),
    );
    const edges = await attr('[data-testid=topology] path.edge', 'data-edge');
    expect([...edges].sort()).toEqual(
      [
        'if:eth0>if:bond0',
        'if:eth1>if:bond0',
        'if:bond0>if:ovsbr0',
        'if:ovsbr0>if:mgmt',
        'if:ovsbr0>if:storage',
        'if:ovsbr0>if:vmtrunk',
        'if:ovsbr0>if:vmhybrid',
        'if:mgmt>net:mgmt',
        'if:storage>net:storage',
        'if:vmtrunk>net:vmtrunk',
        'if:vmhybrid>net:vmhybrid',
      ].sort(),
    );

    expect(await nodeText('if:bond0')).toEqual(['bond0', 'balance-tcp · LACP active', 'lacp-time fast · miimon 100 ms']);
    expect(await nodeText('if:ovsbr0')).toEqual(['ovsbr0', 'OVS bridge · MTU 9000']);
    expect(await nodeText('if:mgmt')).toEqual(['mgmt', 'access · VLAN 100', 'internal · MTU 1500']);
    expect(await nodeText('if:vmtrunk')).toEqual(['vmtrunk', 'trunk · 300-302, 310', 'internal · MTU 1500']);
    expect(await nodeText('if:vmhybrid')).toEqual(['vmhybrid', 'hybrid · native 400', 'trunks 401-402', 'internal · MTU 1500']);
    expect(await nodeText('net:vmtrunk')).toEqual(['vmtrunk', 'vm · trunk · VMs']);
    expect(await qosText('if:storage')).toEqual(['egress ≤ 100 Mbit/s, burst 10 Mbit', 'ingress ≤ 500 Mbit/s, burst 50 Mbit']);
    expect(await attr('[data-testid=topology] text.qos', 'data-qos')).toEqual(['egress', 'ingress']);
    // eth2 has no carrier: flagged, outside the bridge.
    expect(await page.getAttribute('[data-testid=topology] [data-node="if:eth2"]', 'class')).toContain('warn');
    // The whole text of a node is its tooltip, untruncated.
    expect(await page.textContent('[data-testid=topology] [data-node="if:storage"] title')).toBe(
      'storage\naccess · VLAN 200\ninternal · MTU 9000\negress ≤ 100 Mbit/s, burst 10 Mbit\ningress ≤ 500 Mbit/s, burst 50 Mbit',
    );

    const header = await page.locator('section.host > header').boundingBox();
    const svg = await page.locator('[data-testid=topology]').boundingBox();
    if (!header || !svg) throw new Error('host page not laid out');
    await page.screenshot({ path: join(SHOTS, 'ovs-host.png'), clip: { x: 0, y: 0, width: 1400, height: Math.ceil(svg.y + svg.height + 16) } });
  });

  it('edits the OVS bond LACP from the host page: LACP off on balance-tcp is refused next to the field', async () => {
    await page.click('[data-testid=bonds] button:has-text("edit")');
    const form = page.locator('[data-testid=bond-form]');
    expect(await form.locator('select[name=mode] option').allTextContents()).toEqual(['active-backup', 'balance-slb', 'balance-tcp', '802.3ad']);
    expect(await form.locator('select[name=lacp]').inputValue()).toBe('active');
    await form.locator('select[name=lacp]').selectOption('off');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => form.locator('[data-field="lacp"] [data-field-error="lacp"]').textContent({ timeout: 250 }).catch(() => ''), { timeout: WAIT, interval: 100 })
      .toContain('BOND_LACP_REQUIRED');
    expect(opened.engine.listBonds('blade4')[0]?.options.lacp).toBe('active');

    await form.locator('select[name=lacp]').selectOption('passive');
    await form.locator('button[type=submit]').click();
    await page.waitForSelector('[data-testid=bond-form]', { state: 'detached' });
    await expect.poll(() => nodeText('if:bond0'), { timeout: WAIT, interval: 100 }).toEqual(['bond0', 'balance-tcp · LACP passive', 'lacp-time fast · miimon 100 ms']);
    // What the form does not show (lacp_rate) survived the edit.
    expect(opened.engine.listBonds('blade4')[0]?.options).toMatchObject({ lacp: 'passive', lacp_rate: 'fast', miimon: 100 });
  });

  it('shows a Linux host with its badge, the Linux columns and the QoS on its VLAN device', async () => {
    await page.goto(`${base}/ui/hosts/blade5`);
    await page.waitForSelector('[data-testid=topology] [data-node="net:backup"]');
    expect(await page.textContent('[data-testid=switch-type]')).toBe('Linux bridge');
    expect(await page.locator('[data-testid=topology] text.col').allTextContents()).toEqual(['NIC', 'bond', 'VLAN', 'bridge', 'network']);
    expect(await nodeText('if:eth1.30')).toEqual(['eth1.30', 'VLAN 30 · MTU 1500', 'egress ≤ 2 Gbit/s, burst 200 Mbit']);
    expect(await attr('[data-testid=topology] path.edge', 'data-edge')).toEqual(expect.arrayContaining(['if:eth1>if:eth1.30', 'if:eth1.30>net:backup', 'if:eth0>net:mgmt']));
    expect(await page.locator('[data-testid=topology] text.qos').count()).toBe(1);
  });
});
