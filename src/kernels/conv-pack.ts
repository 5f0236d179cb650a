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

import type { Stmt } from '../ir/types.ts';
import { add, load, mul, parallel, store } from '../ir/build.ts';
import type { GatherShape } from './conv-direct.ts';

/** a gather's strides into the packed copy of its weights: [g][r][kh][kw][o] */
export function packedStrides(s: Pick<GatherShape, 'outPer' | 'redPer'>, kk: number) {
  return { gStride: s.redPer * kk * s.outPer, oStride: 1, rStride: kk * s.outPer, tapStride: s.outPer, channelsInner: true } as const;
}

/** wp[g][r][t][o] = w at the gather's (layer-layout) strides, t = kh*kW + kw */
export function packWeightStmts(s: Pick<GatherShape, 'groups' | 'outPer' | 'redPer' | 'gStride' | 'oStride' | 'rStride'>, kk: number, w: string, wp: string): Stmt[] {
  const p = packedStrides(s, kk);
  return [
    parallel('g', 0, s.groups, (g) => [
      parallel('r', 0, s.redPer, (r) => [
        parallel('t', 0, kk, (t) => [
          parallel('o', 0, s.outPer, (o) =>
            [store(wp, add(add(add(mul(g, p.gStride), mul(r, p.rStride)), mul(t, p.tapStride)), o), load(w, add(add(add(mul(g, s.gStride), mul(o, s.oStride)), mul(r, s.rStride)), t)))],
          ),
        ]),
      ]),
    ]),
  ];
}
