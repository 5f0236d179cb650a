// The shared table of test cases. Every target (the float64 reference, generated TS kernels,
// WGSL kernels) iterates over CASES and is asserted close to the reference on each one.
// A case is a small model.json object named by its config (`conv2d x=[2,3,9,7] co=4 k=3 s=2 p=1 d=2 g=1`),
// planned through the real front end: model.json -> parseModel -> planModel.
//
// Keep cases small: the whole table runs through finite differences in float64.

import { parseModel } from '../src/spec/parse.ts';
import { planModel, type PlanOptions } from '../src/plan/plan.ts';
import type { LayerType } from '../src/spec/types.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type LayerJson = { type: LayerType } & { [k: string]: Json };
export interface ModelJson {
  name: string;
  batch: number;
  input: number[];
  layers: LayerJson[];
  loss?: 'softmax_cross_entropy';
  output_softmax?: boolean;
}

export interface TestCase {
  /** unique, built from the config; use it as the test title */
  name: string;
  /** the layer kinds under test (a few-layer case lists each kind once) */
  kinds: LayerType[];
  /** a model.json object; parseModel accepts it */
  model: ModelJson;
  /**
   * 'ties': draw the input from {0, 1, 2} so max windows hold equal values (the first
   * maximum must win); 'wide': uniform in [-8, 8), through an activation's tails and kinks
   * (relu6's 6, erf's split at |x| = sqrt 2); otherwise uniform in [-1, 1)
   */
  input?: 'ties' | 'wide';
  /** the WGSL target's limits for this case (a linear weight over a binding is split: src/gpu/split.ts); others: the defaults */
  gpuLimits?: { maxStorageBufferBindingSize: number };
}

// ---- naming ---------------------------------------------------------------------------

type PerDim = number | number[];
const show = (v: Json | undefined): string => (Array.isArray(v) ? `[${v.join(',')}]` : String(v));

/** `key=value` for the keys a case sets, in the order given; absent keys print their default */
function describe(layer: LayerJson, keys: [key: string, label: string, dflt: Json][]): string {
  return keys.map(([key, label, dflt]) => `${label}=${show(layer[key] ?? dflt)}`).join(' ');
}

// ---- builders -------------------------------------------------------------------------

let serial = 0;
function model(batch: number, input: number[], layers: LayerJson[], loss?: 'softmax_cross_entropy'): ModelJson {
  // model names must be safe identifiers; the case title carries the config
  const m: ModelJson = { name: `case${serial++}_${layers[0].type}`, batch, input, layers };
  if (loss) m.loss = loss;
  return m;
}

function single(x: number[], layer: LayerJson, detail: string, input?: 'ties' | 'wide'): TestCase {
  const c: TestCase = {
    name: `${layer.type} x=[${x.join(',')}]${detail ? ' ' + detail : ''}`,
    kinds: [layer.type],
    model: model(x[0], x.slice(1), [layer]),
  };
  if (input) c.input = input;
  return c;
}

interface ConvOpts {
  co: number;
  k: PerDim;
  s?: PerDim;
  p?: PerDim | 'same' | 'valid';
  d?: PerDim;
  g?: number;
  bias?: boolean;
}

function conv(type: 'conv1d' | 'conv2d', x: number[], o: ConvOpts): TestCase {
  const layer: LayerJson = { type, out_channels: o.co, kernel: o.k };
  if (o.s !== undefined) layer.stride = o.s;
  if (o.p !== undefined) layer.padding = o.p;
  if (o.d !== undefined) layer.dilation = o.d;
  if (o.g !== undefined) layer.groups = o.g;
  if (o.bias === false) layer.bias = false;
  const detail = describe(layer, [['out_channels', 'co', 0], ['kernel', 'k', 0], ['stride', 's', 1], ['padding', 'p', 0], ['dilation', 'd', 1], ['groups', 'g', 1]]);
  return single(x, layer, detail + (o.bias === false ? ' nobias' : ''));
}

