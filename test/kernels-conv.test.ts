// Every conv kernel (forward, gradInput, gradWeight, gradBias) of both strategies against
// the float64 reference: on every conv layer of the shared case table, and on random
// configs (fast-check). Tolerances: see test/helpers/conv-harness.ts.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CASES, planCase } from './cases.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { checkConvLayer, runConvLayer, withStrategy, type ConvPlan } from './helpers/conv-harness.ts';
import { cfgArb, pair, planOf, planOrSkip, type Cfg } from './helpers/conv-configs.ts';
import type { ConvGeometry, ConvLayerPlan, ConvTransposeLayerPlan, KernelRole } from '../src/plan/types.ts';
import { lowerConv, transposedToConv } from '../src/kernels/conv.ts';
import { scheduleConv, splitK, TAP_UNROLL_LIMIT } from '../src/plan/schedule.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { dumpKernel } from '../src/ir/dump.ts';

const STRATEGIES = ['direct', 'im2row'] as const;
// the TS target's two strategies; gpu: the WGSL target's kernels (the gpu schedule) with the gather
// forward, gpu-tiled: with the im2row + tiled GEMM forward (barriers run by loop fission),
// both rendered to TS
const VARIANTS = [...STRATEGIES, 'gpu', 'gpu-tiled'] as const;
type Variant = (typeof VARIANTS)[number];
const checkVariant = (layer: ConvPlan, v: Variant, seed = 1) =>
  v === 'gpu' || v === 'gpu-tiled'
    ? checkConvLayer(layer, seed, { target: 'wgsl', forward: v === 'gpu' ? 'gather' : 'tiled' })
    : checkConvLayer(withStrategy(layer, v), seed);

const convCases = CASES.flatMap((c) =>
  planCase(c)
    .layers.filter((l): l is ConvPlan => l.type === 'conv1d' || l.type === 'conv2d' || l.type === 'conv_transpose1d' || l.type === 'conv_transpose2d')
    .map((layer) => ({ title: `${c.name} [${layer.name}]`, layer })),
);

describe('conv kernels vs reference, case table', () => {
  it('has conv cases', () => expect(convCases.length).toBeGreaterThan(20));
  for (const { title, layer } of convCases) {
    for (const s of VARIANTS) {
      it(`${title} ${s}`, () => {
        const res = checkVariant(layer, s);
        for (const r of res) expect(r.maxAbsErr, `${r.buffer}: err ${r.maxAbsErr} > tol ${r.tol}`).toBeLessThanOrEqual(r.tol);
        expect(res.map((r) => r.buffer)).toEqual(layer.biasShape ? ['y', 'dx', 'gradWeight', 'gradBias'] : ['y', 'dx', 'gradWeight']);
      });
    }
  }
});

// regression: tap passes once recomputed the interior from each pass's own taps, so passes
// split the output differently and the parts overlapped (caught by forcing every window to split)
describe('conv kernels vs reference, every window split into tap passes', () => {
  for (const { title, layer } of convCases) {
    it(`${title} direct, budget 300`, () => {
      const res = checkConvLayer(withStrategy(layer, 'direct'), 5, { unrollBudget: 300 });
      for (const r of res) expect(r.maxAbsErr, `${r.buffer}: err ${r.maxAbsErr} > tol ${r.tol}`).toBeLessThanOrEqual(r.tol);
    });
  }
  it('really splits them', () => {
    const layer = convCases.find((c) => c.title.startsWith('conv2d x=[7,2,5,5]'))!.layer;
    const names = lowerConv(withStrategy(layer, 'direct'), scheduleConv(withStrategy(layer, 'direct'), 'ts', { unrollBudget: 300 })).forward.map((c) => c.kernel.name);
    expect(names.filter((n) => /_t\d/.test(n)).length).toBeGreaterThan(0);
  });
});

// the adjoint identity needs no expected data: with y = conv(x, w) (+ b),
// <y - b, dy> = <x, dx> = <w, dW>, and sum(dy over each channel) = db; all from generated kernels
describe('GPU-shaped conv kernels, gradWeight split into as many chunks as the batch and rows allow', () => {
  for (const { title, layer } of convCases) {
    it(`${title} gpu, split-K chunks of >= 1 product`, () => {
      const res = checkConvLayer(layer, 3, { target: 'wgsl', splitK: { invocations: 1e9, minChunk: 1 } });
      for (const r of res) expect(r.maxAbsErr, `${r.buffer}: err ${r.maxAbsErr} > tol ${r.tol}`).toBeLessThanOrEqual(r.tol);
    });
  }
  it('really splits them', () => {
    const chunks = convCases.map(({ layer }) => {
      const g = layer.type === 'conv_transpose1d' || layer.type === 'conv_transpose2d' ? transposedToConv(layer.geometry) : layer.geometry;
      return splitK(g.batch, g.outH, g.outW, 1, { invocations: 1e9, minChunk: 1 }).chunks;
    });
    expect(chunks.filter((n) => n > 1).length).toBeGreaterThan(convCases.length / 2);
  });
});

