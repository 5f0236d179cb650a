// Packed weights for a gather whose f32x4 accumulators run over output channels (the wasm
// target's schedule, `packed`): the weights are copied, once per call of the layer's forward
// (or backward), from the layer's layout into [g][r][kh][kw][o], the gather's output channel
// o innermost, so 4 consecutive output channels' weights are one v128.load and each input
// value is splatted once for all of them (XNNPACK's "loadsplat"). Unlike the column vectors
// (4 contiguous input columns), that works at any stride and dilation. The copy is done at
// run time, not at plan time, because the weights change every training step; it reads each
// weight once (C's forward at config C: 37K floats next to 116M multiply-adds).
//
// The same copy serves C.fwd (o = C's output channel, r = its input channel) and C.dx
// (o = C's input channel, r = its output channel): the gather's strides say which is which.

import type { Expr, Stmt } from '../ir/types.ts';
import { add, f32, load, mul, parallel, store } from '../ir/build.ts';
import type { GatherShape } from './conv-direct.ts';

/** the f32x4 width: packed output channels are padded to a multiple of it */
export const PACK_LANES = 4;

/** the packed output channels per (group, r, tap): outPer rounded up to PACK_LANES (the rest zeros) */
const paddedOut = (outPer: number) => Math.ceil(outPer / PACK_LANES) * PACK_LANES;

/** a gather's strides into the packed copy of its weights: [g][r][kh][kw][o], o padded to PACK_LANES */
export function packedStrides(s: Pick<GatherShape, 'outPer' | 'redPer'>, kk: number) {
  const O = paddedOut(s.outPer);
  return { gStride: s.redPer * kk * O, oStride: 1, rStride: kk * O, tapStride: O, channelsInner: true, lanes: PACK_LANES } as const;
}

/** the packed copy's length */
export const packedLength = (s: Pick<GatherShape, 'groups' | 'outPer' | 'redPer'>, kk: number): number => s.groups * s.redPer * kk * paddedOut(s.outPer);

/** wp[g][r][t][o] = w at the gather's (layer-layout) strides, t = kh*kW + kw; 0 for the padding channels */
export function packWeightStmts(s: Pick<GatherShape, 'groups' | 'outPer' | 'redPer' | 'gStride' | 'oStride' | 'rStride'>, kk: number, w: string, wp: string): Stmt[] {
  const p = packedStrides(s, kk);
  const O = paddedOut(s.outPer);
  const at = (g: Expr, r: Expr, t: Expr, o: Expr) => add(add(add(mul(g, p.gStride), mul(r, p.rStride)), mul(t, p.tapStride)), o);
  return [
    parallel('g', 0, s.groups, (g) => [
      parallel('r', 0, s.redPer, (r) => [
        parallel('t', 0, kk, (t) => [
          parallel('o', 0, s.outPer, (o) => [store(wp, at(g, r, t, o), load(w, add(add(add(mul(g, s.gStride), mul(o, s.oStride)), mul(r, s.rStride)), t)))]),
          ...(O > s.outPer ? [parallel('o', s.outPer, O, (o) => [store(wp, at(g, r, t, o), f32(0))])] : []),
        ]),
      ]),
    ]),
  ];
}