function convT(x: number[], o: ConvOpts & { op?: PerDim }): TestCase {
  const layer: LayerJson = { type: x.length === 3 ? 'conv_transpose1d' : 'conv_transpose2d', out_channels: o.co, kernel: o.k };
  if (o.s !== undefined) layer.stride = o.s;
  if (o.p !== undefined) layer.padding = o.p;
  if (o.op !== undefined) layer.output_padding = o.op;
  if (o.d !== undefined) layer.dilation = o.d;
  if (o.g !== undefined) layer.groups = o.g;
  if (o.bias === false) layer.bias = false;
  const detail = describe(layer, [['out_channels', 'co', 0], ['kernel', 'k', 0], ['stride', 's', 1], ['padding', 'p', 0], ['output_padding', 'op', 0], ['dilation', 'd', 1], ['groups', 'g', 1]]);
  return single(x, layer, detail + (o.bias === false ? ' nobias' : ''));
}

function pool(type: 'maxpool1d' | 'maxpool2d' | 'avgpool1d' | 'avgpool2d', x: number[], o: { k: PerDim; s?: PerDim; p?: PerDim; countIncludePad?: boolean }, input?: 'ties'): TestCase {
  const layer: LayerJson = { type, kernel: o.k };
  if (o.s !== undefined) layer.stride = o.s;
  if (o.p !== undefined) layer.padding = o.p;
  if (o.countIncludePad !== undefined) layer.count_include_pad = o.countIncludePad;
  let detail = describe(layer, [['kernel', 'k', 0], ['stride', 's', o.k], ['padding', 'p', 0]]);
  if (o.countIncludePad !== undefined) detail += ` count_include_pad=${o.countIncludePad}`;
  if (input) detail += ' ties';
  return single(x, layer, detail, input);
}

function plain(type: 'relu' | 'flatten' | 'global_maxpool' | 'global_avgpool', x: number[], input?: 'ties'): TestCase {
  return single(x, { type }, input ? 'ties' : '', input);
}

function linear(x: number[], outFeatures: number, bias = true): TestCase {
  // linear needs a vector per sample and model inputs are [C, L] or [C, H, W]: flatten first
  return {
    name: `linear x=[${x.join(',')}] out=${outFeatures}${bias ? '' : ' nobias'}`,
    kinds: ['flatten', 'linear'],
    model: model(x[0], x.slice(1), [{ type: 'flatten' }, { type: 'linear', out_features: outFeatures, bias }]),
  };
}

/** a linear whose weight the WGSL target splits into blocks of rows, at a binding of `bytes` */
function linearSplit(x: number[], outFeatures: number, bytes: number, bias = true): TestCase {
  const c = linear(x, outFeatures, bias);
  return { ...c, name: `${c.name} wgsl-binding=${bytes}`, model: { ...c.model, name: `${c.model.name}_split` }, gpuLimits: { maxStorageBufferBindingSize: bytes } };
}

function upsample(x: number[], scale: PerDim, mode: 'nearest' | 'bilinear' = 'bilinear'): TestCase {
  return single(x, { type: `upsample_${mode}2d`, scale_factor: scale }, `scale=${show(scale)}`);
}

function zeroPad(x: number[], padding: PerDim): TestCase {
  return single(x, { type: x.length === 3 ? 'zero_pad1d' : 'zero_pad2d', padding }, `pad=${show(padding)}`);
}

/** an activation with the keys PyTorch's module takes (negative_slope, alpha, approximate) */
function act(type: 'leaky_relu' | 'relu6' | 'elu' | 'gelu' | 'silu' | 'sigmoid' | 'tanh', x: number[], keys: { [k: string]: Json } = {}, input?: 'wide'): TestCase {
  const detail = Object.entries(keys).map(([k, v]) => `${k}=${show(v)}`);
  if (input) detail.push(input);
  return single(x, { type, ...keys }, detail.join(' '), input);
}

/** a layer that reads the model's input `times` times (add: times x, concat: the channels repeated) */
function merge(type: 'add' | 'concat', x: number[], times: number): TestCase {
  return single(x, { type, inputs: Array<Json>(times).fill('input') }, `inputs=input x${times}`);
}

function batchnorm(type: 'batchnorm1d' | 'batchnorm2d', x: number[], keys: { [k: string]: Json } = {}): TestCase {
  const layer: LayerJson = { type, ...keys };
  return single(x, layer, Object.entries(keys).map(([k, v]) => `${k}=${show(v)}`).join(' '));
}

function dropout(x: number[], p: number): TestCase {
  return single(x, { type: 'dropout', p }, `p=${p}`);
}

function stack(name: string, batch: number, input: number[], layers: LayerJson[], loss?: 'softmax_cross_entropy'): TestCase {
  const kinds = [...new Set(layers.map((l) => l.type))];
  return { name: `${name} x=[${[batch, ...input].join(',')}]`, kinds, model: model(batch, input, layers, loss) };
}

