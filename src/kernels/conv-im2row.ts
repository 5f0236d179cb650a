// The `im2row` strategy, as in the seed: copy the input into a row-per-output-pixel matrix
// once, then run the register-blocked GEMM (gemm.ts).
//
//   cols[g, n, p, r*kk + kh*kW + kw] = x[n, g*Cig + r, oh*sH + kh*dH - padTop, ow*sW + kw*dW - padLeft]   (0 in the padding)
//   forward: y[n, co, p] = b[co] + sum_k cols[g, n, p, k] * w[co, k]          (im2row(p) · vec(w))
//   dW:      dw[co, k]   = sum_{n, p} dy[n, co, p] * cols[g, n, p, k]         (im2row(p)ᵀ · dY)
//   dX:      dcols[g, n, p, k] = sum_co dy[n, co, p] * w[co, k]               (Wᵀ · dY), then
//            dx[n, ci, i, j] = sum over the taps that reach (i, j) of dcols   (col2im)
//
// dX takes the col2im route rather than im2row(pad(dY)) · vec(flip(w)): for stride > 1 the
// latter needs a zero-dilated dY (or one im2row per stride phase with its own flipped
// sub-kernel), while Wᵀ·dY is one GEMM for every stride, the same size as forward's, and
// its col2im is done as a gather split by stride phase (conv-axes.ts), so every dx element
// is written once, without atomics and without wasted taps.
//
// The copies have no bounds checks: for a constant tap, the rows and columns that read
// padding are constant ranges, so they become separate zero-fill loops.

import type { Expr, Kernel, Stmt } from '../ir/types.ts';
import type { ConvGeometry, KernelRole } from '../plan/types.ts';
import { convSizes } from '../plan/types.ts';
import type { ScratchDecl } from './types.ts';
import { accum, add, and, buf, f32, ge, i32, if_, kernel, let_, load, loop, lt, mul, parallel, select, store, v, var_, type E } from '../ir/build.ts';
import { convForwardAxes, convGradInputAxes, type Axis, type Tap } from '../plan/conv-axes.ts';
import { gemmStmts, type GemmSpec } from './gemm.ts';
import { ROLE_TAG } from './names.ts';
import { checks } from './conv-direct.ts';
import type { PixelSchedule } from '../plan/schedule.ts';

export interface Im2rowCalls {
  readonly scratch: readonly ScratchDecl[];
  /** in call order */
  readonly kernels: readonly Kernel[];
}

/** `rowStride`: floats from one row of cols to the next (K, or more: a schedule's padding) */
function dims(c: ConvGeometry, rowStride?: number) {
  const cig = c.inC / c.groups;
  const cog = c.outC / c.groups;
  const kk = c.kH * c.kW;
  const P = c.outH * c.outW;
  const K = cig * kk;
  const R = rowStride ?? K;
  return { cig, cog, kk, P, K, R, colsLen: c.groups * c.batch * P * R };
}

/** the im2row buffer of C: [groups, batch, output pixels, Cin/g * kH * kW] (both targets' copies write it) */
export const colsScratch = (c: ConvGeometry): ScratchDecl => ({ name: 'cols', t: 'f32', length: dims(c).colsLen, keep: false });

/**
 * cols = im2row(inp), written once for every target: cols[g, n, p, r*kk + kh*kW + kw] =
 * inp[n, g*Cig + r, oh*sH + offH, ow*sW + offW] where the tap reads inside the input, else 0.
 * `pixels` (the schedule) orders the nest: taps outside the pixels, with the padding as
 * constant zero-fill ranges, or one invocation per pixel writing every tap of its window.
 * `rowStride`: floats from one row of cols to the next (default K). `byRow` (the wasm
 * schedule's colsByRow): the pixels outermost, each pixel's row of cols written left to
 * right (see below)
 */
