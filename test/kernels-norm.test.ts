// Batch norm and dropout kernels (rendered to TS) against the float64 reference, in both
// modes, on the shared case table and on random configs; and the dropout stream itself:
// the kernel's masks are the reference's bit for bit, drop about p of the elements, and
// change with the seed, the layer and the step. (The same kernels as WGSL: wgsl-kernels.test.ts
// runs the whole table, wgsl-norm.test.ts the stream and the reductions' determinism.)

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CASES, planCase } from './cases.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { DropoutLayerPlan, LayerPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { lowerLayer } from '../src/kernels/index.ts';
import { lowerDropout } from '../src/kernels/dropout.ts';
import { checkLayer, rng32, type CheckRow } from '../src/check/ts.ts';
import { dropoutMask } from '../src/reference/index.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';

const NORM = new Set(['batchnorm1d', 'batchnorm2d', 'dropout']);
const isNorm = (l: LayerPlan) => NORM.has(l.type);

/** every row within tolerance, and every output the layer has compared, in each mode it has */
function expectAllChecked(l: LayerPlan, rows: readonly CheckRow[]) {
  const bad = rows.filter((r) => r.result && !r.result.ok).map((r) => `${r.kernel}: ${r.result!.maxAbs} > ${r.result!.tolerance}`);
  expect(bad).toEqual([]);
  const compared = new Set(rows.filter((r) => r.result).map((r) => r.kernel.replace(/.*_(train|eval)( \((\w+)\))?$/, (_, mode, __, out) => `${mode}:${out ?? '?'}`)));
  const prog = lowerLayer(l);
  const modes = prog.eval ? ['train', 'eval'] : ['train'];
  for (const mode of modes) {
    const kernels = rows.filter((r) => r.result && r.kernel.includes(`_${mode}`));
    expect(kernels.length, `${l.name}: ${mode} mode compared nothing`).toBeGreaterThan(0);
  }
  // batch norm in training mode writes its running stats, and they are compared
  if ((l.type === 'batchnorm1d' || l.type === 'batchnorm2d') && l.trackRunningStats) expect(compared.has('train:running')).toBe(true);
  if (l.weightShape) {
    for (const mode of modes) {
      expect(rows.some((r) => r.result && r.kernel.includes(`_${mode}`) && r.kernel.endsWith('(gradWeight)')), `${l.name} ${mode} gradWeight`).toBe(true);
    }
  }
}

describe('batch norm and dropout kernels vs the reference: the shared case table', () => {
  for (const c of CASES) {
    if (!c.kinds.some((k) => NORM.has(k))) continue;
    it(c.name, () => {
      const plan = planCase(c);
      const rng = rng32(11);
      for (const l of plan.layers) if (isNorm(l)) expectAllChecked(l, checkLayer(l, rng));
    });
  }
});

describe('property: random batch norm configs vs the reference, both modes', () => {
  it('60 configs (chunks of 256 positions: one, several, a short last one)', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.constantFrom(1, 2, 3, 7),
          c: fc.integer({ min: 1, max: 4 }),
          h: fc.integer({ min: 1, max: 20 }),
          w: fc.integer({ min: 1, max: 30 }),
          oneD: fc.boolean(),
          momentum: fc.constantFrom(0.1, 0, 1, 0.37, null),
          affine: fc.boolean(),
          track: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (q) => {
          if (q.batch * (q.oneD ? q.w : q.h * q.w) < 2) return;
          const layer = { type: q.oneD ? 'batchnorm1d' : 'batchnorm2d', momentum: q.momentum, affine: q.affine, track_running_stats: q.track };
          const plan = planModel(parseModel({ name: 'bn', batch: q.batch, input: q.oneD ? [q.c, q.w] : [q.c, q.h, q.w], layers: [layer] }));
          expectAllChecked(plan.layers[0], checkLayer(plan.layers[0], rng32(q.seed)));
        },
      ),
      { numRuns: 60, seed: 45 },
    );
  });
});

