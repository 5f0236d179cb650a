// Every non-conv layer kernel (activations, pools, flatten, linear, upsample, zero pad, add, concat) against the float64
// reference on the shared case table, plus the softmax cross-entropy kernel (the optimizer
// kernels and the mean losses over every element: optim-kernels.test.ts).
// Tolerance: |got - ref| <= 2 * 2^-23 * (R + 2) * max(1, max |ref|), R the reduction length.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { ConvgenError } from '../src/errors.ts';
import { CASES, mulberry32, planCase, randomArray, randomParams, WIDE } from './cases.ts';
import type { LayerPlan } from '../src/plan/types.ts';
import { inputShapes, numel } from '../src/plan/types.ts';
import type { LayerProgram } from '../src/kernels/types.ts';
import { lowerActivation } from '../src/kernels/activation.ts';
import { lowerFlatten } from '../src/kernels/flatten.ts';
import { lowerPool } from '../src/kernels/pool.ts';
import { lowerLinear } from '../src/kernels/linear.ts';
import { lowerUpsample } from '../src/kernels/upsample.ts';
import { lowerUpsampleNearest } from '../src/kernels/upsample-nearest.ts';
import { lowerZeroPad } from '../src/kernels/zero-pad.ts';
import { lowerSoftmaxCrossEntropy } from '../src/kernels/loss.ts';
import { refBackwardInputs, refForwardInputs, softmaxCrossEntropy, softmaxRows } from '../src/reference/index.ts';
import { lowerOutputSoftmax } from '../src/kernels/softmax.ts';
import { lowerAdd } from '../src/kernels/add.ts';
import { lowerConcat } from '../src/kernels/concat.ts';
import { gradInputArg, inputArg } from '../src/kernels/types.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';

const ACTIVATIONS = ['relu', 'leaky_relu', 'relu6', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh'];
const MINE = new Set([...ACTIVATIONS, 'add', 'concat', 'flatten', 'maxpool1d', 'maxpool2d', 'avgpool1d', 'avgpool2d', 'global_maxpool', 'global_avgpool', 'linear', 'upsample_nearest2d', 'upsample_bilinear2d', 'zero_pad1d', 'zero_pad2d']);

function lowerMine(l: LayerPlan): LayerProgram {
  switch (l.type) {
    case 'relu':
    case 'leaky_relu':
    case 'relu6':
    case 'elu':
    case 'gelu':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
      return lowerActivation(l);
    case 'flatten':
      return lowerFlatten(l);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return lowerPool(l);
    case 'linear':
      return lowerLinear(l);
    case 'upsample_nearest2d':
      return lowerUpsampleNearest(l);
    case 'upsample_bilinear2d':
      return lowerUpsample(l);
    case 'zero_pad1d':
    case 'zero_pad2d':
      return lowerZeroPad(l);
    case 'add':
      return lowerAdd(l);
    case 'concat':
      return lowerConcat(l);
    default:
      throw new Error(`not mine: ${l.type}`);
  }
}

/** reduction length of each output of a role, for the tolerance */
function reduction(l: LayerPlan, role: 'y' | 'dx' | 'gradWeight' | 'gradBias'): number {
  switch (l.type) {
    case 'linear':
      return role === 'y' ? l.inFeatures : role === 'dx' ? l.outFeatures : l.batch;
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return l.geometry.kH * l.geometry.kW;
    case 'upsample_nearest2d':
      return role === 'y' ? 1 : l.scaleH * l.scaleW;
    case 'upsample_bilinear2d':
      return role === 'y' ? 4 : 4 * l.scaleH * l.scaleW;
    case 'add':
      return role === 'y' ? l.inputs.length : 1;
    // exp and polynomials: a few float32 roundings in a row (convgen check's budget)
    case 'elu':
    case 'gelu':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
      return 4;
    default:
      return 1;
  }
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, R: number, what: string) {
  expect(got.length, what).toBe(want.length);
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) maxRef = Math.max(maxRef, Math.abs(want[i]));
  const tol = 2 * 2 ** -23 * (R + 2) * Math.max(1, maxRef);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (!(worst <= tol)) throw new Error(`${what}: max abs error ${worst} at ${at} (got ${got[at]}, want ${want[at]}) > tolerance ${tol}`);
}

