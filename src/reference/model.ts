// The seed's Layer interface and a model that runs the plan's layer graph: forward caches
// what backward needs; backward returns dL/dinput and overwrites the parameter gradients.
// Like a PyTorch module it has a mode (train() / eval(), training by default): batch norm
// updates its buffers in training-mode forward, dropout draws from the model's stream, and
// backward differentiates what the last forward computed, in the mode it ran in.
//
// The graph is the plan's: layer i reads the outputs its `inputs` name (`input`: the model's
// input), and the layers are in topological order, so forward runs them top to bottom and
// backward bottom to top. An output read by several layers (or twice by one) gets the sum of
// their gradients, by the chain rule: dL/dv = sum over readers r of dL/dv through r.

import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import { refBackwardInputs, refForwardInputs } from './layer.ts';
import { bceWithLogits, mseLoss, softmaxCrossEntropy, softmaxRows } from './loss.ts';
import type { RefCache, RefMode, RefParams, Vec } from './types.ts';

/** float64 parameters / gradients of one layer, PyTorch layouts */
export interface RefTensors {
  weight?: Float64Array;
  bias?: Float64Array;
}

/** a batch norm's buffers, under PyTorch's names */
export interface RefBuffers {
  running_mean: Float64Array;
  running_var: Float64Array;
  num_batches_tracked: number;
}

export interface Layer {
  readonly plan: LayerPlan;
  /** this layer's parameters (absent for layers without any) */
  readonly params: RefTensors;
  /** filled by backward: same keys and layouts as params */
  readonly grads: RefTensors;
  /** batch norm with running stats: its buffers, updated by training-mode forward (null otherwise) */
  readonly buffers: RefBuffers | null;
  /** one input per entry of plan.inputs, in training mode; caches them (and pool argmaxes, batch statistics, dropout masks) for backward */
  forward(...xs: Vec[]): Float64Array;
  /** forward in `mode` (training or eval, and the dropout stream's position) */
  forwardWith(mode: RefMode, ...xs: Vec[]): Float64Array;
  /** dL/dinput from dL/doutput of the last forward (a single-input layer), in that forward's mode; overwrites grads */
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
  const bn = (plan.type === 'batchnorm1d' || plan.type === 'batchnorm2d') && plan.trackRunningStats ? plan : null;
  // PyTorch's initial buffers: mean 0, var 1, no batches
  const buffers: RefBuffers | null = bn
    ? {
        running_mean: params.runningMean ? Float64Array.from(params.runningMean) : new Float64Array(bn.channels),
        running_var: params.runningVar ? Float64Array.from(params.runningVar) : new Float64Array(bn.channels).fill(1),
        num_batches_tracked: params.numBatchesTracked ?? 0,
      }
    : null;
  const current = (): RefParams => (buffers ? { ...own, runningMean: buffers.running_mean, runningVar: buffers.running_var, numBatchesTracked: buffers.num_batches_tracked } : own);
  let saved: { xs: Float64Array[]; y: Float64Array; cache: RefCache; params: RefParams } | null = null;
  const layer: Layer = {
    plan,
    params: own,
    grads,
    buffers,
    forward(...inputs) {
      return layer.forwardWith({}, ...inputs);
    },
    forwardWith(mode, ...inputs) {
      const xs = inputs.map((x) => Float64Array.from(x));
      // backward needs the buffers as forward saw them (eval mode reads the running stats)
      const before = current();
      const { y, cache, state } = refForwardInputs(plan, xs, before, mode);
      if (buffers && state) {
        buffers.running_mean = state.runningMean;
        buffers.running_var = state.runningVar;
        buffers.num_batches_tracked = state.numBatchesTracked;
      }
      saved = { xs, y, cache, params: before };
      return y;
    },
    backwardInputs(dy) {
      if (!saved) throw new Error(`reference: backward of layer "${plan.name}" before forward`);
      const r = refBackwardInputs(plan, saved.xs, saved.y, dy, saved.params, saved.cache);
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
  /** keyed by layer name: each batch norm's running stats (the layer's own record, updated in place) */
  readonly buffers: Record<string, RefBuffers>;
  /** PyTorch's module.training: true until eval() */
  readonly training: boolean;
  train(mode?: boolean): ReferenceModel;
  eval(): ReferenceModel;
  /** training-mode forwards run so far: the dropout stream's next step */
  readonly step: number;
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

export interface ReferenceModelOptions {
  /** the seed of the dropout stream (the generated model's createModel seed); default 0 */
  seed?: number;
}

/**
 * params: keyed by layer name, PyTorch layouts, copied to float64; a batch norm's entry may
 * also give its running stats (default: mean 0, var 1, no batches tracked)
 */
export function createReferenceModel(plan: ModelPlan, params: Record<string, RefParams> = {}, options: ReferenceModelOptions = {}): ReferenceModel {
  const layers = plan.layers.map((l) => {
    if ((l.weightShape || l.biasShape) && !params[l.name]) throw new Error(`reference: no params for layer "${l.name}"`);
    return createReferenceLayer(l, params[l.name] ?? {});
  });
  const ps: Record<string, RefTensors> = {};
  const gs: Record<string, RefTensors> = {};
  const bs: Record<string, RefBuffers> = {};
  for (const l of layers) {
    if (l.plan.weightShape || l.plan.biasShape) {
      ps[l.plan.name] = l.params;
      gs[l.plan.name] = l.grads;
    }
    if (l.buffers) bs[l.plan.name] = l.buffers;
  }
  let training = true;
  let lastLogits = new Float64Array(0);
  let step = 0;
  const model: ReferenceModel = {
    plan,
    layers,
    params: ps,
    grads: gs,
    buffers: bs,
    get training() {
      return training;
    },
    get step() {
      return step;
    },
    train(mode = true) {
      training = mode;
      return model;
    },
    eval() {
      training = false;
      return model;
    },
    forward(x) {
      if (x.length !== numel(plan.inShape)) throw new Error(`reference: input has ${x.length} elements, expected ${numel(plan.inShape)}`);
      const mode: RefMode = { training, seed: options.seed ?? 0, step };
      if (training) step++;
      // every output by the name `inputs` calls it
      const values = new Map<string, Vec>([['input', x]]);
      for (const l of layers) values.set(l.plan.name, l.forwardWith(mode, ...l.plan.inputs.map((name) => valueOf(values, name))));
      const out = Float64Array.from(values.get(layers[layers.length - 1].plan.name)!);
      lastLogits = out;
      // model.json's output_softmax: eval mode returns the probabilities, training mode the logits
      return plan.outputSoftmax && !training ? softmaxRows(out, plan.batch, plan.outShape[1]) : out;
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
      // the loss takes the logits, also in eval mode with output_softmax
      model.forward(x);
      const out = lastLogits;
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
