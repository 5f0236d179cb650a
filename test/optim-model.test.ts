// The optimizers and the losses through the generated modules, on both targets: a tiny
// classifier (softmax cross-entropy), a tiny segmentation net (bce_with_logits on [N,1,H,W]
// logits), a tiny decoder (mse) and a residual block with batch norm each train 3 steps with
// adamStep and with adamwStep, and the parameters must match the reference optimizer applied
// to the reference model's gradients; no optimizer touches batch norm's running stats. Then what the entry points promise beyond the arithmetic: argument checks that
// change nothing, per-optimizer state, resetOptimizer, AMSGrad fixed per run, optimizerStep
// and the GPU's single-submission trainStep with an optimizer descriptor and float targets.
// The GPU half runs on a real adapter (test/helpers/webgpu.ts's skip rule).

import { mkdtempSync, rmSync } from 'node:fs';
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
import { createReferenceModel, newRefAdamState, refAdamStep, refSgdStep, type RefAdamOptions, type RefAdamState, type RefSgdState } from '../src/reference/index.ts';
import { compare, modelTolerance, randomTarget } from '../src/check/ts.ts';
import { CASES, mulberry32, planCase, randomArray } from './cases.ts';
import { buildAndImport, cleanupBuilds } from './helpers/build-module.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;
type Target = Int32Array | Float32Array;
type AdamOptions = { beta1?: number; beta2?: number; eps?: number; weightDecay?: number; amsgrad?: boolean };
type SgdOptions = { momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean };
type Optimizer = ({ type: 'sgd'; lr: number } & SgdOptions) | ({ type: 'adam' | 'adamw'; lr?: number } & AdamOptions);

/** createModel's members these tests use */
interface TsModel {
  readonly params: Tensors;
  readonly grads: Tensors;
  readonly buffers: Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>;
  lossAndGrad(x: Float32Array, target: Target): number;
  sgdStep(lr: number, o?: SgdOptions): void;
  adamStep(lr?: number, o?: AdamOptions): void;
  adamwStep(lr?: number, o?: AdamOptions): void;
  optimizerStep(o: Optimizer): void;
  resetOptimizer(): void;
}
/** createGpuModel's */
interface GpuModel {
  lossAndGrad(x: Float32Array | object, target?: Target): Promise<number>;
  trainStep(x: Float32Array | object, target: Target | undefined, lr: number, o?: SgdOptions): Promise<number>;
  trainStep(x: Float32Array | object, target: Target | undefined, optimizer: Optimizer): Promise<number>;
  sgdStep(lr: number, o?: SgdOptions): void;
  adamStep(lr?: number, o?: AdamOptions): void;
  adamwStep(lr?: number, o?: AdamOptions): void;
  optimizerStep(o: Optimizer): void;
  resetOptimizer(): void;
  uploadBatch(x: Float32Array, target?: Target): { destroy(): void };
  readParams(): Promise<Tensors>;
  readGrads(): Promise<Tensors>;
  readBuffers(): Promise<Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>>;
  writeParams(p: Tensors): void;
  destroy(): void;
}

const model = (json: object) => planModel(parseModel(json));
const PLANS: Record<string, ModelPlan> = {
  classifier: planCase(CASES.find((c) => c.name.startsWith('tiny_lenet'))!),
  // per-pixel logits [2, 1, 6, 6]: the shape softmax cross-entropy cannot take
  segmentation: model({
    name: 'seg_bce',
    batch: 2,
    input: [2, 6, 6],
    layers: [
      { type: 'conv2d', out_channels: 4, kernel: 3, padding: 1 },
      { type: 'relu' },
      { type: 'conv2d', out_channels: 1, kernel: 3, padding: 1 },
    ],
    loss: 'bce_with_logits',
  }),
  decoder: model({ ...CASES.find((c) => c.name.startsWith('tiny_decoder'))!.model, name: 'dec_mse', loss: 'mse' }),
  // batch norm in a residual block: its weight and bias are parameters the optimizers step
  bn_residual: planCase(CASES.find((c) => c.name.startsWith('bn_residual_block'))!),
};

