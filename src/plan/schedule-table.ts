// a conv schedule -> text table, one row per kernel role: what `convgen plan --target ts|wgsl|wasm`
// prints beside the plan (Halide's print_loop_nest: what will run, before it runs).

import type { ConvKernelSchedule, LinearLayerSchedule, ModelSchedule } from './schedule.ts';
import { render as renderTable } from './table.ts';
import { fitTable, type FitColumn } from './fit.ts';

/** the register block, with its units */
function blockCell(s: ModelSchedule['target'], k: ConvKernelSchedule): string {
  const b = k.block;
  if (b.length === 0) return '-';
  if (s === 'wgsl') return k.algorithm === 'gather' ? `${b[0]} ch / invocation` : `${b[0]}x${b[1]} / invocation`;
  if (k.algorithm === 'gather') return `${b[0]} ch x ${b[1]} cols`;
  if (k.algorithm === 'reduce') return `${b[0]} co x ${b[1]} ci x ${b[2]} taps`;
  return `${b[0]}x${b[1]} GEMM`;
}

/** the rest of the schedule: budgets, tap unrolling, tiles, split-K */
function detailCell(t: ModelSchedule['target'], k: ConvKernelSchedule): string {
  const out: string[] = [];
  if (k.pixels === 'invocations' && (k.algorithm === 'gather' || k.algorithm === 'im2row')) out.push('pixels as invocations');
  if (k.packed) out.push('weights packed [g][r][kh][kw][o] per call, f32x4 over output channels');
  if (k.evenWidth !== undefined) out.push(`${k.evenWidth} cols where that leaves no tail block`);
  if (k.colsByRow) out.push('im2row copied a row at a time');
  if (k.dyPacked) out.push('dy packed [g][co block][n][p][o] per call, x zero-padded where a tap leaves it, f32x4 over output channels');
  if (k.colsStride !== undefined) out.push(`im2row rows ${k.colsStride} floats apart`);
  if (k.unrollBudget !== null) out.push(`unroll budget ${k.unrollBudget} IR nodes`);
  if (k.tapUnroll !== null) out.push(`taps unrolled up to ${k.tapUnroll} per axis`);
  if (k.tile) out.push(`tile ${k.tile.tm}x${k.tile.tn}x${k.tile.tk}, ${k.tile.size} invocations`);
  if (k.fused) out.push("in gradWeight's split-K");
  else if (k.splitK && k.algorithm !== 'sum') out.push(`split-K: ${k.splitK.chunks} chunks of ${k.splitK.nb} sample(s) x ${k.splitK.bh} row(s)`);
  if (k.algorithm === 'sum' && !k.fused) out.push(k.splitK ? 'two passes: per sample, then their sum in order' : 'one loop per channel');
  return out.join('; ') || '-';
}

/** the columns at a width (fit.ts): the schedule's details wrap first, the block goes last */
const COLUMNS: readonly FitColumn[] = [
  { header: 'layer', priority: Infinity, wrap: { after: '_', minWidth: 8 } },
  { header: 'kernel', priority: Infinity },
  { header: 'algorithm', short: 'alg', priority: Infinity },
  { header: 'block', priority: 2, wrap: { after: ' ', minWidth: 8 } },
  { header: 'schedule', priority: 1, wrap: { after: ' ;,', minWidth: 16 } },
];

/**
 * the conv layers' schedule on a target, or a line saying there are none; with a width, the
 * table is fitted to it (src/plan/fit.ts), else every column at its full width
 */
export function formatConvSchedule(s: ModelSchedule, options: { width?: number } = {}): string {
  const title = `conv schedule (target ${s.target})`;
  if (s.layers.length === 0) return `${title}: no conv layers\n`;
  const rows: string[][] = [['layer', 'kernel', 'algorithm', 'block', 'schedule']];
  for (const l of s.layers) {
    l.kernels.forEach((k, i) => rows.push([i === 0 ? l.layer : '', k.role, k.algorithm, blockCell(s.target, k), detailCell(s.target, k)]));
  }
  const table = options.width === undefined ? renderTable(rows, [false, false, false, false, false]) : fitTable(COLUMNS, rows.slice(1), { width: options.width, style: 'markdown' });
  return [title, '', ...table].join('\n') + '\n';
}

/**
 * the linear layers' schedule on the wasm target (the other targets read W in place with the
 * GEMM's default block): one row per GEMM, the same columns as the conv table
 */
export function formatLinearSchedule(ls: readonly LinearLayerSchedule[], options: { width?: number; inference?: boolean } = {}): string {
  const title = `linear schedule (target wasm)`;
  if (ls.length === 0) return `${title}: no linear layers\n`;
  const rows: string[][] = [['layer', 'kernel', 'algorithm', 'block', 'schedule']];
  const block = (b: readonly number[] | null) => (b ? `${b[0]}x${b[1]} GEMM` : '4x4 GEMM');
  for (const l of ls) {
    rows.push([l.layer, 'forward', 'gemm', block(l.fwdBlock), l.packed ? 'W packed per call into column panels [O/bn][I][bn], n-blocks outside' : 'W in place']);
    if (options.inference) continue;
    rows.push(['', 'gradInput', 'gemm', block(l.dxBlock), l.dxPacked ? "W's columns packed per call into panels [I/bn][O][bn], n-blocks outside" : 'W in place']);
    rows.push(['', 'gradWeight', 'gemm', block(l.dwBlock), '']);
  }
  const table = options.width === undefined ? renderTable(rows, [false, false, false, false, false]) : fitTable(COLUMNS, rows.slice(1), { width: options.width, style: 'markdown' });
  return [title, '', ...table].join('\n') + '\n';
}
