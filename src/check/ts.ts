// The checker (the library behind `convgen check` and the API's check()): builds each model
// in memory and runs it against the float64 reference interpreter on seeded random data
// (the WGSL target: the same on a WebGPU adapter, ./wgsl.ts):
//   1. every layer kernel, executed through the kernel-execution helper (compileKernelTs:
//      lowered, rendered as the generated code is, evaluated), each output compared with
//      refForward / refBackward, and the loss kernel against the reference softmax cross-entropy;
//   2. the whole generated module (its plain-JS flavour, imported from a temp folder):
//      forward output, the loss, and every gradient after lossAndGrad (or backward) against
//      createReferenceModel with the same parameters.
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
import { numel } from '../plan/types.ts';
import type { LayerProgram } from '../kernels/types.ts';
import { lowerLayer } from '../kernels/index.ts';
import { compileKernelTs } from '../render/ts.ts';
import { createReferenceModel, refBackward, refForward, softmaxCrossEntropy, type RefParams } from '../reference/index.ts';
import { lowerSoftmaxCrossEntropy } from '../kernels/loss.ts';
import { emitModel } from '../emit/index.ts';
import { writeOutputAtomic } from '../emit/write.ts';
import type { GpuLimits } from '../gpu/limits.ts';

const EPS32 = 2 ** -23;
/** whole-model results: max |got - ref| <= MODEL_TOLERANCE * max(1e-3, max |ref|) */
export const MODEL_TOLERANCE = 1e-4;

/** the reduction length of each output a kernel writes (an upper bound where it varies) */
export function reductionLength(l: LayerPlan, out: 'y' | 'dx' | 'gradWeight' | 'gradBias'): number {
  switch (l.type) {
    case 'conv1d':
    case 'conv2d':
    case 'conv_transpose2d': {
      const g = l.geometry;
      if (out === 'gradWeight' || out === 'gradBias') return g.batch * Math.max(g.inH * g.inW, g.outH * g.outW);
      return (Math.max(g.inC, g.outC) / g.groups) * g.kH * g.kW;
    }
    case 'linear':
      return out === 'y' ? l.inFeatures : out === 'dx' ? l.outFeatures : l.batch;
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool2d':
    case 'global_maxpool':
    case 'global_avgpool':
      return l.geometry.kH * l.geometry.kW;
    case 'upsample_bilinear2d':
      return out === 'y' ? 4 : 4 * l.scaleH * l.scaleW;
    case 'batchnorm1d':
    case 'batchnorm2d':
      // every output goes through a channel's sums of batch x positions values
      return l.batch * l.spatial;
    case 'relu':
    case 'flatten':
    case 'dropout':
      return 1;
  }
}

export interface Comparison {
  maxAbs: number;
  maxRel: number;
  tolerance: number;
  ok: boolean;
}

/** max abs error against an absolute tolerance; maxRel is normwise (relative to max |ref|) */
export function compare(got: ArrayLike<number>, ref: ArrayLike<number>, tolerance: (maxRef: number) => number): Comparison {
  let maxRef = 0;
  let maxAbs = 0;
  let finite = got.length === ref.length;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    const e = Math.abs(got[i] - ref[i]);
    if (!Number.isFinite(e)) finite = false;
    else maxAbs = Math.max(maxAbs, e);
  }
  const tol = tolerance(maxRef);
  if (!finite) maxAbs = Infinity;
  return { maxAbs, maxRel: maxRef > 0 ? maxAbs / maxRef : maxAbs, tolerance: tol, ok: maxAbs <= tol };
}

export const kernelTolerance = (R: number) => (maxRef: number) => 2 * EPS32 * (R + 2) * Math.max(1, maxRef);
export const modelTolerance = (maxRef: number) => MODEL_TOLERANCE * Math.max(1e-3, maxRef);

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

/** n floats uniform in [-scale, scale) */
export const uniform = (n: number, rng: () => number, scale = 1): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng() - 1) * scale;
  return a;
};