/** the reference optimizer over a reference model's tensors, one state per tensor as torch keeps them */
function refOptimizer(type: 'sgd' | 'adam' | 'adamw') {
  const sgd = new Map<Float64Array, RefSgdState>();
  const adam = new Map<Float64Array, RefAdamState>();
  return (params: Record<string, { weight?: Float64Array; bias?: Float64Array }>, grads: Record<string, { weight?: Float64Array; bias?: Float64Array }>, o: RefAdamOptions & SgdOptions) => {
    for (const [name, p] of Object.entries(params)) {
      for (const kind of ['weight', 'bias'] as const) {
        const t = p[kind];
        if (!t) continue;
        const g = grads[name]![kind]!;
        if (type === 'sgd') {
          if (!sgd.has(t)) sgd.set(t, { buf: null });
          refSgdStep(t, g, sgd.get(t)!, o);
        } else {
          if (!adam.has(t)) adam.set(t, newRefAdamState(t.length));
          refAdamStep(t, g, adam.get(t)!, o, type === 'adamw');
        }
      }
    }
  };
}

const toRef = (t: Tensors) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { weight: v.weight, bias: v.bias }]));
function expectParams(got: Tensors, want: Record<string, { weight?: Float64Array; bias?: Float64Array }>, what: string) {
  for (const [name, p] of Object.entries(want)) {
    for (const kind of ['weight', 'bias'] as const) {
      if (!p[kind]) continue;
      const r = compare(got[name]![kind]!, p[kind]!, modelTolerance);
      expect(r.ok, `${what}: ${name}.${kind}: max abs error ${r.maxAbs} > ${r.tolerance}`).toBe(true);
    }
  }
}
const data = (plan: ModelPlan, seed: number) => {
  const rng = mulberry32(seed);
  return { x: Float32Array.from(randomArray(numel(plan.inShape), rng)), target: randomTarget(plan, rng) };
};

/** every optimizer once, with momentum, weight decay and AMSGrad: each touches every parameter it has */
const EVERY_STEP: readonly Optimizer[] = [
  { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.01 },
  { type: 'adam', lr: 0.01, weightDecay: 0.01, amsgrad: true },
  { type: 'adamw', lr: 0.01, weightDecay: 0.1 },
];
const bufferText = (b: Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>) =>
  JSON.stringify(Object.entries(b).map(([k, v]) => [k, Array.from(v.running_mean), Array.from(v.running_var), String(v.num_batches_tracked[0])]));

// each optimizer with options that change its arithmetic from the defaults
const RUNS = [
  { type: 'adam', lr: 0.01, options: { weightDecay: 0.01, amsgrad: true } },
  { type: 'adamw', lr: 0.01, options: { beta1: 0.8, weightDecay: 0.1 } },
] as const;

/**
 * 3 steps of lossAndGrad + the optimizer on `step`'s model, and of the reference model and
 * reference optimizer from the same parameters; the losses and the parameters after must agree
 */
async function trainAgainstReference(plan: ModelPlan, run: (typeof RUNS)[number], m: { params(): Promise<Tensors>; lossAndGrad(x: Float32Array, t: Target): Promise<number>; step(): Promise<void> }) {
  const ref = createReferenceModel(plan, toRef(await m.params()));
  const opt = refOptimizer(run.type);
  const { x, target } = data(plan, 5);
  for (let s = 0; s < 3; s++) {
    const loss = await m.lossAndGrad(x, target);
    const want = ref.lossAndGrad(x, target);
    expect(compare([loss], [want], modelTolerance).ok, `step ${s + 1}: loss ${loss} vs ${want}`).toBe(true);
    await m.step();
    opt(ref.params, ref.grads, { lr: run.lr, ...run.options });
  }
  expectParams(await m.params(), ref.params, `${run.type} after 3 steps`);
}

