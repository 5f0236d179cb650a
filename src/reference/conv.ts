// conv1d / conv2d / conv_transpose2d in float64, plain loops straight from the seed:
//   forward:  crop-times-kernel sums (PyTorch's cross-correlation)
//   dW:       dY correlated with the padded (stride-dilated) input
//   dX:       transposed convolution of dY with the flipped kernel (gathered per input pixel)
// 1D convs arrive as 2D with H = 1 and kH = 1 (the plan normalizes them).
//
// Index helpers are written out inline on purpose: the oracle should read like the math.

import type { ConvGeometry, ConvTransposeGeometry } from '../plan/types.ts';
import type { BackwardResult, Vec } from './types.ts';

/** y[n,co,oh,ow] = b[co] + sum_{ci,kh,kw} x[n, g*Cin/g+ci, oh*s-pad+kh*d, ...] * w[co,ci,kh,kw] */
export function convForward(g: ConvGeometry, x: Vec, w: Vec, b: Vec | undefined): Float64Array {
  const { batch: N, inC, inH, inW, outC, outH, outW, kH, kW } = g;
  const cinG = inC / g.groups;
  const coutG = outC / g.groups;
  const y = new Float64Array(N * outC * outH * outW);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < outC; co++) {
      const grp = Math.floor(co / coutG);
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let s = b ? b[co] : 0;
          for (let ci = 0; ci < cinG; ci++) {
            const c = grp * cinG + ci;
            for (let kh = 0; kh < kH; kh++) {
              const ih = oh * g.strideH - g.pad.top + kh * g.dilationH;
              if (ih < 0 || ih >= inH) continue; // zero padding
              for (let kw = 0; kw < kW; kw++) {
                const iw = ow * g.strideW - g.pad.left + kw * g.dilationW;
                if (iw < 0 || iw >= inW) continue;
                s += x[((n * inC + c) * inH + ih) * inW + iw] * w[((co * cinG + ci) * kH + kh) * kW + kw];
              }
            }
          }
          y[((n * outC + co) * outH + oh) * outW + ow] = s;
        }
      }
    }
  }
  return y;
}

/** the conv's backward: dX, dW and (when the layer has a bias) db */
export function convBackward(g: ConvGeometry, x: Vec, dy: Vec, w: Vec, hasBias: boolean): BackwardResult {
  const { batch: N, inC, inH, inW, outC, outH, outW, kH, kW } = g;
  const { strideH: sH, strideW: sW, dilationH: dH, dilationW: dW } = g;
  const cinG = inC / g.groups;
  const coutG = outC / g.groups;

  // dX: each input pixel gathers the output gradients it fed, through the flipped kernel;
  // with stride s only outputs whose window start lands on a multiple of s exist
  const dx = new Float64Array(N * inC * inH * inW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < inC; c++) {
      const grp = Math.floor(c / cinG);
      const ci = c - grp * cinG;
      for (let ih = 0; ih < inH; ih++) {
        for (let iw = 0; iw < inW; iw++) {
          let s = 0;
          for (let col = 0; col < coutG; col++) {
            const co = grp * coutG + col;
            for (let kh = 0; kh < kH; kh++) {
              const th = ih + g.pad.top - kh * dH;
              if (th < 0 || th % sH !== 0) continue;
              const oh = th / sH;
              if (oh >= outH) continue;
              for (let kw = 0; kw < kW; kw++) {
                const tw = iw + g.pad.left - kw * dW;
                if (tw < 0 || tw % sW !== 0) continue;
                const ow = tw / sW;
                if (ow >= outW) continue;
                s += dy[((n * outC + co) * outH + oh) * outW + ow] * w[((co * cinG + ci) * kH + kh) * kW + kw];
              }
            }
          }
          dx[((n * inC + c) * inH + ih) * inW + iw] = s;
        }
      }
    }
  }

  // dW: dY correlated with the padded input, summed over the batch
  const gradWeight = new Float64Array(outC * cinG * kH * kW);
  for (let co = 0; co < outC; co++) {
    const grp = Math.floor(co / coutG);
    for (let ci = 0; ci < cinG; ci++) {
      const c = grp * cinG + ci;
      for (let kh = 0; kh < kH; kh++) {
        for (let kw = 0; kw < kW; kw++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            for (let oh = 0; oh < outH; oh++) {
              const ih = oh * sH - g.pad.top + kh * dH;
              if (ih < 0 || ih >= inH) continue;
              for (let ow = 0; ow < outW; ow++) {
                const iw = ow * sW - g.pad.left + kw * dW;
                if (iw < 0 || iw >= inW) continue;
                s += dy[((n * outC + co) * outH + oh) * outW + ow] * x[((n * inC + c) * inH + ih) * inW + iw];
              }
            }
          }
          gradWeight[((co * cinG + ci) * kH + kh) * kW + kw] = s;
        }
      }
    }
  }

  return hasBias ? { dx, gradWeight, gradBias: sumPerChannel(dy, N, outC, outH * outW) } : { dx, gradWeight };
}

