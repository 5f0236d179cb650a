// simplify: fold every expression again (after unrolling substituted constants), propagate
// immutable locals whose value is a constant, drop `if` on a constant condition and loops
// that run zero times, replace a loop that runs once by its body with the index at its start
// value, and remove immutable locals nobody reads.

import type { Expr, Kernel, Stmt } from './types.ts';
import { exprsOf, mapExpr, varsOf } from './walk.ts';

type Env = ReadonlyMap<string, Expr>;

function simplifyStmts(stmts: readonly Stmt[], outer: Env): Stmt[] {
  const env = new Map(outer);
  const m = (e: Expr) => mapExpr(e, (n) => env.get(n));
  const out: Stmt[] = [];
  for (const s of stmts) {
    switch (s.k) {
      case 'let': {
        const init = m(s.init);
        if (!s.mutable && init.k === 'const') {
          env.set(s.name, init);
          continue;
        }
        out.push({ ...s, init });
        break;
      }
      case 'assign':
        out.push({ ...s, value: m(s.value) });
        break;
      case 'store':
        out.push({ ...s, index: m(s.index), value: m(s.value) });
        break;
      case 'for': {
        const from = m(s.from);
        const to = m(s.to);
        if (from.k === 'const' && to.k === 'const' && from.v >= to.v) break;
        // runs once (a group loop of an ungrouped conv, a batch of 1): its body, at the start
        // value, in the enclosing block, where no name the body declares is already in use
        if (from.k === 'const' && to.k === 'const' && from.v + s.step >= to.v) {
          // (decided on the simplified body: loops inlined inside it bring their names up)
          const once = simplifyStmts(s.body, new Map([...env, [s.v, from]]));
          if (inlinable(once, stmts, s)) {
            out.push(...once);
            break;
          }
        }
        const body = simplifyStmts(s.body, env);
        if (body.every((b) => b.k === 'comment')) break;
        out.push({ ...s, from, to, body });
        break;
      }
      case 'if': {
        const cond = m(s.cond);
        if (cond.k === 'const') {
          out.push(...simplifyStmts(cond.v !== 0 ? s.then : s.else, env));
          break;
        }
        const then = simplifyStmts(s.then, env);
        const els = simplifyStmts(s.else, env);
        if (then.length === 0 && els.length === 0) break;
        out.push({ ...s, cond, then, else: els });
        break;
      }
      case 'comment':
      case 'barrier':
        out.push(s);
        break;
    }
  }
  return out;
}

/**
 * a run-once loop's body may move into the enclosing block when the names it declares at its
 * top level appear nowhere else in that block (no clash with a sibling's declaration, no
 * sibling reading an outer local the body would shadow)
 */
function inlinable(body: readonly Stmt[], block: readonly Stmt[], loop: Stmt): boolean {
  const declared = body.flatMap((b) => (b.k === 'let' ? [b.name] : []));
  if (declared.length === 0) return true;
  const others = new Set<string>();
  for (const s of block) if (s !== loop) namesOf(s, others);
  return declared.every((n) => !others.has(n));
}

/** every name a statement reads, writes, declares or loops over (nested included) */
function namesOf(s: Stmt, out: Set<string>): void {
  for (const e of exprsOf(s)) varsOf(e, out);
  if (s.k === 'let' || s.k === 'assign') out.add(s.name);
  if (s.k === 'for') {
    out.add(s.v);
    for (const b of s.body) namesOf(b, out);
  }
  if (s.k === 'if') for (const b of [...s.then, ...s.else]) namesOf(b, out);
}

function usedVars(stmts: readonly Stmt[], out: Set<string>): Set<string> {
  for (const s of stmts) {
    for (const e of exprsOf(s)) varsOf(e, out);
    if (s.k === 'assign') out.add(s.name);
    if (s.k === 'for') usedVars(s.body, out);
    if (s.k === 'if') {
      usedVars(s.then, out);
      usedVars(s.else, out);
    }
  }
  return out;
}

/**
 * drop immutable locals nobody reads in their scope: the statements after them in their block
 * (and what those nest). Names are scoped, not global: two loop nests of one kernel may each
 * declare `xrow`, and the one whose loop reads nothing of it (a stride phase with no taps) is dead.
 */
function dropDead(stmts: readonly Stmt[], dropped: { n: number }): Stmt[] {
  const after = new Set<string>();
  const out: Stmt[] = [];
  for (let i = stmts.length - 1; i >= 0; i--) {
    const s = stmts[i]!;
    if (s.k === 'let' && !s.mutable && !after.has(s.name)) {
      dropped.n++;
      continue;
    }
    const kept = s.k === 'for' ? { ...s, body: dropDead(s.body, dropped) } : s.k === 'if' ? { ...s, then: dropDead(s.then, dropped), else: dropDead(s.else, dropped) } : s;
    usedVars([kept], after);
    out.push(kept);
  }
  return out.reverse();
}

export function simplify(k: Kernel): Kernel {
  let body = simplifyStmts(k.body, new Map());
  // a dead local can keep another alive: repeat until nothing changes (a few rounds at most)
  for (;;) {
    const dropped = { n: 0 };
    body = dropDead(body, dropped);
    if (dropped.n === 0) break;
  }
  return { ...k, body };
}
