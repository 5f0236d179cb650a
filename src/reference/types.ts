// Shared shapes of the reference interpreter's inputs and results. The reference reads
// only plan data (src/plan/types.ts); it shares no code with the code generator.

/** inputs are read by index only, so float32 buffers from a generated kernel work too */
export type Vec = ArrayLike<number>;

/** a layer's parameters in PyTorch layouts (see LayerPlan.weightShape / biasShape) */
export interface RefParams {
  weight?: Vec;
  bias?: Vec;
}

/** what forward keeps for backward: max pools remember the flat input index of each max */
export interface RefCache {
  argmax?: Int32Array;
}

export interface ForwardResult {
  y: Float64Array;
  cache: RefCache;
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
