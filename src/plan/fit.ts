// A text table fitted to a width (a terminal's columns): what `convgen plan` prints. Generic over
// its columns, each with a priority, so a table that gains columns still fits. The steps, each
// taken only while the table is still too wide:
//
//   1. columns marked zeroDrop that are 0 in every row go (a note says so), at any width;
//   2. detail columns (long lists) leave the row for an indented line under it (one line, or
//      more when wrapped, for all of the row's detail cells);
//   3. the short headers (a legend line explains them);
//   4. wrap columns shrink to their minimum, their cells wrapped onto continuation lines;
//   5. columns go, lowest priority first (a note names them); required ones never do;
//   6. if the required columns alone do not fit: one block per row, `header: value` pairs
//      flowed to the width.
//
// Deterministic: the width is an argument (the CLI reads the terminal's).

export interface FitColumn {
  header: string;
  /** the header when space is short; the legend line gives `short: header` */
  short?: string;
  /** numbers: right-aligned */
  right?: boolean;
  /** higher stays longer when columns must go; Infinity: never goes (the table turns into blocks first) */
  priority: number;
  /** cells may wrap: break after these characters (else anywhere), down to minWidth */
  wrap?: { after: string; minWidth: number };
  /** a long list: under a width, it leaves the row for an indented line of its own */
  detail?: boolean;
  /** gone when every cell is 0 (a note says so) */
  zeroDrop?: boolean;
}

export interface FitOptions {
  /** the most characters a line may have */
  width: number;
  /** markdown: `| a | b |` and a `|---|--:|` rule; plain: `a | b` and a `--|--` rule */
  style: 'markdown' | 'plain';
}

const isZero = (cell: string): boolean => /^0(\.0+)?$/.test(cell.trim());

/** `text` cut into pieces of at most `width` characters, after one of `after` where it can */
export function wrapCell(text: string, width: number, after = ''): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > width) {
    let cut = -1;
    for (let i = width; i > 0; i--) {
      if (after.includes(rest[i - 1]!)) {
        cut = i;
        break;
      }
    }
    if (cut <= 0) cut = width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  out.push(rest);
  return out;
}

