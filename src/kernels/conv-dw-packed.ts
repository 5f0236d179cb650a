// The packed grad-weight (the wasm schedule's `dyPacked` reduce): the mirror of the packed
// gather (conv-pack.ts). dW[co, ci, kh, kw] = sum over the batch and the output pixels of
// dy[n, co, p] * x[n, ci, tap(p)], computed output-stationary: a register block of output
// channels x taps holds its sums for the whole reduction, with f32x4 over output channels.
//
//   1. dy is copied once per call into dyp[g][co block][n][p][o] (o innermost, the block's
//      channels padded to 4 with zeros), so 4 output channels of one pixel are one v128.load;
//   2. x is copied into xp[n][ci][Hp][Wp], zero-padded so that every tap of every output
//      pixel reads inside it: the reduction has no checks and no border code (the padding's
//      products are zeros, about 2(kW-1)/outW of the work). Skipped where no tap leaves x;
//   3. per block of bo output channels x (rw input channels x kwb taps of one kernel row),
//      one loop over the batch, the output rows and columns: per pixel, splat each tap's
//      input value and load the block's dy vectors once (XNNPACK's loadsplat, as the
//      gather), bo/4 x taps multiply-adds. No im2row buffer, and one fixed order per sum,
//      so the same bits for any thread count; the outer loop runs over (group, channel
//      block, kernel row, run of input channels), independent blocks that the threads split
//      pass cuts. Measured and left out: a loop over rows with the pixels of a row inside
//      (the accumulators packed and unpacked per row: 27% of a 16-column row's work at
//      stride 2), and 2 pixels per loop step (C 6.5 -> 7.1-7.5 ms, D 2.1 -> 2.5 ms).

import type { Expr, Stmt } from '../ir/types.ts';
import type { ConvGeometry } from '../plan/types.ts';
import { accum, add, f32, i32, idiv, let_, load, loop, mod, mul, parallel, store, v, var_, type E } from '../ir/build.ts';
import { PACK_LANES } from './conv-pack.ts';

const pad4 = (n: number) => Math.ceil(n / PACK_LANES) * PACK_LANES;

/** the layout of the two copies and the block, from the geometry and the schedule's block [co, ci, taps] */
export function dwPackedLayout(c: ConvGeometry, block: readonly number[]) {
  const cig = c.inC / c.groups;
  const cog = c.outC / c.groups;
  const P = c.outH * c.outW;
  const NP = c.batch * P;
  const bo = Math.min(block[0]!, pad4(cog));
  const fullO = Math.floor(cog / bo);
  const remO = cog - fullO * bo;
  // dyp per group: the full blocks, then the remainder block padded to 4
  const perGroup = NP * (fullO * bo + pad4(remO));
  // rows and columns every tap of every output pixel reads, from the padded origin
  const Hp = (c.outH - 1) * c.strideH + (c.kH - 1) * c.dilationH + 1;
  const Wp = (c.outW - 1) * c.strideW + (c.kW - 1) * c.dilationW + 1;
  // no tap leaves x: read it in place (its own row length and rows)
  const inPlace = c.pad.top === 0 && c.pad.left === 0 && Hp <= c.inH && Wp <= c.inW;
  return {
    cig,
    cog,
    P,
    NP,
    bo,
    fullO,
    remO,
    perGroup,
    dypLength: c.groups * perGroup,
    inPlace,
    /** x's (or its padded copy's) rows and columns */
    Hx: inPlace ? c.inH : Hp,
    Wx: inPlace ? c.inW : Wp,
    xpLength: inPlace ? 0 : c.batch * c.inC * Hp * Wp,
    rw: Math.max(1, Math.min(block[1]!, cig)),
    kwb: Math.max(1, Math.min(block[2]!, c.kW)),
  };
}

/**
 * dyp[g][block][n][p][o] = dy[n, g*Cog + o0 + o, p], 0 for a block's padding channels; and
 * pix[n*P + p] = the offset of output pixel p's window origin in x (or xp) of sample n,
 * channel 0: the reduction runs over every pixel of the batch in one loop
 */