const tsModels = new Map<string, (o?: { seed?: number }) => TsModel>();
async function tsModel(name: string, seed = 3): Promise<TsModel> {
  if (!tsModels.has(name)) tsModels.set(name, ((await buildAndImport(PLANS[name]!)) as unknown as { createModel: (o?: { seed?: number }) => TsModel }).createModel);
  return tsModels.get(name)!({ seed });
}
afterAll(cleanupBuilds);

describe('createModel: adamStep / adamwStep train like the reference', () => {
  for (const name of Object.keys(PLANS)) {
    for (const run of RUNS) {
      it(`${name} (${PLANS[name]!.loss ?? 'softmax_cross_entropy'}), ${run.type}: 3 steps`, async () => {
        const m = await tsModel(name);
        const step = run.type === 'adam' ? () => m.adamStep(run.lr, run.options) : () => m.adamwStep(run.lr, run.options);
        await trainAgainstReference(PLANS[name]!, run, { params: async () => m.params, lossAndGrad: async (x, t) => m.lossAndGrad(x, t), step: async () => step() });
      });
    }
  }
});

describe("the optimizers and batch norm's running stats", () => {
  // regression guard for the merge of the optimizers and batch norm: the running stats live in
  // their own arena, outside the parameter arena every optimizer kernel steps
  it('createModel: every optimizer steps batch norm\'s weight and bias and never its running stats', async () => {
    const plan = PLANS.bn_residual!;
    const m = await tsModel('bn_residual');
    const { x, target } = data(plan, 4);
    m.lossAndGrad(x, target);
    const stats = bufferText(m.buffers);
    expect(Number(m.buffers.bn_a!.num_batches_tracked[0])).toBe(1);
    for (const o of EVERY_STEP) {
      const w = m.params.bn_a!.weight!.slice();
      const b = m.params.bn_b!.bias!.slice();
      m.optimizerStep(o);
      expect(m.params.bn_a!.weight, o.type).not.toEqual(w);
      expect(m.params.bn_b!.bias, o.type).not.toEqual(b);
      expect(bufferText(m.buffers), o.type).toBe(stats);
    }
  });
});

