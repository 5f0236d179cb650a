// ONNX import on the files PyTorch's own exporter wrote (test/fixtures/onnx/, see its README):
// each is imported, built (TS target), loaded with the imported weights and run in eval mode;
// the output must match PyTorch's (output.json) and onnxruntime's on the same file and input
// within 1e-4 of the output's largest magnitude. Then training works on the imported weights
// (lossAndGrad, sgdStep: finite, non-zero gradients, a lower loss), and the weights round-trip.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { importOnnx } from '../src/onnx/index.ts';
import { planModel } from '../src/plan/plan.ts';
import { decodeSafetensors } from '../src/io/safetensors.ts';
import { buildAndImport, cleanupBuilds, type GeneratedModel } from './helpers/build-module.ts';
import { mulberry32 } from './cases.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { compare, modelTolerance } from '../src/check/compare.ts';
import type { ModelPlan } from '../src/plan/types.ts';

afterAll(cleanupBuilds);

interface Fixture { shape: number[]; data: number[] }
const dir = (name: string) => new URL(`./fixtures/onnx/${name}/`, import.meta.url);
const readJson = (name: string, file: string): Fixture => JSON.parse(readFileSync(new URL(file, dir(name)), 'utf8')) as Fixture;

/** the fixtures, with the options each is imported with */
const FIXTURES: { name: string; batch?: number; train?: true }[] = [
  { name: 'lenet_view' },
  { name: 'lenet_view_dynamic', batch: 2 },
  { name: 'resnet_small_fused' },
  { name: 'resnet_small_bn' },
  { name: 'unet_tiny' },
  { name: 'mobilenet_tiny' },
  { name: 'conv1d_net' },
  { name: 'gelu_dropout' },
  // exported with training=TrainingMode.TRAINING: its output uses the batch's statistics, so it is compared in training mode
  { name: 'bn_train', train: true },
  { name: 'zeropad_conv' },
  // unequal pads: a zero_pad2d before each conv, and one of its own before a MaxPool
  { name: 'zeropad_asym' },
  // a trailing nn.Softmax(dim=1): imported as output_softmax, so eval forward is PyTorch's probabilities
  { name: 'softmax_clf' },
];

function softmaxRows(y: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let r = 0; r < y.length / classes; r++) {
    const row = y.subarray(r * classes, (r + 1) * classes);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    for (let j = 0; j < classes; j++) out[r * classes + j] = Math.exp(row[j]! - m) / s;
  }
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

async function onnxruntime(name: string, x: Fixture): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(new URL('model.onnx', dir(name)).pathname);
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), x.shape) });
  return out.output!.data as Float32Array;
}

const measured: string[] = [];
afterAll(() => console.log(`ONNX import (TS target, eval forward; bn_train in training mode):\n${measured.join('\n')}`));

