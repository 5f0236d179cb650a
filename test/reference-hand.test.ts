// Hand-computed values: the seed's worked problem and one tiny case per layer kind with the
// numbers PyTorch gives. These pin the semantics (padding sides, tie routing, source indices)
// that finite differences cannot see, since those only check backward against forward.

import { describe, expect, it } from 'vitest';
import { createReferenceModel, refBackward, refForward, softmaxCrossEntropy } from '../src/reference/index.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { LayerPlan } from '../src/plan/types.ts';

/** plan a one-layer model over a per-sample input */
function layerOf(batch: number, input: number[], layer: Record<string, unknown>): LayerPlan {
  return planModel(parseModel({ name: 'hand', batch, input, layers: [layer] })).layers[0];
}

const f64 = (...v: number[]): Float64Array => Float64Array.from(v);
const list = (a: ArrayLike<number>): number[] => Array.from(a);

describe("the seed's worked problem", () => {
  // conv 3x3 (no bias, no padding) -> relu -> max pool over the 2x2 map -> fc (identity), y = 2
  const plan = planModel(parseModel({
    name: 'seed_problem', batch: 1, input: [1, 4, 4],
    layers: [
      { type: 'conv2d', name: 'conv', out_channels: 2, kernel: 3, bias: false },
      { type: 'relu' },
      { type: 'maxpool2d', kernel: 2 },
      { type: 'flatten' },
      { type: 'linear', name: 'fc', out_features: 2, bias: false },
    ],
    loss: 'softmax_cross_entropy',
  }));
  const w = new Float64Array(18);
  w[1 * 3 + 0] = -1; // w1[1][0]
  w[1 * 3 + 1] = 1; // w1[1][1]
  w[9 + 2 * 3 + 1] = -1; // w2[2][1]
  w[9 + 1 * 3 + 1] = 1; // w2[1][1]
  const x = new Float64Array(16);
  x[1 * 4 + 1] = 1;
  x[2 * 4 + 2] = 1;

  it('gives exactly the seed gradients dL/dw1 and dL/dw2', () => {
    const model = createReferenceModel(plan, { conv: { weight: w }, fc: { weight: f64(1, 0, 0, 1) } });
    const loss = model.lossAndGrad(x, Int32Array.of(1));
    expect(loss).toBeCloseTo(Math.log(2), 15);
    const dw = list(model.grads.conv.weight!);
    expect(dw.slice(0, 9)).toEqual([0, 0, 0, 0, 0.5, 0, 0, 0, 0.5]);
    expect(dw.slice(9, 18)).toEqual([0, 0, 0, 0, -0.5, 0, 0, 0, -0.5]);
    // h = [1, 1] (both pooled maps are 1), dL/ds = [0.5, -0.5]
    expect(list(model.grads.fc.weight!)).toEqual([0.5, 0.5, -0.5, -0.5]);
  });

  it('has the seed feature maps: relu(conv) = [[1,0],[0,1]] for both kernels (a tie in the pool)', () => {
    const model = createReferenceModel(plan, { conv: { weight: w }, fc: { weight: f64(1, 0, 0, 1) } });
    model.forward(x);
    const conv = model.layers[0].forward(x);
    expect(list(conv)).toEqual([1, -1, 0, 1, 1, -1, 0, 1]);
  });
});

