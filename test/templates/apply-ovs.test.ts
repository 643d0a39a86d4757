// The apply script of ovs plans and of QoS (issue 8): sh -n, and the exact commands it emits, run in
// the apply sandbox with fake ovs-vsctl and tc that only log their arguments.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planHost } from '../../src/domain/plan.js';
import { renderApplyScript } from '../../src/templates/apply.js';
import { applySandbox } from '../support/apply-sandbox.js';
import { linuxQos, ovsLacpTrunkHybrid } from '../support/ovs-scenarios.js';
import { activeBackupVlanBridgeMgmt, lacpThreeVlans, partialBond } from '../support/scenarios.js';

const work = mkdtempSync(join(tmpdir(), 'tabula-apply-ovs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a rendered script in an apply sandbox (plus fake ovs-vsctl and tc) and returns the logged calls. */
function dryRun(script: string, name: string): string[] {
  const sb = applySandbox(work, name);
  for (const tool of ['ovs-vsctl', 'tc']) symlinkSync(join(sb.dir, 'fake'), join(sb.dir, tool));
  writeFileSync(sb.file, script);
  execFileSync('sh', [sb.file], { env: { ...sb.env, TABULA_OVS_VSCTL: join(sb.dir, 'ovs-vsctl'), TABULA_TC: join(sb.dir, 'tc') }, stdio: ['ignore', 'pipe', 'pipe'] });
  return sb.calls();
}

describe('apply script on ovs and with QoS', () => {
  for (const [name, build] of [
    ['ovs', ovsLacpTrunkHybrid],
    ['linux-qos', linuxQos],
  ] as const) {
    it(`${name}: sh -n accepts it`, () => {
      const file = join(work, `${name}.sh`);
      writeFileSync(file, renderApplyScript(planHost(build())));
      expect(() => execFileSync('sh', ['-n', file], { stdio: 'pipe' })).not.toThrow();
    });
  }

  it('ovs: the exact command sequence from a bare kernel and a fresh OVS database', () => {
    expect(dryRun(renderApplyScript(planHost(ovsLacpTrunkHybrid())), 'ovs')).toEqual([
      'modprobe openvswitch',
      'modprobe sch_htb',
      'modprobe sch_ingress',
      'modprobe cls_basic',
      'modprobe cls_matchall',
      'modprobe act_police',
      'ip link set dev eth0 mtu 9000',
      'ip link set dev eth0 up',
      'ip link set dev eth1 mtu 9000',
      'ip link set dev eth1 up',
      'ovs-vsctl add-br ovsbr0 -- set bridge ovsbr0 stp_enable=false mcast_snooping_enable=false',
      'ovs-vsctl add-bond ovsbr0 bond0 eth0 eth1 bond_mode=balance-tcp lacp=active bond_updelay=200 other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100 other_config:lacp-time=fast',
      'ovs-vsctl add-port ovsbr0 mgmt vlan_mode=access tag=100 -- set interface mgmt type=internal mtu_request=1500 mac="52:54:00:00:01:01"',
      'ovs-vsctl add-port ovsbr0 storage vlan_mode=access tag=200 -- set interface storage type=internal mtu_request=9000 mac="52:54:00:00:01:01"',
      'ovs-vsctl add-port ovsbr0 vmhybrid vlan_mode=native-untagged tag=400 trunks=401,402 -- set interface vmhybrid type=internal mtu_request=1500 mac="52:54:00:00:01:01"',
      'ovs-vsctl add-port ovsbr0 vmtrunk vlan_mode=trunk trunks=300,301 -- set interface vmtrunk type=internal mtu_request=1500 mac="52:54:00:00:01:01"',
      'ip link set dev mgmt up',
      'ip link set dev storage up',
      'ip link set dev vmhybrid up',
      'ip link set dev vmtrunk up',
      // egress (what the host sends): the internal port's root qdisc; ingress: OVS's policer
      'ovs-vsctl set port storage qos=@qos -- --id=@qos create qos type=linux-htb other-config:max-rate=1000000000 queues:0=@q -- --id=@q create queue other-config:max-rate=1000000000 other-config:burst=100000000',
      'ovs-vsctl set interface storage ingress_policing_rate=500000 ingress_policing_burst=50000',
      'ip -4 addr add 10.0.0.14/24 dev mgmt',
      'ip -4 addr add 10.20.0.14/24 dev storage',
      'ip -4 addr add 10.40.0.14/24 dev vmhybrid',
      'ip route replace 0.0.0.0/0 via 10.0.0.1 dev mgmt',
    ]);
  });

  it('ovs: a plain NIC uplink is added as a port, an untagged network is an access port of VLAN 0', () => {
    const cfg = lacpThreeVlans();
    cfg.cluster = { ...cfg.cluster, switchType: 'ovs' };
    cfg.bonds = cfg.bonds.map((b) => ({ ...b, options: { miimon: 100, lacp_rate: 'fast' as const } }));
    const calls = dryRun(renderApplyScript(planHost(cfg)), 'nic');
    expect(calls).toContain('ovs-vsctl add-port ovsbr1 eth0');
    expect(calls).toContain('ovs-vsctl add-port ovsbr1 mgmt vlan_mode=access tag=0 -- set interface mgmt type=internal mtu_request=1500 mac="52:54:00:00:01:01"');
    expect(calls).toContain(
      'ovs-vsctl add-bond ovsbr0 bond0 eth1 eth2 bond_mode=balance-tcp lacp=active other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100 other_config:lacp-time=fast',
    );
    expect(calls).toContain('udhcpc -i mgmt -n -q -t 5 -s /etc/udhcpc.script');
    expect(calls.some((c) => c.startsWith('modprobe bonding') || c.includes('type vlan') || c.includes('type bridge'))).toBe(false);
  });

  it('linux: tc shapes egress with tbf and polices ingress on the network device', () => {
    const calls = dryRun(renderApplyScript(planHost(linuxQos())), 'tc');
    const tc = calls.filter((c) => c.startsWith('tc '));
    expect(tc).toEqual([
      // bursts in bytes (20,000 kbit = 2,500,000 bytes); a police mtu that lets GRO packets through
      'tc qdisc replace dev bond0.200 root tbf rate 200000kbit burst 2500000 latency 50ms',
      'tc qdisc replace dev bond0.200 handle ffff: ingress',
      'tc filter replace dev bond0.200 parent ffff: protocol all prio 1 matchall action police rate 100000kbit burst 1250000 mtu 64kb conform-exceed drop',
      'tc qdisc replace dev vm root tbf rate 50000kbit burst 625000 latency 50ms',
    ]);
    // after the devices exist, before the addresses
    expect(calls.indexOf('ip link set dev vm up')).toBeLessThan(calls.indexOf(tc[0] as string));
    expect(calls.indexOf(tc[3] as string)).toBeLessThan(calls.indexOf('ip -4 addr add 10.10.0.15/24 dev vm'));
  });

  it('linux plans without QoS call neither ovs-vsctl nor tc', () => {
    for (const [name, build] of [
      ['ab', activeBackupVlanBridgeMgmt],
      ['lacp', lacpThreeVlans],
      ['partial', partialBond],
    ] as const) {
      const calls = dryRun(renderApplyScript(planHost(build())), `plain-${name}`);
      expect(calls.filter((c) => c.startsWith('ovs-vsctl') || c.startsWith('tc ')), name).toEqual([]);
      expect(renderApplyScript(planHost(build()))).not.toMatch(/ovs-vsctl|TABULA_TC/);
    }
  });
});
