// The seed's Layer interface and a model that runs the plan's layer graph: forward caches
// what backward needs; backward returns dL/dinput and overwrites the parameter gradients.
//
// The graph is the plan's: layer i reads the outputs its `inputs` name (`input`: the model's
// input), and the layers are in topological order, so forward runs them top to bottom and
// backward bottom to top. An output read by several layers (or twice by one) gets the sum of
// their gradients, by the chain rule: dL/dv = sum over readers r of dL/dv through r.

import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import { refBackwardInputs, refForwardInputs } from './layer.ts';
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
  /** one input per entry of plan.inputs; caches them (and pool argmaxes) for backward */
  forward(...xs: Vec[]): Float64Array;
  /** dL/dinput from dL/doutput of the last forward (a single-input layer); overwrites grads */
  backward(dy: Vec): Float64Array;
  /** dL/d(each input), in plan.inputs order; overwrites grads */
  backwardInputs(dy: Vec): Float64Array[];
}

export function createReferenceLayer(plan: LayerPlan, params: RefParams = {}): Layer {
  const own: RefTensors = {};
  if (plan.weightShape) own.weight = Float64Array.from(params.weight ?? new Float64Array(0));
  if (plan.biasShape) own.bias = Float64Array.from(params.bias ?? new Float64Array(0));
  const grads: RefTensors = {};
  if (plan.weightShape) grads.weight = new Float64Array(numel(plan.weightShape));
  if (plan.biasShape) grads.bias = new Float64Array(numel(plan.biasShape));
  let saved: { xs: Float64Array[]; y: Float64Array; cache: RefCache } | null = null;
  const layer: Layer = {
    plan,
    params: own,
    grads,
    forward(...inputs) {
      const xs = inputs.map((x) => Float64Array.from(x));
      const { y, cache } = refForwardInputs(plan, xs, own);
      saved = { xs, y, cache };
      return y;
    },
    backwardInputs(dy) {
      if (!saved) throw new Error(`reference: backward of layer "${plan.name}" before forward`);
      const r = refBackwardInputs(plan, saved.xs, saved.y, dy, own, saved.cache);
      if (grads.weight && r.gradWeight) grads.weight.set(r.gradWeight);
      if (grads.bias && r.gradBias) grads.bias.set(r.gradBias);
      return r.dxs;
    },
    backward(dy) {
      if (plan.inputs.length !== 1) throw new Error(`reference: layer "${plan.name}" reads ${plan.inputs.length} inputs: use backwardInputs`);
      return layer.backwardInputs(dy)[0];
    },
  };
  return layer;
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

function valueOf(values: ReadonlyMap<string, Vec>, name: string): Vec {
  const v = values.get(name);
  if (!v) throw new Error(`reference: "${name}" is read before it is computed (the plan's layers must be in topological order)`);
  return v;
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
      // every output by the name `inputs` calls it
      const values = new Map<string, Vec>([['input', x]]);
      for (const l of layers) values.set(l.plan.name, l.forward(...l.plan.inputs.map((name) => valueOf(values, name))));
      return Float64Array.from(values.get(layers[layers.length - 1].plan.name)!);
    },
    backward(dOut) {
      // dL/d(each output), summed over its readers as they are reached (readers come after it)
      const grads = new Map<string, Float64Array>([[layers[layers.length - 1].plan.name, Float64Array.from(dOut)]]);
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i];
        const dy = grads.get(l.plan.name);
        if (!dy) throw new Error(`reference: the output of layer "${l.plan.name}" is never read`);
        l.backwardInputs(dy).forEach((dx, k) => {
          const name = l.plan.inputs[k];
          const sum = grads.get(name);
          if (!sum) grads.set(name, dx);
          else for (let j = 0; j < sum.length; j++) sum[j] += dx[j];
        });
      }
      return grads.get('input')!;
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
