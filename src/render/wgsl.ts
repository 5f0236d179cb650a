// The WGSL renderer: one compute shader module per kernel. Buffers are storage bindings
// in Kernel.buffers order (read / read_write), runtime scalars one uniform struct after
// them, shapes literals.
//
// Parallel loops become invocations: the kernel arrives cut into dispatches (one entry
// point each, run in order) by the IR pass src/ir/dispatch.ts.
//
// The linear invocation id is folded into a 2D/3D grid of workgroups when it passes the
// per-dimension limit, and checked against the iteration count.

import type { BufferDecl, Expr, Kernel, ScalarType, Stmt } from '../ir/types.ts';
import { printExpr, type ExprDialect } from '../ir/print.ts';
import { cutDispatches, namesIn } from '../ir/dispatch.ts';
import { DEFAULT_LIMITS, PREFERRED_WORKGROUP_SIZE, type GpuLimits } from '../gpu/limits.ts';
import { Emitter } from './emitter.ts';

// ---- target data ------------------------------------------------------------------------

/** WGSL keywords, reserved words and the builtins kernels call: IR names that clash get a `_` suffix */
const RESERVED = new Set(
  (
    'alias break case const const_assert continue continuing default diagnostic discard else enable false fn for if let loop override ' +
    'requires return struct switch true var while f32 f16 i32 u32 bool array atomic mat2x2 mat3x3 mat4x4 ptr sampler texture_2d vec2 vec3 vec4 ' +
    'NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto await become binding_array cast catch class ' +
    'co_await co_return co_yield coherent column_major common compile compile_fragment concept const_cast consteval constexpr constinit ' +
    'crate debugger decltype delete demote demote_to_helper do dynamic_cast enum explicit export extends extern external fallthrough ' +
    'filter final finally friend from fxgroup get goto groupshared highp impl implements import inline instanceof interface layout lowp ' +
    'macro macro_rules match mediump meta mod module move mut mutable namespace new nil noexcept noinline nointerpolation noperspective ' +
    'null nullptr of operator package packoffset partition pass patch pixelfragment precise precision premerge priv protected pub public ' +
    'readonly ref regardless register reinterpret_cast require resource restrict self set shared sizeof smooth snorm static static_assert ' +
    'static_cast std subroutine super target template this thread_local throw trait try type typedef typeid typename typeof union unless ' +
    'unorm unsafe unsized use using varying virtual volatile wgsl where with writeonly yield ' +
    'max min exp log abs sqrt floor select bitcast storage uniform workgroup read read_write'
  ).split(' '),
);

/** an IR name as a WGSL identifier; names the renderer itself uses start with `_` */
export function wgslName(name: string): string {
  return RESERVED.has(name) || name.startsWith('_') ? `${name}_` : name;
}

const TYPE: Record<ScalarType | 'bool', string> = { f32: 'f32', i32: 'i32', bool: 'bool' };

/** an f32 literal: always marked, so `2f` never reads as an integer */
function f32Literal(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`render wgsl: f32 constant ${v} has no WGSL literal`);
  const s = String(v);
  return `${s}f`;
}

const WGSL: ExprDialect = {
  constant: (v, t) => {
    if (t === 'i32') {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Error(`render wgsl: i32 constant ${v} out of range`);
      return String(v);
    }
    return f32Literal(v);
  },
  bin: (op) => {
    switch (op) {
      case 'idiv':
        return '/';
      case 'mod':
        return '%';
      // WGSL takes no bit operator mixed with others unparenthesized; i32 '*' wraps, '>>' on
      // i32 is arithmetic, so the logical shift goes through u32
      case 'xor':
        return (a, b) => `(${a} ^ ${b})`;
      case 'shr':
        return (a, b) => `i32(u32(${a}) >> u32(${b}))`;
      case 'mulw':
        return (a, b) => `(${a} * ${b})`;
      default:
        return op;
    }
  },
  call: (fn, args) => `${fn}(${args.join(', ')})`,
  load: (buf, i) => `${buf}[${i}]`,
  // WGSL's select takes (false value, true value, condition)
  select: (c, a, b) => `select(${b}, ${a}, ${c})`,
  tof32: (a) => `f32(${a})`,
  parenMixedLogic: true,
};

