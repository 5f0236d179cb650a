// The model-level kernels in `convgen check`, on either target (a RunKernel runs one kernel
// as TS or on a WebGPU device): the loss kernel against the reference loss, and each
// optimizer kernel for three steps against the reference optimizer. The optimizer kernels'
// scalars are computed here from their documented contract (src/kernels/sgd.ts, adam.ts),
// in float64 as the generated entry points compute them; the whole-model rows (compareModel
// in ./ts.ts) run those entry points themselves, with the same OPTIMIZER_CHECKS.

import type { ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { Kernel } from '../ir/types.ts';
import type { OptimizerKernels } from '../kernels/types.ts';
import { lowerLoss, lowerOptimizers, paramSlots } from '../kernels/index.ts';
import { lossChunks } from '../kernels/loss-mean.ts';
import { bceWithLogits, mseLoss, newRefAdamState, refAdamStep, refSgdStep, softmaxCrossEntropy, type RefAdamState, type RefSgdState, type Vec } from '../reference/index.ts';
import { compare, kernelTolerance, type CheckRow } from './compare.ts';
import { uniform } from './layer-data.ts';

type HostArray = Float32Array | Int32Array;
/** run `k` on `bufs` (its buffer names; written buffers are updated in place) with named scalars */
export type RunKernel = (k: Kernel, bufs: Record<string, HostArray>, scalars: Record<string, number>) => Promise<void>;

/** an optimizer step as the generated optimizerStep takes it */
export interface OptimizerCheck {
  /** the kernel of OptimizerKernels that runs it */
  readonly kernel: keyof OptimizerKernels;
  readonly optimizer: {
    readonly type: 'sgd' | 'adam' | 'adamw';
    readonly lr: number;
    readonly momentum?: number;
    readonly dampening?: number;
    readonly weightDecay?: number;
    readonly nesterov?: boolean;
    readonly beta1?: number;
    readonly beta2?: number;
    readonly eps?: number;
    readonly amsgrad?: boolean;
  };
}

/** every optimizer kernel, with options that reach every scalar it takes */
export const OPTIMIZER_CHECKS: readonly OptimizerCheck[] = [
  { kernel: 'sgd', optimizer: { type: 'sgd', lr: 0.1, weightDecay: 0.01 } },
  { kernel: 'sgdMomentum', optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 } },
  { kernel: 'sgdMomentum', optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true } },
  { kernel: 'adam', optimizer: { type: 'adam', lr: 0.01, beta1: 0.8, weightDecay: 0.01 } },
  { kernel: 'adam', optimizer: { type: 'adamw', lr: 0.01, weightDecay: 0.1 } },
  { kernel: 'adamAmsgrad', optimizer: { type: 'adamw', lr: 0.01, beta2: 0.99, eps: 1e-6, amsgrad: true } },
];

/** `adamw lr=0.01 weightDecay=0.1` */
export function optimizerTitle(c: OptimizerCheck): string {
  const { type, ...rest } = c.optimizer;
  return [type, ...Object.entries(rest).map(([k, v]) => `${k}=${v}`)].join(' ');
}

/** the kernel's scalars at step t (1-based), by the kernels' contract, in float64 */
export function kernelScalars(c: OptimizerCheck, t: number): Record<string, number> {
  const o = c.optimizer;
  if (o.type === 'sgd') {
    const momentum = o.momentum ?? 0;
    return { lr: o.lr, weightDecay: o.weightDecay ?? 0, momentum, oneMinusDampening: 1 - (o.dampening ?? 0), nesterov: o.nesterov ? 1 : 0, first: t === 1 ? 1 : 0 };
  }
  const decoupled = o.type === 'adamw';
  const [beta1, beta2] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999];
  const wd = o.weightDecay ?? (decoupled ? 1e-2 : 0);
  return {
    stepSize: o.lr / (1 - beta1 ** t),
    beta1,
    oneMinusBeta1: 1 - beta1,
    beta2,
    oneMinusBeta2: 1 - beta2,
    bc2Sqrt: Math.sqrt(1 - beta2 ** t),
    eps: o.eps ?? 1e-8,
    weightDecay: decoupled ? 0 : wd,
    decay: decoupled ? o.lr * wd : 0,
  };
}

/** the reference optimizer of a check, stepping `p` (float64, in place) */
export function referenceOptimizer(c: OptimizerCheck, n: number): (p: Float64Array, grad: Vec) => void {
  const { type, ...o } = c.optimizer;
  if (type === 'sgd') {
    const state: RefSgdState = { buf: null };
    return (p, g) => refSgdStep(p, g, state, o);
  }
  const state: RefAdamState = newRefAdamState(n);
  return (p, g) => refAdamStep(p, g, state, o, type === 'adamw');
}

