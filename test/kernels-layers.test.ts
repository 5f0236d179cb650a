// Every non-conv layer kernel (relu, pools, flatten, linear, upsample) against the float64
// reference on the shared case table, plus the model-level loss and SGD kernels.
// Tolerance: |got - ref| <= 2 * 2^-23 * (R + 2) * max(1, max |ref|), R the reduction length.

import { describe, expect, it } from 'vitest';
import { CASES, caseInput, mulberry32, planCase, randomArray, randomParams } from './cases.ts';
import type { LayerPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import type { LayerProgram } from '../src/kernels/types.ts';
import { lowerRelu } from '../src/kernels/relu.ts';
import { lowerFlatten } from '../src/kernels/flatten.ts';
import { lowerPool } from '../src/kernels/pool.ts';
import { lowerLinear } from '../src/kernels/linear.ts';
import { lowerUpsample } from '../src/kernels/upsample.ts';
import { lowerSoftmaxCrossEntropy } from '../src/kernels/loss.ts';
import { lowerSgd } from '../src/kernels/sgd.ts';
import { refBackward, refForward, softmaxCrossEntropy } from '../src/reference/index.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';

const MINE = new Set(['relu', 'flatten', 'maxpool1d', 'maxpool2d', 'avgpool2d', 'global_maxpool', 'global_avgpool', 'linear', 'upsample_bilinear2d']);

function lowerMine(l: LayerPlan): LayerProgram {
  switch (l.type) {
    case 'relu':
      return lowerRelu(l);
    case 'flatten':
      return lowerFlatten(l);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return lowerPool(l);
    case 'linear':
      return lowerLinear(l);
    case 'upsample_bilinear2d':
      return lowerUpsample(l);
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
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return l.geometry.kH * l.geometry.kW;
    case 'upsample_bilinear2d':
      return role === 'y' ? 4 : 4 * l.scaleH * l.scaleW;
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

describe('non-conv layer kernels vs the reference', () => {
  for (const c of CASES) {
    const mine = c.kinds.filter((k) => MINE.has(k));
    if (mine.length === 0 || c.kinds.some((k) => !MINE.has(k))) continue;
    it(c.name, () => {
      const plan = planCase(c);
      const rng = mulberry32(1234);
      const params = randomParams(plan, rng);
      let x = Float32Array.from(caseInput(c, plan, rng));
      for (const l of plan.layers) {
        const p = lowerMine(l);
        const w = params[l.name]?.weight ? Float32Array.from(params[l.name].weight!) : undefined;
        const b = params[l.name]?.bias ? Float32Array.from(params[l.name].bias!) : undefined;
        const dy = Float32Array.from(randomArray(numel(l.outShape), rng));
        const ref = refForward(l, x, { weight: w, bias: b });
        const refB = refBackward(l, x, ref.y, dy, { weight: w, bias: b }, ref.cache);
        if (p.alias) {
          expect(p.forward.length + p.backward.length).toBe(0);
          x = Float32Array.from(ref.y);
          continue;
        }
        const bufs: Record<string, Float32Array | Int32Array> = {
          x: Float32Array.from(x),
          y: new Float32Array(numel(l.outShape)).fill(NaN),
          dy,
          dx: new Float32Array(numel(l.inShape)).fill(NaN),
        };
        if (w) bufs.weight = w;
        if (b) bufs.bias = b;
        if (w) bufs.gradWeight = new Float32Array(w.length).fill(NaN);
        if (b) bufs.gradBias = new Float32Array(b.length).fill(NaN);
        runProgram(p, bufs);
        expectClose(bufs.y, ref.y, reduction(l, 'y'), `${l.name} y`);
        expectClose(bufs.dx, refB.dx, reduction(l, 'dx'), `${l.name} dx`);
        if (refB.gradWeight) expectClose(bufs.gradWeight, refB.gradWeight, reduction(l, 'gradWeight'), `${l.name} gradWeight`);
        if (refB.gradBias) expectClose(bufs.gradBias, refB.gradBias, reduction(l, 'gradBias'), `${l.name} gradBias`);
        if (ref.cache.argmax) expect(Array.from(bufs.argmax)).toEqual(Array.from(ref.cache.argmax));
        x = bufs.y as Float32Array;
      }
    });
  }
});
