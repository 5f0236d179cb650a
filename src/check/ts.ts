// The checker (the library behind `convgen check` and the API's check()): builds each model
// in memory and runs it against the float64 reference interpreter on seeded random data
// (the WGSL target: the same on a WebGPU adapter, ./wgsl.ts):
//   1. every layer kernel, executed through the kernel-execution helper (compileKernelTs:
//      lowered, rendered as the generated code is, evaluated), each output compared with
//      refForward / refBackward; the loss kernel against the reference loss, and each
//      optimizer kernel for 3 steps against the reference optimizer (./train.ts);
//   2. the whole generated module (its plain-JS flavour, imported from a temp folder):
//      forward output, the loss, and every gradient after lossAndGrad (or backward) against
//      createReferenceModel with the same parameters; then each optimizer through the
//      module's optimizerStep, 3 steps on those gradients, against the reference optimizer.
// Each result is a row: layer | kernel | strategy | max abs error | max rel error | tolerance
// | ok. Shares nothing with the generator but plan data and that helper.
//
// Tolerances scale with the reduction length R of each output (how many products one sum
// adds): |got - ref| <= 2 * 2^-23 * (R + 2) * max(1, max |ref|), a float32 rounding bound
// that grows linearly with R. Whole-model results chain many layers and use
// MODEL_TOLERANCE relative to the largest reference value.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import { inputShapes, numel } from '../plan/types.ts';
import type { LayerProgram } from '../kernels/types.ts';
import type { Kernel } from '../ir/types.ts';
import { lowerLayer, type KernelTarget } from '../kernels/index.ts';
import { compileKernelTs } from '../render/ts.ts';
import { createReferenceModel, type RefParams } from '../reference/index.ts';
import { checkLossKernel, checkOptimizerKernels, OPTIMIZER_CHECKS, optimizerTitle, referenceOptimizer, type OptimizerCheck, type RunKernel } from './train.ts';
import { emitModel } from '../emit/index.ts';
import { writeOutputAtomic } from '../emit/write.ts';
import type { GpuLimits } from '../gpu/limits.ts';
import { layerRuns, uniform } from './layer-data.ts';
import { compare, kernelTolerance, modelTolerance, type CheckRow } from './compare.ts';


/** the smooth activations' budget of float32 roundings, in the reduction-length unit */
const ACTIVATION_ROUNDINGS = 4;

/** the reduction length of each output a kernel writes (an upper bound where it varies) */
export function reductionLength(l: LayerPlan, out: 'y' | 'dx' | 'gradWeight' | 'gradBias'): number {
  switch (l.type) {
    case 'conv1d':
    case 'conv2d':
    case 'conv_transpose1d':
    case 'conv_transpose2d': {
      const g = l.geometry;
      if (out === 'gradWeight' || out === 'gradBias') return g.batch * Math.max(g.inH * g.inW, g.outH * g.outW);
      return (Math.max(g.inC, g.outC) / g.groups) * g.kH * g.kW;
    }
    case 'linear':
      return out === 'y' ? l.inFeatures : out === 'dx' ? l.outFeatures : l.batch;
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return l.geometry.kH * l.geometry.kW;
    case 'upsample_nearest2d':
      return out === 'y' ? 1 : l.scaleH * l.scaleW;
    case 'upsample_bilinear2d':
      return out === 'y' ? 4 : 4 * l.scaleH * l.scaleW;
    case 'batchnorm1d':
    case 'batchnorm2d':
      // every output goes through a channel's sums of batch x positions values
      return l.batch * l.spatial;
    case 'relu':
    case 'leaky_relu':
    case 'relu6':
    case 'zero_pad1d':
    case 'zero_pad2d':
    case 'flatten':
    case 'dropout':
    case 'concat':
      return 1;
    case 'add':
      return l.inputs.length;
    // no sum, but a chain of rounded float32 operations (exp, a polynomial): counted as its length
    case 'elu':
    case 'sigmoid':
    case 'tanh':
    case 'silu':
    case 'gelu':
      return ACTIVATION_ROUNDINGS;
  }
}

/** mulberry32, floats in [0, 1) */
export function rng32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { uniform };

export { compare, kernelTolerance, modelTolerance, MODEL_TOLERANCE, type CheckRow, type Comparison } from './compare.ts';

type Bufs = Record<string, Float32Array | Int32Array | undefined>;

/** what an output is, for its tolerance: dx0, dx1, ... are dx */
export const outputRole = (out: string): 'y' | 'dx' | 'gradWeight' | 'gradBias' => (/^dx\d*$/.test(out) ? 'dx' : (out as 'y' | 'gradWeight' | 'gradBias'));

function strategyOf(l: LayerPlan, out: string): string {
  if (!('schedule' in l)) return '-';
  if (out === 'y') return l.schedule.forward;
  if (out === 'dx') return l.schedule.gradInput;
  if (out === 'gradWeight') return l.schedule.gradWeight;
  return '-';
}

