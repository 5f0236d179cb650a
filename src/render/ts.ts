// The TypeScript renderer: one exported function per kernel, buffers as parameters in
// Kernel.buffers order, then the runtime scalars. `types: false` gives plain JavaScript
// (what tests evaluate with compileKernelTs; `--emit js` compiles the typed flavour).
//
// Math runs in JS doubles and rounds to f32 when stored into a Float32Array: faster than
// Math.fround at every step, and at least as accurate as the f32 WGSL kernels.

import type { Expr, Kernel, ScalarType, Stmt, WorkgroupDecl } from '../ir/types.ts';
import { printExpr, type ExprDialect } from '../ir/print.ts';
import { lowerKernel } from '../ir/passes.ts';
import { exprsOf, loadsOf, mapExpr, varsOf, workgroupLoops } from '../ir/walk.ts';
import { Emitter } from './emitter.ts';

const JS: ExprDialect = {
  constant: (v, t) => {
    if (t === 'i32' && !Number.isInteger(v)) throw new Error(`render ts: i32 constant ${v} is not an integer`);
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    return String(v);
  },
  bin: (op) => {
    switch (op) {
      // operands are >= 0, so truncation is floor; `| 0` keeps V8 on the small-int path
      case 'idiv':
        return (a, b) => `((${a} / ${b}) | 0)`;
      case 'mod':
        return '%';
      case '==':
        return '===';
      case '!=':
        return '!==';
      // bit patterns stay i32 values, as in WGSL: `>>>` gives a u32 number, `| 0` takes it back
      case 'xor':
        return (a, b) => `(${a} ^ ${b})`;
      case 'shr':
        return (a, b) => `((${a} >>> ${b}) | 0)`;
      case 'mulw':
        return (a, b) => `Math.imul(${a}, ${b})`;
      default:
        return op;
    }
  },
  call: (fn, args) => `Math.${fn}(${args.join(', ')})`,
  load: (buf, i) => `${buf}[${i}]`,
  select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  tof32: (a) => a,
};

// an app's noUncheckedIndexedAccess types a typed-array read as `number | undefined`; every
// index here is in bounds by construction (static shapes), so reads assert it. Writes need nothing
const TS: ExprDialect = { ...JS, load: (buf, i) => `${buf}[${i}]!` };

const arrayType = (t: ScalarType) => (t === 'f32' ? 'Float32Array' : 'Int32Array');

function emitStmts(em: Emitter, d: ExprDialect, stmts: readonly Stmt[]) {
  for (const s of stmts) {
    switch (s.k) {
      case 'let':
        em.line(`${s.mutable ? 'let' : 'const'} ${s.name} = ${printExpr(s.init, d)};`);
        break;
      case 'assign':
        em.line(`${s.name} ${s.op} ${printExpr(s.value, d)};`);
        break;
      case 'store':
        em.line(`${s.buf}[${printExpr(s.index, d)}] ${s.op} ${printExpr(s.value, d)};`);
        break;
      case 'for': {
        const inc = s.step === 1 ? `${s.v}++` : `${s.v} += ${s.step}`;
        em.block(`for (let ${s.v} = ${printExpr(s.from, d)}; ${s.v} < ${printExpr(s.to, d)}; ${inc}) {`, () => emitStmts(em, d, s.body));
        break;
      }
      case 'if':
        if (s.else.length === 0) {
          em.block(`if (${printExpr(s.cond, d)}) {`, () => emitStmts(em, d, s.then));
        } else {
          em.line(`if (${printExpr(s.cond, d)}) {`);
          em.indented(() => emitStmts(em, d, s.then));
          em.block('} else {', () => emitStmts(em, d, s.else));
        }
        break;
      case 'comment':
        em.line(`// ${s.text}`);
        break;
      case 'barrier':
        throw new Error('render ts: a barrier outside a cooperative kernel');
    }
  }
}

