// A module's instruction lists as readable WAT: one instruction per line in linear form,
// indented by block depth, loops labelled after their IR variable, the IR's comments as
// `;;` lines. ./encode.ts encodes the same lists; tests assemble this text with wabt and
// compare the bytes.

import { Emitter } from '../render/emitter.ts';
import { layout, sortedLocals, SHARED_MAX_PAGES, type Instr, type ModuleDef } from './instr.ts';

/** an f32 constant as WAT reads it back to the same bits */
export function f32Text(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return 'nan';
  if (f === Infinity) return 'inf';
  if (f === -Infinity) return '-inf';
  if (Object.is(f, -0)) return '-0';
  return String(f);
}

function instrText(i: Instr): string {
  switch (i.op) {
    case 'block':
    case 'loop':
    case 'br':
    case 'br_if':
      return `${i.op} $${(i as { label: string }).label}`;
    case 'if':
      return (i as { result?: string }).result ? `if (result ${(i as { result?: string }).result})` : 'if';
    case 'local.get':
    case 'local.set':
    case 'local.tee':
    case 'call':
      return `${i.op} $${(i as { name: string }).name}`;
    case 'i32.const':
      return `i32.const ${(i as { value: number }).value | 0}`;
    case 'f32.const':
      return `f32.const ${f32Text((i as { value: number }).value)}`;
    case 'f32.load':
    case 'i32.load':
    case 'f32.store':
    case 'i32.store':
    case 'v128.load':
    case 'v128.load32_splat':
    case 'v128.store': {
      const o = (i as { offset: number }).offset;
      return o ? `${i.op} offset=${o}` : i.op;
    }
    case 'f32x4.extract_lane':
    case 'f32x4.replace_lane':
      return `${i.op} ${(i as { lane: number }).lane}`;
    default:
      return i.op;
  }
}

/** how many values an instruction takes from the stack and leaves (control excluded) */
function arity(i: Instr): [number, number] {
  const op = i.op;
  if (op === 'local.get' || op === 'i32.const' || op === 'f32.const') return [0, 1];
  if (op === 'local.set' || op === 'br_if') return [1, 0];
  if (op === 'br' || op === 'nop') return [0, 0];
  if (op === 'select' || op === 'f32x4.relaxed_madd') return [3, 1];
  if (op.endsWith('.store')) return [2, 0];
  if (op === 'local.tee' || op === 'call' || op.endsWith('.load') || op === 'v128.load32_splat') return [1, 1];
  if (/^(f32|i32|f64|f32x4)\.(abs|neg|floor|sqrt|eqz|convert_i32_s|demote_f64|promote_f32|reinterpret_f32|reinterpret_i32|splat|extract_lane)$/.test(op)) return [1, 1];
  return [2, 1];
}

/**
 * a function body in WAT's folded form: straight-line code as nested expressions (one
 * statement per line, operands inside their operator), control (block, loop, if) as indented
 * lines. Folding is only notation: the instructions, in order, are the ones encoded.
 */
function printBody(em: Emitter, body: readonly Instr[]): void {
  let depth = 0;
  let stack: string[] = [];
  const flush = () => {
    for (const t of stack) em.line('  '.repeat(depth) + t);
    stack = [];
  };
  for (const ins of body) {
    if (ins.op === 'comment') {
      flush();
      em.line(`${'  '.repeat(depth)};; ${(ins as { text: string }).text}`);
      continue;
    }
    if (ins.op === 'block' || ins.op === 'loop' || ins.op === 'if' || ins.op === 'else' || ins.op === 'end') {
      // an if's condition stays on its own line before it: folded values are pushed in order
      flush();
      if (ins.op === 'end' || ins.op === 'else') depth--;
      em.line('  '.repeat(depth) + instrText(ins));
      if (ins.op !== 'end') depth++;
      continue;
    }
    const [pop, push] = arity(ins);
    // operands that are not all folded here (a value left by an if) keep the linear form
    if (pop > stack.length) {
      flush();
      em.line('  '.repeat(depth) + instrText(ins));
      continue;
    }
    const args = stack.splice(stack.length - pop, pop);
    const t = pop === 0 ? `(${instrText(ins)})` : `(${instrText(ins)} ${args.join(' ')})`;
    if (push) stack.push(t);
    else {
      flush();
      em.line('  '.repeat(depth) + t);
    }
  }
  flush();
}

export function printWat(m: ModuleDef): string {
  const em = new Emitter();
  for (const h of m.header) em.line(h === '' ? ';;' : `;; ${h}`);
  const { types, typeName, imports } = layout(m);
  em.line('(module');
  em.indented(() => {
    types.forEach((t, i) => em.line(`(type $t${i} (func${t.params.length ? ` (param ${t.params.join(' ')})` : ''}${t.results.length ? ` (result ${t.results.join(' ')})` : ''}))`));
    em.line(m.sharedMemory ? `(import "env" "memory" (memory 0 ${SHARED_MAX_PAGES} shared))` : '(import "env" "memory" (memory 0))');
    for (const n of imports) em.line(`(import "math" "${n}" (func $${n} (type $t0)))`);
    for (const f of m.funcs) {
      em.line();
      for (const d of f.doc) em.line(d === '' ? ';;' : `;; ${d}`);
      const params = f.params.map((p) => `(param $${p.name} ${p.t})`).join(' ');
      em.line(`(func $${f.name} (export "${f.name}") (type ${typeName({ params: f.params.map((p) => p.t), results: [] })}) ${params}`);
      em.indented(() => {
        const locals = sortedLocals(f);
        for (let i = 0; i < locals.length; i += 8) em.line(locals.slice(i, i + 8).map((l) => `(local $${l.name} ${l.t})`).join(' '));
        printBody(em, f.body);
      });
      em.line(')');
    }
  });
  em.line(')');
  return em.text();
}
