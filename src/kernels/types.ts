// A layer's program: which kernels run, in what order, on which buffers. The model
// assembler (TS module, WGSL runtime) binds these names to real buffers; kernels never
// know where their buffers live.

import type { Kernel, ScalarType } from '../ir/types.ts';
import type { LossKind } from '../spec/types.ts';
import type { Shape } from '../plan/types.ts';

/**
 * the buffers every layer sees:
 * x: its input activation (the output its `inputs` names; kept from forward to backward),
 * y: its output activation, dy: dL/dy (read), dx: dL/dx (written whole, never accumulated),
 * weight / bias: parameters, gradWeight / gradBias: their gradients (overwritten, not accumulated),
 * running: batch norm's running stats, f32[2C] = running_mean then running_var (the model's
 * state arena, updated in training-mode forward), momentum: a batch norm's update factor of this step, f32[1] (only
 * with momentum null: the host writes 1 / num_batches_tracked before the forward),
 * rng: the model's dropout stream, i32[2] = [seed, step] (the host sets step per training forward).
 * A layer that reads several inputs (add, concat) sees x0, x1, ... and dx0, dx1, ... instead
 * of x and dx (inputArg / gradInputArg).
 */
export type LayerBuffer =
  | 'x'
  | 'y'
  | 'dy'
  | 'dx'
  | 'weight'
  | 'bias'
  | 'gradWeight'
  | 'gradBias'
  | 'running'
  | 'momentum'
  | 'rng'
  | `x${number}`
  | `dx${number}`;

/** what a layer reading `count` inputs calls input k: `x` when it reads one, else `x<k>` */
export const inputArg = (k: number, count: number): LayerBuffer => (count === 1 ? 'x' : `x${k}`);
/** what it calls dL/d(input k): `dx` when it reads one, else `dx<k>` */
export const gradInputArg = (k: number, count: number): LayerBuffer => (count === 1 ? 'dx' : `dx${k}`);

/** a temporary buffer owned by one layer (im2row columns, argmax routes, split-K partials) */
export interface ScratchDecl {
  readonly name: string;
  readonly t: ScalarType;
  readonly length: number;
  /** written in forward and read in backward (argmax routes): must survive between the two */
  readonly keep: boolean;
}

export interface KernelCall {
  readonly kernel: Kernel;
  /** kernel buffer name -> a LayerBuffer or a scratch name of this layer */
  readonly args: Readonly<Record<string, string>>;
  /**
   * kernel buffer name -> the element offset its binding starts at in the bound buffer, where
   * the kernel sees only part of it (a block of a split linear weight, src/gpu/split.ts); absent: 0
   */
  readonly ranges?: Readonly<Record<string, number>>;
}

export interface LayerProgram {
  /** the layer's name (plan.name) */
  readonly layer: string;
  readonly scratch: readonly ScratchDecl[];
  /** x -> y */
  readonly forward: readonly KernelCall[];
  /** dy (+ x, y, scratch kept from forward) -> gradWeight, gradBias, dx */
  readonly backward: readonly KernelCall[];
  /** a pure reshape (flatten): y is x's buffer and dx is dy's; no kernels run */
  readonly alias: boolean;
  /**
   * the calls of eval mode, where they differ from training mode's `forward` / `backward`
   * (batch norm with running stats, dropout); absent: the same calls in both modes. Backward
   * runs the list of the mode the last forward ran in, as autograd differentiates what ran.
   */
  readonly eval?: { readonly forward: readonly KernelCall[]; readonly backward: readonly KernelCall[] };
  /**
   * backward hands dy to every input unchanged (add: dL/dx_k = dL/dy), so it runs no kernel:
   * the model binds each input's gradient to this layer's dy buffer. Implied by `alias`.
   */
  readonly passGrad?: true;
}

/** how a parameter starts: PyTorch's default init for its layer kind */
export type ParamInit = 'uniform' | 'ones' | 'zeros';

/** one parameter tensor's place in the model's parameter arena (one flat f32 buffer) */
export interface ParamSlot {
  readonly layer: string;
  readonly kind: 'weight' | 'bias';
  /** its name in a PyTorch state_dict / safetensors file: `<torchName>.<kind>` */
  readonly key: string;
  /** element offset into the arena */
  readonly offset: number;
  readonly length: number;
  /** PyTorch layout (LayerPlan.weightShape / biasShape) */
  readonly shape: readonly number[];
  /** PyTorch's fan-in for the default init: weight dim 1 times the kernel window (conv_transpose included) */
  readonly fanIn: number;
  /** uniform: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) from the seeded stream (conv, linear); ones / zeros: batch norm's weight / bias, no draws */
  readonly init: ParamInit;
}