describe('conv', () => {
  it('conv2d stride 2, padding 1: y[i][j] = x[2i-1][2j-1] + x[2i][2j] for w = identity 2x2', () => {
    const l = layerOf(1, [1, 3, 3], { type: 'conv2d', out_channels: 1, kernel: 2, stride: 2, padding: 1, bias: false });
    expect(l.outShape).toEqual([1, 1, 2, 2]);
    const { y } = refForward(l, f64(1, 2, 3, 4, 5, 6, 7, 8, 9), { weight: f64(1, 0, 0, 1) });
    expect(list(y)).toEqual([1, 3, 7, 14]);
  });

  it('conv1d "same" with an even kernel pads one zero at the end (PyTorch)', () => {
    const l = layerOf(1, [1, 4], { type: 'conv1d', out_channels: 1, kernel: 2, padding: 'same', bias: false });
    const { y } = refForward(l, f64(1, 2, 3, 4), { weight: f64(1, 10) });
    expect(list(y)).toEqual([21, 32, 43, 4]);
  });

  it('conv1d dilation 3: y[i] = x[i] + x[i+3]; dX scatters dy back to both taps', () => {
    const l = layerOf(1, [1, 5], { type: 'conv1d', out_channels: 1, kernel: 2, dilation: 3, bias: true });
    const params = { weight: f64(1, 1), bias: f64(0.5) };
    const { y } = refForward(l, f64(1, 2, 3, 4, 5), params);
    expect(list(y)).toEqual([5.5, 7.5]);
    const g = refBackward(l, f64(1, 2, 3, 4, 5), y, f64(1, 10), params);
    expect(list(g.dx)).toEqual([1, 10, 0, 1, 10]);
    expect(list(g.gradWeight!)).toEqual([1 * 1 + 10 * 2, 1 * 4 + 10 * 5]);
    expect(list(g.gradBias!)).toEqual([11]);
  });

  it('conv2d groups 2 sees only its own channels', () => {
    const l = layerOf(1, [4, 1, 1], { type: 'conv2d', out_channels: 2, kernel: 1, groups: 2, bias: false });
    expect(l.weightShape).toEqual([2, 2, 1, 1]);
    const { y } = refForward(l, f64(1, 10, 100, 1000), { weight: f64(1, 2, 3, 4) });
    expect(list(y)).toEqual([21, 4300]);
  });

  it('conv_transpose2d k=3 s=2 p=1 output_padding=1: 2x2 -> 4x4 with the PyTorch values', () => {
    const l = layerOf(1, [1, 2, 2], { type: 'conv_transpose2d', out_channels: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1, bias: false });
    // (2-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 4
    expect(l.outShape).toEqual([1, 1, 4, 4]);
    const { y } = refForward(l, f64(1, 2, 3, 4), { weight: new Float64Array(9).fill(1) });
    expect(list(y)).toEqual([1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4]);
  });

  it('conv_transpose2d weight is [Cin, Cout/g, kH, kW]', () => {
    const l = layerOf(1, [2, 1, 1], { type: 'conv_transpose2d', out_channels: 3, kernel: 1, bias: false });
    expect(l.weightShape).toEqual([2, 3, 1, 1]);
    // y[co] = sum_ci x[ci] * w[ci][co]
    const { y } = refForward(l, f64(1, 10), { weight: f64(1, 2, 3, 4, 5, 6) });
    expect(list(y)).toEqual([41, 52, 63]);
  });
});

describe('pools', () => {
  it('maxpool2d sends a tied window to its first maximum in row-major order', () => {
    const l = layerOf(1, [1, 2, 2], { type: 'maxpool2d', kernel: 2 });
    const x = f64(1, 3, 3, 2);
    const { y, cache } = refForward(l, x);
    expect(list(y)).toEqual([3]);
    expect(list(refBackward(l, x, y, f64(5), {}, cache).dx)).toEqual([0, 5, 0, 0]);
    // without the cache, backward recomputes the same routing
    expect(list(refBackward(l, x, y, f64(5)).dx)).toEqual([0, 5, 0, 0]);
  });

  it('maxpool1d with padding: padded cells never win, overlapping windows add up', () => {
    const l = layerOf(1, [1, 4], { type: 'maxpool1d', kernel: 3, stride: 1, padding: 1 });
    const x = f64(-5, -7, -7, -9);
    const { y } = refForward(l, x);
    expect(list(y)).toEqual([-5, -5, -7, -7]);
    expect(list(refBackward(l, x, y, f64(1, 2, 3, 4)).dx)).toEqual([3, 3, 4, 0]);
  });

  it('maxpool2d propagates NaN like PyTorch (the NaN cell gets the gradient)', () => {
    const l = layerOf(1, [1, 2, 2], { type: 'maxpool2d', kernel: 2 });
    const x = f64(1, 9, NaN, 2);
    const { y } = refForward(l, x);
    expect(Number.isNaN(y[0])).toBe(true);
    expect(list(refBackward(l, x, y, f64(1)).dx)).toEqual([0, 0, 1, 0]);
  });

  it('global_maxpool ties go to the first', () => {
    const l = layerOf(1, [1, 2, 2], { type: 'global_maxpool' });
    const x = f64(1, 5, 5, 2);
    const { y } = refForward(l, x);
    expect(list(y)).toEqual([5]);
    expect(list(refBackward(l, x, y, f64(1)).dx)).toEqual([0, 1, 0, 0]);
  });

  it('avgpool2d count_include_pad: corner of a padded 3x3 is 12/9 with, 12/4 without', () => {
    const x = f64(1, 2, 3, 4, 5, 6, 7, 8, 9);
    const incl = layerOf(1, [1, 3, 3], { type: 'avgpool2d', kernel: 3, stride: 1, padding: 1 });
    const excl = layerOf(1, [1, 3, 3], { type: 'avgpool2d', kernel: 3, stride: 1, padding: 1, count_include_pad: false });
    const yi = refForward(incl, x).y;
    const ye = refForward(excl, x).y;
    expect(yi[0]).toBeCloseTo(12 / 9, 14);
    expect(ye[0]).toBe(3);
    expect(yi[4]).toBe(5);
    expect(ye[4]).toBe(5);
    // top edge middle: 6 real cells (1+2+3+4+5+6 = 21)
    expect(ye[1]).toBe(21 / 6);
    // backward of the excluding pool: dy = onehot(corner) spreads 1/4 over the 4 real cells
    const dy = new Float64Array(9);
    dy[0] = 1;
    expect(list(refBackward(excl, x, ye, dy).dx)).toEqual([0.25, 0.25, 0, 0.25, 0.25, 0, 0, 0, 0]);
  });

  it('global_avgpool is the mean and spreads dy evenly', () => {
    const l = layerOf(1, [1, 2, 2], { type: 'global_avgpool' });
    expect(l.outShape).toEqual([1, 1, 1, 1]);
    expect(list(refForward(l, f64(1, 2, 3, 6)).y)).toEqual([3]);
    expect(list(refBackward(l, f64(1, 2, 3, 6), null, f64(8)).dx)).toEqual([2, 2, 2, 2]);
  });
});