// ---- the table ------------------------------------------------------------------------

export const CASES: readonly TestCase[] = [
  // conv2d
  conv('conv2d', [2, 3, 9, 7], { co: 4, k: 3, s: 2, p: 1, d: 2 }),
  conv('conv2d', [1, 2, 5, 5], { co: 3, k: 3, p: 'same' }),
  conv('conv2d', [2, 3, 6, 5], { co: 2, k: [2, 4], p: 'same' }), // even kernels: the extra pad goes at the end
  conv('conv2d', [1, 2, 7, 6], { co: 3, k: 3, s: 2, p: 'same' }), // TF-style asymmetric "same" at stride 2
  conv('conv2d', [1, 5, 4, 6], { co: 3, k: 1 }),
  conv('conv2d', [2, 3, 5, 4], { co: 2, k: [5, 4] }), // kernel as large as the input: 1x1 output
  conv('conv2d', [7, 2, 5, 5], { co: 3, k: 3, p: 1 }),
  conv('conv2d', [2, 4, 6, 5], { co: 6, k: 3, g: 2 }),
  conv('conv2d', [1, 3, 5, 6], { co: 3, k: 3, p: 1, g: 3 }), // depthwise
  conv('conv2d', [2, 3, 4, 5], { co: 6, k: [3, 2], g: 3, bias: false }), // depthwise, multiplier 2
  conv('conv2d', [1, 2, 9, 8], { co: 2, k: 2, s: 3 }), // stride larger than the kernel
  conv('conv2d', [2, 3, 7, 6], { co: 2, k: [3, 2], s: [2, 1], p: [1, 0], d: [1, 2] }),
  conv('conv2d', [2, 7, 4, 4], { co: 5, k: 3, p: 'valid', bias: false }),
  // the wasm target's packed gather (f32x4 over output channels, blocks of 8): a full block and
  // a 5-channel remainder (one vector + one scalar lane) at stride 2 and dilation 2, where
  // input columns are not contiguous; groups with 6 and 4 channels per group
  conv('conv2d', [1, 5, 6, 7], { co: 13, k: 3, s: 2, p: 1, d: 2 }),
  conv('conv2d', [1, 8, 5, 4], { co: 12, k: 3, p: 1, g: 2, bias: false }),
  // its kernel rows fused for 1-3 input channels: border rows at constant rows (only the kernel
  // rows inside the input), edge columns over unchecked interior rows; at stride 2 and dilation
  // 2; and padding wider than the kernel (a border row that no kernel row reaches: bias only)
  conv('conv2d', [2, 1, 9, 10], { co: 8, k: 5, p: 2 }),
  conv('conv2d', [1, 2, 9, 7], { co: 6, k: 3, s: 2, p: 2, d: 2 }),
  conv('conv2d', [1, 3, 3, 5], { co: 5, k: 2, p: 2 }),
  // interior columns that 5 divides and 4 does not: blocks of 5 columns (evenWidth), no tail
  conv('conv2d', [1, 5, 7, 12], { co: 6, k: 3, p: 1 }),
  conv('conv2d', [2, 4, 7, 22], { co: 5, k: 3, s: 2, p: 1 }),
  // the wasm target's packed grad-weight (dwPackedBlock: 16 output channels x a kernel row's taps,
  // at most 3): a full block and a 4-channel remainder, one input channel per block (k3: [16, 1, 3]);
  // 16 channels of a 1-channel input, the 5-tap kernel rows as 3 + 2 taps
  conv('conv2d', [1, 6, 5, 4], { co: 20, k: 3, p: 1 }),
  conv('conv2d', [2, 1, 7, 6], { co: 16, k: 5, p: 2 }),
  // conv1d
  conv('conv1d', [2, 3, 11], { co: 4, k: 3, s: 2, p: 1, d: 2 }),
  conv('conv1d', [1, 4, 8], { co: 2, k: 4, p: 'same' }),
  conv('conv1d', [7, 2, 6], { co: 3, k: 1 }),
  conv('conv1d', [2, 4, 9], { co: 4, k: 3, g: 4, bias: false }), // depthwise
  conv('conv1d', [1, 2, 5], { co: 2, k: 5 }), // kernel as long as the input
  conv('conv1d', [1, 3, 10], { co: 2, k: 2, s: 3, p: 'same' }),
  conv('conv1d', [2, 6, 9], { co: 9, k: 3, s: 2, p: 1 }), // packed gather: 8 + 1 channels, stride 2
  // conv_transpose2d
  convT([2, 3, 4, 3], { co: 2, k: 3, s: 2, p: 1, op: 1 }),
  convT([1, 2, 3, 3], { co: 4, k: [2, 3], s: [2, 1], op: [1, 0] }),
  convT([1, 2, 3, 4], { co: 3, k: 3, d: 2, p: 1, op: 1 }), // output_padding < dilation
  convT([2, 4, 3, 3], { co: 6, k: 3, s: 2, p: 1, op: 1, g: 2 }),
  convT([1, 3, 3, 3], { co: 3, k: 2, s: 2, g: 3, bias: false }), // depthwise
  convT([7, 2, 2, 2], { co: 3, k: 4, s: 2, p: 1 }), // DCGAN-style
  convT([1, 2, 3, 2], { co: 2, k: 1, s: 3, op: 2 }), // stride larger than the kernel
  convT([2, 5, 3, 3], { co: 7, k: [3, 2], s: [1, 2], p: [1, 0], bias: false }),
  convT([1, 9, 3, 4], { co: 6, k: 3, s: 2, p: 1, op: 1 }), // packed gathers: forward 6 channels (4 + 2), grad-input 9 (8 + 1), by stride phase
  // conv_transpose1d: conv_transpose2d's kernels with H = 1
  convT([2, 3, 4], { co: 2, k: 3, s: 2, p: 1, op: 1 }),
  convT([1, 4, 5], { co: 6, k: 3, s: 2, p: 1, op: 1, g: 2 }),
  convT([1, 2, 3], { co: 3, k: 3, d: 2, p: 1, op: 1 }), // output_padding < dilation
  convT([2, 3, 4], { co: 3, k: 4, s: 2, p: 1, bias: false }),
  convT([1, 3, 4], { co: 3, k: 2, s: 3, op: 2, g: 3 }), // depthwise, stride larger than the kernel
  // max pools
  pool('maxpool2d', [2, 3, 6, 6], { k: 2 }),
  pool('maxpool2d', [1, 2, 7, 5], { k: 3, s: 2, p: 1 }),
  pool('maxpool2d', [1, 3, 5, 7], { k: [2, 3], s: [1, 2] }),
  pool('maxpool2d', [1, 2, 8, 8], { k: 2, s: 3 }), // stride larger than the window
  pool('maxpool2d', [7, 1, 4, 4], { k: 2 }),
  pool('maxpool2d', [2, 3, 6, 5], { k: 3, s: 1, p: 1 }, 'ties'),
  pool('maxpool1d', [2, 3, 9], { k: 3 }),
  pool('maxpool1d', [1, 2, 10], { k: 4, s: 2, p: 2 }),
  pool('maxpool1d', [7, 5, 6], { k: 2 }),
  pool('maxpool1d', [2, 3, 11], { k: 3, s: 2, p: 1 }, 'ties'),
  // average pools
  pool('avgpool2d', [2, 3, 6, 6], { k: 2 }),
  pool('avgpool2d', [1, 2, 7, 5], { k: 3, s: 2, p: 1 }),
  pool('avgpool2d', [1, 2, 7, 5], { k: 3, s: 2, p: 1, countIncludePad: false }),
  pool('avgpool2d', [2, 3, 5, 4], { k: [3, 2], s: [1, 2], p: [1, 1], countIncludePad: false }),
  pool('avgpool1d', [2, 3, 9], { k: 3 }),
  pool('avgpool1d', [1, 2, 10], { k: 4, s: 2, p: 2 }),
  pool('avgpool1d', [2, 3, 11], { k: 3, s: 2, p: 1, countIncludePad: false }),
  pool('avgpool1d', [7, 2, 5], { k: 2, s: 3 }), // stride larger than the window
  // global pools
  plain('global_maxpool', [2, 3, 5, 4]),
  plain('global_maxpool', [2, 3, 7]),
  plain('global_maxpool', [1, 5, 3, 3], 'ties'),
  plain('global_avgpool', [2, 3, 5, 4]),
  plain('global_avgpool', [7, 5, 3, 3]),
  plain('global_avgpool', [1, 3, 6]),
  // elementwise and reshape
  plain('relu', [2, 3, 4, 5]),
  plain('relu', [1, 3, 7]),
  act('leaky_relu', [2, 3, 4, 5]),
  act('leaky_relu', [1, 3, 7], { negative_slope: 0.2 }, 'wide'),
  act('leaky_relu', [2, 2, 3], { negative_slope: -1.5 }),
  act('relu6', [2, 3, 4, 5], {}, 'wide'),
  act('relu6', [1, 3, 7], {}, 'wide'),
  act('elu', [2, 3, 4, 5]),
  act('elu', [1, 3, 7], { alpha: 0.5 }, 'wide'),
  act('elu', [2, 2, 3], { alpha: -2 }),
  act('gelu', [2, 3, 4, 5]),
  act('gelu', [2, 3, 4, 5], {}, 'wide'),
  act('gelu', [1, 3, 7], { approximate: 'tanh' }),
  act('gelu', [2, 3, 7], { approximate: 'tanh' }, 'wide'),
  act('silu', [2, 3, 4, 5], {}, 'wide'),
  act('silu', [1, 3, 7]),
  act('sigmoid', [2, 3, 4, 5], {}, 'wide'),
  act('sigmoid', [1, 3, 7]),
  act('tanh', [2, 3, 4, 5], {}, 'wide'),
  act('tanh', [1, 3, 7]),
  plain('flatten', [2, 3, 2, 3]),
  // linear
  linear([2, 3, 4], 5),
  linear([7, 2, 3, 1], 3, false),
  linear([1, 1, 1], 1),
  // batch >= 4: the wasm forward packs W into column panels (plan/schedule.ts scheduleLinear);
  // odd I, O not a multiple of the 8-wide panel (a padded last panel), O under one panel
  linear([5, 3, 3], 19),
  linear([9, 7, 1], 21, false),
  linear([4, 3, 1], 6),
  // 64 floats a row, 64 rows a binding: blocks of 4, 4 and 2 rows (the last one shorter); dx summed over blocks
  linearSplit([2, 4, 16], 10, 1024),
  linearSplit([3, 4, 16], 7, 1024, false),
  // bilinear upsampling
  upsample([1, 1, 2, 2], 2),
  upsample([2, 3, 3, 4], [2, 3]),
  upsample([1, 2, 1, 5], 3),
  // batch norm: per-channel statistics over batch x positions (one chunk, several, a short last one)
  batchnorm('batchnorm2d', [2, 3, 4, 5]),
  batchnorm('batchnorm2d', [3, 2, 3, 3], { momentum: null, eps: 0.001 }),
  batchnorm('batchnorm2d', [1, 4, 3, 3], { affine: false }), // one sample, nine positions
  batchnorm('batchnorm2d', [2, 2, 17, 16]), // 272 positions: two chunks, the last of 16
  batchnorm('batchnorm1d', [4, 3, 5], { momentum: 0.3 }),
  batchnorm('batchnorm1d', [3, 2, 4], { track_running_stats: false }),
  stack('batchnorm1d on features', 6, [4, 1], [{ type: 'flatten' }, { type: 'batchnorm1d' }]),
  // dropout: masks from the model's stream
  dropout([2, 3, 4, 5], 0.5),
  dropout([3, 7, 9], 0.2),
  dropout([2, 2, 3], 0),
  // nearest upsampling
  upsample([1, 1, 2, 2], 2, 'nearest'),
  upsample([2, 3, 3, 4], [2, 3], 'nearest'),
  upsample([1, 2, 1, 5], [1, 3], 'nearest'),
  upsample([1, 1, 2, 2], [5, 4], 'nearest'), // a block of 20: rolled loops
  // zero padding: PyTorch's side order [left, right, top, bottom]
  zeroPad([2, 2, 3, 4], [1, 0, 1, 0]),
  zeroPad([1, 3, 2, 2], 2),
  zeroPad([1, 2, 1, 3], [0, 0, 2, 1]),
  zeroPad([1, 1, 2, 3], 0),
  zeroPad([2, 3, 5], [0, 2]),
  zeroPad([1, 2, 4], 1),
  // what the ONNX import writes for an asymmetric pad before a conv
  stack('zero_pad2d then conv2d', 2, [2, 4, 4], [
    { type: 'zero_pad2d', padding: [1, 0, 1, 0] },
    { type: 'conv2d', out_channels: 3, kernel: 2, stride: 2 },
    { type: 'relu' },
    { type: 'zero_pad2d', padding: [0, 2, 1, 0] },
  ]),
  // a few layers together
  stack('seed_problem', 1, [1, 4, 4], [
    { type: 'conv2d', name: 'conv', out_channels: 2, kernel: 3, bias: false },
    { type: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'flatten' },
    { type: 'linear', name: 'fc', out_features: 2, bias: false },
  ], 'softmax_cross_entropy'),
  stack('tiny_lenet', 3, [1, 8, 8], [
    { type: 'conv2d', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'conv2d', out_channels: 4, kernel: 3 },
    { type: 'relu' },
    { type: 'global_avgpool' },
    { type: 'flatten' },
    { type: 'linear', out_features: 3 },
  ], 'softmax_cross_entropy'),
  stack('tiny_decoder', 2, [3, 2, 2], [
    { type: 'conv_transpose2d', out_channels: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1 },
    { type: 'relu' },
    { type: 'upsample_bilinear2d', scale_factor: 2 },
    { type: 'conv2d', out_channels: 2, kernel: 3, padding: 'same' },
    { type: 'avgpool2d', kernel: 2 },
  ]),
  // graphs (layers read what their `inputs` name): a layer on its own reads the model's input
  // several times; the models branch and join
  merge('add', [2, 3, 4, 5], 2),
  merge('add', [1, 2, 3], 9), // more terms than one kernel binds: a sum split in two
  merge('concat', [2, 2, 3, 3], 3),
  merge('concat', [3, 2, 4], 2),
  stack('residual_block', 2, [2, 6, 6], [
    { type: 'conv2d', name: 'stem', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'relu', name: 'block_in' },
    { type: 'conv2d', name: 'conv_a', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'relu' },
    { type: 'conv2d', name: 'conv_b', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'add', name: 'skip', inputs: ['conv_b', 'block_in'] },
    { type: 'relu' },
    { type: 'global_avgpool' },
    { type: 'flatten' },
    { type: 'linear', out_features: 3 },
  ], 'softmax_cross_entropy'),
  stack('concat_branches', 2, [2, 5, 4], [
    { type: 'conv2d', name: 'wide', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'conv2d', name: 'narrow', inputs: ['input'], out_channels: 1, kernel: 1, bias: false },
    { type: 'maxpool2d', name: 'pooled', inputs: ['input'], kernel: 3, stride: 1, padding: 1 },
    { type: 'concat', name: 'cat', inputs: ['wide', 'narrow', 'pooled'] },
    { type: 'conv2d', out_channels: 2, kernel: 3, stride: 2 },
  ]),
  stack('read_three_times', 3, [1, 4, 4], [
    { type: 'conv2d', name: 'stem', out_channels: 2, kernel: 3, padding: 1 },
    { type: 'relu', name: 'r' },
    { type: 'conv2d', name: 'c1', out_channels: 2, kernel: 1 },
    { type: 'conv2d', name: 'c3', inputs: ['r'], out_channels: 2, kernel: 3, padding: 1 },
    { type: 'add', name: 'sum3', inputs: ['c1', 'c3', 'r'] },
    { type: 'flatten' },
    { type: 'linear', out_features: 2 },
  ], 'softmax_cross_entropy'),
  stack('dead_end_branch', 2, [2, 3, 3], [
    { type: 'relu', name: 'no_params' },
    { type: 'maxpool2d', kernel: 3, stride: 1, padding: 1 },
    { type: 'conv2d', name: 'learns', inputs: ['input'], out_channels: 2, kernel: 3, padding: 1 },
    { type: 'add', inputs: ['maxpool2d1', 'learns'] },
    { type: 'flatten' },
    { type: 'linear', out_features: 2 },
  ], 'softmax_cross_entropy'),
  stack('features_1d', 3, [2, 8], [
    { type: 'conv1d', name: 'a', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'conv1d', name: 'b', inputs: ['input'], out_channels: 1, kernel: 1 },
    { type: 'concat', inputs: ['a', 'b'] },
    { type: 'relu' },
    { type: 'flatten', name: 'f' },
    { type: 'linear', name: 'l1', out_features: 3 },
    { type: 'linear', name: 'l2', inputs: ['f'], out_features: 2, bias: false },
    { type: 'concat', name: 'features', inputs: ['l1', 'l2', 'f'] },
    { type: 'linear', out_features: 3 },
  ], 'softmax_cross_entropy'),
  // batch norm and dropout inside graphs: ordinary one-input layers on a branch, in both modes
  stack('bn_residual_block', 2, [2, 6, 6], [
    { type: 'conv2d', name: 'stem', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'relu', name: 'block_in' },
    { type: 'conv2d', name: 'conv_a', out_channels: 3, kernel: 3, padding: 1, bias: false },
    { type: 'batchnorm2d', name: 'bn_a' },
    { type: 'relu' },
    { type: 'conv2d', name: 'conv_b', out_channels: 3, kernel: 3, padding: 1, bias: false },
    { type: 'batchnorm2d', name: 'bn_b', momentum: null },
    { type: 'add', name: 'skip', inputs: ['bn_b', 'block_in'] },
    { type: 'relu' },
    { type: 'global_avgpool' },
    { type: 'flatten' },
    { type: 'linear', out_features: 3 },
  ], 'softmax_cross_entropy'),
  // dropout on one branch, its output read twice (its dy is a sum), its input read again by the concat
  stack('dropout_branch', 2, [2, 5, 5], [
    { type: 'conv2d', name: 'stem', out_channels: 2, kernel: 3, padding: 1 },
    { type: 'relu', name: 'r' },
    { type: 'dropout', name: 'drop', p: 0.4 },
    { type: 'conv2d', name: 'c_a', out_channels: 2, kernel: 1 },
    { type: 'conv2d', name: 'c_b', inputs: ['drop'], out_channels: 1, kernel: 3, padding: 1 },
    { type: 'concat', name: 'cat', inputs: ['c_a', 'c_b', 'r'] },
    { type: 'flatten' },
    { type: 'linear', out_features: 3 },
  ], 'softmax_cross_entropy'),
  // no loss: backward's dx is the sum over a batch norm and a conv reading the input, a dropout between
  stack('bn_dropout_on_input', 3, [2, 6], [
    { type: 'batchnorm1d', name: 'bn', inputs: ['input'] },
    { type: 'dropout', name: 'drop', p: 0.5 },
    { type: 'conv1d', name: 'c', inputs: ['input'], out_channels: 2, kernel: 3, padding: 1 },
    { type: 'add', inputs: ['drop', 'c'] },
  ]),
  stack('tiny_1d', 2, [2, 12], [
    { type: 'conv1d', out_channels: 3, kernel: 5, padding: 'same' },
    { type: 'relu' },
    { type: 'maxpool1d', kernel: 2 },
    { type: 'conv1d', out_channels: 4, kernel: 3, stride: 2 },
    { type: 'global_maxpool' },
    { type: 'flatten' },
    { type: 'linear', out_features: 2 },
  ], 'softmax_cross_entropy'),
  stack('tiny_bn_cnn', 4, [2, 6, 6], [
    { type: 'conv2d', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'batchnorm2d' },
    { type: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'flatten' },
    { type: 'linear', out_features: 5 },
    { type: 'batchnorm1d', momentum: null },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out_features: 3 },
  ], 'softmax_cross_entropy'),
  stack('tiny_1d_decoder', 2, [2, 10], [
    { type: 'conv1d', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'gelu' },
    { type: 'avgpool1d', kernel: 2 },
    { type: 'conv_transpose1d', out_channels: 2, kernel: 4, stride: 2, padding: 1 },
    { type: 'elu', alpha: 0.5 },
    { type: 'conv1d', out_channels: 2, kernel: 3, padding: 'same' },
    { type: 'tanh' },
  ]),
  stack('tiny_acts_2d', 2, [2, 3, 3], [
    { type: 'conv2d', out_channels: 3, kernel: 3, padding: 1 },
    { type: 'leaky_relu', negative_slope: 0.1 },
    { type: 'upsample_nearest2d', scale_factor: 2 },
    { type: 'conv2d', out_channels: 4, kernel: 3 },
    { type: 'silu' },
    { type: 'global_avgpool' },
    { type: 'flatten' },
    { type: 'linear', out_features: 3 },
    { type: 'gelu', approximate: 'tanh' },
    { type: 'linear', out_features: 2 },
    { type: 'sigmoid' },
    { type: 'relu6' },
    { type: 'linear', out_features: 2 },
  ], 'softmax_cross_entropy'),
  // model.json's output_softmax: eval-mode forward returns softmax over the 5 classes
  outputSoftmax(stack('softmax_out', 3, [2, 6], [
    { type: 'conv1d', out_channels: 3, kernel: 3 },
    { type: 'relu' },
    { type: 'flatten' },
    { type: 'linear', out_features: 5 },
  ], 'softmax_cross_entropy')),
];

