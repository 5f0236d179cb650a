// The optimizer kernels (sgd, sgd_momentum, adam, adam_amsgrad) and the mean losses over
// every element (mse, bce_with_logits), rendered to TS and run, and rendered to WGSL and run
// on a WebGPU adapter (test/helpers/webgpu.ts's skip rule), against the float64 reference.
//
// The optimizers run the PyTorch fixture's cases (test/fixtures/torch/optim.json: every
// option, 5 steps on a fixed gradient sequence, an lr schedule) the way the generated entry
// points drive them: the scalars and the state flags come from the generated runtime.ts's
// sgdScalars / adamScalars (imported from a build), the state buffers persist across steps.
// The reference matches torch to 1e-12 (reference-optim.test.ts); here the float32 steps
// must match the reference after every step.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernel } from '../src/ir/types.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { renderKernelWgsl } from '../src/render/wgsl.ts';
import { DEFAULT_LIMITS } from '../src/gpu/limits.ts';
import { lowerSgd, lowerSgdMomentum } from '../src/kernels/sgd.ts';
import { lowerAdam } from '../src/kernels/adam.ts';
import { lowerElementLoss, lossChunks, type ElementLoss } from '../src/kernels/loss-mean.ts';
import { emitRuntime } from '../src/emit/model-ts.ts';
import { bceWithLogits, mseLoss, newRefAdamState, refAdamStep, refSgdStep } from '../src/reference/index.ts';
import { compare } from '../src/check/ts.ts';
import { mulberry32, planCase, CASES, randomArray } from './cases.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';
import { NO_ADAPTER, numericDeviceOrSkip, runWgslKernel } from './helpers/webgpu.ts';
import { TORCH, caseTitle, type OptimCase } from './helpers/torch-optim.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