/** runs one layer kernel on its buffers, in place (the TS kernel, or another target's) */
export type RunLayerKernel = (k: Kernel, args: (Float32Array | Int32Array)[]) => void;
const runLayerKernelTs: RunLayerKernel = (k, args) => compileKernelTs(k)(...args);

/** run one layer's kernels (forward, then backward; in each mode where they differ) and compare each output with the reference */
export function checkLayer(l: LayerPlan, rng: () => number, runKernel: RunLayerKernel = runLayerKernelTs, target: KernelTarget = 'ts'): CheckRow[] {
  const prog: LayerProgram = lowerLayer(l, { target });
  if (prog.alias) return [{ layer: l.name, kernel: `(${l.type}: a view, no kernels)`, strategy: '-', result: null, note: '-' }];
  const rows: CheckRow[] = [];
  for (const run of layerRuns(l, prog, rng)) {
    const bufs: Bufs = run.host;
    const want = run.want;
    for (const phase of [run.forward, run.backward]) {
      const written: { call: string; outs: string[] }[] = [];
      for (const c of phase) {
        const args = c.kernel.buffers.map((b) => bufs[c.args[b.name]] ?? fail(`check: ${l.name}: ${c.kernel.name} binds '${c.args[b.name]}', which the check has no buffer for`));
        runKernel(c.kernel, args);
        const outs = c.kernel.buffers.filter((b) => b.access !== 'read').map((b) => c.args[b.name]).filter((n) => n in want);
        written.push({ call: c.kernel.name, outs });
      }
      // compare after the whole phase: a later kernel may finish what an earlier one started
      for (const w of written) {
        if (w.outs.length === 0) {
          rows.push({ layer: l.name, kernel: w.call, strategy: '-', result: null, note: '(scratch: checked by its readers)' });
          continue;
        }
        for (const o of w.outs) {
          const ref = want[o];
          if (!ref) throw new Error(`check: ${l.name}: ${w.call} writes ${o}, which the reference does not produce`);
          rows.push({ layer: l.name, kernel: w.outs.length > 1 ? `${w.call} (${o})` : w.call, strategy: strategyOf(l, o), result: compare(bufs[o]!, ref, kernelTolerance(reductionLength(l, outputRole(o)))) });
        }
      }
    }
  }
  return rows;
}

function fail(message: string): never {
  throw new Error(message);
}

/** a kernel run as the generated TS runs it: lowered, rendered, evaluated (buffers in place) */
export const runKernelTs: RunKernel = async (k, bufs, scalars) => {
  compileKernelTs(k)(...k.buffers.map((b) => bufs[b.name]), ...k.scalars.map((s) => scalars[s.name]));
};

/** the members of a synchronous generated model (index.ts's createModel, wasm.ts's createWasmModel) that the model check uses */
export interface GeneratedModel {
  params: Record<string, { weight?: Float32Array; bias?: Float32Array }>;
  grads: Record<string, { weight?: Float32Array; bias?: Float32Array }>;
  buffers: Buffers;
  train(mode?: boolean): unknown;
  forward(x: Float32Array): Float32Array;
  backward(dOut: Float32Array): Float32Array;
  lossAndGrad(x: Float32Array, target: Int32Array | Float32Array): number;
  optimizerStep(o: OptimizerCheck['optimizer']): void;
  resetOptimizer(): void;
}

/**
 * one target of the generated module, in its plain-JS flavour, written to a temporary folder
 * and imported from there (`entry`: index.js for ts, gpu.js for wgsl), as a user's app would
 */
