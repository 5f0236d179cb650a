// The `direct` strategy: the kernel window unrolled at generation time with constant
// offsets, register-blocked over BO output channels x BW output columns.
//
// `gatherBlocked` is the engine for conv forward and for each stride phase of conv's
// gradInput (see conv-axes.ts): out[n, c, t] = sum_{r, taps} w[...] * in[n, r, t*inStep + off].
// The output splits by interval arithmetic (per tap: the positions whose read stays inside
// the input) into three kernels: interior rows x full 4-column blocks with no checks at
// all; border rows x full blocks, checking only the kernel rows that can leave the input;
// and, over all rows, the leftover interior columns and the padding-side columns in blocks
// at constant columns, where a tap that would read padding at some column is simply not
// generated there (row checks only, placed outside the reduction loop).
//
// The window is unrolled here rather than with IR `unroll` loops because a stride phase's
// taps are an irregular subset of the kernel and each tap carries its own valid range.
//
// Under the GPU's schedule (pixels: invocations) the same nests take another shape: the
// gather runs every output position as one invocation of one column (the reduction channel
// loop outside the taps, each tap checked where it can leave the input, taps looped past
// tapUnroll), gradWeightDirect one invocation per (output channel, input channel, kernel
// row), which split-K then cuts into chunks (ir/split-reduction.ts).

import type { Expr, Stmt } from '../ir/types.ts';
import { accum, add, and, comment, eq, ex, f32, ge, i32, idiv, if_, let_, load, loop, lt, mod, mul, parallel, select, store, sub, v, var_, type E } from '../ir/build.ts';
import type { Axis } from '../plan/conv-axes.ts';
import type { ConvGeometry } from '../plan/types.ts';
import { BLOCK_W, type PixelSchedule } from '../plan/schedule.ts';

export interface GatherSpec {
  readonly batch: number;
  readonly groups: number;
  /** output channels per group (blocked by BLOCK_O) */
  readonly outPer: number;
  /** reduction channels per group */
  readonly redPer: number;
  readonly out: string;
  readonly inp: string;
  readonly inH: number;
  readonly inW: number;
  readonly w: string;
  /** flat weight index = g*gStride + o*oStride + r*rStride + kh*kW + kw */
  readonly gStride: number;
  readonly oStride: number;
  readonly rStride: number;
  readonly kW: number;
  /**
   * the weight index's tap term is (kh*kW + kw) * tapStride: 1 in the layer's layout; the
   * output channels per group in a packed one (conv-pack.ts: [g][r][kh][kw][o])
   */
  readonly tapStride?: number;
  /**
   * the inner loop multiplies each input value by the block's weights (acc[o][j] += x_j * w_o,
   * the input the common factor), so that with packed weights (oStride 1) four consecutive
   * output channels' weights are one contiguous load: the wasm renderer then keeps f32x4
   * accumulators over output channels (XNNPACK's loadsplat), at any stride or dilation.
   * Default: weight the common factor, f32x4 over contiguous input columns (stride 1)
   */
  readonly channelsInner?: boolean;
  /**
   * compute each block's channels rounded up to a multiple of this (the packed weights are
   * zero-padded to it, conv-pack.ts): a 6-channel block runs as two f32x4 instead of one and
   * two scalar lanes; the extra channels are computed and never stored. Default: exact
   */
  readonly lanes?: number;
  /**
   * a column block width taken instead of block[1] where it divides the interior columns and
   * block[1] does not (no narrower tail block); absent: block[1] always
   */
  readonly evenWidth?: number;
  /** bias buffer, indexed by output channel, or null */
  readonly bias: string | null;
  /** the register block from the schedule: [output channels, output columns] */
  readonly block: readonly number[];
  /** add to what `out` holds (a later pass of a window split across kernels) instead of writing */
  readonly accumulate?: boolean;
  readonly h: Axis;
  readonly wAxis: Axis;
  /**
   * the schedule's pixels (default `loops`: the three parts below). `invocations` (GPU):
   * every output position is one parallel iteration computing one column of `block[0]`
   * channels, with the reduction channel loop outside the window's taps and each tap
   * checked where interval analysis says it can leave the input at some position
   */
  readonly pixels?: PixelSchedule;
  /** with pixels `invocations`: taps per axis unrolled; an axis with more (in even steps) runs them as a loop */
  readonly tapUnroll?: number | null;
}

/** a direct kernel's parts (see gatherBlocked) */
export interface DirectParts {
  readonly interior: Stmt[];
  readonly rows: Stmt[];
  readonly cols: Stmt[];
}

/** a packed gather with fewer reduction channels than this loops over (kernel row, channel) pairs in the interior */
const FUSE_ROWS_BELOW = 4;

/** the taps' kernel index and offset steps when both step evenly, else null */
function evenSteps(taps: Axis['taps']): { dk: number; doff: number } | null {
  if (taps.length < 2) return null;
  const dk = taps[1]!.k - taps[0]!.k;
  const doff = taps[1]!.off - taps[0]!.off;
  return taps.every((t, i) => t.k === taps[0]!.k + i * dk && t.off === taps[0]!.off + i * doff) ? { dk, doff } : null;
}

/** the smallest and largest position a piece of code runs on */
export interface Span {
  readonly min: number;
  readonly max: number;
}

/** [0, T) without [lo, hi): its size, the i-th position, and its span */
export function skipRange(lo: number, hi: number, T: number): { count: number; at: (i: Expr) => Expr; span: Span } {
  const count = T - (hi - lo);
  const at = (i: Expr): Expr => (lo === 0 ? add(i, hi) : hi === T || hi === lo ? i : select(lt(i, lo), i, add(i, hi - lo)));
  const min = lo > 0 ? 0 : hi;
  const max = hi < T ? T - 1 : lo - 1;
  return { count, at, span: { min, max } };
}

