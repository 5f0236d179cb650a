// The whole generated module against the float64 reference model with the same params:
// forward output, loss, every gradient, dL/dx; the seed's worked problem; runtime argument
// checks; NaN/Inf loss reporting; determinism of init and gradients.

import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { CASES, mulberry32, planCase, randomArray, SEED_BRANCHES } from './cases.ts';
import { loadModelFile, parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { buildAndImport, cleanupBuilds, type GeneratedModule } from './helpers/build-module.ts';

afterAll(cleanupBuilds);

/** chained float32 layers: max |got - ref| <= 1e-4 * max(1e-3, max |ref|) */
function expectModelClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  expect(got.length, what).toBe(want.length);
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(want[i]));
    const e = Math.abs(got[i] - want[i]);
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  const tol = 1e-4 * Math.max(1e-3, maxRef);
  if (!(worst <= tol)) throw new Error(`${what}: max abs error ${worst} > ${tol} (max |ref| ${maxRef})`);
}

/**
 * every check one model gets: forward, then lossAndGrad (vector output) or backward, vs the
 * reference (the same seed: the same dropout masks); a model with batch norm, dropout or
 * output_softmax then again in eval mode, after its buffers are compared
 */
async function compareWithReference(plan: ModelPlan, mod: GeneratedModule, seed: number) {
  const model = mod.createModel({ seed });
  const ref = createReferenceModel(plan, Object.fromEntries(Object.entries(model.params).map(([k, p]) => [k, { weight: p.weight, bias: p.bias }])), { seed });
  await comparePass(plan, model, ref, mulberry32(seed + 100));
  if (!plan.outputSoftmax && !plan.layers.some((l) => l.type === 'batchnorm1d' || l.type === 'batchnorm2d' || l.type === 'dropout')) return;
  for (const [name, b] of Object.entries(ref.buffers)) {
    expectModelClose(model.buffers[name].running_mean, b.running_mean, `buffers.${name}.running_mean`);
    expectModelClose(model.buffers[name].running_var, b.running_var, `buffers.${name}.running_var`);
    expect(model.buffers[name].num_batches_tracked[0]).toBe(BigInt(b.num_batches_tracked));
  }
  expect(model.eval()).toBe(model);
  expect(model.training).toBe(false);
  ref.eval();
  await comparePass(plan, model, ref, mulberry32(seed + 200));
}

async function comparePass(plan: ModelPlan, model: ReturnType<GeneratedModule['createModel']>, ref: ReturnType<typeof createReferenceModel>, rng: () => number) {
  const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
  expectModelClose(Float32Array.from(model.forward(x)), ref.forward(x), 'forward');
  if (plan.outShape.length === 2) {
    const labels = Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1]));
    const loss = model.lossAndGrad(x, labels);
    expectModelClose([loss], [ref.lossAndGrad(x, labels)], 'loss');
  } else {
    const dOut = Float32Array.from(randomArray(numel(plan.outShape), rng));
    expectModelClose(Float32Array.from(model.backward(dOut)), ref.backward(dOut), 'dx');
  }
  let compared = 0;
  for (const [name, g] of Object.entries(ref.grads)) {
    if (g.weight) expectModelClose(model.grads[name].weight!, g.weight, `grads.${name}.weight`), compared++;
    if (g.bias) expectModelClose(model.grads[name].bias!, g.bias, `grads.${name}.bias`), compared++;
  }
  expect(compared).toBe(plan.layers.filter((l) => l.weightShape).length + plan.layers.filter((l) => l.biasShape).length);
  // dL/dx too, from a backward of a random dOut (the float64 reference is slow on the big examples)
  if (plan.totals.flopsForward > 2e7) return;
  const dOut = Float32Array.from(randomArray(numel(plan.outShape), rng));
  expectModelClose(Float32Array.from(model.backward(dOut)), ref.backward(dOut), 'backward dx');
}

describe('generated module vs the reference model', () => {
  const examples = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.json')).sort();
  for (const f of examples) {
    it(`examples/${f} (committed generated/)`, async () => {
      const plan = planModel(loadModelFile(`examples/${f}`));
      const mod = (await import(`../generated/${plan.name}/index.ts`)) as GeneratedModule;
      expect(JSON.parse(JSON.stringify(mod.plan))).toEqual(JSON.parse(JSON.stringify(plan)));
      await compareWithReference(plan, mod, 7);
    }, 60_000);
  }
  // several kinds, or a layer that reads several inputs (add(input, input): the input's gradient is a sum)
  for (const c of CASES.filter((c) => c.kinds.length > 1 || c.kinds.some((k) => k === 'add' || k === 'concat'))) {
    it(`${c.name} (built into a temp folder)`, async () => {
      const plan = planCase(c);
      await compareWithReference(plan, await buildAndImport(plan), 3);
    });
    // every conv on im2row: scratch columns share one arena across layers
    if (c.kinds.some((k) => k.startsWith('conv'))) {
      for (const strategy of ['im2row', 'direct'] as const) {
        it(`${c.name} --strategy ${strategy}`, async () => {
          const plan = planModel(parseModel(c.model), { strategy });
          await compareWithReference(plan, await buildAndImport(plan), 4);
        });
      }
    }
  }
});

