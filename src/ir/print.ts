// One precedence-aware expression printer for every text form of the IR (the dump, TS,
// WGSL). A dialect supplies only the target's spellings; parenthesization is decided here
// once, from C-family precedences that TS and WGSL share for the operators we use.

import type { BinOp, CallFn, Expr, ScalarType } from './types.ts';

export interface ExprDialect {
  /** a literal; negative values are printed as given (the printer handles `x + -3` -> `x - 3`) */
  constant(v: number, t: ScalarType): string;
  /** the operator token, or a function that prints the whole (atomic) node */
  bin(op: BinOp): string | ((a: string, b: string) => string);
  call(fn: CallFn, args: readonly string[]): string;
  load(buf: string, index: string): string;
  /** printed atomically (the printer wraps nothing around it) */
  select(cond: string, then: string, els: string): string;
  tof32(a: string): string;
  /** WGSL rejects `a && b || c` without parentheses: set to parenthesize any logic operand that is logic */
  parenMixedLogic?: boolean;
}

const PREC: Record<BinOp, number> = {
  '||': 3,
  '&&': 4,
  '==': 8,
  '!=': 8,
  '<': 9,
  '<=': 9,
  '>': 9,
  '>=': 9,
  '+': 11,
  '-': 11,
  '*': 12,
  '/': 12,
  idiv: 12,
  mod: 12,
  // printed atomically by every dialect (function form): WGSL refuses bit operators mixed with others
  xor: 20,
  shr: 20,
  mulw: 20,
};
const ATOM = 20;
const UNARY = 14;

function pr(e: Expr, d: ExprDialect): [string, number] {
  switch (e.k) {
    case 'const':
      return [d.constant(e.v, e.t), e.v < 0 || Object.is(e.v, -0) ? UNARY : ATOM];
    case 'var':
      return [e.name, ATOM];
    case 'load':
      return [d.load(e.buf, pr(e.index, d)[0]), ATOM];
    case 'call':
      return [d.call(e.fn, e.args.map((a) => pr(a, d)[0])), ATOM];
    case 'select':
      return [d.select(pr(e.cond, d)[0], pr(e.then, d)[0], pr(e.else, d)[0]), ATOM];
    case 'tof32':
      // TS prints tof32 as its bare operand: keep it atomic so `s / f32(a * b)` stays `s / (a * b)`
      return [d.tof32(atom(e.a, d)), ATOM];
    case 'bin': {
      let op = e.op;
      let b = e.b;
      // x + -3 reads better as x - 3 (only for literals: the value is the same)
      if (op === '+' && b.k === 'const' && b.v < 0) {
        op = '-';
        b = { ...b, v: -b.v };
      }
      const tok = d.bin(op);
      // a dialect's function form (TS idiv: `((a / b) | 0)`) gets atomic operands
      if (typeof tok === 'function') return [tok(atom(e.a, d), atom(b, d)), ATOM];
      const p = PREC[op];
      const logic = op === '&&' || op === '||';
      const side = (x: Expr, right: boolean): string => {
        const [s, q] = pr(x, d);
        const xLogic = x.k === 'bin' && (x.op === '&&' || x.op === '||');
        const wrap = q < p || (right && q === p) || (logic && xLogic && d.parenMixedLogic && x.op !== op);
        return wrap ? `(${s})` : s;
      };
      return [`${side(e.a, false)} ${tok} ${side(b, true)}`, p];
    }
  }
}

/** `e` printed as an operand that binds tighter than anything around it */
function atom(e: Expr, d: ExprDialect): string {
  const [s, q] = pr(e, d);
  return q < ATOM ? `(${s})` : s;
}

export function printExpr(e: Expr, d: ExprDialect): string {
  return pr(e, d)[0];
}
