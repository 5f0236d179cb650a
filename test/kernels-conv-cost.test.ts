import { describe, expect, it } from 'vitest';
import { chooseConvStrategy, convCost } from '../src/plan/cost.ts';
import type { ConvGeometry, ConvTransposeGeometry } from '../src/plan/types.ts';

const geo = (batch: number, inC: number, size: number, outC: number, k: number, s: number, p: number, groups = 1): ConvGeometry => {
  const out = Math.floor((size + 2 * p - k) / s) + 1;
  return {
    batch, inC, inH: size, inW: size, outC, outH: out, outW: out, kH: k, kW: k, strideH: s, strideW: s, dilationH: 1, dilationW: 1,
    pad: { top: p, bottom: p, left: p, right: p }, groups,
  };
};
const ROLES = ['forward', 'gradInput', 'gradWeight'] as const;

describe('conv cost model', () => {
  it('picks direct on the benchmark configs (issue 5: A-D), where it measured faster for every kernel', () => {
    for (const g of [geo(8, 1, 28, 8, 5, 1, 2), geo(8, 16, 32, 32, 3, 1, 1), geo(1, 64, 56, 64, 3, 1, 1), geo(8, 32, 32, 64, 3, 2, 1)]) {
      expect(ROLES.map((r) => chooseConvStrategy(g, r, false))).toEqual(['direct', 'direct', 'direct']);
    }
  });

  it("picks direct for LeNet's c3 (measured direct 86/85/90%, im2row 81/84/72% of the calibration GEMM)", () => {
    const g = geo(32, 6, 14, 16, 5, 1, 0);
    expect(ROLES.map((r) => chooseConvStrategy(g, r, false))).toEqual(['direct', 'direct', 'direct']);
  });

  it('counts only the taps direct really runs: a 2x2 map with padding 1 reads 4 of 9 taps (measured: direct 125%, im2row 103% nominal)', () => {
    const g = geo(8, 512, 2, 512, 3, 1, 1);
    expect(convCost(g, 'forward', 'direct', false)).toBeLessThan(0.6 * convCost(g, 'forward', 'im2row', false));
    expect(ROLES.map((r) => chooseConvStrategy(g, r, false))).toEqual(['direct', 'direct', 'direct']);
  });

  it('keeps depthwise and 1x1 convs direct (a GEMM with one column, or a pure copy, buys nothing)', () => {
    const dw = geo(8, 32, 32, 32, 3, 1, 1, 32);
    const pw = geo(8, 32, 16, 64, 1, 1, 0);
    for (const r of ROLES) {
      expect(chooseConvStrategy(dw, r, false)).toBe('direct');
      expect(chooseConvStrategy(pw, r, false)).toBe('direct');
    }
  });

  it("keeps signal1d's 80-tap front conv direct (measured: direct 66%, im2row 62% of the calibration GEMM)", () => {
    const g: ConvGeometry = { ...geo(4, 1, 16000, 8, 80, 16, 0), inH: 1, outH: 1, kH: 1, strideH: 1, outW: 996 };
    expect(chooseConvStrategy(g, 'forward', false)).toBe('direct');
  });

  it('costs a conv_transpose role as the swapped role of its underlying conv', () => {
    const t: ConvTransposeGeometry = { ...geo(8, 64, 16, 32, 4, 2, 1), outH: 32, outW: 32, outputPadH: 0, outputPadW: 0 };
    const c: ConvGeometry = { ...t, inC: 32, inH: 32, inW: 32, outC: 64, outH: 16, outW: 16 };
    expect(convCost(t, 'forward', 'direct')).toBe(convCost(c, 'gradInput', 'direct', false));
    expect(convCost(t, 'gradInput', 'im2row')).toBe(convCost(c, 'forward', 'im2row', false));
    expect(convCost(t, 'gradWeight', 'direct')).toBe(convCost(c, 'gradWeight', 'direct', false));
  });
});

describe('conv kernel names', () => {
  it('carry every code-changing parameter, and only non-defaults', async () => {
    const { convBaseName } = await import('../src/kernels/names.ts');
    expect(convBaseName(geo(8, 16, 32, 32, 3, 2, 0), 'conv2d')).toBe('conv3x3_s2_16x32x32_to_32');
    expect(convBaseName(geo(8, 16, 32, 32, 3, 1, 1, 4), 'conv2d')).toBe('conv3x3_p1_g4_16x32x32_to_32');
    const asym: ConvGeometry = { ...geo(1, 2, 7, 3, 2, 1, 0), pad: { top: 0, bottom: 1, left: 0, right: 1 }, dilationH: 2, strideW: 3 };
    expect(convBaseName(asym, 'conv2d')).toBe('conv2x2_s1x3_pt0b1l0r1_d2x1_2x7x7_to_3');
    const oneD: ConvGeometry = { ...geo(1, 4, 100, 8, 5, 1, 2), inH: 1, outH: 1, kH: 1, strideH: 1, pad: { top: 0, bottom: 0, left: 2, right: 2 } };
    expect(convBaseName(oneD, 'conv1d')).toBe('conv1d_k5_p2_4x100_to_8');
    const t: ConvTransposeGeometry = { ...geo(8, 64, 16, 32, 4, 2, 1), outH: 32, outW: 32, outputPadH: 1, outputPadW: 0 };
    expect(convBaseName(t, 'conv_transpose2d')).toBe('convt4x4_s2_p1_op1x0_64x16x16_to_32');
  });
});