/**
 * conv_transpose2d (PyTorch): every input pixel scatters x * w[ci, co, :, :] into the
 * output at ih*s - pad + kh*d; output_padding only enlarges the output (it is in outH/outW).
 * Weight layout [Cin, Cout/g, kH, kW].
 */
export function convTransposeForward(g: ConvTransposeGeometry, x: Vec, w: Vec, b: Vec | undefined): Float64Array {
  const { batch: N, inC, inH, inW, outC, outH, outW, kH, kW } = g;
  const cinG = inC / g.groups;
  const coutG = outC / g.groups;
  const y = new Float64Array(N * outC * outH * outW);
  if (b) {
    for (let n = 0; n < N; n++) {
      for (let co = 0; co < outC; co++) y.fill(b[co], (n * outC + co) * outH * outW, (n * outC + co + 1) * outH * outW);
    }
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < inC; c++) {
      const grp = Math.floor(c / cinG);
      for (let ih = 0; ih < inH; ih++) {
        for (let iw = 0; iw < inW; iw++) {
          const xv = x[((n * inC + c) * inH + ih) * inW + iw];
          for (let col = 0; col < coutG; col++) {
            const co = grp * coutG + col;
            for (let kh = 0; kh < kH; kh++) {
              const oh = ih * g.strideH - g.pad.top + kh * g.dilationH;
              if (oh < 0 || oh >= outH) continue; // cropped by padding
              for (let kw = 0; kw < kW; kw++) {
                const ow = iw * g.strideW - g.pad.left + kw * g.dilationW;
                if (ow < 0 || ow >= outW) continue;
                y[((n * outC + co) * outH + oh) * outW + ow] += xv * w[((c * coutG + col) * kH + kh) * kW + kw];
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** conv_transpose2d's backward: dX is a plain strided conv of dY; dW pairs x with the dY it reached */
export function convTransposeBackward(g: ConvTransposeGeometry, x: Vec, dy: Vec, w: Vec, hasBias: boolean): BackwardResult {
  const { batch: N, inC, inH, inW, outC, outH, outW, kH, kW } = g;
  const cinG = inC / g.groups;
  const coutG = outC / g.groups;
  const dx = new Float64Array(N * inC * inH * inW);
  const gradWeight = new Float64Array(inC * coutG * kH * kW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < inC; c++) {
      const grp = Math.floor(c / cinG);
      for (let ih = 0; ih < inH; ih++) {
        for (let iw = 0; iw < inW; iw++) {
          const xi = ((n * inC + c) * inH + ih) * inW + iw;
          let s = 0;
          for (let col = 0; col < coutG; col++) {
            const co = grp * coutG + col;
            for (let kh = 0; kh < kH; kh++) {
              const oh = ih * g.strideH - g.pad.top + kh * g.dilationH;
              if (oh < 0 || oh >= outH) continue;
              for (let kw = 0; kw < kW; kw++) {
                const ow = iw * g.strideW - g.pad.left + kw * g.dilationW;
                if (ow < 0 || ow >= outW) continue;
                const d = dy[((n * outC + co) * outH + oh) * outW + ow];
                const wi = ((c * coutG + col) * kH + kh) * kW + kw;
                s += d * w[wi];
                gradWeight[wi] += d * x[xi];
              }
            }
          }
          dx[xi] = s;
        }
      }
    }
  }
  return hasBias ? { dx, gradWeight, gradBias: sumPerChannel(dy, N, outC, outH * outW) } : { dx, gradWeight };
}

/** bias gradient: dY summed over batch and space, per channel */
function sumPerChannel(dy: Vec, N: number, C: number, plane: number): Float64Array {
  const db = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < plane; i++) s += dy[(n * C + c) * plane + i];
      db[c] += s;
    }
  }
  return db;
}