export interface CheckRow {
  layer: string;
  kernel: string;
  strategy: string;
  /** null: nothing to compare here (a view layer, or a kernel that writes only scratch) */
  result: Comparison | null;
  /** why there is no result */
  note?: string;
}

type Bufs = Record<string, Float32Array | Int32Array>;

function strategyOf(l: LayerPlan, out: string): string {
  if (!('schedule' in l)) return '-';
  if (out === 'y') return l.schedule.forward;
  if (out === 'dx') return l.schedule.gradInput;
  if (out === 'gradWeight') return l.schedule.gradWeight;
  return '-';
}

/** run one layer's kernels (forward, then backward) and compare each output with the reference */
export function checkLayer(l: LayerPlan, rng: () => number): CheckRow[] {
  const prog: LayerProgram = lowerLayer(l);
  if (prog.alias) return [{ layer: l.name, kernel: `(${l.type}: a view, no kernels)`, strategy: '-', result: null, note: '-' }];
  const fanIn = l.weightShape ? numel(l.weightShape) / l.weightShape[0] : 1;
  const params: RefParams = {};
  const bufs: Bufs = {
    x: uniform(numel(l.inShape), rng),
    dy: uniform(numel(l.outShape), rng),
    y: new Float32Array(numel(l.outShape)).fill(NaN),
    dx: new Float32Array(numel(l.inShape)).fill(NaN),
  };
  if (l.weightShape) {
    bufs.weight = uniform(numel(l.weightShape), rng, 1 / Math.sqrt(fanIn));
    bufs.gradWeight = new Float32Array(numel(l.weightShape)).fill(NaN);
    params.weight = bufs.weight;
  }
  if (l.biasShape) {
    bufs.bias = uniform(numel(l.biasShape), rng, 1 / Math.sqrt(fanIn));
    bufs.gradBias = new Float32Array(numel(l.biasShape)).fill(NaN);
    params.bias = bufs.bias;
  }
  for (const s of prog.scratch) bufs[s.name] = s.t === 'f32' ? new Float32Array(s.length) : new Int32Array(s.length);
  const fwd = refForward(l, bufs.x, params);
  const bwd = refBackward(l, bufs.x, fwd.y, bufs.dy, params, fwd.cache);
  const want: Record<string, ArrayLike<number> | undefined> = { y: fwd.y, dx: bwd.dx, gradWeight: bwd.gradWeight, gradBias: bwd.gradBias };
  const rows: CheckRow[] = [];
  for (const phase of [prog.forward, prog.backward]) {
    const written: { call: string; outs: string[] }[] = [];
    for (const c of phase) {
      const args = c.kernel.buffers.map((b) => bufs[c.args[b.name]]);
      compileKernelTs(c.kernel)(...args);
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
        rows.push({ layer: l.name, kernel: w.outs.length > 1 ? `${w.call} (${o})` : w.call, strategy: strategyOf(l, o), result: compare(bufs[o], ref, kernelTolerance(reductionLength(l, o as 'y'))) });
      }
    }
  }
  return rows;
}

/** the loss kernel (logits of +-8, random labels) against the reference softmax cross-entropy */
export function checkLoss(plan: ModelPlan, rng: () => number): CheckRow[] {
  if (plan.outShape.length !== 2) return [];
  const [N, K] = plan.outShape;
  const k = lowerSoftmaxCrossEntropy(N, K);
  const logits = uniform(N * K, rng, 8);
  const labels = Int32Array.from({ length: N }, () => Math.floor(rng() * K));
  const dlogits = new Float32Array(N * K).fill(NaN);
  const loss = new Float32Array(1).fill(NaN);
  compileKernelTs(k)(logits, labels, dlogits, loss);
  const ref = softmaxCrossEntropy(logits, labels, N, K);
  return [
    { layer: '(loss)', kernel: `${k.name} (loss)`, strategy: '-', result: compare(loss, [ref.loss], kernelTolerance(N * K)) },
    { layer: '(loss)', kernel: `${k.name} (dlogits)`, strategy: '-', result: compare(dlogits, ref.dLogits, kernelTolerance(K)) },
  ];
}

