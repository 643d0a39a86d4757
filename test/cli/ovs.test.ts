// The CLI face of issue 8: cluster --switch-type, network --port-type/--trunks, bond --lacp,
// attach --qos-egress/--qos-ingress.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, inventory } from './helpers.js';

let sb: Sandbox;
const host = 'host-525400000101';
beforeEach(async () => {
  sb = new Sandbox();
  await sb.ok(['host', 'inventory', '-', '--file', sb.file('r.json', inventory([1, 2, 3]))]);
});
afterEach(() => sb.cleanup());

describe('tabula and Open vSwitch', () => {
  it('switches a cluster to ovs, with an LACP bond, a trunk network and QoS, and plans it', async () => {
    expect(await sb.ok(['cluster', 'show', 'default'])).toMatch(/switch type:\s+linux/);
    await sb.ok(['cluster', 'update', 'default', '--switch-type', 'ovs']);
    expect(await sb.okJson<{ switchType: string }>(['cluster', 'show', 'default'])).toMatchObject({ switchType: 'ovs' });
    await sb.ok(['bond', 'create', host, '--mode', 'balance-tcp', '--members', 'eth1,eth2', '--lacp', 'active', '--lacp-rate', 'fast']);
    await sb.ok(['network', 'create', 'default', 'vmtrunk', '--bridged', '--port-type', 'trunk', '--trunks', '300,301']);
    expect(await sb.ok(['network', 'show', 'default', 'vmtrunk'])).toMatch(/port type:\s+trunk[\s\S]*trunks:\s+300, 301/);
    await sb.ok(['network', 'create', 'default', 'storage', '--vlan', '200']);
    await sb.ok(['attach', 'add', host, 'vmtrunk', 'bond0']);
    const a = await sb.okJson<{ qos: unknown }>(['attach', 'add', host, 'storage', 'bond0', '--ipv4', '10.20.0.5/24', '--qos-egress', '1gbit/100mbit', '--qos-ingress', '500000/50000']);
    expect(a.qos).toEqual({ egress: { maxRate: 1_000_000, maxBurst: 100_000 }, ingress: { maxRate: 500_000, maxBurst: 50_000 } });
    expect(await sb.ok(['attach', 'show', host, 'storage'])).toMatch(/qos:\s+egress 1000000kbit\/100000kbit, ingress 500000kbit\/50000kbit/);
    const updated = await sb.okJson<{ qos: unknown }>(['attach', 'update', host, 'storage', '--qos-ingress', 'none']);
    expect(updated.qos).toEqual({ egress: { maxRate: 1_000_000, maxBurst: 100_000 } });
    const plan = await sb.ok(['plan', host, '--format', 'yaml']);
    expect(plan).toMatch(/switchType: ovs/);
    expect(plan).toMatch(/type: ovs-bridge/);
    expect(plan).toMatch(/mode: balance-tcp\n\s+lacp: active/);
  });

  it('refuses what the switch type cannot build, and bad QoS text, with their codes', async () => {
    const r = await sb.run(['network', 'create', 'default', 'vmtrunk', '--bridged', '--port-type', 'trunk', '--trunks', '300']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PORT_TYPE_NEEDS_OVS');
    const bad = await sb.run(['attach', 'update', host, 'mgmt', '--qos-egress', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not RATE\/BURST/);
    const small = await sb.run(['attach', 'update', host, 'mgmt', '--qos-egress', '1gbit/10kbit']);
    expect(small.code).toBe(1);
    expect(small.stderr).toContain('QOS_BURST_TOO_SMALL');
    const sw = await sb.run(['cluster', 'update', 'default', '--switch-type', 'bridge']);
    expect(sw.code).toBe(2);
  });
});
