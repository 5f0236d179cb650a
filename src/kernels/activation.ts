// The elementwise activations: one table, one lowering. Each rule gives y from x (forward),
// dx from dy and the one tensor backward reads (`keeps`: the input x or the output y, the
// tensor PyTorch's autograd saves for it: relu, sigmoid and tanh save their result, the others
// their input), as loop IR that both renderers print. Every kernel is one flat parallel loop.
//
// Numerics, in float32 on the GPU and in doubles in TS:
//   - no overflow anywhere: exp only ever sees -|x| (sigmoid, tanh) or min(x, 0) (elu), so
//     sigmoid(-100) is 0, tanh(+-100) is exactly +-1, with no inf / inf on the way;
//   - NaN propagates as in PyTorch: each select tests the condition that is false for NaN on
//     the side that keeps x (relu: x < 0 ? 0 : x), and backward's conditions are PyTorch's
//     (relu: y <= 0 ? 0 : dy passes dy at NaN, as threshold_backward does). WGSL allows a
//     compiler to assume no NaN; lavapipe keeps these selects (test/activation.test.ts);
//   - erf (gelu) and tanh are polynomials fitted for this module (least squares on Chebyshev
//     nodes in float64: scripts/fit-activation-polys.py) and checked against the reference's
//     own float64 erf and Math.tanh in test/activation.test.ts: |error| < 3e-9 for erf (2.1e-9
//     measured), < 1e-10 for tanh, before float32 rounding; in float32 on lavapipe erf is
//     within 1.2e-7.

