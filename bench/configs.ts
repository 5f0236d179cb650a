// The layer configs of issue 5 (NCHW, float32), each written as a one-layer model.json so
// that it goes through the same parse -> plan path as a user's model. `--quick` shrinks
// every config to a size that runs in milliseconds (the CI smoke test) but keeps its
// kernel, stride and padding, so the same code paths run.

import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ConvLayerPlan, ConvTransposeLayerPlan, ModelPlan } from '../src/plan/types.ts';
import type { StrategyName } from '../src/spec/types.ts';

export type ConvOp = 'forward' | 'gradInput' | 'gradWeight';
export const CONV_OPS: readonly ConvOp[] = ['forward', 'gradInput', 'gradWeight'];
export const STRATEGIES: readonly StrategyName[] = ['direct', 'im2row'];

export interface LayerConfig {
  readonly id: string;
  readonly type: 'conv2d' | 'conv_transpose2d';
  readonly batch: number;
  readonly inC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outC: number;
  readonly k: number;
  readonly s: number;
  readonly p: number;
}

/** batch 8, 1x28x28 -> 8, k5 s1 p2 ... as the issue lists them */
export const LAYER_CONFIGS: readonly LayerConfig[] = [
  { id: 'A', type: 'conv2d', batch: 8, inC: 1, inH: 28, inW: 28, outC: 8, k: 5, s: 1, p: 2 },
  { id: 'B', type: 'conv2d', batch: 8, inC: 16, inH: 32, inW: 32, outC: 32, k: 3, s: 1, p: 1 },
  { id: 'C', type: 'conv2d', batch: 1, inC: 64, inH: 56, inW: 56, outC: 64, k: 3, s: 1, p: 1 },
  { id: 'D', type: 'conv2d', batch: 8, inC: 32, inH: 32, inW: 32, outC: 64, k: 3, s: 2, p: 1 },
  { id: 'E', type: 'conv_transpose2d', batch: 8, inC: 64, inH: 16, inW: 16, outC: 32, k: 4, s: 2, p: 1 },
];

/** a whole training step of an example model */
export interface StepConfig {
  readonly id: string;
  readonly example: string;
  readonly batch: number;
  /** for the chart's key */
  readonly title: string;
  /** for the targets' names */
  readonly short: string;
}

/** F: the LeNet-5 example's whole training step */
export const STEP_CONFIG: StepConfig = { id: 'F', example: 'examples/lenet.json', batch: 32, title: 'LeNet-5', short: 'LeNet' };

/** G: the small ResNet's (examples/resnet.json: batch norm, residual adds; generated/resnet_small) */
export const RESNET_STEP_CONFIG: StepConfig = { id: 'G', example: 'examples/resnet.json', batch: 32, title: 'ResNet (resnet_small)', short: 'ResNet (resnet_small)' };

export const STEP_CONFIGS: readonly StepConfig[] = [STEP_CONFIG, RESNET_STEP_CONFIG];

/** the tiny version of a config for --quick: same kernel, stride and padding */
export function quickConfig(c: LayerConfig): LayerConfig {
  return { ...c, batch: 2, inC: Math.min(c.inC, 3), outC: Math.min(c.outC, 4), inH: Math.min(c.inH, 8), inW: Math.min(c.inW, 8) };
}

/** `conv2d 16x32x32 -> 32 k3 s1 p1, batch 8` */
export function describeConfig(c: LayerConfig): string {
  return `${c.type} ${c.inC}x${c.inH}x${c.inW} -> ${c.outC} k${c.k} s${c.s} p${c.p}, batch ${c.batch}`;
}

/** the config as a model.json value (no bias: the peers' conv ops have none) */
export function configModelJson(c: LayerConfig): unknown {
  return {
    name: `bench_${c.id.toLowerCase()}`,
    batch: c.batch,
    input: [c.inC, c.inH, c.inW],
    layers: [{ type: c.type, name: 'conv', out_channels: c.outC, kernel: c.k, stride: c.s, padding: c.p, bias: false }],
  };
}

export type ConvPlan = ConvLayerPlan | ConvTransposeLayerPlan;

/** the config's one layer, planned with a forced strategy or with the cost model (`auto`) */
export function planConfig(c: LayerConfig, strategy: StrategyName | 'auto'): { model: ModelPlan; layer: ConvPlan } {
  const spec = parseModel(configModelJson(c));
  const model = planModel(spec, strategy === 'auto' ? {} : { strategy });
  const layer = model.layers[0];
  if (layer.type !== 'conv2d' && layer.type !== 'conv_transpose2d') throw new Error(`bench: config ${c.id} planned as ${layer.type}`);
  return { model, layer };
}
