// zero padding (PyTorch ZeroPad1d / ZeroPad2d), written from the definition: the output is
// zeros with the input placed at (top, left); backward takes back the gradient of the
// positions the input was placed at.

import type { ZeroPadLayerPlan } from '../plan/types.ts';
import type { Vec } from './types.ts';

function frame(p: ZeroPadLayerPlan): { NC: number; inH: number; inW: number; outH: number; outW: number } {
  const { top, bottom, left, right } = p.pad;
  return { NC: p.batch * p.channels, inH: p.inH, inW: p.inW, outH: p.inH + top + bottom, outW: p.inW + left + right };
}

export function zeroPadForward(p: ZeroPadLayerPlan, x: Vec): Float64Array {
  const { NC, inH, inW, outH, outW } = frame(p);
  const y = new Float64Array(NC * outH * outW);
  for (let nc = 0; nc < NC; nc++) {
    for (let ih = 0; ih < inH; ih++) {
      for (let iw = 0; iw < inW; iw++) y[(nc * outH + ih + p.pad.top) * outW + iw + p.pad.left] = x[(nc * inH + ih) * inW + iw];
    }
  }
  return y;
}

export function zeroPadBackward(p: ZeroPadLayerPlan, dy: Vec): Float64Array {
  const { NC, inH, inW, outH, outW } = frame(p);
  const dx = new Float64Array(NC * inH * inW);
  for (let nc = 0; nc < NC; nc++) {
    for (let ih = 0; ih < inH; ih++) {
      for (let iw = 0; iw < inW; iw++) dx[(nc * inH + ih) * inW + iw] = dy[(nc * outH + ih + p.pad.top) * outW + iw + p.pad.left];
    }
  }
  return dx;
}