/** run a layer program's kernels: forward then backward, on named buffers */
function runProgram(p: LayerProgram, bufs: Record<string, Float32Array | Int32Array>) {
  for (const s of p.scratch) bufs[s.name] ??= s.t === 'f32' ? new Float32Array(s.length) : new Int32Array(s.length);
  const call = (calls: LayerProgram['forward']) => {
    for (const c of calls) {
      const named: Record<string, Float32Array | Int32Array> = {};
      for (const [k, b] of Object.entries(c.args)) named[k] = bufs[b];
      runTsKernel(c.kernel, named);
    }
  };
  call(p.forward);
  call(p.backward);
}

/** every layer of a plan through its kernels, each output compared with the reference */
function checkPlanLayers(plan: ReturnType<typeof planCase>, seed: number, ties: boolean | 'wide') {
  const rng = mulberry32(seed);
  const params = randomParams(plan, rng);
  // each layer's output by the name its readers' `inputs` use
  const values = new Map<string, Float32Array>([['input', Float32Array.from(randomArray(numel(plan.inShape), rng).map((v) => (ties === 'wide' ? WIDE * v : ties ? Math.floor(1.5 * (v + 1)) : v)))]]);
  for (const l of plan.layers) {
    const p = lowerMine(l);
    // add and concat get a fresh input per slot, so a kernel that mixes two up cannot pass
    const merge = l.type === 'add' || l.type === 'concat';
    const xs = merge ? inputShapes(l).map((sh) => Float32Array.from(randomArray(numel(sh), rng))) : l.inputs.map((name) => values.get(name)!);
    const w = params[l.name]?.weight ? Float32Array.from(params[l.name].weight!) : undefined;
    const b = params[l.name]?.bias ? Float32Array.from(params[l.name].bias!) : undefined;
    const dy = Float32Array.from(randomArray(numel(l.outShape), rng));
    const ref = refForwardInputs(l, xs, { weight: w, bias: b });
    const refB = refBackwardInputs(l, xs, ref.y, dy, { weight: w, bias: b }, ref.cache);
    if (p.alias) {
      expect(p.forward.length + p.backward.length).toBe(0);
      values.set(l.name, Float32Array.from(ref.y));
      continue;
    }
    const n = xs.length;
    const bufs: Record<string, Float32Array | Int32Array> = { y: new Float32Array(numel(l.outShape)).fill(NaN), dy };
    xs.forEach((x, k) => {
      bufs[inputArg(k, n)] = Float32Array.from(x);
      bufs[gradInputArg(k, n)] = new Float32Array(x.length).fill(NaN);
    });
    if (w) bufs.weight = w;
    if (b) bufs.bias = b;
    if (w) bufs.gradWeight = new Float32Array(w.length).fill(NaN);
    if (b) bufs.gradBias = new Float32Array(b.length).fill(NaN);
    runProgram(p, bufs);
    expectClose(bufs.y, ref.y, reduction(l, 'y'), `${l.name} y`);
    if (p.passGrad) {
      // add: dx_k is dy itself, bound by the model; the layer runs no backward kernel
      expect(p.backward).toEqual([]);
      for (const dx of refB.dxs) expect(Array.from(dx)).toEqual(Array.from(dy));
    } else {
      xs.forEach((_, k) => expectClose(bufs[gradInputArg(k, n)], refB.dxs[k], reduction(l, 'dx'), `${l.name} ${gradInputArg(k, n)}`));
    }
    if (refB.gradWeight) expectClose(bufs.gradWeight, refB.gradWeight, reduction(l, 'gradWeight'), `${l.name} gradWeight`);
    if (refB.gradBias) expectClose(bufs.gradBias, refB.gradBias, reduction(l, 'gradBias'), `${l.name} gradBias`);
    if (ref.cache.argmax) expect(Array.from(bufs.argmax)).toEqual(Array.from(ref.cache.argmax));
    values.set(l.name, bufs.y as Float32Array);
  }
}