describe('conv kernels satisfy the adjoint identity', () => {
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  for (const { title, layer } of convCases) {
    for (const s of STRATEGIES) {
      it(`${title} ${s}`, () => {
        const { bufs, b, dy } = runConvLayer(withStrategy(layer, s), 3);
        const oc = layer.geometry.outC;
        const per = dy.length / (layer.geometry.batch * oc);
        // <b, sum dy per channel> is the bias part of <y, dy>
        let bias = 0;
        for (let i = 0; i < dy.length; i++) bias += (b ? b[Math.floor(i / per) % oc] : 0) * dy[i];
        const yDy = dot(bufs.y, dy) - bias;
        const scale = Math.abs(yDy) + 1e-3;
        expect(Math.abs(dot(bufs.x, bufs.dx) - yDy) / scale).toBeLessThan(1e-4);
        expect(Math.abs(dot(bufs.weight, bufs.gradWeight) - yDy) / scale).toBeLessThan(1e-4);
      });
    }
  }
});

// ---- random configs --------------------------------------------------------------------

describe('conv kernels vs reference, random configs', () => {
  it('agree on 220 random configs (both strategies and the GPU-shaped kernels)', () => {
    let ran = 0;
    fc.assert(
      fc.property(cfgArb, fc.constantFrom(...VARIANTS), (cfg, s) => {
        const layer = planOrSkip(cfg);
        if (!layer) return true; // an empty output: not a valid layer
        ran++;
        for (const r of checkVariant(layer, s, 7)) {
          if (!r.ok) throw new Error(`${r.buffer}: err ${r.maxAbsErr} > tol ${r.tol} for ${JSON.stringify(layer.geometry)}`);
        }
        return true;
      }),
      { numRuns: 220, seed: 20261125 },
    );
    // conv_transpose configs whose padding crops the whole output are skipped: keep that rare
    expect(ran).toBeGreaterThanOrEqual(200);
  });
});

describe('conv kernels vs reference, random large windows', () => {
  // windows up to 9x9 and 1D up to 40 taps: tap passes, split dW kernels, wide padding
  const bigArb: fc.Arbitrary<Cfg> = cfgArb.chain((c) =>
    fc.record({ k: c.kind === 'conv1d' || c.kind === 'conv_transpose1d' ? fc.tuple(fc.constant(1), fc.integer({ min: 9, max: 40 })) : pair(5, 9), d: pair(1, 2), s: pair(1, 3) }).map((o) => ({ ...c, ...o })),
  );
  it('agree on 30 random configs with large windows (both strategies and the GPU-shaped kernels)', () => {
    fc.assert(
      fc.property(bigArb, fc.constantFrom(...VARIANTS), (cfg, s) => {
        const layer = planOrSkip(cfg);
        if (!layer) return true; // an empty output: not a valid layer
        for (const r of checkVariant(layer, s, 11)) {
          if (!r.ok) throw new Error(`${r.buffer}: err ${r.maxAbsErr} > tol ${r.tol} for ${JSON.stringify(layer.geometry)}`);
        }
        return true;
      }),
      { numRuns: 30, seed: 7 },
    );
  });
});

// ---- generated code shape --------------------------------------------------------------

