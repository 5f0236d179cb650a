// irSize: a kernel body's size in IR nodes (statements + expression nodes). V8 turns one
// node into about 5 bytes of bytecode in our kernels (measured on the conv kernels), and
// stops optimizing a function past 60 KB of bytecode: builders use this to stay under it.

import type { Expr, Stmt } from './types.ts';
import { exprsOf } from './walk.ts';

/** an expression's size in IR nodes */
export function exprSize(e: Expr): number {
  switch (e.k) {
    case 'bin':
      return 1 + exprSize(e.a) + exprSize(e.b);
    case 'call':
      return 1 + e.args.reduce((n, a) => n + exprSize(a), 0);
    case 'load':
      return 1 + exprSize(e.index);
    case 'select':
      return 1 + exprSize(e.cond) + exprSize(e.then) + exprSize(e.else);
    case 'tof32':
      return 1 + exprSize(e.a);
    case 'const':
    case 'var':
      return 1;
  }
}

export function irSize(stmts: readonly Stmt[]): number {
  let n = 0;
  for (const s of stmts) {
    n += 1 + exprsOf(s).reduce((a, e) => a + exprSize(e), 0);
    if (s.k === 'for') n += irSize(s.body);
    if (s.k === 'if') n += irSize(s.then) + irSize(s.else);
  }
  return n;
}
