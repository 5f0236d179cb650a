// The wasm target's lowering of a kernel: the CPU kernels the TS target runs (one lowering of
// each algorithm), with the wasm schedule: loops stay loops. The TS target unrolls whole
// windows because V8 optimizes straight-line JS best; WebAssembly compiles loops to machine
// loops with the index arithmetic in registers, and unrolled WAT would be ~8x the TS text
// (lenet's first conv: 887 KB of .wat). The IR's `unroll` marks are kept (verify allows them):
// a loop is a loop here whatever it says.

import type { Kernel } from '../ir/types.ts';
import { simplify, verify } from '../ir/passes.ts';

export function lowerKernelWasm(k: Kernel): Kernel {
  return verify(simplify(k), { allowUnroll: true });
}