// ---- typing: WGSL has no implicit conversions between i32, f32 and bool ----------------

type Ty = ScalarType | 'bool';
type TyEnv = ReadonlyMap<string, Ty>;

const TRUE: Expr = { k: 'var', name: 'true' };
const FALSE: Expr = { k: 'var', name: 'false' };
const ARITH = new Set(['+', '-', '*', '/', 'idiv', 'mod', 'xor', 'shr', 'mulw']);
const COMPARE = new Set(['<', '<=', '>', '>=', '==', '!=']);

interface Typed {
  readonly e: Expr;
  readonly t: Ty;
}

/** `e` renamed for WGSL and typed; literals take the type their context needs */
function typeExpr(e: Expr, env: TyEnv, bufs: ReadonlyMap<string, BufferDecl>): Typed {
  const ty = (x: Expr) => typeExpr(x, env, bufs);
  switch (e.k) {
    case 'const':
      return { e, t: e.t };
    case 'var': {
      if (e.name === 'true' || e.name === 'false') return { e, t: 'bool' };
      const t = env.get(e.name);
      if (!t) throw new Error(`render wgsl: '${e.name}' has no type`);
      return { e: { k: 'var', name: wgslName(e.name) }, t };
    }
    case 'load': {
      const b = bufs.get(e.buf);
      if (!b) throw new Error(`render wgsl: load from unknown buffer '${e.buf}'`);
      return { e: { k: 'load', buf: wgslName(e.buf), index: coerce(ty(e.index), 'i32') }, t: b.t };
    }
    case 'tof32': {
      const a = ty(e.a);
      return a.t === 'f32' ? a : { e: { k: 'tof32', a: coerce(a, 'i32') }, t: 'f32' };
    }
    case 'call': {
      const args = e.args.map(ty);
      const t: Ty = e.fn === 'exp' || e.fn === 'log' || e.fn === 'sqrt' || e.fn === 'floor' || args.some((a) => a.t === 'f32') ? 'f32' : 'i32';
      return { e: { k: 'call', fn: e.fn, args: args.map((a) => coerce(a, t)) }, t };
    }
    case 'select': {
      const a = ty(e.then);
      const b = ty(e.else);
      const t: Ty = a.t === b.t ? a.t : a.t === 'f32' || b.t === 'f32' ? 'f32' : 'i32';
      return { e: { k: 'select', cond: coerce(ty(e.cond), 'bool'), then: coerce(a, t), else: coerce(b, t) }, t };
    }
    case 'bin': {
      const a = ty(e.a);
      const b = ty(e.b);
      if (e.op === '&&' || e.op === '||') return { e: { k: 'bin', op: e.op, a: coerce(a, 'bool'), b: coerce(b, 'bool') }, t: 'bool' };
      // `/` is f32 division by definition; the others follow their operands
      const t: Ty = e.op === '/' || a.t === 'f32' || b.t === 'f32' ? 'f32' : a.t === 'bool' && b.t === 'bool' && COMPARE.has(e.op) ? 'bool' : 'i32';
      const out: Expr = { k: 'bin', op: e.op, a: coerce(a, t), b: coerce(b, t) };
      if (ARITH.has(e.op)) return { e: out, t };
      return { e: out, t: 'bool' };
    }
  }
}

