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
import { accum, add, and, eq, f32, ge, i32, if_, let_, load, lt, max, min, mul, parallel, select, store, sum, v, var_ } from '../ir/build.ts';
import { shapeTag } from './names.ts';
import { resampleProgram } from './resample.ts';

const phaseFrac = (r: number, s: number): number => (r + 0.5) / s - 0.5;

function par(name: string, n: number, body: (iv: Expr) => readonly Stmt[]): Stmt[] {
  return n === 1 ? [...body(i32(0))] : [parallel(name, 0, n, body)];
}

/** the source taps of output phase r: [which neighbour (-1, 0, +1, clamped), weight] */
function forwardTaps(r: number, s: number): [-1 | 0 | 1, number][] {
  const f = phaseFrac(r, s);
  if (f < 0) return [[-1, -f], [0, 1 + f]];
  if (f > 0) return [[0, 1 - f], [1, f]];
  return [[0, 1]];
}

/** the clamped neighbour rows (or columns) i - 1, i, i + 1 of input coordinate i */
function neighbours(i: Expr, n: number, scale: number): Record<-1 | 0 | 1, Expr> {
  return { [-1]: mul(max(add(i, -1), 0), scale), 0: mul(i, scale), 1: mul(min(add(i, 1), n - 1), scale) } as Record<-1 | 0 | 1, Expr>;
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
        // the clamped neighbour rows / columns, named once (simplify drops the unused ones)
        const rows = neighbours(ih, inH, inW);
        const cols = neighbours(iw, inW, 1);
        const tag = { [-1]: 'm', 0: 'z', 1: 'p' } as Record<-1 | 0 | 1, string>;
        const stmts: Stmt[] = [let_('xb', mul(nc, inH * inW)), let_('ob', add(mul(nc, outH * outW), add(mul(ih, sH * outW), mul(iw, sW))))];
        for (const d of [-1, 0, 1] as const) stmts.push(let_(`row_${tag[d]}`, add(v('xb'), rows[d])), let_(`col_${tag[d]}`, cols[d]));
        for (let rh = 0; rh < sH; rh++) {
          for (let rw = 0; rw < sW; rw++) {
            const at = (dr: -1 | 0 | 1, dc: -1 | 0 | 1) => load('x', add(v(`row_${tag[dr]}`), v(`col_${tag[dc]}`)));
            // h0 * (w0 * x00 + w1 * x01) + h1 * (w0 * x10 + w1 * x11), the reference's order
            const value = sum(forwardTaps(rh, sH).map(([dr, wh]) => mul(f32(wh), sum(forwardTaps(rw, sW).map(([dc, ww]) => mul(f32(ww), at(dr, dc)))))));
            stmts.push(store('y', add(v('ob'), rh * outW + rw), value));
          }
        }
        return stmts;
      }),
    ),
  );

  const bwdBody = par('nc', NC, (nc) =>
    par('ih', inH, (ih) =>
      par('iw', inW, (iw) => {
        // outputs of this pixel's own block start at ob; the others are constant offsets from it
        const stmts: Stmt[] = [let_('ob', add(mul(nc, outH * outW), add(mul(ih, sH * outW), mul(iw, sW)))), var_('acc', f32(0))];
        for (const [dh, rh, wh, ch] of adjointTaps(ih, sH, inH)) {
          const inner: Stmt[] = [];
          for (const [dw, rw, ww, cw] of adjointTaps(iw, sW, inW)) {
            const o = add(v('ob'), (dh * sH + rh) * outW + dw * sW + rw);
            inner.push(if_(cw, [accum('acc', mul(mul(wh, ww), load('dy', o)))]));
          }
          stmts.push(if_(and(ch), inner));
        }
        stmts.push(store('dx', add(mul(nc, inH * inW), add(mul(ih, inW), iw)), v('acc')));
        return stmts;
      }),
    ),
  );

  return resampleProgram(layer.name, {
    name,
    nIn,
    nOut,
    forward: { doc: doc, body: fwdBody },
    backward: { doc: [...doc, 'backward: the exact adjoint of forward, as a gather (each dx written once)'], body: bwdBody },
  });
}