describe('createModel: the optimizer entry points', () => {
  const grads = async (m: TsModel) => {
    const { x, target } = data(PLANS.classifier!, 8);
    m.lossAndGrad(x, target);
  };
  const snapshot = (m: TsModel) => JSON.stringify(Object.entries(m.params).map(([k, v]) => [k, Array.from(v.weight ?? []), Array.from(v.bias ?? [])]));

  it('refuse what torch.optim refuses, with the entry point and the value, and change nothing', async () => {
    const m = await tsModel('classifier');
    await grads(m);
    const before = snapshot(m);
    const where = `${PLANS.classifier!.name}`;
    const refused: [() => void, ErrorConstructor, string][] = [
      [() => m.adamStep(-1e-3), RangeError, `${where}.adamStep: lr must be >= 0, got -0.001`],
      [() => m.adamStep(NaN), TypeError, `${where}.adamStep: lr must be a finite number, got NaN`],
      [() => m.adamStep(1e-3, { beta1: 1 }), RangeError, `${where}.adamStep: options.beta1 must be in [0, 1), got 1`],
      [() => m.adamwStep(1e-3, { beta2: -0.1 }), RangeError, `${where}.adamwStep: options.beta2 must be in [0, 1), got -0.1`],
      [() => m.adamStep(1e-3, { eps: -1e-8 }), RangeError, `${where}.adamStep: options.eps must be >= 0, got -1e-8`],
      [() => m.adamwStep(1e-3, { weightDecay: -0.01 }), RangeError, `${where}.adamwStep: options.weightDecay must be >= 0, got -0.01`],
      [() => m.adamStep(1e-3, { amsgrad: 'yes' as unknown as boolean }), TypeError, `${where}.adamStep: options.amsgrad must be true or false, got "yes"`],
      [() => m.adamStep(1e-3, { betas: [0.9, 0.99] } as AdamOptions), TypeError, `${where}.adamStep: options.betas is not an option of this optimizer; its options are beta1, beta2, eps, weightDecay, amsgrad`],
      [() => m.sgdStep(0.1, { nesterov: true }), RangeError, `${where}.sgdStep: options.nesterov needs momentum > 0 and dampening 0 (as torch.optim.SGD), got momentum 0, dampening 0`],
      [() => m.sgdStep(0.1, { momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError, `${where}.sgdStep: options.nesterov needs momentum > 0 and dampening 0 (as torch.optim.SGD), got momentum 0.9, dampening 0.1`],
      [() => m.sgdStep(0.1, { dampening: NaN }), TypeError, `${where}.sgdStep: options.dampening must be a finite number, got NaN`],
      [() => m.sgdStep(0.1, 0.9 as unknown as SgdOptions), TypeError, `${where}.sgdStep: options must be an object such as { momentum: ... }, got number`],
      [() => m.sgdStep(0.1, { nesterov: 1 as unknown as boolean, momentum: 0.9 }), TypeError, `${where}.sgdStep: options.nesterov must be true or false, got number`],
      [() => m.optimizerStep({ type: 'adagrad' } as unknown as Optimizer), TypeError, `${where}.optimizerStep: optimizer.type must be 'sgd', 'adam' or 'adamw', got "adagrad"`],
      [() => m.optimizerStep({ type: 'sgd' } as unknown as Optimizer), TypeError, `${where}.optimizerStep: optimizer.lr is required for sgd (torch.optim.SGD has no default learning rate)`],
      [() => m.optimizerStep({ type: 'adam', lr: -1 }), RangeError, `${where}.optimizerStep: optimizer.lr must be >= 0, got -1`],
      [() => m.optimizerStep({ type: 'adam', beta1: 2 }), RangeError, `${where}.optimizerStep: optimizer.beta1 must be in [0, 1), got 2`],
      [() => m.optimizerStep({ type: 'sgd', lr: 0.1, momentum: 0.9, nestrov: true } as Optimizer), TypeError, `${where}.optimizerStep: optimizer.nestrov is not an option of this optimizer; its options are momentum, dampening, weightDecay, nesterov`],
    ];
    for (const [call, cls, message] of refused) {
      expect(call).toThrow(cls);
      expect(call).toThrow(message);
    }
    expect(snapshot(m)).toBe(before);
    // and the refused calls counted no step: the next adam step is a first step
    const fresh = await tsModel('classifier');
    await grads(fresh);
    m.adamStep(1e-3);
    fresh.adamStep(1e-3);
    expect(snapshot(m)).toBe(snapshot(fresh));
  });

  it('defaults: adamStep() is Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), adamwStep() AdamW with weight_decay=1e-2', async () => {
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => tsModel('classifier')));
    for (const m of [a!, b!, c!, d!]) await grads(m);
    a!.adamStep();
    b!.adamStep(1e-3, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, amsgrad: false });
    c!.adamwStep();
    d!.adamwStep(1e-3, { weightDecay: 1e-2 });
    expect(snapshot(a!)).toBe(snapshot(b!));
    expect(snapshot(c!)).toBe(snapshot(d!));
    expect(snapshot(a!)).not.toBe(snapshot(c!));
  });

  it('each optimizer keeps its own state, as separate torch optimizers; optimizerStep is the named step', async () => {
    const a = await tsModel('classifier');
    const b = await tsModel('classifier');
    const refModel = createReferenceModel(PLANS.classifier!, toRef(a.params));
    const ref = { sgd: refOptimizer('sgd'), adam: refOptimizer('adam'), adamw: refOptimizer('adamw') };
    const { x, target } = data(PLANS.classifier!, 9);
    // adam, sgd with momentum and dampening, adamw, then each again: every one continues its own state
    const plan: Optimizer[] = [
      { type: 'adam', lr: 0.01 },
      { type: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.5 },
      { type: 'adamw', lr: 0.01, beta1: 0.5 },
      { type: 'adam', lr: 0.01 },
      { type: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.5 },
      { type: 'adamw', lr: 0.01, beta1: 0.5 },
    ];
    for (const o of plan) {
      a.lossAndGrad(x, target);
      b.lossAndGrad(x, target);
      refModel.lossAndGrad(x, target);
      if (o.type === 'sgd') a.sgdStep(o.lr, { momentum: o.momentum!, dampening: o.dampening! });
      else if (o.type === 'adam') a.adamStep(o.lr);
      else a.adamwStep(o.lr, { beta1: o.beta1! });
      b.optimizerStep(o);
      const { type, ...hyper } = o;
      ref[type](refModel.params, refModel.grads, hyper as RefAdamOptions);
    }
    expect(snapshot(b)).toBe(snapshot(a));
    expectParams(a.params, refModel.params, 'interleaved');
  });

  it('resetOptimizer: the next step is a first step again; amsgrad is fixed until then', async () => {
    const m = await tsModel('classifier');
    const fresh = await tsModel('classifier');
    await grads(m);
    await grads(fresh);
    const p0 = JSON.parse(snapshot(m)) as [string, number[], number[]][];
    m.adamStep(0.01);
    m.adamStep(0.01);
    m.sgdStep(0.1, { momentum: 0.9, dampening: 0.5 });
    expect(() => m.adamStep(0.01, { amsgrad: true })).toThrow(
      `${PLANS.classifier!.name}.adamStep: options.amsgrad is true, but this optimizer has taken 2 steps with amsgrad false (PyTorch fixes amsgrad when the optimizer is made); call resetOptimizer() to start afresh`,
    );
    m.resetOptimizer();
    for (const [k, w, b] of p0) {
      m.params[k]!.weight?.set(w);
      m.params[k]!.bias?.set(b);
    }
    m.adamStep(0.01, { amsgrad: true });
    fresh.adamStep(0.01, { amsgrad: true });
    expect(snapshot(m)).toBe(snapshot(fresh));
    m.sgdStep(0.1, { momentum: 0.9, dampening: 0.5 });
    fresh.sgdStep(0.1, { momentum: 0.9, dampening: 0.5 });
    expect(snapshot(m)).toBe(snapshot(fresh));
  });
});

