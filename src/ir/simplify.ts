// simplify: fold every expression again (after unrolling substituted constants), propagate
// immutable locals whose value is a constant, drop `if` on a constant condition and loops
// that run zero times, replace a loop that runs once by its body with the index at its start
// value, and remove immutable locals nobody reads.

import type { Expr, Kernel, Stmt } from './types.ts';
import { exprsOf, mapExpr, varsOf } from './walk.ts';
import { v } from './build.ts';

type Env = ReadonlyMap<string, Expr>;

function simplifyStmts(stmts: readonly Stmt[], outer: Env, taken: Set<string>, renamed: Map<string, string[]>): Stmt[] {
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
        // runs once (a group loop of an ungrouped conv, a batch of 1, one reduction channel):
        // its body, at the start value, in the enclosing block; a name it declares that a
        // sibling declares too (per-tap loops of one channel) gets a fresh `_2`, `_3`... suffix
        if (from.k === 'const' && to.k === 'const' && from.v + s.step >= to.v) {
          // (on the simplified body: loops inlined inside it bring their names up)
          out.push(...renameClashes(simplifyStmts(s.body, new Map([...env, [s.v, from]]), taken, renamed), stmts, s, taken, renamed));
          break;
        }
        const body = simplifyStmts(s.body, env, taken, renamed);
        if (body.every((b) => b.k === 'comment')) break;
        out.push({ ...s, from, to, body });
        break;
      }
      case 'if': {
        const cond = m(s.cond);
        if (cond.k === 'const') {
          out.push(...simplifyStmts(cond.v !== 0 ? s.then : s.else, env, taken, renamed));
          break;
        }
        const then = simplifyStmts(s.then, env, taken, renamed);
        const els = simplifyStmts(s.else, env, taken, renamed);
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
 * a run-once loop's body, ready to move into the enclosing block: the names it declares at its
 * top level that appear elsewhere in that block are renamed to names no statement of the
 * kernel uses (`taken`), so the block declares each name once and no sibling reads the body's
 */
function renameClashes(body: Stmt[], block: readonly Stmt[], loop: Stmt, taken: Set<string>, renamed: Map<string, string[]>): Stmt[] {
  const others = new Set<string>();
  for (const s of block) if (s !== loop) namesOf(s, others);
  const map = new Map<string, string>();
  for (const b of body) {
    if (b.k !== 'let' || !others.has(b.name)) continue;
    let n = 2;
    while (taken.has(`${b.name}_${n}`)) n++;
    map.set(b.name, `${b.name}_${n}`);
    taken.add(`${b.name}_${n}`);
    (renamed.get(b.name) ?? renamed.set(b.name, []).get(b.name)!).push(`${b.name}_${n}`);
  }
  return map.size === 0 ? body : renameStmts(body, map);
}

/**
 * where every copy of a name was renamed (x0 -> x0_2, x0_3, ...: the original is gone), the
 * copies take x0, x0_2, ... instead, so the first reads as it was written
 */
function unsuffix(body: Stmt[], renamed: ReadonlyMap<string, readonly string[]>): Stmt[] {
  const used = new Set<string>();
  for (const s of body) namesOf(s, used);
  const map = new Map<string, string>();
  for (const [base, copies] of renamed) {
    const want = copies.map((_, i) => (i === 0 ? base : `${base}_${i + 1}`));
    if (used.has(base) || want.some((w) => used.has(w) && !copies.includes(w))) continue;
    copies.forEach((c, i) => map.set(c, want[i]!));
  }
  return map.size === 0 ? body : renameStmts(body, map);
}

/** the statements with every declaration and use of a name in `map` renamed (all at once) */
function renameStmts(stmts: readonly Stmt[], map: ReadonlyMap<string, string>): Stmt[] {
  const e = (x: Expr) => mapExpr(x, (n) => (map.has(n) ? v(map.get(n)!) : undefined));
  return stmts.map((s): Stmt => {
    switch (s.k) {
      case 'let':
        return { ...s, name: map.get(s.name) ?? s.name, init: e(s.init) };
      case 'assign':
        return { ...s, name: map.get(s.name) ?? s.name, value: e(s.value) };
      case 'store':
        return { ...s, index: e(s.index), value: e(s.value) };
      case 'for':
        return { ...s, from: e(s.from), to: e(s.to), body: renameStmts(s.body, map) };
      case 'if':
        return { ...s, cond: e(s.cond), then: renameStmts(s.then, map), else: renameStmts(s.else, map) };
      case 'comment':
      case 'barrier':
        return s;
    }
  });
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
  const taken = new Set<string>();
  for (const s of k.body) namesOf(s, taken);
  const renamed = new Map<string, string[]>();
  let body = unsuffix(simplifyStmts(k.body, new Map(), taken, renamed), renamed);
  // a dead local can keep another alive: repeat until nothing changes (a few rounds at most)
  for (;;) {
    const dropped = { n: 0 };
    body = dropDead(body, dropped);
    if (dropped.n === 0) break;
  }
  return { ...k, body };
}
