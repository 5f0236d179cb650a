// flatten: a reshape of contiguous NCHW data. Its output is its input's buffer and its dx is
// its dy's buffer, so it runs no kernels at all (the model assembler aliases the buffers).

import type { ElementwiseLayerPlan } from '../plan/types.ts';
import type { LayerProgram } from './types.ts';

export function lowerFlatten(layer: ElementwiseLayerPlan): LayerProgram {
  return { layer: layer.name, scratch: [], forward: [], backward: [], alias: true };
}
