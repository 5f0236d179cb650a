// lower: LayerPlan -> LayerProgram (which kernels run, on which buffers), and the whole
// model: every layer, how they connect (graph.ts: buffers, gradient sums), the parameter
// arena layout, the loss and the optimizer kernels.

import type { ConvLayerPlan, ConvTransposeLayerPlan, LayerPlan, ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { BufferSlot, CounterSlot, LayerProgram, ModelProgram, OptimizerKernels, ParamSlot } from './types.ts';
import { lowerConv } from './conv.ts';
import { scheduleConv, scheduleLinear, type ModelSchedule, type ScheduleTarget } from '../plan/schedule.ts';
import { lowerActivation } from './activation.ts';
import { lowerFlatten } from './flatten.ts';
import { lowerPool } from './pool.ts';
import { lowerLinear } from './linear.ts';
import { lowerUpsample } from './upsample.ts';
import { lowerBatchNorm } from './batchnorm.ts';
import { lowerDropout } from './dropout.ts';
import { lowerUpsampleNearest } from './upsample-nearest.ts';
import { lowerZeroPad } from './zero-pad.ts';
import { lowerSoftmaxCrossEntropy } from './loss.ts';
import { lowerElementLoss } from './loss-mean.ts';
import { lowerSgd, lowerSgdMomentum } from './sgd.ts';
import { lowerAdam } from './adam.ts';
import { lowerAdd } from './add.ts';
import { lowerOutputSoftmax } from './softmax.ts';
import { lowerConcat } from './concat.ts';
import { lowerGraph } from './graph.ts';
import { inferenceProgram } from './inference.ts';
import { splitLinear } from '../gpu/split.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.ts';

/**
 * which target the kernels are shaped for: `ts` (V8: whole windows unrolled, register
 * blocks, the plan's direct/im2row strategies) or `wgsl` (GPU: many invocations running
 * short loops, split-K reductions). Both compute the same functions on the same buffers;
 * only the conv schedule (plan/schedule.ts) and the renderer differ.
 */
export type KernelTarget = ScheduleTarget;

export interface LowerOptions {
  readonly target?: KernelTarget;
  /** the WGSL target's device limits: a linear weight over one binding is split (src/gpu/split.ts); default: the WebGPU defaults */
  readonly limits?: GpuLimits | undefined;
  /** the conv layers' schedule (default: plan/schedule.ts's choice for the target) */
  readonly schedule?: ModelSchedule;
}

export function lowerLayer(layer: LayerPlan, opts: LowerOptions = {}): LayerProgram {
  switch (layer.type) {
    case 'conv1d':
    case 'conv2d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
      return lowerConv(layer, convSchedule(layer, opts));
    case 'relu':
    case 'leaky_relu':
    case 'relu6':
    case 'elu':
    case 'gelu':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
      return lowerActivation(layer);
    case 'flatten':
      return lowerFlatten(layer);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return lowerPool(layer);
    case 'linear':
      return lowerLinear(layer, opts.target === 'wgsl' ? splitLinear(layer, opts.limits ?? DEFAULT_LIMITS) : null, scheduleLinear(layer, opts.target ?? 'ts'));
    case 'upsample_nearest2d':
      return lowerUpsampleNearest(layer);
    case 'upsample_bilinear2d':
      return lowerUpsample(layer);
    case 'zero_pad1d':
    case 'zero_pad2d':
      return lowerZeroPad(layer);
    case 'batchnorm1d':
    case 'batchnorm2d':
      return lowerBatchNorm(layer);
    case 'dropout':
      return lowerDropout(layer);
    case 'add':
      return lowerAdd(layer);
    case 'concat':
      return lowerConcat(layer);
  }
}

/** a conv layer's schedule: the one given for its target, else the planner's */
function convSchedule(layer: ConvLayerPlan | ConvTransposeLayerPlan, opts: LowerOptions) {
  const target = opts.target ?? 'ts';
  if (opts.schedule && opts.schedule.target !== target) throw new Error(`lower: a ${opts.schedule.target} schedule for the ${target} target`);
  return opts.schedule?.layers.find((l) => l.layer === layer.name) ?? scheduleConv(layer, target);
}

/** PyTorch's fan-in: weight dim 1 times the receptive field (for conv_transpose too, from its [Cin, Cout/g, kH, kW] weight) */
export function fanIn(weightShape: readonly number[]): number {
  return numel(weightShape) / weightShape[0];
}

/** the parameter arena: every weight then bias, in layer order */
export function paramSlots(plan: ModelPlan): { slots: ParamSlot[]; length: number } {
  const slots: ParamSlot[] = [];
  let offset = 0;
  for (const l of plan.layers) {
    if (!l.weightShape) continue;
    const fi = fanIn(l.weightShape);
    const w = numel(l.weightShape);
    // batch norm: PyTorch's reset_parameters sets the weight to 1 and the bias to 0 (no draws)
    const bn = l.type === 'batchnorm1d' || l.type === 'batchnorm2d';
    slots.push({ layer: l.name, kind: 'weight', key: `${l.torchName}.weight`, offset, length: w, shape: l.weightShape, fanIn: fi, init: bn ? 'ones' : 'uniform' });
    offset += w;
    if (l.biasShape) {
      const b = numel(l.biasShape);
      slots.push({ layer: l.name, kind: 'bias', key: `${l.torchName}.bias`, offset, length: b, shape: l.biasShape, fanIn: fi, init: bn ? 'zeros' : 'uniform' });
      offset += b;
    }
  }
  return { slots, length: offset };
}

/** the state arena (batch norm's running_mean then running_var, layer order) and the num_batches_tracked counters */
export function bufferSlots(plan: ModelPlan): ModelProgram['buffers'] {
  const slots: BufferSlot[] = [];
  const counters: CounterSlot[] = [];
  let offset = 0;
  for (const l of plan.layers) {
    if ((l.type !== 'batchnorm1d' && l.type !== 'batchnorm2d') || !l.trackRunningStats) continue;
    for (const [kind, init] of [['running_mean', 0], ['running_var', 1]] as const) {
      slots.push({ layer: l.name, kind, key: `${l.torchName}.${kind}`, offset, length: l.channels, shape: [l.channels], init });
      offset += l.channels;
    }
    counters.push({ layer: l.name, key: `${l.torchName}.num_batches_tracked`, cumulative: l.momentum === null });
  }
  return { slots, length: offset, counters };
}

/** the optimizer kernels over an arena of `length` elements (the GPU's is padded for alignment) */
export function lowerOptimizers(length: number): OptimizerKernels {
  return { sgd: lowerSgd(length), sgdMomentum: lowerSgdMomentum(length), adam: lowerAdam(length, { amsgrad: false }), adamAmsgrad: lowerAdam(length, { amsgrad: true }) };
}

/** the loss kernel and what it computes: plan.loss, else softmax cross-entropy for a vector output */
export function lowerLoss(plan: ModelPlan): Pick<ModelProgram, 'loss' | 'lossKind'> {
  if (plan.loss === 'mse' || plan.loss === 'bce_with_logits') {
    return { loss: lowerElementLoss(plan.loss, numel(plan.outShape), plan.outShape.join('x')), lossKind: plan.loss };
  }
  if (plan.outShape.length === 2) return { loss: lowerSoftmaxCrossEntropy(plan.batch, plan.outShape[1]), lossKind: 'softmax_cross_entropy' };
  return { loss: null, lossKind: null };
}

/** the model's program; an inference plan's is its forward-only cut (inference.ts) */
export function lowerModel(plan: ModelPlan, opts: LowerOptions = {}): ModelProgram {
  const program = lowerTraining(plan, opts);
  return plan.inference ? inferenceProgram(program) : program;
}

function lowerTraining(plan: ModelPlan, opts: LowerOptions): ModelProgram {
  const params = paramSlots(plan);
  const layers = plan.layers.map((l) => lowerLayer(l, opts));
  return {
    layers,
    graph: lowerGraph(plan, layers),
    params,
    buffers: bufferSlots(plan),
    dropout: plan.layers.some((l) => l.type === 'dropout'),
    ...lowerLoss(plan),
    outputSoftmax: plan.outputSoftmax ? lowerOutputSoftmax(plan.batch, plan.outShape[1]) : null,
    optimizers: params.length > 0 ? lowerOptimizers(params.length) : null,
  };
}
