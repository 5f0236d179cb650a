// Running kernels as WebAssembly on the host: a module of lowered kernels instantiated over a
// memory, and one kernel run on typed arrays (copied into the memory and back), as the checker
// and the tests use it. The generated wasm.ts does the same with its buffers living in memory.

import type { Kernel } from '../ir/types.ts';
import { lowerKernelWasm } from './lower.ts';
import { DEFAULT_WASM_SCHEDULE, renderKernelWasm, type WasmSchedule } from '../render/wat.ts';
import { encodeModule } from './encode.ts';
import { verify } from '../ir/passes.ts';
import type { ModuleDef } from './instr.ts';
import { hasRelaxedSimd } from './relax.ts';

/**
 * the schedule the checker and the tests run kernels with by default: the build's f32x4 one,
 * with relaxed_madd where this engine has relaxed SIMD (as the generated runtime picks)
 */
export const HOST_WASM_SCHEDULE: WasmSchedule = { ...DEFAULT_WASM_SCHEDULE, fma: hasRelaxedSimd() };

/** the host functions kernels import (f64 -> f64): the TS target's own Math */
export const mathImports = { exp: Math.exp, log: Math.log };

/** a module of kernels (lowered here; `pass` runs on each lowered kernel: the model's split pass, src/wasm/split.ts) */
export function kernelModule(kernels: readonly Kernel[], header: readonly string[] = [], schedule: WasmSchedule = DEFAULT_WASM_SCHEDULE, pass: (k: Kernel) => Kernel = (k) => k): ModuleDef {
  const seen = new Set<string>();
  const funcs = kernels.filter((k) => !seen.has(k.name) && seen.add(k.name)).map((k) => renderKernelWasm(verify(pass(lowerKernelWasm(k)), { allowUnroll: true }), schedule));
  return { header, funcs };
}

export function instantiate(bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory): Record<string, (...a: number[]) => void> {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, math: mathImports });
  return inst.exports as Record<string, (...a: number[]) => void>;
}

const compiled = { simd: new WeakMap<Kernel, Uint8Array<ArrayBuffer>>(), scalar: new WeakMap<Kernel, Uint8Array<ArrayBuffer>>(), fma: new WeakMap<Kernel, Uint8Array<ArrayBuffer>>() };

/** run one kernel in WebAssembly on typed arrays (in place: written buffers are copied back) */
export function runKernelWasm(k: Kernel, bufs: readonly (Float32Array | Int32Array)[], scalars: readonly number[] = [], schedule: WasmSchedule = HOST_WASM_SCHEDULE): void {
  const cache = !schedule.simd ? compiled.scalar : schedule.fma ? compiled.fma : compiled.simd;
  let bytes = cache.get(k);
  if (!bytes) {
    bytes = encodeModule(kernelModule([k], [], schedule));
    cache.set(k, bytes);
  }
  // 16-byte aligned places, one per buffer
  const offsets: number[] = [];
  let at = 0;
  for (const b of bufs) {
    offsets.push(at);
    at += Math.ceil(b.byteLength / 16) * 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(at / 65536)) });
  const heap = new Uint8Array(memory.buffer);
  bufs.forEach((b, i) => heap.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), offsets[i]));
  instantiate(bytes, memory)[k.name]!(...offsets, ...scalars);
  bufs.forEach((b, i) => {
    if (k.buffers[i]!.access !== 'read') new Uint8Array(b.buffer, b.byteOffset, b.byteLength).set(heap.subarray(offsets[i]!, offsets[i]! + b.byteLength));
  });
}
