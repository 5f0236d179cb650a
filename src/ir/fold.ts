// Local rewrite rules for one expression node: constant folding and the algebra that
// turns unrolled index math into `base + literal`. Both the builders (src/ir/build.ts)
// and the simplify pass use them, so a kernel is folded as it is written and again
// after unrolling substitutes loop variables.
//
// Reassociation is applied only to i32 math (an operand that is an i32 constant proves
// the node is i32: the IR never mixes types in one operator). f32 math is never
// reordered, since that changes rounding; only exact identities (x*1, x+0) are used there.

import type { BinOp, CallFn, Expr, ScalarType } from './types.ts';

export function isConst(e: Expr, v?: number): e is { k: 'const'; v: number; t: ScalarType } {
  return e.k === 'const' && (v === undefined || e.v === v);
}

function isI32Const(e: Expr): e is { k: 'const'; v: number; t: 'i32' } {
  return e.k === 'const' && e.t === 'i32';
}

const i32 = (v: number): Expr => ({ k: 'const', v, t: 'i32' });
/** comparison and logic results fold to an i32 0/1; simplify removes them from `if` / `select` */
const bool = (b: boolean): Expr => i32(b ? 1 : 0);
const node = (op: BinOp, a: Expr, b: Expr): Expr => ({ k: 'bin', op, a, b });

function foldConsts(op: BinOp, a: number, b: number, t: ScalarType): Expr | null {
  switch (op) {
    case '+':
      return { k: 'const', v: a + b, t };
    case '-':
      return { k: 'const', v: a - b, t };
    case '*':
      return { k: 'const', v: a * b, t };
    case '/':
      return b === 0 ? null : { k: 'const', v: a / b, t };
    case 'idiv':
      return b === 0 ? null : i32(Math.floor(a / b));
    case 'mod':
      return b === 0 ? null : i32(a - Math.floor(a / b) * b);
    case '<':
      return bool(a < b);
    case '<=':
      return bool(a <= b);
    case '>':
      return bool(a > b);
    case '>=':
      return bool(a >= b);
    case '==':
      return bool(a === b);
    case '!=':
      return bool(a !== b);
    case '&&':
      return bool(a !== 0 && b !== 0);
    case '||':
      return bool(a !== 0 || b !== 0);
    // bit patterns: folded to the i32 the targets compute (a WGSL constant expression that
    // overflows is an error, so none may reach a shader unfolded)
    case 'xor':
      return i32(a ^ b);
    case 'shr':
      return i32((a >>> b) | 0);
    case 'mulw':
      return i32(Math.imul(a, b));
  }
}

/** build `a op b`, folded */
export function foldBin(op: BinOp, a: Expr, b: Expr): Expr {
  if (a.k === 'const' && b.k === 'const') {
    const t = op === '/' ? 'f32' : a.t;
    const r = foldConsts(op, a.v, b.v, t);
    if (r) return r;
  }
  switch (op) {
    case '+':
      // constants go right, then outward: ((x + 3) + y) + 5 -> (x + y) + 8
      if (isI32Const(a)) return foldBin('+', b, a);
      if (isConst(b, 0)) return a;
      if (isConst(a, 0) && a.t === 'f32') return b;
      if (isI32Const(b) && a.k === 'bin' && a.op === '+' && isI32Const(a.b)) return foldBin('+', a.a, i32(a.b.v + b.v));
      if (a.k === 'bin' && a.op === '+' && isI32Const(a.b) && !isConst(b)) return foldBin('+', foldBin('+', a.a, b), a.b);
      if (b.k === 'bin' && b.op === '+' && isI32Const(b.b)) return foldBin('+', foldBin('+', a, b.a), b.b);
      return node('+', a, b);
    case '-':
      if (isI32Const(b)) return foldBin('+', a, i32(-b.v));
      if (isConst(b, 0)) return a;
      if (a.k === 'bin' && a.op === '+' && isI32Const(a.b)) return foldBin('+', foldBin('-', a.a, b), a.b);
      if (b.k === 'bin' && b.op === '+' && isI32Const(b.b)) return foldBin('+', foldBin('-', a, b.a), i32(-b.b.v));
      return node('-', a, b);
    case '*':
      if (isI32Const(a)) return foldBin('*', b, a);
      if (isConst(b, 1)) return a;
      if (isConst(a, 1) && a.t === 'f32') return b;
      if (isI32Const(b)) {
        // only i32 products by zero vanish: f32 0 * inf is NaN
        if (b.v === 0) return i32(0);
        if (a.k === 'bin' && a.op === '*' && isI32Const(a.b)) return foldBin('*', a.a, i32(a.b.v * b.v));
        if (a.k === 'bin' && a.op === '+' && isI32Const(a.b)) return foldBin('+', foldBin('*', a.a, b), i32(a.b.v * b.v));
      }
      return node('*', a, b);
    case '/':
      if (isConst(b, 1)) return a;
      return node('/', a, b);
    case 'idiv':
      if (isConst(b, 1)) return a;
      if (isConst(a, 0)) return a;
      return node('idiv', a, b);
    case 'mod':
      if (isConst(b, 1)) return i32(0);
      return node('mod', a, b);
    case '&&':
      if (isConst(a)) return a.v !== 0 ? b : bool(false);
      if (isConst(b)) return b.v !== 0 ? a : bool(false);
      return node('&&', a, b);
    case '||':
      if (isConst(a)) return a.v !== 0 ? bool(true) : b;
      if (isConst(b)) return b.v !== 0 ? bool(true) : a;
      return node('||', a, b);
    default:
      return node(op, a, b);
  }
}

export function foldCall(fn: CallFn, args: readonly Expr[]): Expr {
  if (args.every((a) => a.k === 'const')) {
    const v = args.map((a) => (a as { v: number }).v);
    const t = (args[0] as { t: ScalarType }).t;
    switch (fn) {
      case 'max':
        return { k: 'const', v: Math.max(...v), t };
      case 'min':
        return { k: 'const', v: Math.min(...v), t };
      case 'abs':
        return { k: 'const', v: Math.abs(v[0]), t };
      case 'floor':
        return { k: 'const', v: Math.floor(v[0]), t };
      default:
        // exp / log / sqrt of constants stay calls: their f32 result is the target's business
        break;
    }
  }
  return { k: 'call', fn, args };
}

export function foldSelect(cond: Expr, then: Expr, els: Expr): Expr {
  if (cond.k === 'const') return cond.v !== 0 ? then : els;
  return { k: 'select', cond, then, else: els };
}
