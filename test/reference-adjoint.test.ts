// Identities that need no expected data. A conv without bias is bilinear in (x, w), so
//   <conv(x, w), dy> = <x, dX(dy)> = <w, dW(dy)>
// for every conv1d / conv2d / conv_transpose2d case of the table; and conv_transpose2d is
// the adjoint of the conv it names (same kernel, stride, padding, dilation, groups).

import { describe, expect, it } from 'vitest';
import { CASES, mulberry32, planCase, randomArray } from './cases.ts';
import { refBackward, refForward } from '../src/reference/index.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ConvTransposeLayerPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const convCases = CASES.filter((c) => c.kinds.length === 1 && ['conv1d', 'conv2d', 'conv_transpose2d'].includes(c.kinds[0]));

describe('adjoint identity <conv(x,w), dy> = <x, dX> = <w, dW> (bias off)', () => {
  it('covers every conv kind', () => {
    expect(new Set(convCases.map((c) => c.kinds[0]))).toEqual(new Set(['conv1d', 'conv2d', 'conv_transpose2d']));
  });
  convCases.forEach((c, ci) => {
    it(c.name, () => {
      const layer = planCase(c).layers[0];
      const rng = mulberry32(31 + ci);
      const x = randomArray(numel(layer.inShape), rng);
      const weight = randomArray(numel(layer.weightShape!), rng);
      // a zero bias keeps the map bilinear for layers planned with a bias
      const params = layer.biasShape ? { weight, bias: new Float64Array(numel(layer.biasShape)) } : { weight };
      const dy = randomArray(numel(layer.outShape), rng);
      const { y } = refForward(layer, x, params);
      const g = refBackward(layer, x, y, dy, params);
      const lhs = dot(y, dy);
      const scale = Math.max(1, Math.abs(lhs));
      expect(Math.abs(dot(x, g.dx) - lhs) / scale).toBeLessThan(1e-12);
      expect(Math.abs(dot(weight, g.gradWeight!) - lhs) / scale).toBeLessThan(1e-12);
      expect(lhs).not.toBe(0);
    });
  });
});

// conv_transpose2d(x, w) equals the input gradient of conv2d(., w) at dy = x, for the conv
// that maps the transpose's output size back to its input size (true when output_padding < stride)
describe('conv_transpose2d is the adjoint of conv2d', () => {
  const pairs = convCases
    .map((c) => ({ c, layer: planCase(c).layers[0] }))
    .filter((p): p is { c: (typeof convCases)[number]; layer: ConvTransposeLayerPlan } => p.layer.type === 'conv_transpose2d')
    .filter(({ layer: { geometry: g } }) => g.outputPadH < g.strideH && g.outputPadW < g.strideW);
  it('applies to most conv_transpose2d cases', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(5);
  });
  pairs.forEach(({ c, layer }, i) => {
    it(c.name, () => {
      const g = layer.geometry;
      const conv = planModel(parseModel({
        name: 'adjoint', batch: g.batch, input: [g.outC, g.outH, g.outW],
        layers: [{ type: 'conv2d', out_channels: g.inC, kernel: [g.kH, g.kW], stride: [g.strideH, g.strideW],
          padding: [g.pad.top, g.pad.left], dilation: [g.dilationH, g.dilationW], groups: g.groups, bias: false }],
      })).layers[0];
      expect(conv.outShape).toEqual(layer.inShape);
      // both weights are [transpose in = conv out, Cout/g of the transpose = Cin/g of the conv, kH, kW]
      expect(conv.weightShape).toEqual(layer.weightShape);
      const rng = mulberry32(500 + i);
      const x = randomArray(numel(layer.inShape), rng);
      const weight = randomArray(numel(layer.weightShape!), rng);
      const bias = layer.biasShape ? new Float64Array(numel(layer.biasShape)) : undefined;
      const { y } = refForward(layer, x, { weight, bias });
      const { dx } = refBackward(conv, new Float64Array(numel(conv.inShape)), null, x, { weight });
      expect(dx.length).toBe(y.length);
      for (let k = 0; k < y.length; k++) expect(dx[k]).toBeCloseTo(y[k], 12);
    });
  });
});