describe('createModel: the float targets of mse and bce_with_logits', () => {
  it('are checked: type, length, and for bce a probability per element', async () => {
    const seg = await tsModel('segmentation');
    const dec = await tsModel('decoder');
    const { x } = data(PLANS.segmentation!, 1);
    const n = numel(PLANS.segmentation!.outShape);
    expect(() => seg.lossAndGrad(x, new Int32Array(n))).toThrow(`seg_bce.lossAndGrad: target must be a Float32Array of ${n} elements ([2x1x6x6]), got Int32Array of ${n} elements`);
    expect(() => seg.lossAndGrad(x, new Float32Array(n - 1))).toThrow(`seg_bce.lossAndGrad: target has ${n - 1} elements, expected ${n} ([2x1x6x6])`);
    const t = new Float32Array(n).fill(0.5);
    t[7] = 1.5;
    expect(() => seg.lossAndGrad(x, t)).toThrow(RangeError);
    expect(() => seg.lossAndGrad(x, t)).toThrow('seg_bce.lossAndGrad: target[7] is 1.5, expected a probability in [0, 1]');
    t[7] = NaN;
    expect(() => seg.lossAndGrad(x, t)).toThrow('seg_bce.lossAndGrad: target[7] is NaN, expected a probability in [0, 1]');
    // mse takes any finite or infinite value (as F.mse_loss); the loss reports it
    const d = data(PLANS.decoder!, 1);
    const big = Float32Array.from(d.target as Float32Array, () => 1e30);
    expect(Number.isFinite(dec.lossAndGrad(d.x, big))).toBe(false);
  });
});

// ---- the WebGPU model --------------------------------------------------------------------------

