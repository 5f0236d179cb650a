// A layer's program: which kernels run, in what order, on which buffers. The model
// assembler (TS module, WGSL runtime) binds these names to real buffers; kernels never
// know where their buffers live.

import type { Kernel, ScalarType } from '../ir/types.ts';

/**
 * the buffers every layer sees:
 * x: its input activation (the previous layer's y; kept from forward to backward),
 * y: its output activation, dy: dL/dy (read), dx: dL/dx (written whole, never accumulated),
 * weight / bias: parameters, gradWeight / gradBias: their gradients (overwritten, not accumulated)
 */
export type LayerBuffer = 'x' | 'y' | 'dy' | 'dx' | 'weight' | 'bias' | 'gradWeight' | 'gradBias';

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
}
