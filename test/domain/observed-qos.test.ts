// QoS read back (issue 8): the `tc` part of a boot report and Open vSwitch's QoS rows in the plan's
// nmstate shape, and the diff against the plan. Fixtures: test/fixtures/kernel/qos-pair-blade{1,2}-kernel.json,
// the kernel state the two blades of test/image/qos.test.ts reported (Debian 12, iproute2 6.1, Open
// vSwitch 3.1): blade 1 (linux) with tbf and a police action on eth0.300; blade 2 (ovs) with OVS QoS
// (linux-htb) and ingress policing on its internal port `backup`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelStateSchema } from '../../src/boot/http/kernel-schema.js';
import { type KernelState, describeDifference, diffState, observe, parsePolice } from '../../src/domain/observed.js';
import { planHost } from '../../src/domain/plan.js';
import { qosPairBlade } from '../support/ovs-scenarios.js';

const fixture = (blade: 1 | 2): KernelState =>
  kernelStateSchema.parse(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'kernel', `qos-pair-blade${blade}-kernel.json`), 'utf8')));
const qosOf = (k: KernelState, name: string): unknown => observe(k).interfaces.find((i) => i.name === name)?.qos;
/** The limits the pair had when the fixtures were captured (kbit/s, kbit). */
const FIXTURE_LIMITS: Parameters<typeof qosPairBlade>[1] = {
  1: { egress: { maxRate: 24_000, maxBurst: 2_400 }, ingress: { maxRate: 12_000, maxBurst: 6_000 } },
  2: { egress: { maxRate: 18_000, maxBurst: 1_800 }, ingress: { maxRate: 9_000, maxBurst: 4_500 } },
};
const blade = (n: 1 | 2): ReturnType<typeof qosPairBlade> => qosPairBlade(n, FIXTURE_LIMITS);