describe('upsample_bilinear2d (align_corners = false)', () => {
  it('2x2 by 2 gives the PyTorch values', () => {
    const l = layerOf(1, [1, 2, 2], { type: 'upsample_bilinear2d', scale_factor: 2 });
    const { y } = refForward(l, f64(1, 2, 3, 4));
    expect(list(y)).toEqual([
      1, 1.25, 1.75, 2,
      1.5, 1.75, 2.25, 2.5,
      2.5, 2.75, 3.25, 3.5,
      3, 3.25, 3.75, 4,
    ]);
    // each input pixel gets back the sum of its interpolation weights: 4 per pixel at scale 2 (the weights sum to 16 over 4 pixels)
    expect(list(refBackward(l, f64(1, 2, 3, 4), y, new Float64Array(16).fill(1)).dx)).toEqual([4, 4, 4, 4]);
  });

  it('1x3 by [1, 3]: the source index is clamped at 0 and at the last pixel', () => {
    const l = layerOf(1, [1, 1, 3], { type: 'upsample_bilinear2d', scale_factor: [1, 3] });
    const { y } = refForward(l, f64(0, 3, 6));
    // src = (j + 0.5) / 3 - 0.5: -1/3, 0, 1/3, 2/3, 1, 4/3, 5/3, 2, 7/3
    const want = [0, 0, 1, 2, 3, 4, 5, 6, 6];
    want.forEach((v, j) => expect(y[j]).toBeCloseTo(v, 12));
  });
});

describe('relu, flatten, linear', () => {
  it('relu passes the gradient only where x > 0 (0 at x = 0, as PyTorch)', () => {
    const l = layerOf(1, [1, 3], { type: 'relu' });
    const x = f64(-1, 0, 2);
    expect(list(refForward(l, x).y)).toEqual([0, 0, 2]);
    expect(list(refBackward(l, x, null, f64(5, 6, 7)).dx)).toEqual([0, 0, 7]);
  });

  it('flatten keeps the NCHW order', () => {
    const l = layerOf(1, [2, 1, 2], { type: 'flatten' });
    expect(l.outShape).toEqual([1, 4]);
    expect(list(refForward(l, f64(1, 2, 3, 4)).y)).toEqual([1, 2, 3, 4]);
  });

  it('linear y = x W^T + b with W [out, in]; grads summed over the batch', () => {
    const plan = planModel(parseModel({ name: 'lin', batch: 2, input: [1, 2], layers: [{ type: 'flatten' }, { type: 'linear', out_features: 3 }] }));
    const l = plan.layers[1];
    const params = { weight: f64(1, 2, 3, 4, 5, 6), bias: f64(0.5, 0, -1) };
    const x = f64(1, 1, 0, 2);
    const { y } = refForward(l, x, params);
    expect(list(y)).toEqual([3.5, 7, 10, 4.5, 8, 11]);
    const g = refBackward(l, x, y, f64(1, 0, 0, 0, 0, 1), params);
    expect(list(g.dx)).toEqual([1, 2, 5, 6]);
    expect(list(g.gradWeight!)).toEqual([1, 1, 0, 0, 0, 2]);
    expect(list(g.gradBias!)).toEqual([1, 0, 1]);
  });
});

describe('softmaxCrossEntropy', () => {
  it('is the batch mean, with dLogits = (softmax - onehot) / batch', () => {
    const { loss, dLogits } = softmaxCrossEntropy(f64(0, 0, Math.log(3), 0), Int32Array.of(0, 1), 2, 2);
    expect(loss).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 14);
    const want = [-0.25, 0.25, 0.375, -0.375];
    want.forEach((v, i) => expect(dLogits[i]).toBeCloseTo(v, 14));
  });

  it('is stable for huge logits', () => {
    const { loss, dLogits } = softmaxCrossEntropy(f64(1000, 0, -1000, 1000), Int32Array.of(0, 0), 2, 2);
    expect(loss).toBeCloseTo(1000, 9);
    expect(list(dLogits).every(Number.isFinite)).toBe(true);
    expect(dLogits[2]).toBeCloseTo(-0.5, 14);
  });

  it('rejects a label outside the classes', () => {
    expect(() => softmaxCrossEntropy(f64(0, 0), Int32Array.of(2), 1, 2)).toThrow(/label 2/);
  });
});
