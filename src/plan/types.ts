// The plan: plain, readonly, JSON-serializable data. No closures, no classes.
// Both the code generator and the reference interpreter read it; nothing else is
// shared between them.
//
// Every spatial layer is planned as 2D: a 1D layer (conv1d, maxpool1d, any layer on a
// [C, L] input) has H = 1 and a 1-tall kernel, so one geometry serves both. The
// user-facing shapes (`inShape`, `outShape`) keep the true rank.

import type { ActivationType, LayerType, LossKind, StrategyName } from '../spec/types.ts';

/** a full shape including the batch dim, NCHW / NCL / NF */
export type Shape = readonly number[];

/** resolved padding, four sides, in input pixels (PyTorch adds the extra of an odd "same" at the end) */
export interface Pad4 {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** the geometry of a conv-like op, normalized to 2D */
export interface ConvGeometry {
  readonly batch: number;
  /** total channels (not per group); a group sees inC/groups inputs and outC/groups outputs */
  readonly inC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outC: number;
  readonly outH: number;
  readonly outW: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly pad: Pad4;
  readonly groups: number;
}

/**
 * the geometry of conv_transpose1d/2d (1D: H = 1), described as the layer itself sees it: `in*` is the
 * layer's input, `out*` its output, `pad` the PyTorch `padding` (cropped from the full
 * output), and `outputPad*` the extra rows/columns PyTorch adds at the bottom/right.
 * It is the adjoint of a conv from `out*` to `in*` with the same kernel/stride/pad/dilation.
 */
export interface ConvTransposeGeometry extends ConvGeometry {
  readonly outputPadH: number;
  readonly outputPadW: number;
}

/** pooling window geometry, normalized to 2D */
export interface PoolGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  /** symmetric, as PyTorch's pools (padded cells are -inf for max, 0 for avg) */
  readonly padH: number;
  readonly padW: number;
}

/** which kernels a layer needs; the code generator emits exactly these */
export type KernelRole = 'forward' | 'gradInput' | 'gradWeight' | 'gradBias';

/** the conv strategy picked per kernel (after resolving `auto` with the cost model) */
export interface ConvSchedule {
  readonly forward: StrategyName;
  readonly gradInput: StrategyName;
  readonly gradWeight: StrategyName;
}

export interface Flops {
  /** multiply-adds count as 2 FLOPs */
  readonly forward: number;
  readonly gradInput: number;
  readonly gradWeight: number;
}

interface LayerPlanBase {
  /** position in model.json `layers` */
  readonly index: number;
  /** unique safe identifier, used for params, grads and generated names */
  readonly name: string;
  /** the PyTorch module path its parameters go by in a state_dict (`<torchName>.weight`): model.json's torch_name, else `name` */
  readonly torchName: string;
  readonly type: LayerType;
  /**
   * what it reads, in order: names of layers above it, or `input` for the model's input.
   * A chain step reads the previous layer; add and concat read two or more.
   */
  readonly inputs: readonly string[];
  /** its input's shape (add, concat: the first input's; `inShapes` lists every input's) */
  readonly inShape: Shape;
  readonly outShape: Shape;
  /** PyTorch layouts: conv [Cout, Cin/g, kH, kW] (1D: [Cout, Cin/g, k]), conv_transpose [Cin, Cout/g, kH, kW], linear [out, in] */
  readonly weightShape: Shape | null;
  readonly biasShape: Shape | null;
  readonly flops: Flops;
  /** float32 bytes of this layer's output activation for the whole batch */
  readonly activationBytes: number;
  readonly kernels: readonly KernelRole[];
}

export interface ConvLayerPlan extends LayerPlanBase {
  readonly type: 'conv1d' | 'conv2d';
  readonly geometry: ConvGeometry;
  readonly schedule: ConvSchedule;
}

export interface ConvTransposeLayerPlan extends LayerPlanBase {
  readonly type: 'conv_transpose1d' | 'conv_transpose2d';
  readonly geometry: ConvTransposeGeometry;
  readonly schedule: ConvSchedule;
}

export interface PoolLayerPlan extends LayerPlanBase {
  readonly type: 'maxpool1d' | 'maxpool2d' | 'avgpool1d' | 'avgpool2d' | 'global_maxpool' | 'global_avgpool';
  /** global pools are planned as a window the size of the input */
  readonly geometry: PoolGeometry;
  /** avgpool1d/2d only: PyTorch's count_include_pad (global pools: true, no padding anyway) */
  readonly countIncludePad: boolean;
}

