// The activations' numerics, apart from the shared case table:
//   - the reference's own float64 erf against published values (mpmath, 40 digits);
//   - the generator's erf / Phi / tanh approximations (src/kernels/activation.ts, as IR) in
//     doubles (the TS target) against the reference's, over a dense grid: the measured
//     maximum error is what the module header states;
//   - PyTorch's answers at NaN, +-0, the kinks and large magnitudes (test/fixtures/torch/
//     layers.json, float32) for every activation: the reference, the TS kernels and the WGSL
//     kernels (on an adapter), NaN for NaN, exact values at the kinks, no overflow.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Expr } from '../src/ir/types.ts';
import { buf, kernel, load, parallel, store } from '../src/ir/build.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { renderKernelWgsl } from '../src/render/wgsl.ts';
import { erfOf, lowerActivation, normalCdfOf, Scope, tanhOf } from '../src/kernels/activation.ts';
import { erf, erfc, normalCdf } from '../src/reference/activation.ts';
import { refBackward, refForward } from '../src/reference/index.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ActivationLayerPlan } from '../src/plan/types.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';
import { numericDeviceOrSkip, runWgslKernel } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;

// ---- erf in float64, and the generator's approximations --------------------------------

describe('the reference erf (float64: series and continued fraction)', () => {
  // mpmath.erf / erfc at 40 digits, rounded to doubles
  it.each([
    [1e-8, 1.1283791670955126e-8],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.5, 0.9661051464753108],
    [2.5, 0.999593047982555],
    [2.999, 0.9999777698314002],
    [3, 0.9999779095030014],
    [3.5, 0.9999992569016276],
    [5, 0.9999999999984626],
  ])('erf(%s)', (z, want) => {
    expect(Math.abs(erf(z) - want)).toBeLessThanOrEqual(4.5e-16);
    expect(erf(-z)).toBe(-erf(z));
  });
  it.each([
    [-2, 1.9953222650189528],
    [0.5, 0.4795001221869535],
    [2.9, 4.109787809945886e-5],
    [3, 2.209049699858544e-5],
    [4, 1.541725790028002e-8],
    [6, 2.1519736712498913e-17],
    [10, 2.088487583762545e-45],
    [26, 5.663192408856143e-296],
  ])('erfc(%s), relative', (z, want) => {
    expect(Math.abs(erfc(z) / want - 1)).toBeLessThan(1e-14);
  });
});

/** a kernel computing f elementwise, run in doubles (the TS renderer) */
function tsElementwise(f: (x: Expr, s: Scope) => Expr, xs: Float64Array): Float64Array {
  const n = xs.length;
  const k = kernel({ name: 'probe', buffers: [buf('x', n, 'read'), buf('y', n, 'write')], body: [parallel('i', 0, n, (i) => { const s = new Scope(); const y = f(load('x', i), s); return [...s.stmts, store('y', i, y)]; })] });
  // Float64Array buffers: the TS kernel's math is doubles, so this measures the approximation alone
  const bufs = { x: xs as unknown as Float32Array, y: new Float64Array(n) as unknown as Float32Array };
  runTsKernel(k, bufs);
  return bufs.y as unknown as Float64Array;
}

const grid = (lo: number, hi: number, step: number) => Float64Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);

describe("the generator's approximations, in doubles, against the reference", () => {
  it('erf: max |error| < 3e-9 on [-6, 6] (measured 2.1e-9, at the |z| = 1 split)', () => {
    const zs = grid(-6, 6, 1e-3);
    const got = tsElementwise(erfOf, zs);
    let worst = 0;
    zs.forEach((z, i) => (worst = Math.max(worst, Math.abs(got[i] - erf(z)))));
    expect(worst).toBeLessThan(3e-9);
    expect(worst).toBeGreaterThan(1e-10); // a polynomial, not the reference itself
  });
  it('Phi: relative error < 2e-8 down to x = -12, the left tail included', () => {
    const xs = grid(-12, 6, 1e-3);
    const got = tsElementwise(normalCdfOf, xs);
    let worst = 0;
    xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[i] / normalCdf(x) - 1))));
    expect(worst).toBeLessThan(2e-8);
  });
  it('tanh: max |error| < 1e-10 on [-10, 10], exactly +-1 far out', () => {
    const xs = grid(-10, 10, 1e-3);
    const got = tsElementwise(tanhOf, xs);
    let worst = 0;
    xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[i] - Math.tanh(x)))));
    expect(worst).toBeLessThan(1e-10);
    expect(Array.from(tsElementwise(tanhOf, Float64Array.from([-100, 100, -1e30, 1e30])))).toEqual([-1, 1, -1, 1]);
  });
});

