// Execute a kernel without writing files: lower, render as plain JS, evaluate. Every
// kernel test and `convgen check` run kernels this way.

import type { Kernel } from '../../src/ir/types.ts';
import { compileKernelTs } from '../../src/render/ts.ts';

export { compileKernelTs };

/** run `k` once on buffers given by name (scalars by name too); returns the same buffers */
export function runTsKernel(
  k: Kernel,
  buffers: Record<string, Float32Array | Int32Array>,
  scalars: Record<string, number> = {},
): Record<string, Float32Array | Int32Array> {
  const fn = compileKernelTs(k);
  const args: (Float32Array | Int32Array | number)[] = [];
  for (const b of k.buffers) {
    const a = buffers[b.name];
    if (!a) throw new Error(`runTsKernel: ${k.name}: no buffer '${b.name}'`);
    if (a.length !== b.length) throw new Error(`runTsKernel: ${k.name}: buffer '${b.name}' has ${a.length} elements, the kernel expects ${b.length}`);
    args.push(a);
  }
  for (const s of k.scalars) {
    const v = scalars[s.name];
    if (v === undefined) throw new Error(`runTsKernel: ${k.name}: no scalar '${s.name}'`);
    args.push(v);
  }
  fn(...args);
  return buffers;
}
