// Structural maps over the IR, shared by the passes. Expressions are rebuilt bottom-up
// through the folding builders, so any substitution comes out simplified.

import type { Expr, Stmt } from './types.ts';
import { foldBin, foldCall, foldSelect } from './fold.ts';

/** rebuild `e` bottom-up; `leaf` may replace variables (return undefined to keep one) */
export function mapExpr(e: Expr, leaf: (name: string) => Expr | undefined): Expr {
  switch (e.k) {
    case 'const':
      return e;
    case 'var':
      return leaf(e.name) ?? e;
    case 'bin':
      return foldBin(e.op, mapExpr(e.a, leaf), mapExpr(e.b, leaf));
    case 'call':
      return foldCall(
        e.fn,
        e.args.map((a) => mapExpr(a, leaf)),
      );
    case 'load':
      return { k: 'load', buf: e.buf, index: mapExpr(e.index, leaf) };
    case 'select':
      return foldSelect(mapExpr(e.cond, leaf), mapExpr(e.then, leaf), mapExpr(e.else, leaf));
    case 'tof32': {
      const a = mapExpr(e.a, leaf);
      return a.k === 'const' ? { k: 'const', v: a.v, t: 'f32' } : { k: 'tof32', a };
    }
  }
}

/** every variable name read by `e` */
export function varsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case 'var':
      out.add(e.name);
      break;
    case 'bin':
      varsOf(e.a, out);
      varsOf(e.b, out);
      break;
    case 'call':
      for (const a of e.args) varsOf(a, out);
      break;
    case 'load':
      varsOf(e.index, out);
      break;
    case 'select':
      varsOf(e.cond, out);
      varsOf(e.then, out);
      varsOf(e.else, out);
      break;
    case 'tof32':
      varsOf(e.a, out);
      break;
    case 'const':
      break;
  }
  return out;
}

/** every expression directly held by a statement (not those of nested statements) */
/** the buffers an expression loads from */
export function loadsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case 'load':
      out.add(e.buf);
      loadsOf(e.index, out);
      break;
    case 'bin':
      loadsOf(e.a, out);
      loadsOf(e.b, out);
      break;
    case 'call':
      for (const a of e.args) loadsOf(a, out);
      break;
    case 'select':
      loadsOf(e.cond, out);
      loadsOf(e.then, out);
      loadsOf(e.else, out);
      break;
    case 'tof32':
      loadsOf(e.a, out);
      break;
    default:
      break;
  }
  return out;
}

export function exprsOf(s: Stmt): Expr[] {
  switch (s.k) {
    case 'let':
      return [s.init];
    case 'assign':
      return [s.value];
    case 'store':
      return [s.index, s.value];
    case 'for':
      return [s.from, s.to];
    case 'if':
      return [s.cond];
    case 'comment':
    case 'barrier':
      return [];
  }
}

/**
 * substitute variables in a statement list; `rename` renames declared locals and
 * assignment targets as well as their uses (the unroll pass gives each copy its own names)
 */
export function substStmts(stmts: readonly Stmt[], leaf: (name: string) => Expr | undefined, rename: (name: string) => string = (n) => n): Stmt[] {
  const m = (e: Expr) => mapExpr(e, leaf);
  return stmts.map((s): Stmt => {
    switch (s.k) {
      case 'let':
        return { ...s, name: rename(s.name), init: m(s.init) };
      case 'assign':
        return { ...s, name: rename(s.name), value: m(s.value) };
      case 'store':
        return { ...s, index: m(s.index), value: m(s.value) };
      case 'for':
        return { ...s, from: m(s.from), to: m(s.to), body: substStmts(s.body, leaf, rename) };
      case 'if':
        return { ...s, cond: m(s.cond), then: substStmts(s.then, leaf, rename), else: substStmts(s.else, leaf, rename) };
      case 'comment':
      case 'barrier':
        return s;
    }
  });
}

type ForStmt = Stmt & { k: 'for' };

/**
 * a cooperative kernel's workgroup loops (Kernel.workgroup): the outer chain of parallel
 * loops, each the only statement of its parent but for comments; those comments, and the
 * statements inside the innermost, which every invocation of a workgroup runs
 */
export function workgroupLoops(stmts: readonly Stmt[]): { loops: ForStmt[]; notes: Stmt[]; inner: readonly Stmt[] } {
  const loops: ForStmt[] = [];
  const notes: Stmt[] = [];
  let cur = stmts;
  for (;;) {
    const real = cur.filter((s) => s.k !== 'comment');
    if (real.length !== 1 || real[0].k !== 'for' || !real[0].parallel) return { loops, notes, inner: cur };
    notes.push(...cur.filter((s) => s.k === 'comment'));
    loops.push(real[0]);
    cur = real[0].body;
  }
}
