// A whole operator session through the CLI against one database file: cluster, networks, host,
// inventory, bond, attachments, plan.
import { parse as parseYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, inventory, mac } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const rows = (table: string): string[][] =>
  table
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s{2,}/));

describe('a full CLI session', () => {
  it('builds a host with an LACP bond and VLAN networks and prints its plan in YAML and JSON', async () => {
    // cluster
    const cluster = await sb.ok(['cluster', 'create', 'rack1', '--dns', '10.0.0.53,10.0.0.54', '--search', 'lab.example', '--description', 'first rack']);
    expect(cluster).toMatch(/^id:\s+\d+$/m);
    expect(cluster).toMatch(/^name:\s+rack1$/m);
    expect(cluster).toMatch(/^dns servers:\s+10\.0\.0\.53, 10\.0\.0\.54$/m);
    expect(cluster).toMatch(/^dns search:\s+lab\.example$/m);
    expect(cluster).toMatch(/^default:\s+no$/m);
    // the management network comes with the cluster
    expect(cluster).toMatch(/^\s*\d+\s+mgmt\s+-\s+1500\s+no\s+management\s+yes\s+-\s+-$/m);

    const clusters = rows(await sb.ok(['cluster', 'list']));
    expect(clusters.map((r) => [r[1], r[2]])).toEqual([
      ['default', 'yes'],
      ['rack1', 'no'],
    ]);

    // networks
    await sb.ok(['network', 'create', 'rack1', 'storage', '--vlan', '200', '--mtu', '9000', '--role', 'storage']);
    await sb.ok(['network', 'create', 'rack1', 'vm', '--vlan', '100', '--bridged', '--role', 'vm']);
    const migration = await sb.ok(['network', 'create', 'rack1', 'migration', '--vlan', '300', '--role', 'migration', '--description', 'live migration']);
    expect(migration).toMatch(/^vlan:\s+300$/m);
    expect(migration).toMatch(/^description:\s+live migration$/m);
    const networks = rows(await sb.ok(['network', 'list', 'rack1']));
    expect(networks.map((r) => r.slice(1, 6))).toEqual([
      ['mgmt', '-', '1500', 'no', 'management'],
      ['migration', '300', '1500', 'no', 'migration'],
      ['storage', '200', '9000', 'no', 'storage'],
      ['vm', '100', '1500', 'yes', 'vm'],
    ]);

    // host, then its inventory from a file
    const host = await sb.ok(['host', 'create', 'blade2', '--cluster', 'rack1', '--boot-mac', mac(1).toUpperCase(), '--set', 'rack=r1', '--set', 'slot=2']);
    expect(host).toMatch(/^cluster:\s+rack1$/m);
    expect(host).toMatch(/^boot mac:\s+52:54:00:00:01:01$/m);
    expect(host).toMatch(/^custom:\s+rack=r1, slot=2$/m);
    expect(host).toMatch(/^state:\s+new$/m);

    const report = sb.file('report.json', inventory([1, 2, 3]));
    const inv = await sb.ok(['host', 'inventory', 'blade2', '--file', report]);
    const invLines = inv.trimEnd().split('\n');
    expect(invLines[0]).toBe("host 'blade2': 4 change(s)");
    expect(invLines[1]).toMatch(/^CHANGE\s+MAC\s+MESSAGE$/);
    expect(invLines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(['nic-added', 'nic-added', 'nic-added', 'management-derived']);
    expect(inv).toContain(mac(3));

    const nics = rows(await sb.ok(['host', 'nics', 'blade2']));
    expect(nics.map((r) => [r[1], r[2], r[3], r[4]])).toEqual([
      ['eth0', mac(1), 'virtio_net', '10000'],
      ['eth1', mac(2), 'virtio_net', '10000'],
      ['eth2', mac(3), 'virtio_net', '10000'],
    ]);

    // the same report again changes nothing
    expect(await sb.ok(['host', 'inventory', 'blade2', '--file', report])).toBe("host 'blade2': no changes\n");

    // bond (an alias for the mode), then attachments on it
    const bond = await sb.ok(['bond', 'create', 'blade2', '--mode', 'link-aggregation', '--members', 'eth1,eth2', '--miimon', '100', '--lacp-rate', 'fast', '--xmit-hash-policy', 'layer3+4']);
    expect(bond).toMatch(/^name:\s+bond0$/m);
    expect(bond).toMatch(/^mode:\s+802\.3ad$/m);
    expect(bond).toMatch(/^members:\s+eth1,eth2$/m);
    expect(bond).toMatch(/^options:\s+miimon=100 lacp_rate=fast xmit_hash_policy=layer3\+4$/m);
    expect(bond).toMatch(/^partial:\s+no$/m);

    const storage = await sb.ok(['attach', 'add', 'blade2', 'storage', 'bond0', '--ipv4', '10.20.0.12/24']);
    expect(storage).toMatch(/^ipv4:\s+10\.20\.0\.12\/24$/m);
    expect(storage).toMatch(/^kind:\s+bond$/m);
    await sb.ok(['attach', 'add', 'blade2', 'vm', 'bond0']);
    await sb.ok(['attach', 'add', 'blade2', 'migration', 'bond0', '--ipv4', '10.30.0.12/24', '--ipv6', 'FD30:0:0::12/64']);
    const atts = rows(await sb.ok(['attach', 'list', 'blade2']));
    expect(atts.map((r) => r.slice(1, 5))).toEqual([
      ['mgmt', 'eth0', 'nic', 'dhcp'],
      ['storage', 'bond0', 'bond', '10.20.0.12/24'],
      ['vm', 'bond0', 'bond', 'none'],
      ['migration', 'bond0', 'bond', '10.30.0.12/24'],
    ]);

    // a later change through update: a gateway on the storage network
    const upd = await sb.ok(['attach', 'update', 'blade2', 'storage', '--ipv4', '10.20.0.12/24', '--gateway', '10.20.0.1']);
    expect(upd).toMatch(/^ipv4:\s+10\.20\.0\.12\/24 via 10\.20\.0\.1$/m);

    expect(await sb.ok(['host', 'check', 'blade2'])).toBe("host 'blade2': no findings\n");

    // the plan, YAML by default and printed verbatim
    const yaml = await sb.ok(['plan', 'blade2']);
    expect(yaml.startsWith('apiVersion: tabula/v1\nhost: blade2\ncluster: rack1\n')).toBe(true);
    expect(yaml).toContain('mode: 802.3ad');
    expect(yaml).toContain('- name: bond0.200');
    const json = await sb.ok(['plan', 'blade2', '--format', 'json']);
    const plan = JSON.parse(json) as { host: string; bootInterface: string; state: { interfaces: { name: string; mtu: number }[]; 'dns-resolver': { config: { server: string[] } } } };
    expect(parseYaml(yaml)).toEqual(plan);
    expect(plan.host).toBe('blade2');
    expect(plan.bootInterface).toBe('eth0');
    expect(plan.state['dns-resolver'].config.server).toEqual(['10.0.0.53', '10.0.0.54']);
    const names = plan.state.interfaces.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['eth0', 'eth1', 'eth2', 'bond0', 'bond0.100', 'bond0.200', 'bond0.300', 'vm']));
    expect(plan.state.interfaces.find((i) => i.name === 'bond0')?.mtu).toBe(9000);
    // --json alone also gives JSON
    expect(await sb.ok(['--json', 'plan', 'blade2'])).toBe(json);

    // the host now reports its generation moved with each plan change
    const shown = await sb.okJson<{ name: string; cluster: string; generation: number; custom: Record<string, string> }>(['host', 'show', 'blade2']);
    expect(shown).toMatchObject({ name: 'blade2', cluster: 'rack1', custom: { rack: 'r1', slot: '2' } });
    expect(shown.generation).toBeGreaterThan(1);
  });

  it('inventory with - as host enrols an unknown machine from standard input; labels and bond updates work', async () => {
    const enrolled = await sb.run(['host', 'inventory', '-', '--file', '-'], { readStdin: () => Promise.resolve(inventory([1, 2, 3], 1)) });
    expect(enrolled.code).toBe(0);
    expect(enrolled.stdout.split('\n')[0]).toBe("host 'host-525400000101' enrolled in cluster 'default': 5 change(s)");
    expect(enrolled.stdout).toMatch(/^host-enrolled\s+52:54:00:00:01:01\s+unknown machine/m);

    const hosts = rows(await sb.ok(['host', 'list', '--cluster', 'default', '--state', 'new']));
    expect(hosts.map((r) => [r[1], r[2], r[3], r[4]])).toEqual([['host-525400000101', 'default', 'new', mac(1)]]);
    expect(rows(await sb.ok(['host', 'list', '--state', 'active']))).toEqual([]);

    await sb.ok(['host', 'update', 'host-525400000101', '--name', 'blade9', '--set', 'a=1']);
    await sb.ok(['network', 'create', 'default', 'san', '--vlan', '50', '--label', 'storage-links']);
    const labelled = await sb.ok(['host', 'label', 'blade9', 'eth1', 'storage-links']);
    expect(labelled).toMatch(/^labels:\s+storage-links$/m);
    // the labelled network reaches the NIC through the label
    expect(rows(await sb.ok(['attach', 'list', 'blade9'])).map((r) => [r[1], r[2], r[6]])).toEqual([
      ['mgmt', 'eth0', '-'],
      ['san', 'eth1', 'storage-links'],
    ]);
    // bonding eth1 moves its label to the bond
    const bond = await sb.okJson<{ name: string; labels: string[]; mode: string }>(['bond', 'create', 'blade9', '--mode', 'failover', '--members', 'eth1,eth2', '--name', 'bond7']);
    expect(bond).toMatchObject({ name: 'bond7', labels: ['storage-links'], mode: 'active-backup' });
    const upd = await sb.okJson<{ options: Record<string, unknown>; mac: string | null }>(['bond', 'update', 'blade9', 'bond7', '--miimon', '200', '--primary', 'eth2', '--mac', '52:54:00:aa:bb:cc']);
    expect(upd.options).toEqual({ miimon: 200, primary: 'eth2' });
    expect(upd.mac).toBe('52:54:00:aa:bb:cc');
    const upd2 = await sb.okJson<{ options: Record<string, unknown>; mac: string | null }>(['bond', 'update', 'blade9', 'bond7', '--updelay', '400', '--no-mac']);
    expect(upd2.options).toEqual({ miimon: 200, primary: 'eth2', updelay: 400 });
    expect(upd2.mac).toBeNull();

    await sb.ok(['bond', 'delete', 'blade9', 'bond7']);
    expect(await sb.okJson(['bond', 'list', 'blade9'])).toEqual([]);
    const cleared = await sb.okJson<{ labels: string[] }>(['host', 'label', 'blade9', 'eth1', '--clear']);
    expect(cleared.labels).toEqual([]);

    const h = await sb.okJson<{ custom: Record<string, string> }>(['host', 'update', 'blade9', '--unset', 'a', '--set', 'b=2']);
    expect(h.custom).toEqual({ b: '2' });
    expect(await sb.ok(['host', 'delete', 'blade9'])).toBe("host 'blade9' deleted\n");
    expect(await sb.okJson(['host', 'list'])).toEqual([]);
  });
});
