// The cost model behind `strategy: "auto"`, per conv kernel, written against the kernels
// src/kernels/ actually generates (conv-direct.ts, conv-im2row.ts).
//
// Time is counted in multiply-adds at the calibration GEMM's rate (a 4x4 register-blocked
// plain-JS GEMM): cost = MACs / efficiency + copy work. The efficiencies were measured as
// ratios to that GEMM in one run (CPU time, single thread; bench configs A-E of issue 5):
// - direct: full 4-column blocks run at ~1.1 with 3-4 channels per block, ~0.87 with 1-2
//   (shared-load row loops); leftover and padding-side columns run in narrower blocks at
//   constant columns, ~0.85 of block speed (A, LeNet's c3, a 7x7 map: 85-110% overall).
// - im2row: the GEMM runs at ~1.0 when both tile dims reach 4; each element of the im2row
//   buffer (copied in, or gathered out by col2im) costs about 4 multiply-adds (B: the copy
//   is ~12% of a GEMM with 32 channels); dW's GEMM streams a long reduction, ~0.85.
// The numbers only need to order the two strategies; `convgen plan` shows the choice.

import type { ConvGeometry } from '../plan/types.ts';
import type { StrategyName } from '../spec/types.ts';
import { transposedToConv } from './types.ts';
import { convForwardAxes, convGradInputAxes, type Axis } from './conv-axes.ts';
import { BLOCK_O, BLOCK_W, channelBlock } from './schedule.ts';

export type ConvRole = 'forward' | 'gradInput' | 'gradWeight';

/** multiply-add equivalents per im2row buffer element copied or gathered */
const COPY = 4;
/** full direct blocks: 3-4 channels (measured 1.04-1.10 on B, C, D), 1-2 channels (A's dx: 0.87) */
const BLOCK_EFF = 1.1;
const NARROW_BLOCK_EFF = 0.87;
/** columns in the narrow blocks at constant columns (leftover, padding side), relative to full blocks */
const EDGE_EFF = 0.85;
const DW_GEMM_EFF = 0.85;
/** windows up to 7x7 fit one pass of direct kernels (more taps: see DIRECT_KERNEL_BUDGET in conv.ts) */
const MAX_ONE_PASS_TAPS = 49;


/**
 * efficiency of the direct engine over the column phases given: full 4-column blocks at
 * `block`, the leftover interior columns as one narrower block (width t: between edge and
 * full speed), the padding-side columns one at a time at `edge`
 */
function gatherEff(phases: readonly Axis[], outPer: number): number {
  const block = channelBlock(outPer) >= 3 ? BLOCK_EFF : NARROW_BLOCK_EFF;
  const edge = block * EDGE_EFF;
  let time = 0;
  let total = 0;
  for (const a of phases) {
    const interior = a.hi - a.lo;
    const full = Math.floor(interior / BLOCK_W) * BLOCK_W;
    const tail = interior - full;
    const tailEff = edge + ((block - edge) * (tail - 1)) / (BLOCK_W - 1);
    time += full / block + (tail > 0 ? tail / tailEff : 0) + (a.T - interior) / edge;
    total += a.T;
  }
  return total === 0 ? 1 : total / time;
}

/** a GEMM with an M x N output in 4 x 4 tiles: short dims waste the tile */
const gemmEff = (m: number, n: number) => (Math.min(m, 4) / 4) * (Math.min(n, 4) / 4);

/** cost of one kernel role of the conv C (not a transposed layer), in multiply-adds at the calibration rate */
export function convCostC(c: ConvGeometry, role: ConvRole, strategy: StrategyName): number {
  const cig = c.inC / c.groups;
  const cog = c.outC / c.groups;
  const kk = c.kH * c.kW;
  const P = c.outH * c.outW;
  const macs = c.batch * c.outC * P * cig * kk;
  const colsElements = c.groups * c.batch * P * cig * kk;
  if (strategy === 'direct') {
    // past 7x7 taps the window is split into passes (conv.ts: each kernel must stay small
    // enough for V8 to optimize) that re-read and re-write the output: signal1d's 80-tap
    // front ran at 0.67 of the calibration GEMM against ~0.9-1.0 for small windows
    const passes = kk > MAX_ONE_PASS_TAPS ? 0.7 : 1;
    // direct never multiplies padding: count the taps that read inside the input
    const valid = (axes: readonly Axis[]) => axes.reduce((n, a) => n + a.taps.reduce((m, t) => m + t.hi - t.lo, 0), 0);
    if (role === 'forward') {
      const { h, w } = convForwardAxes(c);
      return (c.batch * c.outC * cig * valid([h]) * valid([w])) / (passes * gatherEff([w], cog));
    }
    if (role === 'gradInput') {
      const { hs, ws } = convGradInputAxes(c);
      return (c.batch * c.inC * cog * valid(hs) * valid(ws)) / (passes * gatherEff(ws, cig));
    }
    // dW: blocks of up to 4 channels x up to 4 taps of a kernel row, reducing over pixels
    const { h, w } = convForwardAxes(c);
    const interior = (w.hi - w.lo) / Math.max(1, c.outW);
    // accumulators per block: channels x input channels (short rows) x taps of a kernel row
    const kc = Math.min(c.kW, BLOCK_W);
    const accs = Math.min(cog, BLOCK_O) * Math.min(cig, Math.max(1, Math.floor(BLOCK_W / kc))) * kc;
    // measured: 16 accumulators 1.04-1.10 (B-D), 1x1 0.94; fewer run 4 columns per
    // iteration with shared input loads (depthwise 3x3: 1.08)
    const block = accs >= 8 ? BLOCK_EFF : 1.0;
    // dW's border columns are single columns at constant positions
    return (c.batch * c.outC * cig * valid([h]) * valid([w])) / (block * (interior + (1 - interior) * 0.6));
  }
  if (role === 'forward') return macs / gemmEff(P, cog) + COPY * colsElements;
  if (role === 'gradInput') return macs / gemmEff(P, cig * kk) + COPY * colsElements;
  return macs / (DW_GEMM_EFF * gemmEff(cog, cig * kk)) + COPY * colsElements;
}

/** cost of a layer's kernel role: for conv_transpose2d its forward is C's gradInput and vice versa */
export function convCost(g: ConvGeometry, role: ConvRole, strategy: StrategyName, transposed: boolean = 'outputPadH' in g): number {
  if (!transposed) return convCostC(g, role, strategy);
  const swapped: ConvRole = role === 'forward' ? 'gradInput' : role === 'gradInput' ? 'forward' : 'gradWeight';
  return convCostC(transposedToConv(g), swapped, strategy);
}

/** `auto` resolved: the cheaper strategy for this kernel (direct on a tie: no scratch buffer) */
export function chooseConvStrategy(g: ConvGeometry, role: ConvRole, transposed: boolean = 'outputPadH' in g): StrategyName {
  return convCost(g, role, 'im2row', transposed) < convCost(g, role, 'direct', transposed) ? 'im2row' : 'direct';
}
