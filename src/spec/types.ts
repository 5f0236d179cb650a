// ModelSpec: a model.json after validation. Every default is filled in and every
// shorthand (an int for a pair, "same") is kept as the user wrote it only where the
// planner needs the original to resolve it; sizes are plain integers.

export type LossKind = 'softmax_cross_entropy' | 'mse' | 'bce_with_logits';

/** the loss kinds, as model.json spells them */
export const LOSS_KINDS: readonly LossKind[] = ['softmax_cross_entropy', 'mse', 'bce_with_logits'];

/** a conv strategy: `auto` lets the planner's cost model decide per kernel */
export type StrategyName = 'direct' | 'im2row';
export type StrategyChoice = StrategyName | 'auto';

/** per-kernel strategy override; a single name applies to all three conv kernels */
export interface StrategySpec {
  forward: StrategyChoice;
  gradInput: StrategyChoice;
  gradWeight: StrategyChoice;
}

/** padding as written: explicit per-dimension amounts, or PyTorch's "same" / "valid" */
export type PaddingSpec = { mode: 'explicit'; amounts: number[] } | { mode: 'same' } | { mode: 'valid' };

interface LayerCommon {
  /** unique safe identifier; defaults to `<type><index>` (e.g. `conv2d0`) */
  name: string;
  /** position in `layers`, for error messages (`layers[3]`) */
  index: number;
  /**
   * the PyTorch module path its parameters go by in a state_dict (`<torch_name>.weight`);
   * model.json's torch_name (the layers with tensors: conv, linear, batch norm), else the name
   */
  torch_name: string;
  /**
   * what it reads, in order: names of layers above it, or `"input"` (MODEL_INPUT) for the
   * model's input; model.json's `inputs`, else the previous layer (the first layer: the input)
   */
  inputs: string[];
}

export interface ConvSpec extends LayerCommon {
  type: 'conv1d' | 'conv2d';
  /** checked against the previous layer when given, inferred otherwise */
  in_channels?: number;
  out_channels: number;
  /** one entry per spatial dim ([k] for 1D, [kh, kw] for 2D) */
  kernel: number[];
  stride: number[];
  padding: PaddingSpec;
  dilation: number[];
  groups: number;
  bias: boolean;
  strategy: StrategySpec;
}

export interface ConvTransposeSpec extends LayerCommon {
  type: 'conv_transpose1d' | 'conv_transpose2d';
  in_channels?: number;
  out_channels: number;
  /** one entry per spatial dim, as for ConvSpec */
  kernel: number[];
  stride: number[];
  /** explicit only: PyTorch's ConvTranspose1d/2d have no "same" */
  padding: number[];
  output_padding: number[];
  dilation: number[];
  groups: number;
  bias: boolean;
  strategy: StrategySpec;
}

export interface MaxPoolSpec extends LayerCommon {
  type: 'maxpool1d' | 'maxpool2d';
  kernel: number[];
  /** defaults to kernel, as in PyTorch */
  stride: number[];
  padding: number[];
}

export interface AvgPoolSpec extends LayerCommon {
  type: 'avgpool1d' | 'avgpool2d';
  kernel: number[];
  stride: number[];
  padding: number[];
  /** PyTorch's default (true): padded zeros count in the divisor */
  count_include_pad: boolean;
}

export interface LinearSpec extends LayerCommon {
  type: 'linear';
  in_features?: number;
  out_features: number;
  bias: boolean;
}

export interface UpsampleSpec extends LayerCommon {
  type: 'upsample_nearest2d' | 'upsample_bilinear2d';
  /** integer scale factor per spatial dim */
  scale_factor: number[];
}

/** PyTorch ZeroPad1d ([C, L]) and ZeroPad2d ([C, H, W]): zeros around the input, a side each */
export interface ZeroPadSpec extends LayerCommon {
  type: 'zero_pad1d' | 'zero_pad2d';
  /** PyTorch's order: [left, right] (1d) or [left, right, top, bottom] (2d); each >= 0 */
  padding: number[];
}

/** PyTorch BatchNorm1d ([C] or [C, L] per sample) and BatchNorm2d ([C, H, W]) */
export interface BatchNormSpec extends LayerCommon {
  type: 'batchnorm1d' | 'batchnorm2d';
  /** PyTorch's num_features: checked against the input's channels when given, inferred otherwise */
  num_features?: number;
  eps: number;
  /** the running-stat update factor; null: a cumulative average (PyTorch's momentum=None) */
  momentum: number | null;
  /** a learned per-channel weight (init 1) and bias (init 0) */
  affine: boolean;
  /** keep running_mean / running_var (and num_batches_tracked) for eval mode */
  track_running_stats: boolean;
}

/** PyTorch Dropout: zeroes each element with probability p in training mode, scales the rest by 1/(1-p) */
export interface DropoutSpec extends LayerCommon {
  type: 'dropout';
  p: number;
}

/** the elementwise activations (kernels: src/kernels/activation.ts) */
export type ActivationType = 'relu' | 'leaky_relu' | 'relu6' | 'elu' | 'gelu' | 'silu' | 'sigmoid' | 'tanh';

export interface SimpleSpec extends LayerCommon {
  type: 'relu' | 'relu6' | 'silu' | 'sigmoid' | 'tanh' | 'flatten' | 'global_maxpool' | 'global_avgpool';
}

export interface LeakyReluSpec extends LayerCommon {
  type: 'leaky_relu';
  /** the slope for x < 0 (PyTorch's default 0.01); any finite number, as in PyTorch */
  negative_slope: number;
}

export interface EluSpec extends LayerCommon {
  type: 'elu';
  /** alpha * (exp(x) - 1) for x <= 0 (PyTorch's default 1.0); any finite number, as in PyTorch */
  alpha: number;
}

export interface GeluSpec extends LayerCommon {
  type: 'gelu';
  /** "none": x * Phi(x) with the exact normal CDF (erf); "tanh": PyTorch's tanh approximation */
  approximate: 'none' | 'tanh';
}

/** the layers that read two or more inputs: `add` sums them, `concat` joins their channels */
export interface MergeSpec extends LayerCommon {
  type: 'add' | 'concat';
}

export type LayerSpec =
  | ConvSpec
  | ConvTransposeSpec
  | MaxPoolSpec
  | AvgPoolSpec
  | LinearSpec
  | UpsampleSpec
  | ZeroPadSpec
  | BatchNormSpec
  | DropoutSpec
  | SimpleSpec
  | MergeSpec
  | LeakyReluSpec
  | EluSpec
  | GeluSpec;

export type LayerType = LayerSpec['type'];

export const LAYER_TYPES: readonly LayerType[] = [
  'conv1d',
  'conv2d',
  'conv_transpose1d',
  'conv_transpose2d',
  'relu',
  'leaky_relu',
  'relu6',
  'elu',
  'gelu',
  'silu',
  'sigmoid',
  'tanh',
  'maxpool1d',
  'maxpool2d',
  'global_maxpool',
  'avgpool1d',
  'avgpool2d',
  'global_avgpool',
  'flatten',
  'linear',
  'upsample_nearest2d',
  'upsample_bilinear2d',
  'zero_pad1d',
  'zero_pad2d',
  'batchnorm1d',
  'batchnorm2d',
  'dropout',
  'add',
  'concat',
];

export interface ModelSpec {
  name: string;
  /** static batch size */
  batch: number;
  /** per-sample input shape: [C, L] for 1D, [C, H, W] for 2D */
  input: number[];
  layers: LayerSpec[];
  loss?: LossKind;
  /** eval-mode forward returns softmax over the output's classes (default false) */
  output_softmax?: boolean;
}
