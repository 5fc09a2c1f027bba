// Small formatting helpers for human output.

const integer = new Intl.NumberFormat('en-US');

export function count(n: number): string {
  return integer.format(n);
}

/** Rows of cells as aligned columns. */
export function columns(rows: string[][], gap = '  '): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join(gap))
    .join('\n');
}