describe("the generator's approximations, in float32 on the adapter", () => {
  /** the same probe kernel as WGSL: float32 math as the GPU target runs it */
  async function wgslElementwise(f: (x: Expr, s: Scope) => Expr, xs: Float32Array): Promise<Float32Array> {
    const n = xs.length;
    const k = kernel({ name: 'probe', buffers: [buf('x', n, 'read'), buf('y', n, 'write')], body: [parallel('i', 0, n, (i) => { const s = new Scope(); const y = f(load('x', i), s); return [...s.stmts, store('y', i, y)]; })] });
    const out = await runWgslKernel(device!, renderKernelWgsl(lowerKernel(k)), k.buffers, { x: xs, y: new Float32Array(n) });
    return out.y as Float32Array;
  }
  const f32grid = (lo: number, hi: number, step: number) => Float32Array.from(grid(lo, hi, step));
  const worst = (xs: Float32Array, got: Float32Array, want: (x: number) => number) => xs.reduce((w, x, i) => Math.max(w, Math.abs(got[i] - want(x))), 0);

  gpuIt('erf: max |error| < 3e-7 on [-6, 6] (float32 rounding; measured 1.15e-7 on lavapipe)', async () => {
    const xs = f32grid(-6, 6, 1e-3);
    const e = worst(xs, await wgslElementwise(erfOf, xs), erf);
    expect(e).toBeLessThan(3e-7);
  });
  gpuIt('Phi and tanh: max |error| < 3e-7 on [-10, 10]', async () => {
    const xs = f32grid(-10, 10, 1e-3);
    expect(worst(xs, await wgslElementwise(normalCdfOf, xs), normalCdf)).toBeLessThan(3e-7);
    expect(worst(xs, await wgslElementwise(tanhOf, xs), Math.tanh)).toBeLessThan(3e-7);
  });
});

// the plan's FLOPs per element are the kernels' operation counts (the plan cannot read the IR)
describe('plan FLOPs = the operations the activation kernels run', () => {
  const ops = (e: Expr): number => {
    switch (e.k) {
      case 'bin':
        return (['&&', '||'].includes(e.op) ? 0 : 1) + ops(e.a) + ops(e.b);
      case 'call':
        return (e.fn === 'abs' ? 0 : 1) + e.args.reduce((n, a) => n + ops(a), 0);
      case 'select':
        return ops(e.cond) + ops(e.then) + ops(e.else);
      default:
        return 0;
    }
  };
  /** the loop body's operations (the index i is the loop variable: no index math) */
  const opsOf = (k: ReturnType<typeof lowerKernel>): number => {
    const loop = k.body[0];
    if (loop.k !== 'for') throw new Error('one flat loop');
    return loop.body.reduce((n, s) => n + (s.k === 'let' ? ops(s.init) : s.k === 'store' ? ops(s.value) : 0), 0);
  };
  it.each([[{ type: 'relu' }], [{ type: 'leaky_relu' }], [{ type: 'relu6' }], [{ type: 'elu' }], [{ type: 'sigmoid' }], [{ type: 'tanh' }], [{ type: 'silu' }], [{ type: 'gelu' }], [{ type: 'gelu', approximate: 'tanh' }]])('%j', (layer) => {
    const l = planModel(parseModel({ name: 'f', batch: 1, input: [1, 10], layers: [layer] })).layers[0] as ActivationLayerPlan;
    const prog = lowerActivation(l);
    expect([l.flops.forward / 10, l.flops.gradInput / 10]).toEqual([opsOf(lowerKernel(prog.forward[0].kernel)), opsOf(lowerKernel(prog.backward[0].kernel))]);
  });
});

// ---- PyTorch's answers at the special values ---------------------------------------------

type Num = number | string;
interface Special {
  layer: Record<string, unknown> & { type: string };
  y: Num[];
  dx: Num[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/layers.json', import.meta.url), 'utf8')) as {
  special: { x: Num[]; dy: number; activations: Special[] };
};
const num = (v: Num): number => (typeof v === 'number' ? v : Number(v));
const X = Float32Array.from(fixture.special.x.map(num));
const DY = new Float32Array(X.length).fill(fixture.special.dy);

function planOf(layer: Special['layer']): ActivationLayerPlan {
  return planModel(parseModel({ name: 'special', batch: 1, input: [1, X.length], layers: [layer] })).layers[0] as ActivationLayerPlan;
}

const label = (l: Special['layer']) => Object.entries(l).map(([k, v]) => (k === 'type' ? v : `${k}=${v}`)).join(' ');

/**
 * relu and relu6 only select or clamp, so they are exact; the rest within a few float32
 * roundings of PyTorch's own float32 answer (leaky_relu too: PyTorch multiplies by the slope
 * rounded to float32, the TS kernel by the double)
 */
const EXACT = new Set(['relu', 'relu6']);
const PIECEWISE = new Set(['relu', 'leaky_relu', 'relu6']);

function expectLikeTorch(what: string, got: ArrayLike<number>, want: Num[], exact: boolean): void {
  for (let i = 0; i < want.length; i++) {
    const w = num(want[i]);
    const at = `${what} at x = ${X[i]}: got ${got[i]}, PyTorch ${w}`;
    if (Number.isNaN(w)) expect(Number.isNaN(got[i]), at).toBe(true);
    else if (exact) expect(got[i], at).toBe(w);
    else expect(Math.abs(got[i] - w), at).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w)));
  }
}