/** checks that position `p` is inside `tap`'s valid range, where `set` can leave it (none in the interior) */
export function checks(p: Expr, set: Span | null, tap: { lo: number; hi: number }): Expr[] {
  if (!set) return [];
  const out: Expr[] = [];
  if (set.min < tap.lo) out.push(ge(p, tap.lo));
  if (set.max >= tap.hi) out.push(lt(p, tap.hi));
  return out;
}

/** the condition under which tap `tp` of axis `a` reads inside the input at position `t` (null: always): `checks` over all positions */
export function tapCond(a: Axis, tp: { lo: number; hi: number }, t: E): Expr | null {
  const cs = checks(ex(t), { min: 0, max: a.T - 1 }, tp);
  return cs.length ? and(...cs) : null;
}

/** the conjunction of the conditions present (null: none, always true) */
export const allOf = (...cs: (E | null)[]): Expr | null => {
  const xs = cs.filter((x): x is E => x !== null);
  return xs.length ? and(...xs) : null;
};

/** a name part for a tap index: its constant, or the loop's (`k` + axis) */
const tapName = (k: E, axis: string): string => (typeof k === 'number' ? String(k) : k.k === 'const' ? String(k.v) : `k${axis}`);

/**
 * the taps of axis `a` at a variable position `t` (pixels as invocations): `body(k, off)`
 * gets the kernel index and the tap's input offset. Up to `limit` taps are unrolled with
 * constant k and offsets, each guarded only where interval analysis says it can leave the
 * input; more (in even steps) run as a loop over the progression, with one range check on
 * the input coordinate where some tap can leave the input
 */
function eachTap(a: Axis, t: E, axis: string, limit: number, body: (k: E, off: E) => Stmt[]): Stmt[] {
  const step = evenSteps(a.taps);
  if (a.taps.length <= limit || step === null) {
    return a.taps.flatMap((tp) => {
      const cond = tapCond(a, tp, t);
      return cond === null ? body(tp.k, tp.off) : [if_(cond, body(tp.k, tp.off))];
    });
  }
  const i = `${axis}tap`;
  const k = add(a.taps[0]!.k, mul(v(i), step.dk));
  const off = add(a.taps[0]!.off, mul(v(i), step.doff));
  const at = `i${axis}`;
  const leaves = a.lo > 0 || a.hi < a.T;
  return [loop(i, 0, a.taps.length, () => (leaves ? [let_(at, add(mul(t, a.inStep), off)), if_(and(ge(v(at), 0), lt(v(at), a.inSize)), body(k, off))] : body(k, off)))];
}

/** `st` under `cond`: as is where cond is constant true, nothing where constant false (a border row at a constant row whose kernel row reads only padding) */
const guarded = (cond: Expr, st: Stmt): Stmt[] => (cond.k !== 'const' ? [{ k: 'if', cond, then: [st], else: [] }] : cond.v !== 0 ? [st] : []);

/** [start, width] chunks covering [from, to) in steps of `width` (the last may be shorter) */
function chunks(from: number, to: number, width: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = from; s < to; s += width) out.push([s, Math.min(width, to - s)]);
  return out;
}

/**
 * a gather's index arithmetic, written once for every schedule: flat offsets into out, inp,
 * w and bias, as row bases (hoisted per output row) plus offsets within the row
 */
export function gatherIndex(s: GatherSpec) {
  const { h, wAxis } = s;
  const outCh = s.groups * s.outPer;
  const inCh = s.groups * s.redPer;
  const outHW = h.outSize * wAxis.outSize;
  const inHW = s.inH * s.inW;
  return {
    /** out[n, g*outPer + o0, outStart + th*outStep, 0] */
    outRow: (n: E, g: E, o0: E, th: E) => mul(add(mul(add(add(mul(n, outCh), mul(g, s.outPer)), o0), h.outSize), add(h.outStart, mul(th, h.outStep))), wAxis.outSize),
    /** + channel o of the block, phase column tw */
    outAt: (row: E, o: number, tw: E) => add(add(row, o * outHW), add(wAxis.outStart, mul(tw, wAxis.outStep))),
    /** inp[n, g*redPer, th*inStep, 0] */
    inRow: (n: E, g: E, th: E) => mul(add(mul(add(mul(n, inCh), mul(g, s.redPer)), s.inH), mul(th, h.inStep)), s.inW),
    /** + reduction channel r, a tap's row offset, phase column tw and the tap's column offset */
    inAt: (row: E, r: E, offH: E, tw: E, col: E) => add(add(add(row, mul(r, inHW)), mul(offH, s.inW)), add(mul(tw, wAxis.inStep), col)),
    /** w[g, o0, 0, 0] */
    wRow: (g: E, o0: E) => add(mul(g, s.gStride), mul(o0, s.oStride)),
    /** + reduction channel r, channel o of the block, tap (kh, kw) (taps tapStride apart: packed weights) */
    wAt: (row: E, r: E, o: number, kh: E, kw: E) =>
      add(add(row, mul(r, s.rStride)), s.tapStride === undefined ? add(add(o * s.oStride, mul(kh, s.kW)), kw) : add(o * s.oStride, mul(add(mul(kh, s.kW), kw), s.tapStride))),
    /** bias[g*outPer + o0 + o] */
    biasAt: (g: E, o0: E, o: number) => add(mul(g, s.outPer), add(o0, o)),
  };
}

