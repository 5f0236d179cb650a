// plan: ModelSpec -> ModelPlan. Shape inference with PyTorch's output-size formulas,
// padding resolved to four sides, parameter shapes in PyTorch layouts, FLOPs and bytes,
// the kernels each layer needs and (for convs) the strategy per kernel.
//
// Every error names the layer and shows the arithmetic that went wrong.

import { ConvgenError } from '../errors.ts';
import type {
  ActivationType,
  AvgPoolSpec,
  BatchNormSpec,
  DropoutSpec,
  ConvSpec,
  ConvTransposeSpec,
  EluSpec,
  GeluSpec,
  LayerSpec,
  LeakyReluSpec,
  LinearSpec,
  MaxPoolSpec,
  MergeSpec,
  ModelSpec,
  SimpleSpec,
  StrategyChoice,
  StrategyName,
  UpsampleSpec,
  ZeroPadSpec,
} from '../spec/types.ts';
import type {
  ConvGeometry,
  ConvSchedule,
  ConvTransposeGeometry,
  KernelRole,
  LayerPlan,
  ModelPlan,
  Pad4,
  PoolGeometry,
  Shape,
} from './types.ts';
import { numel } from './types.ts';
import { chooseConvStrategy } from './cost.ts';
import { MODEL_INPUT } from '../spec/names.ts';

/** buffers are indexed with i32 in WGSL and JS typed arrays: keep every buffer below 2^31 elements */
export const MAX_BUFFER_ELEMENTS = 2 ** 31 - 1;

/** `layers[2] (conv2d "c2")`: how errors name a layer */
export function layerLabel(layer: LayerSpec): string {
  return `layers[${layer.index}] (${layer.type} "${layer.name}")`;
}

/** how an error names what a layer reads: `"c1"`, or `the model's input` */
function source(name: string): string {
  return name === MODEL_INPUT ? "the model's input" : `"${name}"`;
}

/** per-sample shape [C, L] | [C, H, W] | [F] -> the 2D view [C, H, W] (1D: H = 1) */
function spatial(shape: readonly number[]): { c: number; h: number; w: number; rank: number } {
  if (shape.length === 2) return { c: shape[0], h: 1, w: shape[1], rank: 1 };
  return { c: shape[0], h: shape[1], w: shape[2], rank: 2 };
}

const DIM_NAMES = { 1: ['length'], 2: ['height', 'width'] } as const;

/** which spatial rank a layer type needs: 1 = [C, L], 2 = [C, H, W], 0 = either */
function requiredRank(type: LayerSpec['type']): 0 | 1 | 2 | 'vector' | 'any' {
  switch (type) {
    case 'conv1d':
    case 'conv_transpose1d':
    case 'maxpool1d':
    case 'avgpool1d':
    case 'zero_pad1d':
      return 1;
    case 'conv2d':
    case 'conv_transpose2d':
    case 'maxpool2d':
    case 'avgpool2d':
    case 'upsample_nearest2d':
    case 'upsample_bilinear2d':
    case 'zero_pad2d':
      return 2;
    case 'linear':
      return 'vector';
    case 'flatten':
    case 'dropout':
      return 'any';
    // checked by their own rule in checkRank: batchnorm1d takes [C] or [C, L], batchnorm2d [C, H, W]
    case 'batchnorm1d':
    case 'batchnorm2d':
      return 'any';
    default:
      return isActivation(type) ? 'any' : 0;
  }
}

