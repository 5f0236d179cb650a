// Every WGSL shader convgen emits passes WebGPU validation (Dawn's null backend: full WGSL
// and pipeline validation, no driver needed): every kernel of every case of the shared
// table (conv layers under both strategies) and of every example, plus the renderer's own
// invariants (literal shapes, folded dispatches, bindings).

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASES, planCase } from './cases.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import type { Kernel } from '../src/ir/types.ts';
import { lowerConv } from '../src/kernels/conv.ts';
import { scheduleConv } from '../src/plan/schedule.ts';
import { lowerLayer, lowerModel } from '../src/kernels/index.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { foldWorkgroups, renderKernelWgsl } from '../src/render/wgsl.ts';
import { DEFAULT_LIMITS } from '../src/gpu/limits.ts';
import { withStrategy, type ConvPlan } from './helpers/conv-harness.ts';
import { compilationMessages, createKernelPipelines, validationDevice } from './helpers/webgpu.ts';

/**
 * every kernel a plan lowers to: the WGSL target's GPU-shaped convs (gather and im2row +
 * tiled GEMM forwards), and the TS-shaped ones under both strategies (the renderer takes any kernel)
 */
function kernelsOf(plan: ModelPlan): Kernel[] {
  const out: Kernel[] = [];
  for (const l of plan.layers) {
    const variants = 'schedule' in l ? [withStrategy(l as ConvPlan, 'direct'), withStrategy(l as ConvPlan, 'im2row')] : [l];
    const programs = variants.map((v) => lowerLayer(v));
    if ('schedule' in l) programs.push(...(['gather', 'tiled'] as const).map((f) => lowerConv(l as ConvPlan, scheduleConv(l as ConvPlan, 'wgsl', { forward: f }))));
    for (const p of programs) for (const c of [...p.forward, ...p.backward]) out.push(c.kernel);
  }
  const m = lowerModel(plan);
  if (m.loss) out.push(m.loss);
  if (m.optimizers) out.push(...Object.values(m.optimizers));
  return out;
}

async function expectValid(k: Kernel, limits = DEFAULT_LIMITS, lower = true) {
  const device = await validationDevice();
  const wk = renderKernelWgsl(lower ? lowerKernel(k) : k, limits);
  const msgs = await compilationMessages(device, wk.code);
  expect(msgs, `${k.name}:\n${wk.code}`).toEqual([]);
  device.pushErrorScope('validation');
  createKernelPipelines(device, wk);
  const err = await device.popErrorScope();
  expect(err?.message ?? null, k.name).toBeNull();
  for (const e of wk.entries) {
    for (const g of e.workgroups) expect(g).toBeLessThanOrEqual(limits.maxComputeWorkgroupsPerDimension);
    expect(e.workgroups[0] * e.workgroups[1] * e.workgroups[2] * e.workgroupSize).toBeGreaterThanOrEqual(e.invocations);
    expect(e.workgroupSize).toBeLessThanOrEqual(limits.maxComputeInvocationsPerWorkgroup);
  }
  return wk;
}

describe('WGSL validation: the shared case table', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      for (const k of kernelsOf(planCase(c))) await expectValid(k);
    });
  }
});

describe('WGSL validation: the examples', () => {
  const files = readdirSync('examples').filter((f) => f.endsWith('.json'));
  for (const f of files) {
    it(f, async () => {
      const plan = planModel(parseModel(JSON.parse(readFileSync(`examples/${f}`, 'utf8'))));
      for (const k of kernelsOf(plan)) await expectValid(k);
    }, 120_000);
  }
});