/**
 * the statements that compute one spec (a whole output, or one stride phase of it), in
 * three parts that together write every element once: `interior` (no checks: the hot loop
 * nest), `rows` (border rows) and `cols` (leftover and padding-side columns). They become separate kernels,
 * which keeps each function small enough for V8's optimizing compiler (it gives up on
 * functions over ~60 KB of bytecode) and keeps compile times short.
 */
export function gatherBlocked(s: GatherSpec): DirectParts {
  const { h, wAxis } = s;
  // a packed gather over few reduction channels (a 1-channel input: a one-step loop per kernel
  // row, which stays scalar) whose kernel rows' taps step evenly fuses its kernel rows: one loop
  // over (kernel row, channel) pairs, in the interior and at each border row's constant row
  const rowStep = evenSteps(h.taps);
  const fusesRows = s.channelsInner === true && s.redPer < FUSE_ROWS_BELOW && h.taps.length > 1 && rowStep !== null;
  const ix = gatherIndex(s);

  /**
   * one block: bo channels from o0, bw columns from tw0. `rowSet` (null in the interior)
   * bounds the rows this code runs on: a tap gets a row check only when that set reaches
   * outside the tap's valid range, and the check sits outside its loop. Columns are never
   * checked: full blocks lie in the interior, other blocks sit at constant columns where
   * the generator drops each tap at the j where it would read padding.
   */
  const block = (th: Expr, rowSet: Span | null, o0: Expr, bo: number, tw0: Expr, bw: number, pre = ''): Stmt[] => {
    const body: Stmt[] = [];
    const acc = (o: number, j: number) => `${pre}acc${o}_${j}`;
    // a block at a constant column: each tap reads only at the j where it is inside the input
    const ok = (tapW: { lo: number; hi: number }, j: number) => tw0.k !== 'const' || (tw0.v + j >= tapW.lo && tw0.v + j < tapW.hi);
    const outAt = (o: number, j: number) => ix.outAt(v('yrow'), o, add(tw0, j));
    // the channels computed: bo, or bo rounded up to the lanes (the padding channels start at 0, never stored)
    const bc = s.channelsInner && s.lanes ? Math.ceil(bo / s.lanes) * s.lanes : bo;
    for (let o = bo; o < bc; o++) for (let j = 0; j < bw; j++) body.push(var_(acc(o, j), f32(0)));
    for (let o = 0; o < bo; o++) {
      if (s.accumulate) {
        for (let j = 0; j < bw; j++) body.push(var_(acc(o, j), load(s.out, outAt(o, j))));
        continue;
      }
      if (s.bias) body.push(let_(`${pre}bv${o}`, load(s.bias, ix.biasAt(v('g'), o0, o)), 'f32'));
      for (let j = 0; j < bw; j++) body.push(var_(acc(o, j), s.bias ? v(`${pre}bv${o}`) : f32(0)));
    }
    if (s.pixels === 'invocations') {
      body.push(...channelsOuter(th, o0, bo, tw0, (o) => acc(o, 0)));
      for (let o = 0; o < bo; o++) body.push(store(s.out, outAt(o, 0), v(acc(o, 0))));
      return body;
    }
    // one short GEMM-like loop over the reduction channels per tap: 4 + 4 loads and 16
    // multiply-adds per iteration, the shape a JIT keeps in registers (a loop body holding
    // the whole unrolled window spills)
    const wBase = ix.wRow(v('g'), o0);
    const wAt = (r: Expr, o: number, kh: number, kw: number) => load(s.w, ix.wAt(wBase, r, o, kh, kw));
    /**
     * a packed gather's loop step for reduction channel r and one kernel row: `wRow` its taps'
     * weight offset, `xRow` its input row offset (constants, or expressions of a fused loop)
     */
    const packedRow = (r: Expr, wRow: E, xRow: E): Stmt[] => {
      const st: Stmt[] = [];
      // every input read of the step is xb plus a constant >= 0: one address per step, each
      // column's constant a load's offset immediate (the leftmost tap's offset is negative
      // under padding; read from inside the input, xb itself is >= 0)
      const cols = wAxis.taps.flatMap((tapW) => Array.from({ length: bw }, (_, j) => j).filter((j) => ok(tapW, j)).map((j) => j * wAxis.inStep + tapW.off));
      const minCol = Math.min(...cols);
      st.push(let_('xb', ix.inAt(add(v('xrow'), xRow), r, 0, tw0, minCol)));
      const loaded = new Set<number>();
      const xName = (col: number) => `x${col < 0 ? 'm' + -col : col}`;
      const ts = s.tapStride ?? 1;
      for (const tapW of wAxis.taps) {
        const js = Array.from({ length: bw }, (_, j) => j).filter((j) => ok(tapW, j));
        if (js.length === 0) continue;
        for (const j of js) {
          const col = j * wAxis.inStep + tapW.off;
          if (!loaded.has(col)) {
            loaded.add(col);
            st.push(let_(xName(col), load(s.inp, add(v('xb'), col - minCol)), 'f32'));
          }
        }
        for (let o = 0; o < bc; o++) st.push(let_(`w${tapW.k}_${o}`, load(s.w, add(add(add(wBase, mul(r, s.rStride)), wRow), o * s.oStride + tapW.k * ts)), 'f32'));
        for (const j of js) for (let o = 0; o < bc; o++) st.push(accum(acc(o, j), mul(v(xName(j * wAxis.inStep + tapW.off)), v(`w${tapW.k}_${o}`))));
      }
      return st;
    };
    // fused kernel rows (fusesRows above) where no row is checked; a border row at a constant row (fusedBorderRows below) fuses the kernel rows that read
    // inside the input there: a contiguous run of taps (each tap's valid rows are an interval
    // moving evenly with the tap), so no row is checked in either case
    const rowTaps = rowSet === null ? h.taps : rowSet.min === rowSet.max && th.k === 'const' ? h.taps.filter((tp) => th.v >= tp.lo && th.v < tp.hi) : [];
    const fuseRows = fusesRows && rowStep !== null && rowTaps.length > 0;
    if (fuseRows) {
      const t0 = rowTaps[0]!;
      const ts = s.tapStride ?? 1;
      body.push(
        loop('q', 0, rowTaps.length * s.redPer, (q) => {
          const i = s.redPer === 1 ? q : idiv(q, s.redPer);
          const r = s.redPer === 1 ? i32(0) : mod(q, s.redPer);
          return [
            ...(s.redPer === 1 ? [] : [let_('kr', i), let_('r', r)]),
            ...packedRow(s.redPer === 1 ? r : v('r'), add(mul(s.redPer === 1 ? i : v('kr'), rowStep.dk * s.kW * ts), t0.k * s.kW * ts), add(mul(s.redPer === 1 ? i : v('kr'), rowStep.doff * s.inW), t0.off * s.inW)),
          ];
        }),
      );
    }
    for (const tapH of h.taps) {
      const xAt = (r: Expr, col: number) => load(s.inp, ix.inAt(v('xrow'), r, tapH.off, tw0, col));
      if (s.channelsInner) {
        if (fuseRows) continue;
        // packed weights: one loop over the reduction channels per kernel row, every input
        // column loaded (and splatted) once for the taps that read it, each tap's weights
        // for the block's channels contiguous (f32x4 over output channels)
        const reduce = loop('r', 0, s.redPer, (r) => packedRow(r, tapH.k * s.kW * (s.tapStride ?? 1), tapH.off * s.inW));
        const cond = and(...checks(th, rowSet, tapH));
        body.push(...guarded(cond, reduce));
        continue;
      }
      if (bo <= 2) {
        // few channels per block, no column checks: one loop per kernel row, every input
        // column loaded once and shared by the taps that read it (bw + kW - 1 loads at
        // stride 1 instead of bw * kW). With 4 channels the per-tap loops below run faster:
        // fewer live values than a JIT has registers for.
        const reduce = loop('r', 0, s.redPer, (r) => {
          const st: Stmt[] = [];
          const loaded = new Set<number>();
          for (const tapW of wAxis.taps) {
            const js = Array.from({ length: bw }, (_, j) => j).filter((j) => ok(tapW, j));
            if (js.length === 0) continue;
            for (let o = 0; o < bo; o++) st.push(let_(`w${tapW.k}_${o}`, wAt(r, o, tapH.k, tapW.k), 'f32'));
            for (const j of js) {
              const col = j * wAxis.inStep + tapW.off;
              const name = `x${col < 0 ? 'm' + -col : col}`;
              if (!loaded.has(col)) {
                loaded.add(col);
                st.push(let_(name, xAt(r, col), 'f32'));
              }
              for (let o = 0; o < bo; o++) st.push(accum(acc(o, j), mul(v(`w${tapW.k}_${o}`), v(name))));
            }
          }
          return st;
        });
        const cond = and(...checks(th, rowSet, tapH));
        body.push(...guarded(cond, reduce));
        continue;
      }
      // one short GEMM-like loop over the reduction channels per tap: 4 + 4 loads and 16
      // multiply-adds per iteration, the shape a JIT keeps in registers
      for (const tapW of wAxis.taps) {
        const js = Array.from({ length: bw }, (_, j) => j).filter((j) => ok(tapW, j));
        if (js.length === 0) continue;
        const reduce = loop('r', 0, s.redPer, (r) => {
          const st: Stmt[] = [];
          for (const j of js) st.push(let_(`x${j}`, xAt(r, j * wAxis.inStep + tapW.off), 'f32'));
          for (let o = 0; o < bo; o++) {
            st.push(let_(`w${o}`, wAt(r, o, tapH.k, tapW.k), 'f32'));
            for (const j of js) st.push(accum(acc(o, j), mul(v(`w${o}`), v(`x${j}`))));
          }
          return st;
        });
        const cond = and(...checks(th, rowSet, tapH));
        body.push(...guarded(cond, reduce));
      }
    }
    for (let o = 0; o < bo; o++) for (let j = 0; j < bw; j++) body.push(store(s.out, outAt(o, j), v(acc(o, j))));
    return body;
  };

  /**
   * one block's sums in the GPU's order (pixels as invocations, one column at `tw`): the
   * reduction channel loop outside the window, a tap's row check around its row of taps,
   * each column tap checked where it can leave the input (eachTap: looped past tapUnroll)
   */
  const channelsOuter = (th: Expr, o0: Expr, bo: number, tw: Expr, acc: (o: number) => string): Stmt[] => {
    if (h.taps.length === 0 || wAxis.taps.length === 0) return [];
    const limit = s.tapUnroll ?? Infinity;
    // with one reduced channel the rows of inp and w are the row bases themselves
    const [xb, wb] = s.redPer > 1 ? ['xb', 'wb'] : ['xrow', 'wrow'];
    return [
      let_('wrow', ix.wRow(v('g'), o0)),
      loop('r', 0, s.redPer, (r) => [
        ...(s.redPer > 1 ? [let_('xb', ix.inAt(v('xrow'), r, 0, 0, 0)), let_('wb', ix.wAt(v('wrow'), r, 0, 0, 0))] : []),
        ...eachTap(h, th, 'h', limit, (kh, offH) =>
          eachTap(wAxis, tw, 'w', limit, (kw, offW) => {
            const xv = `xv${tapName(kh, 'h')}_${tapName(kw, 'w')}`;
            return [
              let_(xv, load(s.inp, ix.inAt(v(xb), 0, offH, tw, offW)), 'f32'),
              ...Array.from({ length: bo }, (_, o) => accum(acc(o), mul(load(s.w, ix.wAt(v(wb), 0, o, kh, kw)), v(xv)))),
            ];
          }),
        ),
      ]),
    ];
  };

  const rowStart = (th: Expr, o0: Expr): Stmt[] => [
    // flat index of out[n, g*outPer + o0, outStart + th*outStep, 0]
    let_('yrow', ix.outRow(v('n'), v('g'), o0, th)),
    // flat index of in[n, g*redPer, th*inStep, 0]
    let_('xrow', ix.inRow(v('n'), v('g'), th)),
  ];
  // channel blocks of 4 (or 3 when that divides the channels and 4 does not: no remainder
  // code), 4 columns (8 for 1-2 channels measured slower: more live values than registers);
  // the schedule's choice (plan/schedule.ts)
  const [bo, blockW] = s.block as [number, number];
  // the schedule's evenWidth where it divides the interior columns and the block's width does not
  const inner = wAxis.hi - wAxis.lo;
  const bw = s.evenWidth !== undefined && inner % blockW !== 0 && inner % s.evenWidth === 0 ? s.evenWidth : blockW;
  // columns: full blocks of bw interior columns, the leftover interior columns, and the
  // padding-side columns
  const full = Math.floor((wAxis.hi - wAxis.lo) / bw);
  const mid = wAxis.lo + full * bw;
  // interior columns past the last full block: one narrower block at a constant column
  const tail = wAxis.hi - mid;
  const border = skipRange(h.lo, h.hi, h.T);
  /** `rowLets`: the row's bases inside the column loop (each border row at a constant row has its own loop) */
  const fullBlocks = (th: Expr, rowSet: Span | null, o0: Expr, bo: number, rowLets: Stmt[] = []): Stmt =>
    parallel('cb', 0, full, (cb) => [let_('tw0', add(mul(cb, bw), wAxis.lo)), ...rowLets, ...block(th, rowSet, o0, bo, v('tw0'), bw)]);

  /** interior rows x full column blocks: no checks at all */
  const interior = (o0: Expr, bo: number): Stmt[] =>
    h.hi > h.lo && full > 0 ? [parallel('th', h.lo, h.hi, (th) => [...rowStart(th, o0), fullBlocks(th, null, o0, bo)])] : [];

  // fused kernel rows (fusesRows): each border row at its constant row, the kernel rows inside
  // the input known, no checks
  const fusedBorderRows = fusesRows;
  const borderRows = Array.from({ length: h.T }, (_, t) => t).filter((t) => t < h.lo || t >= h.hi);

  /** border rows x full blocks: row checks only */
  const rows = (o0: Expr, bo: number): Stmt[] =>
    fusedBorderRows && full > 0
      ? borderRows.map((t) => fullBlocks(i32(t), { min: t, max: t }, o0, bo, rowStart(i32(t), o0)))
      : border.count > 0 && full > 0
      ? [parallel('rb', 0, border.count, (rb) => [let_('th', border.at(rb)), ...rowStart(v('th'), o0), fullBlocks(v('th'), border.span, o0, bo)])]
      : [];

  /** every row's leftover interior columns and padding-side columns, in blocks at constant columns (row checks only) */
  const allRows: Span = { min: 0, max: h.T - 1 };
  // padding-side columns in blocks at constant positions: a tap that would read padding at
  // some j is left out at that j by the generator, so these need no column checks
  const edgeBlocks = [...chunks(0, wAxis.lo, bw), ...chunks(wAxis.hi, wAxis.T, bw)];
  const colBlocks = (th: Expr, rowSet: Span | null, o0: Expr, bo: number): Stmt[] => [
    ...(tail > 0 ? block(th, rowSet, o0, bo, i32(mid), tail, 't_') : []),
    ...edgeBlocks.flatMap(([c0, cw]) => block(th, rowSet, o0, bo, i32(c0), cw, `e${c0}_`)),
  ];
  const cols = (o0: Expr, bo: number): Stmt[] =>
    (edgeBlocks.length > 0 || tail > 0) && fusedBorderRows
      ? [
          // the interior rows unchecked (their kernel rows fused), the border rows checked
          ...(h.hi > h.lo ? [parallel('th', h.lo, h.hi, (th) => [...rowStart(th, o0), ...colBlocks(th, null, o0, bo)])] : []),
          ...(border.count > 0 ? [parallel('rb', 0, border.count, (rb) => [let_('th', border.at(rb)), ...rowStart(v('th'), o0), ...colBlocks(v('th'), border.span, o0, bo)])] : []),
        ]
      : edgeBlocks.length > 0 || tail > 0
      ? [
          parallel('th', 0, h.T, (th) => [
            ...rowStart(th, o0),
            ...(tail > 0 ? block(th, allRows, o0, bo, i32(mid), tail, 't_') : []),
            ...edgeBlocks.flatMap(([c0, cw]) => block(th, allRows, o0, bo, i32(c0), cw, `e${c0}_`)),
          ]),
        ]
      : [];

  const fullO = Math.floor(s.outPer / bo);
  const remO = s.outPer - fullO * bo;
  const nest = (part: (o0: Expr, bo: number) => Stmt[]): Stmt[] => {
    if (part(i32(0), bo).length === 0) return [];
    return [
      parallel('n', 0, s.batch, () => [
        parallel('g', 0, s.groups, () => [
          parallel('ob', 0, fullO, (ob) => [let_('o0', mul(ob, bo)), ...part(v('o0'), bo)]),
          ...(remO > 0 ? part(i32(fullO * bo), remO) : []),
        ]),
      ]),
    ];
  };
  if (s.pixels === 'invocations') {
    // one part: every (row, column) an invocation, the taps checked inside (channelsOuter)
    const everyPixel = (o0: Expr, bo: number): Stmt[] => [
      parallel('th', 0, h.T, (th) => [...rowStart(th, o0), parallel('tw', 0, wAxis.T, (tw) => block(th, allRows, o0, bo, tw, 1))]),
    ];
    return { interior: nest(everyPixel), rows: [], cols: [] };
  }
  return { interior: nest(interior), rows: nest(rows), cols: nest(cols) };
}