export async function importEmitted<M>(plan: ModelPlan, target: 'ts' | 'wgsl' | 'wasm', entry: string, limits?: GpuLimits): Promise<{ mod: M; cleanup: () => void }> {
  const files = await emitModel(plan, { target, emit: 'js', limits });
  const root = mkdtempSync(join(tmpdir(), 'convgen-check-'));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  try {
    const dir = join(root, plan.name);
    writeOutputAtomic(dir, files);
    return { mod: (await import(pathToFileURL(join(dir, entry)).href)) as M, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** import the generated module (plain-JS flavour) from a temporary folder */
export async function importGenerated(plan: ModelPlan): Promise<{ createModel: (o?: { seed?: number }) => GeneratedModel; cleanup: () => void }> {
  const { mod, cleanup } = await importEmitted<{ createModel: (o?: { seed?: number }) => GeneratedModel }>(plan, 'ts', 'index.js');
  return { createModel: mod.createModel, cleanup };
}

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;

/** batch norm's buffers as both generated models expose them */
type Buffers = Record<string, { running_mean?: Float32Array; running_var?: Float32Array; num_batches_tracked?: BigInt64Array }>;

/** a generated model as the model check drives it (the TS module's calls return at once, the GPU runtime's resolve after readback) */
export interface ModelUnderCheck {
  params(): Promise<Tensors>;
  forward(x: Float32Array): Promise<ArrayLike<number>>;
  backward(dOut: Float32Array): Promise<ArrayLike<number>>;
  lossAndGrad(x: Float32Array, target: Int32Array | Float32Array): Promise<number>;
  /** the gradients the last lossAndGrad / backward left */
  grads(): Promise<Tensors>;
  /** batch norm's running stats and counts */
  buffers(): Promise<Buffers>;
  /** PyTorch's module.train(mode) */
  train(mode: boolean): void;
  /** overwrite the parameters (PyTorch layout) */
  writeParams(p: Tensors): Promise<void>;
  optimizerStep(o: OptimizerCheck['optimizer']): Promise<void>;
  resetOptimizer(): Promise<void>;
}

/** what lossAndGrad takes besides x: labels for softmax cross-entropy, else a target of the output's shape (bce's in [0, 1]) */
export function randomTarget(plan: ModelPlan, rng: () => number): Int32Array | Float32Array {
  if (plan.loss === 'mse') return uniform(numel(plan.outShape), rng);
  if (plan.loss === 'bce_with_logits') return Float32Array.from(uniform(numel(plan.outShape), rng), (v) => (v + 1) / 2);
  return Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1]));
}

const flat = (t: Tensors, names: readonly string[]): Float32Array => {
  const parts = names.flatMap((n) => [t[n]!.weight, t[n]!.bias].filter((a): a is Float32Array => a !== undefined));
  const out = new Float32Array(parts.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of parts) {
    out.set(a, o);
    o += a.length;
  }
  return out;
};
const copyTensors = (t: Tensors): Tensors =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { ...(v.weight ? { weight: Float32Array.from(v.weight) } : {}), ...(v.bias ? { bias: Float32Array.from(v.bias) } : {}) }]));

/**
 * each of OPTIMIZER_CHECKS through the module's optimizerStep: from the same parameters and a
 * fresh optimizer, 3 steps on the gradients its last lossAndGrad left, against the reference
 * optimizer on those gradients (every parameter, in one row per optimizer)
 */
async function compareOptimizers(model: ModelUnderCheck, row: (kernel: string, got: ArrayLike<number>, want: ArrayLike<number>) => void): Promise<void> {
  const p0 = copyTensors(await model.params());
  const names = Object.keys(p0);
  if (!names.length) return;
  const g = flat(await model.grads(), names);
  for (const c of OPTIMIZER_CHECKS) {
    await model.writeParams(p0);
    await model.resetOptimizer();
    const want = Float64Array.from(flat(p0, names));
    const ref = referenceOptimizer(c, want.length);
    for (let t = 0; t < 3; t++) {
      await model.optimizerStep(c.optimizer);
      ref(want, g);
    }
    row(`optimizerStep x3 (${optimizerTitle(c)}): params`, flat(await model.params(), names), want);
  }
  await model.writeParams(p0);
  await model.resetOptimizer();
}

const hasBatchNorm = (plan: ModelPlan): boolean => plan.layers.some((l) => l.type === 'batchnorm1d' || l.type === 'batchnorm2d');

/** whether results depend on the mode: batch norm, dropout, and output_softmax (eval-mode forward returns probabilities) */
const modal = (plan: ModelPlan): boolean => plan.outputSoftmax === true || plan.layers.some((l) => l.type === 'batchnorm1d' || l.type === 'batchnorm2d' || l.type === 'dropout');

/**
 * a model against the reference model with the same parameters (and, for dropout, the same
 * seed), on data drawn from `seed + 1`: forward's output, then lossAndGrad's loss (or, without
 * a loss, backward's dx), every gradient and batch norm's buffers; a model with batch norm,
 * dropout or output_softmax then the same again in eval mode (dropout's masks come from the stream the
 * reference computes too, so training mode is compared as it is)
 */
