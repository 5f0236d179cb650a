// split-K as a transform (src/ir/split-reduction.ts): the split nest computes, bit for bit,
// each chunk's sum in the original loop order and then the chunks' sums in chunk order, and
// refuses a nest it cannot cut.
import { describe, expect, it } from 'vitest';
import { accum, add, buf, f32, kernel, let_, load, loop, mul, parallel, store, v, var_ } from '../src/ir/build.ts';
import type { Stmt } from '../src/ir/types.ts';
import { splitReduction } from '../src/ir/split-reduction.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';

const C = 3;
const N = 4;
const P = 6;

/** s[c] = sum over n, p of a[n, c, p]; q[c] = the sum of the squares */
const nest = (): Stmt[] => [
  parallel('c', 0, C, (c) => [
    var_('s', f32(0)),
    var_('ss', f32(0)),
    loop('n', 0, N, (n) => [
      let_('base', mul(add(mul(n, C), c), P)),
      loop('p', 0, P, (p) => [let_('x', load('a', add(v('base'), p)), 'f32'), accum('s', v('x')), accum('ss', mul(v('x'), v('x')))]),
    ]),
    store('sum', c, v('s')),
    store('sq', c, v('ss')),
  ]),
];

describe('splitReduction', () => {
  it('sums each chunk in loop order, then the chunks in order (bit for bit)', () => {
    const nb = 2;
    const pb = 3;
    // data on which another order gives other bits: in each chunk's order B, -B, s, B, -B, s'
    // sums to s' (s is lost next to B) and backwards to 0; the chunks' sums B2, -B2, t, u add
    // up to t + u, and backwards to 0
    const B = 1e18;
    const B2 = 1e17;
    const a = new Float32Array(N * C * P);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let p = 0; p < P; p++) {
          const q = Math.floor(n / nb) * (P / pb) + Math.floor(p / pb);
          const last = n % nb === nb - 1 && p % pb === pb - 1;
          const small = 1 + 0.25 * ((n * C + c) * P + p);
          a[(n * C + c) * P + p] = p % 3 === 0 ? B : p % 3 === 1 ? -B : last && q === 0 ? B2 : last && q === 1 ? -B2 : small;
        }
      }
    }
    const r = splitReduction(nest(), { loops: [{ v: 'n', size: N, chunk: nb }, { v: 'p', size: P, chunk: pb }], outputs: [{ buf: 'sum', length: C }, { buf: 'sq', length: C }], partial: 'part' });
    expect(r.chunks).toBe((N / nb) * (P / pb));
    expect(r.partialLength).toBe(r.chunks * 2 * C);
    const k = kernel({ name: 'split_test', doc: [], buffers: [buf('a', a.length, 'read'), buf('part', r.partialLength, 'read_write'), buf('sum', C, 'write'), buf('sq', C, 'write')], body: r.stmts });
    const out = runTsKernel(k, { a, part: new Float32Array(r.partialLength), sum: new Float32Array(C), sq: new Float32Array(C) });
    // the ts renderer sums in doubles and rounds to f32 where it stores
    const f = Math.fround;
    for (let c = 0; c < C; c++) {
      let s = 0;
      let ss = 0;
      for (let qn = 0; qn < N / nb; qn++) {
        for (let qp = 0; qp < P / pb; qp++) {
          let cs = 0;
          let css = 0;
          for (let n = qn * nb; n < (qn + 1) * nb; n++) {
            for (let p = qp * pb; p < (qp + 1) * pb; p++) {
              const x = a[(n * C + c) * P + p]!;
              cs += x;
              css += x * x;
            }
          }
          // the partial goes through the f32 buffer
          s += f(cs);
          ss += f(css);
        }
      }
      expect(out.sum![c]).toBe(f(s));
      expect(out.sq![c]).toBe(f(ss));
    }
  });

  it('refuses a loop it cannot cut', () => {
    const sum = [{ buf: 'sum', length: C }];
    expect(() => splitReduction(nest(), { loops: [{ v: 'm', size: N, chunk: 2 }], outputs: sum, partial: 'part' })).toThrow(/no loop m/);
    expect(() => splitReduction(nest(), { loops: [{ v: 'p', size: P, chunk: 4 }], outputs: sum, partial: 'part' })).toThrow(/6 in chunks of 4/);
    expect(() => splitReduction(nest(), { loops: [{ v: 'p', size: 5, chunk: 1 }], outputs: sum, partial: 'part' })).toThrow(/does not run over 0..5/);
  });

  // what the cut would get silently wrong: a running sum kept in the output, a store inside a
  // cut loop, a name the cut adds already in use
  it('refuses a nest that reads its output, stores it inside a cut loop, or uses the names it adds', () => {
    const sum = [{ buf: 'sum', length: C }];
    const running: Stmt[] = [parallel('c', 0, C, (c) => [store('sum', c, f32(0)), loop('n', 0, N, (n) => [store('sum', c, add(load('sum', c), load('a', add(mul(n, C), c))))])])];
    expect(() => splitReduction(running, { loops: [{ v: 'n', size: N, chunk: 2 }], outputs: sum, partial: 'part' })).toThrow(/reads its output sum/);
    const inside: Stmt[] = [parallel('c', 0, C, (c) => [var_('s', f32(0)), loop('n', 0, N, (n) => [accum('s', load('a', add(mul(n, C), c))), store('sum', c, v('s'))])])];
    expect(() => splitReduction(inside, { loops: [{ v: 'n', size: N, chunk: 2 }], outputs: sum, partial: 'part' })).toThrow(/a store into sum inside a cut loop/);
    const clash: Stmt[] = [parallel('c', 0, C, (c) => [var_('s', f32(0)), let_('n0', 0), loop('n', 0, N, (n) => [accum('s', load('a', add(add(mul(n, C), c), v('n0'))))]), store('sum', c, v('s'))])];
    expect(() => splitReduction(clash, { loops: [{ v: 'n', size: N, chunk: 2 }], outputs: sum, partial: 'part' })).toThrow(/already uses the name n0/);
    // the same nest without the clash is cut
    expect(() => splitReduction(nest(), { loops: [{ v: 'n', size: N, chunk: 2 }], outputs: sum, partial: 'part' })).not.toThrow();
  });
});