/** the forward conv's GatherSpec weight strides (w[co, r, kh, kw]) */
export function forwardWeightStrides(g: ConvGeometry) {
  const cig = g.inC / g.groups;
  const cog = g.outC / g.groups;
  const kk = g.kH * g.kW;
  return { gStride: cog * cig * kk, oStride: cig * kk, rStride: kk };
}

/** gradInput's strides: outputs are input channels r of w[co, r, kh, kw], reduction over co */
export function gradInputWeightStrides(g: ConvGeometry) {
  const cig = g.inC / g.groups;
  const cog = g.outC / g.groups;
  const kk = g.kH * g.kW;
  return { gStride: cog * cig * kk, oStride: kk, rStride: cig * kk };
}

/** the buffers a gather reads and writes (names chosen by the caller) */
export type GatherNames = { readonly inp: string; readonly w: string; readonly bias: string | null; readonly out: string };

/** a gather's channels, sizes, names and weight strides: all of GatherSpec but the axes and the bias pass */
export type GatherShape = Omit<GatherSpec, 'h' | 'wAxis' | 'bias' | 'accumulate' | 'block'>;

/** C.fwd as a gather: outputs are C's output channels, the reduction runs over its input channels */
export function forwardGather(c: ConvGeometry, names: GatherNames): GatherShape {
  return { batch: c.batch, groups: c.groups, outPer: c.outC / c.groups, redPer: c.inC / c.groups, out: names.out, inp: names.inp, inH: c.inH, inW: c.inW, w: names.w, ...forwardWeightStrides(c), kW: c.kW };
}

