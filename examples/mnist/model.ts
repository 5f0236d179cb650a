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
}
