// The console's pure helpers: which form field an engine error belongs to (by code, or by the
// request issue's path), and the line diff of the revision history.
import { describe, expect, it } from 'vitest';
import { hunks, lineDiff } from '../../ui/src/diff.js';
import { type FailureLike, fieldErrors, fieldOfCode } from '../../ui/src/fields.js';
import { parseVlanList } from '../../ui/src/vlans.js';

const failure = (f: Partial<FailureLike> & { code: string }): FailureLike => ({ message: f.code, issues: [], violations: [], ...f });

describe('fieldErrors', () => {
  it('puts each violation of a 422 next to its field, by code', () => {
    const f = failure({
      code: 'DUPLICATE_VLAN_ON_INTERFACE',
      violations: [
        { code: 'DUPLICATE_VLAN_ON_INTERFACE', message: 'eth1 would carry VLAN 20 twice', severity: 'error' },
        { code: 'MTU_OUT_OF_RANGE', message: 'MTU 20 is outside', severity: 'error' },
        { code: 'BOND_PARTIAL', message: 'a warning is not shown as an error', severity: 'warning' },
      ],
    });
    expect(fieldErrors('network', f)).toEqual({
      vlan: [{ code: 'DUPLICATE_VLAN_ON_INTERFACE', message: 'eth1 would carry VLAN 20 twice' }],
      mtu: [{ code: 'MTU_OUT_OF_RANGE', message: 'MTU 20 is outside' }],
    });
  });

  it('puts a code it does not know on the form as a whole', () => {
    expect(fieldErrors('network', failure({ code: 'SOMETHING_NEW', message: 'new rule' }))).toEqual({ '': [{ code: 'SOMETHING_NEW', message: 'new rule' }] });
  });

  it('uses the issue path of a 400 INVALID_REQUEST', () => {
    const f = failure({
      code: 'INVALID_REQUEST',
      issues: [
        { in: 'body', path: 'vlan', message: 'Invalid input: expected number, received string' },
        { in: 'body', path: 'options.miimon', message: 'Too small' },
        { in: 'query', path: 'x', message: 'Unrecognized key' },
      ],
    });
    expect(Object.keys(fieldErrors('bond', f)).sort()).toEqual(['', 'options', 'vlan']);
    expect(fieldErrors('bond', f).options?.[0]?.message).toBe('options.miimon: Too small');
  });

  it('maps a conflict without violations by its own code', () => {
    expect(fieldErrors('network', failure({ code: 'DUPLICATE_NETWORK_NAME', message: 'taken' }))).toEqual({ name: [{ code: 'DUPLICATE_NETWORK_NAME', message: 'taken' }] });
  });

  it('knows the bond rules', () => {
    expect(fieldOfCode('bond', 'BOND_TOO_FEW_MEMBERS')).toBe('members');
    expect(fieldOfCode('bond', 'BOND_LACP_RATE_MODE')).toBe('mode');
    expect(fieldOfCode('bond', 'BOND_MIIMON_AND_ARP')).toBe('options');
    expect(fieldOfCode('network', 'BOND_TOO_FEW_MEMBERS')).toBeNull();
  });
});

describe('port types and trunks (ovs)', () => {
  it('puts the port rules at port type, trunks and VLAN', () => {
    expect(fieldOfCode('network', 'PORT_TYPE_NEEDS_OVS')).toBe('portType');
    expect(fieldOfCode('network', 'PORT_TYPE_INVALID')).toBe('portType');
    expect(fieldOfCode('network', 'PORT_TYPE_VLAN_MISMATCH')).toBe('vlan');
    expect(fieldOfCode('network', 'TRUNK_VLANS_INVALID')).toBe('trunks');
    expect(fieldOfCode('network', 'TRUNK_CONTAINS_ACCESS_TAG')).toBe('trunks');
  });

  it('tells a trunk VLAN out of range from the network VLAN out of range', () => {
    const f = failure({
      code: 'VLAN_ID_OUT_OF_RANGE',
      violations: [
        { code: 'VLAN_ID_OUT_OF_RANGE', message: "network 'vm': trunk VLAN id 5000 is outside 1-4094", severity: 'error' },
        { code: 'VLAN_ID_OUT_OF_RANGE', message: "network 'vm': VLAN id 0 is outside 1-4094 (leave it empty for untagged)", severity: 'error' },
      ],
    });
    expect(Object.fromEntries(Object.entries(fieldErrors('network', f)).map(([k, v]) => [k, v.map((e) => e.message)]))).toEqual({
      trunks: ["network 'vm': trunk VLAN id 5000 is outside 1-4094"],
      vlan: ["network 'vm': VLAN id 0 is outside 1-4094 (leave it empty for untagged)"],
    });
    // A 422 without violations (one rule) goes by its message too.
    expect(Object.keys(fieldErrors('network', failure({ code: 'VLAN_ID_OUT_OF_RANGE', message: "network 'vm': trunk VLAN id 0 is outside 1-4094" })))).toEqual(['trunks']);
  });
});

describe('parseVlanList', () => {
  it('reads ids and ranges, spaces allowed, in the order typed', () => {
    expect(parseVlanList('300,301,310-312')).toEqual({ ok: true, vlans: [300, 301, 310, 311, 312] });
    expect(parseVlanList(' 401 - 402 , 7 ')).toEqual({ ok: true, vlans: [401, 402, 7] });
    expect(parseVlanList('')).toEqual({ ok: true, vlans: [] });
    expect(parseVlanList('  ')).toEqual({ ok: true, vlans: [] });
  });

  it('leaves the VLAN rules to the engine: duplicates and ids outside 1-4094 pass through', () => {
    expect(parseVlanList('5,5,0,5000')).toEqual({ ok: true, vlans: [5, 5, 0, 5000] });
  });

  it('refuses what is not a list of ids and ranges, saying why', () => {
    const bad = (s: string): string => {
      const r = parseVlanList(s);
      if (r.ok) throw new Error(`${s} was accepted`);
      return r.message;
    };
    expect(bad('300,,301')).toMatch(/empty entry/);
    expect(bad('300,')).toMatch(/empty entry/);
    expect(bad('300;301')).toMatch(/"300;301" is not a VLAN id or a range/);
    expect(bad('vlan10')).toMatch(/not a VLAN id/);
    expect(bad('-5')).toMatch(/not a VLAN id/);
    expect(bad('1.5')).toMatch(/not a VLAN id/);
    expect(bad('312-310')).toMatch(/runs backwards.*310-312/);
    expect(bad('1-100000')).toMatch(/spans more than 4094/);
  });
});

describe('lineDiff', () => {
  it('keeps common lines and marks removed and added ones in order', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc\nd')).toEqual([
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: '+', text: 'x' },
      { op: ' ', text: 'c' },
      { op: '+', text: 'd' },
    ]);
  });

  it('is empty of changes for identical texts', () => {
    expect(lineDiff('a\nb', 'a\nb').every((l) => l.op === ' ')).toBe(true);
  });

  it('hunks keep context around changes and mark the gaps', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const after = before.replace('l10', 'L10');
    const h = hunks(lineDiff(before, after), 1);
    expect(h).toEqual([null, { op: ' ', text: 'l9' }, { op: '-', text: 'l10' }, { op: '+', text: 'L10' }, { op: ' ', text: 'l11' }, null]);
  });
});
