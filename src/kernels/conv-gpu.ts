// The GPU schedule's loop shapes for the two conv algorithms whose nest a GPU needs in
// another order (the schedule's pixels = invocations): the gather and the split-K
// grad-weight reduction. Their index arithmetic is not here: they address through
// conv-direct.ts's gatherIndex and dwIndex, as the TS kernels do. The other algorithms are
// one description under either schedule: the im2row copy (conv-im2row.ts im2rowStmts), the
// GEMM (gemm.ts: register blocks or workgroup tiles of one GemmSpec), the grad-bias sum
// (conv-direct.ts gradBiasStmts, split by sample).
//
// The TS kernels unroll whole windows and 4x4 output blocks into straight-line code with
// constant offsets, which V8 turns into fast loops-free code. A GPU wants the opposite:
// many independent invocations, each running a short loop, in a shader small enough to
// compile quickly (lavapipe's LLVM took minutes on the TS-shaped ones). So here:
//
//   forward / gradInput (gather): one invocation per (sample, block of up to 4 output
//     channels, output pixel); a plain loop over the reduced channels; the window's taps
//     unrolled with constant weight offsets, range checks only on taps that can leave the
//     input (interval analysis of conv-axes.ts). C.dx runs one dispatch per stride phase
//     with that phase's static taps: no invocation visits a tap that cannot contribute and
//     no modulo test decides validity.
//   gradWeight (im2row(x)ᵀ · dY, reduced over K = batch x output pixels): split-K in two
//     dispatches, deterministic and without atomics. Pass 1: one invocation per (chunk of
//     K, co, ci, kh) sums its chunk for the kW taps of that row into a partials buffer;
//     pass 2: one invocation per weight sums the chunks in a fixed order. The bias gradient
//     (the sum of dY) rides along in pass 1 and pass 2 as one extra column per co.
//   An axis of more than the schedule's tapUnroll taps loops over them instead (gather), or
//     makes them invocations (split-K pass 1), to keep shaders small.
//
// The blocks, tiles and chunks come from the schedule (src/plan/schedule.ts); the layer's
// program, with its buffers and names, from conv.ts, the one driver for every target.

import type { ConvGeometry } from '../plan/types.ts';
import type { Stmt } from '../ir/types.ts';
import { accum, add, and, comment, eq, f32, ge, idiv, if_, let_, load, loop, lt, mod, mul, parallel, store, sub, v, var_, type E } from '../ir/build.ts';
import { convForwardAxes, convGradInputAxes, type Axis } from '../plan/conv-axes.ts';
import { dwIndex, forwardGather, gatherIndex, gradInputGather, tapCond, type GatherNames, type GatherSpec } from './conv-direct.ts';
import type { ConvKernelSchedule, SplitK } from '../plan/schedule.ts';

/** a serial loop over [0, n), or for n = 1 its body with the variable bound to 0 */
const serial = (name: string, n: number, body: Stmt[]): Stmt[] => (n === 1 ? [let_(name, 0), ...body] : [loop(name, 0, n, () => body)]);

const guarded = (cond: E | null, body: Stmt[]): Stmt[] => (cond === null ? body : [if_(cond, body)]);

/** some tap of the axis reads outside the input at some position (its interior is not all of it) */
const leaves = (a: Axis): boolean => a.lo > 0 || a.hi < a.T;

/**
 * C.dw (and, with `gb`, the bias gradient of C's output channels) as split-K in two nests:
 * pass 1 writes partials[q, co, ci*kk + kh*kW + kw] (+ [q, co, Cig*kk] = sum of dy), pass 2
 * sums them over q in order
 */
