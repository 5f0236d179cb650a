// plan -> text table, one row per layer and a totals row; what `convgen plan` prints and
// what the tests snapshot. Plain text that is also a Markdown table, so it pastes into
// issues and docs. Deterministic: no widths from the terminal (the CLI passes its width:
// then fit.ts fits the table to it), no locale formatting.

import type { ConvSchedule, LayerPlan, ModelPlan, Pad4, Shape } from './types.ts';
import { numel } from './types.ts';
import { fitTable, type FitColumn } from './fit.ts';

const shape = (s: Shape): string => s.join('x');

/** "3" when both dims agree, "3x5" otherwise; 1D layers show the width only */
function pair(h: number, w: number, oneD: boolean): string {
  return oneD || h === w ? `${w}` : `${h}x${w}`;
}

/** "1" (all sides), "1x2" (height x width, symmetric), or "t,b,l,r" when asymmetric */
function pads(p: Pad4, oneD: boolean): string {
  if (oneD) return p.left === p.right ? `${p.left}` : `${p.left},${p.right}`;
  if (p.top === p.bottom && p.left === p.right) return pair(p.top, p.left, false);
  return `${p.top},${p.bottom},${p.left},${p.right}`;
}

function strategy(s: ConvSchedule, inference: boolean): string {
  // an inference build runs the forward kernel only
  if (inference || s.forward === s.gradInput && s.forward === s.gradWeight) return s.forward;
  return `${s.forward}/${s.gradInput}/${s.gradWeight}`;
}

/** the k/s/p/d cell: kernel / stride / padding / dilation */
function geometryCell(l: LayerPlan): string {
  // a 1D layer keeps its true rank in the shapes: [N, C, L]
  const oneD = l.inShape.length === 3;
  switch (l.type) {
    case 'conv1d':
    case 'conv2d':
    case 'conv_transpose1d':
    case 'conv_transpose2d': {
      const g = l.geometry;
      const cell = [
        oneD ? `${g.kW}` : `${g.kH}x${g.kW}`,
        pair(g.strideH, g.strideW, oneD),
        pads(g.pad, oneD),
        pair(g.dilationH, g.dilationW, oneD),
      ].join('/');
      const extras: string[] = [];
      if ((l.type === 'conv_transpose1d' || l.type === 'conv_transpose2d') && (l.geometry.outputPadH || l.geometry.outputPadW)) extras.push(`op${pair(l.geometry.outputPadH, l.geometry.outputPadW, oneD)}`);
      if (g.groups !== 1) extras.push(`g${g.groups}`);
      return [cell, ...extras].join(' ');
    }
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool': {
      const g = l.geometry;
      const p: Pad4 = { top: g.padH, bottom: g.padH, left: g.padW, right: g.padW };
      return [oneD ? `${g.kW}` : `${g.kH}x${g.kW}`, pair(g.strideH, g.strideW, oneD), pads(p, oneD), '1'].join('/');
    }
    case 'upsample_nearest2d':
    case 'upsample_bilinear2d':
      return `x${pair(l.scaleH, l.scaleW, false)}`;
    // PyTorch's order, as model.json writes it
    case 'zero_pad1d':
      return `${l.pad.left},${l.pad.right}`;
    case 'zero_pad2d':
      return `${l.pad.left},${l.pad.right},${l.pad.top},${l.pad.bottom}`;
    // an activation's constant, by PyTorch's key
    case 'leaky_relu':
      return `slope=${l.negativeSlope}`;
    case 'elu':
      return `alpha=${l.alpha}`;
    case 'gelu':
      return l.approximate === 'tanh' ? 'tanh' : '-';
    case 'dropout':
      return `p=${l.p}`;
    case 'batchnorm1d':
    case 'batchnorm2d':
    case 'linear':
    case 'relu':
    case 'relu6':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
    case 'flatten':
    case 'add':
    case 'concat':
      return '-';
  }
}

/** what the layer before `i` is called in `inputs`: the previous layer, or `input` for the first */
const previous = (plan: ModelPlan, i: number): string => (i === 0 ? 'input' : plan.layers[i - 1].name);

/** a chain step reads just the previous layer (the first layer: the input) */
function isChainStep(plan: ModelPlan, i: number): boolean {
  const ins = plan.layers[i].inputs;
  return ins.length === 1 && ins[0] === previous(plan, i);
}

/** the inputs cell: `-` for a chain step, else the names it reads (`input` is the model's input) */
function inputsCell(plan: ModelPlan, i: number): string {
  return isChainStep(plan, i) ? '-' : plan.layers[i].inputs.join(', ');
}

/** the in cell: one shape, or concat's shapes joined by `+` */
function inCell(l: LayerPlan): string {
  if (l.type === 'concat') return l.inShapes.map((s) => shape(s.slice(1))).join(' + ');
  return shape(l.inShape.slice(1));
}

function params(l: LayerPlan): number {
  return (l.weightShape ? numel(l.weightShape) : 0) + (l.biasShape ? numel(l.biasShape) : 0);
}

