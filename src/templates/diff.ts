// Line-based unified diff (longest common subsequence), for previewing template changes. Rendered
// scripts are a few hundred lines at most, so the quadratic table is small.

export interface DiffOptions {
  /** Unchanged lines shown around each change; default 3. */
  context?: number;
  fromLabel?: string;
  toLabel?: string;
}

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function script(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = length of the LCS of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number): number => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = a[i] === b[j] ? (lcs[at(i + 1, j + 1)] as number) + 1 : Math.max(lcs[at(i + 1, j)] as number, lcs[at(i, j + 1)] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] as string, a: i, b: j });
      i++;
      j++;
    } else if (i < n && (j === m || (lcs[at(i + 1, j)] as number) >= (lcs[at(i, j + 1)] as number))) {
      // Deletions before insertions, as diff(1) prints them.
      ops.push({ kind: '-', line: a[i] as string, a: i, b: j });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j] as string, a: i, b: j });
      j++;
    }
  }
  return ops;
}

/** The unified diff of two texts; '' when they are equal. */
export function unifiedDiff(from: string, to: string, opts: DiffOptions = {}): string {
  if (from === to) return '';
  const ctx = opts.context ?? 3;
  const ops = script(splitLines(from), splitLines(to));
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) {
    // Only the final newline differs.
    return `--- ${opts.fromLabel ?? 'a'}\n+++ ${opts.toLabel ?? 'b'}\n@@ trailing newline differs @@\n`;
  }
  // Group changes whose context windows touch into hunks.
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const lo = Math.max(0, k - ctx);
    const hi = Math.min(ops.length - 1, k + ctx);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }
  let out = `--- ${opts.fromLabel ?? 'a'}\n+++ ${opts.toLabel ?? 'b'}\n`;
  for (const [lo, hi] of hunks) {
    const slice = ops.slice(lo, hi + 1);
    const first = slice[0] as Op;
    const aLen = slice.filter((o) => o.kind !== '+').length;
    const bLen = slice.filter((o) => o.kind !== '-').length;
    const aStart = aLen === 0 ? first.a : first.a + 1;
    const bStart = bLen === 0 ? first.b : first.b + 1;
    out += `@@ -${aStart},${aLen} +${bStart},${bLen} @@\n`;
    for (const o of slice) out += `${o.kind}${o.line}\n`;
  }
  return out;
}
