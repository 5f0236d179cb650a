// Random small graphs, end to end: layers read random earlier outputs (the input included),
// adds join outputs of one shape (a name may repeat), concats join outputs of one size, and
// every output nobody reads is pooled, flattened and joined into the head. Every model must
// plan and build, and its generated module must agree with the reference model (forward,
// then lossAndGrad's loss and every grad, or backward's dx), so the gradient sums, the
// pass-through of add and the pruned training backward are exercised on shapes no case lists.

import { afterAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { numel } from '../src/plan/types.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { compare, modelTolerance } from '../src/check/ts.ts';
import { mulberry32, randomArray } from './cases.ts';
import { buildAndImport, cleanupBuilds } from './helpers/build-module.ts';

afterAll(cleanupBuilds);

type Layer = Record<string, unknown>;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** an output some layer may read: its name in `inputs` and its per-sample [C, H, W] */
interface Value {
  name: string;
  shape: [number, number, number];
}

/** a random graph over 2D maps, with a classifier head that reads every unread output */
export function randomGraph(seed: number): { name: string; batch: number; input: number[]; layers: Layer[]; loss?: string } {
  const r = mulberry32(seed);
  const input: [number, number, number] = [int(r, 1, 3), int(r, 2, 6), int(r, 2, 6)];
  const values: Value[] = [{ name: 'input', shape: input }];
  const read = new Set<string>();
  const layers: Layer[] = [];
  const add = (layer: Layer, shape: [number, number, number], from: string[]) => {
    const name = `n${layers.length}`;
    layers.push({ name, ...layer, inputs: from });
    for (const f of from) read.add(f);
    values.push({ name, shape });
  };
  for (let i = int(r, 2, 7); i > 0; i--) {
    // mostly the newest output (a chain step), sometimes an older one (a branch)
    const v = r() < 0.5 ? values[values.length - 1] : pick(r, values);
    const [c, h, w] = v.shape;
    const kind = pick(r, ['conv', 'conv', 'relu', 'pool', 'add', 'add', 'concat', 'concat']);
    if (kind === 'conv') {
      const co = int(r, 1, 3);
      const k = pick(r, [1, 3]);
      add({ type: 'conv2d', out_channels: co, kernel: k, padding: (k - 1) / 2, bias: r() < 0.7 }, [co, h, w], [v.name]);
    } else if (kind === 'relu') {
      add({ type: 'relu' }, [c, h, w], [v.name]);
    } else if (kind === 'pool') {
      add({ type: pick(r, ['maxpool2d', 'avgpool2d']), kernel: 3, stride: 1, padding: 1 }, [c, h, w], [v.name]);
    } else {
      // partners of the same shape (add) or the same size (concat); v itself may repeat
      const same = values.filter((u) => (kind === 'add' ? u.shape.every((d, j) => d === v.shape[j]) : u.shape[1] === h && u.shape[2] === w));
      const from = [v, ...Array.from({ length: int(r, 1, 3) }, () => pick(r, same))];
      const shape: [number, number, number] = kind === 'add' ? [c, h, w] : [from.reduce((s, u) => s + u.shape[0], 0), h, w];
      add({ type: kind }, shape, from.map((u) => u.name));
    }
  }
  // the head: every output nobody reads (the newest included), pooled, flattened and joined
  const unread = values.filter((v) => v.name !== 'input' && !read.has(v.name));
  const features = unread.map((v) => {
    add({ type: 'global_avgpool' }, [v.shape[0], 1, 1], [v.name]);
    const pooled = values[values.length - 1];
    add({ type: 'flatten' }, [v.shape[0], 1, 1], [pooled.name]);
    return values[values.length - 1];
  });
  if (features.length > 1) add({ type: 'concat' }, [features.reduce((s, f) => s + f.shape[0], 0), 1, 1], features.map((f) => f.name));
  const last = values[values.length - 1];
  add({ type: 'linear', out_features: int(r, 2, 4) }, [1, 1, 1], [last.name]);
  const batch = pick(r, [1, 2, 3]);
  return r() < 0.7 ? { name: 'gz', batch, input, layers, loss: 'softmax_cross_entropy' } : { name: 'gz', batch, input, layers };
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  const c = compare(got, want, modelTolerance);
  if (!c.ok) throw new Error(`${what}: max abs error ${c.maxAbs} > ${c.tolerance}`);
};

it('random graphs plan, build and match the reference (FUZZ_RUNS, default 40)', async () => {
  let merges = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
      const json = randomGraph(seed);
      const plan = planModel(parseModel(json));
      merges += plan.layers.filter((l) => l.type === 'add' || l.type === 'concat').length;
      const mod = await buildAndImport(plan);
      const model = mod.createModel({ seed });
      const ref = createReferenceModel(plan, Object.fromEntries(Object.entries(model.params).map(([k, p]) => [k, { weight: p.weight, bias: p.bias }])));
      const rng = mulberry32(seed ^ 0x5eed);
      const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
      const tag = JSON.stringify(json);
      close(Float32Array.from(model.forward(x)), ref.forward(x), `forward ${tag}`);
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
    { numRuns: Number(process.env.FUZZ_RUNS ?? 40), seed: Number(process.env.FUZZ_SEED ?? 11) },
  );
  // the generator must really branch and join
  expect(merges).toBeGreaterThan(Number(process.env.FUZZ_RUNS ?? 40));
}, 180_000);