const mflop = (n: number): string => (n / 1e6).toFixed(3);
const kib = (bytes: number): string => (bytes / 1024).toFixed(1);

const HEADER = ['layer', 'op', 'in', 'out', 'k/s/p/d', 'strategy', 'params', 'MFLOP fwd', 'MFLOP bwd', 'act KiB'];
/** numeric columns are right-aligned */
const RIGHT = [false, false, false, false, false, false, true, true, true, true];

/**
 * the columns for a given width (fit.ts): which go first when the table is too wide (lowest
 * priority), the short headers; `inputs` (graphs only) sits after `op`
 */
const COLUMNS: readonly FitColumn[] = [
  { header: 'layer', priority: Infinity, wrap: { after: '_', minWidth: 8 } },
  { header: 'op', priority: Infinity, wrap: { after: '_', minWidth: 11 } },
  { header: 'in', priority: 5 },
  { header: 'out', priority: Infinity },
  { header: 'k/s/p/d', short: 'ksp', priority: 7 },
  { header: 'strategy', short: 'strat', priority: 6, wrap: { after: '/', minWidth: 6 } },
  { header: 'params', right: true, priority: 4, zeroDrop: true },
  { header: 'MFLOP fwd', short: 'Mfwd', right: true, priority: 3 },
  { header: 'MFLOP bwd', short: 'Mbwd', right: true, priority: 2 },
  { header: 'act KiB', short: 'KiB', right: true, priority: 1 },
];
const INPUTS_COLUMN: FitColumn = { header: 'inputs', priority: 8, wrap: { after: ' ', minWidth: 8 } };

export interface PlanTableOptions {
  /**
   * the most characters a line may have (a terminal's columns): columns are abbreviated,
   * wrapped or left out to fit (src/plan/fit.ts), and a note says which; default: no limit,
   * every column at its full width
   */
  width?: number;
}

/** rows as a Markdown table (the first is the header), numeric columns right-aligned */
export function render(rows: string[][], right: readonly boolean[]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (right[c] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)];
}

/**
 * the plan as a table: shapes per sample (the batch is in the title line; an inference
 * build's says `inference (forward only)` where the loss would be; `output_softmax in eval`
 * ends it where model.json asks for that). A model that
 * branches gets an `inputs` column after `op` (`-`: the previous layer); a chain's table has none
 */
export function formatPlanTable(plan: ModelPlan, options: PlanTableOptions = {}): string {
  // an inference build runs no backward: its column shows `-`
  const bwd = (flops: number): string => (plan.inference ? '-' : mflop(flops));
  const rows: string[][] = [HEADER];
  for (const l of plan.layers) {
    rows.push([
      l.name,
      l.type,
      inCell(l),
      shape(l.outShape.slice(1)),
      geometryCell(l),
      'schedule' in l ? strategy(l.schedule, plan.inference === true) : '-',
      `${params(l)}`,
      mflop(l.flops.forward),
      bwd(l.flops.gradInput + l.flops.gradWeight),
      kib(l.activationBytes),
    ]);
  }
  const t = plan.totals;
  rows.push(['total', '', shape(plan.inShape.slice(1)), shape(plan.outShape.slice(1)), '', '', `${t.params}`, mflop(t.flopsForward), bwd(t.flopsBackward), kib(t.activationBytes)]);
  const title = `model ${plan.name}: batch ${plan.batch}, input ${shape(plan.inShape.slice(1))}, output ${shape(plan.outShape.slice(1))}, ${plan.inference ? 'inference (forward only)' : `loss ${plan.loss ?? 'none'}`}${plan.outputSoftmax ? ', output_softmax in eval' : ''}`;
  const chain = plan.layers.every((_, i) => isChainStep(plan, i));
  const table = chain ? rows : rows.map((r, i) => [...r.slice(0, 2), i === 0 ? 'inputs' : i === rows.length - 1 ? '' : inputsCell(plan, i - 1), ...r.slice(2)]);
  if (options.width !== undefined) {
    // in a chain, `in` is the row above's `out` (the first row's: the title's input), so it goes first
    const columns = chain ? COLUMNS.map((c) => (c.header === 'in' ? { ...c, priority: 0 } : c)) : [...COLUMNS.slice(0, 2), INPUTS_COLUMN, ...COLUMNS.slice(2)];
    return [...wrapTitle(title, options.width), '', ...fitTable(columns, table.slice(1), { width: options.width, style: 'markdown' })].join('\n') + '\n';
  }
  return [title, '', ...render(table, chain ? RIGHT : [false, false, false, ...RIGHT.slice(2)])].join('\n') + '\n';
}

/** the title line, broken at its commas to fit `width` */
function wrapTitle(title: string, width: number): string[] {
  const out: string[] = [];
  for (const part of title.split(/(?<=,) /)) {
    const last = out.length - 1;
    if (last >= 0 && out[last]!.length + 1 + part.length <= width) out[last] += ` ${part}`;
    else out.push(out.length ? `  ${part}` : part);
  }
  return out;
}
