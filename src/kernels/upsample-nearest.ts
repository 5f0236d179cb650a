// upsample_nearest2d with integer scale factors (PyTorch's mode="nearest"): output (oh, ow)
// copies input (floor(oh / s_h), floor(ow / s_w)), so each input pixel owns one s_h x s_w
// block of the output.
// forward: one invocation per input pixel writes its block.
// backward: one invocation per input pixel sums its block of dy (a gather: each dx is
// written once), row by row, in the reference's order.

import type { UpsampleLayerPlan } from '../plan/types.ts';
import type { Expr, Stmt } from '../ir/types.ts';
import type { LayerProgram } from './types.ts';
import { accum, add, f32, i32, let_, load, loop, mul, parallel, store, v, var_ } from '../ir/build.ts';
import { shapeTag } from './names.ts';
import { resampleProgram } from './resample.ts';

/** blocks up to this many outputs are unrolled; larger ones stay loops */
const UNROLL_BLOCK = 16;

function par(name: string, n: number, body: (iv: Expr) => readonly Stmt[]): Stmt[] {
  return n === 1 ? [...body(i32(0))] : [parallel(name, 0, n, body)];
}

export function lowerUpsampleNearest(layer: UpsampleLayerPlan): LayerProgram {
  const { batch, channels, inH, inW, scaleH: sH, scaleW: sW } = layer;
  const outH = inH * sH;
  const outW = inW * sW;
  const NC = batch * channels;
  const nIn = NC * inH * inW;
  const nOut = NC * outH * outW;
  const name = `upsample_nearest${sH}x${sW}_${shapeTag(layer.inShape)}`;
  const doc = [`upsample_nearest2d [${layer.inShape.join(', ')}] -> [${layer.outShape.join(', ')}] scale=${sH}x${sW}`];
  const unroll = sH * sW <= UNROLL_BLOCK;
  /** every (rh, rw) of one block, row by row */
  const overBlock = (inner: (rh: Expr, rw: Expr) => Stmt[]): Stmt =>
    loop('rh', 0, sH, (rh) => [loop('rw', 0, sW, (rw) => inner(rh, rw), { unroll })], { unroll });
  const inIndex = (nc: Expr, ih: Expr, iw: Expr) => add(mul(nc, inH * inW), add(mul(ih, inW), iw));

  const fwdBody = par('nc', NC, (nc) =>
    par('ih', inH, (ih) =>
      par('iw', inW, (iw) => [
        let_('xv', load('x', inIndex(nc, ih, iw)), 'f32'),
        let_('ob', add(mul(nc, outH * outW), add(mul(ih, sH * outW), mul(iw, sW)))),
        overBlock((rh, rw) => [store('y', add(v('ob'), add(mul(rh, outW), rw)), v('xv'))]),
      ]),
    ),
  );
  const bwdBody = par('nc', NC, (nc) =>
    par('ih', inH, (ih) =>
      par('iw', inW, (iw) => [
        let_('ob', add(mul(nc, outH * outW), add(mul(ih, sH * outW), mul(iw, sW)))),
        var_('acc', f32(0)),
        overBlock((rh, rw) => [accum('acc', load('dy', add(v('ob'), add(mul(rh, outW), rw))))]),
        store('dx', inIndex(nc, ih, iw), v('acc')),
      ]),
    ),
  );

  return resampleProgram(layer.name, {
    name,
    nIn,
    nOut,
    forward: { doc: [...doc, 'forward: each input pixel writes its block'], body: fwdBody },
    backward: { doc: [...doc, 'backward: each input pixel sums the dy of its block, row by row (a gather: each dx written once)'], body: bwdBody },
  });
}
