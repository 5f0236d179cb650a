// What every check compares with: a result against the reference under a tolerance, and the
// row a check reports. The TS and WGSL checks and the loss / optimizer checks (train.ts) share it.

const EPS32 = 2 ** -23;
/** whole-model results: max |got - ref| <= MODEL_TOLERANCE * max(1e-3, max |ref|) */
export const MODEL_TOLERANCE = 1e-4;

export interface Comparison {
  maxAbs: number;
  maxRel: number;
  tolerance: number;
  ok: boolean;
}

/** max abs error against an absolute tolerance; maxRel is normwise (relative to max |ref|) */
export function compare(got: ArrayLike<number>, ref: ArrayLike<number>, tolerance: (maxRef: number) => number): Comparison {
  let maxRef = 0;
  let maxAbs = 0;
  let finite = got.length === ref.length;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    const e = Math.abs(got[i] - ref[i]);
    if (!Number.isFinite(e)) finite = false;
    else maxAbs = Math.max(maxAbs, e);
  }
  const tol = tolerance(maxRef);
  if (!finite) maxAbs = Infinity;
  return { maxAbs, maxRel: maxRef > 0 ? maxAbs / maxRef : maxAbs, tolerance: tol, ok: maxAbs <= tol };
}

export const kernelTolerance = (R: number) => (maxRef: number) => 2 * EPS32 * (R + 2) * Math.max(1, maxRef);
export const modelTolerance = (maxRef: number) => MODEL_TOLERANCE * Math.max(1e-3, maxRef);

export interface CheckRow {
  layer: string;
  kernel: string;
  strategy: string;
  /** null: nothing to compare here (a view layer, or a kernel that writes only scratch) */
  result: Comparison | null;
  /** why there is no result */
  note?: string;
}

