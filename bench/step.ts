// Configs F and G: the whole training step (forward + loss + backward + SGD) of the LeNet-5
// example and of the small ResNet (examples/resnet.json), at batch 32. convgen's row is the generated model module (generated/<name>/index.ts, written
// to a temporary folder per strategy and imported); the peers are the float64 reference
// model and tfjs with tf.variableGrads. All start from the same parameters; the loss and
// every gradient are cross-checked before the step is timed.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { emitModelTs } from '../src/emit/model-ts.ts';
import { emitWasmFiles } from '../src/emit/wasm.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { STEP_CONFIG, STRATEGIES, type StepConfig } from './configs.ts';
import { randomF32, rng } from './data.ts';
import { TF_BACKENDS, useBackend, type TfBackend } from './peers/tfjs.ts';
import { tfTrainingStep, type TfStep } from './peers/tfjs-model.ts';
import { measureOp, type Candidate, type Pending } from './rows.ts';
import type { TimingBudget } from './timing.ts';
import type { Calibration, Impl, Row } from './types.ts';

export const STEP_ID = STEP_CONFIG.id;
const LR = 0.01;

type Params = Record<string, { weight?: Float32Array; bias?: Float32Array }>;

/** the generated module's surface this benchmark uses */
interface GeneratedModel {
  readonly params: Params;
  readonly grads: Params;
  lossAndGrad(x: Float32Array, labels: Int32Array): number;
  sgdStep(lr: number): void;
}

/**
 * the FLOPs of one step: every layer's forward, its dW where it has parameters, and its dx
 * only where an earlier layer has parameters (nobody needs dL/dx of the first conv; neither
 * the generated module nor tf.grads computes it)
 */
function stepFlops(plan: ModelPlan): number {
  let f = 0;
  let learnsBelow = false;
  for (const l of plan.layers) {
    f += l.flops.forward;
    if (l.kernels.includes('gradWeight')) f += l.flops.gradWeight;
    if (learnsBelow && l.kernels.includes('gradInput')) f += l.flops.gradInput;
    if (l.weightShape) learnsBelow = true;
  }
  return f;
}

/** loss then every gradient in layer order (weight, bias), one vector to cross-check */
function flatGrads(plan: ModelPlan, loss: number, grads: Record<string, { weight?: ArrayLike<number>; bias?: ArrayLike<number> }>): Float64Array {
  const parts: number[] = [loss];
  for (const l of plan.layers) {
    const g = grads[l.name];
    if (l.weightShape) parts.push(...Array.from(g?.weight ?? []));
    if (l.biasShape) parts.push(...Array.from(g?.bias ?? []));
  }
  return Float64Array.from(parts);
}

/** emit the model module for `plan` into a temporary folder and import it */
async function generatedModel(plan: ModelPlan, dir: string): Promise<GeneratedModel> {
  const files = emitModelTs(plan, lowerModel(plan));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const mod = (await import(pathToFileURL(path.join(dir, 'index.ts')).href)) as { createModel: () => GeneratedModel };
  return mod.createModel();
}

/** the wasm target's module for `plan` (wasm.ts and its files), SIMD or scalar */
async function generatedWasmModel(plan: ModelPlan, dir: string, simd: boolean): Promise<GeneratedModel> {
  const files = emitWasmFiles(plan, lowerModel(plan, { target: 'wasm' }), { simd });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const mod = (await import(pathToFileURL(path.join(dir, 'wasm.ts')).href)) as { createWasmModel: () => GeneratedModel };
  return mod.createWasmModel();
}

/**
 * F (the default) or G. F times each strategy forced and the plan as is; G the plan as is only
 * (each TS variant of the ResNet takes seconds of V8 warm-up, and G is there for the wasm/TS ratio)
 */
