// model.json's output_softmax: eval-mode forward (and an --inference build's) returns
// torch.softmax(logits, dim=1); training mode returns the logits, and the loss takes the logits
// in either mode. The kernels against the reference: kernels-layers / wgsl-kernels; the whole
// model on every target: the case table's softmax_out case (model, gpu-model, wasm-kernels).

import { afterAll, describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { numel } from '../src/plan/types.ts';
import { ConvgenError } from '../src/errors.ts';
import { formatPlanTable } from '../src/plan/table.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { buildAndImport, cleanupBuilds } from './helpers/build-module.ts';
import { mulberry32, randomArray } from './cases.ts';

afterAll(cleanupBuilds);

const classifier = (extra: Record<string, unknown> = {}) => ({
  name: 'softmax_clf',
  batch: 2,
  input: [2, 5],
  layers: [{ type: 'conv1d', out_channels: 3, kernel: 2 }, { type: 'relu' }, { type: 'flatten' }, { type: 'linear', out_features: 4 }],
  output_softmax: true,
  ...extra,
});

function convgenError(f: () => unknown): ConvgenError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConvgenError) return e;
    throw e;
  }
  throw new Error('expected a ConvgenError');
}

describe('output_softmax in model.json', () => {
  it('is off by default and leaves the plan JSON as it was', () => {
    const { output_softmax: _, ...without } = classifier();
    expect('outputSoftmax' in planModel(parseModel(without))).toBe(false);
    expect(planModel(parseModel(classifier())).outputSoftmax).toBe(true);
    expect('outputSoftmax' in planModel(parseModel(classifier({ output_softmax: false })))).toBe(false);
  });
  it("is said in the plan table's title", () => {
    expect(formatPlanTable(planModel(parseModel(classifier()))).split('\n')[0]).toBe('model softmax_clf: batch 2, input 2x5, output 4, loss none, output_softmax in eval');
  });
  it('refuses an output that is not a vector per sample, naming the key and the fix', () => {
    const e = convgenError(() => planModel(parseModel(classifier({ layers: [{ type: 'conv1d', out_channels: 3, kernel: 2 }] }))));
    expect(e.where).toBe('output_softmax');
    expect(e.message).toContain('[3, 4] per sample');
    expect(e.message).toContain('flatten + linear');
  });
  it('refuses a value that is not a boolean', () => {
    const e = convgenError(() => parseModel(classifier({ output_softmax: 'yes' })));
    expect(e.where).toBe('output_softmax');
  });
});

describe('the generated module with output_softmax', () => {
  const spec = parseModel(classifier());
  const plan = planModel(spec);
  const x = Float32Array.from(randomArray(numel(plan.inShape), mulberry32(3)));
  const labels = Int32Array.from([1, 3]);

  it('returns logits in training mode and probabilities in eval mode; the loss takes the logits in both', async () => {
    const mod = await buildAndImport(plan);
    const model = mod.createModel({ seed: 5 });
    const logits = Float32Array.from(model.forward(x));
    const lossTrain = model.lossAndGrad(x, labels);
    model.eval();
    const probs = Float32Array.from(model.forward(x));
    for (let n = 0; n < plan.batch; n++) {
      const row = [...logits.subarray(4 * n, 4 * n + 4)];
      const m = Math.max(...row);
      const s = row.reduce((a, z) => a + Math.exp(z - m), 0);
      row.forEach((z, k) => expect(probs[4 * n + k]).toBeCloseTo(Math.exp(z - m) / s, 6));
    }
    // no dropout or batch norm here: the same loss in eval mode, from the logits
    expect(model.lossAndGrad(x, labels)).toBeCloseTo(lossTrain, 6);
    model.train();
    expect(Float32Array.from(model.forward(x))).toEqual(logits);
  });

  it('an --inference build returns the training build\'s eval-mode forward, bit for bit', async () => {
    const train = (await buildAndImport(plan)).createModel({ seed: 5 }).eval();
    const inf = (await buildAndImport(planModel(spec, { inference: true }))).createModel({ seed: 5 });
    const got = Float32Array.from(inf.forward(x));
    expect(got).toEqual(Float32Array.from(train.forward(x)));
    const ref = createReferenceModel(plan, Object.fromEntries(Object.entries(inf.params).map(([k, p]) => [k, { weight: p.weight, bias: p.bias }]))).eval();
    const want = ref.forward(x);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
  });
});
