// Batch norm and dropout on a real WebGPU adapter (lavapipe in CI), beyond the case table
// (wgsl-kernels.test.ts checks those kernels against the reference): the dropout stream
// gives the TS and WGSL kernels the same masks bit for bit, and so the generated TS and GPU
// models the same masks for the same seed and step; the batch-norm reductions are
// deterministic (two runs, the same bits); the GPU model's state_dict round-trips with its
// buffers and saves the bytes the TS model saves.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { DropoutLayerPlan, ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { lowerDropout } from '../src/kernels/dropout.ts';
import { lowerLayer } from '../src/kernels/index.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { renderKernelWgsl } from '../src/render/wgsl.ts';
import { emitModel } from '../src/emit/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { mulberry32, randomArray } from './cases.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';
import { NO_ADAPTER, numericDeviceOrSkip, runWgslKernel } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

const root = mkdtempSync(join(tmpdir(), 'convgen-wgsl-norm-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const planOf = (json: object): ModelPlan => planModel(parseModel(json));
const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('the dropout stream on the GPU', () => {
  gpuIt('the WGSL kernel draws the TS kernel\'s masks, bit for bit', async () => {
    const l = planOf({ name: 'd', batch: 3, input: [5, 7, 11], layers: [{ type: 'relu' }, { type: 'dropout', p: 0.3 }] }).layers[1] as DropoutLayerPlan;
    const n = numel(l.inShape);
    const k = lowerDropout(l).forward[0].kernel;
    const wk = renderKernelWgsl(lowerKernel(k));
    const x = Float32Array.from(randomArray(n, mulberry32(3)));
    for (const [seed, step] of [[0, 0], [7, 1], [-5, 2 ** 31 - 1], [123456789, 99]]) {
      const bufs = () => ({ x, rng: Int32Array.of(seed, step), mask: new Float32Array(n).fill(NaN), y: new Float32Array(n).fill(NaN) });
      const ts = runTsKernel(k, bufs());
      const gpu = await runWgslKernel(device!, wk, k.buffers, bufs());
      expect(bits(gpu.mask), `seed ${seed} step ${step}: mask`).toEqual(bits(ts.mask));
      expect(bits(gpu.y), `seed ${seed} step ${step}: y`).toEqual(bits(ts.y));
    }
  }, 120_000);
});

describe('batch norm on the GPU', () => {
  gpuIt('the two-pass reductions are deterministic: two runs give the same bits', async () => {
    // 3 chunks of positions per sample, so pass 2 adds several partial sums
    const plan = planOf({ name: 'b', batch: 3, input: [4, 20, 30], layers: [{ type: 'batchnorm2d' }] });
    const l = plan.layers[0];
    const prog = lowerLayer(l, { target: 'wgsl' });
    const rng = mulberry32(8);
    const n = numel(l.inShape);
    const x = Float32Array.from(randomArray(n, rng).map((v) => 3 * v + 1));
    const dy = Float32Array.from(randomArray(n, rng));
    const scratch = Object.fromEntries(prog.scratch.map((s) => [s.name, new Float32Array(s.length)]));
    const run = async () => {
      const bufs: Record<string, Float32Array> = {
        x, dy, ...structuredClone(scratch),
        weight: new Float32Array(4).fill(1.5), bias: new Float32Array(4).fill(0.25),
        running: Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1),
        y: new Float32Array(n), dx: new Float32Array(n), gradWeight: new Float32Array(4), gradBias: new Float32Array(4),
      };
      for (const c of [...prog.forward, ...prog.backward]) {
        const named = Object.fromEntries(Object.entries(c.args).map(([k, b]) => [k, bufs[b]]));
        const out = await runWgslKernel(device!, renderKernelWgsl(lowerKernel(c.kernel)), c.kernel.buffers, named);
        for (const d of c.kernel.buffers) if (d.access !== 'read') bufs[c.args[d.name]] = out[d.name] as Float32Array;
      }
      return bufs;
    };
    const a = await run();
    const b = await run();
    for (const name of ['y', 'dx', 'gradWeight', 'gradBias', 'running', 'stats']) expect(bits(b[name]), name).toEqual(bits(a[name]));
  }, 120_000);
});

describe('generated models: the GPU model against the TS model', () => {
  gpuIt('same seed, same dropout masks and batch-norm steps: training outputs agree, and both save the same state_dict', async () => {
    // a model that is dropout alone shows the masks in its output: x * mask, the same float32 product on both targets
    const json = JSON.parse(readFileSync('test/fixtures/torch/bn_model.json', 'utf8'));
    const drop = planOf({ name: 'drop_only', batch: 4, input: [3, 40], layers: [{ type: 'dropout', p: 0.4 }, { type: 'dropout', p: 0.6 }] });
    for (const plan of [drop, planOf(json)]) {
      const dir = join(root, plan.name);
      writeOutputAtomic(dir, await emitModel(plan, { target: 'all' }));
      const { createModel } = await import(pathToFileURL(join(dir, 'index.ts')).href);
      const { createGpuModel } = await import(pathToFileURL(join(dir, 'gpu.ts')).href);
      const ts = createModel({ seed: 21 });
      const gpu = await createGpuModel(device!, { seed: 21 });
      const x = Float32Array.from(randomArray(numel(plan.inShape), mulberry32(4)));
      for (let step = 0; step < 3; step++) {
        const want = ts.forward(x);
        const got = await gpu.forward(x);
        if (plan === drop) expect(bits(got), `step ${step}`).toEqual(bits(want));
        else for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * (1 + Math.abs(want[i])));
      }
      if (plan !== drop) {
        // buffers after 3 training steps: the same counts, running stats within float32 rounding
        const b = await gpu.readBuffers();
        for (const [layer, t] of Object.entries(ts.buffers as Record<string, { running_mean: Float32Array; num_batches_tracked: BigInt64Array }>)) {
          expect(b[layer].num_batches_tracked[0]).toBe(3n);
          expect(t.num_batches_tracked[0]).toBe(3n);
          for (let i = 0; i < t.running_mean.length; i++) expect(Math.abs(b[layer].running_mean[i] - t.running_mean[i])).toBeLessThan(1e-5);
        }
        // the GPU model's file loads into the TS model, and the bytes are the TS model's own after that
        const file = await gpu.saveSafetensors();
        const other = createModel({ seed: 99 });
        other.loadSafetensors(file);
        expect(other.buffers.bn2.num_batches_tracked[0]).toBe(3n);
        expect(other.saveSafetensors()).toEqual(file);
        // and back: the TS model's file into a fresh GPU model, which saves the same bytes
        const fresh = await createGpuModel(device!, { seed: 5 });
        await fresh.loadSafetensors(ts.saveSafetensors());
        expect(await fresh.saveSafetensors()).toEqual(ts.saveSafetensors());
        // eval mode: dropout off, running stats in: both agree
        ts.eval();
        gpu.eval();
        const want = ts.forward(x);
        const got = await gpu.forward(x);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * (1 + Math.abs(want[i])));
        fresh.destroy();
      }
      gpu.destroy();
    }
  }, 300_000);
});
