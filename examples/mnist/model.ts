// What the example apps need from a compiled model: the members every generated module's
// `createModel()` returns (see generated/<name>/index.ts). Typed structurally so the apps,
// the tests and any target (TypeScript, WGSL) share one training loop.

export interface ParamTensors {
  weight?: Float32Array;
  bias?: Float32Array;
}

export interface CompiledModel {
  readonly plan: {
    readonly name: string;
    readonly batch: number;
    readonly inShape: readonly number[];
    readonly outShape: readonly number[];
    readonly layers: readonly { readonly name: string; readonly type: string; readonly weightShape: readonly number[] | null; readonly biasShape: readonly number[] | null }[];
  };
  /** by layer name, PyTorch layouts; edited in place by sgdStep */
  readonly params: Record<string, ParamTensors>;
  readonly grads: Record<string, ParamTensors>;
  /** one static batch in, the output for that batch out (read it before the next call) */
  forward(x: Float32Array): Float32Array;
  /** dL/doutput of the last forward in, dL/dinput out; overwrites grads */
  backward(dOut: Float32Array): Float32Array;
  /** forward, mean softmax cross-entropy, backward; returns the mean loss */
  lossAndGrad(x: Float32Array, labels: Int32Array): number;
  sgdStep(lr: number, opts?: { momentum?: number; weightDecay?: number }): void;
  /** one step of the optimizer described: `{ type: 'adam', lr: 1e-3 }` */
  optimizerStep(optimizer: OptimizerStep): void;
  /** PyTorch's module modes: batch norm uses the batch's statistics in training mode, its running stats in eval mode */
  readonly training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
}

/** the optimizers the apps use, as the generated optimizerStep takes them (a subset of its `Optimizer`) */
export type OptimizerStep =
  | { readonly type: 'sgd'; readonly lr: number; readonly momentum?: number; readonly weightDecay?: number }
  | { readonly type: 'adam' | 'adamw'; readonly lr: number; readonly weightDecay?: number };

/** a result now (TypeScript target) or later (WebGPU target, which reads back from the device) */
export type Awaitable<T> = T | Promise<T>;

/**
 * what the training loop needs, on any target: the TS model as it is, or the WebGPU model
 * (generated/<name>/gpu.ts) with the plan next to it. sgdStep reads no result back, so it
 * stays synchronous on both, as does optimizerStep.
 */
export interface Trainable {
  readonly plan: CompiledModel['plan'];
  forward(x: Float32Array): Awaitable<Float32Array>;
  lossAndGrad(x: Float32Array, labels: Int32Array): Awaitable<number>;
  sgdStep(lr: number, opts?: { momentum?: number; weightDecay?: number }): void;
  optimizerStep(optimizer: OptimizerStep): void;
  readonly training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
}
