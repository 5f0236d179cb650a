// The data one layer's kernels are checked on, the same for both targets (./ts.ts and
// ./layer-wgsl.ts draw it from the same rng in the same order): the input, the output
// gradient, the parameters, and for batch norm and dropout the state the model would hold
// (running stats, this step's momentum factor, the dropout stream's [seed, step]). A layer
// whose eval mode computes differently is checked in both modes, each run on fresh buffers
// against the reference in that mode.

import type { LayerPlan } from '../plan/types.ts';
import { inputShapes, numel } from '../plan/types.ts';
import type { KernelCall, LayerProgram } from '../kernels/types.ts';
import { gradInputArg, inputArg } from '../kernels/types.ts';
import { refBackwardInputs, refForwardInputs, type RefMode, type RefParams } from '../reference/index.ts';

export type HostArray = Float32Array | Int32Array;

/** n floats uniform in [-scale, scale) */
export const uniform = (n: number, rng: () => number, scale = 1): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng() - 1) * scale;
  return a;
};

/** one mode's run: its calls, the buffers they start from, and what the reference computes */
export interface LayerRun {
  readonly mode: 'train' | 'eval';
  readonly forward: readonly KernelCall[];
  readonly backward: readonly KernelCall[];
  /** fresh buffers: outputs and scratch start as NaN (i32 scratch as -1), so a reader of an unwritten element fails */
  readonly host: Record<string, HostArray>;
  /** the reference's value of each output the kernels write (running: batch norm's stats after the step) */
  readonly want: Readonly<Record<string, ArrayLike<number> | undefined>>;
}

/** how many steps the model is taken to have run before (batch norm's count, the dropout step) */
const PRIOR_STEPS = 2;

/** the runs that check layer `l` (not a view): training mode, then eval mode where it differs */
export function layerRuns(l: LayerPlan, prog: LayerProgram, rng: () => number): LayerRun[] {
  const fanIn = l.weightShape ? numel(l.weightShape) / l.weightShape[0] : 1;
  // drawn in this order on both targets: x (x0, x1, ... for add and concat), dy, weight, bias, then the layer's state
  const shapes = inputShapes(l);
  const base: Record<string, HostArray> = {};
  shapes.forEach((sh, k) => (base[inputArg(k, shapes.length)] = uniform(numel(sh), rng)));
  base.dy = uniform(numel(l.outShape), rng);
  const params: RefParams = {};
  if (l.weightShape) base.weight = params.weight = uniform(numel(l.weightShape), rng, 1 / Math.sqrt(fanIn));
  if (l.biasShape) base.bias = params.bias = uniform(numel(l.biasShape), rng, 1 / Math.sqrt(fanIn));
  const mode: RefMode = {};
  if ((l.type === 'batchnorm1d' || l.type === 'batchnorm2d') && l.trackRunningStats) {
    // running stats a few steps in: means near 0, variances near 1
    const mean = uniform(l.channels, rng, 0.5);
    const variance = uniform(l.channels, rng, 0.5).map((v) => 1 + v);
    base.running = Float32Array.from([...mean, ...variance]);
    Object.assign(params, { runningMean: mean, runningVar: variance, numBatchesTracked: PRIOR_STEPS });
    // momentum null: the host writes this step's factor, 1 / num_batches_tracked after the increment
    if (l.momentum === null) base.momentum = Float32Array.of(1 / (PRIOR_STEPS + 1));
  }
  if (l.type === 'dropout') {
    mode.seed = Math.floor(rng() * 2 ** 32);
    mode.step = PRIOR_STEPS;
    base.rng = Int32Array.of(mode.seed, mode.step);
  }
  const runs: LayerRun[] = [];
  for (const m of prog.eval ? (['train', 'eval'] as const) : (['train'] as const)) {
    const calls = m === 'eval' ? prog.eval! : prog;
    const host: Record<string, HostArray> = {};
    for (const [k, a] of Object.entries(base)) host[k] = a.slice();
    host.y = new Float32Array(numel(l.outShape)).fill(NaN);
    shapes.forEach((sh, k) => (host[gradInputArg(k, shapes.length)] = new Float32Array(numel(sh)).fill(NaN)));
    if (l.weightShape) host.gradWeight = new Float32Array(numel(l.weightShape)).fill(NaN);
    if (l.biasShape) host.gradBias = new Float32Array(numel(l.biasShape)).fill(NaN);
    for (const s of prog.scratch) host[s.name] = s.t === 'f32' ? new Float32Array(s.length).fill(NaN) : new Int32Array(s.length).fill(-1);
    const runMode: RefMode = { ...mode, training: m === 'train' };
    const xs = shapes.map((_, k) => base[inputArg(k, shapes.length)] as Float32Array);
    const fwd = refForwardInputs(l, xs, params, runMode);
    const bwd = refBackwardInputs(l, xs, fwd.y, base.dy as Float32Array, params, fwd.cache, runMode);
    const want: Record<string, ArrayLike<number> | undefined> = { y: fwd.y, gradWeight: bwd.gradWeight, gradBias: bwd.gradBias };
    // add hands dy to its inputs (the model binds them): no kernel writes its dx, nothing to compare
    if (!prog.passGrad) bwd.dxs.forEach((dx, k) => (want[gradInputArg(k, shapes.length)] = dx));
    // batch norm's running stats after a training step (eval mode writes none)
    if (fwd.state) want.running = [...fwd.state.runningMean, ...fwd.state.runningVar];
    runs.push({ mode: m, forward: calls.forward, backward: calls.backward, host, want });
  }
  return runs;
}