function outputSoftmax(c: TestCase): TestCase {
  return { ...c, name: `${c.name} output_softmax`, model: { ...c.model, output_softmax: true } };
}

/** parse and plan a case through the real front end */
export function planCase(c: TestCase, opts: PlanOptions = {}): ModelPlan {
  return planModel(parseModel(c.model), opts);
}

// ---- seeded data ----------------------------------------------------------------------

/** mulberry32: a small, fast, seeded PRNG; returns floats in [0, 1) */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n floats uniform in [-1, 1) */
export function randomArray(n: number, rng: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng() - 1;
  return a;
}

/** the scale of a 'wide' case's input: uniform in [-WIDE, WIDE) */
export const WIDE = 8;

/** the input of a case: uniform in [-1, 1) (or [-8, 8) for 'wide'), or values from {0, 1, 2} for a 'ties' case */
export function caseInput(c: TestCase, plan: ModelPlan, rng: () => number): Float64Array {
  const n = numel(plan.inShape);
  if (c.input === 'wide') return randomArray(n, rng).map((v) => WIDE * v);
  if (c.input !== 'ties') return randomArray(n, rng);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(3 * rng());
  return a;
}

/** parameters for every layer that has any, keyed by layer name, uniform in [-1, 1) scaled by 1/sqrt(fan-in) */
export function randomParams(plan: ModelPlan, rng: () => number): Record<string, { weight?: Float64Array; bias?: Float64Array }> {
  const params: Record<string, { weight?: Float64Array; bias?: Float64Array }> = {};
  for (const l of plan.layers) {
    if (!l.weightShape) continue;
    // conv / linear: fan-in is every weight dim but the first; conv_transpose: the same formula as PyTorch's init
    const fanIn = numel(l.weightShape) / l.weightShape[0];
    const scale = 1 / Math.sqrt(fanIn);
    const weight = randomArray(numel(l.weightShape), rng).map((v) => v * scale);
    params[l.name] = l.biasShape ? { weight, bias: randomArray(numel(l.biasShape), rng).map((v) => v * scale) } : { weight };
  }
  return params;
}