const ACTIVATIONS: readonly ActivationType[] = ['relu', 'leaky_relu', 'relu6', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh'];

/** the elementwise activations: any shape in, the same shape out */
export function isActivation(type: LayerSpec['type']): type is ActivationType {
  return (ACTIVATIONS as readonly string[]).includes(type);
}

/** the 1D layer to suggest when a 2D one meets a [C, L] input */
const ONE_D: Partial<Record<LayerSpec['type'], string>> = { conv2d: 'conv1d', conv_transpose2d: 'conv_transpose1d', maxpool2d: 'maxpool1d', avgpool2d: 'avgpool1d', zero_pad2d: 'zero_pad1d' };

function checkRank(layer: LayerSpec, shape: readonly number[]): void {
  const need = requiredRank(layer.type);
  const got = `[${shape.join(', ')}]`;
  if (need === 'vector' && shape.length !== 1) {
    throw new ConvgenError(layerLabel(layer), `linear needs a vector per sample, but its input is ${got}`, 'add a { "type": "flatten" } layer before it');
  }
  if (need === 1 && shape.length !== 2) {
    throw new ConvgenError(layerLabel(layer), `${layer.type} needs a [channels, length] input per sample, but its input is ${got}`, shape.length === 3 ? `use the 2D layer (${layer.type.replace('1d', '2d')}) or make the model's input [C, L]` : 'put it before the flatten layer, or give the model a [C, L] input');
  }
  if (need === 2 && shape.length !== 3) {
    throw new ConvgenError(layerLabel(layer), `${layer.type} needs a [channels, height, width] input per sample, but its input is ${got}`, shape.length === 2 ? (ONE_D[layer.type] ? `use ${ONE_D[layer.type]} for a [C, L] input, or make the model's input [C, H, W]` : `${layer.type} has no 1D form: make the model's input [C, H, W]`) : 'put it before the flatten layer');
  }
  if (layer.type === 'batchnorm1d' && shape.length === 3) {
    throw new ConvgenError(layerLabel(layer), `batchnorm1d needs a [channels] or [channels, length] input per sample, but its input is ${got}`, 'use batchnorm2d for a [C, H, W] input');
  }
  if (layer.type === 'batchnorm2d' && shape.length !== 3) {
    throw new ConvgenError(layerLabel(layer), `batchnorm2d needs a [channels, height, width] input per sample, but its input is ${got}`, 'use batchnorm1d for a [C] or [C, L] input');
  }
  if (need === 0 && shape.length === 1) {
    throw new ConvgenError(layerLabel(layer), `${layer.type} needs a spatial input ([C, L] or [C, H, W]), but its input is ${got}`, 'put it before the flatten layer');
  }
}

function checkInChannels(layer: ConvSpec | ConvTransposeSpec, inC: number): void {
  if (layer.in_channels !== undefined && layer.in_channels !== inC) {
    throw new ConvgenError(`${layerLabel(layer)}.in_channels`, `in_channels is ${layer.in_channels}, but ${source(layer.inputs[0])} gives ${inC} channels`, `set "in_channels": ${inC} or remove the key (it is inferred)`);
  }
}

function checkGroups(layer: ConvSpec | ConvTransposeSpec, inC: number): void {
  const g = layer.groups;
  if (inC % g !== 0) {
    throw new ConvgenError(`${layerLabel(layer)}.groups`, `groups (${g}) must divide the input channels (${inC})`, `use a divisor of ${inC} for groups`);
  }
  if (layer.out_channels % g !== 0) {
    throw new ConvgenError(`${layerLabel(layer)}.groups`, `groups (${g}) must divide out_channels (${layer.out_channels})`, `use a divisor of ${layer.out_channels} for groups, or change out_channels to a multiple of ${g}`);
  }
}

/**
 * "same" padding: PyTorch (stride 1) pads d*(k-1) in total, floor half before and the rest
 * after, so an even kernel gets one more at the end. PyTorch refuses "same" with stride > 1;
 * there we follow TensorFlow: out = ceil(in / s), total = max((out-1)*s + d*(k-1) + 1 - in, 0),
 * again the floor half before.
 */
export function samePadding(inSize: number, k: number, s: number, d: number): [number, number] {
  const total = s === 1 ? d * (k - 1) : Math.max((Math.ceil(inSize / s) - 1) * s + d * (k - 1) + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** PyTorch's conv output size, with the arithmetic spelled out when it is not positive */
function convOut(layer: LayerSpec, dim: string, inSize: number, padA: number, padB: number, k: number, s: number, d: number): number {
  const out = Math.floor((inSize + padA + padB - d * (k - 1) - 1) / s) + 1;
  if (out <= 0) {
    const eff = d * (k - 1) + 1;
    const why = eff > inSize + padA + padB
      ? `the input (${inSize}${padA + padB ? ` + ${padA + padB} padding` : ''}) is smaller than the kernel (${eff}${d > 1 ? ` with dilation ${d}` : ''})`
      : 'the window does not fit';
    throw new ConvgenError(layerLabel(layer), `output ${dim} = floor((${inSize} + ${padA} + ${padB} - ${d}*(${k}-1) - 1) / ${s}) + 1 = ${out} <= 0: ${why}`, 'add padding or use a smaller kernel');
  }
  return out;
}

function resolveConvPads(layer: ConvSpec, h: number, w: number, rank: 1 | 2): Pad4 {
  const [kH, kW] = rank === 1 ? [1, layer.kernel[0]] : [layer.kernel[0], layer.kernel[1]];
  const [sH, sW] = rank === 1 ? [1, layer.stride[0]] : [layer.stride[0], layer.stride[1]];
  const [dH, dW] = rank === 1 ? [1, layer.dilation[0]] : [layer.dilation[0], layer.dilation[1]];
  const p = layer.padding;
  if (p.mode === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (p.mode === 'same') {
    const [top, bottom] = rank === 1 ? [0, 0] : samePadding(h, kH, sH, dH);
    const [left, right] = samePadding(w, kW, sW, dW);
    return { top, bottom, left, right };
  }
  const [pH, pW] = rank === 1 ? [0, p.amounts[0]] : [p.amounts[0], p.amounts[1]];
  return { top: pH, bottom: pH, left: pW, right: pW };
}

/** the strategy per conv kernel: the user's choice, or the cost model's for `auto` */
function schedule(choice: { forward: StrategyChoice; gradInput: StrategyChoice; gradWeight: StrategyChoice }, g: ConvGeometry, transposed: boolean, override?: StrategyName): ConvSchedule {
  const pick = (role: 'forward' | 'gradInput' | 'gradWeight'): StrategyName => {
    if (override) return override;
    const c = choice[role];
    return c === 'auto' ? chooseConvStrategy(g, role, transposed) : c;
  };
  return { forward: pick('forward'), gradInput: pick('gradInput'), gradWeight: pick('gradWeight') };
}

function convRoles(bias: boolean): KernelRole[] {
  return bias ? ['forward', 'gradInput', 'gradWeight', 'gradBias'] : ['forward', 'gradInput', 'gradWeight'];
}

export interface PlanOptions {
  /** force one strategy for every conv kernel (`convgen build --strategy`) */
  strategy?: StrategyName;
  /** a forward-only build (`convgen build --inference`): eval mode always, so batch norm's training-mode checks do not apply */
  inference?: boolean;
}

/** a layer's plan before planModel adds what it reads (`inputs`, the same for every kind) */
type Planned = LayerPlan extends infer T ? (T extends LayerPlan ? Omit<T, 'inputs'> : never) : never;

interface Step {
  plan: Planned;
  out: number[];
}

function planConv(layer: ConvSpec, cur: number[], N: number, opts: PlanOptions): Step {
  const { c, h, w, rank } = spatial(cur);
  checkInChannels(layer, c);
  checkGroups(layer, c);
  const r = rank as 1 | 2;
  const [kH, kW] = r === 1 ? [1, layer.kernel[0]] : [layer.kernel[0], layer.kernel[1]];
  const [sH, sW] = r === 1 ? [1, layer.stride[0]] : [layer.stride[0], layer.stride[1]];
  const [dH, dW] = r === 1 ? [1, layer.dilation[0]] : [layer.dilation[0], layer.dilation[1]];
  const pad = resolveConvPads(layer, h, w, r);
  const names = DIM_NAMES[r];
  const outH = r === 1 ? 1 : convOut(layer, names[0], h, pad.top, pad.bottom, kH, sH, dH);
  const outW = convOut(layer, names[names.length - 1], w, pad.left, pad.right, kW, sW, dW);
  const g = layer.groups;
  const geometry: ConvGeometry = {
    batch: N, inC: c, inH: h, inW: w, outC: layer.out_channels, outH, outW,
    kH, kW, strideH: sH, strideW: sW, dilationH: dH, dilationW: dW, pad, groups: g,
  };
  const out = r === 1 ? [layer.out_channels, outW] : [layer.out_channels, outH, outW];
  const macs = N * layer.out_channels * outH * outW * (c / g) * kH * kW;
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...cur], outShape: [N, ...out],
      weightShape: r === 1 ? [layer.out_channels, c / g, kW] : [layer.out_channels, c / g, kH, kW],
      biasShape: layer.bias ? [layer.out_channels] : null,
      flops: { forward: 2 * macs, gradInput: 2 * macs, gradWeight: 2 * macs },
      activationBytes: 4 * N * numel(out),
      kernels: convRoles(layer.bias),
      geometry,
      schedule: schedule(layer.strategy, geometry, false, opts.strategy),
    },
  };
}

function planConvTranspose(layer: ConvTransposeSpec, cur: number[], N: number, opts: PlanOptions): Step {
  const { c, h, w, rank } = spatial(cur);
  checkInChannels(layer, c);
  checkGroups(layer, c);
  // 1D: the 2D machinery with a 1-tall kernel, no stride, padding or output_padding in height
  const oneD = rank === 1;
  const twoD = (v: number[], h1: number): [number, number] => (oneD ? [h1, v[0]] : [v[0], v[1]]);
  const [kH, kW] = twoD(layer.kernel, 1);
  const [sH, sW] = twoD(layer.stride, 1);
  const [dH, dW] = twoD(layer.dilation, 1);
  const [pH, pW] = twoD(layer.padding, 0);
  const [oH, oW] = twoD(layer.output_padding, 0);
  layer.output_padding.forEach((op, i) => {
    const [s, d] = [layer.stride[i], layer.dilation[i]];
    if (op >= Math.max(s, d)) {
      throw new ConvgenError(`${layerLabel(layer)}.output_padding`, `output_padding${oneD ? '' : `[${i}]`} = ${op} must be smaller than max(stride, dilation) = ${Math.max(s, d)} (PyTorch's rule)`, `use an output_padding below ${Math.max(s, d)}`);
    }
  });
  const size = (dim: string, inSize: number, k: number, s: number, p: number, d: number, op: number): number => {
    const out = (inSize - 1) * s - 2 * p + d * (k - 1) + op + 1;
    if (out <= 0) {
      throw new ConvgenError(layerLabel(layer), `output ${dim} = (${inSize} - 1)*${s} - 2*${p} + ${d}*(${k}-1) + ${op} + 1 = ${out} <= 0: the padding (${p}) crops away the whole output`, 'use less padding');
    }
    return out;
  };
  const outH = oneD ? 1 : size('height', h, kH, sH, pH, dH, oH);
  const outW = size(oneD ? 'length' : 'width', w, kW, sW, pW, dW, oW);
  const g = layer.groups;
  const geometry: ConvTransposeGeometry = {
    batch: N, inC: c, inH: h, inW: w, outC: layer.out_channels, outH, outW,
    kH, kW, strideH: sH, strideW: sW, dilationH: dH, dilationW: dW,
    pad: { top: pH, bottom: pH, left: pW, right: pW }, groups: g, outputPadH: oH, outputPadW: oW,
  };
  const out = oneD ? [layer.out_channels, outW] : [layer.out_channels, outH, outW];
  const macs = N * c * h * w * (layer.out_channels / g) * kH * kW;
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...cur], outShape: [N, ...out],
      weightShape: oneD ? [c, layer.out_channels / g, kW] : [c, layer.out_channels / g, kH, kW],
      biasShape: layer.bias ? [layer.out_channels] : null,
      flops: { forward: 2 * macs, gradInput: 2 * macs, gradWeight: 2 * macs },
      activationBytes: 4 * N * numel(out),
      kernels: convRoles(layer.bias),
      geometry,
      schedule: schedule(layer.strategy, geometry, true, opts.strategy),
    },
  };
}

