// The WGSL binding split (src/gpu/split.ts, docs/wgsl.md): a linear weight over one binding runs
// in blocks of output rows bound at aligned offsets, the parameter arena past maxBufferSize is
// several buffers, the optimizers run in chunks. Without a GPU: the split's invariants for any
// shape and limits, and the plan table. On an adapter (lavapipe; test/helpers/webgpu.ts): a small
// model with a branch, batch norm (after a conv without bias: a bias there has a zero gradient,
// which Adam would turn into float noise of lr's size) and a split linear, built for tiny limits (4 KiB a binding,
// 6 KiB a buffer), passes `convgen check --target wgsl`, and trains as the TS module does.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { LayerPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { lowerModel } from '../src/kernels/index.ts';
import type { ParamSlot } from '../src/kernels/types.ts';
import { DEFAULT_LIMITS, loadLimitsFile } from '../src/gpu/limits.ts';
import { formatGpuSchedule, scheduleGpu } from '../src/gpu/schedule.ts';
import { alignElements, bindingElements, layoutArena, splitLinear } from '../src/gpu/split.ts';
import { emitGpuFiles } from '../src/emit/gpu.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { checkCommand } from '../src/cli/check.ts';
import { planCommand } from '../src/cli/plan.ts';
import { compare, modelTolerance, randomTarget } from '../src/check/ts.ts';
import { runCaptured } from './helpers/cli.ts';
import { buildAndImport, cleanupBuilds } from './helpers/build-module.ts';
import { mulberry32, randomArray } from './cases.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const MODEL = 'test/fixtures/split/split_small.json';
const LIMITS = 'test/fixtures/split/limits.json';
const limits = loadLimitsFile(LIMITS);
const plan = planModel(loadModelFile(MODEL));