/** C.dx as a gather over dy: outputs are C's input channels, the reduction runs over its output channels */
export function gradInputGather(c: ConvGeometry, names: GatherNames): GatherShape {
  return { batch: c.batch, groups: c.groups, outPer: c.inC / c.groups, redPer: c.outC / c.groups, out: names.out, inp: names.inp, inH: c.outH, inW: c.outW, w: names.w, ...gradInputWeightStrides(c), kW: c.kW };
}

/** channels, sizes and buffer names of a conv C: in -> out, weight w[co, ci/g, kh, kw] */
export interface ConvBuffers {
  readonly x: string;
  readonly dy: string;
  readonly gw: string;
}

/**
 * gradWeight's index arithmetic, written once for every schedule: rows of dy and x (hoisted
 * per output row), a position in them, and the flat weight index
 */
export function dwIndex(g: ConvGeometry) {
  const cig = g.inC / g.groups;
  const cog = g.outC / g.groups;
  const kk = g.kH * g.kW;
  return {
    /** dy[n, grp*Cog + o0, oh, 0] */
    dyRow: (n: E, grp: E, o0: E, oh: E) => mul(add(mul(add(add(mul(n, g.outC), mul(grp, cog)), o0), g.outH), oh), g.outW),
    /** + channel o of the block, column ow */
    dyAt: (row: E, o: number, ow: E) => add(add(row, o * g.outH * g.outW), ow),
    /** x[n, grp*Cig + r0, ih, 0] */
    xRow: (n: E, grp: E, r0: E, ih: E) => mul(add(mul(add(add(mul(n, g.inC), mul(grp, cig)), r0), g.inH), ih), g.inW),
    /** + the input column of output column ow, input channel ri of the block, the tap's column offset */
    xAt: (row: E, ow: E, ri: number, off: E) => add(add(row, mul(ow, g.strideW)), add(ri * g.inH * g.inW, off)),
    /** dw[co, ci, kh, kw] */
    dwAt: (co: E, ci: E, kh: E, kw: E) => add(mul(co, cig * kk), add(mul(ci, kk), add(mul(kh, g.kW), kw))),
  };
}

