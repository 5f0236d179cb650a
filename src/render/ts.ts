// The TypeScript renderer: one exported function per kernel, buffers as parameters in
// Kernel.buffers order, then the runtime scalars. `types: false` gives plain JavaScript
// (`--emit js`, and what tests evaluate with compileKernelTs).
//
// Math runs in JS doubles and rounds to f32 when stored into a Float32Array: faster than
// Math.fround at every step, and at least as accurate as the f32 WGSL kernels.

import type { Kernel, ScalarType, Stmt } from '../ir/types.ts';
import { printExpr, type ExprDialect } from '../ir/print.ts';
import { lowerKernel } from '../ir/passes.ts';
import { Emitter } from './emitter.ts';

const TS: ExprDialect = {
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
      default:
        return op;
    }
  },
  call: (fn, args) => `Math.${fn}(${args.join(', ')})`,
  load: (buf, i) => `${buf}[${i}]`,
  select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  tof32: (a) => a,
};

const arrayType = (t: ScalarType) => (t === 'f32' ? 'Float32Array' : 'Int32Array');
const expr = (e: Parameters<typeof printExpr>[0]) => printExpr(e, TS);

function emitStmts(em: Emitter, stmts: readonly Stmt[]) {
  for (const s of stmts) {
    switch (s.k) {
      case 'let':
        em.line(`${s.mutable ? 'let' : 'const'} ${s.name} = ${expr(s.init)};`);
        break;
      case 'assign':
        em.line(`${s.name} ${s.op} ${expr(s.value)};`);
        break;
      case 'store':
        em.line(`${s.buf}[${expr(s.index)}] ${s.op} ${expr(s.value)};`);
        break;
      case 'for': {
        const inc = s.step === 1 ? `${s.v}++` : `${s.v} += ${s.step}`;
        em.block(`for (let ${s.v} = ${expr(s.from)}; ${s.v} < ${expr(s.to)}; ${inc}) {`, () => emitStmts(em, s.body));
        break;
      }
      case 'if':
        if (s.else.length === 0) {
          em.block(`if (${expr(s.cond)}) {`, () => emitStmts(em, s.then));
        } else {
          em.line(`if (${expr(s.cond)}) {`);
          em.indented(() => emitStmts(em, s.then));
          em.block('} else {', () => emitStmts(em, s.else));
        }
        break;
      case 'comment':
        em.line(`// ${s.text}`);
        break;
    }
  }
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
  em.block(head, () => emitStmts(em, k.body));
  return em.text();
}

/** a kernel as a callable JS function: lowered, rendered without types, evaluated */
export function compileKernelTs(k: Kernel): (...args: (Float32Array | Int32Array | number)[]) => void {
  const lowered = lowerKernel(k);
  const src = renderKernelTs(lowered, { types: false, exported: false });
  return new Function(`${src}return ${lowered.name};`)() as (...args: (Float32Array | Int32Array | number)[]) => void;
}