describe('conv kernel structure', () => {
  const layer = convCases.find((c) => c.title.startsWith('conv2d x=[7,2,5,5]'))!.layer;
  it('names carry the shape and role', () => {
    const p = lowerConv(withStrategy(layer, 'direct'));
    // 5 columns hold no full block of 4 interior columns: only the edge-column kernel runs
    expect(p.forward.map((c) => c.kernel.name)).toEqual(['conv3x3_p1_2x5x5_to_3_fwd_direct_cols']);
    expect(p.backward.map((c) => c.kernel.name)).toEqual(['conv3x3_p1_2x5x5_to_3_dw_direct', 'conv3x3_p1_2x5x5_to_3_db', 'conv3x3_p1_2x5x5_to_3_dx_direct_cols']);
    const q = lowerConv(withStrategy(layer, 'im2row'));
    expect(q.forward.map((c) => c.kernel.name)).toEqual(['conv3x3_p1_2x5x5_to_3_fwd_im2row_cols', 'conv3x3_p1_2x5x5_to_3_fwd_im2row_gemm']);
    expect(q.scratch).toEqual([{ name: 'cols', t: 'f32', length: 7 * 25 * 18, keep: false }]);
  });

  it('the direct forward checks padding only where a tap can leave the input, never in the interior', () => {
    const wide = planModel(parseModel({ name: 'wide', batch: 1, input: [2, 12, 12], layers: [{ type: 'conv2d', out_channels: 4, kernel: 3, padding: 1 }] })).layers[0] as ConvPlan;
    const [main, rows, cols] = lowerConv(withStrategy(wide, 'direct')).forward.map((c) => lowerKernel(c.kernel));
    expect([main.name, rows.name, cols.name]).toEqual(['conv3x3_p1_2x12x12_to_4_fwd_direct', 'conv3x3_p1_2x12x12_to_4_fwd_direct_rows', 'conv3x3_p1_2x12x12_to_4_fwd_direct_cols']);
    // interior rows 1..10 x full 4-column blocks from column 1: no check at all
    const text = dumpKernel(main);
    expect(text).toContain('for th in 1..11 parallel');
    expect(text).toContain('for cb in 0..2 parallel');
    expect(text).not.toContain('if ');
    // the rest: border rows check only the first/last kernel row; leftover columns 9-10 and edge columns (0, 11)
    // the first/last kernel column, plus the kernel row where the row can be a border one
    const rowText = dumpKernel(rows);
    expect(rowText).toContain('if th >= 1 {');
    expect(rowText).toContain('if th < 11 {');
    expect(rowText).not.toContain('tw >=');
    // leftover columns 9-10 and padding-side columns 0 and 11 sit at constant columns: no
    // column check at all; column 0 simply has no taps of kernel column 0 (6 of 9 loops)
    const colText = dumpKernel(cols);
    expect(colText).not.toContain('tw');
    expect(colText).toContain('if th >= 1 {');
    expect(colText).toContain('if th < 11 {');
    const col0 = colText.slice(colText.indexOf('var e0_acc0_0'), colText.indexOf('y[yrow] = e0_acc0_0'));
    expect(col0.match(/for r in/g)).toHaveLength(6);
    const k = main;
    expect(k.doc[0]).toBe('conv2d [1,2,12,12] -> [1,4,12,12] k=3x3 s=1x1 p=1,1,1,1 d=1x1 g=1');
  });

  it('splits a window too big for one optimizable function into passes that add up (and stay correct)', () => {
    const big = planModel(parseModel({ name: 'big', batch: 2, input: [1, 400], layers: [{ type: 'conv1d', out_channels: 8, kernel: 80, stride: 16 }] })).layers[0] as ConvPlan;
    const p = lowerConv(withStrategy(big, 'direct'));
    const names = p.forward.map((c) => c.kernel.name);
    // 21 output columns: 5 full blocks of 4 in two passes of 40 taps; the one leftover column fits one kernel
    expect(names).toEqual(['conv1d_k80_s16_1x400_to_8_fwd_direct', 'conv1d_k80_s16_1x400_to_8_fwd_direct_cols', 'conv1d_k80_s16_1x400_to_8_fwd_direct_t2']);
    // the second pass adds to y: it must be able to read it
    expect(p.forward.map((c) => c.kernel.buffers.find((b) => b.name === 'y')!.access)).toEqual(['write', 'write', 'read_write']);
    for (const r of checkConvLayer(withStrategy(big, 'direct'))) expect(r.maxAbsErr, r.buffer).toBeLessThanOrEqual(r.tol);
    const wide = planModel(parseModel({ name: 'wide7', batch: 1, input: [3, 20, 20], layers: [{ type: 'conv2d', out_channels: 5, kernel: 7, stride: 2, padding: 3 }] })).layers[0] as ConvPlan;
    expect(lowerConv(withStrategy(wide, 'direct')).forward.length).toBeGreaterThan(3);
    for (const r of checkConvLayer(withStrategy(wide, 'direct'))) expect(r.maxAbsErr, r.buffer).toBeLessThanOrEqual(r.tol);
    // dW of a 9x9 window: kernels take disjoint runs of kernel rows
    const nine = planModel(parseModel({ name: 'nine', batch: 2, input: [4, 12, 12], layers: [{ type: 'conv2d', out_channels: 8, kernel: 9, padding: 4 }] })).layers[0] as ConvPlan;
    const dw = lowerConv(withStrategy(nine, 'direct')).backward.map((c) => c.kernel.name).filter((n) => n.includes('_dw_'));
    expect(dw).toEqual(['conv9x9_p4_4x12x12_to_8_dw_direct', 'conv9x9_p4_4x12x12_to_8_dw_direct_t2']);
    for (const r of checkConvLayer(withStrategy(nine, 'direct'))) expect(r.maxAbsErr, r.buffer).toBeLessThanOrEqual(r.tol);
  });

  it('gradInput at stride 2 visits only the taps of each stride phase', () => {
    const s2 = convCases.find((c) => c.title.startsWith('conv2d x=[1,2,7,6] co=3 k=3 s=2'))!.layer;
    const text = dumpKernel(lowerKernel(lowerConv(withStrategy(s2, 'direct')).backward.at(-1)!.kernel));
    // "same" at 7x6, stride 2: pad top 1, left 0. Rows: phase 0 gets kernel row 1, phase 1
    // rows 0 and 2; columns: phase 0 gets columns 0 and 2, phase 1 column 1. 9 taps in all.
    expect(text.match(/stride phase \(\d, \d\): \d of 9 taps/g)).toEqual([
      'stride phase (0, 0): 2 of 9 taps',
      'stride phase (0, 1): 1 of 9 taps',
      'stride phase (1, 0): 4 of 9 taps',
      'stride phase (1, 1): 2 of 9 taps',
    ]);
    expect(text).not.toMatch(/ % /);
  });
});