describe('WGSL renderer', () => {
  it('folds a dispatch past the per-dimension limit into 2D and 3D, covering every workgroup', () => {
    expect(foldWorkgroups(10, 65535)).toEqual([10, 1, 1]);
    for (const [groups, max] of [[65536, 65535], [70000, 100], [999_999, 100], [99, 10], [999, 10]] as const) {
      const [x, y, z] = foldWorkgroups(groups, max);
      expect(x * y * z).toBeGreaterThanOrEqual(groups);
      expect(Math.max(x, y, z)).toBeLessThanOrEqual(max);
      // no whole row of idle workgroups
      expect(x * y * z - groups).toBeLessThan(x * y);
    }
    expect(() => foldWorkgroups(1001, 10)).toThrow(/exceed/);
  });

  it('a small workgroup limit folds the SGD dispatch into 2D and still validates', async () => {
    const plan = planCase(CASES.find((c) => c.name.startsWith('tiny_lenet'))!);
    const sgd = lowerModel(plan).optimizers!.sgdMomentum;
    const wk = await expectValid(sgd, { ...DEFAULT_LIMITS, maxComputeWorkgroupsPerDimension: 2 });
    expect(wk.entries[0].workgroups[1]).toBeGreaterThan(1);
    expect(wk.code).toContain('_wid.y');
  });

  it('shapes are literals, scalars one uniform struct, read-only buffers read-only', () => {
    const plan = planCase(CASES.find((c) => c.name.startsWith('tiny_lenet'))!);
    const m = lowerModel(plan);
    const wk = renderKernelWgsl(lowerKernel(m.optimizers!.sgdMomentum));
    expect(wk.code).toMatch(/var<storage, read_write> param: array<f32, \d+>;/);
    expect(wk.code).toMatch(/var<storage, read> grad: array<f32, \d+>;/);
    expect(wk.code).toMatch(/struct Scalars \{\n  lr: f32,\n  momentum: f32,\n  oneMinusDampening: f32,\n  weightDecay: f32,\n  nesterov: f32,\n  first: f32,\n\}/);
    expect(wk.bindings.map((b) => b.type)).toEqual(['storage', 'read-only-storage', 'storage', 'uniform']);
    expect(wk.uniformBytes).toBe(32);
  });

  it('WGSL keywords and reserved words among IR names are renamed', async () => {
    const k: Kernel = {
      name: 'reserved_names',
      doc: [],
      buffers: [
        { name: 'loop', t: 'f32', length: 4, access: 'read' },
        { name: 'var', t: 'f32', length: 4, access: 'write' },
      ],
      scalars: [],
      body: [
        {
          k: 'for', v: 'let', from: { k: 'const', v: 0, t: 'i32' }, to: { k: 'const', v: 4, t: 'i32' }, step: 1, parallel: true, unroll: false,
          body: [
            { k: 'let', name: 'select', t: 'f32', init: { k: 'load', buf: 'loop', index: { k: 'var', name: 'let' } }, mutable: false },
            { k: 'store', buf: 'var', index: { k: 'var', name: 'let' }, op: '=', value: { k: 'bin', op: '*', a: { k: 'var', name: 'select' }, b: { k: 'const', v: 2, t: 'i32' } } },
          ],
        },
      ],
    };
    const wk = await expectValid(k);
    expect(wk.code).toContain('var_[let_] = select_ * 2f;');
  });

  it('an i32 literal in a boolean context becomes true / false', async () => {
    const k: Kernel = {
      name: 'bool_literal',
      doc: [],
      buffers: [{ name: 'y', t: 'f32', length: 1, access: 'write' }],
      scalars: [],
      body: [{ k: 'if', cond: { k: 'bin', op: '&&', a: { k: 'const', v: 1, t: 'i32' }, b: { k: 'bin', op: '<', a: { k: 'const', v: 0, t: 'i32' }, b: { k: 'const', v: 1, t: 'i32' } } }, then: [{ k: 'store', buf: 'y', index: { k: 'const', v: 0, t: 'i32' }, op: '=', value: { k: 'const', v: 1, t: 'f32' } }], else: [] }],
    };
    // rendered as built: the simplify pass would fold the condition away
    const wk = await expectValid(k, DEFAULT_LIMITS, false);
    expect(wk.code).toContain('if (true && 0 < 1)');
  });
});
