// The lowering pipeline from a kernel as a builder wrote it to what the renderers take,
// as one list of named passes. `lowerKernel` runs it; `onPass` sees the kernel after
// each pass (for `--dump ir` at any stage).

import type { Kernel } from './types.ts';
import { unroll } from './unroll.ts';
import { simplify } from './simplify.ts';
import { verify } from './verify.ts';

export interface Pass {
  readonly name: string;
  readonly run: (k: Kernel) => Kernel;
}

export const lowerPipeline: readonly Pass[] = [
  { name: 'unroll', run: unroll },
  { name: 'simplify', run: simplify },
  { name: 'verify', run: (k) => verify(k) },
];

export function lowerKernel(k: Kernel, onPass?: (pass: string, k: Kernel) => void): Kernel {
  let cur = k;
  for (const p of lowerPipeline) {
    cur = p.run(cur);
    onPass?.(p.name, cur);
  }
  return cur;
}

export { unroll, simplify, verify };
export { dumpKernel } from './dump.ts';