/** the module's members that the model check uses */
interface GeneratedModel {
  params: Record<string, { weight?: Float32Array; bias?: Float32Array }>;
  grads: Record<string, { weight?: Float32Array; bias?: Float32Array }>;
  forward(x: Float32Array): Float32Array;
  backward(dOut: Float32Array): Float32Array;
  lossAndGrad(x: Float32Array, labels: Int32Array): number;
}

/**
 * one target of the generated module, in its plain-JS flavour, written to a temporary folder
 * and imported from there (`entry`: index.js for ts, gpu.js for wgsl), as a user's app would
 */
export async function importEmitted<M>(plan: ModelPlan, target: 'ts' | 'wgsl', entry: string, limits?: GpuLimits): Promise<{ mod: M; cleanup: () => void }> {
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

/** a generated model as the model check drives it (the TS module's calls return at once, the GPU runtime's resolve after readback) */
export interface ModelUnderCheck {
  params(): Promise<Tensors>;
  forward(x: Float32Array): Promise<ArrayLike<number>>;
  backward(dOut: Float32Array): Promise<ArrayLike<number>>;
  lossAndGrad(x: Float32Array, labels: Int32Array): Promise<number>;
  /** the gradients the last lossAndGrad / backward left */
  grads(): Promise<Tensors>;
}

/**
 * a model against the reference model with the same parameters, on data drawn from
 * `seed + 1`: forward's output, then lossAndGrad's loss (or, without a loss, backward's dx)
 * and every gradient
 */
export async function compareModel(plan: ModelPlan, seed: number, model: ModelUnderCheck): Promise<CheckRow[]> {
  const rng = rng32(seed + 1);
  const params: Record<string, RefParams> = {};
  for (const [name, p] of Object.entries(await model.params())) params[name] = { weight: p.weight, bias: p.bias };
  const ref = createReferenceModel(plan, params);
  const x = uniform(numel(plan.inShape), rng);
  const rows: CheckRow[] = [];
  const row = (kernel: string, got: ArrayLike<number>, want: ArrayLike<number>) =>
    rows.push({ layer: '(model)', kernel, strategy: '-', result: compare(got, want, modelTolerance) });
  row('forward: output', Float32Array.from(await model.forward(x)), ref.forward(x));
  const vectorOut = plan.outShape.length === 2;
  if (vectorOut) {
    const labels = Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1]));
    const loss = await model.lossAndGrad(x, labels);
    row('lossAndGrad: loss', [loss], [ref.lossAndGrad(x, labels)]);
  } else {
    const dOut = uniform(numel(plan.outShape), rng);
    row('backward: dx', Float32Array.from(await model.backward(dOut)), ref.backward(dOut));
  }
  const grads = await model.grads();
  for (const [name, g] of Object.entries(ref.grads)) {
    for (const kind of ['weight', 'bias'] as const) {
      const want = g[kind];
      if (want) row(`${vectorOut ? 'lossAndGrad' : 'backward'}: grads.${name}.${kind}`, grads[name][kind]!, want);
    }
  }
  return rows;
}

/** the whole generated module against the reference model with the same parameters */
export async function checkModel(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const { createModel, cleanup } = await importGenerated(plan);
  try {
    const model = createModel({ seed });
    return await compareModel(plan, seed, {
      params: async () => model.params,
      forward: async (x) => model.forward(x),
      backward: async (dOut) => model.backward(dOut),
      lossAndGrad: async (x, labels) => model.lossAndGrad(x, labels),
      grads: async () => model.grads,
    });
  } finally {
    cleanup();
  }
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

/** every TS kernel of one model, its loss kernel, then the whole generated module */
export async function checkTs(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const rng = rng32(seed);
  const rows = plan.layers.flatMap((l) => checkLayer(l, rng));
  rows.push(...checkLoss(plan, rng));
  rows.push(...(await checkModel(plan, seed)));
  return rows;
}