describe('QoS readback', () => {
  it('parses the police action of `tc filter show` text (rates 1000-based bits, sizes 1024-based bytes)', () => {
    expect(parsePolice('filter parent ffff: protocol all pref 1 matchall chain 0 handle 0x1 \n\taction order 1:  police 0x1 rate 12Mbit burst 750000b mtu 64Kb action drop overhead 0b')).toEqual({
      rate: 1_500_000,
      burst: 750_000,
    });
    expect(parsePolice('police 0x2 rate 9Mbit burst 576000b mtu 64Kb action drop/continue')).toEqual({ rate: 1_125_000, burst: 576_000 });
    expect(parsePolice('police 0x3 rate 12345Kbit burst 146Kb mtu 2Kb')).toEqual({ rate: 1_543_125, burst: 149_504 });
    expect(parsePolice('police 0x4 rate 1.5Gbit burst 2Mb')).toEqual({ rate: 187_500_000, burst: 2_097_152 });
    // The mtu's "64Kb" is not the burst; no police action at all is null.
    expect(parsePolice('police 0x5 rate 800bit mtu 64Kb')).toEqual({ rate: 100, burst: null });
    expect(parsePolice('filter protocol all pref 1 matchall chain 0')).toBeNull();
    expect(parsePolice('')).toBeNull();
  });

  it('linux blade: tbf and police on the VLAN device read as the plan wrote them; no difference', () => {
    const k = fixture(1);
    expect(qosOf(k, 'eth0.300')).toEqual({ egress: { 'max-rate': 24_000, 'max-burst': 2_400 }, ingress: { 'max-rate': 12_000, 'max-burst': 6_000 } });
    // The NIC's own fq_codel and the unlimited VLAN are no limits.
    expect(qosOf(k, 'eth0')).toBeUndefined();
    expect(qosOf(k, 'eth0.400')).toBeUndefined();
    expect(observe(k).qos).toBe(true);
    expect(diffState(planHost(blade(1)).state, observe(k))).toEqual([]);
  });

  it('ovs blade: the QoS row (egress, burst from its queue) and the interface policing (ingress); no difference', () => {
    const k = fixture(2);
    expect(qosOf(k, 'backup')).toEqual({ egress: { 'max-rate': 18_000, 'max-burst': 1_800 }, ingress: { 'max-rate': 9_000, 'max-burst': 4_500 } });
    expect(qosOf(k, 'storage')).toBeUndefined();
    expect(diffState(planHost(blade(2)).state, observe(k))).toEqual([]);
  });

  it('a limit the kernel lacks, holds at another rate or holds without a plan is a difference', () => {
    // Another rate planned than applied (blade 1's plan with a 10 % higher egress).
    const faster = blade(1);
    faster.attachments = faster.attachments.map((a) => (a.qos ? { ...a, qos: { ...a.qos, egress: { maxRate: 26_400, maxBurst: 2_400 } } } : a));
    expect(diffState(planHost(faster).state, observe(fixture(1)))).toEqual([{ interface: 'eth0.300', field: 'qos.egress.max-rate', planned: 26_400, observed: 24_000 }]);
    expect(diffState(planHost(faster).state, observe(fixture(1))).map(describeDifference)).toEqual(['eth0.300 qos.egress.max-rate: planned 26400 kbit/s, observed 24000 kbit/s']);
    // The same rate with another burst.
    const burstier = blade(1);
    burstier.attachments = burstier.attachments.map((a) => (a.qos ? { ...a, qos: { ...a.qos, ingress: { maxRate: 12_000, maxBurst: 12_000 } } } : a));
    expect(diffState(planHost(burstier).state, observe(fixture(1)))).toEqual([{ interface: 'eth0.300', field: 'qos.ingress.max-burst', planned: 12_000, observed: 6_000 }]);
    expect(describeDifference({ interface: 'eth0.300', field: 'qos.ingress.max-burst', planned: 12_000, observed: null })).toBe('eth0.300 qos.ingress.max-burst: planned 12000 kbit, observed absent');
    // The tbf gone (e.g. removed by hand): planned, not observed.
    const k = fixture(1);
    const stripped: KernelState = { ...k, tc: { ...k.tc, qdisc: (k.tc?.qdisc ?? []).filter((q) => q.kind !== 'tbf') } };
    expect(diffState(planHost(blade(1)).state, observe(stripped))).toEqual([{ interface: 'eth0.300', field: 'qos.egress.max-rate', planned: 24_000, observed: null }]);
    // A limit the plan does not hold (the plan without QoS).
    const unlimited = blade(2);
    unlimited.attachments = unlimited.attachments.map(({ qos: _drop, ...a }) => a);
    expect(diffState(planHost(unlimited).state, observe(fixture(2)))).toEqual([
      { interface: 'backup', field: 'qos.egress.max-rate', planned: null, observed: 18_000 },
      { interface: 'backup', field: 'qos.ingress.max-rate', planned: null, observed: 9_000 },
    ]);
  });

  it('a report without traffic control (an older image) compares no limits', () => {
    const { tc: _tc, ...k } = fixture(1);
    expect(observe(k).qos).toBeUndefined();
    expect(diffState(planHost(blade(1)).state, observe(k))).toEqual([]);
  });

  it('the report schema keeps the tc part, bounded, and refuses a malformed one', () => {
    const k = fixture(1);
    expect(k.tc?.qdisc?.find((q) => q.kind === 'tbf')).toMatchObject({ dev: 'eth0.300', root: true, options: { rate: 3_000_000 } });
    expect(k.tc?.ingress?.['eth0.300']).toContain('police 0x1 rate 12Mbit');
    expect(kernelStateSchema.safeParse({ link: [], tc: { qdisc: [{ kind: 'tbf' }] } }).success).toBe(false);
    expect(kernelStateSchema.safeParse({ link: [], tc: { ingress: { eth0: 5 } } }).success).toBe(false);
    expect(kernelStateSchema.safeParse({ link: [], tc: { ingress: { eth0: 'x'.repeat(9000) } } }).success).toBe(false);
    // Nested option objects (fq_codel's, htb's) are dropped, scalars kept.
    const parsed = kernelStateSchema.parse({ link: [], tc: { qdisc: [{ kind: 'x', dev: 'd', options: { a: 1, b: { c: 2 } } }] } });
    expect(parsed.tc?.qdisc?.[0]?.options).toEqual({ a: 1 });
  });
});
