// split-K as a transform of a reduction nest (Halide's rfactor), deterministic and without
// atomics. The nest computes its outputs by serial reduction loops (`for n in 0..batch`,
// `for oh in 0..outH`) inside parallel loops over the outputs, and stores each sum once.
// Cut each named reduction loop into chunks x within-chunk; the chunks become one more
// parallel loop `q` outside the nest (pass 1), and every store into an output becomes a
// store of that chunk's partial sum, partial[q, offset of the output + index]. Pass 2, one
// invocation per output element, sums its chunks' partials in the order of q: the result
// does not depend on how the GPU schedules the invocations.

import type { Stmt } from './types.ts';
import { exprsOf, loadsOf } from './walk.ts';
import { accum, add, comment, f32, idiv, if_, let_, load, loop, lt, mod, mul, parallel, store, sub, v, var_, type E } from './build.ts';

export interface ReductionSplit {
  /** the reduction loops to cut, outer first: serial `for v in 0..size`, in chunks of `chunk` iterations (dividing size) */
  readonly loops: readonly { readonly v: string; readonly size: number; readonly chunk: number }[];
  /** the nest's outputs; their partials lie in this order within a chunk's row */
  readonly outputs: readonly { readonly buf: string; readonly length: number }[];
  /** the partials buffer, [chunk][outputs] */
  readonly partial: string;
}

/** pass 1 (the nest with its reduction cut into chunks, each writing partials) and pass 2 (their sum in order) */
export function splitReduction(nest: readonly Stmt[], s: ReductionSplit): { stmts: Stmt[]; partialLength: number; chunks: number } {
  const counts = s.loops.map((l) => {
    if (l.size % l.chunk !== 0) throw new Error(`split reduction: loop ${l.v} of ${l.size} in chunks of ${l.chunk}`);
    return l.size / l.chunk;
  });
  const chunks = counts.reduce((a, b) => a * b, 1);
  const row = s.outputs.reduce((a, o) => a + o.length, 0);
  const offsets = new Map(s.outputs.map((o, i) => [o.buf, s.outputs.slice(0, i).reduce((a, p) => a + p.length, 0)]));
  // chunk q's index along loop i: q / (the later loops' counts) % count_i
  const chunkOf = (i: number): E => {
    const inner = counts.slice(i + 1).reduce((a, b) => a * b, 1);
    const outer = idiv(v('q'), inner);
    return i === 0 ? outer : mod(outer, counts[i]!);
  };
  // what the transform relies on: the nest never reads an output (a running sum in memory would
  // be summed per chunk, silently wrong), stores each only after its reduction loops (a store
  // inside one would keep a single chunk's value), and does not use the names the cut adds
  const declared = new Set<string>();
  const scan = (stmts: readonly Stmt[]): void => {
    for (const st of stmts) {
      for (const e of exprsOf(st)) for (const b of loadsOf(e)) if (offsets.has(b)) throw new Error(`split reduction: the nest reads its output ${b}`);
      if (st.k === 'let') declared.add(st.name);
      if (st.k === 'for') declared.add(st.v), scan(st.body);
      if (st.k === 'if') scan(st.then), scan(st.else);
    }
  };
  scan(nest);
  for (const name of ['q', ...s.loops.flatMap((l) => [`${l.v}0`, `${l.v}${l.v.at(-1)}`])]) {
    if (declared.has(name)) throw new Error(`split reduction: the nest already uses the name ${name}, which the cut adds`);
  }
  const found = new Set<string>();
  const cut = (stmts: readonly Stmt[], inCut: boolean): Stmt[] =>
    stmts.flatMap((st): Stmt[] => {
      if (st.k === 'store' && offsets.has(st.buf)) {
        if (inCut) throw new Error(`split reduction: a store into ${st.buf} inside a cut loop`);
        return [store(s.partial, add(mul(v('q'), row), add(offsets.get(st.buf)!, st.index)), st.value)];
      }
      if (st.k === 'if') return [{ ...st, then: cut(st.then, inCut), else: cut(st.else, inCut) }];
      if (st.k !== 'for') return [st];
      const i = s.loops.findIndex((l) => l.v === st.v);
      const l = s.loops[i];
      if (!l || st.parallel) return [{ ...st, body: cut(st.body, inCut) }];
      if (st.from.k !== 'const' || st.from.v !== 0 || st.to.k !== 'const' || st.to.v !== l.size) throw new Error(`split reduction: loop ${l.v} does not run over 0..${l.size}`);
      if (found.has(l.v)) throw new Error(`split reduction: loop ${l.v} appears twice`);
      found.add(l.v);
      // v0: the chunk's first iteration; the loop runs the chunk (named after v with its last letter doubled: nn, ohh)
      const inner = `${l.v}${l.v.at(-1)}`;
      return [let_(`${l.v}0`, mul(chunkOf(i), l.chunk)), loop(inner, 0, l.chunk, (j) => [let_(l.v, add(v(`${l.v}0`), j)), ...cut(st.body, true)])];
    });
  const pass1 = cut(nest, false);
  for (const l of s.loops) if (!found.has(l.v)) throw new Error(`split reduction: no loop ${l.v}`);
  // pass 2: output element j of the row, its partials summed over q in order
  const put = (j: E, i = 0): Stmt[] => {
    const o = s.outputs[i]!;
    const at = sub(j, offsets.get(o.buf)!);
    if (i === s.outputs.length - 1) return [store(o.buf, at, v('s'))];
    return [if_(lt(j, offsets.get(o.buf)! + o.length), [store(o.buf, at, v('s'))], put(j, i + 1))];
  };
  const desc = s.loops.map((l) => `${l.chunk} of ${l.size} ${l.v}`).join(' x ');
  return {
    stmts: [
      comment(`pass 1: ${chunks} chunks of the reduction (${desc}), each chunk's sums written as partials`),
      parallel('q', 0, chunks, () => pass1),
      comment(`pass 2: the ${chunks} partials of each ${s.outputs.map((o) => o.buf).join(' and ')} element, summed in order`),
      parallel('j', 0, row, (j) => [var_('s', f32(0)), loop('q', 0, chunks, (q) => [accum('s', load(s.partial, add(mul(q, row), j)))]), ...put(j)]),
    ],
    partialLength: chunks * row,
    chunks,
  };
}