function planPool(layer: MaxPoolSpec | AvgPoolSpec, cur: number[], N: number): Step {
  const { c, h, w, rank } = spatial(cur);
  const r = rank as 1 | 2;
  const [kH, kW] = r === 1 ? [1, layer.kernel[0]] : [layer.kernel[0], layer.kernel[1]];
  const [sH, sW] = r === 1 ? [1, layer.stride[0]] : [layer.stride[0], layer.stride[1]];
  const [pH, pW] = r === 1 ? [0, layer.padding[0]] : [layer.padding[0], layer.padding[1]];
  for (const [p, k, dim] of [[pH, kH, 'height'], [pW, kW, 'width']] as const) {
    if (p > Math.floor(k / 2)) {
      throw new ConvgenError(`${layerLabel(layer)}.padding`, `padding ${p} is more than half the kernel (${k}) in ${r === 1 ? 'length' : dim} (PyTorch's rule: padding <= kernel / 2)`, `use padding <= ${Math.floor(k / 2)}`);
    }
  }
  const names = DIM_NAMES[r];
  const outH = r === 1 ? 1 : convOut(layer, names[0], h, pH, pH, kH, sH, 1);
  const outW = convOut(layer, names[names.length - 1], w, pW, pW, kW, sW, 1);
  const geometry: PoolGeometry = { batch: N, channels: c, inH: h, inW: w, outH, outW, kH, kW, strideH: sH, strideW: sW, padH: pH, padW: pW };
  const out = r === 1 ? [c, outW] : [c, outH, outW];
  const windowOps = N * c * outH * outW * kH * kW;
  const avg = layer.type === 'avgpool1d' || layer.type === 'avgpool2d';
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...cur], outShape: [N, ...out], weightShape: null, biasShape: null,
      flops: { forward: windowOps, gradInput: avg ? windowOps : N * c * outH * outW, gradWeight: 0 },
      activationBytes: 4 * N * numel(out),
      kernels: ['forward', 'gradInput'],
      geometry,
      countIncludePad: avg ? layer.count_include_pad : true,
    },
  };
}

