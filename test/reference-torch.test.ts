// The reference against PyTorch itself for the layer kinds added with the activations:
// every activation, avgpool1d, conv_transpose1d and upsample_nearest2d, forward and backward
// in float64 (test/fixtures/torch/layers.json, written once by layers.py with Debian's
// PyTorch; CI needs no torch). Also PyTorch's default-init bound for conv_transpose1d.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { refBackward, refForward } from '../src/reference/index.ts';
import { paramSlots } from '../src/kernels/index.ts';

type Num = number | string;
interface TorchCase {
  layer: Record<string, unknown> & { type: string };
  input: number[];
  x: Num[];
  weight: Num[] | null;
  bias: Num[] | null;
  dy: Num[];
  y: Num[];
  dx: Num[];
  gradWeight: Num[] | null;
  gradBias: Num[] | null;
  fan_in?: number;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/layers.json', import.meta.url), 'utf8')) as { torch: string; cases: TorchCase[] };
const nums = (a: Num[]): Float64Array => Float64Array.from(a, (v) => (typeof v === 'number' ? v : Number(v)));

/** float64 on both sides: only summation order and libm differ */
function expectClose(what: string, got: ArrayLike<number>, want: Num[]): void {
  const w = nums(want);
  expect(got.length, what).toBe(w.length);
  for (let i = 0; i < w.length; i++) {
    expect(Math.abs(got[i] - w[i]), `${what}[${i}]: ${got[i]} vs PyTorch ${w[i]}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w[i])));
  }
}

const label = (c: TorchCase) => `${Object.entries(c.layer).map(([k, v]) => (k === 'type' ? v : `${k}=${JSON.stringify(v)}`)).join(' ')} x=[${c.input.join(',')}]`;

describe(`reference = PyTorch ${fixture.torch} (float64 autograd)`, () => {
  it('covers every kind added with the activations', () => {
    const kinds = new Set(fixture.cases.map((c) => c.layer.type));
    for (const k of ['relu', 'leaky_relu', 'relu6', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh', 'avgpool1d', 'conv_transpose1d', 'upsample_nearest2d']) expect(kinds.has(k), k).toBe(true);
  });
  for (const c of fixture.cases) {
    it(label(c), () => {
      const plan = planModel(parseModel({ name: 'torch', batch: c.input[0], input: c.input.slice(1), layers: [c.layer] }));
      const layer = plan.layers[0];
      const params = { weight: c.weight ? nums(c.weight) : undefined, bias: c.bias ? nums(c.bias) : undefined };
      const x = nums(c.x);
      const { y, cache } = refForward(layer, x, params);
      expectClose('y', y, c.y);
      const g = refBackward(layer, x, y, nums(c.dy), params, cache);
      expectClose('dx', g.dx, c.dx);
      if (c.gradWeight) expectClose('gradWeight', g.gradWeight!, c.gradWeight);
      if (c.gradBias) expectClose('gradBias', g.gradBias!, c.gradBias);
      expect(g.gradBias === undefined).toBe(c.gradBias === null);
      // PyTorch's default init draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)); createModel uses the slot's fanIn
      if (c.fan_in !== undefined) expect(paramSlots(plan).slots.map((s) => s.fanIn)).toEqual(c.bias ? [c.fan_in, c.fan_in] : [c.fan_in]);
    });
  }
});