/** `x` as type `want` */
function coerce(x: Typed, want: Ty): Expr {
  if (x.t === want) return x.e;
  const e = x.e;
  if (e.k === 'const') {
    if (want === 'bool') return e.v !== 0 ? TRUE : FALSE;
    if (want === 'f32') return { k: 'const', v: e.v, t: 'f32' };
    if (Number.isInteger(e.v)) return { k: 'const', v: e.v, t: 'i32' };
  }
  if (want === 'bool') return { k: 'bin', op: '!=', a: e, b: { k: 'const', v: 0, t: x.t === 'f32' ? 'f32' : 'i32' } };
  if (x.t === 'bool') return { k: 'select', cond: e, then: { k: 'const', v: 1, t: want }, else: { k: 'const', v: 0, t: want } };
  if (want === 'f32') return { k: 'tof32', a: e };
  // f32 -> i32 never arises from the kernel builders: refuse rather than truncate silently
  throw new Error(`render wgsl: an f32 value where an i32 is needed: ${printExpr(e, WGSL)}`);
}

// ---- dispatch geometry ----------------------------------------------------------------

/** workgroups for `groups` under the per-dimension limit: 1D, else 2D, else 3D */
export function foldWorkgroups(groups: number, maxPerDim: number): [number, number, number] {
  if (groups <= maxPerDim) return [groups, 1, 1];
  const gy0 = Math.ceil(groups / maxPerDim);
  if (gy0 <= maxPerDim) return [Math.ceil(groups / gy0), gy0, 1];
  const gz = Math.ceil(groups / (maxPerDim * maxPerDim));
  if (gz > maxPerDim) throw new Error(`render wgsl: ${groups} workgroups exceed ${maxPerDim}^3`);
  const rest = Math.ceil(groups / gz);
  const gy = Math.ceil(rest / maxPerDim);
  return [Math.ceil(rest / gy), gy, gz];
}

// ---- the module ----------------------------------------------------------------------

export interface WgslBinding {
  readonly binding: number;
  /** the kernel's buffer name, or `scalars` for the uniform struct */
  readonly name: string;
  /** WebGPU buffer binding type */
  readonly type: 'read-only-storage' | 'storage' | 'uniform';
  readonly bytes: number;
}

export interface WgslEntry {
  /** entry point name (`main`, or `main_1`... when a kernel needs several dispatches) */
  readonly name: string;
  /** the parallel loops this dispatch covers, outer first (empty: one invocation) */
  readonly grid: readonly { readonly v: string; readonly count: number }[];
  /** invocations that do work (the rest exit at the bounds check) */
  readonly invocations: number;
  readonly workgroupSize: number;
  readonly workgroups: readonly [number, number, number];
}

export interface WgslKernel {
  readonly name: string;
  readonly code: string;
  /** dispatches in the order they run; each needs the whole bind group */
  readonly entries: readonly WgslEntry[];
  /** largest workgroup size over the entries */
  readonly workgroupSize: number;
  readonly bindings: readonly WgslBinding[];
  /** bytes of the uniform struct (0 without scalars); 16-byte multiple */
  readonly uniformBytes: number;
  /** workgroup memory per workgroup, bytes (cooperative kernels' shared arrays) */
  readonly workgroupBytes: number;
}

