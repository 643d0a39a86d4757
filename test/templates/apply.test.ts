import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/domain/model.js';
import { planHost } from '../../src/domain/plan.js';
import { compileApplyTemplate, renderApplyScript } from '../../src/templates/apply.js';
import { shellQuote } from '../../src/templates/sandbox.js';
import { applySandbox } from '../support/apply-sandbox.js';
import { activeBackupVlanBridgeMgmt, lacpThreeVlans, partialBond } from '../support/scenarios.js';

const work = mkdtempSync(join(tmpdir(), 'tabula-apply-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The fake /proc/sys of the last dry run. */
let lastProc = '';

/** Runs a rendered script in an apply sandbox and returns the logged `ip`/`modprobe` calls. */
function dryRun(script: string, name: string): string[] {
  const sb = applySandbox(work, name);
  lastProc = sb.procSys;
  writeFileSync(sb.file, script);
  execFileSync('sh', [sb.file], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return sb.calls();
}

const scenarios: [string, () => HostConfig][] = [
  ['active-backup-vlan-bridge-mgmt-9000', activeBackupVlanBridgeMgmt],
  ['lacp-three-vlans-one-bridged', lacpThreeVlans],
  ['partial-bond', partialBond],
];

describe('apply script', () => {
  for (const [name, build] of scenarios) {
    it(`${name}: sh -n accepts it`, () => {
      const file = join(work, `${name}.sh`);
      writeFileSync(file, renderApplyScript(planHost(build())));
      expect(() => execFileSync('sh', ['-n', file], { stdio: 'pipe' })).not.toThrow();
    });
  }

  it('active-backup + VLAN + bridge: the exact command sequence from a bare kernel', () => {
    const calls = dryRun(renderApplyScript(planHost(activeBackupVlanBridgeMgmt())), 'ab');
    expect(calls).toEqual([
      'modprobe bonding max_bonds=0',
      'modprobe 8021q',
      'modprobe bridge',
      'ip link add bond0 type bond mode active-backup miimon 100 primary eth0',
      'ip link set dev eth0 down',
      'ip link set dev eth0 master bond0',
      'ip link set dev eth1 down',
      'ip link set dev eth1 master bond0',
      'ip link set dev bond0 mtu 9000',
      'ip link set dev bond0 up',
      'ip link set dev eth0 up',
      'ip link set dev eth1 up',
      'ip link add link bond0 name bond0.100 type vlan id 100',
      'ip link set dev bond0.100 mtu 9000',
      'ip link set dev bond0.100 up',
      'ip link add mgmt type bridge stp_state 0 forward_delay 0',
      'ip link set dev bond0.100 master mgmt',
      'ip link set dev mgmt mtu 9000',
      'ip link set dev mgmt up',
      'ip -4 addr add 10.0.0.11/24 dev mgmt',
      'ip route replace 0.0.0.0/0 via 10.0.0.1 dev mgmt',
    ]);
  });

  it('802.3ad: every bond option reaches the command that creates the bond; IPv6 and DHCP too', () => {
    const calls = dryRun(renderApplyScript(planHost(lacpThreeVlans())), 'lacp');
    expect(calls).toContain('ip link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4');
    expect(calls).toContain('ip -6 addr add fd30::12/64 dev bond0.300 nodad');
    expect(calls).toContain('udhcpc -i eth0 -n -q -t 5 -s /etc/udhcpc.script');
    expect(calls.filter((c) => c.startsWith('ip link add link bond0'))).toEqual([
      'ip link add link bond0 name bond0.100 type vlan id 100',
      'ip link add link bond0 name bond0.200 type vlan id 200',
      'ip link add link bond0 name bond0.300 type vlan id 300',
    ]);
  });

  it('custom values are quoted: a hostile value stays one word', () => {
    const cfg = activeBackupVlanBridgeMgmt();
    cfg.host.custom = { 'sysctl/net.ipv4.ip_forward': `1'; touch ${join(work, 'pwned')}; echo '` };
    const script = renderApplyScript(planHost(cfg));
    dryRun(script, 'quote');
    expect(() => readFileSync(join(work, 'pwned'))).toThrow();
    expect(shellQuote(`a'b`)).toBe(`'a'\\''b'`);
  });

  it('the sandbox has no prototype access', () => {
    const t = compileApplyTemplate('{{plan.constructor.name}}{{plan.__proto__}}');
    expect(() => t.render({ plan: planHost(partialBond()), hooks: [] })).toThrow(/template 'apply.sh'/);
  });

  it('turns off router advertisements and SLAAC on every device, so the blade holds only planned addresses', () => {
    dryRun(renderApplyScript(planHost(activeBackupVlanBridgeMgmt())), 'ra');
    for (const dev of ['default', 'eth0']) {
      for (const k of ['accept_ra', 'autoconf']) expect(readFileSync(join(lastProc, `net/ipv6/conf/${dev}/${k}`), 'utf8'), `${dev}/${k}`).toBe('0');
    }
  });
});