export function gpuGradWeightStmts(c: ConvGeometry, names: { x: string; dy: string; gw: string; gb: string | null; partial: string }, split: SplitK, tapUnroll: number): { stmts: Stmt[]; partialLength: number; chunks: number } {
  const cig = c.inC / c.groups;
  const cog = c.outC / c.groups;
  const kk = c.kH * c.kW;
  const R = cig * kk;
  const RB = R + (names.gb ? 1 : 0);
  const { h, w } = convForwardAxes(c);
  // a wide window's columns become invocations too (one accumulator each) instead of kW accumulators per invocation
  const kwPar = c.kW > tapUnroll;
  const { nb, bh, chunks } = split;
  const qh = c.outH / bh;
  const kws = Array.from({ length: c.kW }, (_, k) => k);
  const tapW = new Map(w.taps.map((t) => [t.k, t]));
  // rows of the window that some output row reads inside the input; the rest stay 0
  const hNeedsCheck = h.taps.length < c.kH || leaves(h);
  const wNeedsCheck = w.taps.length < c.kW || leaves(w);
  const ih = add(sub(mul(v('oh'), c.strideH), c.pad.top), mul(v('kh'), c.dilationH));
  const acc = (kw: number | null) => (kw === null ? 'a' : `a${kw}`);
  const ix = dwIndex(c);
  // a column tap's offset when the columns are invocations (kw a variable)
  const kwOff = sub(mul(v('kw'), c.dilationW), c.pad.left);

  const taps: Stmt[] = kwPar
    ? [
        // the input column tap kw reads, checked where some tap can leave the input
        ...(wNeedsCheck ? [let_('iw', add(mul(v('ow'), c.strideW), kwOff))] : []),
        ...guarded(wNeedsCheck ? and(ge(v('iw'), 0), lt(v('iw'), c.inW)) : null, [accum(acc(null), mul(v('d'), load(names.x, ix.xAt(v('xrow'), v('ow'), 0, kwOff))))]),
      ]
    : kws.flatMap((kw) => {
        const t = tapW.get(kw);
        if (!t) return [];
        return guarded(tapCond(w, t, v('ow')), [accum(acc(kw), mul(v('d'), load(names.x, ix.xAt(v('xrow'), v('ow'), 0, t.off))))]);
      });
  const perRow: Stmt[] = [
    let_('oh', add(v('oh0'), v('ohh'))),
    let_('dyrow', ix.dyRow(add(v('n0'), v('nn')), 0, v('co'), v('oh'))),
    ...(hNeedsCheck ? [let_('ih', ih), let_('inside', and(ge(v('ih'), 0), lt(v('ih'), c.inH)))] : [let_('ih', ih)]),
    let_('xrow', ix.xRow(add(v('n0'), v('nn')), v('g'), v('ci'), v('ih'))),
    loop('ow', 0, c.outW, (ow) => [
      let_('d', load(names.dy, ix.dyAt(v('dyrow'), 0, ow)), 'f32'),
      ...(names.gb ? [accum('ab', v('d'))] : []),
      ...(hNeedsCheck ? [if_(v('inside'), taps)] : taps),
    ]),
  ];
  const accs = kwPar ? [null] : kws;
  const body: Stmt[] = [
    let_('g', c.groups === 1 ? 0 : idiv(v('co'), cog)),
    let_('n0', mul(idiv(v('q'), qh), nb)),
    let_('oh0', mul(mod(v('q'), qh), bh)),
    ...accs.map((kw) => var_(acc(kw), f32(0))),
    ...(names.gb ? [var_('ab', f32(0))] : []),
    ...serial('nn', nb, serial('ohh', bh, perRow)),
    // partial[q, co, j] with j the weight's index within its output channel
    let_('pb', add(mul(add(mul(v('q'), c.outC), v('co')), RB), ix.dwAt(0, v('ci'), v('kh'), 0))),
    ...accs.map((kw) => store(names.partial, add(v('pb'), kw ?? v('kw')), v(acc(kw)))),
    ...(names.gb ? [if_(and(eq(v('ci'), 0), eq(v('kh'), 0), ...(kwPar ? [eq(v('kw'), 0)] : [])), [store(names.partial, add(mul(add(mul(v('q'), c.outC), v('co')), RB), R), v('ab'))])] : []),
  ];
  const pass1 = parallel('q', 0, chunks, () => [
    parallel('co', 0, c.outC, () => [
      parallel('ci', 0, cig, () => [parallel('kh', 0, c.kH, () => (kwPar ? [parallel('kw', 0, c.kW, () => body)] : body))]),
    ]),
  ]);
  const pass2 = parallel('co', 0, c.outC, (co) => [
    parallel('j', 0, RB, (j) => [
      var_('s', f32(0)),
      loop('q', 0, chunks, (q) => [accum('s', load(names.partial, add(mul(add(mul(q, c.outC), co), RB), j)))]),
      ...(names.gb ? [if_(lt(j, R), [store(names.gw, add(ix.dwAt(co, 0, 0, 0), j), v('s'))], [store(names.gb, co, v('s'))])] : [store(names.gw, add(ix.dwAt(co, 0, 0, 0), j), v('s'))]),
    ]),
  ]);
  return {
    stmts: [comment(`pass 1: ${chunks} chunks of ${nb} sample(s) x ${bh} row(s) x ${c.outW} columns, one invocation per (chunk, co, ci, kh${kwPar ? ', kw' : ''})`), pass1, comment(`pass 2: the ${chunks} partials of each weight${names.gb ? ' and bias' : ''}, summed in order`), pass2],
    partialLength: chunks * c.outC * RB,
    chunks,
  };
}
