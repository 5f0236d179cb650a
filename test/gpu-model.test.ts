// The generated WebGPU runtime (gpu.ts from emitGpuFiles) against the float64 reference
// model, for every example: the same init as the TS module for a seed, then lossAndGrad's
// loss and every gradient (or, without a loss, forward's output and backward's dx and
// gradients) within `convgen check`'s model tolerance. Also: trainStep is lossAndGrad +
// sgdStep in one submission, resident batches give the same loss, params round-trip.
// Runs on a real adapter (lavapipe in CI); see test/helpers/webgpu.ts for the skip rule.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { emitGpuFiles } from '../src/emit/gpu.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { createReferenceModel, type RefParams } from '../src/reference/index.ts';
import { compare, modelTolerance } from '../src/check/ts.ts';
import { CASES, mulberry32, planCase, randomArray, SEED_BRANCHES } from './cases.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
const ONLY = process.env.GPU_MODEL_ONLY;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;
interface GpuModel {
  forward(x: Float32Array | object): Promise<Float32Array>;
  backward(dOut: Float32Array): Promise<Float32Array>;
  lossAndGrad(x: Float32Array | object, labels?: Int32Array): Promise<number>;
  trainStep(x: Float32Array | object, labels: Int32Array | undefined, lr: number, o?: { momentum?: number; weightDecay?: number }): Promise<number>;
  sgdStep(lr: number, o?: { momentum?: number; weightDecay?: number }): void;
  uploadBatch(x: Float32Array, labels?: Int32Array): { destroy(): void };
  readParams(): Promise<Tensors>;
  readGrads(): Promise<Tensors>;
  writeParams(p: Tensors): void;
  readBuffers(): Promise<Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>>;
  readonly training: boolean;
  eval(): GpuModel;
  destroy(): void;
}

const root = mkdtempSync(join(tmpdir(), 'convgen-gpu-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function build(plan: ModelPlan): Promise<(device: GPUDevice, o?: { seed?: number }) => Promise<GpuModel>> {
  // what `convgen build` ships for the WGSL target: the GPU-shaped program
  const files = emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl' }));
  const dir = join(root, plan.name);
  writeOutputAtomic(dir, files);
  return ((await import(pathToFileURL(join(dir, 'gpu.ts')).href)) as { createGpuModel: never }).createGpuModel;
}

const f32 = (n: number, rng: () => number) => Float32Array.from(randomArray(n, rng));
const toRef = (t: Tensors): Record<string, RefParams> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { weight: v.weight, bias: v.bias }]));

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  const r = compare(got, want, modelTolerance);
  expect(r.ok, `${what}: max abs error ${r.maxAbs} > ${r.tolerance}`).toBe(true);
}

// the examples at full size. With the GPU-shaped conv kernels each runs in under a second;
// what costs is lavapipe's first compile of every shader (at first dispatch; Mesa keeps it in
// an on-disk cache). Measured on the 2-core machine with the cache off, as on a fresh CI
// machine: lenet 15-22 s, decoder 14-15 s, signal1d 50 s, vgg 36 s, the rest of the file 31 s.
// LeNet (the demo's model) and the decoder run by default: the file takes 55 s cold, 3 s warm.
// GPU_MODEL_EXAMPLES=1 runs every example, GPU_MODEL_ONLY=<file> one; seed.json and seed_branches.json are always in.
const DEFAULT_EXAMPLES = ['lenet.json', 'decoder.json'];
const examples = readdirSync('examples')
  .filter((f) => f.endsWith('.json') && f !== 'seed.json' && f !== 'seed_branches.json')
  .sort();
const models: [string, () => ModelPlan][] = [
  ['examples/seed.json', () => planModel(parseModel(JSON.parse(readFileSync('examples/seed.json', 'utf8'))))],
  ['examples/seed_branches.json', () => planModel(parseModel(JSON.parse(readFileSync('examples/seed_branches.json', 'utf8'))))],
  // several kinds, or a layer reading several inputs (its inputs' gradients are sums)
  ...CASES.filter((c) => c.kinds.length > 2 || c.kinds.some((k) => k === 'add' || k === 'concat')).map((c): [string, () => ModelPlan] => [c.name, () => planCase(c)]),
  // the im2row strategy: conv forwards as im2row + tiled GEMM in workgroup memory
  ...CASES.filter((c) => c.kinds.length > 2 && c.kinds.some((k) => k === 'conv2d' || k === 'conv1d'))
    .slice(0, 2)
    .map((c): [string, () => ModelPlan] => [`${c.name} (im2row: tiled GEMM forward)`, () => planCase(c, { strategy: 'im2row' })]),
  ...examples
    .filter((f) => (ONLY ? ONLY === f : process.env.GPU_MODEL_EXAMPLES === '1' || DEFAULT_EXAMPLES.includes(f)))
    .map((f): [string, () => ModelPlan] => [`examples/${f}`, () => planModel(parseModel(JSON.parse(readFileSync(`examples/${f}`, 'utf8'))))]),
];

