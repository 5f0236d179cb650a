// unroll: replace every loop marked `unroll` by one copy of its body per iteration, with
// the loop variable substituted by its constant value (folded, so `x[base + kx]` becomes
// `x[base + 2]`). Locals declared in the body get a per-copy suffix (`t` -> `t_kx2`) so
// the copies can sit side by side in one scope. Inner loops are expanded first.

import type { Expr, Kernel, Stmt } from './types.ts';
import { mapExpr, substStmts } from './walk.ts';

function constBound(e: Expr, loopVar: string, kernelName: string): number {
  const f = mapExpr(e, () => undefined);
  if (f.k !== 'const') throw new Error(`unroll: ${kernelName}: loop ${loopVar} has a non-constant bound`);
  return f.v;
}

function declaredLocals(stmts: readonly Stmt[], out: Set<string>): Set<string> {
  for (const s of stmts) {
    if (s.k === 'let') out.add(s.name);
    else if (s.k === 'for') declaredLocals(s.body, out);
    else if (s.k === 'if') {
      declaredLocals(s.then, out);
      declaredLocals(s.else, out);
    }
  }
  return out;
}

function unrollStmts(stmts: readonly Stmt[], kernelName: string): Stmt[] {
  const out: Stmt[] = [];
  for (const s of stmts) {
    if (s.k === 'for') {
      const body = unrollStmts(s.body, kernelName);
      if (!s.unroll) {
        out.push({ ...s, body });
        continue;
      }
      const from = constBound(s.from, s.v, kernelName);
      const to = constBound(s.to, s.v, kernelName);
      const locals = declaredLocals(body, new Set());
      for (let i = from; i < to; i += s.step) {
        const suffix = `_${s.v}${i}`;
        const value: Expr = { k: 'const', v: i, t: 'i32' };
        const leaf = (name: string): Expr | undefined =>
          name === s.v ? value : locals.has(name) ? { k: 'var', name: name + suffix } : undefined;
        out.push(...substStmts(body, leaf, (n) => (locals.has(n) ? n + suffix : n)));
      }
    } else if (s.k === 'if') {
      out.push({ ...s, then: unrollStmts(s.then, kernelName), else: unrollStmts(s.else, kernelName) });
    } else {
      out.push(s);
    }
  }
  return out;
}

export function unroll(k: Kernel): Kernel {
  return { ...k, body: unrollStmts(k.body, k.name) };
}