/** the table's lines (no trailing newline), then its notes (what went, the legend) */
export function fitTable(columns: readonly FitColumn[], rows: readonly (readonly string[])[], options: FitOptions): string[] {
  const { width, style } = options;
  const notes: string[] = [];
  let cols = columns.map((c, i) => ({ ...c, index: i, label: c.header }));
  // 1. all-zero columns
  const zeros = cols.filter((c) => c.zeroDrop && rows.length > 0 && rows.every((r) => isZero(r[c.index] ?? '')));
  if (zeros.length) {
    notes.push(`not shown: ${zeros.map((c) => c.header).join(', ')} (0 in every row)`);
    cols = cols.filter((c) => !zeros.includes(c));
  }
  const natural = (c: (typeof cols)[number]): number => Math.max(c.label.length, ...rows.map((r) => (r[c.index] ?? '').length));
  const total = (ws: readonly number[]): number => ws.reduce((a, b) => a + b, 0) + (style === 'markdown' ? 3 * ws.length + 1 : 3 * (ws.length - 1));
  const fits = (cs: typeof cols, ws: readonly number[]): boolean => total(ws) <= width;

  let details: typeof cols = [];
  let widths = cols.map(natural);
  // 2. detail columns leave the row, lowest priority first
  for (const c of [...cols].filter((c) => c.detail).sort((a, b) => a.priority - b.priority)) {
    if (fits(cols, widths)) break;
    details.push(c);
    cols = cols.filter((x) => x !== c);
    widths = cols.map(natural);
  }
  if (!fits(cols, widths)) {
    // 3. short headers
    for (const c of cols) if (c.short) c.label = c.short;
    widths = cols.map(natural);
  }
  details = details.sort((a, b) => a.index - b.index);
  // 4. wrap, 5. drop
  const dropped: string[] = [];
  const shrink = (cs: typeof cols): number[] | null => {
    const ws = cs.map(natural);
    let excess = total(ws) - width;
    // the widest wrap column gives a character, until the table fits or none has room
    const floor = cs.map((c) => (c.wrap ? Math.max(c.wrap.minWidth, c.label.length) : Infinity));
    while (excess > 0) {
      let widest = -1;
      for (let i = 0; i < cs.length; i++) if (ws[i]! > floor[i]! && (widest < 0 || ws[i]! > ws[widest]!)) widest = i;
      if (widest < 0) break;
      ws[widest]! -= 1;
      excess -= 1;
    }
    return excess <= 0 ? ws : null;
  };
  let fitted = shrink(cols);
  while (!fitted) {
    const droppable = cols.filter((c) => c.priority !== Infinity);
    if (!droppable.length) break;
    const lowest = droppable.reduce((a, b) => (b.priority < a.priority ? b : a));
    dropped.push(lowest.header);
    cols = cols.filter((c) => c !== lowest);
    fitted = shrink(cols);
  }
  if (!fitted) return blocks(columns, rows, zeros.map((c) => c.index), width, notes.filter((n) => n.startsWith('not shown')));
  const legend = cols.filter((c) => c.label !== c.header).map((c) => `${c.label}: ${c.header}`);
  if (legend.length) notes.push(legend.join('; '));
  if (dropped.length) notes.push(`not shown at ${width} columns: ${dropped.join(', ')} (a wider terminal, --width N or --json shows them)`);

  const ws = fitted;
  const cells = (r: readonly string[]): string[][] => cols.map((c, i) => (c.wrap ? wrapCell(r[c.index] ?? '', ws[i]!, c.wrap.after) : [r[c.index] ?? '']));
  const line = (parts: readonly string[]): string => {
    const padded = parts.map((p, i) => (cols[i]!.right ? p.padStart(ws[i]!) : p.padEnd(ws[i]!)));
    return style === 'markdown' ? `| ${padded.join(' | ')} |` : padded.join(' | ').trimEnd();
  };
  const rule = style === 'markdown' ? `|${ws.map((w, i) => (cols[i]!.right ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|` : ws.map((w) => '-'.repeat(w)).join('-|-');
  const out = [line(cols.map((c) => c.label)), rule];
  for (const r of rows) {
    const split = cells(r);
    const height = Math.max(...split.map((s) => s.length));
    for (let k = 0; k < height; k++) out.push(line(split.map((s) => s[k] ?? '')));
    const detail = details.filter((d) => r[d.index]).map((d) => `${d.header}: ${r[d.index]}`).join('; ');
    if (detail) out.push(...wrapCell(detail, width - 4, ' ').map((s) => `    ${s}`));
  }
  return notes.length ? [...out, '', ...notes.flatMap((n) => wrapCell(n, width, ' '))] : out;
}

/** one block per row: its first cell, then `header: value` pairs flowed to the width */
function blocks(columns: readonly FitColumn[], rows: readonly (readonly string[])[], hidden: readonly number[], width: number, notes: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const pairs = columns.map((c, i) => ({ c, i })).filter(({ c, i }) => i > 0 && !hidden.includes(i) && (r[i] ?? '') !== '' && (r[i] ?? '') !== '-').map(({ c, i }) => `${c.header}: ${r[i]}`);
    if (r[0]) out.push(...wrapCell(r[0], width, '_'));
    let current = '';
    const start = (p: string): void => {
      if (p.length + 2 <= width) current = `  ${p}`;
      else out.push(...wrapCell(p, width - 2, ' ,_').map((s) => `  ${s}`));
    };
    for (const p of pairs) {
      if (!current) start(p);
      else if (current.length + 3 + p.length <= width) current += `   ${p}`;
      else {
        out.push(current);
        current = '';
        start(p);
      }
    }
    if (current) out.push(current);
  }
  return notes.length ? [...out, '', ...notes.flatMap((n) => wrapCell(n, width, ' '))] : out;
}