describe('generated gpu.ts vs the reference model', () => {
  for (const [title, planOf] of models) {
    gpuIt(title, async () => {
      const plan = planOf();
      const create = await build(plan);
      const model = await create(device!, { seed: 7 });
      const params = await model.readParams();
      // the same seed: the same dropout masks
      const ref = createReferenceModel(plan, toRef(params), { seed: 7 });
      const rng = mulberry32(11);
      const x = f32(numel(plan.inShape), rng);
      const labels = plan.loss ? Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1])) : null;
      const dOut = plan.loss ? null : f32(numel(plan.outShape), rng);
      // a model with batch norm, dropout or output_softmax: training mode, its buffers, then eval mode
      const modal = plan.outputSoftmax === true || plan.layers.some((l) => l.type === 'batchnorm1d' || l.type === 'batchnorm2d' || l.type === 'dropout');
      for (const mode of modal ? ['train', 'eval'] : ['train']) {
        if (mode === 'eval') {
          expect(model.eval().training).toBe(false);
          ref.eval();
        }
        expectClose(await model.forward(x), ref.forward(x), `${mode} forward`);
        if (labels) expectClose([await model.lossAndGrad(x, labels)], [ref.lossAndGrad(x, labels)], `${mode} loss`);
        else expectClose(await model.backward(dOut!), ref.backward(dOut!), `${mode} backward dx`);
        const grads = await model.readGrads();
        for (const [layer, g] of Object.entries(ref.grads)) {
          // a layer's weight and bias share one scale, as in convgen check (a bias before batch norm has a gradient of 0 up to rounding)
          const scale = Math.max(...[g.weight, g.bias].map((t) => (t ? Math.max(...Array.from(t, Math.abs)) : 0)));
          const close = (got: Float32Array, want: Float64Array, what: string) => {
            const r = compare(got, want, (m) => modelTolerance(Math.max(m, scale)));
            expect(r.ok, `${mode} ${what}: max abs error ${r.maxAbs} > ${r.tolerance}`).toBe(true);
          };
          if (g.weight) close(grads[layer].weight!, g.weight, `${layer}.weight grad`);
          if (g.bias) close(grads[layer].bias!, g.bias, `${layer}.bias grad`);
        }
        const buffers = await model.readBuffers();
        for (const [layer, b] of Object.entries(ref.buffers)) {
          expectClose(buffers[layer].running_mean, b.running_mean, `${mode} ${layer}.running_mean`);
          expectClose(buffers[layer].running_var, b.running_var, `${mode} ${layer}.running_var`);
          expect(buffers[layer].num_batches_tracked[0]).toBe(BigInt(b.num_batches_tracked));
        }
      }
      model.destroy();
    }, 300_000);
  }
});

