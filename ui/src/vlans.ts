// The trunk list as the operator types it: "300,301,310-312" → [300, 301, 310, 311, 312]. Only the
// syntax is checked here; the VLAN rules (1-4094, duplicates, the native VLAN) are the engine's, whose
// errors the form shows next to the field (fields.ts).

/** A range wider than this is surely a typo, and expanding it would build a huge request. */
const MAX_RANGE = 4094;

export type VlanListParse = { ok: true; vlans: number[] } | { ok: false; message: string };

export function parseVlanList(text: string): VlanListParse {
  const vlans: number[] = [];
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === '') return { ok: true, vlans };
  for (const item of items) {
    if (item === '') return { ok: false, message: `empty entry in "${text.trim()}": separate VLAN ids with one comma, e.g. 300,301,310-312` };
    const range = /^([0-9]+)\s*-\s*([0-9]+)$/.exec(item);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (from > to) return { ok: false, message: `range ${item} runs backwards: write the lower VLAN id first (${to}-${from})` };
      if (to - from + 1 > MAX_RANGE) return { ok: false, message: `range ${item} spans more than ${MAX_RANGE} VLAN ids` };
      for (let v = from; v <= to; v++) vlans.push(v);
    } else if (/^[0-9]+$/.test(item)) {
      vlans.push(Number(item));
    } else {
      return { ok: false, message: `"${item}" is not a VLAN id or a range: use whole numbers and ranges such as 300,301,310-312` };
    }
  }
  return { ok: true, vlans };
}