function emitStmts(em: Emitter, stmts: readonly Stmt[], env: Map<string, Ty>, bufs: ReadonlyMap<string, BufferDecl>) {
  const ty = (e: Expr) => typeExpr(e, env, bufs);
  const text = (e: Expr, want?: Ty) => {
    const t = ty(e);
    return printExpr(want ? coerce(t, want) : t.e, WGSL);
  };
  for (const s of stmts) {
    switch (s.k) {
      case 'let': {
        const init = ty(s.init);
        // a local holding a comparison is a bool in WGSL, whatever the IR called it
        const t: Ty = init.t === 'bool' && !s.mutable ? 'bool' : s.t;
        em.line(`${s.mutable ? 'var' : 'let'} ${wgslName(s.name)}: ${TYPE[t]} = ${printExpr(coerce(init, t), WGSL)};`);
        env.set(s.name, t);
        break;
      }
      case 'assign': {
        const t = env.get(s.name);
        if (!t) throw new Error(`render wgsl: assignment to undeclared '${s.name}'`);
        em.line(`${wgslName(s.name)} ${s.op} ${text(s.value, t)};`);
        break;
      }
      case 'store': {
        const b = bufs.get(s.buf);
        if (!b) throw new Error(`render wgsl: store to unknown buffer '${s.buf}'`);
        em.line(`${wgslName(s.buf)}[${text(s.index, 'i32')}] ${s.op} ${text(s.value, b.t)};`);
        break;
      }
      case 'for': {
        const v = wgslName(s.v);
        const inc = s.step === 1 ? `${v}++` : `${v} += ${s.step}`;
        const inner = new Map(env);
        inner.set(s.v, 'i32');
        em.block(`for (var ${v}: i32 = ${text(s.from, 'i32')}; ${v} < ${text(s.to, 'i32')}; ${inc}) {`, () => emitStmts(em, s.body, inner, bufs));
        break;
      }
      case 'if':
        if (s.else.length === 0) {
          em.block(`if (${text(s.cond, 'bool')}) {`, () => emitStmts(em, s.then, new Map(env), bufs));
        } else {
          em.line(`if (${text(s.cond, 'bool')}) {`);
          em.indented(() => emitStmts(em, s.then, new Map(env), bufs));
          em.block('} else {', () => emitStmts(em, s.else, new Map(env), bufs));
        }
        break;
      case 'comment':
        em.line(`// ${s.text}`);
        break;
      case 'barrier':
        em.line('workgroupBarrier();');
        break;
    }
  }
}