/** what no target may get wrong, whatever the tolerance: the kinks and the saturation */
function expectKinks(type: string, y: ArrayLike<number>, dx: ArrayLike<number>, want: Special): void {
  const at = (v: number) => Array.from(X).findIndex((x) => Object.is(x, v));
  if (type === 'tanh') for (const v of [20, 100, 1e4]) expect([y[at(v)], y[at(-v)]]).toEqual([1, -1]);
  if (type === 'sigmoid') {
    expect(y[at(100)]).toBe(1);
    expect(y[at(-100)]).toBeGreaterThanOrEqual(0);
    expect(y[at(-100)]).toBeLessThan(1e-40);
  }
  // the gradient at x = 0 (and relu6's x = 6, elu's alpha) exactly as PyTorch gives it
  if (PIECEWISE.has(type) || type === 'elu') for (const v of [0, 6]) expect(dx[at(v)], `${type} dx at ${v}`).toBe(num(want.dx[at(v)]));
}

describe('PyTorch at NaN, +-0, the kinks and large magnitudes (layers.json "special")', () => {
  it('covers every activation kind', () => {
    expect(new Set(fixture.special.activations.map((s) => s.layer.type))).toEqual(new Set(['relu', 'leaky_relu', 'relu6', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh']));
  });

  for (const s of fixture.special.activations) {
    const exact = EXACT.has(s.layer.type);
    it(`${label(s.layer)}: the reference`, () => {
      const l = planOf(s.layer);
      const { y } = refForward(l, X);
      const { dx } = refBackward(l, X, y, DY);
      expectLikeTorch('y', y, s.y, false);
      expectLikeTorch('dx', dx, s.dx, false);
    });

    it(`${label(s.layer)}: the TS kernels`, () => {
      const prog = lowerActivation(planOf(s.layer));
      const bufs: Record<string, Float32Array> = { x: Float32Array.from(X), y: new Float32Array(X.length), dy: DY, dx: new Float32Array(X.length) };
      for (const c of [...prog.forward, ...prog.backward]) {
        const named: Record<string, Float32Array> = {};
        for (const [k, b] of Object.entries(c.args)) named[k] = bufs[b];
        runTsKernel(c.kernel, named);
      }
      expectLikeTorch('y', bufs.y, s.y, exact);
      expectLikeTorch('dx', bufs.dx, s.dx, exact);
      expectKinks(s.layer.type, bufs.y, bufs.dx, s);
    });

    gpuIt(`${label(s.layer)}: the WGSL kernels`, async () => {
      const prog = lowerActivation(planOf(s.layer));
      const bufs: Record<string, Float32Array> = { x: Float32Array.from(X), y: new Float32Array(X.length), dy: DY, dx: new Float32Array(X.length) };
      for (const c of [...prog.forward, ...prog.backward]) {
        const data: Record<string, Float32Array> = {};
        for (const [k, b] of Object.entries(c.args)) data[k] = bufs[b];
        const out = await runWgslKernel(device!, renderKernelWgsl(lowerKernel(c.kernel)), c.kernel.buffers, data);
        for (const [k, a] of Object.entries(out)) bufs[c.args[k]].set(a as Float32Array);
      }
      expectLikeTorch('y', bufs.y, s.y, exact);
      expectLikeTorch('dx', bufs.dx, s.dx, exact);
      expectKinks(s.layer.type, bufs.y, bufs.dx, s);
    });
  }
});

// regression: relu was select(x > 0, x, 0), which turns NaN into 0 (PyTorch's relu(NaN) is NaN),
// and its backward tested x, which gives 0 where PyTorch's threshold_backward on y gives dy
describe('relu keeps NaN', () => {
  const l = planOf({ type: 'relu' });
  it('forward NaN -> NaN, backward at NaN passes dy (TS)', () => {
    const prog = lowerActivation(l);
    const y = new Float32Array(X.length);
    runTsKernel(prog.forward[0].kernel, { x: X, y });
    expect(Number.isNaN(y[0])).toBe(true);
    const dx = new Float32Array(X.length);
    runTsKernel(prog.backward[0].kernel, { y, dy: DY, dx });
    expect(dx[0]).toBe(0.75);
  });
});
