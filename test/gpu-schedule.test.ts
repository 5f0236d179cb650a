// The GPU schedule is plain data checked against device limits: a buffer over the binding
// limit (other than a linear weight or the parameter arena, which are split: wgsl-split.test.ts)
// is refused with an error naming the layer and the limit; small dispatch limits fold
// grids into 2D; limits.json is validated; the printed table is stable.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gemmTile } from '../src/plan/schedule.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel, type PlanOptions } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { formatGpuSchedule, scheduleGpu } from '../src/gpu/schedule.ts';
import { DEFAULT_LIMITS, parseLimits, type GpuLimits } from '../src/gpu/limits.ts';
import { ConvgenError } from '../src/errors.ts';
import { emitGpuFiles } from '../src/emit/gpu.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';

const load = (f: string, opts: PlanOptions = {}) => planModel(parseModel(JSON.parse(readFileSync(`examples/${f}`, 'utf8'))), opts);
/** the kernels the WGSL target ships (for `limits`: a linear weight over a binding is split) */
const gpuProgram = (plan: ModelPlan, limits?: GpuLimits) => lowerModel(plan, { target: 'wgsl', limits });

describe('GPU schedule', () => {
  it('records every kernel in run order with its dispatches, bindings and workgroup memory', () => {
    const plan = load('lenet.json');
    const s = scheduleGpu(plan, gpuProgram(plan));
    expect(s.kernels[0].layer).toBe(plan.layers[0].name);
    expect(s.kernels.at(-1)!.phase).toBe('optimizer');
    for (const k of s.kernels) {
      expect(k.dispatches.length).toBeGreaterThan(0);
      // the gather forward: no workgroup memory
      expect(k.workgroupBytes).toBe(0);
      for (const d of k.dispatches) expect(d.workgroups[0] * d.workgroups[1] * d.workgroups[2] * d.workgroupSize).toBeGreaterThanOrEqual(d.invocations);
    }
    // round-trips through JSON: plain data
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('refuses a layer whose buffer exceeds maxStorageBufferBindingSize, naming the layer and the limit', () => {
    const plan = load('lenet.json');
    const limits = { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 100_000 };
    expect(() => scheduleGpu(plan, gpuProgram(plan, limits), limits)).toThrow(ConvgenError);
    expect(() => scheduleGpu(plan, gpuProgram(plan, limits), limits)).toThrow(/layers\[0\] \(conv2d "c1"\).*100352 bytes.*maxStorageBufferBindingSize = 100000/);
    expect(() => emitGpuFiles(plan, gpuProgram(plan, limits), { limits })).toThrow(/maxStorageBufferBindingSize/);
    // a program lowered for other limits is a mistake of the caller's, said plainly
    expect(() => scheduleGpu(plan, gpuProgram(plan), { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 4096 })).toThrow(/layer f6 was lowered for other limits .*pass the same limits to lowerModel/);
  });

  it('records the tiled GEMM forward (im2row strategy): one workgroup per tile, its workgroup memory; refuses it over the invocation limit', () => {
    const plan = load('lenet.json', { strategy: 'im2row' });
    const s = scheduleGpu(plan, gpuProgram(plan));
    const gemm = s.kernels.filter((k) => k.kernel.endsWith('_fwd_gemm_tiled'));
    expect(gemm.map((k) => k.layer)).toEqual(['c1', 'c3']);
    for (const k of gemm) {
      // A and B tiles of 16 deep: (tm + tn) * 16 floats
      expect(k.workgroupBytes).toBeGreaterThan(0);
      expect(k.dispatches[0].workgroupSize).toBe(128); // 64 or 128 pixels x 8 or 16 channels, 4 x 2 outputs per invocation
      expect(k.bindings.map((b) => b.bound)).toEqual(['cols', 'weight', 'bias', 'y']);
    }
    const small = { ...DEFAULT_LIMITS, maxComputeInvocationsPerWorkgroup: 64 };
    expect(() => scheduleGpu(plan, gpuProgram(plan), small)).toThrow(/layers\[0\] \(conv2d "c1"\).*workgroups of 128 invocations.*maxComputeInvocationsPerWorkgroup = 64.*"strategy": "direct"/);
  });

  it('folds dispatches into 2D under a small per-dimension limit', () => {
    const plan = load('lenet.json');
    const s = scheduleGpu(plan, gpuProgram(plan), { ...DEFAULT_LIMITS, maxComputeWorkgroupsPerDimension: 100 });
    const relu = s.kernels.find((k) => k.kernel.startsWith('relu_6x28x28_fwd'))!;
    expect(relu.dispatches[0].workgroups[1]).toBeGreaterThan(1);
    expect(Math.max(...s.kernels.flatMap((k) => k.dispatches.flatMap((d) => d.workgroups)))).toBeLessThanOrEqual(100);
  });

  it('parses limits.json: defaults for missing keys, unknown keys ignored, bad values refused', () => {
    expect(parseLimits({ maxStorageBufferBindingSize: 2 ** 30, maxTextureDimension2D: 8192 })).toEqual({ ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 2 ** 30 });
    expect(() => parseLimits({ maxComputeWorkgroupsPerDimension: 0 })).toThrow(/limits.maxComputeWorkgroupsPerDimension: expected a positive integer/);
    expect(() => parseLimits([1])).toThrow(ConvgenError);
  });

  // structure rather than a snapshot: the kernels' dispatch shapes belong to the kernel builders
  it('prints one row per dispatch, the first of each kernel naming layer, phase and kernel', () => {
    const plan = load('seed.json');
    const s = scheduleGpu(plan, gpuProgram(plan));
    const lines = formatGpuSchedule(s).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^WGSL schedule: \d+ kernels, \d+ dispatches$/);
    expect(lines[1]).toContain('65535 workgroups/dim, 256 invocations/workgroup');
    expect(lines[3].split(' | ').map((c) => c.trim())).toEqual(['layer', 'phase', 'kernel', 'entry', 'invocations', 'wg', 'workgroups', 'wg mem', 'bindings (KiB)']);
    const rows = lines.slice(5);
    expect(rows.length).toBe(s.kernels.reduce((a, k) => a + k.dispatches.length, 0));
    expect(rows.at(-1)).toMatch(/^\(optimizer\)\s+\| optimizer\s+\| adam_amsgrad_\d+ .*param:rw .*maxExpAvgSq:rw .*scalars:u/);
  });
});

describe('REQUIRED_LIMITS in the generated gpu.ts', () => {
  const root = mkdtempSync(join(tmpdir(), 'convgen-limits-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  // 256 x 10 x 128 x 128 floats: a 160 MiB activation, over the default binding limit
  const big = planModel(
    parseModel({ name: 'big', batch: 256, input: [1, 128, 128], layers: [{ type: 'conv2d', name: 'c', out_channels: 10, kernel: 3, padding: 1 }] }),
  );
  const limits = { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 2 ** 30 };

  it('records what the module uses past the spec defaults, and the defaults otherwise', async () => {
    const files = emitGpuFiles(big, gpuProgram(big), { limits });
    expect(files['gpu.ts']).toContain('"maxStorageBufferBindingSize": 167772160');
    expect(files['gpu.ts']).toContain('"maxBufferSize": 268435456');
    expect(files['gpu.ts']).toMatch(/over them: maxStorageBufferBindingSize 167772160; built with `convgen build --limits`/);
    const seed = load('seed.json');
    expect(emitGpuFiles(seed, gpuProgram(seed))['gpu.ts']).toContain('"maxStorageBufferBindingSize": 134217728');
  });

  it('createGpuModel refuses a device below them, naming the limit, before creating anything', async () => {
    const dir = join(root, 'big');
    writeOutputAtomic(dir, emitGpuFiles(big, gpuProgram(big), { limits }));
    const mod = (await import(pathToFileURL(join(dir, 'gpu.ts')).href)) as { createGpuModel(d: unknown): Promise<unknown>; REQUIRED_LIMITS: Record<string, number> };
    let created = 0;
    const device = { limits: { ...DEFAULT_LIMITS, maxBufferSize: 268435456 }, createBuffer: () => (created++, {}) };
    await expect(mod.createGpuModel(device)).rejects.toThrow(/big\.createGpuModel: the device's maxStorageBufferBindingSize is 134217728, this module needs 167772160; request the device with \{ requiredLimits: REQUIRED_LIMITS \}/);
    expect(created).toBe(0);
    expect(mod.REQUIRED_LIMITS.maxStorageBufferBindingSize).toBe(167772160);
  });
});

describe('tiled GEMM tiles fit every device', () => {
  it('within the spec defaults (256 invocations, 16 KiB of workgroup memory) for any M, N, K, single-channel N included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 5000 }), (M, N, K) => {
        const t = gemmTile(M, N, K);
        expect(t.size).toBeLessThanOrEqual(DEFAULT_LIMITS.maxComputeInvocationsPerWorkgroup);
        expect((t.tm + t.tn) * t.tk * 4).toBeLessThanOrEqual(DEFAULT_LIMITS.maxComputeWorkgroupStorageSize);
      }),
      { seed: 4 },
    );
    // a depthwise 3x3 (one output channel per group, K = 9, 144 pixels) was 64 bytes over
    const dw = planModel(parseModel({ name: 'dw', batch: 1, input: [8, 12, 12], layers: [{ type: 'conv2d', name: 'dw', out_channels: 8, groups: 8, kernel: 3, padding: 1, strategy: 'im2row' }] }));
    const k = scheduleGpu(dw, gpuProgram(dw)).kernels.find((x) => x.kernel.endsWith('_gemm_tiled'))!;
    expect(k.workgroupBytes).toBeLessThanOrEqual(16384);
  });
});

