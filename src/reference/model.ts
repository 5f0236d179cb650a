// The seed's Layer interface and a model that runs the plan's layer list: forward caches
// what backward needs; backward returns dL/dinput and overwrites the parameter gradients.

import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import { refBackward, refForward } from './layer.ts';
import { bceWithLogits, mseLoss, softmaxCrossEntropy } from './loss.ts';
import type { RefCache, RefParams, Vec } from './types.ts';

/** float64 parameters / gradients of one layer, PyTorch layouts */
export interface RefTensors {
  weight?: Float64Array;
  bias?: Float64Array;
}

export interface Layer {
  readonly plan: LayerPlan;
  /** this layer's parameters (absent for layers without any) */
  readonly params: RefTensors;
  /** filled by backward: same keys and layouts as params */
  readonly grads: RefTensors;
  /** caches its input (and pool argmaxes) for backward */
  forward(x: Vec): Float64Array;
  /** dL/dinput from dL/doutput of the last forward; overwrites grads */
  backward(dy: Vec): Float64Array;
}

export function createReferenceLayer(plan: LayerPlan, params: RefParams = {}): Layer {
  const own: RefTensors = {};
  if (plan.weightShape) own.weight = Float64Array.from(params.weight ?? new Float64Array(0));
  if (plan.biasShape) own.bias = Float64Array.from(params.bias ?? new Float64Array(0));
  const grads: RefTensors = {};
  if (plan.weightShape) grads.weight = new Float64Array(numel(plan.weightShape));
  if (plan.biasShape) grads.bias = new Float64Array(numel(plan.biasShape));
  let saved: { x: Float64Array; y: Float64Array; cache: RefCache } | null = null;
  return {
    plan,
    params: own,
    grads,
    forward(x) {
      const xs = Float64Array.from(x);
      const { y, cache } = refForward(plan, xs, own);
      saved = { x: xs, y, cache };
      return y;
    },
    backward(dy) {
      if (!saved) throw new Error(`reference: backward of layer "${plan.name}" before forward`);
      const r = refBackward(plan, saved.x, saved.y, dy, own, saved.cache);
      if (grads.weight && r.gradWeight) grads.weight.set(r.gradWeight);
      if (grads.bias && r.gradBias) grads.bias.set(r.gradBias);
      return r.dx;
    },
  };
}

export interface ReferenceModel {
  readonly plan: ModelPlan;
  readonly layers: readonly Layer[];
  /** keyed by layer name, only layers with parameters; float64 copies (edit them in place to update) */
  readonly params: Record<string, RefTensors>;
  /** keyed by layer name, overwritten by backward / lossAndGrad */
  readonly grads: Record<string, RefTensors>;
  forward(x: Vec): Float64Array;
  /** runs the layers backwards from dL/doutput; returns dL/dinput */
  backward(dOut: Vec): Float64Array;
  /**
   * forward, the plan's loss, backward; returns the loss, fills grads. `target`: class labels
   * for softmax cross-entropy (also the loss of a model without one), a tensor of the
   * output's shape for mse and bce_with_logits
   */
  lossAndGrad(x: Vec, target: ArrayLike<number>): number;
}

/** params: keyed by layer name, PyTorch layouts; copied to float64 */
export function createReferenceModel(plan: ModelPlan, params: Record<string, RefParams> = {}): ReferenceModel {
  const layers = plan.layers.map((l) => {
    if ((l.weightShape || l.biasShape) && !params[l.name]) throw new Error(`reference: no params for layer "${l.name}"`);
    return createReferenceLayer(l, params[l.name] ?? {});
  });
  const ps: Record<string, RefTensors> = {};
  const gs: Record<string, RefTensors> = {};
  for (const l of layers) {
    if (l.plan.weightShape || l.plan.biasShape) {
      ps[l.plan.name] = l.params;
      gs[l.plan.name] = l.grads;
    }
  }
  const model: ReferenceModel = {
    plan,
    layers,
    params: ps,
    grads: gs,
    forward(x) {
      if (x.length !== numel(plan.inShape)) throw new Error(`reference: input has ${x.length} elements, expected ${numel(plan.inShape)}`);
      let a: Vec = x;
      for (const l of layers) a = l.forward(a);
      return Float64Array.from(a);
    },
    backward(dOut) {
      let d: Vec = dOut;
      for (let i = layers.length - 1; i >= 0; i--) d = layers[i].backward(d);
      return Float64Array.from(d);
    },
    lossAndGrad(x, target) {
      const out = model.forward(x);
      if (plan.loss === 'mse' || plan.loss === 'bce_with_logits') {
        const { loss, dOutput } = plan.loss === 'mse' ? mseLoss(out, target) : bceWithLogits(out, target);
        model.backward(dOutput);
        return loss;
      }
      const classes = plan.outShape[plan.outShape.length - 1];
      const { loss, dLogits } = softmaxCrossEntropy(out, target, plan.batch, classes);
      model.backward(dLogits);
      return loss;
    },
  };
  return model;
}
