// A register-blocked GEMM as IR: C[m, n] = bias[n] + sum_r A[m, r] * B[r, n], with every
// operand addressed by constant strides, so the same builder serves im2row forward
// (cols · wᵀ), dW (dyᵀ · cols), dcols (dy · w) and, for the other kernels, linear layers.
//
// Blocks of 4 x 4 accumulators: per reduction step 4 loads of A, 4 of B, 16 multiply-adds,
// which is what a JIT keeps in registers. Remainder rows/columns get their own smaller
// blocks at constant positions (no masks in the hot loop).

import type { Expr, Stmt } from '../ir/types.ts';
import { accum, add, and, barrier, comment, f32, i32, idiv, if_, let_, load, loop, lt, mod, mul, parallel, store, unrolled, v, var_ } from '../ir/build.ts';

import { GEMM_BM, GEMM_BN, type GemmTile } from '../plan/schedule.ts';

/** an outer (batch) dimension: its index steps each operand by a constant */
export interface GemmBatchDim {
  readonly size: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly bias?: number;
}

/** a reduction dimension (outer to inner; the innermost should be the contiguous one) */
export interface GemmRedDim {
  readonly size: number;
  readonly a: number;
  readonly b: number;
}

export interface GemmSpec {
  readonly batch: readonly GemmBatchDim[];
  readonly M: number;
  readonly N: number;
  readonly red: readonly GemmRedDim[];
  /** A[m, r] at offset + sum(batch * a) + m * mStride + sum(red * a) (offset: 0 unless given) */
  readonly a: { readonly buf: string; readonly mStride: number; readonly offset?: number };
  /** blockStride: B's column block at n0 starts at n0 * blockStride (packed column panels; default nStride) */
  readonly b: { readonly buf: string; readonly nStride: number; readonly offset?: number; readonly blockStride?: number };
  /** accumulate: C += A · B (a split reduction's later blocks) rather than C = */
  readonly c: { readonly buf: string; readonly mStride: number; readonly nStride: number; readonly offset?: number; readonly accumulate?: boolean };
  /** bias[n] at offset + sum(batch * bias) + n * nStride */
  readonly bias?: { readonly buf: string; readonly nStride: number; readonly offset?: number };
  /** the register block [rows, columns] (a conv's schedule; default 4 x 4, less where M or N is smaller) */
  readonly block?: readonly number[];
  /** loop over n-blocks outside m-blocks (keeps B's column panel in cache; default: m outside) */
  readonly nOuter?: boolean;
}

