// Shared shapes of the reference interpreter's inputs and results. The reference reads
// only plan data (src/plan/types.ts); it shares no code with the code generator.

/** inputs are read by index only, so float32 buffers from a generated kernel work too */
export type Vec = ArrayLike<number>;

/** a layer's parameters in PyTorch layouts (see LayerPlan.weightShape / biasShape) */
export interface RefParams {
  weight?: Vec;
  bias?: Vec;
  /** batch norm with running stats: its buffers before this step (PyTorch's running_mean, running_var, num_batches_tracked) */
  runningMean?: Vec;
  runningVar?: Vec;
  numBatchesTracked?: number;
}

/** the mode a layer runs in, and the dropout stream's position (src/reference/norm.ts) */
export interface RefMode {
  /** PyTorch's module.training; default true */
  training?: boolean;
  /** the model's seed and how many training forwards ran before this one: dropout in training mode needs them */
  seed?: number;
  step?: number;
}

/**
 * what forward keeps for backward: max pools the flat input index of each max; batch norm
 * its batch statistics (training mode) and the mode; dropout its mask (null in eval mode)
 */
export interface RefCache {
  argmax?: Int32Array;
  mean?: Float64Array;
  invstd?: Float64Array;
  /** forward ran in training mode */
  training?: boolean;
  mask?: Float64Array | null;
}

export interface ForwardResult {
  y: Float64Array;
  cache: RefCache;
  /** batch norm in training mode with running stats: its buffers after this step */
  state?: { runningMean: Float64Array; runningVar: Float64Array; numBatchesTracked: number };
}

export interface BackwardResult {
  /** dL/dx, written whole */
  dx: Float64Array;
  /** dL/dweight, same layout as the weight (layers with a weight only) */
  gradWeight?: Float64Array;
  /** dL/dbias (layers with a bias only) */
  gradBias?: Float64Array;
}

/** BackwardResult for a layer with any number of inputs: one dL/dx per entry of its `inputs` */
export interface BackwardInputsResult extends Omit<BackwardResult, 'dx'> {
  dxs: Float64Array[];
}
