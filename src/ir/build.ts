// Builders that keep kernel definitions readable. Plain numbers stand for i32 constants,
// and every arithmetic builder folds as it goes (src/ir/fold.ts), so index math written
// with generation-time numbers comes out as literals: `add(mul(n, 3072), 35)`.

import type { BufferDecl, CallFn, Expr, Kernel, ScalarType, Stmt } from './types.ts';
import { foldBin, foldCall, foldSelect } from './fold.ts';

/** an expression, or a number meaning an i32 constant */
export type E = Expr | number;

export const i32 = (v: number): Expr => ({ k: 'const', v, t: 'i32' });
export const f32 = (v: number): Expr => ({ k: 'const', v, t: 'f32' });
export const v = (name: string): Expr => ({ k: 'var', name });
export const ex = (e: E): Expr => (typeof e === 'number' ? i32(e) : e);

export const add = (a: E, b: E): Expr => foldBin('+', ex(a), ex(b));
export const sub = (a: E, b: E): Expr => foldBin('-', ex(a), ex(b));
export const mul = (a: E, b: E): Expr => foldBin('*', ex(a), ex(b));
/** f32 division */
export const div = (a: E, b: E): Expr => foldBin('/', ex(a), ex(b));
/** i32 division, operands >= 0 */
export const idiv = (a: E, b: E): Expr => foldBin('idiv', ex(a), ex(b));
/** i32 remainder, operands >= 0 */
export const mod = (a: E, b: E): Expr => foldBin('mod', ex(a), ex(b));
export const lt = (a: E, b: E): Expr => foldBin('<', ex(a), ex(b));
export const le = (a: E, b: E): Expr => foldBin('<=', ex(a), ex(b));
export const gt = (a: E, b: E): Expr => foldBin('>', ex(a), ex(b));
export const ge = (a: E, b: E): Expr => foldBin('>=', ex(a), ex(b));
export const eq = (a: E, b: E): Expr => foldBin('==', ex(a), ex(b));
export const ne = (a: E, b: E): Expr => foldBin('!=', ex(a), ex(b));
export const and = (...xs: E[]): Expr => xs.map(ex).reduce((a, b) => foldBin('&&', a, b), i32(1));
export const or = (...xs: E[]): Expr => xs.map(ex).reduce((a, b) => foldBin('||', a, b), i32(0));
export const call = (fn: CallFn, ...args: E[]): Expr => foldCall(fn, args.map(ex));
export const max = (a: E, b: E): Expr => call('max', a, b);
export const min = (a: E, b: E): Expr => call('min', a, b);
export const exp = (a: E): Expr => call('exp', a);
export const log = (a: E): Expr => call('log', a);
export const select = (cond: E, then: E, els: E): Expr => foldSelect(ex(cond), ex(then), ex(els));
export const tof32 = (a: E): Expr => {
  const e = ex(a);
  return e.k === 'const' ? f32(e.v) : { k: 'tof32', a: e };
};
export const load = (buf: string, index: E): Expr => ({ k: 'load', buf, index: ex(index) });
/** a sum of f32 terms, left to right (no terms: 0) */
export const sum = (terms: readonly Expr[]): Expr => (terms.length === 0 ? f32(0) : terms.reduce((a, b) => foldBin('+', a, b)));

// statements

/** an immutable local (TS `const`, WGSL `let`) */
export const let_ = (name: string, init: E, t: ScalarType = 'i32'): Stmt => ({ k: 'let', name, t, init: ex(init), mutable: false });
/** a mutable local, e.g. an accumulator (TS `let`, WGSL `var`) */
export const var_ = (name: string, init: E, t: ScalarType = 'f32'): Stmt => ({ k: 'let', name, t, init: ex(init), mutable: true });
export const assign = (name: string, value: E): Stmt => ({ k: 'assign', name, value: ex(value), op: '=' });
export const accum = (name: string, value: E): Stmt => ({ k: 'assign', name, value: ex(value), op: '+=' });
export const store = (buf: string, index: E, value: E): Stmt => ({ k: 'store', buf, index: ex(index), value: ex(value), op: '=' });
export const storeAdd = (buf: string, index: E, value: E): Stmt => ({ k: 'store', buf, index: ex(index), value: ex(value), op: '+=' });
export const comment = (text: string): Stmt => ({ k: 'comment', text });
export const barrier = (): Stmt => ({ k: 'barrier' });
export const if_ = (cond: E, then: readonly Stmt[], els: readonly Stmt[] = []): Stmt => ({ k: 'if', cond: ex(cond), then, else: els });

export interface LoopOpts {
  step?: number;
  parallel?: boolean;
  unroll?: boolean;
}

/** `for (name = from; name < to; name += step)`; `body` gets the loop variable */
export function loop(name: string, from: E, to: E, body: (iv: Expr) => readonly Stmt[], opts: LoopOpts = {}): Stmt {
  return {
    k: 'for',
    v: name,
    from: ex(from),
    to: ex(to),
    step: opts.step ?? 1,
    parallel: opts.parallel ?? false,
    unroll: opts.unroll ?? false,
    body: body(v(name)),
  };
}

/** a loop whose iterations are independent (WGSL: invocations) */
export const parallel = (name: string, from: E, to: E, body: (iv: Expr) => readonly Stmt[]): Stmt =>
  loop(name, from, to, body, { parallel: true });

/** a loop the unroll pass expands (constant bounds) */
export const unrolled = (name: string, from: E, to: E, body: (iv: Expr) => readonly Stmt[]): Stmt =>
  loop(name, from, to, body, { unroll: true });

export const buf = (name: string, length: number, access: BufferDecl['access'], t: ScalarType = 'f32'): BufferDecl => ({
  name,
  t,
  length,
  access,
});

export function kernel(k: {
  name: string;
  doc?: readonly string[];
  buffers: readonly BufferDecl[];
  scalars?: Kernel['scalars'];
  body: readonly Stmt[];
  workgroup?: Kernel['workgroup'];
}): Kernel {
  return { name: k.name, doc: k.doc ?? [], buffers: k.buffers, scalars: k.scalars ?? [], body: k.body, ...(k.workgroup ? { workgroup: k.workgroup } : {}) };
}

// bit patterns (i32 values read as u32), for counter-based hashing: see src/kernels/hash.ts
/** a ^ b */
export const xor = (a: E, b: E): Expr => foldBin('xor', ex(a), ex(b));
/** a >>> b (logical shift right, b a constant in 0..31), as an i32 */
export const shr = (a: E, b: E): Expr => foldBin('shr', ex(a), ex(b));
/** a * b mod 2^32 (Math.imul; WGSL's i32 '*' wraps) */
export const mulw = (a: E, b: E): Expr => foldBin('mulw', ex(a), ex(b));