describe.each(FIXTURES)('onnx import: $name', ({ name, batch, train }) => {
  const bytes = new Uint8Array(readFileSync(new URL('model.onnx', dir(name))));
  const x = readJson(name, 'input.json');
  const ref = readJson(name, 'output.json');
  const t0 = performance.now();
  const imported = importOnnx(bytes, { name, ...(batch ? { batch } : {}) });
  const importMs = performance.now() - t0;
  let model: GeneratedModel;
  let plan: ModelPlan;
  const rand = mulberry32(7);
  const n = imported.spec.batch;
  const outSize = ref.data.length / ref.shape[0]!;
  // labels for a classifier, a [0, 1) target of the output's shape for the rest (mse)
  const target = imported.spec.loss === 'softmax_cross_entropy' ? Int32Array.from({ length: n }, (_, i) => i % outSize) : Float32Array.from({ length: n * outSize }, () => rand());
  const lossAndGrad = (x: Float32Array): number => (model.lossAndGrad as unknown as (x: Float32Array, t: Int32Array | Float32Array) => number).call(model, x, target);

  /** the forward output in the fixture's mode (a training-mode forward's running-stat updates undone) */
  const forward = (mode: 'train' | 'eval' = train ? 'train' : 'eval'): Float32Array => {
    model.train(mode === 'train');
    const y = Float32Array.from(model.forward(Float32Array.from(x.data)));
    if (mode === 'train') (model as unknown as { loadSafetensors(b: Uint8Array): unknown }).loadSafetensors(imported.safetensors);
    // a trailing Softmax is output_softmax: eval-mode forward returns its probabilities, training mode the logits
    return imported.softmax && mode === 'train' ? softmaxRows(y, ref.shape[1]!) : y;
  };

  it('builds and loads the imported weights', async () => {
    plan = planModel(imported.spec, {});
    const mod = await buildAndImport(plan);
    model = mod.createModel({ seed: 1 });
    const r = (model as unknown as { loadSafetensors(b: Uint8Array): { missingKeys: string[]; unexpectedKeys: string[] } }).loadSafetensors(imported.safetensors);
    expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it("matches PyTorch's output and onnxruntime's within 1e-4 of the largest magnitude", async () => {
    const y = forward();
    const tol = 1e-4 * Math.max(1, maxAbs(ref.data));
    const vsTorch = maxDiff(y, ref.data);
    const vsOrt = maxDiff(y, await onnxruntime(name, x));
    measured.push(`  ${name.padEnd(20)} import ${importMs.toFixed(1).padStart(6)} ms  max|y - torch| ${vsTorch.toExponential(2)}  max|y - onnxruntime| ${vsOrt.toExponential(2)}  (tolerance ${tol.toExponential(1)})`);
    expect(vsTorch).toBeLessThanOrEqual(tol);
    expect(vsOrt).toBeLessThanOrEqual(tol);
    // a training-mode export differs in eval mode (running statistics): the mode is what matched
    if (train) expect(maxDiff(forward('eval'), ref.data)).toBeGreaterThan(100 * tol);
    // and the import says so (an export in eval mode says nothing)
    expect(imported.notes.some((note) => /exported in training mode.*as the generated model does in training mode \(model\.train\(\), the default\)/.test(note))).toBe(train === true);
  });

  it('saves the same tensors it imported', () => {
    const saved = decodeSafetensors((model as unknown as { saveSafetensors(): Uint8Array }).saveSafetensors());
    const original = decodeSafetensors(imported.safetensors);
    expect(Object.keys(saved.tensors).sort()).toEqual(Object.keys(original.tensors).sort());
    for (const [k, t] of Object.entries(original.tensors)) {
      expect(saved.tensors[k]!.shape, k).toEqual(t.shape);
      expect(saved.tensors[k]!.dtype, k).toBe(t.dtype);
      expect(Buffer.from(saved.tensors[k]!.data.buffer, saved.tensors[k]!.data.byteOffset, saved.tensors[k]!.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(true);
    }
  });

  it("gives the reference interpreter's loss and gradients on the imported weights (eval mode)", () => {
    model.eval();
    const input = Float32Array.from(x.data);
    const loss = lossAndGrad(input);
    const params = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, { weight: v.weight, bias: v.bias }]));
    const reference = createReferenceModel(plan, params, { seed: 1 });
    for (const [layer, b] of Object.entries(model.buffers)) {
      reference.buffers[layer]!.running_mean = Float64Array.from(b.running_mean);
      reference.buffers[layer]!.running_var = Float64Array.from(b.running_var);
    }
    reference.eval();
    const refLoss = (reference.lossAndGrad as unknown as (x: Float32Array, t: Int32Array | Float32Array) => number)(input, target);
    expect(compare([loss], [refLoss], modelTolerance).ok, `loss ${loss} vs ${refLoss}`).toBe(true);
    for (const [layer, g] of Object.entries(reference.grads)) {
      const scale = Math.max(...[g.weight, g.bias].map((t) => (t ? maxAbs(t) : 0)));
      for (const part of ['weight', 'bias'] as const) {
        const want = g[part];
        if (!want) continue;
        const r = compare(model.grads[layer]![part]!, want, (m) => modelTolerance(Math.max(m, scale)));
        expect(r.ok, `${layer}.${part}: max abs error ${r.maxAbs} > ${r.tolerance}`).toBe(true);
      }
    }
  });

  it('trains further: finite loss, non-zero gradients, a lower loss after an SGD step (eval mode), finite in training mode', () => {
    model.eval();
    const input = Float32Array.from(x.data);
    const before = lossAndGrad(input);
    expect(Number.isFinite(before)).toBe(true);
    const gradNorm = Object.values(model.grads).reduce((s, g) => s + maxAbs(g.weight ?? []) + maxAbs(g.bias ?? []), 0);
    expect(gradNorm).toBeGreaterThan(0);
    model.sgdStep(0.01);
    const after = lossAndGrad(input);
    expect(Number.isFinite(after)).toBe(true);
    expect(after).toBeLessThan(before);
    // training mode too (batch statistics, dropout): a finite loss and a step
    model.train();
    expect(Number.isFinite(lossAndGrad(input))).toBe(true);
    model.sgdStep(0.01);
    expect(Number.isFinite(lossAndGrad(input))).toBe(true);
  });
});
