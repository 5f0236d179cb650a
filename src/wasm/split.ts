// The wasm target's split pass (IR -> IR): a kernel cut along its outer parallel loops into
// chunks that worker threads claim one at a time (createWasmModel({ threads }), wasm/threads.ts).
// A cut loop's constant bounds become two i32 parameters appended to the kernel's scalars,
// `chunk_lo` and `chunk_hi`; the host calls the kernel once per chunk with the chunk's range
// (the whole range with one thread). Each iteration computes the same outputs in the same order
// whichever call runs it, so the results are the same bits for any thread count and any cut;
// the chunk count comes from the kernel's work (here), never from the thread count.
//
// A kernel whose top level is immutable load-free lets and loops only is cut into PHASES, run
// in order with a barrier between them (the host waits for every chunk of one before the next):
// - consecutive parallel loops over the same variable and constant range make one phase (the
//   phase-split grad-input's four phases: a chunk runs its images' phases in order) when no
//   loop of it reads what another writes; any other loop is a phase of its own;
// - a phase is cut when every store inside it has an index that depends on its loop variable
//   (so two chunks never write one element: `parallel` says iterations write their own outputs,
//   this checks that the loop we cut is the one they are indexed by) and its work is worth
//   waking threads for (a chunk is at least SPLIT.minChunkWork executed IR nodes); otherwise it
//   runs whole on the calling thread (the GEMM's remainder block after its main loop, batch
//   norm's last pass over few channels).
//   This check does not prove independence: it trusts the IR's `parallel` flag (iterations
//   write their own outputs, which the WGSL target relies on too) and only makes sure the cut
//   loop is the one the stores are indexed by. A loop marked parallel whose iterations wrote one
//   element (`y[i % 2]`, a scatter `y[idx[i]]`) would be cut, and be as wrong on the GPU.
//   test/wasm-threads.test.ts runs every example's split kernels chunk by chunk in shuffled
//   orders and compares the bits with one call over the whole range.
// With more than one phase the kernel takes a third parameter before the range, `chunk_phase`,
// and each phase's statements run under `if (chunk_phase == j)`; the lets above are recomputed
// per call. Kernels with mutable locals or stores at the top level (the grad-weight reductions'
// accumulators, the loss) are not cut: they run whole on the calling thread.

import type { Expr, Kernel, Stmt } from '../ir/types.ts';
import { exprsOf, loadsOf, varsOf } from '../ir/walk.ts';
import { lowerKernelWasm } from './lower.ts';
import { exprSize } from '../ir/size.ts';

/** one phase of a kernel (plain data, printed in the .wat and in wasm/kernels.ts) */
export interface SplitPhase {
  /** the loop variable cut, or null: the phase runs whole */
  readonly loop: string | null;
  /** the cut loop's constant range: from inclusive, to exclusive (0, 0 for a whole phase) */
  readonly from: number;
  readonly to: number;
  /** chunks of about equal iteration counts: chunk c runs [from + floor(c*n/chunks), from + floor((c+1)*n/chunks)); 1: whole */
  readonly chunks: number;
  /** executed IR nodes of the phase */
  readonly work: number;
}

/** how a kernel is cut: its phases, in order */
export interface KernelSplit {
  readonly phases: readonly SplitPhase[];
  /** executed IR nodes of the whole kernel */
  readonly work: number;
}

export const SPLIT = {
  /** the least work a chunk is given, in executed IR nodes (~ one wasm instruction each) */
  minChunkWork: 32768,
  /** the most chunks a kernel is cut into: enough to balance 2-8 threads claiming them */
  maxChunks: 16,
  /** the most arguments a split kernel takes, its range's included (the control block's slots, MAX_ARGS in wasm/threads.ts) */
  maxArgs: 32,
  /** the names of the parameters */
  phase: 'chunk_phase',
  lo: 'chunk_lo',
  hi: 'chunk_hi',
} as const;

type For = Stmt & { k: 'for' };

