// A layer's program: which kernels run, in what order, on which buffers. The model
// assembler (TS module, WGSL runtime) binds these names to real buffers; kernels never
// know where their buffers live.

import type { Kernel, ScalarType } from '../ir/types.ts';
import type { ModelGraph } from './graph.ts';
import type { LossKind } from '../spec/types.ts';

/**
 * the buffers every layer sees:
 * x: its input activation (the output its `inputs` names; kept from forward to backward),
 * y: its output activation, dy: dL/dy (read), dx: dL/dx (written whole, never accumulated),
 * weight / bias: parameters, gradWeight / gradBias: their gradients (overwritten, not accumulated).
 * A layer that reads several inputs (add, concat) sees x0, x1, ... and dx0, dx1, ... instead
 * of x and dx (inputArg / gradInputArg).
 */
export type LayerBuffer = 'x' | 'y' | 'dy' | 'dx' | 'weight' | 'bias' | 'gradWeight' | 'gradBias' | `x${number}` | `dx${number}`;

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
   * backward hands dy to every input unchanged (add: dL/dx_k = dL/dy), so it runs no kernel:
   * the model binds each input's gradient to this layer's dy buffer. Implied by `alias`.
   */
  readonly passGrad?: true;
}

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
}

/** everything the model assembler (TS module, WGSL runtime) runs, lowered from a ModelPlan */
export interface ModelProgram {
  /** one per plan layer, in order */
  readonly layers: readonly LayerProgram[];
  /** how the layers connect: activation and gradient buffers, gradient sums (graph.ts) */
  readonly graph: ModelGraph;
  /** every weight and bias in layer order, weight first: params, grads and the optimizer state share this layout */
  readonly params: { readonly slots: readonly ParamSlot[]; readonly length: number };
  /**
   * the loss with its gradient: mean softmax cross-entropy (logits, labels i32, dlogits,
   * loss[1]) for `softmax_cross_entropy`, and for a model without `loss` whose output is a
   * vector per sample; mse / bce_with_logits (output, target, doutput, loss[1], partials)
   */
  readonly loss: Kernel | null;
  /** what `loss` computes (null: no loss kernel) */
  readonly lossKind: LossKind | null;
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