const root = mkdtempSync(join(tmpdir(), 'convgen-optim-gpu-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const gpuModels = new Map<string, (d: GPUDevice, o?: { seed?: number }) => Promise<GpuModel>>();
async function gpuModel(name: string, seed = 3): Promise<GpuModel> {
  if (!gpuModels.has(name)) {
    const plan = PLANS[name]!;
    const dir = join(root, plan.name);
    writeOutputAtomic(dir, emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl' })));
    gpuModels.set(name, ((await import(pathToFileURL(join(dir, 'gpu.ts')).href)) as { createGpuModel: never }).createGpuModel);
  }
  return gpuModels.get(name)!(device!, { seed });
}

describe('createGpuModel: adamStep / adamwStep train like the reference', () => {
  for (const name of Object.keys(PLANS)) {
    for (const run of RUNS) {
      gpuIt(`${name} (${PLANS[name]!.loss ?? 'softmax_cross_entropy'}), ${run.type}: 3 steps`, async () => {
        const m = await gpuModel(name);
        const step = run.type === 'adam' ? () => m.adamStep(run.lr, run.options) : () => m.adamwStep(run.lr, run.options);
        await trainAgainstReference(PLANS[name]!, run, { params: () => m.readParams(), lossAndGrad: (x, t) => m.lossAndGrad(x, t), step: async () => step() });
        m.destroy();
      }, 120_000);
    }
  }
});

describe("createGpuModel: the optimizers and batch norm's running stats", () => {
  gpuIt('every optimizer steps batch norm\'s weight and bias and never its running stats; trainStep moves them once, as its forward does', async () => {
    const plan = PLANS.bn_residual!;
    const m = await gpuModel('bn_residual');
    const { x, target } = data(plan, 4);
    await m.lossAndGrad(x, target);
    const stats = bufferText(await m.readBuffers());
    for (const o of EVERY_STEP) {
      const before = await m.readParams();
      m.optimizerStep(o);
      const after = await m.readParams();
      expect(after.bn_a!.weight, o.type).not.toEqual(before.bn_a!.weight);
      expect(after.bn_b!.bias, o.type).not.toEqual(before.bn_b!.bias);
      expect(bufferText(await m.readBuffers()), o.type).toBe(stats);
    }
    // one training-mode forward per trainStep, whatever the optimizer
    await m.trainStep(x, target, { type: 'adamw', lr: 0.01 });
    expect((await m.readBuffers()).bn_a!.num_batches_tracked[0]).toBe(2n);
    m.destroy();
  }, 120_000);
});

describe('createGpuModel: trainStep with an optimizer, resident float targets, resetOptimizer', () => {
  gpuIt('trainStep(batch, undefined, { type: adamw }) is lossAndGrad + adamwStep, in one submission; resident bce targets', async () => {
    const plan = PLANS.segmentation!;
    const a = await gpuModel('segmentation');
    const b = await gpuModel('segmentation');
    const { x, target } = data(plan, 4);
    const batch = b.uploadBatch(x, target);
    for (let s = 0; s < 3; s++) {
      const la = await a.lossAndGrad(x, target);
      a.adamwStep(0.01, { amsgrad: true });
      const lb = await b.trainStep(batch, undefined, { type: 'adamw', lr: 0.01, amsgrad: true });
      expect(lb).toBe(la);
    }
    expect(await b.readParams()).toEqual(await a.readParams());
    // the old signature is SGD, now with nesterov too; the same as sgdStep
    const sa = await a.trainStep(x, target, 0.1, { momentum: 0.9, nesterov: true });
    const sb = await b.trainStep(batch, undefined, { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true });
    expect(sb).toBe(sa);
    expect(await b.readParams()).toEqual(await a.readParams());
    batch.destroy();
    a.destroy();
    b.destroy();
  }, 120_000);

  gpuIt('resetOptimizer zeroes the state on the device; refused calls change nothing and count no step', async () => {
    const plan = PLANS.classifier!;
    const m = await gpuModel('classifier');
    const fresh = await gpuModel('classifier');
    const { x, target } = data(plan, 6);
    const p0 = await m.readParams();
    await m.lossAndGrad(x, target);
    await fresh.lossAndGrad(x, target);
    m.adamStep(0.01);
    m.adamStep(0.01);
    m.sgdStep(0.1, { momentum: 0.9 });
    expect(() => m.adamStep(0.01, { amsgrad: true })).toThrow(/options\.amsgrad is true, but this optimizer has taken 2 steps with amsgrad false/);
    expect(() => m.adamStep(0.01, { beta2: 1 })).toThrow(`${plan.name}.adamStep: options.beta2 must be in [0, 1), got 1`);
    await expect(m.trainStep(x, target, { type: 'adam', eps: -1 })).rejects.toThrow(`${plan.name}.trainStep: optimizer.eps must be >= 0, got -1`);
    await expect(m.trainStep(x, Float32Array.from(target) as unknown as Int32Array, { type: 'adam' })).rejects.toThrow(/labels must be a Int32Array/);
    m.resetOptimizer();
    m.writeParams(p0);
    m.adamStep(0.01);
    fresh.adamStep(0.01);
    m.sgdStep(0.1, { momentum: 0.9, dampening: 0.2 });
    fresh.sgdStep(0.1, { momentum: 0.9, dampening: 0.2 });
    expect(await m.readParams()).toEqual(await fresh.readParams());
    // and the velocity's first step is the gradient itself (no dampening), the next ones are damped:
    // 3 steps on the device's own gradients against the reference optimizer on the same gradients
    m.resetOptimizer();
    m.writeParams(p0);
    await m.lossAndGrad(x, target);
    const g = await m.readGrads();
    const want = toRef(p0) as Record<string, { weight?: Float64Array; bias?: Float64Array }>;
    for (const t of Object.values(want)) for (const k of ['weight', 'bias'] as const) if (t[k]) t[k] = Float64Array.from(t[k]!);
    const sgd = refOptimizer('sgd');
    for (let s = 0; s < 3; s++) {
      m.sgdStep(0.1, { momentum: 0.9, dampening: 0.5, weightDecay: 0.01 });
      sgd(want, toRef(g) as never, { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.01 });
    }
    expectParams(await m.readParams(), want, 'sgd with dampening, 3 steps');
    // adam and adamw interleaved: each continues its own moments and step count
    const refs = { adam: refOptimizer('adam'), adamw: refOptimizer('adamw') };
    for (const type of ['adam', 'adamw', 'adam', 'adamw', 'adamw'] as const) {
      m.optimizerStep({ type, lr: 0.01, beta1: 0.5 });
      refs[type](want, toRef(g) as never, { lr: 0.01, beta1: 0.5 });
    }
    expectParams(await m.readParams(), want, 'adam and adamw interleaved');
    m.destroy();
    fresh.destroy();
  }, 120_000);

  gpuIt('float targets are checked like the TS model, and a batch without one is refused', async () => {
    const plan = PLANS.segmentation!;
    const m = await gpuModel('segmentation');
    const n = numel(plan.outShape);
    const { x } = data(plan, 2);
    await expect(m.lossAndGrad(x)).rejects.toThrow(`seg_bce.lossAndGrad: target must be a Float32Array of ${n} elements ([2x1x6x6]) (or pass a batch uploaded with a target)`);
    const t = new Float32Array(n).fill(0.25);
    t[3] = -0.5;
    await expect(m.lossAndGrad(x, t)).rejects.toThrow('seg_bce.lossAndGrad: target[3] is -0.5, expected a probability in [0, 1]');
    expect(() => m.uploadBatch(x, new Float32Array(n + 1))).toThrow(`seg_bce.uploadBatch: target has ${n + 1} elements, expected ${n}`);
    const xOnly = m.uploadBatch(x);
    await expect(m.lossAndGrad(xOnly)).rejects.toThrow('seg_bce.lossAndGrad: the batch has no target');
    xOnly.destroy();
    m.destroy();
  }, 60_000);
});
