// The ovs apply script against a real OVSDB: ovsdb-server on a fresh database in a temporary folder
// (unix socket only, no ovs-vswitchd, so nothing reaches the kernel), the script's ovs-vsctl calls
// with --no-wait, then the database read back. Skips unless Open vSwitch is installed (or
// TABULA_OVS_ROOT names an unpacked openvswitch-common/-switch tree).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planHost } from '../../src/domain/plan.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { applySandbox } from '../support/apply-sandbox.js';
import { ovsLacpTrunkHybrid } from '../support/ovs-scenarios.js';
import { waitFor } from '../cli/helpers.js';

const root = process.env.TABULA_OVS_ROOT ?? '';
const bin = {
  vsctl: join(root, '/usr/bin/ovs-vsctl'),
  tool: join(root, '/usr/bin/ovsdb-tool'),
  server: join(root, '/usr/sbin/ovsdb-server'),
  schema: join(root, '/usr/share/openvswitch/vswitch.ovsschema'),
};
const missing = Object.values(bin).filter((f) => !existsSync(f));

const work = mkdtempSync(join(tmpdir(), 'tabula-ovsdb-'));
const sock = join(work, 'db.sock');
let server: ChildProcess | undefined;

/** ovs-vsctl on the test database; output trimmed. */
const vsctl = (...args: string[]): string => execFileSync(bin.vsctl, ['--no-wait', `--db=unix:${sock}`, ...args], { encoding: 'utf8' }).trim();
const column = (table: string, record: string, col: string): string => vsctl('get', table, record, col);

describe.skipIf(missing.length > 0)(`apply script against OVSDB${missing.length ? ` (skipped: no ${missing.join(', ')})` : ''}`, () => {
  beforeAll(async () => {
    const db = join(work, 'conf.db');
    execFileSync(bin.tool, ['create', db, bin.schema]);
    server = spawn(bin.server, [db, `--remote=punix:${sock}`, `--unixctl=${join(work, 'ctl')}`, '--no-chdir', `--log-file=${join(work, 'ovsdb.log')}`], { stdio: 'ignore' });
    await waitFor('the ovsdb-server socket', () => (existsSync(sock) ? true : undefined));
    vsctl('init');
  });
  afterAll(() => {
    server?.kill();
    rmSync(work, { recursive: true, force: true });
  });

  it('builds the bridge, the LACP bond, the internal ports with their VLANs and the QoS of the golden plan', () => {
    const sb = applySandbox(work, 'ovs');
    symlinkSync(join(sb.dir, 'fake'), join(sb.dir, 'tc'));
    const wrapper = join(sb.dir, 'ovs-vsctl');
    writeFileSync(wrapper, `#!/bin/sh\nexec '${bin.vsctl}' --no-wait '--db=unix:${sock}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(sb.file, renderApplyScript(planHost(ovsLacpTrunkHybrid())));
    execFileSync('sh', [sb.file], { env: { ...sb.env, ...(process.env.LD_LIBRARY_PATH ? { LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH } : {}), TABULA_OVS_VSCTL: wrapper, TABULA_TC: join(sb.dir, 'tc') }, stdio: 'pipe' });

    expect(vsctl('list-br')).toBe('ovsbr0');
    expect(vsctl('list-ports', 'ovsbr0').split('\n')).toEqual(['bond0', 'mgmt', 'storage', 'vmhybrid', 'vmtrunk']);
    expect(vsctl('list-ifaces', 'ovsbr0').split('\n')).toEqual(['eth0', 'eth1', 'mgmt', 'storage', 'vmhybrid', 'vmtrunk']);
    expect(column('port', 'bond0', 'bond_mode')).toBe('balance-tcp');
    expect(column('port', 'bond0', 'lacp')).toBe('active');
    expect(column('port', 'bond0', 'bond_updelay')).toBe('200');
    expect(column('port', 'bond0', 'other_config')).toBe('{bond-detect-mode=miimon, bond-miimon-interval="100", lacp-time=fast}');
    expect([column('port', 'mgmt', 'vlan_mode'), column('port', 'mgmt', 'tag')]).toEqual(['access', '100']);
    expect([column('port', 'vmhybrid', 'vlan_mode'), column('port', 'vmhybrid', 'tag'), column('port', 'vmhybrid', 'trunks')]).toEqual(['native-untagged', '400', '[401, 402]']);
    expect([column('port', 'vmtrunk', 'vlan_mode'), column('port', 'vmtrunk', 'tag'), column('port', 'vmtrunk', 'trunks')]).toEqual(['trunk', '[]', '[300, 301]']);
    expect([column('interface', 'storage', 'type'), column('interface', 'storage', 'mtu_request'), column('interface', 'storage', 'mac')]).toEqual([
      'internal',
      '9000',
      '"52:54:00:00:01:01"',
    ]);
    expect([column('interface', 'storage', 'ingress_policing_rate'), column('interface', 'storage', 'ingress_policing_burst')]).toEqual(['500000', '50000']);
    const qos = column('port', 'storage', 'qos');
    expect(vsctl('get', 'qos', qos, 'type')).toBe('linux-htb');
    expect(vsctl('get', 'qos', qos, 'other_config')).toBe('{max-rate="1000000000"}');
    const queue = vsctl('get', 'qos', qos, 'queues:0');
    expect(vsctl('get', 'queue', queue, 'other_config')).toBe('{burst="100000000", max-rate="1000000000"}');
    expect(column('port', 'mgmt', 'qos')).toBe('[]');
  });
});