export interface LinearLayerPlan extends LayerPlanBase {
  readonly type: 'linear';
  readonly batch: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface UpsampleLayerPlan extends LayerPlanBase {
  readonly type: 'upsample_nearest2d' | 'upsample_bilinear2d';
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  readonly scaleH: number;
  readonly scaleW: number;
}

/** zero_pad1d / zero_pad2d: the input inside a frame of zeros ([C, L] is planned as H = 1, no top or bottom) */
export interface ZeroPadLayerPlan extends LayerPlanBase {
  readonly type: 'zero_pad1d' | 'zero_pad2d';
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  /** zeros on each side, all >= 0 */
  readonly pad: Pad4;
}

/**
 * batchnorm1d / batchnorm2d: per-channel statistics over the batch and the spatial
 * positions. Training mode normalizes with the batch's biased variance and updates the
 * running stats with the unbiased one; eval mode uses the running stats (PyTorch 1.13).
 */
export interface BatchNormLayerPlan extends LayerPlanBase {
  readonly type: 'batchnorm1d' | 'batchnorm2d';
  readonly batch: number;
  readonly channels: number;
  /** positions per channel of one sample: L of [C, L], H*W of [C, H, W], 1 of [C] */
  readonly spatial: number;
  readonly eps: number;
  /** running-stat update factor; null: a cumulative average, 1 / num_batches_tracked (PyTorch's momentum=None) */
  readonly momentum: number | null;
  /** weight and bias (weightShape / biasShape [C]) */
  readonly affine: boolean;
  /** running_mean / running_var / num_batches_tracked kept; false: eval mode uses the batch's statistics too */
  readonly trackRunningStats: boolean;
}

/** dropout: a mask from the model's seeded stream in training mode, the identity in eval mode */
export interface DropoutLayerPlan extends LayerPlanBase {
  readonly type: 'dropout';
  /** probability of zeroing an element (1 zeroes everything, as PyTorch allows) */
  readonly p: number;
}

/** flatten: a reshape, described by its shapes alone */
export interface ElementwiseLayerPlan extends LayerPlanBase {
  readonly type: 'flatten';
}

/** add (elementwise sum) and concat (channels joined in `inputs` order) */
export interface MergeLayerPlan extends LayerPlanBase {
  readonly type: 'add' | 'concat';
  /** every input's shape, in `inputs` order: add's are all equal, concat's differ only in dim 1 */
  readonly inShapes: readonly Shape[];
}
/** an elementwise activation on any shape; the constants PyTorch's module takes, by type */
export type ActivationLayerPlan = LayerPlanBase &
  (
    | { readonly type: Exclude<ActivationType, 'leaky_relu' | 'elu' | 'gelu'> }
    /** the slope for x <= 0 */
    | { readonly type: 'leaky_relu'; readonly negativeSlope: number }
    /** the scale of alpha * (exp(x) - 1) for x <= 0 */
    | { readonly type: 'elu'; readonly alpha: number }
    /** "none": x * Phi(x) with erf; "tanh": PyTorch's tanh approximation */
    | { readonly type: 'gelu'; readonly approximate: 'none' | 'tanh' }
  );

export type LayerPlan =
  | ConvLayerPlan
  | ConvTransposeLayerPlan
  | PoolLayerPlan
  | LinearLayerPlan
  | UpsampleLayerPlan
  | ZeroPadLayerPlan
  | BatchNormLayerPlan
  | DropoutLayerPlan
  | ActivationLayerPlan
  | ElementwiseLayerPlan
  | MergeLayerPlan;

export interface ModelPlan {
  readonly name: string;
  readonly batch: number;
  /** full input shape, with batch */
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly layers: readonly LayerPlan[];
  readonly loss: LossKind | null;
  /** eval-mode forward ends with softmax over the classes (model.json's output_softmax); absent when off, so other plans' JSON is unchanged */
  readonly outputSoftmax?: true;
  readonly totals: {
    readonly params: number;
    readonly flopsForward: number;
    readonly flopsBackward: number;
    readonly activationBytes: number;
  };
  /**
   * a forward-only build (`--inference`): eval mode always, forward kernels only (no gradients,
   * loss or optimizers); absent in a training build, so its plan JSON is unchanged
   */
  readonly inference?: true;
}

/** every input's shape, in `inputs` order (one for all but add and concat) */
export function inputShapes(l: LayerPlan): readonly Shape[] {
  return l.type === 'add' || l.type === 'concat' ? l.inShapes : [l.inShape];
}

/** elements in a shape */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** a conv_transpose's geometry as the conv C it is the adjoint of (C: the layer's output -> its input) */
export function transposedToConv(g: ConvGeometry): ConvGeometry {
  return {
    batch: g.batch,
    inC: g.outC,
    inH: g.outH,
    inW: g.outW,
    outC: g.inC,
    outH: g.inH,
    outW: g.inW,
    kH: g.kH,
    kW: g.kW,
    strideH: g.strideH,
    strideW: g.strideW,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
    pad: g.pad,
    groups: g.groups,
  };
}

/** the conv C that a layer's kernels are phrased on (see the header) */
export function underlyingConv(layer: ConvLayerPlan | ConvTransposeLayerPlan): ConvGeometry {
  return isTransposed(layer) ? transposedToConv(layer.geometry) : layer.geometry;
}

export function isTransposed(layer: ConvLayerPlan | ConvTransposeLayerPlan): layer is ConvTransposeLayerPlan {
  return layer.type === 'conv_transpose1d' || layer.type === 'conv_transpose2d';
}

const numelOf = (c: number, h: number, w: number, n: number) => n * c * h * w;

/** sizes of C's tensors */
export function convSizes(c: ConvGeometry) {
  return {
    x: numelOf(c.inC, c.inH, c.inW, c.batch),
    y: numelOf(c.outC, c.outH, c.outW, c.batch),
    w: c.outC * (c.inC / c.groups) * c.kH * c.kW,
  };
}
