// Every WGSL kernel run on a real WebGPU adapter (Mesa's lavapipe in CI) against the float64
// reference, on the shared case table: each layer of each case (conv layers with both GPU
// forwards, the gather and im2row + tiled GEMM in workgroup memory; stride-phase gradInput,
// split-K gradWeight and gradBias), plus the softmax cross-entropy and SGD kernels (every
// optimizer and the other losses: optim-kernels.test.ts), and
// random conv configs. Tolerances are `convgen check`'s.
// No adapter: a failure in CI, a skip with instructions elsewhere (test/helpers/webgpu.ts).
//
// The whole table runs by default (CI included): 56 s on the 2-core machine with an empty
// Mesa shader cache, as a fresh CI machine has, 3 s warm (lavapipe compiles each pipeline
// with LLVM at its first dispatch and caches it on disk). CONVGEN_WGSL_FULL=1 raises the
// random configs from 24 to 120.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cfgArb, planOrSkip } from './helpers/conv-configs.ts';
import { CASES, mulberry32, planCase, randomArray } from './cases.ts';
import { lowerLayer } from '../src/kernels/index.ts';
import { lowerConv } from '../src/kernels/conv.ts';
import { scheduleConv } from '../src/plan/schedule.ts';
import { lowerSoftmaxCrossEntropy } from '../src/kernels/loss.ts';
import { lowerOutputSoftmax } from '../src/kernels/softmax.ts';
import { lowerSgdMomentum } from '../src/kernels/sgd.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { renderKernelWgsl } from '../src/render/wgsl.ts';
import { DEFAULT_LIMITS } from '../src/gpu/limits.ts';
import { refSgdStep, softmaxCrossEntropy, softmaxRows } from '../src/reference/index.ts';
import { compare, kernelTolerance } from '../src/check/ts.ts';
import { checkLayerWgsl } from './helpers/wgsl-layer.ts';
import { NO_ADAPTER, numericDeviceOrSkip, runWgslKernel } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

// lavapipe compiles each pipeline with LLVM: a case's layer takes ~0.1 s on a quiet machine
const TIMEOUT = 120_000;


const FULL = process.env.CONVGEN_WGSL_FULL === '1';

/** the first two cases of each layer-kind combination (CONVGEN_WGSL_QUICK=1, for a quick local run), else all */
function selected() {
  if (process.env.CONVGEN_WGSL_QUICK !== '1') return CASES;
  const seen = new Map<string, number>();
  return CASES.filter((c) => {
    const key = c.kinds.join('+');
    seen.set(key, (seen.get(key) ?? 0) + 1);
    return seen.get(key)! <= 2;
  });
}

describe(`WGSL kernels vs the reference: the shared case table${process.env.CONVGEN_WGSL_QUICK === '1' ? ' (CONVGEN_WGSL_QUICK: two cases per kind)' : ''}`, () => {
  for (const c of selected()) {
    gpuIt(c.name, async () => {
      const plan = planCase(c);
      const failures: string[] = [];
      for (const l of plan.layers) {
        // the kernels the WGSL target ships: GPU-shaped convs (the wgsl schedule), the shared rest
        const limits = { ...DEFAULT_LIMITS, ...c.gpuLimits };
        const progs = l.type === 'conv1d' || l.type === 'conv2d' ? (['gather', 'tiled'] as const).map((f) => lowerConv(l, scheduleConv(l, 'wgsl', { forward: f }))) : [lowerLayer(l, { target: 'wgsl', limits })];
        for (const prog of progs) {
          if (prog.alias) continue;
          for (const r of await checkLayerWgsl(device!, l, prog, 1, limits)) {
            if (!r.result.ok) failures.push(`${l.name} ${r.out} [${r.kernels.join(', ')}]: max abs error ${r.result.maxAbs} > ${r.result.tolerance}`);
          }
        }
      }
      expect(failures).toEqual([]);
    }, TIMEOUT);
  }
});