describe('GPU kernels: windows wider than TAP_UNROLL_LIMIT run their taps as a loop (gather), their columns as invocations (split-K)', () => {
  // [kind, k, s, d, pad fraction, extra]: padded, strided, dilated, a conv_transpose with phases of many taps
  const wide: Cfg[] = [
    { kind: 'conv1d', batch: 2, groups: 1, cinPer: 2, coutPer: 4, k: [1, 20], s: [1, 3], d: [1, 2], pad: [0, 0, 0.5, 0.25], extra: [0, 4], op: [0, 0], bias: true },
    { kind: 'conv2d', batch: 1, groups: 2, cinPer: 2, coutPer: 2, k: [9, 11], s: [2, 1], d: [1, 1], pad: [0.5, 0.25, 1, 0], extra: [12, 14], op: [0, 0], bias: false },
    { kind: 'conv_transpose2d', batch: 2, groups: 1, cinPer: 3, coutPer: 2, k: [20, 3], s: [2, 1], d: [1, 1], pad: [0.25, 0.25, 0.5, 0], extra: [1, 2], op: [1, 0], bias: true },
  ];
  for (const cfg of wide) {
    const layer = planOf(cfg);
    it(`${cfg.kind} k=${cfg.k.join('x')} s=${cfg.s.join('x')} d=${cfg.d.join('x')}`, () => {
      const prog = lowerConv(layer, scheduleConv(layer, 'wgsl', { forward: 'gather' }));
      const gathers = [...prog.forward, ...prog.backward].filter((c) => c.kernel.name.endsWith('_gpu'));
      expect(gathers.some((c) => /for [hw]tap in/.test(dumpKernel(lowerKernel(c.kernel))))).toBe(true);
      // and split-K's pass 1 makes a wide window's columns invocations, one accumulator each
      const dw = prog.backward.find((c) => c.kernel.name.endsWith('_dw_splitk'))!;
      if (layer.geometry.kW > TAP_UNROLL_LIMIT) expect(dumpKernel(lowerKernel(dw.kernel))).toMatch(/for kw in 0\.\.\d+ parallel/);
      for (const r of checkConvLayer(layer, 3, { target: 'wgsl', forward: 'gather' })) expect(r.ok, `${r.buffer}: ${r.maxAbsErr} > ${r.tol}`).toBe(true);
    });
  }
  it(`keeps windows of up to ${TAP_UNROLL_LIMIT} taps per axis unrolled`, () => {
    const layer = planOf({ kind: 'conv2d', batch: 1, groups: 1, cinPer: 1, coutPer: 1, k: [TAP_UNROLL_LIMIT, TAP_UNROLL_LIMIT], s: [1, 1], d: [1, 1], pad: [0, 0, 0, 0], extra: [0, 0], op: [0, 0], bias: false });
    expect(dumpKernel(lowerKernel(lowerConv(layer, scheduleConv(layer, 'wgsl')).forward[0].kernel))).not.toMatch(/tap in/);
  });
});