/**
 * gradWeight, direct: dW[co, r, kh, kw] = sum_{n, oh, ow} dy[n, co, oh, ow] * x[n, r, oh*sH + offH, ow*sW + offW].
 * Blocked over BLOCK_O output channels x up to 4 taps of one kernel row; each tap row's valid
 * oh range is a constant, so rows need no checks; columns split into an interior loop and
 * border columns at constant positions.
 */
export function gradWeightDirect(g: ConvGeometry, h: Axis, wAxis: Axis, b: ConvBuffers, block: readonly number[], units?: readonly DwUnit[], inv?: DwInvocations): Stmt[] {
  const cig = g.inC / g.groups;
  const cog = g.outC / g.groups;
  // the schedule's block: output channels x input channels (x taps of a kernel row, dwUnits)
  const [bo, rbw] = block as [number, number];
  const fullO = Math.floor(cog / bo);
  const remO = cog - fullO * bo;
  const tapOf = (a: Axis, k: number) => a.taps.find((tp) => tp.k === k);

  const fullR = Math.floor(cig / rbw);
  const remR = cig - fullR * rbw;
  const ix = dwIndex(g);

  /** dW for channels [o0, o0 + bo) x input channels [r0, r0 + rw) */
  const perBlock = (o0: Expr, bo: number, r0: Expr, rw: number): Stmt[] => {
    if (inv) return dwRowInvocations(g, h, wAxis, b, o0, r0, inv);
    const body: Stmt[] = [];
    for (const { kh, kw0, kw1 } of units ?? dwUnits(g)) {
      const th = tapOf(h, kh);
      {
        const kws = Array.from({ length: kw1 - kw0 }, (_, i) => kw0 + i);
        const live = th ? kws.filter((kw) => tapOf(wAxis, kw)) : [];
        const acc = (o: number, ri: number, kw: number) => `acc${kh}_${o}_${ri}_${kw}`;
        for (let o = 0; o < bo; o++) for (let ri = 0; ri < rw; ri++) for (const kw of kws) body.push(var_(acc(o, ri, kw), f32(0)));
        if (th && live.length > 0) {
          const taps = live.map((kw) => tapOf(wAxis, kw)!);
          const lo = Math.max(...taps.map((tp) => tp.lo));
          const hi = Math.max(lo, Math.min(...taps.map((tp) => tp.hi)));
          const pixel = (ow: E, pre: string, staticOw: number | null): Stmt[] => {
            const used = staticOw === null ? taps : taps.filter((tp) => staticOw >= tp.lo && staticOw < tp.hi);
            if (used.length === 0) return [];
            const st: Stmt[] = [];
            for (let o = 0; o < bo; o++) st.push(let_(`${pre}d${o}`, load(b.dy, ix.dyAt(v('dyrow'), o, ow)), 'f32'));
            for (let ri = 0; ri < rw; ri++) {
              for (const tp of used) st.push(let_(`${pre}x${ri}_${tp.k}`, load(b.x, ix.xAt(v('xrow'), ow, ri, tp.off)), 'f32'));
            }
            for (let o = 0; o < bo; o++) {
              for (let ri = 0; ri < rw; ri++) for (const tp of used) st.push(accum(acc(o, ri, tp.k), mul(v(`${pre}d${o}`), v(`${pre}x${ri}_${tp.k}`))));
            }
            return st;
          };
          // few accumulators (depthwise: 1 channel x 3 taps): 4 columns per iteration, each
          // input column loaded once for every tap that reads it (4 + kW - 1 loads at stride 1)
          const U = bo * rw * taps.length < 8 ? BLOCK_W : 1;
          const strip = (ow0: Expr): Stmt[] => {
            const st: Stmt[] = [];
            for (let u = 0; u < U; u++) for (let o = 0; o < bo; o++) st.push(let_(`d${o}_${u}`, load(b.dy, ix.dyAt(v('dyrow'), o, add(ow0, u))), 'f32'));
            const loaded = new Set<string>();
            for (let u = 0; u < U; u++) {
              for (let ri = 0; ri < rw; ri++) {
                for (const tp of taps) {
                  const col = u * g.strideW + tp.off;
                  const name = `x${ri}_${col < 0 ? 'm' + -col : col}`;
                  if (!loaded.has(name)) {
                    loaded.add(name);
                    st.push(let_(name, load(b.x, ix.xAt(v('xrow'), ow0, ri, col)), 'f32'));
                  }
                  for (let o = 0; o < bo; o++) st.push(accum(acc(o, ri, tp.k), mul(v(`d${o}_${u}`), v(name))));
                }
              }
            }
            return st;
          };
          const strips = U > 1 ? Math.floor((hi - lo) / U) : 0;
          const stripEnd = lo + strips * U;
          const borderOws = [
            ...Array.from({ length: lo }, (_, i) => i),
            ...(U > 1 ? Array.from({ length: hi - stripEnd }, (_, i) => stripEnd + i) : []),
            ...Array.from({ length: g.outW - hi }, (_, i) => hi + i),
          ];
          body.push(
            loop('n', 0, g.batch, (n) => [
              loop('oh', th.lo, th.hi, (oh) => [
                // dy[n, g*Cog + o0, oh, 0] and x[n, g*Cig + r0, oh*sH + offH, 0]
                let_('dyrow', ix.dyRow(n, v('g'), o0, oh)),
                let_('xrow', ix.xRow(n, v('g'), r0, add(mul(oh, g.strideH), th.off))),
                ...(U > 1
                  ? strips > 0
                    ? [loop('sb', 0, strips, (sb) => [let_('ow0', add(mul(sb, U), lo)), ...strip(v('ow0'))])]
                    : []
                  : hi > lo
                    ? [loop('ow', lo, hi, (ow) => pixel(ow, '', null))]
                    : []),
                ...borderOws.flatMap((ow) => pixel(ow, `e${ow}_`, ow)),
              ]),
            ]),
          );
        }
        for (let o = 0; o < bo; o++) {
          for (let ri = 0; ri < rw; ri++) {
            for (const kw of kws) {
              const idx = ix.dwAt(add(add(mul(v('g'), cog), o0), o), add(r0, ri), kh, kw);
              body.push(store(b.gw, idx, v(acc(o, ri, kw))));
            }
          }
        }
      }
    }
    return body;
  };

  const perOBlock = (o0: Expr, bo: number): Stmt[] => [
    parallel('rb', 0, fullR, (rb) => [let_('r0', mul(rb, rbw)), ...perBlock(o0, bo, v('r0'), rbw)]),
    ...(remR > 0 ? perBlock(o0, bo, i32(fullR * rbw), remR) : []),
  ];

  return [
    parallel('g', 0, g.groups, () => [
      parallel('ob', 0, fullO, (ob) => [let_('o0', mul(ob, bo)), ...perOBlock(v('o0'), bo)]),
      ...(remO > 0 ? perOBlock(i32(fullO * bo), remO) : []),
    ]),
  ];
}