export function packDyStmts(c: ConvGeometry, block: readonly number[], dy: string, dyp: string, pix: string): Stmt[] {
  const L = dwPackedLayout(c, block);
  const one = (g: Expr, o0: E, bo: number, base: Expr): Stmt[] => {
    const bp = pad4(bo);
    return [
      parallel('n', 0, c.batch, (n) => [
        // dy[n, g*Cog + o0, 0] and dyp's (n, 0) row of the block
        let_('src', mul(add(add(mul(n, c.outC), mul(g, L.cog)), o0), L.P)),
        let_('dst', add(base, mul(mul(n, L.P), bp))),
        loop('p', 0, L.P, (p) => [
          ...Array.from({ length: bo }, (_, o) => store(dyp, add(add(v('dst'), mul(p, bp)), o), load(dy, add(add(v('src'), p), o * L.P)))),
          ...Array.from({ length: bp - bo }, (_, i) => store(dyp, add(add(v('dst'), mul(p, bp)), bo + i), f32(0))),
        ]),
      ]),
    ];
  };
  return [
    parallel('n', 0, c.batch, (n) => [
      parallel('oh', 0, c.outH, (oh) => [
        loop('ow', 0, c.outW, (ow) => [store(pix, add(mul(add(mul(n, c.outH), oh), c.outW), ow), add(add(mul(n, c.inC * L.Hx * L.Wx), mul(oh, c.strideH * L.Wx)), mul(ow, c.strideW)))]),
      ]),
    ]),
    parallel('g', 0, c.groups, (g) => [
      ...(L.fullO > 0 ? [parallel('ob', 0, L.fullO, (ob) => one(g, mul(ob, L.bo), L.bo, add(mul(g, L.perGroup), mul(ob, L.NP * L.bo))))] : []),
      ...(L.remO > 0 ? one(g, L.fullO * L.bo, L.remO, add(mul(g, L.perGroup), L.fullO * L.NP * L.bo)) : []),
    ]),
  ];
}

/** xp[n, ci, i, j] = x[n, ci, i - padTop, j - padLeft], 0 outside x */
export function padXStmts(c: ConvGeometry, block: readonly number[], x: string, xp: string): Stmt[] {
  const L = dwPackedLayout(c, block);
  const { Hx: Hp, Wx: Wp } = L;
  const { top, left } = c.pad;
  // the copied rows and columns of xp, constants
  const r0 = Math.min(top, Hp);
  const r1 = Math.min(Hp, top + c.inH);
  const c0 = Math.min(left, Wp);
  const c1 = Math.min(Wp, left + c.inW);
  const zeros = (from: number, to: number, at: (j: Expr) => Expr): Stmt[] => (to > from ? [loop('j', from, to, (j) => [store(xp, at(j), f32(0))])] : []);
  return [
    parallel('q', 0, c.batch * c.inC, (q) => [
      // the plane of (n, ci) = q in x and in xp
      let_('src', mul(q, c.inH * c.inW)),
      let_('dst', mul(q, Hp * Wp)),
      ...zeros(0, r0 * Wp, (j) => add(v('dst'), j)),
      ...(r1 > r0
        ? [
            loop('i', r0, r1, (i) => [
              let_('drow', add(v('dst'), mul(i, Wp))),
              let_('srow', add(v('src'), mul(add(i, -top), c.inW))),
              ...zeros(0, c0, (j) => add(v('drow'), j)),
              // 4 columns per step (fewer loop branches per float copied), then the rest
              ...(c1 - c0 >= 4
                ? [loop('j', 0, Math.floor((c1 - c0) / 4), (j) => [let_('j0', mul(j, 4)), ...[0, 1, 2, 3].map((u) => store(xp, add(add(v('drow'), v('j0')), c0 + u), load(x, add(add(v('srow'), v('j0')), c0 + u - left))))])]
                : []),
              ...Array.from({ length: (c1 - c0) % 4 }, (_, i) => c1 - ((c1 - c0) % 4) + i).map((j) => store(xp, add(v('drow'), j), load(x, add(v('srow'), j - left)))),
              ...zeros(c1, Wp, (j) => add(v('drow'), j)),
            ]),
          ]
        : []),
      ...zeros(Math.max(r0, r1) * Wp, Hp * Wp, (j) => add(v('dst'), j)),
    ]),
  ];
}

/**
 * dw from dyp and x (or xp): per (group, output channel block, kernel row) an independent
 * iteration, inside it blocks of rw input channels x kwb taps along the row, each one
 * reduction over n, oh, ow with f32x4 accumulators over the block's output channels
 */
