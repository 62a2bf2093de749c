// A small line diff (longest common subsequence) for the conflict view:
// files here are students' programs, a few hundred lines at most.

export interface DiffRow {
  kind: "same" | "changed" | "mine" | "theirs";
  left?: string;
  right?: string;
}

export function lineDiff(mine: string, theirs: string): DiffRow[] {
  const a = mine.split("\n");
  const b = theirs.split("\n");
  if (a.length * b.length > 4_000_000) {
    // too big for the table: show them side by side without alignment
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => ({ kind: a[i] === b[i] ? "same" : "changed", left: a[i], right: b[i] }));
  }
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows: DiffRow[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      rows.push({ kind: "same", left: a[i++], right: b[j++] });
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      rows.push({ kind: "theirs", right: b[j++] });
    } else {
      rows.push({ kind: "mine", left: a[i++] });
    }
  }
  return rows;
}