// random conv layers (the TS kernel tests' generator): every GPU conv kernel, both forwards
describe('WGSL conv kernels vs the reference: random configs', () => {
  const RUNS = FULL ? 120 : 24;
  gpuIt(`agree on ${RUNS} random conv configs (gather and tiled GEMM forwards, stride phases, split-K)`, async () => {
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(cfgArb, fc.constantFrom('gather' as const, 'tiled' as const), async (cfg, forward) => {
        const layer = planOrSkip(cfg);
        if (!layer) return true; // an empty output: not a valid layer
        ran++;
        for (const r of await checkLayerWgsl(device!, layer, lowerConv(layer, scheduleConv(layer, 'wgsl', { forward })), 5)) {
          if (!r.result.ok) throw new Error(`${r.out} [${r.kernels.join(', ')}]: max abs error ${r.result.maxAbs} > ${r.result.tolerance} for ${JSON.stringify(layer.geometry)}`);
        }
        return true;
      }),
      { numRuns: RUNS, seed: 20261204 },
    );
    expect(ran).toBeGreaterThanOrEqual(RUNS * 0.8);
  }, TIMEOUT);
});

describe('WGSL model kernels', () => {
  gpuIt('softmax cross-entropy: loss and dlogits', async () => {
    const [batch, classes] = [5, 7];
    const rng = mulberry32(3);
    // logits of +-30: the stable form must not overflow
    const logits = Float32Array.from(randomArray(batch * classes, rng), (v) => 30 * v);
    const labels = Int32Array.from({ length: batch }, () => Math.floor(rng() * classes));
    const k = lowerSoftmaxCrossEntropy(batch, classes);
    const out = await runWgslKernel(device!, renderKernelWgsl(lowerKernel(k)), k.buffers, {
      logits,
      labels,
      dlogits: new Float32Array(batch * classes).fill(NaN),
      loss: new Float32Array(1).fill(NaN),
    });
    const ref = softmaxCrossEntropy(logits, labels, batch, classes);
    expect(compare(out.loss, [ref.loss], kernelTolerance(classes)).ok, `loss ${out.loss[0]} vs ${ref.loss}`).toBe(true);
    const d = compare(out.dlogits, ref.dLogits, kernelTolerance(classes));
    expect(d.ok, JSON.stringify(d)).toBe(true);
  });

  gpuIt('output softmax (output_softmax): probabilities, stable for logits of +-1e4', async () => {
    const [batch, classes] = [4, 6];
    const logits = Float32Array.from(randomArray(batch * classes, mulberry32(5)), (v) => 30 * v);
    logits.set([1e4, -1e4, 1e4, 0, 0, -1e4], 0);
    const k = lowerOutputSoftmax(batch, classes);
    const out = await runWgslKernel(device!, renderKernelWgsl(lowerKernel(k)), k.buffers, { logits, probs: new Float32Array(batch * classes).fill(NaN) });
    const r = compare(out.probs, softmaxRows(logits, batch, classes), kernelTolerance(classes));
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  // every optimizer option on the fixture's cases: optim-kernels.test.ts; here a large arena folded
  gpuIt('SGD with momentum, dampening and weight decay, two steps, PyTorch semantics; folded into a 2D grid', async () => {
    const n = 1000;
    const rng = mulberry32(4);
    const param = Float32Array.from(randomArray(n, rng));
    const grads = [Float32Array.from(randomArray(n, rng)), Float32Array.from(randomArray(n, rng))];
    const [lr, momentum, dampening, weightDecay] = [0.1, 0.9, 0.2, 0.01];
    const k = lowerSgdMomentum(n);
    // 1000 invocations in workgroups of 64 = 16 groups; at most 4 per dimension -> 4 x 4
    const wk = renderKernelWgsl(lowerKernel(k), { ...DEFAULT_LIMITS, maxComputeWorkgroupsPerDimension: 4 });
    expect(wk.entries[0].workgroups).toEqual([4, 4, 1]);
    let p: Float32Array = param;
    let vel: Float32Array = new Float32Array(n);
    const want = Float64Array.from(param);
    const state = { buf: null };
    for (const [step, g] of grads.entries()) {
      const scalars = { lr, momentum, oneMinusDampening: 1 - dampening, weightDecay, nesterov: 0, first: step === 0 ? 1 : 0 };
      const out = await runWgslKernel(device!, wk, k.buffers, { param: p, grad: g, velocity: vel }, scalars, k.scalars.map((s) => s.name));
      p = out.param as Float32Array;
      vel = out.velocity as Float32Array;
      refSgdStep(want, g, state, { lr, momentum, dampening, weightDecay });
    }
    const r = compare(p, want, kernelTolerance(4));
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });
});