/**
 * the data every target runs a case on, deterministic per case: the input, parameters
 * (keyed by layer name), an output gradient, and labels when the model has a loss
 */
export function caseData(c: TestCase, seed = 1): {
  plan: ModelPlan;
  x: Float64Array;
  params: Record<string, { weight?: Float64Array; bias?: Float64Array }>;
  dy: Float64Array;
  labels: Int32Array | null;
} {
  const plan = planCase(c);
  const rng = mulberry32(seed);
  const x = caseInput(c, plan, rng);
  const params = randomParams(plan, rng);
  const dy = randomArray(numel(plan.outShape), rng);
  const labels = plan.loss ? randomLabels(plan, rng) : null;
  return { plan, x, params, dy, labels };
}

/** labels in [0, classes) for a case with a loss */
export function randomLabels(plan: ModelPlan, rng: () => number): Int32Array {
  const classes = plan.outShape[plan.outShape.length - 1];
  const labels = new Int32Array(plan.batch);
  for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(rng() * classes);
  return labels;
}

/**
 * the seed's worked problem (examples/seed_branches.json): x[1,1] = x[2,2] = 1; w1[1,0] = -1,
 * w1[1,1] = 1; w2[2,1] = -1, w2[1,1] = 1 (row-major 3x3); W = identity; y = 2, class index 1
 */
export const SEED_BRANCHES = {
  x: Float32Array.from({ length: 16 }, (_, i) => (i === 5 || i === 10 ? 1 : 0)),
  labels: Int32Array.from([1]),
  w1: Float32Array.from([0, 0, 0, -1, 1, 0, 0, 0, 0]),
  w2: Float32Array.from([0, 0, 0, 0, 1, 0, 0, -1, 0]),
  fc: Float32Array.from([1, 0, 0, 1]),
  /** what PyTorch 1.13 gives for conv1's weight gradient; conv2's is its negative */
  gradW1: [0, 0, 0, 0, 0.5, 0, 0, 0, 0.5],
};
