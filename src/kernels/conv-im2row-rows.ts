// The im2row copy written one row of cols at a time (the wasm schedule's grad-weight copy,
// `colsByRow`). conv-im2row.ts's copy runs one pass per (input channel, tap) down a column
// of cols: each store lands K floats after the previous one, a cache line per store, and
// the buffer (config B: 4.7 MB) does not stay in cache between the passes that fill one
// line. Here each output pixel's row is written left to right (the channel's taps are
// contiguous, the channels kk apart), and the reads walk input rows that stay in cache. A
// tap that reads padding at this pixel stores 0: its row and column ranges are constants
// (conv-axes.ts), checked only where the tap can leave the input.

import type { Stmt } from '../ir/types.ts';
import type { ConvGeometry } from '../plan/types.ts';
import { add, and, f32, ge, let_, load, loop, lt, mul, parallel, select, store, v } from '../ir/build.ts';
import { convForwardAxes } from '../plan/conv-axes.ts';

/** cols[g, n, p, r*kk + kh*kW + kw] = inp[...] (0 in the padding), rows `rowStride` floats apart */
export function im2rowByRowStmts(c: ConvGeometry, inp: string, cols: string, rowStride: number): Stmt[] {
  const cig = c.inC / c.groups;
  const kk = c.kH * c.kW;
  const P = c.outH * c.outW;
  const { h, w } = convForwardAxes(c);
  return [
    parallel('g', 0, c.groups, (g) => [
      parallel('n', 0, c.batch, (n) => [
        parallel('oh', 0, c.outH, (oh) => [
          // cols[g, n, oh*outW, 0]
          let_('drow', mul(add(mul(add(mul(g, c.batch), n), P), mul(oh, c.outW)), rowStride)),
          loop('ow', 0, c.outW, (ow) => [
            let_('d', add(v('drow'), mul(ow, rowStride))),
            loop('r', 0, cig, (r) => {
              // inp[n, g*Cig + r, 0, 0]
              const body: Stmt[] = [let_('src', mul(add(mul(n, c.inC), add(mul(g, cig), r)), c.inH * c.inW))];
              for (let kh = 0; kh < c.kH; kh++) {
                const th = h.taps.find((t) => t.k === kh);
                for (let kw = 0; kw < c.kW; kw++) {
                  const tw = w.taps.find((t) => t.k === kw);
                  const at = add(add(v('d'), mul(r, kk)), kh * c.kW + kw);
                  if (!th || !tw) {
                    body.push(store(cols, at, f32(0)));
                    continue;
                  }
                  const inside = and(...(th.lo > 0 ? [ge(oh, th.lo)] : []), ...(th.hi < h.T ? [lt(oh, th.hi)] : []), ...(tw.lo > 0 ? [ge(ow, tw.lo)] : []), ...(tw.hi < w.T ? [lt(ow, tw.hi)] : []));
                  const value = load(inp, add(add(v('src'), mul(add(mul(oh, c.strideH), th.off), c.inW)), add(mul(ow, c.strideW), tw.off)));
                  body.push(store(cols, at, inside.k === 'const' ? value : select(inside, value, f32(0))));
                }
              }
              return body;
            }),
          ]),
        ]),
      ]),
    ]),
  ];
}
