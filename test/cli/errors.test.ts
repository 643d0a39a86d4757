// Exit codes and error output: 1 for what the engine refuses, 2 for usage errors (which never open the database).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, inventory } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

describe('domain errors (exit 1)', () => {
  it('a validation error prints its code and message, writes nothing, and exits 1', async () => {
    const r = await sb.run(['network', 'create', 'default', 'bad', '--vlan', '5000']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error VLAN_ID_OUT_OF_RANGE: network 'bad': VLAN id 5000 is outside 1-4094/);
    expect((await sb.okJson<{ name: string }[]>(['network', 'list', 'default'])).map((n) => n.name)).toEqual(['mgmt']);
  });

  it('with --json the error is {"error": {code, message, details}} on stderr, with every violation', async () => {
    const r = await sb.run(['--json', 'network', 'create', 'default', 'bad', '--vlan', '5000']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const body = JSON.parse(r.stderr) as { error: { code: string; message: string; details: { violations: { code: string; severity: string }[] } } };
    expect(body.error.code).toBe('VLAN_ID_OUT_OF_RANGE');
    expect(body.error.message).toContain("network 'bad'");
    expect(body.error.details.violations).toEqual([expect.objectContaining({ code: 'VLAN_ID_OUT_OF_RANGE', severity: 'error' })]);
  });

  it('several violations are listed one per line under the headline', async () => {
    const r = await sb.run(['network', 'create', 'default', 'bad', '--vlan', '5000', '--mtu', '20']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^error \S+: .*\(and 1 more\)$/);
    expect(lines.slice(1).map((l) => l.replace(/:.*/, '')).sort()).toEqual(expect.arrayContaining(['  error VLAN_ID_OUT_OF_RANGE']));
    expect(lines).toHaveLength(3);
  });

  it('not-found and conflict errors name the object', async () => {
    expect((await sb.run(['host', 'show', 'nope'])).stderr).toBe("error HOST_NOT_FOUND: host 'nope' does not exist\n");
    const del = await sb.run(['cluster', 'delete', 'default']);
    expect(del.code).toBe(1);
    expect(del.stderr).toBe("error CLUSTER_IS_DEFAULT: cluster 'default' is the default cluster and cannot be removed\n");
    await sb.ok(['host', 'create', 'b1', '--boot-mac', '52:54:00:00:00:01']);
    const dup = await sb.run(['host', 'create', 'b2', '--boot-mac', '52:54:00:00:00:01']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe("error MAC_IN_USE: host 'b2': MAC 52:54:00:00:00:01 belongs to host 'b1'\n");
  });

  it('a malformed or missing inventory file is refused with exit 1 and nothing is enrolled', async () => {
    const bad = sb.file('bad.json', JSON.stringify({ bootMac: 12, nics: [{ name: 'eth0' }] }));
    const r = await sb.run(['host', 'inventory', '-', '--file', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error INVENTORY_MALFORMED: inventory '.*bad\.json' is not a report/);
    expect(r.stderr).toMatch(/^ {2}error INVENTORY_MALFORMED: bootMac: /m);
    expect(r.stderr).toMatch(/^ {2}error INVENTORY_MALFORMED: nics\.0\.mac: /m);
    const missing = await sb.run(['host', 'inventory', '-', '--file', join(sb.dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error FILE_UNREADABLE: cannot read '.*nope\.json': no such file/);
    const dupMac = sb.file('dup.json', JSON.stringify({ bootMac: '52:54:00:00:01:01', nics: [{ mac: '52:54:00:00:01:01', name: 'eth0' }, { mac: '52:54:00:00:01:01', name: 'eth1' }] }));
    const engineRefusal = await sb.run(['host', 'inventory', '-', '--file', dupMac]);
    expect(engineRefusal.code).toBe(1);
    expect(engineRefusal.stderr).toContain('INVENTORY_DUPLICATE_MAC');
    expect(await sb.okJson(['host', 'list'])).toEqual([]);
  });

  it('host check prints warnings (exit 0) and errors (exit 1); plan is refused while errors stand', async () => {
    await sb.ok(['host', 'inventory', '-', '--file', sb.file('r.json', inventory([1, 2, 3]))]);
    expect(await sb.run(['host', 'check', 'host-525400000101'])).toEqual({ code: 0, stdout: "host 'host-525400000101': no findings\n", stderr: '' });
    // a required network missing on the host is a warning
    await sb.ok(['network', 'create', 'default', 'storage', '--vlan', '20', '--required']);
    const warn = await sb.run(['host', 'check', 'host-525400000101']);
    expect(warn.code).toBe(0);
    expect(warn.stdout).toBe("warning REQUIRED_NETWORK_MISSING: required network 'storage' is not attached on host 'host-525400000101'\n");
    // hardware reports are stored even when they break a rule: a NIC renamed to the bond's name
    await sb.ok(['bond', 'create', 'host-525400000101', '--mode', 'active-backup', '--members', 'eth1,eth2']);
    const renamed = JSON.parse(inventory([1, 2, 3])) as { nics: { name: string }[] };
    (renamed.nics[2] as { name: string }).name = 'bond0';
    const inv = await sb.run(['host', 'inventory', 'host-525400000101', '--file', sb.file('renamed.json', JSON.stringify(renamed))]);
    expect(inv.code).toBe(0);
    expect(inv.stdout).toMatch(/^nic-renamed\s/m);
    expect(inv.stdout).toMatch(/^error DUPLICATE_INTERFACE_NAME: /m);
    const r = await sb.run(['--json', 'host', 'check', 'host-525400000101']);
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as { code: string; severity: string }[];
    expect(findings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'DUPLICATE_INTERFACE_NAME', severity: 'error' })]));
    const plan = await sb.run(['plan', 'host-525400000101']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toBe('');
    expect(plan.stderr).toMatch(/^error HOST_CONFIG_INVALID: host 'host-525400000101' has an invalid configuration: /);
    expect(plan.stderr).toMatch(/^ {2}error DUPLICATE_INTERFACE_NAME: /m);
  });
});

describe('usage errors (exit 2, database untouched)', () => {
  const cases: [string, string[], RegExp][] = [
    ['a non-integer VLAN', ['network', 'create', 'default', 'x', '--vlan', '12a'], /^error: option '--vlan <id>' argument '12a' is invalid\. '12a' is not a whole number\.$/],
    ['a fractional MTU', ['network', 'create', 'default', 'x', '--mtu', '1500.5'], /option '--mtu <mtu>' argument '1500\.5' is invalid/],
    ['a bad miimon', ['bond', 'create', 'h', '--mode', 'failover', '--members', 'a,b', '--miimon', '1e3'], /option '--miimon <ms>' argument '1e3' is invalid/],
    ['an unknown command', ['frobnicate'], /^error: unknown command 'frobnicate'$/],
    ['an unknown subcommand', ['host', 'frob'], /unknown command 'frob'/],
    ['an unknown option', ['host', 'list', '--colour'], /unknown option '--colour'/],
    ['a missing argument', ['network', 'create', 'default'], /missing required argument 'name'/],
    ['a missing required option', ['host', 'inventory', 'h'], /required option '--file <path>' not specified/],
    ['a bad key=value', ['host', 'create', 'h', '--set', 'novalue'], /option '--set <key=value>' argument 'novalue' is invalid\. 'novalue' is not key=value\./],
    ['a repeated key', ['host', 'create', 'h', '--set', 'a=1', '--set', 'a=2'], /key 'a' is given twice/],
    ['a bad role', ['network', 'create', 'default', 'x', '--role', 'boss'], /argument 'boss' is invalid\. Allowed choices are management, vm/],
    ['a bad --listen', ['serve', '--listen', '127.0.0.1:70000'], /option '--listen <host:port>' argument '127\.0\.0\.1:70000' is invalid\. port '70000'/],
    ['a --listen without port', ['serve', '--listen', 'localhost'], /is not HOST:PORT/],
    ['a bad --public-url', ['serve', '--public-url', 'ftp://x'], /not an http:\/\/ or https:\/\/ URL/],
    ['a bad log level', ['--log-level', 'loud', 'cluster', 'list'], /option '--log-level <level>' argument 'loud' is invalid/],
    ['an update with nothing to change', ['host', 'update', 'h'], /^error: host update: nothing to change/],
    ['a gateway without an address', ['attach', 'add', 'h', 'mgmt', 'eth0', '--gateway', '10.0.0.1'], /^error: --gateway needs a static --ipv4/],
    ['a malformed address', ['attach', 'add', 'h', 'mgmt', 'eth0', '--ipv4', '10.0.0.1'], /'10\.0\.0\.1' is not ADDRESS\/PREFIX/],
    ['labels and --clear', ['host', 'label', 'h', 'eth0', 'x', '--clear'], /give labels or --clear, not both/],
    ['excess arguments', ['cluster', 'show', 'a', 'b'], /too many arguments/],
  ];
  for (const [what, argv, message] of cases) {
    it(`${what} exits 2 with a message and no database`, async () => {
      const r = await sb.run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(existsSync(sb.db)).toBe(false);
    });
  }

  it('a usage error with --json is a JSON error with code USAGE', async () => {
    const r = await sb.run(['--json', 'network', 'create', 'default', 'x', '--vlan', 'ten']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'USAGE', message: "option '--vlan <id>' argument 'ten' is invalid. 'ten' is not a whole number.", details: {} } });
    expect(existsSync(sb.db)).toBe(false);
  });

  it('an invalid TABULA_LOG_LEVEL is a usage error', async () => {
    const r = await sb.run(['cluster', 'list'], { env: { TABULA_LOG_LEVEL: 'chatty' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TABULA_LOG_LEVEL: invalid log level 'chatty'/);
  });

  it('--help and --version exit 0 on stdout', async () => {
    const help = await sb.run(['host', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('inventory');
    const v = await sb.runRaw(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(existsSync(sb.db)).toBe(false);
  });
});

describe('--json and the database location', () => {
  it('every read parses as JSON and carries the engine object', async () => {
    const clusters = await sb.okJson<{ name: string; isDefault: boolean; defaults: unknown }[]>(['cluster', 'list']);
    expect(clusters).toEqual([expect.objectContaining({ name: 'default', isDefault: true, defaults: { dnsServers: [], dnsSearch: [] } })]);
    const c = await sb.okJson<{ name: string }>(['cluster', 'show', 'default']);
    expect(c.name).toBe('default');
    const created = await sb.okJson<{ name: string; vlan: number; mtu: number }>(['network', 'create', 'default', 'n1', '--vlan', '7']);
    expect(created).toMatchObject({ name: 'n1', vlan: 7, mtu: 1500 });
    const updated = await sb.okJson<{ vlan: number | null; label: string | null }>(['network', 'update', 'default', 'n1', '--vlan', 'none', '--label', 'x']);
    expect(updated).toMatchObject({ vlan: null, label: 'x' });
    expect(await sb.okJson(['network', 'update', 'default', 'n1', '--no-label'])).toMatchObject({ label: null });
    expect(await sb.okJson(['network', 'delete', 'default', 'n1'])).toEqual({ deleted: { cluster: 'default', network: 'n1' } });
    const upd = await sb.okJson<{ defaults: { dnsServers: string[] } }>(['cluster', 'update', 'default', '--dns', '9.9.9.9']);
    expect(upd.defaults.dnsServers).toEqual(['9.9.9.9']);
  });

  it('the database comes from $TABULA_DB when --db is not given; its directory is created', async () => {
    const db = join(sb.dir, 'nested', 'dir', 'env.db');
    const r = await sb.runRaw(['cluster', 'create', 'c1'], { env: { TABULA_DB: db } });
    expect(r.code).toBe(0);
    expect(existsSync(db)).toBe(true);
    const list = await sb.runRaw(['--json', '--db', db, 'cluster', 'list']);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((c) => c.name)).toEqual(['c1', 'default']);
  });
});