export function im2rowStmts(c: ConvGeometry, inp: string, rowStride?: number, pixels: PixelSchedule = 'loops', byRow = false): Stmt[] {
  const { cig, kk, P } = dims(c);
  const K = rowStride ?? dims(c).K;
  const cols = 'cols';
  const { h, w } = convForwardAxes(c);
  // the index arithmetic: bases per (g, n, r), offsets per (oh, ow, tap)
  const dst = (g: Expr, n: Expr, r: Expr) => add(mul(mul(add(mul(g, c.batch), n), P), K), mul(r, kk));
  const src = (g: Expr, n: Expr, r: Expr) => mul(add(mul(n, c.inC), add(mul(g, cig), r)), c.inH * c.inW);
  const colsAt = (oh: E, ow: E, kcol: number) => add(mul(add(mul(oh, c.outW), ow), K), kcol);
  const inpAt = (oh: E, ow: E, th: Tap, tw: Tap) => add(mul(add(mul(oh, c.strideH), th.off), c.inW), add(mul(ow, c.strideW), tw.off));
  // a tap that never reads inside the input (no valid range) is a constant 0 column
  const taps = Array.from({ length: c.kH * c.kW }, (_, kcol) => ({ kcol, th: h.taps.find((t) => t.k === Math.floor(kcol / c.kW)), tw: w.taps.find((t) => t.k === kcol % c.kW) }));
  /**
   * one pixel's window for the input channel whose inp base is `src`: cols[at + kcol] = its
   * taps' input values, 0 where a tap reads padding (checked only where the tap can leave
   * the input: as a select on the CPU, a branch on the GPU, where nothing is loaded then)
   */
  const window = (oh: Expr, ow: Expr, at: Expr): Stmt[] =>
    taps.map(({ kcol, th, tw }) => {
      const put = (value: Expr) => store(cols, add(at, kcol), value);
      if (!th || !tw) return put(f32(0));
      // the taps' valid ranges over every output position (conv-direct.ts checks, as tapCond)
      const inside = and(...checks(oh, { min: 0, max: h.T - 1 }, th), ...checks(ow, { min: 0, max: w.T - 1 }, tw));
      const value = load(inp, add(add(v('src'), mul(add(mul(oh, c.strideH), th.off), c.inW)), add(mul(ow, c.strideW), tw.off)));
      if (inside.k === 'const') return put(value);
      return pixels === 'invocations' ? if_(inside, [put(value)], [put(f32(0))]) : put(select(inside, value, f32(0)));
    });
  if (byRow) {
    // a row of cols at a time: the column order below runs one pass per (input channel, tap)
    // down a column of cols, each store K floats after the previous one (a cache line per
    // store), and the buffer (config B: 4.7 MB) does not stay in cache between the passes
    // that fill one line. Here each output pixel's row is written left to right (the
    // channel's taps contiguous, the channels kk apart) and the reads walk input rows that
    // stay in cache
    return [
      parallel('g', 0, c.groups, (g) => [
        parallel('n', 0, c.batch, (n) => [
          parallel('oh', 0, c.outH, (oh) => [
            // cols[g, n, oh*outW, 0]
            let_('drow', mul(add(mul(add(mul(g, c.batch), n), P), mul(oh, c.outW)), K)),
            loop('ow', 0, c.outW, (ow) => [
              let_('d', add(v('drow'), mul(ow, K))),
              loop('r', 0, cig, (r) => [
                // inp[n, g*Cig + r, 0, 0]
                let_('src', src(g, n, r)),
                ...window(oh, ow, add(v('d'), mul(r, kk))),
              ]),
            ]),
          ]),
        ]),
      ]),
    ];
  }
  const perChannel = (g: Expr, n: Expr, r: Expr): Stmt[] => {
    const body: Stmt[] = [
      // cols[g, n, 0, r*kk] and inp[n, g*Cig + r, 0, 0]
      let_('dst', dst(g, n, r)),
      let_('src', src(g, n, r)),
    ];
    if (pixels === 'invocations') {
      return [
        ...body,
        parallel('oh', 0, c.outH, (oh) => [
          parallel('ow', 0, c.outW, (ow) => [let_('cb', add(v('dst'), colsAt(oh, ow, 0))), ...window(oh, ow, v('cb'))]),
        ]),
      ];
    }
    const zeroRows = (from: number, to: number, kcol: number): Stmt[] =>
      to > from ? [loop('oh', from, to, (oh) => [loop('ow', 0, c.outW, (ow) => [store(cols, add(v('dst'), colsAt(oh, ow, kcol)), f32(0))])])] : [];
    for (const { kcol, th, tw } of taps) {
      if (!th || !tw) {
        body.push(...zeroRows(0, c.outH, kcol));
        continue;
      }
      body.push(...zeroRows(0, th.lo, kcol));
      const put = (ow: Expr, value: Expr) => store(cols, add(v('drow'), colsAt(0, ow, kcol)), value);
      body.push(
        loop('oh', th.lo, th.hi, (oh) => [
          let_('drow', add(v('dst'), colsAt(oh, 0, 0))),
          let_('srow', add(v('src'), inpAt(oh, 0, th, tw))),
          ...(tw.lo > 0 ? [loop('ow', 0, tw.lo, (ow) => [put(ow, f32(0))])] : []),
          loop('ow', tw.lo, tw.hi, (ow) => [put(ow, load(inp, add(v('srow'), mul(ow, c.strideW))))]),
          ...(tw.hi < c.outW ? [loop('ow', tw.hi, c.outW, (ow) => [put(ow, f32(0))])] : []),
        ]),
      );
      body.push(...zeroRows(th.hi, c.outH, kcol));
    }
    return body;
  };
  return [parallel('g', 0, c.groups, (g) => [parallel('n', 0, c.batch, (n) => [parallel('r', 0, cig, (r) => perChannel(g, n, r))])])];
}