const STEPS = 3;

/**
 * each optimizer kernel for 3 steps on random parameters and gradients (from `rng`) against the
 * reference; `lengths`: the kernels' sizes (default: the parameter count; the WGSL target's
 * chunks of its padded arena, src/gpu/split.ts). The data are drawn for the parameter count
 * whatever the lengths (both targets see the same draws) and fitted to each length: cut, or
 * zero-padded as the arena's padding is.
 */
export async function checkOptimizerKernels(plan: ModelPlan, rng: () => number, run: RunKernel, lengths?: readonly number[]): Promise<CheckRow[]> {
  const P = paramSlots(plan).length;
  if (P === 0) return [];
  const rows: CheckRow[] = [];
  for (const c of OPTIMIZER_CHECKS) {
    const p0 = uniform(P, rng);
    const grads = Array.from({ length: STEPS }, () => uniform(P, rng));
    for (const n of lengths ?? [P]) {
      const fit = (a: Float32Array) => (n <= P ? a.slice(0, n) : Float32Array.from({ length: n }, (_, i) => (i < P ? a[i]! : 0)));
      const k = lowerOptimizers(n)[c.kernel];
      const bufs: Record<string, Float32Array> = { param: fit(p0), grad: new Float32Array(n) };
      for (const b of k.buffers) bufs[b.name] ??= new Float32Array(n);
      const want = Float64Array.from(fit(p0));
      const ref = referenceOptimizer(c, n);
      for (let t = 1; t <= STEPS; t++) {
        const g = fit(grads[t - 1]!);
        bufs.grad!.set(g);
        await run(k, bufs, kernelScalars(c, t));
        ref(want, g);
      }
      // a few float32 roundings per element and step, carried over 3 steps: 16 ulps of max(1, |p|)
      rows.push({ layer: '(optimizer)', kernel: `${k.name} x${STEPS} (${optimizerTitle(c)})`, strategy: '-', result: compare(bufs.param!, want, kernelTolerance(2)) });
    }
  }
  return rows;
}

/** the loss kernel against the reference loss: logits of +-8 and labels, or outputs and targets of the output's shape */
export async function checkLossKernel(plan: ModelPlan, rng: () => number, run: RunKernel): Promise<CheckRow[]> {
  const k = lowerLoss(plan).loss;
  if (!k) return [];
  if (plan.loss === 'mse' || plan.loss === 'bce_with_logits') {
    const n = numel(plan.outShape);
    const output = uniform(n, rng, 8);
    const target = plan.loss === 'mse' ? uniform(n, rng) : Float32Array.from(uniform(n, rng), (v) => (v + 1) / 2);
    const bufs = { output, target, doutput: new Float32Array(n).fill(NaN), loss: new Float32Array(1).fill(NaN), partials: new Float32Array(lossChunks(n).chunks).fill(NaN) };
    await run(k, bufs, {});
    const ref = plan.loss === 'mse' ? mseLoss(output, target) : bceWithLogits(output, target);
    return [
      // a two-level sum: about 2 sqrt(n) additions in sequence
      { layer: '(loss)', kernel: `${k.name} (loss)`, strategy: '-', result: compare(bufs.loss, [ref.loss], kernelTolerance(2 * Math.ceil(Math.sqrt(n)))) },
      { layer: '(loss)', kernel: `${k.name} (doutput)`, strategy: '-', result: compare(bufs.doutput, ref.dOutput, kernelTolerance(2)) },
    ];
  }
  const [N, K] = plan.outShape as [number, number];
  const logits = uniform(N * K, rng, 8);
  const labels = Int32Array.from({ length: N }, () => Math.floor(rng() * K));
  const bufs = { logits, labels, dlogits: new Float32Array(N * K).fill(NaN), loss: new Float32Array(1).fill(NaN) };
  await run(k, bufs, {});
  const ref = softmaxCrossEntropy(logits, labels, N, K);
  return [
    { layer: '(loss)', kernel: `${k.name} (loss)`, strategy: '-', result: compare(bufs.loss, [ref.loss], kernelTolerance(N * K)) },
    { layer: '(loss)', kernel: `${k.name} (dlogits)`, strategy: '-', result: compare(bufs.dlogits, ref.dLogits, kernelTolerance(K)) },
  ];
}