function planGlobalPool(layer: SimpleSpec, type: 'global_maxpool' | 'global_avgpool', cur: number[], N: number): Step {
  const { c, h, w, rank } = spatial(cur);
  const geometry: PoolGeometry = { batch: N, channels: c, inH: h, inW: w, outH: 1, outW: 1, kH: h, kW: w, strideH: h, strideW: w, padH: 0, padW: 0 };
  // PyTorch's AdaptiveMax/AvgPool to size 1 keeps the spatial dims as 1s
  const out = rank === 1 ? [c, 1] : [c, 1, 1];
  const ops = N * c * h * w;
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type,
      inShape: [N, ...cur], outShape: [N, ...out], weightShape: null, biasShape: null,
      flops: { forward: ops, gradInput: type === 'global_avgpool' ? ops : N * c, gradWeight: 0 },
      activationBytes: 4 * N * numel(out),
      kernels: ['forward', 'gradInput'],
      geometry,
      countIncludePad: true,
    },
  };
}

function planLinear(layer: LinearSpec, cur: number[], N: number): Step {
  const inF = cur[0];
  if (layer.in_features !== undefined && layer.in_features !== inF) {
    throw new ConvgenError(`${layerLabel(layer)}.in_features`, `in_features is ${layer.in_features}, but ${source(layer.inputs[0])} gives ${inF} features`, `set "in_features": ${inF} or remove the key (it is inferred)`);
  }
  const outF = layer.out_features;
  const macs = N * inF * outF;
  return {
    out: [outF],
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: 'linear',
      inShape: [N, inF], outShape: [N, outF],
      weightShape: [outF, inF], biasShape: layer.bias ? [outF] : null,
      flops: { forward: 2 * macs, gradInput: 2 * macs, gradWeight: 2 * macs },
      activationBytes: 4 * N * outF,
      kernels: layer.bias ? ['forward', 'gradInput', 'gradWeight', 'gradBias'] : ['forward', 'gradInput', 'gradWeight'],
      batch: N, inFeatures: inF, outFeatures: outF,
    },
  };
}