/**
 * out = col2im(cols) (+ bias), as a gather: for each stride phase of the output, the taps
 * that reach it are static and the source pixel is exact; border rows check only the taps
 * whose valid range does not cover them, border columns sit at constant positions.
 */
function col2imStmts(c: ConvGeometry, bias: string | null, out: string): Stmt[] {
  const { cig, kk, P, K } = dims(c);
  const { hs, ws } = convGradInputAxes(c);
  const stmts: Stmt[] = [];
  for (const h of hs) {
    for (const w of ws) {
      stmts.push({ k: 'comment', text: `stride phase (${h.outStart}, ${w.outStart}): ${h.taps.length * w.taps.length} of ${kk} taps` });
      const pixel = (th: Expr, rowChecks: boolean, tw: Expr, staticTw: number | null): Stmt[] => {
        const pre = staticTw === null ? '' : `e${staticTw}_`;
        const st: Stmt[] = [var_(`${pre}acc`, bias ? v('bv') : f32(0))];
        for (const tapH of h.taps) {
          const row: Stmt[] = [];
          for (const tapW of w.taps) {
            if (staticTw !== null && (staticTw < tapW.lo || staticTw >= tapW.hi)) continue;
            // cols[g, n, (th + offH)*OW + tw + offW, r*kk + kh*kW + kw]
            const idx = add(mul(add(add(mul(th, c.outW), tw), tapH.off * c.outW + tapW.off), K), tapH.k * c.kW + tapW.k);
            row.push(accum(`${pre}acc`, load('cols', add(v('cbase'), idx))));
          }
          if (row.length === 0) continue;
          const lo = rowChecks && tapH.lo > 0;
          const hi = rowChecks && tapH.hi < h.T;
          if (lo || hi) st.push({ k: 'if', cond: and(lo ? ge(th, tapH.lo) : 1, hi ? lt(th, tapH.hi) : 1), then: row, else: [] });
          else st.push(...row);
        }
        st.push(store(out, add(v('orow'), add(w.outStart, mul(tw, w.outStep))), v(`${pre}acc`)));
        return st;
      };
      const row = (th: Expr, rowChecks: boolean): Stmt[] => {
        const borderTws = [...Array.from({ length: w.lo }, (_, i) => i), ...Array.from({ length: w.T - w.hi }, (_, i) => w.hi + i)];
        return [
          let_('orow', mul(add(mul(v('ch'), c.inH), add(h.outStart, mul(th, h.outStep))), c.inW)),
          ...(w.hi > w.lo ? [parallel('tw', w.lo, w.hi, (tw) => pixel(th, rowChecks, tw, null))] : []),
          ...borderTws.flatMap((tw) => pixel(th, rowChecks, i32(tw), tw)),
        ];
      };
      const nb = h.T - (h.hi - h.lo);
      const thOf = (rb: Expr): Expr => (h.lo === 0 ? add(rb, h.hi) : h.hi === h.T ? rb : select(lt(rb, h.lo), rb, add(rb, h.hi - h.lo)));
      stmts.push(
        parallel('n', 0, c.batch, (n) => [
          parallel('g', 0, c.groups, (g) => [
            parallel('r', 0, cig, (r) => [
              // out channel n*Cin + g*Cig + r; cols[g, n, 0, r*kk]
              let_('ch', add(mul(n, c.inC), add(mul(g, cig), r))),
              let_('cbase', add(mul(mul(add(mul(g, c.batch), n), P), K), mul(r, kk))),
              ...(bias ? [let_('bv', load(bias, add(mul(g, cig), r)), 'f32')] : []),
              ...(h.hi > h.lo ? [parallel('th', h.lo, h.hi, (th) => row(th, false))] : []),
              ...(nb > 0 ? [parallel('rb', 0, nb, (rb) => [let_('th', thOf(rb)), ...row(v('th'), true)])] : []),
            ]),
          ]),
        ]),
      );
    }
  }
  return stmts;
}

