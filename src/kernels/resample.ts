// The program of a layer that only moves values: one forward kernel (x -> y) and one
// grad-input kernel (dy -> dx), no parameters and no scratch. The upsampling layers and the
// zero pads are this shape; each writes its two loop nests, and this puts them in a program.

import type { Stmt } from '../ir/types.ts';
import type { LayerProgram } from './types.ts';
import { buf, kernel } from '../ir/build.ts';

export interface ResampleKernels {
  /** the layer's kernel name stem: the kernels are `${name}_fwd` and `${name}_dx` */
  readonly name: string;
  /** x's and y's lengths for the whole batch */
  readonly nIn: number;
  readonly nOut: number;
  readonly forward: { readonly doc: readonly string[]; readonly body: readonly Stmt[] };
  readonly backward: { readonly doc: readonly string[]; readonly body: readonly Stmt[] };
}

export function resampleProgram(layer: string, k: ResampleKernels): LayerProgram {
  const fwd = kernel({ name: `${k.name}_fwd`, doc: k.forward.doc, buffers: [buf('x', k.nIn, 'read'), buf('y', k.nOut, 'write')], body: k.forward.body });
  const bwd = kernel({ name: `${k.name}_dx`, doc: k.backward.doc, buffers: [buf('dy', k.nOut, 'read'), buf('dx', k.nIn, 'write')], body: k.backward.body });
  return {
    layer,
    scratch: [],
    forward: [{ kernel: fwd, args: { x: 'x', y: 'y' } }],
    backward: [{ kernel: bwd, args: { dy: 'dy', dx: 'dx' } }],
    alias: false,
  };
}
