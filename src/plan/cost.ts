// The cost model that resolves `strategy: "auto"` per conv kernel.
//
// Both strategies do the same multiply-adds; they differ in how well the inner loop runs
// and in the extra memory traffic:
// - direct: an unrolled window, register-blocked over output channels and columns; it
//   runs near GEMM speed when each output sees a long reduction, but a short reduction
//   (depthwise, few input channels) leaves the blocking with little to amortize.
// - im2row: copies the input into a [rows, Cin/g*kH*kW] buffer first (one read and one
//   write per element of that buffer), then runs a register-blocked GEMM at near-peak.
// The constants are relative throughputs measured as ratios in one run (bench/), not
// absolute times; they only need to order the two strategies correctly.

import type { ConvGeometry } from './types.ts';
import type { StrategyName } from '../spec/types.ts';

export type ConvRole = 'forward' | 'gradInput' | 'gradWeight';

/** relative cost of one multiply-add in the GEMM inner loop */
const GEMM_MAC = 1.0;
/** relative cost of moving one float into or out of the im2row buffer */
const COPY = 1.5;

/** reduction length seen by one output element of each kernel */
function reduction(g: ConvGeometry, role: ConvRole, transposed: boolean): number {
  const inPerGroup = g.inC / g.groups;
  const outPerGroup = g.outC / g.groups;
  const taps = g.kH * g.kW;
  // for a transposed conv, the layer's forward is the underlying conv's gradInput
  const fwdLike = transposed ? role === 'gradInput' : role === 'forward';
  if (role === 'gradWeight') return g.batch * (transposed ? g.inH * g.inW : g.outH * g.outW);
  return fwdLike ? inPerGroup * taps : outPerGroup * taps;
}

/** relative cost of a direct multiply-add given the reduction it amortizes its blocking over */
function directMac(red: number): number {
  // a long window amortizes the border handling and the accumulator setup
  return 1.0 + 8 / Math.max(red, 1);
}

export function convCost(g: ConvGeometry, role: ConvRole, strategy: StrategyName, transposed: boolean): number {
  const outPerGroup = g.outC / g.groups;
  const inPerGroup = g.inC / g.groups;
  const macs = g.batch * g.outC * g.outH * g.outW * inPerGroup * g.kH * g.kW;
  const red = reduction(g, role, transposed);
  if (strategy === 'direct') return macs * directMac(red);
  // im2row buffer: one row per output pixel (per group), Cin/g*kH*kW columns
  const small = transposed ? g.inH * g.inW : g.outH * g.outW;
  const cols = g.batch * g.groups * small * (role === 'gradInput' ? outPerGroup : inPerGroup) * g.kH * g.kW;
  const pointwise = g.kH === 1 && g.kW === 1 && g.strideH === 1 && g.strideW === 1;
  // a 1x1 stride-1 conv needs no copy: its input already is the im2row matrix
  const copy = pointwise ? 0 : 2 * cols * COPY;
  // a GEMM whose N dimension (channels per group) is tiny wastes its register tile
  const tileWaste = 4 / Math.min(outPerGroup, inPerGroup, 4);
  return macs * GEMM_MAC * tileWaste + copy;
}

export function chooseConvStrategy(g: ConvGeometry, role: ConvRole, transposed: boolean): StrategyName {
  return convCost(g, role, 'im2row', transposed) < convCost(g, role, 'direct', transposed) ? 'im2row' : 'direct';
}
