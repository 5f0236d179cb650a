// The wasm target's split pass (IR -> IR): a kernel cut along its outermost parallel loop into
// chunks that worker threads claim one at a time (createWasmModel({ threads }), wasm/threads.ts).
// The loop's constant bounds become two i32 parameters appended to the kernel's scalars,
// `chunk_lo` and `chunk_hi`; the host calls the kernel once per chunk with the chunk's range
// (the whole range with one thread). Each iteration computes the same outputs in the same order
// whichever call runs it, so the results are the same bits for any thread count and any cut;
// the chunk count comes from the kernel's work (here), never from the thread count.
//
// Which kernels split (`splitPlan`): the top level is comments, immutable lets and one or more
// parallel loops over the same variable and constant range (the phase-split grad-input's
// phases: a chunk runs its images' phases in order), where
// - every store inside the loops has an index that depends on the loop variable (so two chunks
//   never write one element: `parallel` says iterations write their own outputs, this checks
//   that the loop we cut is the one they are indexed by),
// - no loop reads a buffer another loop of the kernel writes (batch norm's passes: a later pass
//   reads the earlier one's sums over every channel),
// - the work is worth waking threads for: a chunk is at least SPLIT.minChunkWork executed IR
//   nodes (a wake-up and a claim cost a few microseconds).
// Anything else (the GEMM with its remainder block after the main loop, the grad-weight
// reductions with no outer parallel loop, the loss) runs whole on the calling thread.

import type { Expr, Kernel, Stmt } from '../ir/types.ts';
import { exprsOf, loadsOf, varsOf } from '../ir/walk.ts';

/** how a kernel is cut (plain data, printed in the .wat and in wasm/kernels.ts) */
export interface KernelSplit {
  /** the loop variable cut */
  readonly loop: string;
  /** its constant range: from inclusive, to exclusive */
  readonly from: number;
  readonly to: number;
  /** chunks of about equal iteration counts: chunk c runs [from + floor(c*n/chunks), from + floor((c+1)*n/chunks)) */
  readonly chunks: number;
  /** executed IR nodes of the whole kernel (the estimate the chunk count comes from) */
  readonly work: number;
}

export const SPLIT = {
  /** the least work a chunk is given, in executed IR nodes (~ one wasm instruction each) */
  minChunkWork: 32768,
  /** the most chunks a kernel is cut into: enough to balance 2-8 threads claiming them */
  maxChunks: 16,
  /** the names of the two parameters */
  lo: 'chunk_lo',
  hi: 'chunk_hi',
} as const;

type For = Stmt & { k: 'for' };

function exprNodes(e: Expr): number {
  switch (e.k) {
    case 'bin':
      return 1 + exprNodes(e.a) + exprNodes(e.b);
    case 'call':
      return 1 + e.args.reduce((n, a) => n + exprNodes(a), 0);
    case 'load':
      return 1 + exprNodes(e.index);
    case 'select':
      return 1 + exprNodes(e.cond) + exprNodes(e.then) + exprNodes(e.else);
    case 'tof32':
      return 1 + exprNodes(e.a);
    case 'const':
    case 'var':
      return 1;
  }
}

/** executed IR nodes: a loop's body times its trip count (a loop with non-constant bounds counts once) */
export function workOf(stmts: readonly Stmt[]): number {
  let n = 0;
  for (const s of stmts) {
    n += 1 + exprsOf(s).reduce((a, e) => a + exprNodes(e), 0);
    if (s.k === 'for') {
      const trips = s.from.k === 'const' && s.to.k === 'const' ? Math.max(0, Math.ceil((s.to.v - s.from.v) / s.step)) : 1;
      n += trips * workOf(s.body);
    }
    if (s.k === 'if') n += Math.max(workOf(s.then), workOf(s.else));
  }
  return n;
}