export async function compareModel(plan: ModelPlan, seed: number, model: ModelUnderCheck): Promise<CheckRow[]> {
  const rng = rng32(seed + 1);
  const params: Record<string, RefParams> = {};
  for (const [name, p] of Object.entries(await model.params())) params[name] = { weight: p.weight, bias: p.bias };
  const ref = createReferenceModel(plan, params, { seed });
  const x = uniform(numel(plan.inShape), rng);
  // a loss: the plan's, or softmax cross-entropy for a vector output (as lowerModel chooses)
  const hasLoss = plan.loss !== null || plan.outShape.length === 2;
  const target = hasLoss ? randomTarget(plan, rng) : null;
  const dOut = hasLoss ? null : uniform(numel(plan.outShape), rng);
  const rows: CheckRow[] = [];
  const row = (kernel: string, got: ArrayLike<number>, want: ArrayLike<number>, scale = 0) =>
    rows.push({ layer: '(model)', kernel, strategy: '-', result: compare(got, want, (maxRef) => modelTolerance(Math.max(maxRef, scale))) });
  const pass = async (mode: string) => {
    row(`${mode}forward: output`, Float32Array.from(await model.forward(x)), ref.forward(x));
    if (target) row(`${mode}lossAndGrad: loss`, [await model.lossAndGrad(x, target)], [ref.lossAndGrad(x, target)]);
    else row(`${mode}backward: dx`, Float32Array.from(await model.backward(dOut!)), ref.backward(dOut!));
    const grads = await model.grads();
    const maxAbs = (t: ArrayLike<number> | undefined) => (t ? Math.max(0, ...Array.from(t, Math.abs)) : 0);
    // batch norm makes what comes before it scale-invariant, so some gradients there are 0 up to
    // the rounding of terms the size of the others: in a model with batch norm every gradient
    // shares the largest one's scale
    const bnScale = hasBatchNorm(plan) ? Math.max(...Object.values(ref.grads).flatMap((g) => [maxAbs(g.weight), maxAbs(g.bias)])) : 0;
    for (const [name, g] of Object.entries(ref.grads)) {
      // a layer's weight and bias gradients share one scale: a bias before a batch norm has a
      // gradient that is 0 up to the rounding of the terms that cancel, terms the size of the weight's
      const scale = Math.max(bnScale, maxAbs(g.weight), maxAbs(g.bias));
      for (const kind of ['weight', 'bias'] as const) {
        const want = g[kind];
        if (want) row(`${mode}${target ? 'lossAndGrad' : 'backward'}: grads.${name}.${kind}`, grads[name][kind]!, want, scale);
      }
    }
    const buffers = await model.buffers();
    for (const [name, b] of Object.entries(ref.buffers)) {
      row(`${mode}buffers.${name}.running_mean`, buffers[name].running_mean!, b.running_mean);
      row(`${mode}buffers.${name}.running_var`, buffers[name].running_var!, b.running_var);
      row(`${mode}buffers.${name}.num_batches_tracked`, [Number(buffers[name].num_batches_tracked![0])], [b.num_batches_tracked]);
    }
  };
  await pass('');
  if (modal(plan)) {
    model.train(false);
    ref.eval();
    await pass('eval: ');
  }
  await compareOptimizers(model, row);
  return rows;
}

/** the whole generated module against the reference model with the same parameters */
export async function checkModel(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const { createModel, cleanup } = await importGenerated(plan);
  try {
    return await compareModel(plan, seed, underCheck(createModel({ seed })));
  } finally {
    cleanup();
  }
}

/** a synchronous generated model as the whole-model comparison drives it */
export function underCheck(model: GeneratedModel): ModelUnderCheck {
  return {
    params: async () => model.params,
    forward: async (x) => model.forward(x),
    backward: async (dOut) => model.backward(dOut),
    lossAndGrad: async (x, target) => model.lossAndGrad(x, target),
    grads: async () => model.grads,
    buffers: async () => model.buffers,
    train: (mode) => model.train(mode),
    writeParams: async (p) => {
      for (const [name, t] of Object.entries(p)) {
        if (t.weight) model.params[name]!.weight!.set(t.weight);
        if (t.bias) model.params[name]!.bias!.set(t.bias);
      }
    },
    optimizerStep: async (o) => model.optimizerStep(o),
    resetOptimizer: async () => model.resetOptimizer(),
  };
}

const fmt = (v: number): string => (v === Infinity ? 'inf' : v === 0 ? '0' : v.toExponential(2));

export function formatCheckTable(title: string, rows: readonly CheckRow[]): string {
  const header = ['layer', 'kernel', 'strategy', 'max abs error', 'max rel error', 'tolerance', 'ok'];
  const cells = rows.map((r) =>
    r.result
      ? [r.layer, r.kernel, r.strategy, fmt(r.result.maxAbs), fmt(r.result.maxRel), fmt(r.result.tolerance), r.result.ok ? 'ok' : 'FAIL']
      : [r.layer, r.kernel, r.strategy, r.note ?? '-', '', '', '-'],
  );
  const all = [header, ...cells];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((s, c) => s.padEnd(widths[c])).join(' | ')} |`;
  return [title, '', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n') + '\n';
}

/** every TS kernel of one model, its loss and optimizer kernels, then the whole generated module */
export async function checkTs(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const rng = rng32(seed);
  const rows = plan.layers.flatMap((l) => checkLayer(l, rng));
  rows.push(...(await checkLossKernel(plan, rng, runKernelTs)));
  rows.push(...(await checkOptimizerKernels(plan, rng, runKernelTs)));
  rows.push(...(await checkModel(plan, seed)));
  return rows;
}