// ---- cooperative kernels (Kernel.workgroup), run one invocation at a time ----------------
//
// On the CPU a workgroup's invocations run one after another, so the body is split at its
// barriers (loop fission): each barrier-free stretch becomes a loop over the invocations.
// Accumulators that live across a barrier become arrays with one element per invocation;
// immutable locals at those levels are recomputed in every stretch that needs them. This is
// how tests run the GPU's tiled kernels against the reference without a GPU.

const hasBarrier = (s: Stmt): boolean =>
  s.k === 'barrier' || (s.k === 'for' && s.body.some(hasBarrier)) || (s.k === 'if' && [...s.then, ...s.else].some(hasBarrier));

/** private accumulators become per-invocation array elements */
function privatize(stmts: readonly Stmt[], priv: ReadonlySet<string>, local: string): Stmt[] {
  const leaf = (n: string): Expr | undefined => (priv.has(n) ? { k: 'load', buf: n, index: { k: 'var', name: local } } : undefined);
  const m = (e: Expr) => mapExpr(e, leaf);
  return stmts.map((s): Stmt => {
    switch (s.k) {
      case 'let':
        return priv.has(s.name) ? { k: 'store', buf: s.name, index: { k: 'var', name: local }, value: m(s.init), op: '=' } : { ...s, init: m(s.init) };
      case 'assign':
        return priv.has(s.name) ? { k: 'store', buf: s.name, index: { k: 'var', name: local }, value: m(s.value), op: s.op } : { ...s, value: m(s.value) };
      case 'store':
        return { ...s, index: m(s.index), value: m(s.value) };
      case 'for':
        return { ...s, from: m(s.from), to: m(s.to), body: privatize(s.body, priv, local) };
      case 'if':
        return { ...s, cond: m(s.cond), then: privatize(s.then, priv, local), else: privatize(s.else, priv, local) };
      default:
        return s;
    }
  });
}

/** the mutable locals declared at barrier levels: they must survive between stretches */
function privates(stmts: readonly Stmt[], out: Map<string, ScalarType>): Map<string, ScalarType> {
  for (const s of stmts) {
    if (s.k === 'let' && s.mutable) out.set(s.name, s.t);
    if (s.k === 'for' && hasBarrier(s)) privates(s.body, out);
  }
  return out;
}

/**
 * one barrier level of a cooperative kernel. Its immutable locals are context, recomputed in
 * every stretch that reads them, unless they read what changes between stretches (`changing`:
 * workgroup memory and writable buffers, or an accumulator): those belong to their stretch,
 * and a later stretch may not read them
 */
function emitWorkgroupBody(em: Emitter, d: ExprDialect, stmts: readonly Stmt[], wg: WorkgroupDecl, priv: ReadonlySet<string>, changing: ReadonlySet<string>, ctx: readonly Stmt[]) {
  let pending: Stmt[] = [];
  let scope = [...ctx];
  const earlier = new Set<string>();
  const current = new Set<string>();
  const flush = () => {
    if (pending.some((s) => s.k !== 'comment')) {
      // the context locals this stretch reads, directly or through each other
      const need = new Set<string>();
      const collect = (ss: readonly Stmt[]) => {
        for (const s of ss) {
          for (const e of exprsOf(s)) varsOf(e, need);
          if (s.k === 'for') collect(s.body);
          if (s.k === 'if') collect([...s.then, ...s.else]);
        }
      };
      collect(pending);
      const stale = [...need].filter((n) => earlier.has(n));
      if (stale.length) throw new Error(`render ts: ${stale.map((n) => `'${n}'`).join(', ')} read workgroup state before a barrier and are used after it; recompute them after the barrier`);
      const lets: Stmt[] = [];
      for (const s of [...scope].reverse()) {
        if (s.k === 'let' && need.has(s.name)) {
          lets.unshift(s);
          varsOf(s.init, need);
        }
      }
      em.block(`for (let ${wg.local} = 0; ${wg.local} < ${wg.size}; ${wg.local}++) {`, () => emitStmts(em, d, privatize([...lets, ...pending], priv, wg.local)));
    } else for (const s of pending) emitStmts(em, d, [s]);
    pending = [];
    for (const n of current) earlier.add(n);
    current.clear();
  };
  for (const s of stmts) {
    if (s.k === 'barrier') {
      flush();
      em.line('// barrier: every invocation above has run');
    } else if (hasBarrier(s)) {
      if (s.k !== 'for') throw new Error('render ts: a barrier under an if');
      flush();
      const inc = s.step === 1 ? `${s.v}++` : `${s.v} += ${s.step}`;
      em.block(`for (let ${s.v} = ${printExpr(s.from, d)}; ${s.v} < ${printExpr(s.to, d)}; ${inc}) {`, () => emitWorkgroupBody(em, d, s.body, wg, priv, changing, scope));
    } else if (s.k === 'let' && !s.mutable && ![...loadsOf(s.init)].some((b) => changing.has(b)) && ![...varsOf(s.init)].some((n) => priv.has(n) || current.has(n) || earlier.has(n))) {
      scope = [...scope, s];
    } else {
      if (s.k === 'let' && !s.mutable) current.add(s.name);
      pending.push(s);
    }
  }
  flush();
}