// the generated runtime.ts (the same text for every model but its header comment)
const root = mkdtempSync(join(tmpdir(), 'convgen-optim-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'runtime.ts'), emitRuntime(planCase(CASES[0])));
type Scalars = Record<string, number>;
interface Runtime {
  sgdScalars(where: string, lr: unknown, options: unknown, started: boolean): Scalars & { momentum: number };
  adamScalars(where: string, counter: { step: number; amsgrad: boolean }, lr: unknown, options: unknown, decoupled: boolean): Scalars & { step: number; amsgrad: boolean };
}
const runtime = (await import(pathToFileURL(join(root, 'runtime.ts')).href)) as Runtime;

type Bufs = Record<string, Float32Array>;
/** run kernel `k` on `bufs` (updated in place) with named scalars */
type Exec = (k: Kernel, bufs: Bufs, scalars: Scalars) => Promise<void>;

const execTs: Exec = async (k, bufs, scalars) => {
  runTsKernel(k, bufs, scalars);
};
const execWgsl: Exec = async (k, bufs, scalars) => {
  const out = await runWgslKernel(device!, renderKernelWgsl(lowerKernel(k), DEFAULT_LIMITS), k.buffers, bufs, scalars, k.scalars.map((s) => s.name));
  for (const [name, a] of Object.entries(out)) bufs[name]!.set(a);
};

/**
 * a fixture case through the kernels, state kept as createModel keeps it: SGD's velocity
 * and its started flag, Adam's moments and step counter; the parameters after each step
 */
async function runKernels(c: OptimCase, exec: Exec): Promise<Float32Array[]> {
  const n = c.p0.length;
  const bufs: Bufs = {
    param: Float32Array.from(c.p0),
    grad: new Float32Array(n),
    velocity: new Float32Array(n),
    expAvg: new Float32Array(n),
    expAvgSq: new Float32Array(n),
    maxExpAvgSq: new Float32Array(n),
  };
  const pick = (k: Kernel): Bufs => Object.fromEntries(k.buffers.map((b) => [b.name, bufs[b.name]!]));
  let started = false;
  const counter = { step: 0, amsgrad: false };
  const after: Float32Array[] = [];
  for (const [s, g] of c.grads.entries()) {
    bufs.grad!.set(g);
    if (c.optimizer === 'sgd') {
      const sc = runtime.sgdScalars('test.sgdStep', c.lrs[s], c.options, started);
      const k = sc.momentum === 0 ? lowerSgd(n) : lowerSgdMomentum(n);
      await exec(k, pick(k), sc);
      started ||= sc.momentum !== 0;
    } else {
      const sc = runtime.adamScalars('test.adamStep', counter, c.lrs[s], c.options, c.optimizer === 'adamw');
      const k = lowerAdam(n, { amsgrad: sc.amsgrad });
      await exec(k, pick(k), sc);
      counter.step = sc.step;
      counter.amsgrad = sc.amsgrad;
    }
    after.push(Float32Array.from(bufs.param!));
  }
  return after;
}

/** the reference's parameters after each step of a fixture case (float64) */
function runReference(c: OptimCase): Float64Array[] {
  const p = Float64Array.from(c.p0);
  const sgd = { buf: null };
  const adam = newRefAdamState(p.length);
  return c.grads.map((g, s) => {
    if (c.optimizer === 'sgd') refSgdStep(p, g, sgd, { lr: c.lrs[s]!, ...c.options });
    else refAdamStep(p, g, adam, { lr: c.lrs[s]!, ...c.options }, c.optimizer === 'adamw');
    return Float64Array.from(p);
  });
}

// float32 steps against float64 ones: each step rounds a handful of times per element
// (p, the moments, the scalars as f32 on the GPU) and the errors carry from step to step.
// Measured over the fixture's 5 steps: at most 2.4 float32 ulps (2^-24 relative) of
// max(1, max |p|) on TS, 6 on WGSL (lavapipe); the bound is 16
const optimTolerance = (maxRef: number) => 16 * 2 ** -24 * Math.max(1, maxRef);

function expectSteps(got: Float32Array[], want: Float64Array[], what: string) {
  got.forEach((p, s) => {
    const r = compare(p, want[s]!, optimTolerance);
    expect(r.ok, `${what}: after step ${s + 1}: max abs error ${r.maxAbs} > ${r.tolerance}`).toBe(true);
  });
}

describe('optimizer kernels (TS) vs the reference, driven by runtime.ts, 5 steps', () => {
  for (const c of TORCH.optimizers) {
    it(caseTitle(c), async () => expectSteps(await runKernels(c, execTs), runReference(c), 'ts'));
  }
});

describe('optimizer kernels (WGSL) vs the reference, driven by runtime.ts, 5 steps', () => {
  for (const c of TORCH.optimizers) {
    gpuIt(caseTitle(c), async () => expectSteps(await runKernels(c, execWgsl), runReference(c), 'wgsl'), 60_000);
  }
});

// ---- the mean losses over every element ---------------------------------------------------

const REF = { mse: mseLoss, bce_with_logits: bceWithLogits };

interface LossData {
  readonly title: string;
  readonly loss: ElementLoss;
  readonly shape: readonly number[];
  readonly x: Float32Array;
  readonly t: Float32Array;
}

function lossCases(): LossData[] {
  const out: LossData[] = [];
  for (const c of TORCH.losses) out.push({ title: `torch fixture [${c.shape}]`, loss: c.loss, shape: c.shape, x: Float32Array.from(c.input), t: Float32Array.from(c.target) });
  const rng = mulberry32(9);
  for (const loss of ['mse', 'bce_with_logits'] as const) {
    // 7 elements: no divisor near sqrt(7), so the last chunk is short (the bounds-checked loop)
    for (const shape of [[7, 1], [1, 1, 1, 1], [4, 3, 32, 32]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from(randomArray(n, rng), (v) => 6 * v);
      const t = Float32Array.from(randomArray(n, rng), (v) => (loss === 'mse' ? v : (v + 1) / 2));
      out.push({ title: `random [${shape}] (chunks of ${lossChunks(n).chunk})`, loss, shape, x, t });
    }
  }
  // logits of +-1e4: the stable form stays finite and exact
  out.push({ title: 'logits of +-1e4', loss: 'bce_with_logits', shape: [2, 2], x: Float32Array.from([1e4, -1e4, 1e4, -1e4]), t: Float32Array.from([1, 0, 0, 1]) });
  return out;
}

async function runLoss(d: LossData, exec: Exec) {
  const n = d.x.length;
  const k = lowerElementLoss(d.loss, n, d.shape.join('x'));
  const bufs: Bufs = { output: d.x, target: d.t, doutput: new Float32Array(n).fill(NaN), loss: new Float32Array(1).fill(NaN), partials: new Float32Array(lossChunks(n).chunks).fill(NaN) };
  await exec(k, bufs, {});
  return { loss: bufs.loss![0]!, grad: bufs.doutput! };
}

// the loss is a two-level sum of n terms: error ~ (2 sqrt(n) + 4) float32 roundings of the
// largest partial; each gradient element is a few roundings of one term
function expectLoss(got: { loss: number; grad: Float32Array }, d: LossData) {
  const ref = REF[d.loss](d.x, d.t);
  const n = d.x.length;
  const l = compare([got.loss], [ref.loss], (m) => 2 * 2 ** -24 * (2 * Math.sqrt(n) + 8) * Math.max(1, m));
  expect(l.ok, `loss ${got.loss} vs ${ref.loss}`).toBe(true);
  const g = compare(got.grad, ref.dOutput, (m) => 8 * 2 ** -24 * Math.max(1 / n, m));
  expect(g.ok, `gradient: max abs error ${g.maxAbs} > ${g.tolerance}`).toBe(true);
}

describe('mse / bce_with_logits kernels vs the reference', () => {
  for (const d of lossCases()) {
    it(`ts: ${d.loss} ${d.title}`, async () => expectLoss(await runLoss(d, execTs), d));
    gpuIt(`wgsl: ${d.loss} ${d.title}`, async () => expectLoss(await runLoss(d, execWgsl), d), 60_000);
  }
});
