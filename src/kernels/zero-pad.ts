// zero_pad1d / zero_pad2d (PyTorch ZeroPad1d / ZeroPad2d, padding >= 0): output (oh, ow)
// holds input (oh - top, ow - left) inside the frame and 0 outside. [C, L] is planned as
// H = 1 with no top or bottom, so one description serves both.
// forward: one invocation per output element, a copy or a zero.
// backward: one invocation per input element copies its dy (the crop: the frame's dy is dropped).

import type { ZeroPadLayerPlan } from '../plan/types.ts';
import type { Expr, Stmt } from '../ir/types.ts';
import type { LayerProgram } from './types.ts';
import { add, and, f32, ge, i32, if_, load, lt, mul, parallel, store, sub } from '../ir/build.ts';
import { shapeTag } from './names.ts';
import { resampleProgram } from './resample.ts';

function par(name: string, n: number, body: (iv: Expr) => readonly Stmt[]): Stmt[] {
  return n === 1 ? [...body(i32(0))] : [parallel(name, 0, n, body)];
}

export function lowerZeroPad(layer: ZeroPadLayerPlan): LayerProgram {
  const { batch, channels, inH, inW, pad } = layer;
  const outH = inH + pad.top + pad.bottom;
  const outW = inW + pad.left + pad.right;
  const NC = batch * channels;
  const nIn = NC * inH * inW;
  const nOut = NC * outH * outW;
  const oneD = layer.type === 'zero_pad1d';
  const sides = oneD ? `l${pad.left}r${pad.right}` : `l${pad.left}r${pad.right}t${pad.top}b${pad.bottom}`;
  const name = `zero_pad${oneD ? '1d' : '2d'}_${sides}_${shapeTag(layer.inShape)}`;
  const doc = [`${layer.type} [${layer.inShape.join(', ')}] -> [${layer.outShape.join(', ')}] left=${pad.left} right=${pad.right}${oneD ? '' : ` top=${pad.top} bottom=${pad.bottom}`}`];
  const inIndex = (nc: Expr, ih: Expr, iw: Expr) => add(mul(nc, inH * inW), add(mul(ih, inW), iw));
  const outIndex = (nc: Expr, oh: Expr, ow: Expr) => add(mul(nc, outH * outW), add(mul(oh, outW), ow));

  const fwdBody = par('nc', NC, (nc) =>
    par('oh', outH, (oh) =>
      par('ow', outW, (ow) => {
        // only the sides that have zeros test their bound
        const inside: Expr[] = [];
        if (pad.top) inside.push(ge(oh, pad.top));
        if (pad.bottom) inside.push(lt(oh, pad.top + inH));
        if (pad.left) inside.push(ge(ow, pad.left));
        if (pad.right) inside.push(lt(ow, pad.left + inW));
        const copy = store('y', outIndex(nc, oh, ow), load('x', inIndex(nc, sub(oh, pad.top), sub(ow, pad.left))));
        return inside.length === 0 ? [copy] : [if_(and(...inside), [copy], [store('y', outIndex(nc, oh, ow), f32(0))])];
      }),
    ),
  );
  const bwdBody = par('nc', NC, (nc) =>
    par('ih', inH, (ih) =>
      par('iw', inW, (iw) => [store('dx', inIndex(nc, ih, iw), load('dy', outIndex(nc, add(ih, pad.top), add(iw, pad.left))))]),
    ),
  );

  return resampleProgram(layer.name, {
    name,
    nIn,
    nOut,
    forward: { doc: [...doc, 'forward: each output element copies its input element, or 0 in the frame'], body: fwdBody },
    backward: { doc: [...doc, 'backward: each input element takes its dy (the frame\'s dy is cropped)'], body: bwdBody },
  });
}
