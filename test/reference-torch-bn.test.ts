// The reference's batch norm and dropout against PyTorch 1.13 (test/fixtures/torch/bn.json,
// written by make_bn.py with float64 modules): three training steps (output, every gradient,
// the running stats and num_batches_tracked after each) and one eval-mode step per case,
// held to 1e-12; the state_dict names, dtypes and shapes the lowered model declares; PyTorch's
// refusal of one value per channel in training mode; Dropout's scale for kept elements.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { keepScale } from '../src/kernels/dropout.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { ConvgenError } from '../src/errors.ts';

interface Step {
  x: number[];
  y: number[];
  dy: number[];
  dx: number[];
  grad_weight?: number[];
  grad_bias?: number[];
  running_mean?: number[];
  running_var?: number[];
  num_batches_tracked?: number;
}
interface Case {
  name: string;
  layer: { type: 'batchnorm1d' | 'batchnorm2d'; [k: string]: unknown };
  batch: number;
  input: number[];
  weight: number[] | null;
  bias: number[] | null;
  state_dict: [string, string, number[]][];
  train: Step[];
  eval: Step;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/bn.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: Case[];
  batch1_error: string;
  dropout_scales: Record<string, number[]>;
};

function close(got: ArrayLike<number>, want: readonly number[], what: string) {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1, ...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-12 * scale)) expect.fail(`${what}[${i}]: ${got[i]}, PyTorch ${want[i]}`);
  }
}

/** the case as a model: a [C] sample is a [C, 1] model input flattened (model inputs are [C, L] or [C, H, W]) */
function planOf(c: Case) {
  const vector = c.input.length === 1;
  const layers = [...(vector ? [{ type: 'flatten' }] : []), { ...c.layer, name: 'bn' }];
  return planModel(parseModel({ name: c.name, batch: c.batch, input: vector ? [c.input[0], 1] : c.input, layers }));
}

describe(`batch norm: the reference against PyTorch ${fixture.torch}`, () => {
  for (const c of fixture.cases) {
    it(`${c.name}: ${JSON.stringify(c.layer)} x=[${[c.batch, ...c.input].join(',')}]`, () => {
      const plan = planOf(c);
      const ref = createReferenceModel(plan, c.weight ? { bn: { weight: c.weight, bias: c.bias! } } : {});
      const check = (s: Step, what: string) => {
        close(ref.forward(s.x), s.y, `${what} y`);
        close(ref.backward(s.dy), s.dx, `${what} dx`);
        if (s.grad_weight) close(ref.grads.bn.weight!, s.grad_weight, `${what} grad weight`);
        if (s.grad_bias) close(ref.grads.bn.bias!, s.grad_bias, `${what} grad bias`);
        if (s.running_mean) close(ref.buffers.bn.running_mean, s.running_mean, `${what} running_mean`);
        if (s.running_var) close(ref.buffers.bn.running_var, s.running_var, `${what} running_var`);
        if (s.num_batches_tracked !== undefined) expect(ref.buffers.bn.num_batches_tracked, `${what} num_batches_tracked`).toBe(s.num_batches_tracked);
        expect('bn' in ref.buffers, `${what}: buffers only with running stats`).toBe(s.running_mean !== undefined);
      };
      c.train.forEach((s, i) => check(s, `training step ${i + 1}`));
      ref.eval();
      check(c.eval, 'eval');
    });

    it(`${c.name}: the state_dict PyTorch saves (names, dtypes, shapes, order)`, () => {
      const prog = lowerModel(planOf(c));
      const ours = [
        ...prog.params.slots.map((s) => [s.key, 'float32', [...s.shape]]),
        ...prog.buffers.slots.map((s) => [s.key, 'float32', [...s.shape]]),
        ...prog.buffers.counters.map((s) => [s.key, 'int64', []]),
      ];
      expect(ours).toEqual(c.state_dict.map(([k, t, sh]) => [`bn.${k}`, t, sh]));
    });
  }

  it('refuses one value per channel in training mode, as PyTorch does', () => {
    expect(fixture.batch1_error).toMatch(/Expected more than 1 value per channel when training/);
    const model = { name: 'one', batch: 1, input: [3, 1], layers: [{ type: 'flatten' }, { type: 'batchnorm1d' }] };
    expect(() => planModel(parseModel(model))).toThrow(ConvgenError);
    expect(() => planModel(parseModel(model))).toThrow(/layers\[1\] \(batchnorm1d "batchnorm1d1"\): batch norm in training mode needs more than 1 value per channel, but batch 1 x 1 position per channel gives 1.*use a "batch" of 2 or more/);
    // one sample with several positions is fine, as in PyTorch
    expect(() => planModel(parseModel({ ...model, input: [3, 2], layers: [{ type: 'batchnorm1d' }] }))).not.toThrow();
  });
});

describe(`dropout: the factor kept elements are scaled by, as PyTorch ${fixture.torch} computes it in float32`, () => {
  for (const [p, values] of Object.entries(fixture.dropout_scales)) {
    it(`p = ${p}`, () => {
      expect(values[0]).toBe(0);
      // p = 1: PyTorch's output is all zeros
      expect(keepScale(Number(p))).toBe(values[1] ?? 0);
    });
  }
});
