// The elementwise activations in float64, straight from their definitions (PyTorch's
// modules), with PyTorch's choices where the math leaves one open:
//   - NaN in gives NaN out, forward;
//   - the gradient at a kink is the one PyTorch's backward gives: relu and relu6 pass no
//     gradient at x = 0 (relu6 also none at x = 6), leaky_relu passes the slope at x = 0,
//     elu alpha * dy at x = 0;
//   - backward at a NaN input follows PyTorch's comparisons, which are false for NaN: relu
//     and relu6 pass dy, leaky_relu passes slope * dy, elu passes dy; the smooth ones give NaN.
// erf is computed here on its own (a power series, and a continued fraction for erfc in the
// tails), sharing nothing with the generator's approximation in src/kernels/activation.ts.

import type { ActivationLayerPlan } from '../plan/types.ts';
import type { Vec } from './types.ts';

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_K = 0.044715;

/** where erf switches from its series to 1 - erfc: below it the series is exact, above it the fraction */
const TAIL = 1.5;

/**
 * erfc(z) for z >= 1.5: e^{-z^2} / sqrt(pi) * 1 / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))),
 * the Laplace continued fraction, evaluated from a fixed depth upward (100 levels: within an
 * ulp from z = 1.5 on, against mpmath)
 */
function erfcTail(z: number): number {
  let t = z;
  for (let n = 100; n >= 1; n--) t = z + n / 2 / t;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / t;
}

/**
 * erf(z) for |z| < 1.5: 2/sqrt(pi) e^{-z^2} sum_n z (2 z^2)^n / (1 * 3 * ... * (2n + 1)), a series
 * of positive terms (no cancellation), summed until the terms stop changing the sum
 */
function erfSeries(z: number): number {
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
}

/** erf in float64 */
export function erf(z: number): number {
  if (Number.isNaN(z)) return z;
  const a = Math.abs(z);
  const r = a < TAIL ? erfSeries(a) : 1 - erfcTail(a);
  return z < 0 ? -r : r;
}

/** erfc in float64, accurate relative to its value in the right tail */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return z;
  if (z >= TAIL) return erfcTail(z);
  if (z <= -TAIL) return 2 - erfcTail(-z);
  return 1 - erf(z);
}

/** the standard normal CDF, Phi(x) = erfc(-x / sqrt(2)) / 2 (relative accuracy in the left tail) */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2);
}

/** the standard normal density */
const normalPdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** y = f(x) and dL/dx = f'(x) * dy for one element, by activation */
function fns(layer: ActivationLayerPlan): { f: (x: number) => number; df: (x: number, dy: number) => number } {
  switch (layer.type) {
    case 'relu':
      return {
        f: (x) => (Number.isNaN(x) ? x : Math.max(x, 0)),
        df: (x, dy) => (x > 0 || Number.isNaN(x) ? dy : 0),
      };
    case 'relu6':
      return {
        f: (x) => (Number.isNaN(x) ? x : Math.min(Math.max(x, 0), 6)),
        df: (x, dy) => ((x > 0 && x < 6) || Number.isNaN(x) ? dy : 0),
      };
    case 'leaky_relu': {
      const s = layer.negativeSlope;
      return { f: (x) => (x > 0 ? x : s * x), df: (x, dy) => (x > 0 ? dy : s * dy) };
    }
    case 'elu': {
      const a = layer.alpha;
      return {
        f: (x) => (x > 0 ? x : a * Math.expm1(x)),
        df: (x, dy) => (x > 0 || Number.isNaN(x) ? dy : a * Math.exp(x) * dy),
      };
    }
    case 'sigmoid':
      return { f: sigmoid, df: (x, dy) => sigmoid(x) * (1 - sigmoid(x)) * dy };
    case 'tanh':
      return { f: Math.tanh, df: (x, dy) => (1 - Math.tanh(x) ** 2) * dy };
    case 'silu':
      return { f: (x) => x * sigmoid(x), df: (x, dy) => (sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))) * dy };
    case 'gelu':
      if (layer.approximate === 'none') return { f: (x) => x * normalCdf(x), df: (x, dy) => (normalCdf(x) + x * normalPdf(x)) * dy };
      return {
        // 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
        f: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_K * x ** 3))),
        df: (x, dy) => {
          const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_K * x ** 3));
          return (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_K * x * x)) * dy;
        },
      };
  }
}

export function activationForward(layer: ActivationLayerPlan, x: Vec): Float64Array {
  const { f } = fns(layer);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

export function activationBackward(layer: ActivationLayerPlan, x: Vec, dy: Vec): Float64Array {
  const { df } = fns(layer);
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = df(x[i], dy[i]);
  return dx;
}
