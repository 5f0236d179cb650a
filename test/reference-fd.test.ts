// Every layer's backward on every case of the shared table against central finite
// differences of its own forward, in float64: dx (of each input, for add and concat), dW and
// db, every element; then every case as a whole model, branches and joins included.
// The objective is <layer(x), r> for a random r, so the analytic gradient is backward(dy = r).

import { describe, expect, it } from 'vitest';
import { CASES, caseInput, mulberry32, planCase, randomArray, randomLabels, randomParams, WIDE } from './cases.ts';
import { createReferenceModel, refBackward, refBackwardInputs, refForward, refForwardInputs, softmaxCrossEntropy, type RefMode, type RefParams } from '../src/reference/index.ts';
import type { LayerPlan } from '../src/plan/types.ts';
import { inputShapes, numel } from '../src/plan/types.ts';

// most layers are linear or piecewise linear in each input, so a small step costs no
// truncation error; the loss and the smooth activations are curved, O(H^2 f''') ~ 1e-14. A
// small step also makes crossing a relu or max-pool kink unlikely (a chained model can hold a
// pre-activation within 1e-5 of 0)
const H = 1e-7;

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** central differences of f with respect to every element of v (v is perturbed in place and restored) */
function numericGrad(v: Float64Array, f: () => number): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + H;
    const up = f();
    v[i] = keep - H;
    const down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * H);
  }
  return g;
}

/** every element within 1e-6 absolute + 1e-6 relative; reports the worst index */
function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) - 1e-6 * Math.abs(want[i]);
    if (err > worstErr || Number.isNaN(got[i])) {
      worstErr = Number.isNaN(got[i]) ? Infinity : err;
      worst = i;
    }
  }
  expect(worstErr, worst < 0 ? what : `${what}[${worst}]: analytic ${got[worst]} vs numeric ${want[worst]}`).toBeLessThan(1e-6);
}

/** the layers whose function depends on the mode: batch norm with running stats, dropout */
const modal = (l: LayerPlan): boolean => ((l.type === 'batchnorm1d' || l.type === 'batchnorm2d') && l.trackRunningStats) || l.type === 'dropout';

/**
 * one layer's backward against finite differences of its forward: every input (add and concat
 * read several), dW, db. `mode`: training (batch norm through its batch statistics; dropout
 * with the fixed mask of seed 3, step 4) or eval (running stats as constants; the identity)
 */
function checkLayer(layer: LayerPlan, seed: number, scale = 1, mode: RefMode = { training: true, seed: 3, step: 4 }): void {
  const rng = mulberry32(seed);
  // continuous inputs even for 'ties' cases: finite differences need a differentiable point;
  // a 'wide' case's activation sees [-8, 8), its tails and relu6's kink at 6
  const xs = inputShapes(layer).map((s) => randomArray(numel(s), rng).map((v) => scale * v));
  const params: RefParams & { weight?: Float64Array; bias?: Float64Array } = {};
  if (layer.weightShape) params.weight = randomArray(numel(layer.weightShape), rng);
  if (layer.biasShape) params.bias = randomArray(numel(layer.biasShape), rng);
  const r = randomArray(numel(layer.outShape), rng);
  if (layer.type === 'batchnorm1d' || layer.type === 'batchnorm2d') {
    params.runningMean = randomArray(layer.channels, rng);
    params.runningVar = randomArray(layer.channels, rng).map((v) => 1 + 0.5 * v);
  }

  const { y, cache } = refForwardInputs(layer, xs, params, mode);
  expect(y.length).toBe(numel(layer.outShape));
  const g = refBackwardInputs(layer, xs, y, r, params, cache, mode);
  const objective = (): number => dot(refForwardInputs(layer, xs, params, mode).y, r);

  expect(g.dxs.length).toBe(xs.length);
  xs.forEach((x, k) => expectClose(xs.length === 1 ? 'dx' : `dx${k}`, g.dxs[k], numericGrad(x, objective)));
  if (params.weight) {
    expect(g.gradWeight, 'gradWeight').toBeDefined();
    expectClose('dW', g.gradWeight!, numericGrad(params.weight, objective));
  } else {
    expect(g.gradWeight).toBeUndefined();
  }
  if (params.bias) {
    expect(g.gradBias, 'gradBias').toBeDefined();
    expectClose('db', g.gradBias!, numericGrad(params.bias, objective));
  } else {
    expect(g.gradBias).toBeUndefined();
  }
  // the gradient is not trivially zero (a backward returning zeros would pass nothing above
  // only if the forward were constant, which no layer is)
  for (const dx of g.dxs) expect(dx.some((v) => v !== 0)).toBe(true);
}

describe('reference backward = finite differences, per layer', () => {
  CASES.forEach((c, ci) => {
    it(c.name, () => {
      const plan = planCase(c);
      plan.layers.forEach((layer, li) => checkLayer(layer, 1000 * ci + li + 1, c.input === 'wide' ? WIDE : 1));
    });
  });
});