export function packedGradWeightStmts(c: ConvGeometry, block: readonly number[], names: { x: string; dyp: string; pix: string; gw: string }): Stmt[] {
  const L = dwPackedLayout(c, block);
  const { cig, cog, P, Hx, Wx, rw: RW, kwb } = L;
  const kk = c.kH * c.kW;
  const plane = Hx * Wx;

  /** one register block: channels [o0, o0 + bo) (dyp block at `dBase`) x input channels [r0, r0 + rw) x taps [kw0, kw0 + nk) of row kh */
  const tile = (g: Expr, o0: Expr, bo: number, dBase: Expr, kh: Expr, kw0: number, nk: number, r0: Expr, rw: number, pre: string): Stmt[] => {
    const bp = pad4(bo);
    const acc = (ri: number, t: number, o: number) => `${pre}acc${ri}_${t}_${o}`;
    const st: Stmt[] = [];
    for (let ri = 0; ri < rw; ri++) for (let t = 0; t < nk; t++) for (let o = 0; o < bp; o++) st.push(var_(acc(ri, t, o), f32(0)));
    st.push(
      // x[n, g*Cig + r0, kh*dH, kw0*dW] at n = 0 (xp: from the padded origin); dyp's block at dBase
      let_(`${pre}xbase`, add(mul(add(mul(add(mul(g, cig), r0), Hx), mul(kh, c.dilationH)), Wx), kw0 * c.dilationW)),
      let_(`${pre}dbase`, dBase),
      // every pixel of the batch in one loop: the accumulators stay in f32x4 registers for the
      // whole reduction; each pixel's x offset comes from the table the pack kernel wrote
      loop('p', 0, L.NP, (p) => {
        const body: Stmt[] = [let_('xi', add(v(`${pre}xbase`), load(names.pix, p))), let_('di', add(v(`${pre}dbase`), mul(p, bp)))];
        for (let o = 0; o < bp; o++) body.push(let_(`d${o}`, load(names.dyp, add(v('di'), o)), 'f32'));
        for (let ri = 0; ri < rw; ri++) {
          for (let t = 0; t < nk; t++) {
            body.push(let_(`x${ri}_${t}`, load(names.x, add(v('xi'), ri * plane + t * c.dilationW)), 'f32'));
            for (let o = 0; o < bp; o++) body.push(accum(acc(ri, t, o), mul(v(`x${ri}_${t}`), v(`d${o}`))));
          }
        }
        return body;
      }),
    );
    for (let o = 0; o < bo; o++) {
      for (let ri = 0; ri < rw; ri++) {
        for (let t = 0; t < nk; t++) {
          // dw[g*Cog + o0 + o, r0 + ri, kh, kw0 + t]
          const at = add(add(mul(add(mul(add(add(mul(g, cog), o0), o), cig), add(r0, ri)), kk), mul(kh, c.kW)), kw0 + t);
          st.push(store(names.gw, at, v(acc(ri, t, o))));
        }
      }
    }
    return st;
  };

  const fullR = Math.floor(cig / RW);
  const remR = cig - fullR * RW;
  // the input channel blocks cut into `rq` runs, each an iteration of the outer loop too, where
  // they are all full: about 16 iterations for the threads (LeNet's c3: 5 kernel rows x 3 runs
  // of 2 of its 6 input channels). A run is a loop: the tile as one iteration of a loop over
  // the input channels measured 10% faster than the tile alone in the outer loop's body (D)
  const outer = c.groups * Math.max(1, L.fullO) * c.kH;
  const rq = remR > 0 ? 1 : Math.max(...Array.from({ length: fullR }, (_, i) => i + 1).filter((d) => fullR % d === 0 && d <= Math.ceil(16 / outer)));
  const run = fullR / rq;

  /** one kernel row's blocks for channels [o0, o0 + bo): the run of input channel blocks `rr`, or all of them */
  const row = (g: Expr, o0: Expr, bo: number, dBase: Expr, kh: Expr, rr: Expr): Stmt[] => {
    const st: Stmt[] = [];
    for (let kw0 = 0; kw0 < c.kW; kw0 += kwb) {
      const nk = Math.min(kwb, c.kW - kw0);
      if (fullR > 0) st.push(loop('rb', 0, run, (rb) => [let_('r0', mul(add(mul(rr, run), rb), RW)), ...tile(g, o0, bo, dBase, kh, kw0, nk, v('r0'), RW, `k${kw0}_`)]));
      if (remR > 0) st.push(...tile(g, o0, bo, dBase, kh, kw0, nk, i32(fullR * RW), remR, `r${kw0}_`));
    }
    return st;
  };
  // the outer loop's iteration q: (group, [channel block,] kernel row, [run of input channels])
  const rowOf = (q: Expr, blocks: number): Stmt[] => {
    const per = blocks * c.kH * rq;
    return [
      let_('g', idiv(q, per)),
      ...(blocks > 1 ? [let_('ob', idiv(mod(q, per), c.kH * rq))] : []),
      let_('kh', idiv(mod(q, c.kH * rq), rq)),
      let_('rr', mod(q, rq)),
    ];
  };

  const out: Stmt[] = [];
  // full channel blocks
  if (L.fullO > 0) {
    const ob = L.fullO > 1 ? v('ob') : i32(0);
    out.push(
      parallel('q', 0, c.groups * L.fullO * c.kH * rq, (q) => [
        ...rowOf(q, L.fullO),
        ...row(v('g'), mul(ob, L.bo), L.bo, add(mul(v('g'), L.perGroup), mul(ob, L.NP * L.bo)), v('kh'), v('rr')),
      ]),
    );
  }
  // the remainder channels
  if (L.remO > 0) {
    out.push(
      parallel('qr', 0, c.groups * c.kH * rq, (q) => [
        ...rowOf(q, 1),
        ...row(v('g'), i32(L.fullO * L.bo), L.remO, add(mul(v('g'), L.perGroup), L.fullO * L.NP * L.bo), v('kh'), v('rr')),
      ]),
    );
  }
  return out;
}