const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** render a lowered kernel (run lowerKernel first: unroll loops must be gone) as one WGSL module */
export function renderKernelWgsl(k: Kernel, limits: GpuLimits = DEFAULT_LIMITS): WgslKernel {
  const shared = (k.workgroup?.shared ?? []).map((a): BufferDecl => ({ ...a, access: 'read_write' }));
  const bufs = new Map([...k.buffers, ...shared].map((b) => [b.name, b]));
  const phases = cutDispatches(k);
  const maxWg = Math.min(PREFERRED_WORKGROUP_SIZE, limits.maxComputeInvocationsPerWorkgroup);

  const em = new Emitter();
  for (const d of k.doc) em.line(d === '' ? '//' : `// ${d}`);
  em.line(`// kernel ${k.name}: ${phases.length} dispatch${phases.length === 1 ? '' : 'es'}, in order`);
  em.line();

  const bindings: WgslBinding[] = k.buffers.map((b, i) => ({
    binding: i,
    name: b.name,
    type: b.access === 'read' ? 'read-only-storage' : 'storage',
    bytes: b.length * 4,
  }));
  for (const [i, b] of k.buffers.entries()) {
    const access = b.access === 'read' ? 'read' : 'read_write';
    em.line(`@group(0) @binding(${i}) var<storage, ${access}> ${wgslName(b.name)}: array<${TYPE[b.t]}, ${b.length}>;`);
  }
  const uniformBytes = k.scalars.length ? Math.ceil((k.scalars.length * 4) / 16) * 16 : 0;
  if (k.scalars.length) {
    em.line();
    em.block('struct Scalars {', () => {
      for (const s of k.scalars) em.line(`${wgslName(s.name)}: ${TYPE[s.t]},`);
    });
    em.line(`@group(0) @binding(${k.buffers.length}) var<uniform> _scalars: Scalars;`);
    bindings.push({ binding: k.buffers.length, name: 'scalars', type: 'uniform', bytes: uniformBytes });
  }

  const coop = k.workgroup;
  if (coop) {
    if (coop.size > limits.maxComputeInvocationsPerWorkgroup) {
      throw new Error(`render wgsl: kernel ${k.name} needs workgroups of ${coop.size} invocations, over maxComputeInvocationsPerWorkgroup = ${limits.maxComputeInvocationsPerWorkgroup}`);
    }
    em.line();
    for (const a of coop.shared) em.line(`var<workgroup> ${wgslName(a.name)}: array<${TYPE[a.t]}, ${a.length}>;`);
  }

  const entries: WgslEntry[] = [];
  for (const [pi, p] of phases.entries()) {
    const name = phases.length === 1 ? 'main' : `main_${pi}`;
    // a cooperative kernel's grid counts workgroups; otherwise it counts invocations
    const iterations = p.dims.reduce((a, d) => a * d.count, 1);
    const invocations = coop ? iterations * coop.size : iterations;
    if (invocations > 2 ** 31 - 1) throw new Error(`render wgsl: kernel ${k.name}: ${invocations} invocations in one dispatch`);
    const wg = coop ? coop.size : p.dims.length === 0 ? 1 : Math.min(maxWg, nextPow2(iterations));
    const workgroups = foldWorkgroups(coop ? iterations : Math.ceil(iterations / wg), limits.maxComputeWorkgroupsPerDimension);
    entries.push({ name, grid: p.dims.map((d) => ({ v: d.v, count: d.count })), invocations, workgroupSize: wg, workgroups });

    const env = new Map<string, Ty>();
    for (const s of k.scalars) env.set(s.name, s.t);
    for (const d of p.dims) env.set(d.v, 'i32');
    if (coop) env.set(coop.local, 'i32');
    const used = namesIn(p.body);
    em.line();
    const gridText = p.dims.length ? p.dims.map((d) => `${d.v}=${d.count}`).join(' x ') : 'one invocation';
    const unit = coop ? 'workgroup per grid point, ' : '';
    em.line(`// dispatch ${pi + 1} of ${phases.length}: ${gridText}; ${unit}${workgroups.join('x')} workgroups of ${wg}`);
    em.line(`@compute @workgroup_size(${wg})`);
    const params = p.dims.length || coop ? '@builtin(workgroup_id) _wid: vec3<u32>, @builtin(local_invocation_index) _lid: u32' : '';
    em.block(`fn ${name}(${params}) {`, () => {
      if (p.dims.length) {
        const [gx, gy] = workgroups;
        const group = workgroups[2] > 1 ? `(_wid.z * ${gy}u + _wid.y) * ${gx}u + _wid.x` : workgroups[1] > 1 ? `_wid.y * ${gx}u + _wid.x` : '_wid.x';
        // cooperative: the whole workgroup leaves together (uniform control flow for its barriers)
        em.line(coop ? `let _lin: u32 = ${group};` : `let _lin: u32 = (${group}) * ${wg}u + _lid;`);
        em.line(`if (_lin >= ${iterations}u) {`).indented(() => em.line('return;')).line('}');
        em.line('let _i: i32 = i32(_lin);');
        // outer loops vary slowest, as in the loop nest
        let stride = iterations;
        for (const [di, d] of p.dims.entries()) {
          stride /= d.count;
          let idx = stride === 1 ? '_i' : `_i / ${stride}`;
          if (di > 0 && d.count < iterations / stride) idx = d.count === 1 ? '0' : `(${idx}) % ${d.count}`;
          if (d.count === 1) idx = '0';
          const scaled = d.step === 1 ? idx : `(${idx}) * ${d.step}`;
          const value = d.from === 0 ? scaled : `${d.from} + ${scaled}`;
          em.line(`let ${wgslName(d.v)}: i32 = ${value};`);
        }
      }
      if (coop) em.line(`let ${wgslName(coop.local)}: i32 = i32(_lid);`);
      for (const s of k.scalars) if (used.has(s.name)) em.line(`let ${wgslName(s.name)}: ${TYPE[s.t]} = _scalars.${wgslName(s.name)};`);
      emitStmts(em, p.body, env, bufs);
    });
  }
  return {
    name: k.name,
    code: em.text(),
    entries,
    workgroupSize: Math.max(1, ...entries.map((e) => e.workgroupSize)),
    bindings,
    uniformBytes,
    workgroupBytes: (coop?.shared ?? []).reduce((a, b) => a + b.length * 4, 0),
  };
}
