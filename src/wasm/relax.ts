// Relaxed SIMD without a second binary. The renderer writes each f32x4 multiply-add of a vector
// update either as f32x4.mul, local.get acc, f32x4.add or (schedule fma) as local.get acc,
// f32x4.relaxed_madd, nop, nop, nop: the same bytes long (src/render/wat.ts, vecMulAdd). So a
// module's relaxed binary is its mul + add binary with those spans rewritten in place, and the
// build embeds one binary plus the byte offsets where the spans start (wasm/kernels.ts); the
// host rewrites them where relaxed SIMD validates (the generated wasm/runtime.ts has its own copy
// of relaxBinary: generated code imports nothing; the tests run both on every example).
//
//   mul + add:  fd e6 01 | 20 <local, LEB128> | fd e4 01
//   relaxed:    20 <local, LEB128> | fd 85 02 | 01 01 01

import type { Instr, ModuleDef } from './instr.ts';
import { vecMulAdd } from '../render/wat.ts';

const MUL = [0xfd, 0xe6, 0x01];
const ADD = [0xfd, 0xe4, 0x01];
const MADD = [0xfd, 0x85, 0x02];
const NOP = 0x01;
const LOCAL_GET = 0x20;

/** the length of the LEB128 number at `at` */
function lebLength(bytes: Uint8Array, at: number): number {
  let n = 1;
  while (bytes[at + n - 1]! & 0x80) n++;
  return n;
}

const startsWith = (bytes: Uint8Array, at: number, seq: readonly number[]): boolean => seq.every((b, i) => bytes[at + i] === b);

/** the mul + add binary with the spans at `sites` rewritten to relaxed_madd (a copy) */
export function relaxBinary(bytes: Uint8Array, sites: readonly number[]): Uint8Array<ArrayBuffer> {
  const out = Uint8Array.from(bytes);
  for (const at of sites) {
    const n = lebLength(bytes, at + 4);
    if (!startsWith(bytes, at, MUL) || bytes[at + 3] !== LOCAL_GET || !startsWith(bytes, at + 4 + n, ADD)) throw new Error(`relax: no f32x4 multiply-add at byte ${at}`);
    out.set([LOCAL_GET, ...bytes.subarray(at + 4, at + 4 + n), ...MADD, NOP, NOP, NOP], at);
  }
  return out;
}

/**
 * where the mul + add binary and the relaxed one (the same module encoded with schedule fma)
 * differ: the start of each rewritten span. Throws unless rewriting exactly those spans turns the
 * one into the other, so a build never embeds offsets that do not hold
 */
export function relaxSites(mulAdd: Uint8Array, relaxed: Uint8Array): number[] {
  if (mulAdd.length !== relaxed.length) throw new Error(`relax: the relaxed binary has ${relaxed.length} bytes, the mul + add one ${mulAdd.length}`);
  const sites: number[] = [];
  for (let at = 0; at < mulAdd.length; at++) {
    if (mulAdd[at] === relaxed[at]) continue;
    sites.push(at);
    // the span: mul (3), local.get (1 + LEB128), add (3)
    at += 6 + lebLength(mulAdd, at + 4);
  }
  const derived = relaxBinary(mulAdd, sites);
  if (!derived.every((b, i) => b === relaxed[i])) throw new Error('relax: the relaxed binary is not the mul + add one with its multiply-adds rewritten');
  return sites;
}

/**
 * the module with each multiply-add the renderer marked (f32x4.mul with fma, then local.get acc,
 * f32x4.add: src/render/wat.ts vecMulAdd) in its relaxed form (local.get acc, relaxed_madd, three
 * nops), as the renderer writes it under schedule fma: the build encodes this beside the mul + add
 * module to find the sites (relaxSites checks the two agree byte for byte) without rendering twice
 */
export function relaxedModule(m: ModuleDef): ModuleDef {
  const relax = (body: readonly Instr[]): Instr[] => {
    const out: Instr[] = [];
    for (let i = 0; i < body.length; i++) {
      const ins = body[i]!;
      const acc = body[i + 1];
      if (ins.op === 'f32x4.mul' && 'fma' in ins && ins.fma) {
        if (acc?.op !== 'local.get' || !('name' in acc) || body[i + 2]?.op !== 'f32x4.add') throw new Error('relax: a multiply-add marked fma is not mul, local.get, add');
        // the renderer's own relaxed form of the update (what it writes under schedule fma)
        out.push(...vecMulAdd(acc.name, true));
        i += 2;
      } else out.push(ins);
    }
    return out;
  };
  return { ...m, funcs: m.funcs.map((f) => ({ ...f, body: relax(f.body) })) };
}

/** a module using f32x4.relaxed_madd: valid where the engine has relaxed SIMD */
export const RELAXED_SIMD_PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // type section: one type, (v128, v128, v128) -> v128
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  // function section: one function of type 0
  0x03, 0x02, 0x01, 0x00,
  // code section: local.get 0, 1, 2, f32x4.relaxed_madd, end
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** whether this engine has relaxed SIMD (Node 20 only with --experimental-wasm-relaxed-simd) */
export const hasRelaxedSimd = (): boolean => WebAssembly.validate(RELAXED_SIMD_PROBE);