describe('gpu.ts runtime', () => {
  gpuIt('seed problem: trainStep = lossAndGrad + sgdStep (momentum, weight decay), resident batches, params round-trip', async () => {
    const plan = planModel(parseModel(JSON.parse(readFileSync('examples/seed.json', 'utf8'))));
    const create = await build(plan);
    const a = await create(device!, { seed: 3 });
    const b = await create(device!, { seed: 3 });
    expect(await b.readParams()).toEqual(await a.readParams());
    const rng = mulberry32(5);
    const x = f32(numel(plan.inShape), rng);
    const labels = Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1]));
    const o = { momentum: 0.9, weightDecay: 0.01 };
    const batch = b.uploadBatch(x, labels);
    for (let step = 0; step < 3; step++) {
      const la = await a.lossAndGrad(x, labels);
      a.sgdStep(0.1, o);
      const lb = await b.trainStep(batch, undefined, 0.1, o);
      expect(lb).toBe(la);
    }
    expect(await b.readParams()).toEqual(await a.readParams());
    // forward on a resident batch uploaded without labels (forward reads none)
    const xOnly = b.uploadBatch(x);
    expect(await b.forward(xOnly)).toEqual(await b.forward(x));
    await expect(b.lossAndGrad(xOnly)).rejects.toThrow(/the batch has no labels/);
    // a plain array without labels: refused, never the labels a previous call left on the device
    await expect(b.lossAndGrad(x)).rejects.toThrow(/labels must be an Int32Array/);
    await expect(b.trainStep(x, undefined, 0.1)).rejects.toThrow(/labels must be an Int32Array/);
    xOnly.destroy();
    // the reference, stepped by hand with PyTorch's SGD, agrees after three steps
    batch.destroy();
    const p0 = await (await create(device!, { seed: 3 })).readParams();
    const ref = createReferenceModel(plan, toRef(p0));
    const vel: Record<string, Float64Array> = {};
    for (let step = 0; step < 3; step++) {
      ref.lossAndGrad(x, labels);
      for (const [layer, g] of Object.entries(ref.grads)) {
        for (const kind of ['weight', 'bias'] as const) {
          const gv = g[kind];
          const pv = ref.params[layer][kind];
          if (!gv || !pv) continue;
          const key = `${layer}.${kind}`;
          vel[key] ??= new Float64Array(gv.length);
          for (let i = 0; i < gv.length; i++) {
            const gi = gv[i] + o.weightDecay * pv[i];
            vel[key][i] = step === 0 ? gi : o.momentum * vel[key][i] + gi;
            pv[i] -= 0.1 * vel[key][i];
          }
        }
      }
    }
    const after = await a.readParams();
    for (const [layer, p] of Object.entries(ref.params)) if (p.weight) expectClose(after[layer].weight!, p.weight, `${layer}.weight after 3 steps`);
    // writeParams: PyTorch layout in, the same out
    const w = f32(after.conv.weight!.length, rng);
    a.writeParams({ conv: { weight: w } });
    expect((await a.readParams()).conv.weight).toEqual(w);
    expect(() => a.writeParams({ conv: { weight: new Float32Array(3) } })).toThrow(/elements/);
    await expect(a.lossAndGrad(x, Int32Array.from(labels, () => 99))).rejects.toThrow(/class index/);
    a.destroy();
    b.destroy();
  }, 120_000);

  gpuIt("the seed's problem as the seed writes it (two convs of one input, concat): PyTorch's gradients exactly, from lossAndGrad and trainStep", async () => {
    const plan = planModel(parseModel(JSON.parse(readFileSync('examples/seed_branches.json', 'utf8'))));
    const m = await (await build(plan))(device!, { seed: 1 });
    const { x, labels, w1, w2, fc, gradW1 } = SEED_BRANCHES;
    m.writeParams({ conv1: { weight: w1 }, conv2: { weight: w2 }, fc: { weight: fc } });
    expect(await m.lossAndGrad(x, labels)).toBeCloseTo(Math.log(2), 6);
    const g = await m.readGrads();
    expect(Array.from(g.conv1.weight!)).toEqual(gradW1);
    expect(Array.from(g.conv2.weight!).map((v) => v + 0)).toEqual(gradW1.map((v) => -v + 0));
    expect(Array.from(g.fc.weight!)).toEqual([0.5, 0.5, -0.5, -0.5]);
    // the input's gradient sums both convs' (PyTorch: x.grad of s.backward([0.5, -0.5]))
    const dx = Array.from(await m.backward(Float32Array.from([0.5, -0.5])));
    expect(dx.map((v) => v + 0)).toEqual([0, 0, 0, 0, -0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0]);
    // one submission: forward, loss, the pruned backward, SGD; w1 -= 0.1 * gradW1
    await m.trainStep(x, labels, 0.1);
    const p = await m.readParams();
    expect(Array.from(p.conv1.weight!)).toEqual(Array.from(w1, (v, i) => Math.fround(v - 0.1 * gradW1[i])));
    m.destroy();
  }, 60_000);

  // regression: sgdStep(-1) was accepted; torch.optim.SGD refuses a negative lr, momentum or weight_decay
  gpuIt('sgdStep and trainStep refuse a negative lr, momentum or weight decay, and NaN, touching nothing', async () => {
    const plan = planModel(parseModel(JSON.parse(readFileSync('examples/seed.json', 'utf8'))));
    const m = await (await build(plan))(device!, { seed: 1 });
    const before = await m.readParams();
    const labels = new Int32Array(plan.batch);
    expect(() => m.sgdStep(-1)).toThrow(RangeError);
    expect(() => m.sgdStep(-1)).toThrow('seed_problem.sgdStep: lr must be >= 0, got -1');
    expect(() => m.sgdStep(0.1, { momentum: -0.5 })).toThrow('seed_problem.sgdStep: options.momentum must be >= 0, got -0.5');
    expect(() => m.sgdStep(0.1, { weightDecay: -1e-4 })).toThrow('seed_problem.sgdStep: options.weightDecay must be >= 0, got -0.0001');
    expect(() => m.sgdStep(NaN)).toThrow(TypeError);
    expect(() => m.sgdStep(NaN)).toThrow('seed_problem.sgdStep: lr must be a finite number, got NaN');
    await expect(m.trainStep(new Float32Array(numel(plan.inShape)), labels, -0.1)).rejects.toThrow('seed_problem.trainStep: lr must be >= 0, got -0.1');
    m.sgdStep(0, { momentum: 0, weightDecay: 0 });
    expect(await m.readParams()).toEqual(before);
    m.destroy();
  }, 60_000);
});
