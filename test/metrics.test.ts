import { describe, expect, it } from 'vitest';
import { Registry } from '../src/metrics.js';

describe('metrics registry', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const r = new Registry();
    const c = r.counter('tabula_dhcp_packets_total', 'DHCP packets received by message type');
    c.inc({ type: 'discover' });
    c.inc({ type: 'discover' });
    c.inc({ type: 'request' }, 3);
    let leases = 4;
    r.gauge('tabula_dhcp_leases_in_use', 'Leases bound').collect(() => leases);
    const h = r.histogram('tabula_boot_stage_seconds', 'Stage durations', [1, 5]);
    h.observe(0.5, { stage: 'kernel' });
    h.observe(3, { stage: 'kernel' });
    leases = 5;
    const text = r.render();
    expect(text).toContain('# TYPE tabula_dhcp_packets_total counter');
    expect(text).toContain('tabula_dhcp_packets_total{type="discover"} 2');
    expect(text).toContain('tabula_dhcp_packets_total{type="request"} 3');
    expect(text).toContain('tabula_dhcp_leases_in_use 5');
    expect(text).toContain('tabula_boot_stage_seconds_bucket{stage="kernel",le="1"} 1');
    expect(text).toContain('tabula_boot_stage_seconds_bucket{stage="kernel",le="5"} 2');
    expect(text).toContain('tabula_boot_stage_seconds_bucket{stage="kernel",le="+Inf"} 2');
    expect(text).toContain('tabula_boot_stage_seconds_count{stage="kernel"} 2');
    expect(r.counter('tabula_dhcp_packets_total', 'again')).toBe(c);
  });
  it('escapes label values', () => {
    const r = new Registry();
    r.counter('x_total', 'x').inc({ route: 'a"b\\c' });
    expect(r.render()).toContain('x_total{route="a\\"b\\\\c"} 1');
  });
});