describe("the seed's worked problem", () => {
  it('gives dL/dw1 = [[0,0,0],[0,0.5,0],[0,0,0.5]] and dL/dw2 = -dL/dw1', async () => {
    const plan = planModel(loadModelFile('examples/seed.json'));
    const mod = (await import(`../generated/${plan.name}/index.ts`)) as GeneratedModule;
    const m = mod.createModel();
    const w = m.params.conv.weight!;
    w.fill(0);
    // w1[1,0] = -1, w1[1,1] = 1; w2[2,1] = -1, w2[1,1] = 1 (weight [2, 1, 3, 3])
    w[3] = -1;
    w[4] = 1;
    w[9 + 7] = -1;
    w[9 + 4] = 1;
    m.params.fc.weight!.set([1, 0, 0, 1]);
    const x = new Float32Array(16);
    x[5] = 1;
    x[10] = 1;
    // y = 2 in the slides' 1-based numbering
    const loss = m.lossAndGrad(x, Int32Array.from([1]));
    expect(loss).toBeCloseTo(Math.log(2), 6);
    const g1 = [0, 0, 0, 0, 0.5, 0, 0, 0, 0.5];
    expect(Array.from(m.grads.conv.weight!)).toEqual([...g1, ...g1.map((v) => (v === 0 ? 0 : -v))]);
  });
});

describe("the seed's worked problem as the seed writes it: two convs of one input, concat", () => {
  it('examples/seed_branches.json: dL/dw1 = [[0,0,0],[0,0.5,0],[0,0,0.5]], dL/dw2 = -dL/dw1 exactly, as PyTorch gives', async () => {
    const plan = planModel(loadModelFile('examples/seed_branches.json'));
    const mod = (await import(`../generated/${plan.name}/index.ts`)) as GeneratedModule;
    const m = mod.createModel();
    const { x, labels, w1, w2 } = SEED_BRANCHES;
    m.params.conv1.weight!.set(w1);
    m.params.conv2.weight!.set(w2);
    m.params.fc.weight!.set(SEED_BRANCHES.fc);
    const loss = m.lossAndGrad(x, labels);
    expect(loss).toBeCloseTo(Math.log(2), 6);
    // PyTorch 1.13 on the seed's own script (F.conv2d, relu, max_pool2d, torch.concat, W @ h, cross_entropy)
    expect(Array.from(m.grads.conv1.weight!)).toEqual(SEED_BRANCHES.gradW1);
    expect(Array.from(m.grads.conv2.weight!).map((v) => v + 0)).toEqual(SEED_BRANCHES.gradW1.map((v) => -v + 0));
    expect(Array.from(m.grads.fc.weight!)).toEqual([0.5, 0.5, -0.5, -0.5]);
    // the input's gradient is the sum over both convs (torch: x.grad of s.backward([0.5, -0.5]))
    const dx = Array.from(m.backward(Float32Array.from([0.5, -0.5])));
    expect(dx.map((v) => v + 0)).toEqual([0, 0, 0, 0, -0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0]);
  });
});