function emitCooperative(em: Emitter, d: ExprDialect, k: Kernel, wg: WorkgroupDecl) {
  const { loops, notes, inner } = workgroupLoops(k.body);
  for (const a of wg.shared) em.line(`const ${a.name} = new ${arrayType(a.t)}(${a.length});`);
  const priv = privates(inner, new Map());
  for (const [name, t] of priv) em.line(`const ${name} = new ${arrayType(t)}(${wg.size});`);
  // what may change between stretches: workgroup memory and the buffers the kernel writes
  const changing = new Set([...wg.shared.map((a) => a.name), ...k.buffers.filter((b) => b.access !== 'read').map((b) => b.name)]);
  emitStmts(em, d, notes);
  // the workgroups one after another, as plain loops
  const open = (i: number): void => {
    if (i === loops.length) return emitWorkgroupBody(em, d, inner, wg, new Set(priv.keys()), changing, []);
    const l = loops[i];
    const inc = l.step === 1 ? `${l.v}++` : `${l.v} += ${l.step}`;
    em.block(`for (let ${l.v} = ${printExpr(l.from, d)}; ${l.v} < ${printExpr(l.to, d)}; ${inc}) {`, () => open(i + 1));
  };
  open(0);
}

export interface RenderTsOptions {
  /** TypeScript annotations on parameters (false: plain JavaScript) */
  readonly types: boolean;
  /** `export function` (default true); compileKernelTs renders a bare function */
  readonly exported?: boolean;
}

/** render a lowered kernel (run lowerKernel first: unroll loops must be gone) */
export function renderKernelTs(k: Kernel, opts: RenderTsOptions): string {
  const em = new Emitter();
  if (k.doc.length) {
    em.line('/**');
    for (const d of k.doc) em.line(d === '' ? ' *' : ` * ${d}`);
    em.line(' */');
  }
  const params = [
    ...k.buffers.map((b) => (opts.types ? `${b.name}: ${arrayType(b.t)}` : b.name)),
    ...k.scalars.map((s) => (opts.types ? `${s.name}: number` : s.name)),
  ];
  const head = `${opts.exported === false ? '' : 'export '}function ${k.name}(${params.join(', ')})${opts.types ? ': void' : ''} {`;
  const wg = k.workgroup;
  const d = opts.types ? TS : JS;
  em.block(head, () => (wg ? emitCooperative(em, d, k, wg) : emitStmts(em, d, k.body)));
  return em.text();
}

/** a kernel as a callable JS function: lowered, rendered without types, evaluated */
export function compileKernelTs(k: Kernel): (...args: (Float32Array | Int32Array | number)[]) => void {
  const lowered = lowerKernel(k);
  const src = renderKernelTs(lowered, { types: false, exported: false });
  return new Function(`${src}return ${lowered.name};`)() as (...args: (Float32Array | Int32Array | number)[]) => void;
}