import type { ActivationLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { ActivationType } from '../spec/types.ts';
import type { Expr, Kernel, Stmt } from '../ir/types.ts';
import type { LayerProgram } from './types.ts';
import { add, call, buf, div, exp, f32, ge, gt, kernel, le, let_, load, lt, mul, or, parallel, select, store, sub, v } from '../ir/build.ts';
import { shapeTag } from './names.ts';

/** the locals one element's formulas declare, in order (f32 `let`s, named once each) */
export class Scope {
  readonly stmts: Stmt[] = [];
  private readonly names = new Set<string>();
  let(name: string, e: Expr): Expr {
    if (this.names.has(name)) throw new Error(`activation: local '${name}' declared twice`);
    this.names.add(name);
    this.stmts.push(let_(name, e, 'f32'));
    return v(name);
  }
}

const c = f32;
const neg = (e: Expr): Expr => sub(c(0), e);
const abs = (e: Expr): Expr => call('abs', e);

/** c[0] + t * (c[1] + t * (c[2] + ...)) */
export function horner(coeffs: readonly number[], t: Expr): Expr {
  return coeffs.slice(0, -1).reduceRight((acc, k) => add(c(k), mul(t, acc)), c(coeffs[coeffs.length - 1]));
}

// ---- the shared pieces ------------------------------------------------------------------

/** 1 / (1 + exp(-x)) through e = exp(-|x|) <= 1: x >= 0 gives 1 / (1 + e), x < 0 e / (1 + e) */
export function sigmoidOf(x: Expr, s: Scope, tag = ''): Expr {
  const e = s.let(`e${tag}`, exp(neg(abs(x))));
  const r = s.let(`r${tag}`, div(c(1), add(c(1), e)));
  // NaN: x >= 0 is false, and e * r is NaN
  return select(ge(x, c(0)), r, mul(e, r));
}

/** tanh(x) = x + x^3 P(x^2) for |x| < 0.625, where (1 - e) / (1 + e) with e = exp(-2|x|) would cancel */
const TANH_SMALL = [-0.3333333101061641, 0.13333212509114972, -0.05394745495254757, 0.021704004134552958, -0.008184669907584367, 0.0021489909499987905];
const TANH_SPLIT = 0.625;

/** tanh(x): odd polynomial near 0, (1 - e) / (1 + e) with e = exp(-2|x|) <= 1 elsewhere, the sign of x */
export function tanhOf(x: Expr, s: Scope): Expr {
  const a = s.let('a', abs(x));
  const z = s.let('z', mul(x, x));
  const small = add(x, mul(mul(x, z), horner(TANH_SMALL, z)));
  const e = s.let('e', exp(mul(a, c(-2))));
  const t = s.let('t', div(sub(c(1), e), add(c(1), e)));
  // NaN: both comparisons are false, and t is NaN
  return select(lt(a, c(TANH_SPLIT)), small, select(lt(x, c(0)), neg(t), t));
}

/** erf(z) = z P(z^2) for |z| < 1 */
const ERF_SMALL = [1.1283791665931489, -0.37612629877665704, 0.11283625725011004, -0.026855399449670192, 0.005191218373546469, -0.0008034846620122577, 7.93349379634295e-5];
/** erfc(a) = exp(-a^2) tau Q(tau), tau = 1 / (1 + a / 2), for a >= 1 (smooth in tau up to a = infinity, tau = 0) */
const ERFC_TAIL = [0.28209369267951556, 0.2821404582784174, 0.24606642275770577, 0.18312403775416994, 0.04847199523810528, 0.10454616638131548, -0.24947749543423128, 0.10676732282744451, -0.0031456582208969986];
const ERF_SPLIT = 1;

/** the two halves of erf at z: `small` = erf(z) (|z| < 1), `tail` = erfc(|z|) (|z| >= 1), `inTail` which one holds */
function erfParts(z: Expr, s: Scope): { small: Expr; tail: Expr; inTail: Expr } {
  const a = s.let('az', abs(z));
  const zz = s.let('z2', mul(z, z));
  const tau = s.let('tau', div(c(1), add(c(1), mul(a, c(0.5)))));
  const tail = s.let('q', mul(mul(exp(neg(zz)), tau), horner(ERFC_TAIL, tau)));
  // NaN: a >= 1 is false, so NaN leaves through `small`
  return { small: mul(z, horner(ERF_SMALL, zz)), tail, inTail: ge(a, c(ERF_SPLIT)) };
}

/** erf(z), float32-accurate (kernels use normalCdfOf; this is what the tests measure) */
export function erfOf(z: Expr, s: Scope): Expr {
  const p = erfParts(z, s);
  return select(p.inTail, select(lt(z, c(0)), sub(p.tail, c(1)), sub(c(1), p.tail)), p.small);
}

/**
 * Phi(x) = (1 + erf(x / sqrt 2)) / 2, from the same two halves: in the tails Phi is
 * erfc(|z|) / 2 (x < 0) or 1 - erfc(|z|) / 2, so the left tail keeps its relative accuracy
 */
export function normalCdfOf(x: Expr, s: Scope): Expr {
  const z = s.let('z', mul(x, c(Math.SQRT1_2)));
  const p = erfParts(z, s);
  const half = mul(p.tail, c(0.5));
  return select(p.inTail, select(gt(x, c(0)), sub(c(1), half), half), add(c(0.5), mul(p.small, c(0.5))));
}

// ---- the table --------------------------------------------------------------------------

export interface ActivationRule {
  /** the tensor backward reads besides dy: PyTorch's saved tensor */
  readonly keeps: 'x' | 'y';
  readonly forward: (x: Expr, s: Scope) => Expr;
  /** dx from the kept value and dy */
  readonly backward: (kept: Expr, dy: Expr, s: Scope) => Expr;
  /** the formulas, for the kernels' doc comments */
  readonly doc: readonly [forward: string, backward: string];
}

type Of<T extends ActivationType> = Extract<ActivationLayerPlan, { type: T }>;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_K = 0.044715;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const RULES: { readonly [T in ActivationType]: (l: Of<T>) => ActivationRule } = {
  relu: () => ({
    keeps: 'y',
    forward: (x) => select(lt(x, c(0)), c(0), x),
    backward: (y, dy) => select(le(y, c(0)), c(0), dy),
    doc: ['y = x < 0 ? 0 : x (NaN stays NaN)', 'dx = y <= 0 ? 0 : dy (PyTorch keeps y: no gradient at 0)'],
  }),
  leaky_relu: (l) => ({
    keeps: 'x',
    forward: (x) => select(gt(x, c(0)), x, mul(x, c(l.negativeSlope))),
    backward: (x, dy) => select(gt(x, c(0)), dy, mul(dy, c(l.negativeSlope))),
    doc: [`y = x > 0 ? x : ${l.negativeSlope} * x`, `dx = x > 0 ? dy : ${l.negativeSlope} * dy`],
  }),
  relu6: () => ({
    keeps: 'x',
    forward: (x) => select(lt(x, c(0)), c(0), select(gt(x, c(6)), c(6), x)),
    backward: (x, dy) => select(or(le(x, c(0)), ge(x, c(6))), c(0), dy),
    doc: ['y = x < 0 ? 0 : x > 6 ? 6 : x (NaN stays NaN)', 'dx = x <= 0 || x >= 6 ? 0 : dy (no gradient at 0 and 6)'],
  }),
  elu: (l) => ({
    keeps: 'x',
    // exp(min(x, 0)) written as a select: the x side keeps NaN, and exp never overflows
    forward: (x, s) => select(gt(x, c(0)), x, mul(c(l.alpha), sub(exp(s.let('m', select(gt(x, c(0)), c(0), x))), c(1)))),
    backward: (x, dy) => select(le(x, c(0)), mul(mul(dy, c(l.alpha)), exp(select(le(x, c(0)), x, c(0)))), dy),
    doc: [`y = x > 0 ? x : ${l.alpha} * (exp(x) - 1)`, `dx = x <= 0 ? dy * ${l.alpha} * exp(x) : dy`],
  }),
  sigmoid: () => ({
    keeps: 'y',
    forward: (x, s) => sigmoidOf(x, s),
    backward: (y, dy) => mul(mul(dy, sub(c(1), y)), y),
    doc: ['y = 1 / (1 + exp(-x)), from e = exp(-|x|)', 'dx = dy * (1 - y) * y'],
  }),
  tanh: () => ({
    keeps: 'y',
    forward: (x, s) => tanhOf(x, s),
    backward: (y, dy) => mul(dy, sub(c(1), mul(y, y))),
    doc: ['y = tanh(x): x + x^3 P(x^2) for |x| < 0.625, else sign(x) (1 - e) / (1 + e), e = exp(-2|x|)', 'dx = dy * (1 - y * y)'],
  }),
  silu: () => ({
    keeps: 'x',
    forward: (x, s) => mul(x, s.let('sg', sigmoidOf(x, s))),
    backward: (x, dy, s) => {
      const sg = s.let('sg', sigmoidOf(x, s));
      return mul(mul(dy, sg), add(c(1), mul(x, sub(c(1), sg))));
    },
    doc: ['y = x * sigmoid(x)', 'dx = dy * s * (1 + x * (1 - s)), s = sigmoid(x)'],
  }),
  gelu: (l) =>
    l.approximate === 'none'
      ? {
          keeps: 'x',
          forward: (x, s) => mul(x, normalCdfOf(x, s)),
          backward: (x, dy, s) => {
            const cdf = s.let('cdf', normalCdfOf(x, s));
            const pdf = mul(exp(mul(mul(x, x), c(-0.5))), c(INV_SQRT_2PI));
            return mul(dy, add(cdf, mul(x, pdf)));
          },
          doc: ['y = x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2', 'dx = dy * (Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi))'],
        }
      : {
          keeps: 'x',
          // 0.5 x (1 + tanh(u)) = x * sigmoid(2u): no 1 + tanh cancellation for x < 0
          forward: (x, s) => mul(x, sigmoidOf(s.let('u2', geluTanhArg(x)), s)),
          backward: (x, dy, s) => {
            const sg = s.let('sg', sigmoidOf(s.let('u2', geluTanhArg(x)), s));
            // d/dx x sigmoid(2u) = s + x * 2 s (1 - s) * u'(x), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
            const du = mul(c(2 * SQRT_2_OVER_PI), add(c(1), mul(mul(x, x), c(3 * GELU_TANH_K))));
            return mul(dy, add(sg, mul(mul(mul(x, sg), sub(c(1), sg)), du)));
          },
          doc: ['y = 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)', 'dx = dy * (s + 2 x s (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2)), s = sigmoid(2u)'],
        },
};

/** 2u = 2 sqrt(2/pi) (x + 0.044715 x^3) */
const geluTanhArg = (x: Expr): Expr => mul(c(2 * SQRT_2_OVER_PI), add(x, mul(mul(mul(x, x), x), c(GELU_TANH_K))));

export function activationRule(layer: ActivationLayerPlan): ActivationRule {
  return (RULES[layer.type] as (l: ActivationLayerPlan) => ActivationRule)(layer);
}

/** a constant in a kernel name: 0.01 -> 0p01, -0.2 -> m0p2, 1e-7 -> 1em7 */
const nameNumber = (x: number): string => String(x).replace('e+', 'e').replace(/-/g, 'm').replace('.', 'p');

/** `sigmoid_2x3x4`, `leaky_relu_s0p2_16x8`, `elu_a1_16x8`, `gelu_tanh_16x8` */
export function activationBaseName(layer: ActivationLayerPlan): string {
  const tag = shapeTag(layer.inShape);
  switch (layer.type) {
    case 'leaky_relu':
      return `leaky_relu_s${nameNumber(layer.negativeSlope)}_${tag}`;
    case 'elu':
      return `elu_a${nameNumber(layer.alpha)}_${tag}`;
    case 'gelu':
      return `gelu${layer.approximate === 'tanh' ? '_tanh' : ''}_${tag}`;
    default:
      return `${layer.type}_${tag}`;
  }
}

/** one flat parallel loop: the element's locals, then the store */
function elementwise(name: string, doc: readonly string[], reads: readonly string[], out: string, n: number, value: (loads: Expr[], s: Scope) => Expr): Kernel {
  return kernel({
    name,
    doc,
    buffers: [...reads.map((r) => buf(r, n, 'read')), buf(out, n, 'write')],
    body: [
      parallel('i', 0, n, (i) => {
        const s = new Scope();
        const y = value(reads.map((r) => load(r, i)), s);
        return [...s.stmts, store(out, i, y)];
      }),
    ],
  });
}

export function lowerActivation(layer: ActivationLayerPlan): LayerProgram {
  const n = numel(layer.inShape);
  const rule = activationRule(layer);
  const base = activationBaseName(layer);
  const doc = [`${layer.type} on [${layer.inShape.join(', ')}] (${n} elements)`];
  // read each input once: a formula uses it several times
  const fwd = elementwise(`${base}_fwd`, [...doc, rule.doc[0]], ['x'], 'y', n, ([x], s) => rule.forward(s.let('xv', x), s));
  const bwd = elementwise(`${base}_dx`, [...doc, rule.doc[1]], [rule.keeps, 'dy'], 'dx', n, ([k, dy], s) => rule.backward(s.let(`${rule.keeps}v`, k), dy, s));
  return {
    layer: layer.name,
    scratch: [],
    forward: [{ kernel: fwd, args: { x: 'x', y: 'y' } }],
    backward: [{ kernel: bwd, args: { [rule.keeps]: rule.keeps, dy: 'dy', dx: 'dx' } }],
    alias: false,
  };
}