describe('runtime checks', () => {
  it('name the entry point, the expected and the actual size', async () => {
    const mod = (await import('../generated/seed_problem/index.ts')) as GeneratedModule;
    const m = mod.createModel();
    expect(() => m.forward(new Float32Array(15))).toThrow('seed_problem.forward: x has 15 elements, expected 16 ([1x1x4x4])');
    expect(() => m.forward([1, 2] as unknown as Float32Array)).toThrow(/x must be a Float32Array of 16 elements .* got Array of 2 elements/);
    expect(() => m.backward(new Float32Array(3))).toThrow('seed_problem.backward: dOut has 3 elements, expected 2 ([1x2])');
    expect(() => m.lossAndGrad(new Float32Array(16), Int32Array.from([2]))).toThrow('seed_problem.lossAndGrad: labels[0] is 2, expected a class index in [0, 2)');
    expect(() => m.lossAndGrad(new Float32Array(16), Int32Array.from([0, 1]))).toThrow('labels has 2 elements, expected 1');
    expect(() => m.lossAndGrad(new Float32Array(16), Float32Array.from([0]) as unknown as Int32Array)).toThrow(/labels must be an Int32Array/);
    expect(() => m.sgdStep(NaN)).toThrow('seed_problem.sgdStep: lr must be a finite number, got NaN');
    expect(() => m.sgdStep(0.1, { momentum: Infinity })).toThrow(/momentum must be a finite number/);
  });
  // regression: sgdStep(-1) was accepted; torch.optim.SGD refuses a negative lr, momentum or weight_decay
  it('sgdStep refuses a negative lr, momentum or weight decay (RangeError), touching no parameter', async () => {
    const mod = (await import('../generated/seed_problem/index.ts')) as GeneratedModule;
    const m = mod.createModel();
    m.lossAndGrad(new Float32Array(16).fill(0.5), Int32Array.from([1]));
    const before = Float32Array.from(m.params.fc.weight!);
    expect(() => m.sgdStep(-1)).toThrow(RangeError);
    expect(() => m.sgdStep(-1)).toThrow('seed_problem.sgdStep: lr must be >= 0, got -1');
    expect(() => m.sgdStep(0.1, { momentum: -0.9 })).toThrow('seed_problem.sgdStep: options.momentum must be >= 0, got -0.9');
    expect(() => m.sgdStep(0.1, { weightDecay: -1e-4 })).toThrow('seed_problem.sgdStep: options.weightDecay must be >= 0, got -0.0001');
    expect(() => m.sgdStep(-Infinity)).toThrow(TypeError);
    expect(m.params.fc.weight).toEqual(before);
    // zero is allowed, as in PyTorch
    m.sgdStep(0, { momentum: 0, weightDecay: 0 });
    expect(m.params.fc.weight).toEqual(before);
  });
  it('lossAndGrad on a model without a vector output says why', async () => {
    const mod = (await import('../generated/dcgan_decoder/index.ts')) as GeneratedModule;
    expect(() => mod.createModel().lossAndGrad(new Float32Array(1), new Int32Array(1))).toThrow(/is not a vector of class scores per sample/);
  });
  it('params and grads are fixed views: the arrays are writable, the objects are frozen', async () => {
    const mod = (await import('../generated/seed_problem/index.ts')) as GeneratedModule;
    const m = mod.createModel();
    m.params.fc.weight![0] = 42;
    expect(m.params.fc.weight![0]).toBe(42);
    expect(() => {
      (m.params.fc as { weight?: Float32Array }).weight = new Float32Array(4);
    }).toThrow(TypeError);
  });
});

describe('NaN / Inf loss', () => {
  it('sets lastLossFinite = false, and throws before computing grads with checkFinite', async () => {
    const mod = (await import('../generated/seed_problem/index.ts')) as GeneratedModule;
    const x = new Float32Array(16).fill(1);
    const labels = Int32Array.from([0]);
    const quiet = mod.createModel({ seed: 1 });
    expect(Number.isFinite(quiet.lossAndGrad(x, labels))).toBe(true);
    expect(quiet.lastLossFinite).toBe(true);
    quiet.params.fc.weight!.fill(NaN);
    expect(Number.isNaN(quiet.lossAndGrad(x, labels))).toBe(true);
    expect(quiet.lastLossFinite).toBe(false);

    const strict = mod.createModel({ seed: 1, checkFinite: true });
    strict.lossAndGrad(x, labels);
    const before = Float32Array.from(strict.grads.conv.weight!);
    strict.params.fc.weight!.fill(Infinity);
    expect(() => strict.lossAndGrad(x, labels)).toThrow(/seed_problem.lossAndGrad: the loss is (NaN|Infinity)/);
    expect(strict.lastLossFinite).toBe(false);
    expect(Array.from(strict.grads.conv.weight!)).toEqual(Array.from(before));
  });
});

describe('determinism', () => {
  it('the same seed gives bit-identical params, outputs and grads; another seed differs', async () => {
    const mod = (await import('../generated/lenet5/index.ts')) as GeneratedModule;
    const rng = mulberry32(5);
    const x = Float32Array.from(randomArray(32 * 28 * 28, rng));
    const labels = Int32Array.from({ length: 32 }, () => Math.floor(rng() * 10));
    const run = (seed: number) => {
      const m = mod.createModel({ seed });
      const loss = m.lossAndGrad(x, labels);
      m.sgdStep(0.05, { momentum: 0.9, weightDecay: 1e-4 });
      const loss2 = m.lossAndGrad(x, labels);
      const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      return { loss, loss2, params: Object.values(m.params).flatMap((p) => bits(p.weight!)), grads: Object.values(m.grads).flatMap((g) => [...bits(g.weight!), ...bits(g.bias!)]) };
    };
    const a = run(11);
    const b = run(11);
    expect(b).toEqual(a);
    expect(run(12).params).not.toEqual(a.params);
  });
  it('init follows PyTorch bounds: |w| and |b| <= 1/sqrt(fan_in), conv_transpose fan_in from weight dim 1', async () => {
    const mod = (await import('../generated/dcgan_decoder/index.ts')) as GeneratedModule;
    const m = mod.createModel({ seed: 3 });
    for (const l of mod.plan.layers) {
      if (!l.weightShape) continue;
      const fanIn = l.weightShape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      const p = m.params[l.name];
      const maxAbs = (a: Float32Array) => a.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      expect(maxAbs(p.weight!)).toBeLessThanOrEqual(bound);
      // a uniform sample of this size reaches well past half the bound
      expect(maxAbs(p.weight!)).toBeGreaterThan(bound / 2);
      if (p.bias) expect(maxAbs(p.bias)).toBeLessThanOrEqual(bound);
    }
  });
});
