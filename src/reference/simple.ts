// linear, flatten, and nearest and bilinear upsampling (the activations: activation.ts).

import type { LinearLayerPlan, UpsampleLayerPlan } from '../plan/types.ts';
import type { BackwardResult, Vec } from './types.ts';

/** y[n,o] = b[o] + sum_i x[n,i] * w[o,i]  (weight [out, in]) */
export function linearForward(p: LinearLayerPlan, x: Vec, w: Vec, b: Vec | undefined): Float64Array {
  const { batch: N, inFeatures: I, outFeatures: O } = p;
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[n * I + i] * w[o * I + i];
      y[n * O + o] = s;
    }
  }
  return y;
}

export function linearBackward(p: LinearLayerPlan, x: Vec, dy: Vec, w: Vec, hasBias: boolean): BackwardResult {
  const { batch: N, inFeatures: I, outFeatures: O } = p;
  const dx = new Float64Array(N * I);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += dy[n * O + o] * w[o * I + i];
      dx[n * I + i] = s;
    }
  }
  const gradWeight = new Float64Array(O * I);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dy[n * O + o] * x[n * I + i];
      gradWeight[o * I + i] = s;
    }
  }
  if (!hasBias) return { dx, gradWeight };
  const gradBias = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += dy[n * O + o];
    gradBias[o] = s;
  }
  return { dx, gradWeight, gradBias };
}

/** flatten is a reshape of contiguous NCHW: the data is unchanged both ways */
export function copyOf(a: Vec): Float64Array {
  return Float64Array.from(a);
}

/**
 * nearest upsampling (PyTorch's mode="nearest" with an integer scale factor s): output
 * (oh, ow) copies input (floor(oh / s_h), floor(ow / s_w))
 */
export function nearestForward(p: UpsampleLayerPlan, x: Vec): Float64Array {
  const { batch: N, channels: C, inH, inW } = p;
  const outH = inH * p.scaleH;
  const outW = inW * p.scaleW;
  const y = new Float64Array(N * C * outH * outW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        y[(nc * outH + oh) * outW + ow] = x[(nc * inH + Math.floor(oh / p.scaleH)) * inW + Math.floor(ow / p.scaleW)];
      }
    }
  }
  return y;
}

/** each output gradient goes back to the one input it copied */
export function nearestBackward(p: UpsampleLayerPlan, dy: Vec): Float64Array {
  const { batch: N, channels: C, inH, inW } = p;
  const outH = inH * p.scaleH;
  const outW = inW * p.scaleW;
  const dx = new Float64Array(N * C * inH * inW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        dx[(nc * inH + Math.floor(oh / p.scaleH)) * inW + Math.floor(ow / p.scaleW)] += dy[(nc * outH + oh) * outW + ow];
      }
    }
  }
  return dx;
}

/**
 * PyTorch's source index for align_corners = false with an integer scale factor:
 * src = (dst + 0.5) / scale - 0.5, clamped at 0; the upper neighbour is clamped to the last row.
 */
function taps(dst: number, scale: number, inSize: number): { i0: number; i1: number; l0: number; l1: number } {
  const src = Math.max((dst + 0.5) / scale - 0.5, 0);
  const i0 = Math.floor(src);
  const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
  const l1 = src - i0;
  return { i0, i1, l0: 1 - l1, l1 };
}

export function upsampleForward(p: UpsampleLayerPlan, x: Vec): Float64Array {
  const { batch: N, channels: C, inH, inW } = p;
  const outH = inH * p.scaleH;
  const outW = inW * p.scaleW;
  const y = new Float64Array(N * C * outH * outW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      const h = taps(oh, p.scaleH, inH);
      for (let ow = 0; ow < outW; ow++) {
        const w = taps(ow, p.scaleW, inW);
        const at = (ih: number, iw: number): number => x[(nc * inH + ih) * inW + iw];
        y[(nc * outH + oh) * outW + ow] =
          h.l0 * (w.l0 * at(h.i0, w.i0) + w.l1 * at(h.i0, w.i1)) + h.l1 * (w.l0 * at(h.i1, w.i0) + w.l1 * at(h.i1, w.i1));
      }
    }
  }
  return y;
}

/** each output gradient goes back to its four taps with the same weights */
export function upsampleBackward(p: UpsampleLayerPlan, dy: Vec): Float64Array {
  const { batch: N, channels: C, inH, inW } = p;
  const outH = inH * p.scaleH;
  const outW = inW * p.scaleW;
  const dx = new Float64Array(N * C * inH * inW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      const h = taps(oh, p.scaleH, inH);
      for (let ow = 0; ow < outW; ow++) {
        const w = taps(ow, p.scaleW, inW);
        const d = dy[(nc * outH + oh) * outW + ow];
        dx[(nc * inH + h.i0) * inW + w.i0] += d * h.l0 * w.l0;
        dx[(nc * inH + h.i0) * inW + w.i1] += d * h.l0 * w.l1;
        dx[(nc * inH + h.i1) * inW + w.i0] += d * h.l1 * w.l0;
        dx[(nc * inH + h.i1) * inW + w.i1] += d * h.l1 * w.l1;
      }
    }
  }
  return dx;
}