const name = (base: string, role: KernelRole, step: string) => `${base}_${ROLE_TAG[role]}_im2row_${step}`;

/** C.fwd's product: out[n, g*Cog + co, p] = bias + sum_k cols[g, n, p, k] * w[g*Cog + co, k], per (n, group): M=P, N=Cog, K=Cig*kk (every target's; the schedule picks register blocks or workgroup tiles) */
export function forwardGemm(c: ConvGeometry, n: { w: string; bias: string | null; out: string }, block?: readonly number[]): GemmSpec {
  const { cog, P, K } = dims(c);
  return {
    ...(block ? { block } : {}),
    batch: [
      { size: c.batch, a: P * K, b: 0, c: c.outC * P, bias: 0 },
      { size: c.groups, a: c.batch * P * K, b: cog * K, c: cog * P, bias: cog },
    ],
    M: P,
    N: cog,
    red: [{ size: K, a: 1, b: 1 }],
    a: { buf: 'cols', mStride: K },
    b: { buf: n.w, nStride: K },
    c: { buf: n.out, mStride: 1, nStride: P },
    ...(n.bias ? { bias: { buf: n.bias, nStride: 1 } } : {}),
  };
}

/** C.fwd by im2row: cols = im2row(inp); out = cols · wᵀ (+ bias) */
export function im2rowForward(c: ConvGeometry, n: { inp: string; w: string; bias: string | null; out: string }, base: string, role: KernelRole, block: readonly number[]): Im2rowCalls {
  const { cog, P, K, colsLen } = dims(c);
  const sz = convSizes(c);
  const copy = kernel({
    name: name(base, role, 'cols'),
    doc: [`cols[g, n, p, k] = im2row(${n.inp}): ${c.groups * c.batch * P} rows x ${K} columns`],
    buffers: [buf(n.inp, sz.x, 'read'), buf('cols', colsLen, 'write')],
    body: im2rowStmts(c, n.inp),
  });
  const gemm = kernel({
    name: name(base, role, 'gemm'),
    doc: [`${n.out}[n, co, p] = ${n.bias ? 'b[co] + ' : ''}sum_k cols[g, n, p, k] * w[co, k]: M=${P} N=${cog} K=${K} per (n, group)`],
    buffers: [buf('cols', colsLen, 'read'), buf(n.w, sz.w, 'read'), ...(n.bias ? [buf(n.bias, c.outC, 'read')] : []), buf(n.out, sz.y, 'write')],
    body: gemmStmts(forwardGemm(c, n, block)),
  });
  return { scratch: [colsScratch(c)], kernels: [copy, gemm] };
}

