// Our own encoder of a module's instruction lists (./instr.ts) to the WebAssembly binary
// format: type, import, function, export and code sections, LEB128 immediates, labels turned
// into relative branch depths. Why not assemble the printed WAT at build time: the lists are
// already structured, so encoding is a table of opcodes and ~150 lines with no dependency
// (wabt's assembler is a 1.5 MB emscripten build with async start-up, now only a devDependency
// the tests use to prove the committed .wat assembles to exactly these bytes).

import { layout, sortedLocals, SHARED_MAX_PAGES, type Instr, type ModuleDef, type ValType } from './instr.ts';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** opcodes of the instructions without immediates */
const PLAIN: Record<string, number[]> = {
  select: [0x1b],
  'i32.eqz': [0x45],
  'i32.eq': [0x46],
  'i32.ne': [0x47],
  'i32.lt_s': [0x48],
  'i32.gt_s': [0x4a],
  'i32.le_s': [0x4c],
  'i32.ge_s': [0x4e],
  'f32.eq': [0x5b],
  'f32.ne': [0x5c],
  'f32.lt': [0x5d],
  'f32.gt': [0x5e],
  'f32.le': [0x5f],
  'f32.ge': [0x60],
  'i32.add': [0x6a],
  'i32.sub': [0x6b],
  'i32.mul': [0x6c],
  'i32.div_s': [0x6d],
  'i32.rem_s': [0x6f],
  'i32.and': [0x71],
  'i32.or': [0x72],
  'i32.xor': [0x73],
  'i32.shl': [0x74],
  'i32.shr_u': [0x76],
  'f32.abs': [0x8b],
  'f32.neg': [0x8c],
  'f32.floor': [0x8e],
  'f32.sqrt': [0x91],
  'f32.add': [0x92],
  'f32.sub': [0x93],
  'f32.mul': [0x94],
  'f32.div': [0x95],
  'f32.min': [0x96],
  'f32.max': [0x97],
  'f32.convert_i32_s': [0xb2],
  'f32.demote_f64': [0xb6],
  'f64.promote_f32': [0xbb],
  'i32.reinterpret_f32': [0xbc],
  'f32.reinterpret_i32': [0xbe],
  // SIMD (prefix 0xfd, then the opcode as unsigned LEB128)
  'f32x4.splat': [0xfd, 0x13],
  'f32x4.add': [0xfd, 0xe4, 0x01],
  'f32x4.sub': [0xfd, 0xe5, 0x01],
  'f32x4.mul': [0xfd, 0xe6, 0x01],
  // relaxed SIMD (a separate proposal: Node 20 validates it only with --experimental-wasm-relaxed-simd)
  'f32x4.relaxed_madd': [0xfd, 0x85, 0x02],
  nop: [0x01],
};

const MEM: Record<string, { code: number[]; align: number }> = {
  'i32.load': { code: [0x28], align: 2 },
  'f32.load': { code: [0x2a], align: 2 },
  'i32.store': { code: [0x36], align: 2 },
  'f32.store': { code: [0x38], align: 2 },
  'v128.load': { code: [0xfd, 0x00], align: 4 },
  // one f32 loaded into all four lanes (the splat of a value read from memory)
  'v128.load32_splat': { code: [0xfd, 0x09], align: 2 },
  'v128.store': { code: [0xfd, 0x0b], align: 4 },
};

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  for (const b of body) out.push(b);
}

const f32Bytes = (v: number): number[] => Array.from(new Uint8Array(new Float32Array([v]).buffer));

