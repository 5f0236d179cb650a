// Seeded inputs shared by every implementation, and the agreement check run before timing.
// Inputs are drawn as float32 so every peer sees exactly the same numbers; the float64
// reference reads the same float32 values.

/** mulberry32: small, fast, good enough for benchmark data */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** uniform in [-scale, scale) */
export function randomF32(n: number, next: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * next() - 1) * scale;
  return a;
}

export interface Agreement {
  /** max |got - want| */
  readonly maxAbs: number;
  /** maxAbs / max |want|: a norm-wise relative error, stable where want is near zero */
  readonly maxRel: number;
  readonly ok: boolean;
}

/**
 * float32 outputs against the float64 reference. The tolerance allows float32 rounding over
 * reductions of tens of thousands of terms; a wrong index or a missing tap is off by O(1).
 */
export const REL_TOLERANCE = 1e-3;

export function agreement(got: ArrayLike<number>, want: ArrayLike<number>): Agreement {
  if (got.length !== want.length) return { maxAbs: Infinity, maxRel: Infinity, ok: false };
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    // NaN must fail, and NaN > x is false
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const maxRel = maxAbs / Math.max(scale, 1e-30);
  return { maxAbs, maxRel, ok: maxRel <= REL_TOLERANCE };
}
