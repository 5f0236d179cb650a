// Random small models, end to end: every model the planner accepts must build, and its
// generated module must agree with the reference model (forward, loss or dx, every grad).
// Layers are drawn to fit the running shape, so most draws plan; odd corners included
// (1-wide maps, stride > kernel, padding, groups, batch 1 and 7; batch norm and dropout in
// training mode, the mode a model starts in).

import { afterAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { numel } from '../src/plan/types.ts';
import { ConvgenError } from '../src/errors.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { mulberry32, randomArray } from './cases.ts';
import { buildAndImport, cleanupBuilds } from './helpers/build-module.ts';

afterAll(cleanupBuilds);

type Layer = Record<string, unknown>;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** a random layer stack; shapes tracked loosely (the planner has the last word) */
function randomModel(seed: number): object {
  const r = mulberry32(seed);
  const oneD = r() < 0.3;
  let c = int(r, 1, 4);
  let h = oneD ? 1 : int(r, 1, 9);
  let w = int(r, 2, 12);
  const input = oneD ? [c, w] : [c, h, w];
  const layers: Layer[] = [];
  for (let i = int(r, 1, 4); i > 0; i--) {
    const acts = ['relu', 'leaky_relu', 'relu6', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh'];
    const kinds = oneD
      ? ['conv1d', 'conv_transpose1d', 'maxpool1d', 'avgpool1d', pick(r, acts), 'batchnorm1d', 'dropout']
      : ['conv2d', 'conv_transpose2d', 'maxpool2d', 'avgpool2d', pick(r, acts), 'upsample_nearest2d', 'upsample_bilinear2d', 'batchnorm2d', 'dropout'];
    const kind = pick(r, kinds);
    const k = int(r, 1, 3);
    const s = int(r, 1, 3);
    if (kind === 'conv1d' || kind === 'conv2d') {
      const g = pick(r, [1, 1, c]);
      const co = g * int(r, 1, 3);
      layers.push({ type: kind, out_channels: co, kernel: k, stride: s, padding: int(r, 0, k - 1), groups: g, bias: r() < 0.7 });
      c = co;
    } else if (kind === 'conv_transpose1d' || kind === 'conv_transpose2d') {
      const co = int(r, 1, 4);
      layers.push({ type: kind, out_channels: co, kernel: k, stride: s, padding: int(r, 0, k - 1), output_padding: s > 1 ? int(r, 0, s - 1) : 0 });
      c = co;
    } else if (kind === 'maxpool1d' || kind === 'maxpool2d' || kind === 'avgpool1d' || kind === 'avgpool2d') {
      layers.push({ type: kind, kernel: k, stride: s, padding: int(r, 0, Math.floor(k / 2)) });
    } else if (kind === 'upsample_nearest2d' || kind === 'upsample_bilinear2d') {
      if (h * w > 40) continue;
      layers.push({ type: kind, scale_factor: int(r, 1, 3) });
      h *= 2;
      w *= 2;
    } else if (kind === 'batchnorm1d' || kind === 'batchnorm2d') {
      layers.push({ type: kind, momentum: pick(r, [0.1, null]), affine: r() < 0.7, track_running_stats: r() < 0.8 });
    } else if (kind === 'dropout') {
      layers.push({ type: kind, p: pick(r, [0.2, 0.5]) });
    } else if (kind === 'leaky_relu') layers.push({ type: kind, negative_slope: pick(r, [0.01, 0.2, -0.5]) });
    else if (kind === 'elu') layers.push({ type: kind, alpha: pick(r, [1, 0.5, 2]) });
    else if (kind === 'gelu') layers.push({ type: kind, approximate: pick(r, ['none', 'tanh']) });
    else layers.push({ type: kind });
  }
  const head = r();
  if (head < 0.4) return { name: 'fz', batch: pick(r, [1, 2, 7]), input, layers: [...layers, { type: pick(r, ['global_avgpool', 'global_maxpool']) }, { type: 'flatten' }, { type: 'linear', out_features: int(r, 2, 5) }], loss: 'softmax_cross_entropy' };
  if (head < 0.7) return { name: 'fz', batch: pick(r, [1, 2, 7]), input, layers: [...layers, { type: 'flatten' }, { type: 'linear', out_features: int(r, 2, 5), bias: r() < 0.5 }], loss: 'softmax_cross_entropy' };
  return { name: 'fz', batch: pick(r, [1, 2, 7]), input, layers };
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(want[i]));
    worst = Math.max(worst, Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - want[i]));
  }
  expect(got.length, what).toBe(want.length);
  if (!(worst <= 1e-4 * Math.max(1e-3, maxRef))) throw new Error(`${what}: max abs error ${worst} (max |ref| ${maxRef})`);
};

it('random models build and match the reference (FUZZ_RUNS, default 60)', async () => {
  let built = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
      const json = randomModel(seed);
      let plan;
      try {
        plan = planModel(parseModel(json));
      } catch (err) {
        if (err instanceof ConvgenError) return;
        throw err;
      }
      built++;
      const mod = await buildAndImport(plan);
      const model = mod.createModel({ seed });
      // the same seed: the same dropout masks
      const ref = createReferenceModel(plan, Object.fromEntries(Object.entries(model.params).map(([k, p]) => [k, { weight: p.weight, bias: p.bias }])), { seed });
      const rng = mulberry32(seed ^ 0x5eed);
      const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
      const tag = JSON.stringify(json);
      close(Float32Array.from(model.forward(x)), ref.forward(x), `forward ${tag}`);
      // batch norm: the forward is compared, the backward not. Random stacks make it badly
      // conditioned in float32: it makes what comes before it scale-invariant, so gradients
      // there can be eps-driven differences of terms 1/std large (2 values per channel output
      // +-1 whatever the input; a 1x1 conv of one channel before it has a gradient of ~eps).
      // Its backward is checked on random single layers (kernels-norm.test.ts) and whole models
      // of the case table (model.test.ts, convgen check)
      if (plan.layers.some((l) => l.type === 'batchnorm1d' || l.type === 'batchnorm2d')) return;
      if (plan.loss) {
        const labels = Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1]));
        close([model.lossAndGrad(x, labels)], [ref.lossAndGrad(x, labels)], `loss ${tag}`);
      } else {
        const dOut = Float32Array.from(randomArray(numel(plan.outShape), rng));
        close(Float32Array.from(model.backward(dOut)), ref.backward(dOut), `dx ${tag}`);
      }
      for (const [name, g] of Object.entries(ref.grads)) {
        if (g.weight) close(model.grads[name].weight!, g.weight, `grads.${name}.weight ${tag}`);
        if (g.bias) close(model.grads[name].bias!, g.bias, `grads.${name}.bias ${tag}`);
      }
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 60), seed: Number(process.env.FUZZ_SEED ?? 7) },
  );
  expect(built).toBeGreaterThan(Number(process.env.FUZZ_RUNS ?? 60) / 3);
}, 120_000);