export async function benchStep(quick: boolean, budget: TimingBudget, log: (line: string) => void, cfg: StepConfig = STEP_CONFIG): Promise<{ rows: Row[]; gemm: Calibration }> {
  const stepId = cfg.id;
  const autoPlan = planModel({ ...loadModelFile(cfg.example), ...(quick ? { batch: 2 } : {}) });
  const batch = autoPlan.batch;
  const next = rng(70);
  const x = randomF32(numel(autoPlan.inShape), next);
  const classes = autoPlan.outShape[1];
  const labels = Int32Array.from({ length: batch }, () => Math.floor(next() * classes));
  // PyTorch's default init range, so activations and grads have realistic sizes
  const params: Params = {};
  for (const l of autoPlan.layers) {
    if (!l.weightShape) continue;
    const bound = 1 / Math.sqrt(numel(l.weightShape) / l.weightShape[0]);
    params[l.name] = { weight: randomF32(numel(l.weightShape), next, bound) };
    if (l.biasShape) params[l.name].bias = randomF32(numel(l.biasShape), next, bound);
  }
  const ref = createReferenceModel(autoPlan, params);
  const want = flatGrads(autoPlan, ref.lossAndGrad(x, labels), ref.grads);
  const flops = stepFlops(autoPlan);
  const pending = (impl: Impl, detail: string): Pending => ({ config: stepId, op: 'step', impl, detail, flops });
  const candidates: Candidate[] = [];
  const scheduleOf = (plan: ModelPlan) => plan.layers.flatMap((l) => ('schedule' in l ? [`${l.name}: ${l.schedule.forward}/${l.schedule.gradInput}/${l.schedule.gradWeight}`] : [])).join(', ');
  const forcedPlan = (strategy: 'direct' | 'im2row') => planModel({ ...loadModelFile(cfg.example), ...(quick ? { batch: 2 } : {}) }, { strategy });
  const strategies = cfg.id === STEP_CONFIG.id ? STRATEGIES : [];
  // auto planned exactly as one forced strategy: the same module, so it reuses that row
  // (timing an identical module twice on a shared machine only shows the noise)
  const autoSameAs = strategies.find((s) => scheduleOf(forcedPlan(s)) === scheduleOf(autoPlan)) ?? null;

  // convgen: the generated module, each strategy forced, and as planned (auto)
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'convgen-bench-step-'));
  const tfModels: { backend: TfBackend; m: TfStep }[] = [];
  try {
    const variants = [
      ...[...strategies, 'auto' as const].filter((s) => !(s === 'auto' && autoSameAs)).map((strategy) => ({ strategy, impl: `convgen ${strategy}` as Impl, wasm: null })),
      // the wasm target as planned, SIMD (what build writes) and scalar
      { strategy: 'auto' as const, impl: 'convgen wasm' as Impl, wasm: { simd: true } },
      { strategy: 'auto' as const, impl: 'convgen wasm scalar' as Impl, wasm: { simd: false } },
    ];
    for (const { strategy, impl, wasm } of variants) {
      const plan = strategy === 'auto' ? autoPlan : forcedPlan(strategy);
      const detail = `generated ${wasm ? `wasm.ts (${wasm.simd ? 'f32x4' : 'no SIMD'})` : 'module'}, lossAndGrad + sgdStep (fwd/dx/dW per conv: ${scheduleOf(plan)})`;
      let model: GeneratedModel;
      try {
        const dir = path.join(tmp, impl.replace(/ /g, '-'));
        model = wasm ? await generatedWasmModel(plan, dir, wasm.simd) : await generatedModel(plan, dir);
      } catch (err) {
        const message = `generating the module failed: ${(err as Error).message}`;
        candidates.push({ pending: pending(impl, detail), result: () => { throw new Error(message); }, timed: () => {} });
        continue;
      }
      for (const l of plan.layers) {
        if (!params[l.name]) continue;
        model.params[l.name].weight?.set(params[l.name].weight!);
        if (params[l.name].bias) model.params[l.name].bias?.set(params[l.name].bias!);
      }
      candidates.push({
        pending: pending(impl, detail),
        result: () => flatGrads(plan, model.lossAndGrad(x, labels), model.grads),
        timed: () => {
          model.lossAndGrad(x, labels);
          model.sgdStep(LR);
        },
        untilSteady: true,
      });
    }

    // the reference model: float64 lossAndGrad and a plain SGD loop
    const refModel = createReferenceModel(autoPlan, params);
    const refCheck = createReferenceModel(autoPlan, params);
    candidates.push({
      pending: pending('reference', 'reference model lossAndGrad + SGD loop (float64)'),
      result: () => flatGrads(autoPlan, refCheck.lossAndGrad(x, labels), refCheck.grads),
      timed: () => {
        refModel.lossAndGrad(x, labels);
        for (const [name, p] of Object.entries(refModel.params)) {
          const g = refModel.grads[name];
          if (p.weight && g.weight) for (let i = 0; i < p.weight.length; i++) p.weight[i] -= LR * g.weight[i];
          if (p.bias && g.bias) for (let i = 0; i < p.bias.length; i++) p.bias[i] -= LR * g.bias[i];
        }
      },
    });

    // tfjs: tf.variableGrads over the same layers, SGD by assign; the variables live on
    // their backend, made current before each call. wasm has no Conv2DBackpropFilter: its
    // check throws "not registered", which measureOp reports as "no kernel"
    for (const backend of TF_BACKENDS) {
      await useBackend(backend);
      let m: TfStep;
      try {
        m = tfTrainingStep(autoPlan, params, x, labels, LR, backend);
      } catch (err) {
        // the bench's tfjs model covers LeNet's layers (no batch norm, no graph): no row
        log(`  ${stepId} step       ${backend}: not timed: ${(err as Error).message}`);
        continue;
      }
      tfModels.push({ backend, m });
      candidates.push({
        pending: pending(backend, `${backend.slice(5)}: tf.variableGrads + SGD assign (NHWC inside, input transposed in the step)`),
        result: () => {
          const r = m.lossAndGrads();
          return flatGrads(autoPlan, r.loss, r.grads);
        },
        timed: m.step,
        before: () => useBackend(backend),
      });
    }
    const { rows, gemm } = await measureOp(stepId, 'step', candidates, want, quick, budget, log);
    if (autoSameAs) {
      const same = rows.find((r) => r.impl === `convgen ${autoSameAs}`)!;
      const afterConvgen = rows.filter((r) => r.impl.startsWith('convgen ') && !r.impl.startsWith('convgen wasm')).length;
      rows.splice(afterConvgen, 0, { ...same, impl: 'convgen auto', detail: `plans as convgen ${autoSameAs}: ${same.detail}` });
    }
    return { rows, gemm };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    for (const { backend, m } of tfModels) {
      await useBackend(backend);
      m.dispose();
    }
  }
}