function planUpsample(layer: UpsampleSpec, cur: number[], N: number): Step {
  const { c, h, w } = spatial(cur);
  const [sH, sW] = layer.scale_factor;
  const out = [c, h * sH, w * sW];
  const n = N * numel(out);
  const nearest = layer.type === 'upsample_nearest2d';
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...cur], outShape: [N, ...out], weightShape: null, biasShape: null,
      // bilinear: 4 taps, a multiply-add each; nearest: a copy forward, an add per output backward
      flops: nearest ? { forward: 0, gradInput: n, gradWeight: 0 } : { forward: 8 * n, gradInput: 8 * n, gradWeight: 0 },
      activationBytes: 4 * n,
      kernels: ['forward', 'gradInput'],
      batch: N, channels: c, inH: h, inW: w, scaleH: sH, scaleW: sW,
    },
  };
}

function planZeroPad(layer: ZeroPadSpec, cur: number[], N: number): Step {
  const { c, h, w, rank } = spatial(cur);
  // PyTorch's order: [left, right] then [top, bottom]
  const [left, right, top = 0, bottom = 0] = layer.padding;
  const pad = { top, bottom, left, right };
  const out = rank === 1 ? [c, w + left + right] : [c, h + top + bottom, w + left + right];
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...cur], outShape: [N, ...out], weightShape: null, biasShape: null,
      // copies: forward writes the frame and the input, backward crops dy
      flops: { forward: 0, gradInput: 0, gradWeight: 0 },
      activationBytes: 4 * N * numel(out),
      kernels: ['forward', 'gradInput'],
      batch: N, channels: c, inH: h, inW: w, pad,
    },
  };
}