describe('reference backward = finite differences, per layer, eval mode (batch norm with running stats, dropout)', () => {
  CASES.forEach((c, ci) => {
    const plan = planCase(c);
    if (!plan.layers.some(modal)) return;
    it(c.name, () => {
      plan.layers.forEach((layer, li) => {
        if (modal(layer)) checkLayer(layer, 1000 * ci + li + 1, c.input === 'wide' ? WIDE : 1, { training: false });
      });
    });
  });
});

describe('reference model (layers chained, loss) = finite differences', () => {
  const runs = CASES.flatMap((c, ci) => {
    const plan = planCase(c);
    return [{ c, ci, training: true }, ...(plan.layers.some(modal) ? [{ c, ci, training: false }] : [])];
  });
  runs.forEach(({ c, ci, training }) => {
    it(`${c.name}${training ? '' : ' (eval mode)'}`, () => {
      const plan = planCase(c);
      const rng = mulberry32(7777 + ci);
      const x = randomArray(numel(plan.inShape), rng);
      const params: Record<string, RefParams & { weight?: Float64Array; bias?: Float64Array }> = randomParams(plan, rng);
      // running stats away from a fresh module's 0 and 1, so eval mode is not near the identity
      for (const l of plan.layers) {
        if (l.type === 'batchnorm1d' || l.type === 'batchnorm2d') {
          params[l.name] = { ...params[l.name], runningMean: randomArray(l.channels, rng), runningVar: randomArray(l.channels, rng).map((v) => 1 + 0.5 * v) };
        }
      }
      // a fresh model per evaluation: a training-mode forward moves batch norm's running stats
      // and the dropout stream, so each evaluation must start from the same state (the same
      // masks: dropout's gradient is that of a fixed mask); the finite differences perturb the
      // parameters in `params`, which every fresh model copies
      const fresh = () => createReferenceModel(plan, params, { seed: 5 }).train(training);
      // the objective: the model's loss when it has one, else <model(x), r>
      let objective: () => number;
      let dOut: Float64Array;
      const model = fresh();
      if (plan.loss) {
        const labels = randomLabels(plan, rng);
        objective = () => fresh().lossAndGrad(x, labels);
        const logits = model.forward(x);
        const ce = softmaxCrossEntropy(logits, labels, plan.batch, plan.outShape[1]);
        dOut = ce.dLogits;
        expect(objective()).toBe(ce.loss);
      } else {
        const r = randomArray(numel(plan.outShape), rng);
        objective = () => dot(fresh().forward(x), r);
        model.forward(x);
        dOut = r;
      }
      const dx = model.backward(dOut);
      const grads = Object.entries(model.grads).map(([name, g]) => ({ name, weight: g.weight?.slice(), bias: g.bias?.slice() }));
      expect(grads.length).toBe(plan.layers.filter((l) => l.weightShape).length);
      expectClose('model dx', dx, numericGrad(x, objective));
      for (const { name, weight, bias } of grads) {
        const p = params[name];
        if (weight) expectClose(`${name}.weight grad`, weight, numericGrad(p.weight!, objective));
        if (bias) expectClose(`${name}.bias grad`, bias, numericGrad(p.bias!, objective));
      }
    });
  });
});

// a 'ties' case draws integer inputs: the analytic routing must pick the first maximum
describe('max pools route a tied window to its first maximum', () => {
  CASES.filter((c) => c.input === 'ties').forEach((c) => {
    it(c.name, () => {
      const plan = planCase(c);
      const layer = plan.layers[0];
      if (layer.type !== 'maxpool1d' && layer.type !== 'maxpool2d' && layer.type !== 'global_maxpool') throw new Error('ties cases are max pools');
      const g = layer.geometry;
      const x = caseInput(c, plan, mulberry32(99));
      const { y } = refForward(layer, x);
      let tiedWindows = 0;
      // one output at a time: dy = onehot(o) must put a single 1 on the window's first maximum
      for (let o = 0; o < y.length; o++) {
        const dy = new Float64Array(y.length);
        dy[o] = 1;
        const { dx } = refBackward(layer, x, y, dy);
        const ow = o % g.outW;
        const oh = Math.floor(o / g.outW) % g.outH;
        const nc = Math.floor(o / (g.outW * g.outH));
        const cells: number[] = [];
        for (let kh = 0; kh < g.kH; kh++) {
          for (let kw = 0; kw < g.kW; kw++) {
            const ih = oh * g.strideH - g.padH + kh;
            const iw = ow * g.strideW - g.padW + kw;
            if (ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW) cells.push((nc * g.inH + ih) * g.inW + iw);
          }
        }
        const max = Math.max(...cells.map((i) => x[i]));
        const first = cells.find((i) => x[i] === max)!;
        if (cells.filter((i) => x[i] === max).length > 1) tiedWindows++;
        expect(y[o]).toBe(max);
        const hit = [...dx.keys()].filter((i) => dx[i] !== 0);
        expect(hit, `output ${o}`).toEqual([first]);
        expect(dx[first]).toBe(1);
      }
      // the case must really exercise ties
      expect(tiedWindows).toBeGreaterThan(0);
    });
  });
});
