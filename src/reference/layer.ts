// One entry point per direction for any planned layer: refForward / refBackward dispatch on
// the plan's type to the plain-loop implementations. Pure functions: nothing is kept between
// calls except what forward returns in `cache`.

import type { LayerPlan } from '../plan/types.ts';
import { inputShapes, numel } from '../plan/types.ts';
import { addBackward, addForward, concatBackward, concatForward } from './merge.ts';
import { convBackward, convForward, convTransposeBackward, convTransposeForward } from './conv.ts';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward } from './pool.ts';
import { zeroPadBackward, zeroPadForward } from './pad.ts';
import { copyOf, linearBackward, linearForward, nearestBackward, nearestForward, upsampleBackward, upsampleForward } from './simple.ts';
import { activationBackward, activationForward } from './activation.ts';
import { batchNormBackward, batchNormForward, dropoutBackward, dropoutForward, dropoutMask, type RunningStats } from './norm.ts';
import type { BackwardResult, BackwardInputsResult, ForwardResult, RefCache, RefMode, RefParams, Vec } from './types.ts';

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

/**
 * batch norm's running stats from params, checked (absent: a fresh module's, mean 0, var 1,
 * no batches); undefined without track_running_stats
 */
function runningOf(layer: LayerPlan & { type: 'batchnorm1d' | 'batchnorm2d' }, params: RefParams): RunningStats | undefined {
  if (!layer.trackRunningStats) return undefined;
  const C = layer.channels;
  const mean = params.runningMean ?? new Float64Array(C);
  const variance = params.runningVar ?? new Float64Array(C).fill(1);
  checkLength(layer, 'runningMean', mean, C);
  checkLength(layer, 'runningVar', variance, C);
  return { runningMean: Float64Array.from(mean), runningVar: Float64Array.from(variance), numBatchesTracked: params.numBatchesTracked ?? 0 };
}

/**
 * y = layer(x) in float64; `cache` holds what refBackward can reuse (max pools: argmax; batch
 * norm: the batch statistics; dropout: the mask); `state` a batch norm's running stats after a
 * training step. `mode`: training (the default) or eval, and the dropout stream's position
 * (default seed 0, step 0).
 */
export function refForward(layer: LayerPlan, x: Vec, params: RefParams = {}, mode: RefMode = {}): ForwardResult {
  if (layer.type === 'add' || layer.type === 'concat') severalInputs(layer);
  checkLength(layer, 'input', x, numel(layer.inShape));
  const training = mode.training ?? true;
  switch (layer.type) {
    case 'batchnorm1d':
    case 'batchnorm2d': {
      const w = layer.affine ? weightOf(layer, params) : undefined;
      const b = layer.affine ? biasOf(layer, params) : undefined;
      const r = batchNormForward(layer, x, w, b, runningOf(layer, params), training);
      const cache: RefCache = { training, ...(r.stats ? { mean: r.stats.mean, invstd: r.stats.invstd } : {}) };
      return training && layer.trackRunningStats ? { y: r.y, cache, state: r.running! } : { y: r.y, cache };
    }
    case 'dropout': {
      // the stream at (seed, step): a model's first training forward with seed 0 by default
      const mask = training ? dropoutMask(layer, numel(layer.inShape), mode.seed ?? 0, mode.step ?? 0) : null;
      return { y: dropoutForward(x, mask), cache: { training, mask } };
    }
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
    case 'zero_pad1d':
    case 'zero_pad2d':
      return { y: zeroPadForward(layer, x), cache: {} };
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
export function refBackward(layer: LayerPlan, x: Vec, y: Vec | null, dy: Vec, params: RefParams = {}, cache?: RefCache, mode: RefMode = {}): BackwardResult {
  if (layer.type === 'add' || layer.type === 'concat') severalInputs(layer);
  checkLength(layer, 'input', x, numel(layer.inShape));
  checkLength(layer, 'output gradient', dy, numel(layer.outShape));
  switch (layer.type) {
    case 'batchnorm1d':
    case 'batchnorm2d': {
      // the function forward computed: the cache's mode (recomputed from x when not given)
      const c = cache ?? refForward(layer, x, params, mode).cache;
      const stats = c.mean && c.invstd ? { mean: c.mean, invstd: c.invstd } : null;
      const w = layer.affine ? weightOf(layer, params) : undefined;
      return batchNormBackward(layer, x, dy, w, stats, stats ? undefined : runningOf(layer, params));
    }
    case 'dropout': {
      const c = cache ?? refForward(layer, x, params, mode).cache;
      return { dx: dropoutBackward(dy, c.mask ?? null) };
    }
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
    case 'zero_pad1d':
    case 'zero_pad2d':
      return { dx: zeroPadBackward(layer, dy) };
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

/** y = layer(xs[0], xs[1], ...) for any layer: one input per entry of its `inputs` (`mode` as refForward's) */
export function refForwardInputs(layer: LayerPlan, xs: readonly Vec[], params: RefParams = {}, mode: RefMode = {}): ForwardResult {
  const shapes = inputShapes(layer);
  if (xs.length !== shapes.length) throw new Error(`reference: layer "${layer.name}" (${layer.type}) reads ${shapes.length} inputs, got ${xs.length}`);
  if (layer.type !== 'add' && layer.type !== 'concat') return refForward(layer, xs[0], params, mode);
  xs.forEach((x, k) => checkLength(layer, `input ${k}`, x, numel(shapes[k])));
  return { y: layer.type === 'add' ? addForward(layer, xs) : concatForward(layer, xs), cache: {} };
}

/** dL/d(each input), in `inputs` order, and the parameter gradients, given dL/dy */
export function refBackwardInputs(layer: LayerPlan, xs: readonly Vec[], y: Vec | null, dy: Vec, params: RefParams = {}, cache?: RefCache, mode: RefMode = {}): BackwardInputsResult {
  const shapes = inputShapes(layer);
  if (xs.length !== shapes.length) throw new Error(`reference: layer "${layer.name}" (${layer.type}) reads ${shapes.length} inputs, got ${xs.length}`);
  if (layer.type !== 'add' && layer.type !== 'concat') {
    const { dx, ...grads } = refBackward(layer, xs[0], y, dy, params, cache, mode);
    return { dxs: [dx], ...grads };
  }
  checkLength(layer, 'output gradient', dy, numel(layer.outShape));
  return { dxs: layer.type === 'add' ? addBackward(layer, dy) : concatBackward(layer, dy) };
}