export function gemmStmts(s: GemmSpec): Stmt[] {
  if (s.c.accumulate && s.bias) throw new Error('gemm: an accumulating GEMM adds no bias');
  let blockId = 0;

  const blk = (m0: Expr, bm: number, n0: Expr, bn: number): Stmt[] => {
    const id = blockId++;
    const acc = (i: number, j: number) => `acc${id}_${i}${j}`;
    const st: Stmt[] = [];
    const cIdx = (i: number, j: number) => add(add(v('cb'), mul(add(m0, i), s.c.mStride)), mul(add(n0, j), s.c.nStride));
    for (let j = 0; j < bn; j++) {
      if (s.bias) st.push(let_(`bv${id}_${j}`, load(s.bias.buf, add(v('biasb'), mul(add(n0, j), s.bias.nStride))), 'f32'));
    }
    const init = (i: number, j: number) => (s.c.accumulate ? load(s.c.buf, cIdx(i, j)) : s.bias ? v(`bv${id}_${j}`) : f32(0));
    for (let i = 0; i < bm; i++) for (let j = 0; j < bn; j++) st.push(var_(acc(i, j), init(i, j)));
    st.push(let_(`ai${id}`, add(v('ab'), mul(m0, s.a.mStride))), let_(`bi${id}`, add(v('bb'), mul(n0, s.b.blockStride ?? s.b.nStride))));
    // the reduction nest: each level offsets A and B by its stride
    const nest = (level: number, aIdx: Expr, bIdx: Expr): Stmt[] => {
      if (level === s.red.length) {
        const inner: Stmt[] = [];
        for (let i = 0; i < bm; i++) inner.push(let_(`a${i}`, load(s.a.buf, add(aIdx, i * s.a.mStride)), 'f32'));
        for (let j = 0; j < bn; j++) {
          inner.push(let_(`b${j}`, load(s.b.buf, add(bIdx, j * s.b.nStride)), 'f32'));
          for (let i = 0; i < bm; i++) inner.push(accum(acc(i, j), mul(v(`a${i}`), v(`b${j}`))));
        }
        return inner;
      }
      const d = s.red[level];
      const name = `k${level}`;
      return [
        loop(name, 0, d.size, (k) => {
          if (level === s.red.length - 1) return nest(level + 1, add(aIdx, mul(k, d.a)), add(bIdx, mul(k, d.b)));
          // outer reduction levels: hoist their offsets into locals
          return [
            let_(`ao${level}`, add(aIdx, mul(k, d.a))),
            let_(`bo${level}`, add(bIdx, mul(k, d.b))),
            ...nest(level + 1, v(`ao${level}`), v(`bo${level}`)),
          ];
        }),
      ];
    };
    st.push(...nest(0, v(`ai${id}`), v(`bi${id}`)));
    for (let i = 0; i < bm; i++) {
      for (let j = 0; j < bn; j++) {
        st.push(store(s.c.buf, cIdx(i, j), v(acc(i, j))));
      }
    }
    return st;
  };

  // the output in blocks: m-blocks outside n-blocks, or (nOuter) the other way round, so the
  // operand whose block is re-read by every inner iteration is the one that stays in cache
  const bm = s.block?.[0] ?? Math.min(GEMM_BM, s.M);
  const bn = s.block?.[1] ?? Math.min(GEMM_BN, s.N);
  const outer = s.nOuter ? { size: s.N, b: bn, v: 'nb', o: 'n0' } : { size: s.M, b: bm, v: 'mb', o: 'm0' };
  const inner = s.nOuter ? { size: s.M, b: bm, v: 'mb', o: 'm0' } : { size: s.N, b: bn, v: 'nb', o: 'n0' };
  const at = (o: Expr, ob: number, i: Expr, ib: number) => (s.nOuter ? blk(i, ib, o, ob) : blk(o, ob, i, ib));
  const innerLoop = (o: Expr, ob: number): Stmt[] => {
    const full = Math.floor(inner.size / inner.b);
    const rem = inner.size - full * inner.b;
    return [
      parallel(inner.v, 0, full, (q) => [let_(inner.o, mul(q, inner.b)), ...at(o, ob, v(inner.o), inner.b)]),
      ...(rem > 0 ? at(o, ob, i32(full * inner.b), rem) : []),
    ];
  };
  const rows = (): Stmt[] => {
    const full = Math.floor(outer.size / outer.b);
    const rem = outer.size - full * outer.b;
    return [
      parallel(outer.v, 0, full, (q) => [let_(outer.o, mul(q, outer.b)), ...innerLoop(v(outer.o), outer.b)]),
      ...(rem > 0 ? innerLoop(i32(full * outer.b), rem) : []),
    ];
  };

  // the batch nest: each level offsets every operand; the innermost level names the bases
  const batchNest = (level: number, idx: { ab: Expr; bb: Expr; cb: Expr; biasb: Expr }): Stmt[] => {
    if (level === s.batch.length) {
      return [
        let_('ab', idx.ab),
        let_('bb', idx.bb),
        let_('cb', idx.cb),
        ...(s.bias ? [let_('biasb', idx.biasb)] : []),
        ...rows(),
      ];
    }
    const d = s.batch[level];
    return [
      parallel(`bt${level}`, 0, d.size, (q) =>
        batchNest(level + 1, {
          ab: add(idx.ab, mul(q, d.a)),
          bb: add(idx.bb, mul(q, d.b)),
          cb: add(idx.cb, mul(q, d.c)),
          biasb: add(idx.biasb, mul(q, d.bias ?? 0)),
        }),
      ),
    ];
  };
  return batchNest(0, { ab: i32(s.a.offset ?? 0), bb: i32(s.b.offset ?? 0), cb: i32(s.c.offset ?? 0), biasb: i32(s.bias?.offset ?? 0) });
}

/** the conjunction of the conditions present (null: none, always true) */
const allOf = (...cs: (Expr | null)[]): Expr | null => {
  const xs = cs.filter((x): x is Expr => x !== null);
  return xs.length ? and(...xs) : null;
};

/**
 * the same product (one GemmSpec: the operands, strides and bias of gemmStmts) under the
 * GPU's schedule, a workgroup tile (plan/schedule.ts gemmTile): one workgroup per (batch
 * index, tile of tm rows x tn columns); per step of tk along the reduction the workgroup
 * stages the A tile and the B tile in workgroup memory, meets at a barrier, and each
 * invocation accumulates its rm x rn outputs from the staged tiles. One reduction dimension
 * (the staged one), no accumulate.
 */