function planBatchNorm(layer: BatchNormSpec, cur: number[], N: number, opts: PlanOptions): Step {
  const C = cur[0];
  if (layer.num_features !== undefined && layer.num_features !== C) {
    throw new ConvgenError(`${layerLabel(layer)}.num_features`, `num_features is ${layer.num_features}, but ${source(layer.inputs[0])} gives ${C} channels`, `set "num_features": ${C} or remove the key (it is inferred)`);
  }
  const spatialSize = numel(cur) / C;
  // PyTorch refuses this in training mode, the mode a model starts in:
  // "Expected more than 1 value per channel when training". An inference build runs eval mode
  // only, where running stats replace the batch's; without them eval mode uses the batch's too
  if (N * spatialSize === 1 && (!opts.inference || !layer.track_running_stats)) {
    throw new ConvgenError(
      layerLabel(layer),
      `batch norm in training mode needs more than 1 value per channel, but batch ${N} x ${spatialSize} position${spatialSize === 1 ? '' : 's'} per channel gives 1 (the batch variance of one value is 0, and its unbiased variance is undefined; PyTorch refuses it too)`,
      layer.track_running_stats ? 'use a "batch" of 2 or more, or build for inference only (convgen build --inference: eval mode, running stats)' : 'use a "batch" of 2 or more',
    );
  }
  const n = N * numel(cur);
  return {
    out: [...cur],
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...cur], outShape: [N, ...cur],
      weightShape: layer.affine ? [C] : null,
      biasShape: layer.affine ? [C] : null,
      // forward: a sum, squared deviations and the normalize-scale-shift; backward: two sums and the dx formula
      flops: { forward: 7 * n, gradInput: 6 * n, gradWeight: layer.affine ? 3 * n : 0 },
      activationBytes: 4 * n,
      kernels: layer.affine ? ['forward', 'gradInput', 'gradWeight', 'gradBias'] : ['forward', 'gradInput'],
      batch: N, channels: C, spatial: spatialSize,
      eps: layer.eps, momentum: layer.momentum, affine: layer.affine, trackRunningStats: layer.track_running_stats,
    },
  };
}

function planDropout(layer: DropoutSpec, cur: number[], N: number): Step {
  const n = N * numel(cur);
  return {
    out: [...cur],
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: 'dropout',
      inShape: [N, ...cur], outShape: [N, ...cur], weightShape: null, biasShape: null,
      flops: { forward: n, gradInput: n, gradWeight: 0 },
      activationBytes: 4 * n,
      kernels: ['forward', 'gradInput'],
      p: layer.p,
    },
  };
}

function planFlatten(layer: SimpleSpec, cur: number[], N: number): Step {
  const out = [numel(cur)];
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: 'flatten',
      inShape: [N, ...cur], outShape: [N, ...out], weightShape: null, biasShape: null,
      flops: { forward: 0, gradInput: 0, gradWeight: 0 },
      // flatten is a view of its input: it owns no memory
      activationBytes: 0,
      kernels: [],
    },
  };
}

/**
 * FLOPs per element of each activation [forward, gradInput], as src/kernels/activation.ts
 * computes it: an add, multiply, divide, comparison or exp counts one, abs and a select
 * nothing (test/activation.test.ts counts them in the kernels). gelu evaluates erf as two
 * polynomials (both run, a select picks one), silu and tanh-gelu a sigmoid
 */
const ACTIVATION_FLOPS: Record<Exclude<ActivationType, 'gelu'> | 'gelu_none' | 'gelu_tanh', [number, number]> = {
  relu: [1, 1],
  leaky_relu: [2, 2],
  relu6: [2, 2],
  elu: [4, 4],
  sigmoid: [6, 3],
  tanh: [22, 3],
  silu: [7, 11],
  gelu_none: [46, 52],
  gelu_tanh: [12, 21],
};

/** FLOPs per element [forward, gradInput] of an activation layer */
function activationFlops(layer: { type: ActivationType; approximate?: 'none' | 'tanh' }): [number, number] {
  if (layer.type === 'gelu') return layer.approximate === 'tanh' ? ACTIVATION_FLOPS.gelu_tanh : ACTIVATION_FLOPS.gelu_none;
  return ACTIVATION_FLOPS[layer.type];
}