describe('non-conv layer kernels vs the reference', () => {
  for (const c of CASES) {
    const mine = c.kinds.filter((k) => MINE.has(k));
    if (mine.length === 0 || c.kinds.some((k) => !MINE.has(k))) continue;
    it(c.name, () => {
      const plan = planCase(c);
      // the case's own input: uniform, {0, 1, 2} for ties, uniform in [-8, 8) for wide
      checkPlanLayers(plan, 1234, c.input === 'wide' ? 'wide' : c.input === 'ties');
    });
  }
});

describe('softmax cross-entropy kernel', () => {
  const run = (logits: Float32Array, labels: Int32Array, batch: number, classes: number) => {
    const k = lowerSoftmaxCrossEntropy(batch, classes);
    const out = runTsKernel(k, { logits, labels, dlogits: new Float32Array(batch * classes).fill(NaN), loss: new Float32Array(1) });
    return { loss: (out.loss as Float32Array)[0], dlogits: out.dlogits as Float32Array };
  };
  it('matches the reference on random logits (batch 7, 5 classes)', () => {
    const rng = mulberry32(7);
    const logits = Float32Array.from(randomArray(35, rng).map((v) => 4 * v));
    const labels = Int32Array.from({ length: 7 }, () => Math.floor(rng() * 5));
    const got = run(logits, labels, 7, 5);
    const ref = softmaxCrossEntropy(logits, labels, 7, 5);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-6 * Math.max(1, ref.loss));
    expectClose(got.dlogits, ref.dLogits, 5, 'dlogits');
  });
  it('stays finite and exact for logits of +-1e4', () => {
    const logits = Float32Array.from([1e4, -1e4, 0, -1e4, 1e4, 1e4]);
    const labels = Int32Array.from([1, 0]);
    const got = run(logits, labels, 2, 3);
    const ref = softmaxCrossEntropy(logits, labels, 2, 3);
    expect(Number.isFinite(got.loss)).toBe(true);
    // sample 0: 2e4 nats; sample 1: log 2 + 2e4
    expect(got.loss).toBeCloseTo(ref.loss, 1);
    expect(Math.abs(got.loss - (2e4 + 2e4 + Math.log(2)) / 2)).toBeLessThan(1e-2);
    expectClose(got.dlogits, ref.dLogits, 3, 'dlogits');
  });
});

describe('output softmax kernel (output_softmax)', () => {
  const run = (logits: Float32Array, batch: number, classes: number) =>
    runTsKernel(lowerOutputSoftmax(batch, classes), { logits, probs: new Float32Array(batch * classes).fill(NaN) }).probs as Float32Array;
  it('matches the reference on random logits (batch 7, 5 classes)', () => {
    const logits = Float32Array.from(randomArray(35, mulberry32(8)), (v) => 4 * v);
    expectClose(run(logits, 7, 5), softmaxRows(logits, 7, 5), 5, 'probs');
  });
  it('is stable for logits of +-1e4, and a NaN logit makes its row NaN (as torch.softmax)', () => {
    const got = run(Float32Array.from([1e4, -1e4, 1e4, 0, NaN, 1, -1e4, 1e4, 0]), 3, 3);
    expect([...got.subarray(0, 3)]).toEqual([0.5, 0, 0.5]);
    expect([...got.subarray(3, 6)].every(Number.isNaN)).toBe(true);
    expect([...got.subarray(6, 9)]).toEqual([0, 1, 0]);
  });
});