function dropoutPlan(p: number, shape: number[], batch = 2, index = 0): DropoutLayerPlan {
  const layers = [...Array.from({ length: index }, () => ({ type: 'relu' })), { type: 'dropout', p }];
  return planModel(parseModel({ name: 'd', batch, input: shape, layers })).layers[index] as DropoutLayerPlan;
}

/** the training-mode forward kernel's mask for one [seed, step] */
function kernelMask(l: DropoutLayerPlan, seed: number, step: number): Float32Array {
  const n = numel(l.inShape);
  const fwd = lowerDropout(l).forward[0].kernel;
  const out = runTsKernel(fwd, { x: new Float32Array(n).fill(1), rng: Int32Array.of(seed, step), mask: new Float32Array(n), y: new Float32Array(n) });
  expect(Array.from(out.y)).toEqual(Array.from(out.mask));
  return out.mask as Float32Array;
}

describe('the dropout stream', () => {
  it('the kernel draws the masks the reference computes from the stream\'s definition, bit for bit', () => {
    for (const [p, seed, step, index] of [[0.5, 0, 0, 0], [0.2, 1, 7, 2], [0.9, 2 ** 31 + 5, 2 ** 31 - 1, 5], [0.37, -1, 123456, 1]]) {
      const l = dropoutPlan(p, [3, 50], 4, index);
      const got = kernelMask(l, seed, step);
      const want = dropoutMask(l, numel(l.inShape), seed, step);
      expect(Array.from(got)).toEqual(Array.from(Float32Array.from(want)));
    }
  });

  it('drops about p of the elements (10 steps of 60000 per p), each kept one scaled by 1/(1-p)', () => {
    for (const p of [0.1, 0.5, 0.8]) {
      const l = dropoutPlan(p, [10, 600], 10);
      const n = numel(l.inShape);
      let dropped = 0;
      const scales = new Set<number>();
      for (let step = 0; step < 10; step++) {
        for (const v of kernelMask(l, 42, step)) {
          if (v === 0) dropped++;
          else scales.add(v);
        }
      }
      expect([...scales]).toEqual([Math.fround(1 / (1 - p))]);
      // binomial: 5 standard deviations of the dropped fraction
      const frac = dropped / (10 * n);
      expect(Math.abs(frac - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / (10 * n)));
    }
  });

  it('p = 0 keeps everything unscaled; p = 1 zeroes everything (PyTorch allows it)', () => {
    expect(kernelMask(dropoutPlan(0, [2, 30]), 5, 1).every((v) => v === 1)).toBe(true);
    expect(kernelMask(dropoutPlan(1, [2, 30]), 5, 1).every((v) => v === 0)).toBe(true);
  });

  it('another seed, step or layer gives another mask; the same ones give the same mask', () => {
    const a = dropoutPlan(0.5, [4, 64], 2, 1);
    const b = dropoutPlan(0.5, [4, 64], 2, 2);
    const base = Array.from(kernelMask(a, 9, 3));
    expect(Array.from(kernelMask(a, 9, 3))).toEqual(base);
    for (const other of [kernelMask(a, 10, 3), kernelMask(a, 9, 4), kernelMask(b, 9, 3)]) {
      const same = Array.from(other).filter((v, i) => v === base[i]).length;
      // independent masks agree on about half the elements
      expect(same / base.length).toBeLessThan(0.7);
    }
  });

  it('eval mode is the identity in both directions', () => {
    const l = dropoutPlan(0.5, [3, 8]);
    const prog = lowerDropout(l);
    const x = Float32Array.from({ length: 48 }, (_, i) => i - 20);
    const y = new Float32Array(48);
    runTsKernel(prog.eval!.forward[0].kernel, { x, y });
    expect(Array.from(y)).toEqual(Array.from(x));
    const dx = new Float32Array(48);
    runTsKernel(prog.eval!.backward[0].kernel, { dy: x, dx });
    expect(Array.from(dx)).toEqual(Array.from(x));
  });
});