/**
 * one non-parameter tensor of the state_dict (batch norm's running stats), in the model's
 * state arena (f32); a layer's running_var follows its running_mean (kernels bind both as one
 * `running` range)
 */
export interface BufferSlot {
  readonly layer: string;
  readonly kind: 'running_mean' | 'running_var';
  /** `<torchName>.running_mean` */
  readonly key: string;
  readonly offset: number;
  readonly length: number;
  readonly shape: readonly number[];
  /** its value before any training step: running_mean 0, running_var 1 */
  readonly init: 0 | 1;
}

/** a batch norm's num_batches_tracked: an int64 counter kept by the host, not in an arena */
export interface CounterSlot {
  readonly layer: string;
  /** `<torchName>.num_batches_tracked` */
  readonly key: string;
  /** momentum null: the host writes 1 / count into the layer's `momentum` buffer each training step */
  readonly cumulative: boolean;
}

/** everything the model assembler (TS module, WGSL runtime) runs, lowered from a ModelPlan */
export interface ModelProgram {
  /** one per plan layer, in order */
  readonly layers: readonly LayerProgram[];
  /** how the layers connect: activation and gradient buffers, gradient sums (graph.ts) */
  readonly graph: ModelGraph;
  /** every weight and bias in layer order, weight first: params, grads and the optimizer state share this layout */
  readonly params: { readonly slots: readonly ParamSlot[]; readonly length: number };
  /** batch norm's running stats (one f32 arena, layer order, mean before var) and num_batches_tracked counters */
  readonly buffers: { readonly slots: readonly BufferSlot[]; readonly length: number; readonly counters: readonly CounterSlot[] };
  /** a dropout layer reads the `rng` buffer [seed, step]: the host keeps the step counter */
  readonly dropout: boolean;
  /**
   * the loss with its gradient: mean softmax cross-entropy (logits, labels i32, dlogits,
   * loss[1]) for `softmax_cross_entropy`, and for a model without `loss` whose output is a
   * vector per sample; mse / bce_with_logits (output, target, doutput, loss[1], partials)
   */
  readonly loss: Kernel | null;
  /** what `loss` computes (null: no loss kernel) */
  readonly lossKind: LossKind | null;
  /** the eval-mode forward's last kernel (model.json's output_softmax): logits -> probs, softmax.ts; null when off */
  readonly outputSoftmax: Kernel | null;
  /** the optimizer steps over the parameter arena; null without params */
  readonly optimizers: OptimizerKernels | null;
}

/**
 * the optimizer kernels, each over the whole parameter arena (param, grad, then its state
 * buffers; its hyperparameters are runtime scalars the entry point computes)
 */
export interface OptimizerKernels {
  /** SGD without momentum: param, grad */
  readonly sgd: Kernel;
  /** SGD with momentum (dampening, Nesterov): param, grad, velocity */
  readonly sgdMomentum: Kernel;
  /** Adam and AdamW: param, grad, expAvg, expAvgSq */
  readonly adam: Kernel;
  /** Adam and AdamW with AMSGrad: ..., maxExpAvgSq */
  readonly adamAmsgrad: Kernel;
}

/** the model's dataflow lowered to buffers (graph.ts builds it; see its header) */
export interface ModelGraph {
  /** per layer: the value of each of its inputs, in `inputs` order */
  readonly inputs: readonly (readonly number[])[];
  /** per value: its shape, with the batch */
  readonly shapes: readonly Shape[];
  /** per value: its activation buffer */
  readonly act: readonly string[];
  /** per value: the buffer that holds dL/d(value) once backward has run its readers (and its sum) */
  readonly grad: readonly string[];
  /** per value: the gradient buffers it owns, of its shape: d<v>, then its readers' partials */
  readonly gradBuffers: readonly (readonly string[])[];
  /** per layer, per input: the buffer its dx for that input writes; null where it runs none (add, views) */
  readonly dx: readonly (readonly (string | null)[])[];
  /**
   * per value read by several layers (null otherwise): the calls that sum their contributions
   * into grad[v]; their args name model buffers directly (not a layer's x / dy names)
   */
  readonly sums: readonly (readonly KernelCall[] | null)[];
  /** per value: a parameter lies upstream of it, so training needs its gradient */
  readonly learns: readonly boolean[];
}