/** executed IR nodes: a loop's body times its trip count (a loop with non-constant bounds counts once) */
export function workOf(stmts: readonly Stmt[]): number {
  let n = 0;
  for (const s of stmts) {
    n += 1 + exprsOf(s).reduce((a, e) => a + exprSize(e), 0);
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

const constRange = (l: For): [number, number] | null => (l.from.k === 'const' && l.to.k === 'const' && l.step === 1 ? [l.from.v, l.to.v] : null);

/** loops that may share a phase: parallel, the same variable and constant range */
function samePhase(a: For, b: For): boolean {
  const ra = constRange(a);
  const rb = constRange(b);
  return a.parallel && b.parallel && a.v === b.v && ra !== null && rb !== null && ra[0] === rb[0] && ra[1] === rb[1];
}

/** a phase's cut: its loops' variable and range, and the chunk count (1: whole) */
function phaseOf(loops: readonly For[]): SplitPhase {
  const work = workOf(loops);
  const first = loops[0]!;
  const range = constRange(first);
  if (!first.parallel || !range || !loops.every((l) => storesIndexedBy(l.body, l.v))) return { loop: null, from: 0, to: 0, chunks: 1, work };
  const chunks = Math.max(1, Math.min(range[1] - range[0], SPLIT.maxChunks, Math.floor(work / SPLIT.minChunkWork)));
  return chunks > 1 ? { loop: first.v, from: range[0], to: range[1], chunks, work } : { loop: null, from: 0, to: 0, chunks: 1, work };
}

/** the top-level loops grouped into phases, or null when the top level has anything but loops and load-free immutable lets */
function phaseLoops(k: Kernel): For[][] | null {
  const groups: For[][] = [];
  for (const s of k.body) {
    if (s.k === 'comment') continue;
    if (s.k === 'let' && !s.mutable && loadsOf(s.init).size === 0) continue;
    if (s.k !== 'for') return null;
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && samePhase(prev, s) && !crossReads([...last, s])) last.push(s);
    else groups.push([s]);
  }
  return groups;
}

/** a loop of `loops` reads a buffer another one writes */
function crossReads(loops: readonly For[]): boolean {
  const io = loops.map((l) => buffersOf(l.body, { loads: new Set(), stores: new Set() }));
  return io.some((a, i) => io.some((b, j) => i !== j && [...a.stores].some((x) => b.loads.has(x))));
}

/** the kernel's cut, or null: it runs whole on the calling thread (see the file comment) */
export function splitPlan(k: Kernel): KernelSplit | null {
  if (k.workgroup) return null;
  const names = new Set([...k.scalars.map((s) => s.name), ...k.buffers.map((b) => b.name)]);
  if ([SPLIT.phase, SPLIT.lo, SPLIT.hi].some((n) => names.has(n))) return null;
  if (k.buffers.length + k.scalars.length + 3 > SPLIT.maxArgs) return null;
  const groups = phaseLoops(k);
  if (!groups || groups.length === 0) return null;
  const phases = groups.map(phaseOf);
  if (phases.every((p) => p.chunks === 1)) return null;
  return { phases, work: workOf(k.body) };
}

/** the kernel with its cut loops running from chunk_lo to chunk_hi, and its phases under chunk_phase when it has several */
export function splitKernel(k: Kernel, s: KernelSplit): Kernel {
  const lo: Expr = { k: 'var', name: SPLIT.lo };
  const hi: Expr = { k: 'var', name: SPLIT.hi };
  const phased = s.phases.length > 1;
  const body: Stmt[] = [];
  let j = -1;
  let phase: Stmt[] = [];
  const flush = () => {
    if (phased && phase.length) body.push({ k: 'if', cond: { k: 'bin', op: '==', a: { k: 'var', name: SPLIT.phase }, b: { k: 'const', v: j, t: 'i32' } }, then: phase, else: [] });
    else body.push(...phase);
    phase = [];
  };
  // the same grouping as phaseLoops: a loop starts a new phase unless it continues the last one
  const groups = phaseLoops(k)!;
  const phaseOfLoop = new Map<Stmt, number>();
  groups.forEach((g, gi) => g.forEach((l) => phaseOfLoop.set(l, gi)));
  for (const st of k.body) {
    const gi = phaseOfLoop.get(st);
    if (gi === undefined) {
      // a comment or a let: in place, outside the phases (a let is computed in every call)
      flush();
      body.push(st);
      continue;
    }
    if (gi !== j) {
      flush();
      j = gi;
    }
    const cut = s.phases[gi]!.chunks > 1 && st.k === 'for';
    phase.push(cut && st.k === 'for' ? { ...st, from: lo, to: hi } : st);
  }
  flush();
  const doc = s.phases.map((p, i) => {
    const head = phased ? `phase ${i} (${SPLIT.phase} = ${i}): ` : '';
    const w = `~${(p.work / 1e6).toFixed(2)}M IR nodes`;
    return `threads: ${head}${p.chunks > 1 ? `loop ${p.loop} [${p.from}, ${p.to}) cut into ${p.chunks} chunks (${SPLIT.lo}, ${SPLIT.hi}), ${w}` : `whole on the calling thread, ${w}`}`;
  });
  const params: Kernel['scalars'] = [...(phased ? [{ name: SPLIT.phase, t: 'i32' as const }] : []), { name: SPLIT.lo, t: 'i32' }, { name: SPLIT.hi, t: 'i32' }];
  return {
    ...k,
    doc: [...k.doc, ...doc],
    scalars: [...k.scalars, ...params],
    body,
    nonNegScalars: params.map((p) => p.name),
  };
}

/** the split pass: the kernel and its cut, or the kernel unchanged and null */
export function split(k: Kernel): { kernel: Kernel; split: KernelSplit | null } {
  const s = splitPlan(k);
  return s ? { kernel: splitKernel(k, s), split: s } : { kernel: k, split: null };
}

/**
 * the wasm target's cut of each kernel as a table (`convgen build --dump threads`): one row per
 * phase; a kernel left whole is one row with no loop. Plain text that is also Markdown.
 */
export function splitTable(kernels: readonly Kernel[]): string {
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (const k of kernels) {
    if (seen.has(k.name)) continue;
    seen.add(k.name);
    const lowered = lowerKernelWasm(k);
    const s = splitPlan(lowered);
    const mnodes = (w: number) => (w / 1e6).toFixed(2);
    if (!s) {
      rows.push([k.name, '-', '-', '-', '1', mnodes(workOf(lowered.body))]);
      continue;
    }
    s.phases.forEach((p, i) => rows.push([i === 0 ? k.name : '', s.phases.length > 1 ? String(i) : '-', p.loop ?? '-', p.loop ? `[${p.from}, ${p.to})` : '-', String(p.chunks), mnodes(p.work)]));
  }
  const head = ['kernel', 'phase', 'loop', 'range', 'chunks', 'M IR nodes'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const right = [false, true, false, false, true, true];
  const line = (r: readonly string[]) => `| ${r.map((v, c) => (right[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (right[c] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n') + '\n';
}