function planActivation(layer: SimpleSpec | LeakyReluSpec | EluSpec | GeluSpec, type: ActivationType, cur: number[], N: number): Step {
  const n = N * numel(cur);
  const [fwd, bwd] = activationFlops({ type, ...(layer.type === 'gelu' ? { approximate: layer.approximate } : {}) });
  const base = {
    index: layer.index, name: layer.name, torchName: layer.torch_name,
    inShape: [N, ...cur], outShape: [N, ...cur], weightShape: null, biasShape: null,
    flops: { forward: fwd * n, gradInput: bwd * n, gradWeight: 0 },
    activationBytes: 4 * n,
    kernels: ['forward', 'gradInput'] as KernelRole[],
  };
  const out = [...cur];
  if (layer.type === 'leaky_relu') return { out, plan: { ...base, type: 'leaky_relu', negativeSlope: layer.negative_slope } };
  if (layer.type === 'elu') return { out, plan: { ...base, type: 'elu', alpha: layer.alpha } };
  if (layer.type === 'gelu') return { out, plan: { ...base, type: 'gelu', approximate: layer.approximate } };
  return { out, plan: { ...base, type: type as Exclude<ActivationType, 'leaky_relu' | 'elu' | 'gelu'> } };
}

const showShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * add: inputs of one shape, summed; concat: inputs that agree in every dim but the channels
 * (dim 0 per sample: C of [C, L] / [C, H, W], F of [F]), joined in order as torch.cat(dim=1)
 */
function planMerge(layer: MergeSpec, ins: readonly number[][], N: number): Step {
  const first = ins[0];
  ins.forEach((s, k) => {
    if (k === 0) return;
    const a = `${source(layer.inputs[0])} gives ${showShape(first)}`;
    const b = `${source(layer.inputs[k])} gives ${showShape(s)} (per sample)`;
    if (layer.type === 'add' && (s.length !== first.length || s.some((d, i) => d !== first[i]))) {
      throw new ConvgenError(
        `${layerLabel(layer)}.inputs`,
        `add sums inputs of one shape, but ${a} and ${b}`,
        'make the branches agree (a 1x1 conv2d changes the channels, a stride or a pool the size), or join channels with concat',
      );
    }
    if (layer.type === 'concat' && s.length !== first.length) {
      throw new ConvgenError(`${layerLabel(layer)}.inputs`, `concat joins inputs of one rank along the channels, but ${a} and ${b}`, 'flatten every input or none of them');
    }
    if (layer.type === 'concat' && s.some((d, i) => i > 0 && d !== first[i])) {
      throw new ConvgenError(
        `${layerLabel(layer)}.inputs`,
        `concat joins along the channels (dim 1, as torch.cat(dim=1)), so every other dimension must agree, but ${a} and ${b}`,
        'make the spatial sizes agree (pool, stride or upsample a branch), or flatten the inputs first',
      );
    }
  });
  const out = layer.type === 'add' ? [...first] : [ins.reduce((c, s) => c + s[0], 0), ...first.slice(1)];
  const n = N * numel(out);
  return {
    out,
    plan: {
      index: layer.index, name: layer.name, torchName: layer.torch_name, type: layer.type,
      inShape: [N, ...first], inShapes: ins.map((s) => [N, ...s]), outShape: [N, ...out], weightShape: null, biasShape: null,
      // add: n-1 additions per output; its backward hands dy to every input (no kernel). concat: copies
      flops: { forward: layer.type === 'add' ? (ins.length - 1) * n : 0, gradInput: 0, gradWeight: 0 },
      activationBytes: 4 * n,
      kernels: layer.type === 'add' ? ['forward'] : ['forward', 'gradInput'],
    },
  };
}