/** every store in `stmts` has an index depending on `v` (directly or through locals computed from it) */
function storesIndexedBy(stmts: readonly Stmt[], v: string): boolean {
  const dep = new Set([v]);
  const depends = (e: Expr) => [...varsOf(e)].some((n) => dep.has(n));
  const walk = (ss: readonly Stmt[]): boolean =>
    ss.every((s) => {
      switch (s.k) {
        case 'let':
          if (depends(s.init)) dep.add(s.name);
          return true;
        case 'assign':
          if (depends(s.value)) dep.add(s.name);
          return true;
        case 'store':
          return depends(s.index);
        case 'for':
          if (depends(s.from) || depends(s.to)) dep.add(s.v);
          return walk(s.body);
        case 'if':
          return walk(s.then) && walk(s.else);
        default:
          return true;
      }
    });
  return walk(stmts);
}

function buffersOf(stmts: readonly Stmt[], out: { loads: Set<string>; stores: Set<string> }): typeof out {
  for (const s of stmts) {
    for (const e of exprsOf(s)) loadsOf(e, out.loads);
    if (s.k === 'store') out.stores.add(s.buf);
    if (s.k === 'for') buffersOf(s.body, out);
    if (s.k === 'if') buffersOf([...s.then, ...s.else], out);
  }
  return out;
}

/** the kernel's cut, or null: it runs whole on the calling thread (see the file comment) */
export function splitPlan(k: Kernel): KernelSplit | null {
  if (k.workgroup) return null;
  const loops: For[] = [];
  for (const s of k.body) {
    if (s.k === 'comment') continue;
    if (s.k === 'let' && !s.mutable && loadsOf(s.init).size === 0) continue;
    if (s.k !== 'for' || !s.parallel || s.step !== 1 || s.from.k !== 'const' || s.to.k !== 'const') return null;
    loops.push(s);
  }
  const first = loops[0];
  if (!first || first.from.k !== 'const' || first.to.k !== 'const') return null;
  const from = first.from.v;
  const to = first.to.v;
  if (loops.some((l) => l.v !== first.v || l.from.k !== 'const' || l.from.v !== from || l.to.k !== 'const' || l.to.v !== to)) return null;
  if (!loops.every((l) => storesIndexedBy(l.body, l.v))) return null;
  if (loops.length > 1) {
    const io = loops.map((l) => buffersOf(l.body, { loads: new Set(), stores: new Set() }));
    for (let i = 0; i < io.length; i++) for (let j = 0; j < io.length; j++) if (i !== j && [...io[i]!.stores].some((b) => io[j]!.loads.has(b))) return null;
  }
  const names = new Set([...k.scalars.map((s) => s.name), ...k.buffers.map((b) => b.name)]);
  if (names.has(SPLIT.lo) || names.has(SPLIT.hi)) return null;
  const work = workOf(k.body);
  const chunks = Math.min(to - from, SPLIT.maxChunks, Math.floor(work / SPLIT.minChunkWork));
  return chunks >= 2 ? { loop: first.v, from, to, chunks, work } : null;
}

/** the kernel with its cut loops running from chunk_lo to chunk_hi (appended i32 scalars) */
export function splitKernel(k: Kernel, s: KernelSplit): Kernel {
  const lo: Expr = { k: 'var', name: SPLIT.lo };
  const hi: Expr = { k: 'var', name: SPLIT.hi };
  const body = k.body.map((st): Stmt => (st.k === 'for' ? { ...st, from: lo, to: hi } : st));
  const doc = `threads: loop ${s.loop} [${s.from}, ${s.to}) cut into ${s.chunks} chunks (${SPLIT.lo}, ${SPLIT.hi}), ~${(s.work / 1e6).toFixed(2)}M IR nodes`;
  return {
    ...k,
    doc: [...k.doc, doc],
    scalars: [...k.scalars, { name: SPLIT.lo, t: 'i32' }, { name: SPLIT.hi, t: 'i32' }],
    body,
    nonNegScalars: [SPLIT.lo, SPLIT.hi],
  };
}

/** the split pass: the kernel and its cut, or the kernel unchanged and null */
export function split(k: Kernel): { kernel: Kernel; split: KernelSplit | null } {
  const s = splitPlan(k);
  return s ? { kernel: splitKernel(k, s), split: s } : { kernel: k, split: null };
}