describe('binding-size refusals say what would help', () => {
  const refusal = (model: unknown) => {
    const plan = planModel(parseModel(model));
    try {
      scheduleGpu(plan, gpuProgram(plan));
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  it('conv weights over the limit: not the batch size, and not split (only linear weights are)', () => {
    const msg = refusal({ name: 'wide', batch: 1, input: [4096, 1, 1], layers: [{ type: 'conv2d', name: 'c', out_channels: 4096, kernel: 3, padding: 1 }] });
    expect(msg).toMatch(/layers\[0\] \(conv2d "c"\).*'w'.*maxStorageBufferBindingSize.*the layer's weights alone are this large \(the batch size does not change them; the WGSL target splits linear weights over bindings, not these\).*pass --limits .*or build only the CPU target with --target ts \(it has no such limit\)$/);
  });
  it('a linear weight whose single aligned block of rows is over the limit', () => {
    // 1000 floats a row: a block's offset is 256-byte aligned every 8 rows, 32000 bytes
    const plan = planModel(parseModel({ name: 'wide', batch: 1, input: [1000, 1], layers: [{ type: 'flatten', name: 'flat' }, { type: 'linear', name: 'fc', out_features: 10 }] }));
    const limits = { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 16384 };
    expect(() => scheduleGpu(plan, gpuProgram(plan, limits), limits)).toThrow(/layers\[1\] \(linear "fc"\).*'w'.*one block of output rows of the layer's weights is this large/);
  });
  // were refused before the binding split
  it('a linear weight and every parameter together over the limit: split, planned, nothing bound past the limit', () => {
    const plan = planModel(parseModel({ name: 'many', batch: 1, input: [6000, 1], layers: [{ type: 'flatten', name: 'flat' }, { type: 'linear', name: 'a', out_features: 6000 }, { type: 'linear', name: 'b', out_features: 4200 }] }));
    const s = scheduleGpu(plan, gpuProgram(plan));
    expect(s.splits.map((q) => [q.layer, q.blocks.length])).toEqual([['a', 2]]);
    expect(s.arena!.chunks.length).toBeGreaterThan(1);
    for (const k of s.kernels) for (const b of k.bindings) expect(b.bytes, `${k.kernel}.${b.name}`).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
  });
  // the fix once told a user over maxBufferSize to raise maxStorageBufferBindingSize, which cannot help
  it('a buffer over maxBufferSize (the smaller limit): the error and the fix name maxBufferSize', () => {
    const plan = load('lenet.json');
    const limits = { ...DEFAULT_LIMITS, maxBufferSize: 100_000 };
    let msg = 'no error';
    try {
      scheduleGpu(plan, gpuProgram(plan, limits), limits);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^layers\[0\] \(conv2d "c1"\): .*'x' of 100352 bytes.*, over maxBufferSize = 100000; lower the batch size .*pass --limits with the larger maxBufferSize your device supports, or build only the CPU target/);
    expect(msg).not.toContain('maxStorageBufferBindingSize');
    // and over the binding limit, that one
    const binding = { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 100_000 };
    expect(() => scheduleGpu(plan, gpuProgram(plan, binding), binding)).toThrow(/over maxStorageBufferBindingSize = 100000; .*pass --limits with the larger maxStorageBufferBindingSize your device supports/);
  });
  it('activations over the limit: the batch size', () => {
    const msg = refusal({ name: 'tall', batch: 600, input: [1, 256, 256], layers: [{ type: 'conv2d', name: 'c', out_channels: 1, kernel: 1 }] });
    expect(msg).toMatch(/layers\[0\] \(conv2d "c"\).*lower the batch size \(activation buffers grow with it\).*--target ts/);
  });
  it('limits too small to fold a dispatch into 3D: a ConvgenError naming the layer, not a crash', () => {
    const plan = load('lenet.json');
    expect(() => scheduleGpu(plan, gpuProgram(plan), { ...DEFAULT_LIMITS, maxComputeWorkgroupsPerDimension: 3 })).toThrow(ConvgenError);
    expect(() => scheduleGpu(plan, gpuProgram(plan), { ...DEFAULT_LIMITS, maxComputeWorkgroupsPerDimension: 3 })).toThrow(/^layers\[0\] \(conv2d "c1"\): \d+ workgroups exceed 3\^3; raise the limits/);
  });
});
