// dumpKernel: the IR as readable text (`--dump ir`), one statement per line, loops shown
// with their bounds and flags, so a reader sees exactly what each renderer will get.

import type { Kernel, Stmt } from './types.ts';
import { printExpr, type ExprDialect } from './print.ts';

const IR: ExprDialect = {
  constant: (v, t) => (t === 'f32' && Number.isInteger(v) ? `${v}.0` : String(v)),
  bin: (op) => {
    if (op === 'xor') return (a, b) => `(${a} ^ ${b})`;
    if (op === 'shr') return (a, b) => `(${a} >>> ${b})`;
    if (op === 'mulw') return (a, b) => `mulw(${a}, ${b})`;
    return op === 'idiv' ? '//' : op === 'mod' ? '%' : op;
  },
  call: (fn, args) => `${fn}(${args.join(', ')})`,
  load: (buf, i) => `${buf}[${i}]`,
  select: (c, a, b) => `select(${c}, ${a}, ${b})`,
  tof32: (a) => `f32(${a})`,
};

export const dumpExpr = (e: Parameters<typeof printExpr>[0]) => printExpr(e, IR);

function dumpStmts(stmts: readonly Stmt[], ind: string, out: string[]) {
  for (const s of stmts) {
    switch (s.k) {
      case 'let':
        out.push(`${ind}${s.mutable ? 'var' : 'let'} ${s.name}: ${s.t} = ${dumpExpr(s.init)}`);
        break;
      case 'assign':
        out.push(`${ind}${s.name} ${s.op} ${dumpExpr(s.value)}`);
        break;
      case 'store':
        out.push(`${ind}${s.buf}[${dumpExpr(s.index)}] ${s.op} ${dumpExpr(s.value)}`);
        break;
      case 'for': {
        const flags = [s.parallel ? 'parallel' : '', s.unroll ? 'unroll' : '', s.step !== 1 ? `step ${s.step}` : ''].filter(Boolean);
        out.push(`${ind}for ${s.v} in ${dumpExpr(s.from)}..${dumpExpr(s.to)}${flags.length ? ' ' + flags.join(' ') : ''} {`);
        dumpStmts(s.body, ind + '  ', out);
        out.push(`${ind}}`);
        break;
      }
      case 'if':
        out.push(`${ind}if ${dumpExpr(s.cond)} {`);
        dumpStmts(s.then, ind + '  ', out);
        if (s.else.length) {
          out.push(`${ind}} else {`);
          dumpStmts(s.else, ind + '  ', out);
        }
        out.push(`${ind}}`);
        break;
      case 'comment':
        out.push(`${ind}// ${s.text}`);
        break;
      case 'barrier':
        out.push(`${ind}barrier`);
        break;
    }
  }
}

export function dumpKernel(k: Kernel): string {
  const out: string[] = [];
  for (const d of k.doc) out.push(`// ${d}`);
  const bufs = k.buffers.map((b) => `${b.name}: ${b.t}[${b.length}] ${b.access}`);
  const scalars = k.scalars.map((s) => `${s.name}: ${s.t}`);
  out.push(`kernel ${k.name}(${[...bufs, ...scalars].join(', ')}) {`);
  if (k.workgroup) {
    const shared = k.workgroup.shared.map((a) => `${a.name}: ${a.t}[${a.length}]`).join(', ');
    out.push(`  workgroup ${k.workgroup.size} invocations, index ${k.workgroup.local}; shared ${shared || '-'}`);
  }
  dumpStmts(k.body, '  ', out);
  out.push('}');
  return out.join('\n') + '\n';
}