function planLayer(layer: LayerSpec, ins: readonly number[][], N: number, opts: PlanOptions): Step {
  if (layer.type === 'add' || layer.type === 'concat') return planMerge(layer, ins, N);
  const cur = ins[0];
  checkRank(layer, cur);
  switch (layer.type) {
    case 'conv1d':
    case 'conv2d':
      return planConv(layer, cur, N, opts);
    case 'conv_transpose1d':
    case 'conv_transpose2d':
      return planConvTranspose(layer, cur, N, opts);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
      return planPool(layer, cur, N);
    case 'global_maxpool':
    case 'global_avgpool':
      return planGlobalPool(layer, layer.type, cur, N);
    case 'linear':
      return planLinear(layer, cur, N);
    case 'upsample_nearest2d':
    case 'upsample_bilinear2d':
      return planUpsample(layer, cur, N);
    case 'zero_pad1d':
    case 'zero_pad2d':
      return planZeroPad(layer, cur, N);
    case 'batchnorm1d':
    case 'batchnorm2d':
      return planBatchNorm(layer, cur, N, opts);
    case 'dropout':
      return planDropout(layer, cur, N);
    case 'flatten':
      return planFlatten(layer, cur, N);
    case 'relu':
    case 'leaky_relu':
    case 'relu6':
    case 'elu':
    case 'gelu':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
      return planActivation(layer, layer.type, cur, N);
  }
}

function checkBufferSize(where: string, what: string, shape: Shape): void {
  const n = numel(shape);
  if (n > MAX_BUFFER_ELEMENTS) {
    throw new ConvgenError(where, `the ${what} [${shape.join(', ')}] has ${n} elements, more than 2^31 - 1 (buffers are indexed with 32-bit integers)`, 'reduce the batch, the channels or the spatial size');
  }
}

export function planModel(spec: ModelSpec, opts: PlanOptions = {}): ModelPlan {
  const N = spec.batch;
  checkBufferSize('input', 'input', [N, ...spec.input]);
  // per-sample shapes by what `inputs` calls them; the parser has checked every reference
  const shapes = new Map<string, number[]>([[MODEL_INPUT, [...spec.input]]]);
  let cur = [...spec.input];
  const layers: LayerPlan[] = [];
  for (const layer of spec.layers) {
    const ins = layer.inputs.map((name) => {
      const s = shapes.get(name);
      if (!s) throw new Error(`plan: ${layerLabel(layer)} reads "${name}", which is not above it`);
      return s;
    });
    const step = planLayer(layer, ins, N, opts);
    checkBufferSize(layerLabel(layer), 'output', step.plan.outShape);
    if (step.plan.weightShape) checkBufferSize(layerLabel(layer), 'weight', step.plan.weightShape);
    layers.push({ ...step.plan, inputs: [...layer.inputs] } as LayerPlan);
    cur = step.out;
    shapes.set(layer.name, cur);
  }
  // mse and bce_with_logits take any output shape (a target of the same shape); softmax needs classes
  if (spec.loss === 'softmax_cross_entropy') {
    if (cur.length !== 1) {
      throw new ConvgenError(
        'loss',
        `softmax_cross_entropy needs a vector of class scores per sample, but the model's output is [${cur.join(', ')}] per sample`,
        'end the model with flatten + linear, use "mse" or "bce_with_logits" for a loss over every output element, or remove "loss"',
      );
    }
    if (cur[0] < 2) {
      throw new ConvgenError('loss', `softmax_cross_entropy needs at least 2 classes, but the model's output has ${cur[0]}`, 'give the last layer 2 or more outputs');
    }
  }
  // softmax over dim 1 needs dim 1 to be the classes: a vector per sample
  if (spec.output_softmax && cur.length !== 1) {
    throw new ConvgenError(
      'output_softmax',
      `output_softmax needs a vector of class scores per sample, but the model's output is [${cur.join(', ')}] per sample`,
      'end the model with flatten + linear (or global pooling and flatten), or remove "output_softmax"',
    );
  }
  let params = 0;
  let flopsForward = 0;
  let flopsBackward = 0;
  let activationBytes = 0;
  for (const l of layers) {
    params += (l.weightShape ? numel(l.weightShape) : 0) + (l.biasShape ? numel(l.biasShape) : 0);
    flopsForward += l.flops.forward;
    flopsBackward += l.flops.gradInput + l.flops.gradWeight;
    activationBytes += l.activationBytes;
  }
  return {
    name: spec.name,
    batch: N,
    inShape: [N, ...spec.input],
    outShape: [N, ...cur],
    layers,
    loss: spec.loss ?? null,
    ...(spec.output_softmax ? { outputSoftmax: true as const } : {}),
    totals: { params, flopsForward, flopsBackward, activationBytes },
    ...(opts.inference ? { inference: true as const } : {}),
  };
}