export function encodeModule(m: ModuleDef): Uint8Array<ArrayBuffer> {
  const { types, typeIndex, imports, funcIndex } = layout(m);
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

  const ty: number[] = [];
  uleb(types.length, ty);
  for (const t of types) {
    ty.push(0x60);
    uleb(t.params.length, ty);
    for (const p of t.params) ty.push(VALTYPE[p]);
    uleb(t.results.length, ty);
    for (const r of t.results) ty.push(VALTYPE[r]);
  }
  section(1, ty, out);

  const im: number[] = [];
  uleb(1 + imports.length, im);
  name('env', im);
  name('memory', im);
  // limits: flags 0 (min only), or 3 (shared, min and max)
  if (m.sharedMemory) {
    im.push(0x02, 0x03, 0x00);
    uleb(SHARED_MAX_PAGES, im);
  } else im.push(0x02, 0x00, 0x00);
  for (const n of imports) {
    name('math', im);
    name(n, im);
    im.push(0x00);
    uleb(0, im);
  }
  section(2, im, out);

  const fn: number[] = [];
  uleb(m.funcs.length, fn);
  for (const f of m.funcs) uleb(typeIndex({ params: f.params.map((p) => p.t), results: [] }), fn);
  section(3, fn, out);

  const ex: number[] = [];
  uleb(m.funcs.length, ex);
  for (const f of m.funcs) {
    name(f.name, ex);
    ex.push(0x00);
    uleb(funcIndex.get(f.name)!, ex);
  }
  section(7, ex, out);

  const code: number[] = [];
  uleb(m.funcs.length, code);
  for (const f of m.funcs) {
    const body: number[] = [];
    const locals = sortedLocals(f);
    const index = new Map<string, number>();
    f.params.forEach((p, i) => index.set(p.name, i));
    locals.forEach((l, i) => index.set(l.name, f.params.length + i));
    const runs: [number, ValType][] = [];
    for (const l of locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l.t) last[0]++;
      else runs.push([1, l.t]);
    }
    uleb(runs.length, body);
    for (const [n, t] of runs) {
      uleb(n, body);
      body.push(VALTYPE[t]);
    }
    encodeBody(f.name, f.body, index, funcIndex, body);
    body.push(0x0b);
    uleb(body.length, code);
    for (const b of body) code.push(b);
  }
  section(10, code, out);
  return Uint8Array.from(out);
}

function encodeBody(fname: string, body: readonly Instr[], locals: ReadonlyMap<string, number>, funcs: ReadonlyMap<string, number>, out: number[]): void {
  const fail = (msg: string): never => {
    throw new Error(`wasm encode: ${fname}: ${msg}`);
  };
  /** open blocks' labels, innermost last (if blocks have none) */
  const labels: (string | null)[] = [];
  for (const i of body) {
    const a = i as Record<string, unknown> & { op: string };
    switch (a.op) {
      case 'comment':
        break;
      case 'block':
      case 'loop':
        out.push(a.op === 'block' ? 0x02 : 0x03, 0x40);
        labels.push(a.label as string);
        break;
      case 'if':
        out.push(0x04, a.result ? VALTYPE[a.result as ValType] : 0x40);
        labels.push(null);
        break;
      case 'else':
        out.push(0x05);
        break;
      case 'end':
        if (!labels.length) fail('end without a block');
        labels.pop();
        out.push(0x0b);
        break;
      case 'br':
      case 'br_if': {
        const d = labels.lastIndexOf(a.label as string);
        if (d < 0) fail(`no label $${a.label as string}`);
        out.push(a.op === 'br' ? 0x0c : 0x0d);
        uleb(labels.length - 1 - d, out);
        break;
      }
      case 'local.get':
      case 'local.set':
      case 'local.tee': {
        const ix = locals.get(a.name as string) ?? fail(`no local $${a.name as string}`);
        out.push(a.op === 'local.get' ? 0x20 : a.op === 'local.set' ? 0x21 : 0x22);
        uleb(ix, out);
        break;
      }
      case 'call':
        out.push(0x10);
        uleb(funcs.get(a.name as string) ?? fail(`no function $${a.name as string}`), out);
        break;
      case 'i32.const':
        out.push(0x41);
        sleb(a.value as number, out);
        break;
      case 'f32.const':
        out.push(0x43, ...f32Bytes(a.value as number));
        break;
      case 'f32x4.extract_lane':
        out.push(0xfd, 0x1f, a.lane as number);
        break;
      case 'f32x4.replace_lane':
        out.push(0xfd, 0x20, a.lane as number);
        break;
      default: {
        const mem = MEM[a.op];
        if (mem) {
          out.push(...mem.code);
          uleb(mem.align, out);
          uleb(a.offset as number, out);
          break;
        }
        const p = PLAIN[a.op] ?? fail(`no encoding for ${a.op}`);
        out.push(...p);
      }
    }
  }
  if (labels.length) fail('unclosed block');
}
