// max / average pools, local and global (a global pool is planned as one window the size
// of the input). Padded cells are -inf for max and 0 for average, as in PyTorch.

import type { PoolGeometry } from '../plan/types.ts';
import type { Vec } from './types.ts';

/** max pool; each output remembers the flat input index of the FIRST maximum in row-major window order (PyTorch) */
export function maxPoolForward(g: PoolGeometry, x: Vec): { y: Float64Array; argmax: Int32Array } {
  const { batch: N, channels: C, inH, inW, outH, outW } = g;
  const y = new Float64Array(N * C * outH * outW);
  const argmax = new Int32Array(y.length);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < g.kH; kh++) {
          const ih = oh * g.strideH - g.padH + kh;
          if (ih < 0 || ih >= inH) continue;
          for (let kw = 0; kw < g.kW; kw++) {
            const iw = ow * g.strideW - g.padW + kw;
            if (iw < 0 || iw >= inW) continue;
            const i = (nc * inH + ih) * inW + iw;
            // strictly greater: a later equal value never takes over (ties go to the first);
            // a NaN wins and propagates, as in PyTorch's CPU kernel
            if (at < 0 || x[i] > best || Number.isNaN(x[i])) {
              best = x[i];
              at = i;
            }
          }
        }
        const o = (nc * outH + oh) * outW + ow;
        y[o] = best;
        argmax[o] = at;
      }
    }
  }
  return { y, argmax };
}

/** routes each output gradient to its window's (first) maximum */
export function maxPoolBackward(g: PoolGeometry, dy: Vec, argmax: Int32Array): Float64Array {
  const dx = new Float64Array(g.batch * g.channels * g.inH * g.inW);
  for (let o = 0; o < argmax.length; o++) dx[argmax[o]] += dy[o];
  return dx;
}

/**
 * the divisor of one average window: with count_include_pad the whole window (it never
 * reaches past the padding when the output size is floored); without, only real input cells
 */
function avgDivisor(g: PoolGeometry, oh: number, ow: number, countIncludePad: boolean): number {
  const h0 = oh * g.strideH - g.padH;
  const w0 = ow * g.strideW - g.padW;
  if (countIncludePad) {
    const h1 = Math.min(h0 + g.kH, g.inH + g.padH);
    const w1 = Math.min(w0 + g.kW, g.inW + g.padW);
    return (h1 - h0) * (w1 - w0);
  }
  const rows = Math.min(h0 + g.kH, g.inH) - Math.max(h0, 0);
  const cols = Math.min(w0 + g.kW, g.inW) - Math.max(w0, 0);
  return rows * cols;
}

export function avgPoolForward(g: PoolGeometry, x: Vec, countIncludePad: boolean): Float64Array {
  const { batch: N, channels: C, inH, inW, outH, outW } = g;
  const y = new Float64Array(N * C * outH * outW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let s = 0;
        for (let kh = 0; kh < g.kH; kh++) {
          const ih = oh * g.strideH - g.padH + kh;
          if (ih < 0 || ih >= inH) continue;
          for (let kw = 0; kw < g.kW; kw++) {
            const iw = ow * g.strideW - g.padW + kw;
            if (iw < 0 || iw >= inW) continue;
            s += x[(nc * inH + ih) * inW + iw];
          }
        }
        y[(nc * outH + oh) * outW + ow] = s / avgDivisor(g, oh, ow, countIncludePad);
      }
    }
  }
  return y;
}

/** spreads each output gradient evenly over the real input cells of its window */
export function avgPoolBackward(g: PoolGeometry, dy: Vec, countIncludePad: boolean): Float64Array {
  const { batch: N, channels: C, inH, inW, outH, outW } = g;
  const dx = new Float64Array(N * C * inH * inW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const share = dy[(nc * outH + oh) * outW + ow] / avgDivisor(g, oh, ow, countIncludePad);
        for (let kh = 0; kh < g.kH; kh++) {
          const ih = oh * g.strideH - g.padH + kh;
          if (ih < 0 || ih >= inH) continue;
          for (let kw = 0; kw < g.kW; kw++) {
            const iw = ow * g.strideW - g.padW + kw;
            if (iw < 0 || iw >= inW) continue;
            dx[(nc * inH + ih) * inW + iw] += share;
          }
        }
      }
    }
  }
  return dx;
}