describe('the split, as data', () => {
  it('blocks of whole rows cover the weight, each within one binding at an aligned offset; arena parts never straddle a buffer; chunks cover each buffer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 6, max: 16 }),
        fc.integer({ min: 4, max: 9 }),
        fc.integer({ min: 0, max: 3 }),
        (I, O, bindLog, alignLog, bufferExtra) => {
          const lim = { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 4 * 2 ** bindLog, minStorageBufferOffsetAlignment: 2 ** alignLog, maxBufferSize: 4 * 2 ** (bindLog + bufferExtra) };
          const l = { type: 'linear', name: 'fc', inFeatures: I, outFeatures: O } as unknown as LayerPlan;
          const s = splitLinear(l, lim);
          const align = alignElements(lim);
          if (!s) {
            // unsplit: it fits, or no aligned block of rows does
            const step = align / gcdOf(I, align);
            expect(O * I <= bindingElements(lim) || step * I > bindingElements(lim)).toBe(true);
            return;
          }
          expect(s.blocks[0]!.rows[0]).toBe(0);
          expect(s.blocks.at(-1)!.rows[1]).toBe(O);
          for (const [j, b] of s.blocks.entries()) {
            if (j > 0) expect(b.rows[0]).toBe(s.blocks[j - 1]!.rows[1]);
            expect(b.elements).toEqual([b.rows[0] * I, b.rows[1] * I]);
            expect(b.byteOffset % lim.minStorageBufferOffsetAlignment).toBe(0);
            expect(b.elements[1] - b.elements[0]).toBeLessThanOrEqual(bindingElements(lim));
          }
          const slots = [
            { layer: 'pre', kind: 'weight', length: 7 },
            { layer: 'fc', kind: 'weight', length: O * I },
            { layer: 'fc', kind: 'bias', length: O },
          ] as unknown as ParamSlot[];
          const a = layoutArena(slots, [s], lim);
          const maxBuffer = lim.maxBufferSize / 4;
          for (const [i, parts] of a.parts.entries()) {
            let next = 0;
            for (const p of parts) {
              expect(p.start).toBe(next);
              next += p.length;
              expect(p.offset % align).toBe(0);
              expect(p.offset + p.length).toBeLessThanOrEqual(a.buffers[p.buffer]!);
            }
            expect(next).toBe(slots[i]!.length);
          }
          // the weight's parts are its blocks
          expect(a.parts[1]!.map((p) => [p.start, p.start + p.length])).toEqual(s.blocks.map((b) => [...b.elements]));
          // within maxBufferSize, unless one piece alone is larger
          a.buffers.forEach((n, buffer) => expect(n <= maxBuffer || a.parts.flat().filter((p) => p.buffer === buffer).length === 1).toBe(true));
          a.buffers.forEach((n, buffer) => {
            const cs = a.chunks.filter((c) => c.buffer === buffer);
            expect(cs.reduce((t, c) => t + c.length, 0)).toBe(n);
            for (const c of cs) {
              expect(c.offset % align).toBe(0);
              expect(c.length).toBeLessThanOrEqual(Math.max(align, bindingElements(lim)));
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('convgen plan --target wgsl prints the blocks, the arena buffers and the optimizer chunks', () => {
    const s = scheduleGpu(plan, lowerModel(plan, { target: 'wgsl', limits }), limits);
    const text = formatGpuSchedule(s);
    expect(text).toContain(
      [
        'split fc1.weight into 3 blocks of output rows (144 elements a row):',
        '  rows 0..4: elements 0..576, byte offset 0, 2.25 KiB',
        '  rows 4..8: elements 576..1152, byte offset 2304, 2.25 KiB',
        '  rows 8..12: elements 1152..1728, byte offset 4608, 2.25 KiB',
        // fc1's third block does not fit the first buffer: the weight is in two
        'parameter arena: 2 buffer(s) of 5.25 KiB, 3.25 KiB (the gradients and optimizer state alike)',
        '  params: c1.weight, bn1.weight, bn1.bias, fc1.weight; optimizer chunks 0+704, 704+640',
        '  params_1: fc1.weight, fc1.bias, fc2.weight, fc2.bias; optimizer chunks 0+832',
      ].join('\n'),
    );
    expect(text).toMatch(/\nfc1 +\| backward +\| linear_144_to_12_rows4_8_dx +\| main /);
    // every binding within the limit, and REQUIRED_LIMITS asks for no more than what is bound (the optimizers included)
    for (const k of s.kernels) for (const b of k.bindings) expect(b.bytes, `${k.kernel}.${b.name}`).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
    const gpu = emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl', limits }), { limits })['gpu.ts']!;
    expect(gpu).toContain('"maxStorageBufferBindingSize": 134217728');
  });

  // an inference build's plan told of optimizer chunks and of gradients and optimizer state, which it has not
  it('convgen plan --inference --target wgsl prints the blocks and the parameter buffers, no optimizer', async () => {
    const { code, out } = await runCaptured(planCommand, [MODEL, '--inference', '--target', 'wgsl', '--limits', LIMITS]);
    expect(code).toBe(0);
    expect(out).toContain(
      [
        'split fc1.weight into 3 blocks of output rows (144 elements a row):',
        '  rows 0..4: elements 0..576, byte offset 0, 2.25 KiB',
        '  rows 4..8: elements 576..1152, byte offset 2304, 2.25 KiB',
        '  rows 8..12: elements 1152..1728, byte offset 4608, 2.25 KiB',
        'parameter arena: 2 buffer(s) of 5.25 KiB, 3.25 KiB',
        '  params: c1.weight, bn1.weight, bn1.bias, fc1.weight',
        '  params_1: fc1.weight, fc1.bias, fc2.weight, fc2.bias',
        '',
      ].join('\n'),
    );
    expect(out).not.toMatch(/optimizer|gradient/);
  });

  // the schedule sized the optimizer kernels by the parameter count P while the device binds the
  // padded arena, so REQUIRED_LIMITS could ask for less than a binding the module makes
  it('the schedule sizes the optimizer kernels by what the device binds: the padded arena, not P', () => {
    const program = lowerModel(plan, { target: 'wgsl' });
    const s = scheduleGpu(plan, program);
    expect(s.arena!.buffers).toHaveLength(1);
    const arenaBytes = s.arena!.buffers[0]! * 4;
    expect(arenaBytes).toBeGreaterThan(program.params.length * 4);
    const opt = s.kernels.filter((k) => k.phase === 'optimizer');
    expect(opt.map((k) => k.kernel).sort()).toEqual([`adam_${arenaBytes / 4}`, `adam_amsgrad_${arenaBytes / 4}`, `sgd_${arenaBytes / 4}`, `sgd_momentum_${arenaBytes / 4}`]);
    for (const k of opt) expect(k.bindings.find((b) => b.name === 'param')!.bytes).toBe(arenaBytes);
  });
});

// ---- on an adapter ------------------------------------------------------------------------------

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;
type Step = { type: 'sgd'; lr: number; momentum?: number } | { type: 'adamw'; lr: number };
interface Trainable {
  lossAndGrad(x: Float32Array, labels: Int32Array): number | Promise<number>;
  optimizerStep(o: Step): void;
}

const root = mkdtempSync(join(tmpdir(), 'convgen-split-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  cleanupBuilds();
});

describe('a split model on the device', () => {
  gpuIt('passes convgen check --target wgsl at 4 KiB a binding and 6 KiB a buffer: every split kernel, the chunked optimizers, the model', async () => {
    const { code, out } = await runCaptured(checkCommand, [MODEL, '--target', 'wgsl', '--limits', LIMITS, '--seed', '5']);
    expect(code, out).toBe(0);
    expect(out).not.toContain('FAIL');
    for (const k of ['linear_144_to_12_rows0_4_fwd', 'linear_144_to_12_rows4_8_dx', 'linear_144_to_12_rows8_12_dw', 'linear_144_to_12_rows8_12_db', 'sgd_704', 'sgd_momentum_640', 'adam_832', 'adam_amsgrad_704']) {
      expect(out).toMatch(new RegExp(`\\| ${k}\\b.*\\| ok \\|`));
    }
    expect(out).toMatch(/optimizerStep x3 \(adamw .*amsgrad=true\): params .*\| ok \|/);
  }, 240_000);

  gpuIt('createGpuModel trains as the TS module does: 4 steps of SGD with momentum, then 4 of AdamW', async () => {
    const dir = join(root, plan.name);
    writeOutputAtomic(dir, emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl', limits }), { limits }));
    const { createGpuModel } = (await import(pathToFileURL(join(dir, 'gpu.ts')).href)) as {
      createGpuModel(d: GPUDevice, o: { seed: number }): Promise<Trainable & { readParams(): Promise<Tensors>; destroy(): void }>;
    };
    const ts = (await buildAndImport(plan)).createModel({ seed: 9 }) as unknown as Trainable & { params: Tensors };
    const gpu = await createGpuModel(device!, { seed: 9 });
    const rng = mulberry32(4);
    const steps: Step[] = [...Array(4).fill({ type: 'sgd', lr: 0.05, momentum: 0.9 }), ...Array(4).fill({ type: 'adamw', lr: 0.01 })];
    for (const [i, step] of steps.entries()) {
      const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
      const labels = randomTarget(plan, rng) as Int32Array;
      const lt = ts.lossAndGrad(x, labels) as number;
      const lg = await gpu.lossAndGrad(x, labels);
      expect(compare([lg], [lt], modelTolerance).ok, `step ${i}: loss ${lg} vs ${lt}`).toBe(true);
      ts.optimizerStep(step);
      gpu.optimizerStep(step);
    }
    const got = await gpu.readParams();
    for (const [layer, t] of Object.entries(ts.params)) {
      for (const kind of ['weight', 'bias'] as const) {
        if (!t[kind]) continue;
        const r = compare(got[layer]![kind]!, t[kind]!, modelTolerance);
        expect(r.ok, `${layer}.${kind}: max abs error ${r.maxAbs} > ${r.tolerance}`).toBe(true);
      }
    }
    // they moved: the comparison is not of two untouched inits
    const fresh = await createGpuModel(device!, { seed: 9 });
    expect((await fresh.readParams()).fc1!.weight).not.toEqual(got.fc1!.weight);
    fresh.destroy();
    gpu.destroy();
  }, 240_000);
});

function gcdOf(a: number, b: number): number {
  return b === 0 ? a : gcdOf(b, a % b);
}

// the fixture's limits: what the test above relies on
it('the fixture limits split fc1 and the arena', () => {
  expect(JSON.parse(readFileSync(LIMITS, 'utf8'))).toEqual({ maxStorageBufferBindingSize: 4096, maxBufferSize: 6144 });
});