/**
 * gradWeight under the GPU's schedule (pixels as invocations; block [1, 1]): the kernel
 * rows (and a wide window's columns) become invocations too, and their checks move inside
 */
export interface DwInvocations {
  /** taps per kernel row each invocation sums; a row of more makes its columns invocations */
  readonly tapUnroll: number;
  /** the bias gradient (the sum of dy) rides along: buffer name, or null */
  readonly gb: string | null;
}

/**
 * gradWeightDirect's block of one output channel x one input channel in the GPU's order:
 * one invocation per kernel row (and column past tapUnroll), summing over every sample,
 * row and column, the row checked where some kernel row can leave the input, each column
 * tap where it can (interval analysis). With `gb`, the invocation of tap row 0 (and column
 * 0) of input channel 0 sums dy too. Split-K is a transform of this nest (ir/split-reduction.ts)
 */
function dwRowInvocations(c: ConvGeometry, h: Axis, w: Axis, b: ConvBuffers, o0: Expr, r0: Expr, inv: DwInvocations): Stmt[] {
  const ix = dwIndex(c);
  const kwPar = c.kW > inv.tapUnroll;
  // rows of the window that some output row reads inside the input; the rest stay 0
  const hNeedsCheck = h.taps.length < c.kH || h.lo > 0 || h.hi < h.T;
  const wNeedsCheck = w.taps.length < c.kW || w.lo > 0 || w.hi < w.T;
  const acc = (kw: number | null) => (kw === null ? 'a' : `a${kw}`);
  // a column tap's offset when the columns are invocations (kw a variable)
  const kwOff = sub(mul(v('kw'), c.dilationW), c.pad.left);
  const taps: Stmt[] = kwPar
    ? [
        // the input column tap kw reads, checked where some tap can leave the input
        ...(wNeedsCheck ? [let_('iw', add(mul(v('ow'), c.strideW), kwOff))] : []),
        ...((body: Stmt[]) => (wNeedsCheck ? [if_(and(ge(v('iw'), 0), lt(v('iw'), c.inW)), body)] : body))([accum(acc(null), mul(v('d'), load(b.x, ix.xAt(v('xrow'), v('ow'), 0, kwOff))))]),
      ]
    : w.taps.flatMap((t) => {
        const sum = accum(acc(t.k), mul(v('d'), load(b.x, ix.xAt(v('xrow'), v('ow'), 0, t.off))));
        const cond = tapCond(w, t, v('ow'));
        return cond === null ? [sum] : [if_(cond, [sum])];
      });
  const ih = add(sub(mul(v('oh'), c.strideH), c.pad.top), mul(v('kh'), c.dilationH));
  const perRow: Stmt[] = [
    let_('dyrow', ix.dyRow(v('n'), v('g'), o0, v('oh'))),
    let_('ih', ih),
    ...(hNeedsCheck ? [let_('inside', and(ge(v('ih'), 0), lt(v('ih'), c.inH)))] : []),
    let_('xrow', ix.xRow(v('n'), v('g'), r0, v('ih'))),
    loop('ow', 0, c.outW, (ow) => [
      let_('d', load(b.dy, ix.dyAt(v('dyrow'), 0, ow)), 'f32'),
      ...(inv.gb ? [accum('ab', v('d'))] : []),
      ...(hNeedsCheck ? [if_(v('inside'), taps)] : taps),
    ]),
  ];
  const accs = kwPar ? [null] : Array.from({ length: c.kW }, (_, kw) => kw);
  const co = add(mul(v('g'), c.outC / c.groups), o0);
  const body: Stmt[] = [
    ...accs.map((kw) => var_(acc(kw), f32(0))),
    ...(inv.gb ? [var_('ab', f32(0))] : []),
    loop('n', 0, c.batch, () => [loop('oh', 0, c.outH, () => perRow)]),
    ...accs.map((kw) => store(b.gw, ix.dwAt(co, r0, v('kh'), kw ?? v('kw')), v(acc(kw)))),
    ...(inv.gb ? [if_(and(eq(r0, 0), eq(v('kh'), 0), ...(kwPar ? [eq(v('kw'), 0)] : [])), [store(inv.gb, co, v('ab'))])] : []),
  ];
  return [parallel('kh', 0, c.kH, () => (kwPar ? [parallel('kw', 0, c.kW, () => body)] : body))];
}

