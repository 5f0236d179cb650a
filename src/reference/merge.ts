// add and concat: the layers that read several inputs, straight from the math.
//   add:    y = x_0 + x_1 + ... ;            dL/dx_k = dL/dy for every k
//   concat: y[n] = (x_0[n], x_1[n], ...) ;   dL/dx_k = the k-th block of dL/dy[n]
// Per sample, NCHW / NCL / NF data keep the channels outermost, so joining along dim 1 is
// laying each input's sample block after the previous one.

import type { MergeLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { Vec } from './types.ts';

/** y[i] = sum_k xs[k][i] */
export function addForward(p: MergeLayerPlan, xs: readonly Vec[]): Float64Array {
  const y = new Float64Array(numel(p.outShape));
  for (const x of xs) for (let i = 0; i < y.length; i++) y[i] += x[i];
  return y;
}

/** every input's gradient is dy */
export function addBackward(p: MergeLayerPlan, dy: Vec): Float64Array[] {
  return p.inShapes.map(() => Float64Array.from(dy));
}

/** the elements of one sample of input k */
const sampleSize = (p: MergeLayerPlan, k: number): number => numel(p.inShapes[k].slice(1));

/** y[n] = x_0[n] ++ x_1[n] ++ ... for every sample n */
export function concatForward(p: MergeLayerPlan, xs: readonly Vec[]): Float64Array {
  const N = p.outShape[0];
  const out = numel(p.outShape.slice(1));
  const y = new Float64Array(N * out);
  for (let n = 0; n < N; n++) {
    let at = n * out;
    xs.forEach((x, k) => {
      const m = sampleSize(p, k);
      for (let i = 0; i < m; i++) y[at + i] = x[n * m + i];
      at += m;
    });
  }
  return y;
}

/** dx_k[n] = the block of dy[n] that x_k[n] filled */
export function concatBackward(p: MergeLayerPlan, dy: Vec): Float64Array[] {
  const N = p.outShape[0];
  const out = numel(p.outShape.slice(1));
  let offset = 0;
  return p.inShapes.map((_, k) => {
    const m = sampleSize(p, k);
    const dx = new Float64Array(N * m);
    for (let n = 0; n < N; n++) for (let i = 0; i < m; i++) dx[n * m + i] = dy[n * out + offset + i];
    offset += m;
    return dx;
  });
}