/** C.dx by im2row: dcols = dy · w (one GEMM), then out = col2im(dcols) (+ bias) as a phase-split gather */
export function im2rowGradInput(c: ConvGeometry, n: { inp: string; w: string; bias: string | null; out: string }, base: string, role: KernelRole, block: readonly number[]): Im2rowCalls {
  const { cog, P, K, colsLen } = dims(c);
  const sz = convSizes(c);
  const gemm = kernel({
    name: name(base, role, 'gemm'),
    doc: [`cols[g, n, p, k] = sum_co ${n.inp}[n, co, p] * w[co, k]: M=${P} N=${K} K=${cog} per (n, group)`],
    buffers: [buf(n.inp, sz.y, 'read'), buf(n.w, sz.w, 'read'), buf('cols', colsLen, 'write')],
    body: gemmStmts({
      block,
      batch: [
        { size: c.batch, a: c.outC * P, b: 0, c: P * K },
        { size: c.groups, a: cog * P, b: cog * K, c: c.batch * P * K },
      ],
      M: P,
      N: K,
      red: [{ size: cog, a: P, b: K }],
      a: { buf: n.inp, mStride: 1 },
      b: { buf: n.w, nStride: 1 },
      c: { buf: 'cols', mStride: K, nStride: 1 },
    }),
  });
  const scatter = kernel({
    name: name(base, role, 'col2im'),
    doc: [`${n.out} = col2im(cols)${n.bias ? ' + b' : ''}, gathered per stride phase`],
    buffers: [buf('cols', colsLen, 'read'), ...(n.bias ? [buf(n.bias, c.inC, 'read')] : []), buf(n.out, sz.x, 'write')],
    body: col2imStmts(c, n.bias, n.out),
  });
  return { scratch: [colsScratch(c)], kernels: [gemm, scatter] };
}

/**
 * C.dw by im2row: cols = im2row(x); dw = dyᵀ · cols, reducing over batch and pixels.
 * `rowStride`: cols' rows that far apart (default K; a schedule pads it so that the GEMM's
 * column panel, one cache line per row, does not map to a few cache sets)
 */
export function im2rowGradWeight(c: ConvGeometry, n: { x: string; dy: string; gw: string }, base: string, block: readonly number[], rowStride?: number, byRow = false): Im2rowCalls {
  const { cog, P, K, R, colsLen } = dims(c, rowStride);
  const sz = convSizes(c);
  const copy = kernel({
    name: name(base, 'gradWeight', 'cols'),
    doc: [`cols[g, n, p, k] = im2row(${n.x}): ${c.groups * c.batch * P} rows x ${K} columns${R !== K ? `, rows ${R} floats apart` : ''}`],
    buffers: [buf(n.x, sz.x, 'read'), buf('cols', colsLen, 'write')],
    body: im2rowStmts(c, n.x, R, 'loops', byRow),
  });
  const gemm = kernel({
    name: name(base, 'gradWeight', 'gemm'),
    doc: [`dw[co, k] = sum_{n, p} ${n.dy}[n, co, p] * cols[g, n, p, k]: M=${cog} N=${K} K=${c.batch * P} per group`],
    buffers: [buf('cols', colsLen, 'read'), buf(n.dy, sz.y, 'read'), buf(n.gw, sz.w, 'write')],
    body: gemmStmts({
      block,
      batch: [{ size: c.groups, a: cog * P, b: c.batch * P * R, c: cog * K }],
      M: cog,
      N: K,
      red: [
        { size: c.batch, a: c.outC * P, b: P * R },
        { size: P, a: 1, b: R },
      ],
      a: { buf: n.dy, mStride: P },
      b: { buf: 'cols', nStride: 1 },
      c: { buf: n.gw, mStride: K, nStride: 1 },
      // the reduction runs over every pixel of the batch: with m-blocks outside, each
      // (m, n) block would stream a column panel of cols (one cache line per row) from
      // memory; n outside re-reads that panel from cache for every block of channels
      nOuter: true,
    }),
  });
  return { scratch: [{ ...colsScratch(c), length: colsLen }], kernels: [copy, gemm] };
}