/** one block of dW taps: kernel row kh, columns [kw0, kw1) (at most BLOCK_W) */
export interface DwUnit {
  readonly kh: number;
  readonly kw0: number;
  readonly kw1: number;
}

/** dW's tap blocks, in order; a kernel may take any subset (they write disjoint weights) */
export function dwUnits(g: ConvGeometry): DwUnit[] {
  const out: DwUnit[] = [];
  for (let kh = 0; kh < g.kH; kh++) for (const [c0, cw] of chunks(0, g.kW, BLOCK_W)) out.push({ kh, kw0: c0, kw1: c0 + cw });
  return out;
}

/**
 * gradBias: db[c] = sum over batch and space of dy[n, c, :, :], written once for every
 * target: one accumulator per channel runs over the batch (the wgsl schedule's split by
 * sample is a transform of this nest, ir/split-reduction.ts)
 */
export function gradBiasStmts(batch: number, channels: number, spatial: number, dy: string, db: string): Stmt[] {
  const row = (n: Expr, c: Expr): Stmt[] => [
    let_('base', mul(add(mul(n, channels), c), spatial)),
    loop('p', 0, spatial, (p) => [accum('acc', load(dy, add(v('base'), p)))]),
  ];
  return [parallel('c', 0, channels, (c) => [var_('acc', f32(0)), loop('n', 0, batch, (n) => row(n, c)), store(db, c, v('acc'))])];
}
