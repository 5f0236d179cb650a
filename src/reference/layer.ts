// One entry point per direction for any planned layer: refForward / refBackward dispatch on
// the plan's type to the plain-loop implementations. Pure functions: nothing is kept between
// calls except what forward returns in `cache`.

import type { LayerPlan } from '../plan/types.ts';
import { inputShapes, numel } from '../plan/types.ts';
import { addBackward, addForward, concatBackward, concatForward } from './merge.ts';
import { convBackward, convForward, convTransposeBackward, convTransposeForward } from './conv.ts';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward } from './pool.ts';
import { copyOf, linearBackward, linearForward, nearestBackward, nearestForward, upsampleBackward, upsampleForward } from './simple.ts';
import { activationBackward, activationForward } from './activation.ts';
import type { BackwardResult, BackwardInputsResult, ForwardResult, RefCache, RefParams, Vec } from './types.ts';

function checkLength(layer: LayerPlan, what: string, a: Vec | undefined, want: number): void {
  if (a === undefined) throw new Error(`reference: layer "${layer.name}" (${layer.type}) needs a ${what} of ${want} elements`);
  if (a.length !== want) throw new Error(`reference: layer "${layer.name}" (${layer.type}): ${what} has ${a.length} elements, expected ${want}`);
}

/** the weight, checked against the plan's weightShape */
function weightOf(layer: LayerPlan, params: RefParams): Vec {
  checkLength(layer, 'weight', params.weight, numel(layer.weightShape ?? []));
  return params.weight as Vec;
}

/** the bias when the plan has one (undefined otherwise), checked against biasShape */
function biasOf(layer: LayerPlan, params: RefParams): Vec | undefined {
  if (!layer.biasShape) return undefined;
  checkLength(layer, 'bias', params.bias, numel(layer.biasShape));
  return params.bias;
}

/** a layer that reads several inputs has no single x: refForwardInputs / refBackwardInputs take them all */
function severalInputs(layer: LayerPlan): never {
  throw new Error(`reference: layer "${layer.name}" (${layer.type}) reads ${layer.inputs.length} inputs: use refForwardInputs / refBackwardInputs`);
}

/** y = layer(x) in float64; `cache` holds what refBackward can reuse (max pools: argmax) */
export function refForward(layer: LayerPlan, x: Vec, params: RefParams = {}): ForwardResult {
  if (layer.type === 'add' || layer.type === 'concat') severalInputs(layer);
  checkLength(layer, 'input', x, numel(layer.inShape));
  switch (layer.type) {
    case 'conv1d':
    case 'conv2d':
      return { y: convForward(layer.geometry, x, weightOf(layer, params), biasOf(layer, params)), cache: {} };
    case 'conv_transpose1d':
    case 'conv_transpose2d':
      return { y: convTransposeForward(layer.geometry, x, weightOf(layer, params), biasOf(layer, params)), cache: {} };
    case 'maxpool1d':
    case 'maxpool2d':
    case 'global_maxpool': {
      const { y, argmax } = maxPoolForward(layer.geometry, x);
      return { y, cache: { argmax } };
    }
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_avgpool':
      return { y: avgPoolForward(layer.geometry, x, layer.countIncludePad), cache: {} };
    case 'linear':
      return { y: linearForward(layer, x, weightOf(layer, params), biasOf(layer, params)), cache: {} };
    case 'upsample_nearest2d':
      return { y: nearestForward(layer, x), cache: {} };
    case 'upsample_bilinear2d':
      return { y: upsampleForward(layer, x), cache: {} };
    case 'relu':
    case 'leaky_relu':
    case 'relu6':
    case 'elu':
    case 'gelu':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
      return { y: activationForward(layer, x), cache: {} };
    case 'flatten':
      return { y: copyOf(x), cache: {} };
  }
}

/**
 * dL/dx (and dL/dweight, dL/dbias for layers that have them) given dL/dy. `y` is the
 * forward output (unused by the current layer kinds, kept so every backward has the same
 * inputs); `cache` is forward's, recomputed from x when not given.
 */
export function refBackward(layer: LayerPlan, x: Vec, y: Vec | null, dy: Vec, params: RefParams = {}, cache?: RefCache): BackwardResult {
  if (layer.type === 'add' || layer.type === 'concat') severalInputs(layer);
  checkLength(layer, 'input', x, numel(layer.inShape));
  checkLength(layer, 'output gradient', dy, numel(layer.outShape));
  switch (layer.type) {
    case 'conv1d':
    case 'conv2d':
      return convBackward(layer.geometry, x, dy, weightOf(layer, params), layer.biasShape !== null);
    case 'conv_transpose1d':
    case 'conv_transpose2d':
      return convTransposeBackward(layer.geometry, x, dy, weightOf(layer, params), layer.biasShape !== null);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'global_maxpool': {
      const argmax = cache?.argmax ?? maxPoolForward(layer.geometry, x).argmax;
      return { dx: maxPoolBackward(layer.geometry, dy, argmax) };
    }
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_avgpool':
      return { dx: avgPoolBackward(layer.geometry, dy, layer.countIncludePad) };
    case 'linear':
      return linearBackward(layer, x, dy, weightOf(layer, params), layer.biasShape !== null);
    case 'upsample_nearest2d':
      return { dx: nearestBackward(layer, dy) };
    case 'upsample_bilinear2d':
      return { dx: upsampleBackward(layer, dy) };
    case 'relu':
    case 'leaky_relu':
    case 'relu6':
    case 'elu':
    case 'gelu':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
      return { dx: activationBackward(layer, x, dy) };
    case 'flatten':
      return { dx: copyOf(dy) };
  }
}

/** y = layer(xs[0], xs[1], ...) for any layer: one input per entry of its `inputs` */
export function refForwardInputs(layer: LayerPlan, xs: readonly Vec[], params: RefParams = {}): ForwardResult {
  const shapes = inputShapes(layer);
  if (xs.length !== shapes.length) throw new Error(`reference: layer "${layer.name}" (${layer.type}) reads ${shapes.length} inputs, got ${xs.length}`);
  if (layer.type !== 'add' && layer.type !== 'concat') return refForward(layer, xs[0], params);
  xs.forEach((x, k) => checkLength(layer, `input ${k}`, x, numel(shapes[k])));
  return { y: layer.type === 'add' ? addForward(layer, xs) : concatForward(layer, xs), cache: {} };
}

/** dL/d(each input), in `inputs` order, and the parameter gradients, given dL/dy */
export function refBackwardInputs(layer: LayerPlan, xs: readonly Vec[], y: Vec | null, dy: Vec, params: RefParams = {}, cache?: RefCache): BackwardInputsResult {
  const shapes = inputShapes(layer);
  if (xs.length !== shapes.length) throw new Error(`reference: layer "${layer.name}" (${layer.type}) reads ${shapes.length} inputs, got ${xs.length}`);
  if (layer.type !== 'add' && layer.type !== 'concat') {
    const { dx, ...grads } = refBackward(layer, xs[0], y, dy, params, cache);
    return { dxs: [dx], ...grads };
  }
  checkLength(layer, 'output gradient', dy, numel(layer.outShape));
  return { dxs: layer.type === 'add' ? addBackward(layer, dy) : concatBackward(layer, dy) };
}
