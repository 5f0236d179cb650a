// Random conv layer configs for property-based tests (fast-check), shared by the TS kernel
// tests and the WGSL ones: kind, batch, groups, channels, window, stride, dilation, padding
// (as a fraction of the window's reach), output_padding, bias. planOf throws RangeError for
// a config whose output is empty.

import fc from 'fast-check';
import type { ConvGeometry, ConvLayerPlan, ConvTransposeLayerPlan, KernelRole } from '../../src/plan/types.ts';
import type { ConvPlan } from './conv-harness.ts';

const ROLES: KernelRole[] = ['forward', 'gradInput', 'gradWeight', 'gradBias'];

export interface Cfg {
  kind: 'conv1d' | 'conv2d' | 'conv_transpose1d' | 'conv_transpose2d';
  batch: number;
  groups: number;
  cinPer: number;
  coutPer: number;
  k: [number, number];
  s: [number, number];
  d: [number, number];
  /** pad as a fraction of the window's reach, made integral below (up to kernel - 1 taps) */
  pad: [number, number, number, number];
  extra: [number, number];
  op: [number, number];
  bias: boolean;
}

/** PyTorch's output size */
const outSize = (i: number, k: number, s: number, d: number, p0: number, p1: number) => Math.floor((i + p0 + p1 - d * (k - 1) - 1) / s) + 1;

export function planOf(c: Cfg): ConvPlan {
  const oneD = c.kind === 'conv1d' || c.kind === 'conv_transpose1d';
  const [kH, kW] = oneD ? [1, c.k[1]] : c.k;
  const [sH, sW] = oneD ? [1, c.s[1]] : c.s;
  const [dH, dW] = oneD ? [1, c.d[1]] : c.d;
  const reach = (k: number, d: number) => d * (k - 1);
  // padding up to kernel-1 taps (dilated), per side; conv_transpose pads symmetrically
  const padOf = (f: number, k: number, d: number) => Math.min(Math.round(f * reach(k, d)), reach(k, d));
  let pad = {
    top: oneD ? 0 : padOf(c.pad[0], kH, dH),
    bottom: oneD ? 0 : padOf(c.pad[1], kH, dH),
    left: padOf(c.pad[2], kW, dW),
    right: padOf(c.pad[3], kW, dW),
  };
  const inC = c.groups * c.cinPer;
  const outC = c.groups * c.coutPer;
  if (c.kind === 'conv_transpose1d' || c.kind === 'conv_transpose2d') {
    pad = { top: pad.top, bottom: pad.top, left: pad.left, right: pad.left };
    const inH = oneD ? 1 : 1 + c.extra[0];
    const inW = 1 + c.extra[1];
    const opH = oneD ? 0 : c.op[0] % Math.max(sH, dH);
    const opW = c.op[1] % Math.max(sW, dW);
    const outH = (inH - 1) * sH - 2 * pad.top + dH * (kH - 1) + opH + 1;
    const outW = (inW - 1) * sW - 2 * pad.left + dW * (kW - 1) + opW + 1;
    if (outH <= 0 || outW <= 0) throw new RangeError('empty');
    const geometry = { batch: c.batch, inC, inH, inW, outC, outH, outW, kH, kW, strideH: sH, strideW: sW, dilationH: dH, dilationW: dW, pad, groups: c.groups, outputPadH: opH, outputPadW: opW };
    const plan: ConvTransposeLayerPlan = {
      index: 0, name: 'ct', torchName: 'ct', type: c.kind, inputs: ['input'],
      inShape: oneD ? [c.batch, inC, inW] : [c.batch, inC, inH, inW],
      outShape: oneD ? [c.batch, outC, outW] : [c.batch, outC, outH, outW],
      weightShape: oneD ? [inC, c.coutPer, kW] : [inC, c.coutPer, kH, kW], biasShape: c.bias ? [outC] : null,
      flops: { forward: 0, gradInput: 0, gradWeight: 0 }, activationBytes: 0,
      kernels: c.bias ? ROLES : ROLES.slice(0, 3), geometry, schedule: { forward: 'direct', gradInput: 'direct', gradWeight: 'direct' },
    };
    return plan;
  }
  // the smallest input that gives one output, plus a few
  const inH = oneD ? 1 : Math.max(1, reach(kH, dH) + 1 - pad.top - pad.bottom) + c.extra[0];
  const inW = Math.max(1, reach(kW, dW) + 1 - pad.left - pad.right) + c.extra[1];
  const outH = outSize(inH, kH, sH, dH, pad.top, pad.bottom);
  const outW = outSize(inW, kW, sW, dW, pad.left, pad.right);
  if (outH <= 0 || outW <= 0) throw new RangeError('empty');
  const geometry: ConvGeometry = { batch: c.batch, inC, inH, inW, outC, outH, outW, kH, kW, strideH: sH, strideW: sW, dilationH: dH, dilationW: dW, pad, groups: c.groups };
  const plan: ConvLayerPlan = {
    index: 0, name: 'c', torchName: 'c', type: c.kind, inputs: ['input'],
    inShape: oneD ? [c.batch, inC, inW] : [c.batch, inC, inH, inW],
    outShape: oneD ? [c.batch, outC, outW] : [c.batch, outC, outH, outW],
    weightShape: oneD ? [outC, c.cinPer, kW] : [outC, c.cinPer, kH, kW], biasShape: c.bias ? [outC] : null,
    flops: { forward: 0, gradInput: 0, gradWeight: 0 }, activationBytes: 0,
    kernels: c.bias ? ROLES : ROLES.slice(0, 3), geometry, schedule: { forward: 'direct', gradInput: 'direct', gradWeight: 'direct' },
  };
  return plan;
}

export const pair = (lo: number, hi: number) => fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi }));
const frac = fc.integer({ min: 0, max: 4 }).map((v) => v / 4);

export const cfgArb: fc.Arbitrary<Cfg> = fc.record({
  kind: fc.constantFrom('conv1d' as const, 'conv2d' as const, 'conv2d' as const, 'conv_transpose1d' as const, 'conv_transpose2d' as const, 'conv_transpose2d' as const),
  batch: fc.constantFrom(1, 1, 2, 7),
  groups: fc.constantFrom(1, 1, 2, 3),
  cinPer: fc.integer({ min: 1, max: 5 }),
  coutPer: fc.integer({ min: 1, max: 6 }),
  k: pair(1, 4),
  s: pair(1, 4),
  d: pair(1, 3),
  pad: fc.tuple(frac, frac, frac, frac),
  extra: pair(0, 5),
  op: pair(0, 3),
  bias: fc.boolean(),
});

/** the config's layer, or null when its output is empty (not a valid layer: a property skips it) */
export function planOrSkip(c: Cfg): ConvPlan | null {
  try {
    return planOf(c);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}
