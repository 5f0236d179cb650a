// The reference on the real example models (examples/*.json): a directional finite
// difference over all parameters at once, (L(p + h v) - L(p - h v)) / 2h = <grad, v>, with L the
// loss (or <output, r> for models without one). Models above 50 MFLOPs forward are left to
// the case table: float64 plain loops would make them the slowest test of the suite.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { numel } from '../src/plan/types.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { mulberry32, randomArray, randomLabels, randomParams } from './cases.ts';

const files = readdirSync(new URL('../examples', import.meta.url)).filter((f) => f.endsWith('.json')).sort();
const small = files
  .map((f) => ({ f, plan: planModel(loadModelFile(new URL(`../examples/${f}`, import.meta.url).pathname)) }))
  .filter(({ plan }) => plan.totals.flopsForward <= 50e6);

describe('reference on the examples: directional derivative = <grad, v>', () => {
  it('has examples to run', () => {
    expect(small.length).toBeGreaterThanOrEqual(3);
  });
  small.forEach(({ f, plan }) => {
    it(f, () => {
      const rng = mulberry32(3);
      const model = createReferenceModel(plan, randomParams(plan, rng));
      const x = randomArray(numel(plan.inShape), rng);
      const labels = plan.loss ? randomLabels(plan, rng) : null;
      const r = randomArray(numel(plan.outShape), rng);
      const objective = (): number => {
        if (labels) return model.lossAndGrad(x, labels);
        const y = model.forward(x);
        let s = 0;
        for (let i = 0; i < y.length; i++) s += y[i] * r[i];
        return s;
      };
      objective();
      if (!labels) model.backward(r);
      // one random direction over every parameter
      const dirs = Object.entries(model.params).flatMap(([name, p]) =>
        (['weight', 'bias'] as const).filter((k) => p[k]).map((k) => ({ p: p[k]!, g: model.grads[name][k]!.slice(), v: randomArray(p[k]!.length, rng) })));
      expect(dirs.length).toBeGreaterThan(0);
      let predicted = 0;
      for (const { g, v } of dirs) for (let i = 0; i < v.length; i++) predicted += g[i] * v[i];
      const h = 1e-6;
      const move = (t: number): void => dirs.forEach(({ p, v }) => v.forEach((vi, i) => (p[i] += t * vi)));
      move(h);
      const up = objective();
      move(-2 * h);
      const down = objective();
      move(h);
      const numeric = (up - down) / (2 * h);
      expect(Number.isFinite(predicted)).toBe(true);
      expect(Math.abs(numeric - predicted)).toBeLessThan(1e-5 * (1 + Math.abs(predicted)));
    });
  });
});
