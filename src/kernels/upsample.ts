// upsample_bilinear2d, align_corners = false, integer scale factors (PyTorch's formula):
// output row o reads source row src = max((o + 0.5) / s - 0.5, 0) with weights
// (1 - frac, frac) on rows floor(src) and min(floor(src) + 1, in - 1).
//
// With an integer scale every output row o = i*s + r (phase r) has the same fractional
// offset f_r = (r + 0.5) / s - 0.5, so the weights are literals per phase:
//   f_r < 0: rows (max(i - 1, 0), i) with weights (-f_r, 1 + f_r)
//   f_r > 0: rows (i, min(i + 1, in - 1)) with weights (1 - f_r, f_r)
//   f_r = 0: row i alone (odd scales, middle phase)
// forward: one invocation per input pixel writes its s_h x s_w output block.
// backward is the exact adjoint as a gather: input row i receives, per phase, from its own
// block (the whole weight when a clamp folds both taps onto it), from block i + 1 (phases
// with f_r < 0) and from block i - 1 (phases with f_r > 0).

import type { UpsampleLayerPlan } from '../plan/types.ts';
import type { Expr, Stmt } from '../ir/types.ts';
import type { LayerProgram } from './types.ts';
import { accum, add, and, buf, eq, f32, ge, i32, if_, kernel, load, lt, max, min, mul, parallel, select, store, sum, v, var_ } from '../ir/build.ts';
import { shapeTag } from './relu.ts';

const phaseFrac = (r: number, s: number): number => (r + 0.5) / s - 0.5;

function par(name: string, n: number, body: (iv: Expr) => readonly Stmt[]): Stmt[] {
  return n === 1 ? [...body(i32(0))] : [parallel(name, 0, n, body)];
}

/** the source taps of output phase r of input block i: [row, weight] */
function forwardTaps(i: Expr, r: number, s: number, n: number): [Expr, Expr][] {
  const f = phaseFrac(r, s);
  if (f < 0) return [[max(add(i, -1), 0), f32(-f)], [i, f32(1 + f)]];
  if (f > 0) return [[i, f32(1 - f)], [min(add(i, 1), n - 1), f32(f)]];
  return [[i, f32(1)]];
}

/** what input coordinate i receives along one dim: [block offset, phase, weight, condition] */
function adjointTaps(i: Expr, s: number, n: number): [number, number, Expr, Expr][] {
  const out: [number, number, Expr, Expr][] = [];
  for (let r = 0; r < s; r++) {
    const f = phaseFrac(r, s);
    if (f < 0) {
      // own block: weight 1 + f, and at i = 0 the clamped lower tap lands here too
      out.push([0, r, select(eq(i, 0), f32(1), f32(1 + f)), i32(1)]);
      out.push([1, r, f32(-f), lt(add(i, 1), n)]);
    } else if (f > 0) {
      out.push([0, r, select(eq(i, n - 1), f32(1), f32(1 - f)), i32(1)]);
      out.push([-1, r, f32(f), ge(i, 1)]);
    } else {
      out.push([0, r, f32(1), i32(1)]);
    }
  }
  // by block then phase, so each input sums its outputs in ascending order
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

export function lowerUpsample(layer: UpsampleLayerPlan): LayerProgram {
  const { batch, channels, inH, inW, scaleH: sH, scaleW: sW } = layer;
  const outH = inH * sH;
  const outW = inW * sW;
  const NC = batch * channels;
  const nIn = NC * inH * inW;
  const nOut = NC * outH * outW;
  const name = `upsample_bilinear${sH}x${sW}_${shapeTag(layer.inShape)}`;
  const doc = [`upsample_bilinear2d [${layer.inShape.join(', ')}] -> [${layer.outShape.join(', ')}] scale=${sH}x${sW} align_corners=false`];

  const fwdBody = par('nc', NC, (nc) =>
    par('ih', inH, (ih) =>
      par('iw', inW, (iw) => {
        const stmts: Stmt[] = [];
        for (let rh = 0; rh < sH; rh++) {
          for (let rw = 0; rw < sW; rw++) {
            const hs = forwardTaps(ih, rh, sH, inH);
            const ws = forwardTaps(iw, rw, sW, inW);
            const at = (row: Expr, col: Expr) => load('x', add(mul(nc, inH * inW), add(mul(row, inW), col)));
            // h0 * (w0 * x00 + w1 * x01) + h1 * (w0 * x10 + w1 * x11), the reference's order
            const value = sum(hs.map(([row, wh]) => mul(wh, sum(ws.map(([col, ww]) => mul(ww, at(row, col)))))));
            const o = add(mul(nc, outH * outW), add(mul(add(mul(ih, sH), rh), outW), add(mul(iw, sW), rw)));
            stmts.push(store('y', o, value));
          }
        }
        return stmts;
      }),
    ),
  );

  const bwdBody = par('nc', NC, (nc) =>
    par('ih', inH, (ih) =>
      par('iw', inW, (iw) => {
        const stmts: Stmt[] = [var_('acc', f32(0))];
        for (const [dh, rh, wh, ch] of adjointTaps(ih, sH, inH)) {
          const inner: Stmt[] = [];
          for (const [dw, rw, ww, cw] of adjointTaps(iw, sW, inW)) {
            const o = add(mul(nc, outH * outW), add(mul(add(mul(add(ih, dh), sH), rh), outW), add(mul(add(iw, dw), sW), rw)));
            inner.push(if_(cw, [accum('acc', mul(mul(wh, ww), load('dy', o)))]));
          }
          stmts.push(if_(and(ch), inner));
        }
        stmts.push(store('dx', add(mul(nc, inH * inW), add(mul(ih, inW), iw)), v('acc')));
        return stmts;
      }),
    ),
  );

  const fwd = kernel({ name: `${name}_fwd`, doc, buffers: [buf('x', nIn, 'read'), buf('y', nOut, 'write')], body: fwdBody });
  const bwd = kernel({
    name: `${name}_dx`,
    doc: [...doc, 'backward: the exact adjoint of forward, as a gather (each dx written once)'],
    buffers: [buf('dy', nOut, 'read'), buf('dx', nIn, 'write')],
    body: bwdBody,
  });
  return {
    layer: layer.name,
    scratch: [],
    forward: [{ kernel: fwd, args: { x: 'x', y: 'y' } }],
    backward: [{ kernel: bwd, args: { dy: 'dy', dx: 'dx' } }],
    alias: false,
  };
}
