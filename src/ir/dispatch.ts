// dispatches: cut a kernel into the dispatches a GPU runs (one entry point each, in order).
// Parallel loops become invocations: every nest of parallel loops with constant bounds is one
// dispatch whose invocations cover the nest's iterations; statements between nests run as
// their own dispatch over the enclosing parallel loops. Cutting is sound because parallel
// iterations are independent (types.ts): only the order within one iteration matters, and
// dispatches keep it. Where a cut would separate a mutable local from its uses, the
// statements stay together and inner parallel loops run as plain loops. A cooperative
// kernel is one dispatch over its workgroup loops. The WGSL renderer prints what this gives.

import type { Expr, Kernel, Stmt } from './types.ts';
import { exprsOf, loadsOf, varsOf, workgroupLoops } from './walk.ts';

/** one parallel loop mapped to invocations */
export interface GridDim {
  readonly v: string;
  readonly from: number;
  readonly step: number;
  readonly count: number;
}

/** one dispatch: the parallel loops it covers (outer first) and what each invocation runs */
export interface Phase {
  readonly dims: readonly GridDim[];
  readonly body: readonly Stmt[];
}

const constOf = (e: Expr): number | null => (e.k === 'const' ? e.v : null);

/** every name a statement list reads or declares (nested included) */
export function namesIn(stmts: readonly Stmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of stmts) {
    for (const e of exprsOf(s)) varsOf(e, out);
    if (s.k === 'let' || s.k === 'assign') out.add(s.name);
    if (s.k === 'for') namesIn(s.body, out);
    if (s.k === 'if') {
      namesIn(s.then, out);
      namesIn(s.else, out);
    }
  }
  return out;
}

function asGridDim(s: Stmt): GridDim | null {
  if (s.k !== 'for' || !s.parallel) return null;
  const from = constOf(s.from);
  const to = constOf(s.to);
  if (from === null || to === null) return null;
  return { v: s.v, from, step: s.step, count: Math.max(0, Math.ceil((to - from) / s.step)) };
}

/**
 * the dispatches of a statement list run inside `dims`, with `ctx` the pure locals in
 * scope (copied into every dispatch that follows them)
 */
function cut(stmts: readonly Stmt[], dims: readonly GridDim[], ctx: readonly Stmt[], readOnly: ReadonlySet<string>): Phase[] {
  type Segment = { kind: 'serial'; stmts: Stmt[]; ctx: Stmt[] } | { kind: 'par'; loop: Stmt & { k: 'for' }; dim: GridDim; ctx: Stmt[] };
  const segments: Segment[] = [];
  const scope: Stmt[] = [...ctx];
  // comments before a parallel nest describe it: they open its dispatch instead of making one
  let notes: Stmt[] = [];
  // locals declared by statements that stay in a segment (a hoisted local must not read them)
  const inSegments = new Set<string>();
  for (const s of stmts) {
    if (s.k === 'comment') {
      notes.push(s);
      continue;
    }
    // immutable locals that read only read-only buffers, and no local of a segment, have the
    // same value wherever they are evaluated: every later dispatch recomputes them
    if (s.k === 'let' && !s.mutable && [...loadsOf(s.init)].every((b) => readOnly.has(b)) && ![...varsOf(s.init)].some((n) => inSegments.has(n))) {
      scope.push(s);
      continue;
    }
    if (s.k === 'let') inSegments.add(s.name);
    const dim = asGridDim(s);
    if (dim && s.k === 'for') {
      segments.push({ kind: 'par', loop: { ...s, body: [...notes, ...s.body] }, dim, ctx: [...scope] });
      notes = [];
      continue;
    }
    const last = segments[segments.length - 1];
    if (last?.kind === 'serial') {
      last.stmts.push(...notes, s);
      last.ctx = [...scope];
    } else segments.push({ kind: 'serial', stmts: [...notes, s], ctx: [...scope] });
    notes = [];
  }
  const whole: Phase[] = [{ dims, body: [...ctx, ...stmts] }];
  if (segments.length === 0) return [];
  if (segments.length === 1 && segments[0].kind === 'serial') return [{ dims, body: [...segments[0].ctx, ...segments[0].stmts] }];
  // a local declared in a serial segment must not be needed by any other segment
  for (const seg of segments) {
    if (seg.kind !== 'serial') continue;
    const declared = new Set(seg.stmts.flatMap((s) => (s.k === 'let' ? [s.name] : [])));
    for (const other of segments) {
      if (other === seg) continue;
      const used = namesIn(other.kind === 'serial' ? other.stmts : [other.loop]);
      for (const n of declared) if (used.has(n)) return whole;
    }
  }
  const out: Phase[] = [];
  for (const seg of segments) {
    if (seg.kind === 'serial') out.push({ dims, body: [...seg.ctx, ...seg.stmts] });
    else if (seg.dim.count > 0) out.push(...cut(seg.loop.body, [...dims, seg.dim], seg.ctx, readOnly));
  }
  return out;
}

/** drop immutable locals nobody reads (a dispatch gets every pure local in scope) */
function pruneLets(stmts: readonly Stmt[]): Stmt[] {
  let cur = [...stmts];
  for (;;) {
    const used = new Set<string>();
    const collect = (ss: readonly Stmt[]) => {
      for (const s of ss) {
        for (const e of exprsOf(s)) varsOf(e, used);
        if (s.k === 'assign') used.add(s.name);
        if (s.k === 'for') collect(s.body);
        if (s.k === 'if') {
          collect(s.then);
          collect(s.else);
        }
      }
    };
    collect(cur);
    const next = cur.filter((s) => !(s.k === 'let' && !s.mutable && !used.has(s.name)));
    if (next.length === cur.length) return next;
    cur = next;
  }
}

/** a cooperative kernel is one dispatch: its workgroup loops index the workgroups, the rest runs on every invocation of each */
function groupNest(k: Kernel): Phase {
  const { loops, notes, inner } = workgroupLoops(k.body);
  const dims = loops.map((l) => asGridDim(l) ?? fail(`render wgsl: kernel ${k.name}: workgroup loop '${l.v}' needs constant bounds`));
  return { dims, body: [...notes, ...inner] };
}

const fail = (msg: string): never => {
  throw new Error(msg);
};

/** a lowered kernel's dispatches, in run order, each with only the pure locals it reads */
export function cutDispatches(k: Kernel): Phase[] {
  const readOnly = new Set(k.buffers.filter((b) => b.access === 'read').map((b) => b.name));
  return (k.workgroup ? [groupNest(k)] : cut(k.body, [], [], readOnly)).map((p) => ({ dims: p.dims, body: pruneLets(p.body) }));
}