// random configurations, odd corners included: stride larger than the window, padding up to
// k/2, 1-wide inputs, non-square windows, batch 1 and 7, channels not a multiple of 4, ties
describe('property: random pool / upsample / linear configs vs the reference', () => {
  const dim = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
  const batch = fc.constantFrom(1, 2, 7);
  /** plan a model.json object; configs the planner refuses (output < 1) are skipped */
  const tryPlan = (json: object) => {
    try {
      return planModel(parseModel(json));
    } catch (err) {
      if (err instanceof ConvgenError) return null;
      throw err;
    }
  };
  const pool = fc.record({
    type: fc.constantFrom('maxpool2d', 'avgpool2d', 'maxpool1d', 'avgpool1d'),
    batch, c: dim(1, 5), h: dim(1, 9), w: dim(1, 9),
    kh: dim(1, 4), kw: dim(1, 4), sh: dim(1, 5), sw: dim(1, 5), ph: dim(0, 2), pw: dim(0, 2),
    cip: fc.boolean(), ties: fc.boolean(), seed: dim(0, 1e6),
  });
  it('pools (150 configs)', () => {
    let ran = 0;
    fc.assert(
      fc.property(pool, (q) => {
        const oneD = q.type === 'maxpool1d' || q.type === 'avgpool1d';
        const layer: Record<string, unknown> = oneD
          ? { type: q.type, kernel: q.kw, stride: q.sw, padding: Math.min(q.pw, Math.floor(q.kw / 2)) }
          : { type: q.type, kernel: [q.kh, q.kw], stride: [q.sh, q.sw], padding: [Math.min(q.ph, Math.floor(q.kh / 2)), Math.min(q.pw, Math.floor(q.kw / 2))] };
        if (q.type === 'avgpool2d' || q.type === 'avgpool1d') layer.count_include_pad = q.cip;
        const plan = tryPlan({ name: 'p', batch: q.batch, input: oneD ? [q.c, q.w] : [q.c, q.h, q.w], layers: [layer] });
        if (!plan) return;
        ran++;
        checkPlanLayers(plan, q.seed, q.ties);
      }),
      { numRuns: 150, seed: 42 },
    );
    expect(ran).toBeGreaterThan(100);
  });
  it('global pools, activations, upsample (80 configs)', () => {
    fc.assert(
      fc.property(
        fc.record({ type: fc.constantFrom('global_maxpool', 'global_avgpool', ...ACTIVATIONS, 'upsample_nearest2d', 'upsample_bilinear2d'), batch, c: dim(1, 5), h: dim(1, 6), w: dim(1, 6), sh: dim(1, 4), sw: dim(1, 4), oneD: fc.boolean(), ties: fc.boolean(), seed: dim(0, 1e6) }),
        (q) => {
          const up = q.type === 'upsample_nearest2d' || q.type === 'upsample_bilinear2d';
          const oneD = q.oneD && !up;
          const layer = up ? { type: q.type, scale_factor: [q.sh, q.sw] } : { type: q.type };
          const plan = tryPlan({ name: 'g', batch: q.batch, input: oneD ? [q.c, q.w] : [q.c, q.h, q.w], layers: [layer] });
          expect(plan).not.toBeNull();
          checkPlanLayers(plan!, q.seed, q.ties);
        },
      ),
      { numRuns: 80, seed: 43 },
    );
  });
  it('linear (40 configs)', () => {
    fc.assert(
      fc.property(fc.record({ batch, c: dim(1, 3), l: dim(1, 9), out: dim(1, 13), bias: fc.boolean(), seed: dim(0, 1e6) }), (q) => {
        const plan = tryPlan({ name: 'l', batch: q.batch, input: [q.c, q.l], layers: [{ type: 'flatten' }, { type: 'linear', out_features: q.out, bias: q.bias }] });
        expect(plan).not.toBeNull();
        checkPlanLayers(plan!, q.seed, false);
      }),
      { numRuns: 40, seed: 44 },
    );
  });
});