export function tiledGemmStmts(s: GemmSpec, tile: GemmTile): { stmts: Stmt[]; size: number; shared: { name: string; t: 'f32'; length: number }[] } {
  if (s.red.length !== 1 || s.c.accumulate) throw new Error('gemm: a tiled GEMM stages one reduction dimension and writes C');
  const { M, N } = s;
  const { size: K, a: ka, b: kb } = s.red[0]!;
  const { tm, tn, tk, rm, rn, size } = tile;
  const kTiles = Math.ceil(K / tk);
  // invocation (li, lj) computes rows li + i*sm and columns lj + j*sn of the tile: strided,
  // so neighbouring invocations read neighbouring words of A and write neighbouring rows
  const sm = tm / rm;
  const sn = tn / rn;
  const is = Array.from({ length: rm }, (_, i) => i);
  const js = Array.from({ length: rn }, (_, j) => j);
  const acc = (i: number, j: number) => `acc${i}_${j}`;
  // stage a rows x tk tile: element e of the pass is (row e / tk, column e % tk), so neighbouring
  // invocations read neighbouring columns of K (contiguous in A and B); `at` places it
  const stage = (buf: string, rows: number, rowOk: (row: Expr) => Expr | null, src: (row: Expr, k: Expr) => Expr, at: (row: Expr, kk: Expr) => Expr): Stmt[] => {
    const count = rows * tk;
    const body = (e: Expr): Stmt[] => {
      const row = idiv(add(v('local'), mul(e, size)), tk);
      const kk = mod(add(v('local'), mul(e, size)), tk);
      const k = add(v('k0'), kk);
      const cond = allOf(rowOk(row), K % tk === 0 ? null : lt(k, K));
      const put = (val: Expr) => store(buf, at(row, kk), val);
      const fill = cond ? if_(cond, [put(src(row, k))], [put(f32(0))]) : put(src(row, k));
      // a tile that is not a multiple of the workgroup: the last pass leaves some invocations idle
      return count % size === 0 ? [fill] : [if_(lt(add(v('local'), mul(e, size)), count), [fill])];
    };
    return [unrolled('e', 0, Math.ceil(count / size), body)];
  };
  const body: Stmt[] = [
    let_('li', mod(v('local'), sm)),
    let_('lj', idiv(v('local'), sm)),
    ...is.flatMap((i) => js.map((j) => var_(acc(i, j), f32(0)))),
    loop('kt', 0, kTiles, (kt) => [
      let_('k0', mul(kt, tk)),
      // A as [k][row]: in the product, neighbouring invocations (neighbouring rows) read
      // neighbouring words; B as [column][k]: an invocation group shares its columns (a broadcast)
      ...stage('As', tm, (row) => (M % tm === 0 ? null : lt(add(v('m0'), row), M)), (row, k) => load(s.a.buf, add(v('ab'), add(mul(add(v('m0'), row), s.a.mStride), mul(k, ka)))), (row, kk) => add(mul(kk, tm), row)),
      ...stage('Bs', tn, (row) => (N % tn === 0 ? null : lt(add(v('n0'), row), N)), (row, k) => load(s.b.buf, add(v('bb'), add(mul(add(v('n0'), row), s.b.nStride), mul(k, kb)))), (row, kk) => add(mul(row, tk), kk)),
      barrier(),
      unrolled('kk', 0, tk, (kk) => [
        ...is.map((i) => let_(`a${i}`, load('As', add(mul(kk, tm), add(v('li'), i * sm))), 'f32')),
        ...js.map((j) => let_(`b${j}`, load('Bs', add(mul(add(v('lj'), j * sn), tk), kk)), 'f32')),
        ...is.flatMap((i) => js.map((j) => accum(acc(i, j), mul(v(`a${i}`), v(`b${j}`))))),
      ]),
      barrier(),
    ]),
    ...is.flatMap((i) =>
      js.flatMap((j) => {
        const m = add(v('m0'), add(v('li'), i * sm));
        const n = add(v('n0'), add(v('lj'), j * sn));
        const value = s.bias ? add(v(acc(i, j)), load(s.bias.buf, add(v('biasb'), mul(n, s.bias.nStride)))) : v(acc(i, j));
        const put = store(s.c.buf, add(v('cb'), add(mul(m, s.c.mStride), mul(n, s.c.nStride))), value);
        const cond = allOf(M % tm === 0 ? null : lt(m, M), N % tn === 0 ? null : lt(n, N));
        return cond ? [if_(cond, [put])] : [put];
      }),
    ),
  ];
  const mTiles = Math.ceil(M / tm);
  const nTiles = Math.ceil(N / tn);
  // the workgroup loops: the batch dimensions, then the tiles; the operands' bases inside
  const bt = s.batch.map((_, l) => v(`bt${l}`));
  const base = (pick: (d: GemmBatchDim) => number, offset = 0) => s.batch.reduce<Expr>((e, d, l) => add(e, mul(bt[l]!, pick(d))), i32(offset));
  const bases: Stmt[] = [
    let_('ab', base((d) => d.a, s.a.offset)),
    let_('bb', base((d) => d.b, s.b.offset)),
    let_('cb', base((d) => d.c, s.c.offset)),
    ...(s.bias ? [let_('biasb', base((d) => d.bias ?? 0, s.bias.offset))] : []),
  ];
  const tiles = parallel('tmi', 0, mTiles, (tmi) => [parallel('tni', 0, nTiles, (tni) => [let_('m0', mul(tmi, tm)), let_('n0', mul(tni, tn)), ...bases, ...body])]);
  const nest = s.batch.reduceRight<Stmt>((inner, d, l) => parallel(`bt${l}`, 0, d.size, () => [inner]), tiles);
  const stmts = [comment(`tiles of ${tm} x ${tn} outputs, ${tk} deep along K = ${K} (${kTiles} step${kTiles === 1 ? '' : 's'}), staged in workgroup memory; ${rm} x ${rn} outputs per invocation`), nest];
  return { stmts, size, shared: [{ name: 'As', t: 'f32', length: tm * tk }, { name: 'Bs', t: 'f32', length: tn * tk }] };
}
