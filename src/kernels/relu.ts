// relu: y = max(x, 0); backward passes dy where x > 0 (PyTorch: no gradient at x = 0).
// One flat parallel loop each: the op does not care about the shape.

import type { ElementwiseLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { LayerProgram } from './types.ts';
import { buf, f32, gt, kernel, load, parallel, select, store } from '../ir/build.ts';

/** `2x8x6x6`: the per-sample shape, as kernel names carry it */
export const shapeTag = (shape: readonly number[]): string => shape.slice(1).join('x');

export function lowerRelu(layer: ElementwiseLayerPlan): LayerProgram {
  const n = numel(layer.inShape);
  const tag = shapeTag(layer.inShape);
  const doc = [`relu on [${layer.inShape.join(', ')}] (${n} elements)`];
  const fwd = kernel({
    name: `relu_${tag}_fwd`,
    doc,
    buffers: [buf('x', n, 'read'), buf('y', n, 'write')],
    body: [parallel('i', 0, n, (i) => [store('y', i, select(gt(load('x', i), f32(0)), load('x', i), f32(0)))])],
  });
  const bwd = kernel({
    name: `relu_${tag}_dx`,
    doc: [...doc, 'dx = dy where x > 0, else 0'],
    buffers: [buf('x', n, 'read'), buf('dy', n, 'read'), buf('dx', n, 'write')],
    body: [parallel('i', 0, n, (i) => [store('dx', i, select(gt(load('x', i), f32(0)), load('dy', i), f32(0)))])],
  });
  return {
    layer: layer.name,
    scratch: [],
    forward: [{ kernel: fwd, args: { x: 'x', y: 'y' } }],
    backward: [{ kernel: bwd, args: { x: 'x', dy: 'dy', dx: 'dx' } }],
    alias: false,
  };
}
