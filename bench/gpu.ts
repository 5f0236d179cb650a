// `npm run bench:gpu` (tsx bench/gpu.ts): the WGSL target's kernels timed on a WebGPU
// adapter, in one process. Per layer config (A..E of bench/configs.ts): the forward as the
// gather and as im2row + tiled GEMM (conv2d), the input gradient (stride phases) and the
// weight gradient (split-K), each cross-checked against the float64 reference first, then
// timed; and F, the generated LeNet module's training step (`trainStep` on a resident batch,
// one submission) next to the generated TS module's `lossAndGrad` + `sgdStep`.
//
// On a real GPU the times are what they say. On Mesa's lavapipe (architecture "software",
// the CPU emulating a GPU) only ratios between rows of one run mean anything, and the
// report says so.
//
//   --quick     tiny sizes and few samples (seconds; what the CI smoke test runs)
//   --only B,F  only these configs
//   --out DIR   write gpu-latest.md there (default bench/results; --quick: .tmp/bench)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lowerConv } from '../src/kernels/conv.ts';
import { scheduleConv } from '../src/plan/schedule.ts';
import { lowerModel } from '../src/kernels/index.ts';
import type { KernelCall, LayerProgram } from '../src/kernels/types.ts';
import { ROLE_TAG } from '../src/kernels/names.ts';
import { emitGpuFiles } from '../src/emit/gpu.ts';
import { emitModelTs } from '../src/emit/model-ts.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { LayerPlan, ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { NoWebGpuError, openNodeDevice } from '../src/gpu/node-device.ts';
import { prepareCall, pumped, upload } from '../src/gpu/run-kernel.ts';
import { runLayerWgsl } from '../src/check/layer-wgsl.ts';
import { LAYER_CONFIGS, STEP_CONFIG, describeConfig, planConfig, quickConfig, type ConvPlan, type LayerConfig } from './configs.ts';
import { randomF32, rng } from './data.ts';
import { parseBenchArgs } from './args.ts';

const ALL = [...LAYER_CONFIGS.map((c) => c.id), STEP_CONFIG.id];

// ---- timing ------------------------------------------------------------------------------

interface Budget {
  /** one sample runs the op this long at least (repeated inside one submission) */
  readonly sampleMs: number;
  readonly samples: number;
  /** warm-up calls of a training step at least */
  readonly warmup: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * ms per run of `encode` (which records one run of the op into a pass): each sample records
 * `reps` runs in one submission and waits for the queue, so per-submission overhead is
 * shared out; `reps` is picked so a sample lasts about budget.sampleMs
 */
async function timeGpu(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void, budget: Budget): Promise<{ ms: number; reps: number }> {
  const sample = async (reps: number) => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let r = 0; r < reps; r++) encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    await pumped(device.queue.onSubmittedWorkDone());
    return (performance.now() - t0) / reps;
  };
  await sample(1); // pipelines compiled, caches warm
  const probe = await sample(1);
  const reps = Math.max(1, Math.min(200, Math.ceil(budget.sampleMs / Math.max(probe, 1e-3))));
  const times: number[] = [];
  for (let s = 0; s < budget.samples; s++) times.push(await sample(reps));
  return { ms: median(times), reps };
}

/**
 * ms per call of an async step, median over samples of `reps` calls. Warm-up first: calls
 * until the speed settles (at least `budget.warmup`, then three within 25% of the fastest,
 * at most 10 s), since V8 compiles a big generated module in the background
 */
async function timeSteps(step: () => Promise<unknown> | unknown, budget: Budget): Promise<number> {
  const seen: number[] = [];
  const start = performance.now();
  for (;;) {
    const t = performance.now();
    await step();
    seen.push(performance.now() - t);
    const best = Math.min(...seen);
    const settled = seen.length >= budget.warmup && seen.slice(-3).every((x) => x <= 1.25 * best);
    if (settled || performance.now() - start > 10_000) break;
  }
  const probe = Math.min(...seen.slice(-3));
  const reps = Math.max(1, Math.min(50, Math.ceil(budget.sampleMs / Math.max(probe, 1e-3))));
  const times: number[] = [];
  for (let s = 0; s < budget.samples; s++) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) await step();
    times.push((performance.now() - t) / reps);
  }
  return median(times);
}

// ---- layer configs -------------------------------------------------------------------------

interface OpRow {
  readonly config: string;
  readonly op: string;
  /** kernels it runs, in order */
  readonly kernels: readonly string[];
  readonly dispatches: number;
  readonly ms: number;
  readonly gflops: number;
  readonly agreement: string;
}

/** the calls of `prog` that make one op: the forward list, or the backward calls of one role */
function opCalls(prog: LayerProgram, op: 'forward' | 'gradInput' | 'gradWeight'): KernelCall[] {
  if (op === 'forward') return [...prog.forward];
  const tag = `_${ROLE_TAG[op]}_`;
  return prog.backward.filter((c) => c.kernel.name.includes(tag));
}

async function benchLayer(device: GPUDevice, c: LayerConfig, budget: Budget, log: (s: string) => void): Promise<OpRow[]> {
  const { layer } = planConfig(c, 'auto');
  const variants: [string, LayerProgram][] = [['gather', lowerConv(layer, scheduleConv(layer, 'wgsl', { forward: 'gather' }))]];
  if (layer.type !== 'conv_transpose2d') variants.push(['tiled', lowerConv(layer, scheduleConv(layer, 'wgsl', { forward: 'tiled' }))]);
  const rows: OpRow[] = [];
  for (const [variant, prog] of variants) {
    // the whole program against the reference before anything is timed
    const run = await runLayerWgsl(device, layer, prog, rng(1));
    const bad = run.outputs.filter((o) => !o.result.ok);
    if (bad.length) throw new Error(`bench:gpu: ${c.id} (${variant}) disagrees with the reference: ${bad.map((o) => `${o.out} max abs ${o.result.maxAbs}`).join(', ')}`);
    const worst = (outs: readonly string[]) => Math.max(...run.outputs.filter((o) => outs.includes(o.out)).map((o) => o.result.maxAbs));

    const buffers = layerBuffers(device, layer, prog);
    try {
      const ops = variant === 'gather' ? (['forward', 'gradInput', 'gradWeight'] as const) : (['forward'] as const);
      for (const op of ops) {
        const calls = opCalls(prog, op);
        if (calls.length === 0) continue;
        const prepared = calls.map((call) => prepareCall(device, call, buffers));
        const encode = (pass: GPUComputePassEncoder) => {
          for (const p of prepared) p.record(pass);
        };
        const t = await timeGpu(device, encode, budget);
        const flops = layer.flops[op];
        const name = op === 'forward' ? `forward (${variant})` : op;
        const outs = op === 'forward' ? ['y'] : op === 'gradInput' ? ['dx'] : ['gradWeight', 'gradBias'];
        rows.push({
          config: c.id,
          op: name,
          kernels: calls.map((k) => k.kernel.name),
          dispatches: prepared.reduce((a, p) => a + p.dispatches, 0),
          ms: t.ms,
          gflops: flops / t.ms / 1e6,
          agreement: worst(outs).toExponential(1),
        });
        log(`  ${c.id} ${name.padEnd(17)} ${t.ms.toFixed(3).padStart(9)} ms  ${(flops / t.ms / 1e6).toFixed(2).padStart(7)} GFLOP/s  (${t.reps} per submission)`);
      }
    } finally {
      for (const b of Object.values(buffers)) b.destroy();
    }
  }
  return rows;
}

/** every buffer a layer program binds, filled with seeded data (scratch included) */
function layerBuffers(device: GPUDevice, l: LayerPlan, prog: LayerProgram): Record<string, GPUBuffer> {
  const next = rng(2);
  const sizes: Record<string, number> = { x: numel(l.inShape), y: numel(l.outShape), dy: numel(l.outShape), dx: numel(l.inShape) };
  if (l.weightShape) sizes.weight = sizes.gradWeight = numel(l.weightShape);
  if (l.biasShape) sizes.bias = sizes.gradBias = numel(l.biasShape);
  for (const s of prog.scratch) sizes[s.name] = s.length;
  return Object.fromEntries(Object.entries(sizes).map(([name, n]) => [name, upload(device, randomF32(n, next))]));
}

// ---- F: the training step -------------------------------------------------------------------

interface StepRow {
  readonly impl: string;
  readonly ms: number;
  readonly samplesPerSec: number;
}

type Params = Record<string, { weight?: Float32Array; bias?: Float32Array }>;

async function importFiles(dir: string, files: Record<string, string>, entry: string): Promise<unknown> {
  writeOutputAtomic(dir, files);
  return import(pathToFileURL(path.join(dir, entry)).href);
}

async function benchStep(device: GPUDevice, plan: ModelPlan, budget: Budget, log: (s: string) => void): Promise<StepRow[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'convgen-bench-gpu-'));
  try {
    const gpuMod = (await importFiles(path.join(tmp, 'gpu'), emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl' })), 'gpu.ts')) as {
      createGpuModel(d: GPUDevice, o?: { seed?: number }): Promise<{
        uploadBatch(x: Float32Array, labels?: Int32Array): { destroy(): void };
        trainStep(x: object, labels: Int32Array | undefined, lr: number): Promise<number>;
        readParams(): Promise<Params>;
        destroy(): void;
      }>;
    };
    const tsMod = (await importFiles(path.join(tmp, 'ts'), emitModelTs(plan, lowerModel(plan)), 'index.ts')) as {
      createModel(o?: { seed?: number }): { lossAndGrad(x: Float32Array, labels: Int32Array): number; sgdStep(lr: number): void };
    };
    const next = rng(3);
    const x = randomF32(numel(plan.inShape), next);
    const labels = Int32Array.from({ length: plan.batch }, () => Math.floor(next() * plan.outShape[1]));
    const lr = 0.01;

    const gpu = await gpuMod.createGpuModel(device, { seed: 1 });
    const ts = tsMod.createModel({ seed: 1 });
    // the same seed, the same start: the first losses agree before anything is timed
    const batch = gpu.uploadBatch(x, labels);
    const lg = await gpu.trainStep(batch, undefined, lr);
    const lt = ts.lossAndGrad(x, labels);
    ts.sgdStep(lr);
    if (!(Math.abs(lg - lt) <= 1e-3 * Math.max(1, Math.abs(lt)))) throw new Error(`bench:gpu: F: first loss ${lg} (wgsl) vs ${lt} (ts)`);

    const gpuMs = await timeSteps(() => gpu.trainStep(batch, undefined, lr), budget);
    const tsMs = await timeSteps(() => {
      ts.lossAndGrad(x, labels);
      ts.sgdStep(lr);
    }, budget);
    batch.destroy();
    gpu.destroy();
    const rows = [
      { impl: 'wgsl trainStep (resident batch, loss read back)', ms: gpuMs, samplesPerSec: (plan.batch * 1000) / gpuMs },
      { impl: 'ts lossAndGrad + sgdStep', ms: tsMs, samplesPerSec: (plan.batch * 1000) / tsMs },
    ];
    for (const r of rows) log(`  F ${r.impl.padEnd(48)} ${r.ms.toFixed(2).padStart(9)} ms  ${r.samplesPerSec.toFixed(0).padStart(7)} samples/s`);
    return rows;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- report ----------------------------------------------------------------------------------

function report(adapter: string, software: boolean, layers: OpRow[], configs: LayerConfig[], step: StepRow[] | null, seconds: number): string {
  const out: string[] = ['# convgen WGSL benchmark', ''];
  out.push(`${new Date().toISOString()} · node ${process.version} · adapter: ${adapter} · ${seconds.toFixed(0)} s`, '');
  if (software) {
    out.push(
      '**This adapter is a CPU emulating a GPU (lavapipe).** Its times say nothing about a real GPU: only ratios between rows of this run mean anything, and even those may differ on hardware.',
      '',
    );
  }
  out.push('- each op cross-checked against the float64 reference first (max abs error shown), then timed: median of samples, each sample one submission of many runs');
  out.push('- forward (gather): an invocation per (sample, up to 4 output channels, pixel); forward (tiled): im2row, then a tiled GEMM staging operand tiles in workgroup memory', '');
  if (layers.length) {
    out.push('| config | op | ms | GFLOP/s | dispatches | max abs err | kernels |', '|---|---|---:|---:|---:|---:|---|');
    for (const r of layers) out.push(`| ${r.config} | ${r.op} | ${r.ms.toFixed(3)} | ${r.gflops.toFixed(2)} | ${r.dispatches} | ${r.agreement} | ${r.kernels.join(', ')} |`);
    out.push('', '### tiled / gather forward (time ratio, < 1: tiled faster)', '');
    for (const c of configs) {
      const g = layers.find((r) => r.config === c.id && r.op === 'forward (gather)');
      const t = layers.find((r) => r.config === c.id && r.op === 'forward (tiled)');
      if (g && t) out.push(`- ${c.id} (${describeConfig(c)}): ${(t.ms / g.ms).toFixed(2)}`);
    }
    out.push('');
  }
  if (step) {
    out.push(`### F: ${STEP_CONFIG.example} training step, batch ${STEP_CONFIG.batch}`, '', '| implementation | ms / step | samples/s |', '|---|---:|---:|');
    for (const r of step) out.push(`| ${r.impl} | ${r.ms.toFixed(2)} | ${r.samplesPerSec.toFixed(0)} |`);
    out.push('', `wgsl / ts time: ${(step[0].ms / step[1].ms).toFixed(2)}`, '');
  }
  return out.join('\n');
}

const args = parseBenchArgs(process.argv.slice(2), 'bench:gpu', ALL, 'usage: tsx bench/gpu.ts [--quick] [--only A,B,...] [--out DIR]');
const log = (s: string) => process.stdout.write(s + '\n');
const budget: Budget = args.quick ? { sampleMs: 5, samples: 3, warmup: 3 } : { sampleMs: 100, samples: 7, warmup: 10 };
const t0 = performance.now();
const { device, adapter } = await openNodeDevice('default').catch((e: unknown) => {
  if (!(e instanceof NoWebGpuError)) throw e;
  process.stderr.write(`bench:gpu: ${e.message}\n`);
  process.exit(1);
});
const software = /software|llvmpipe|swiftshader/i.test(adapter);
log(`adapter: ${adapter}${software ? ' (CPU emulation: ratios only)' : ''}`);
const wanted = (id: string) => !args.only || args.only.includes(id);
const configs = LAYER_CONFIGS.filter((c) => wanted(c.id)).map((c) => (args.quick ? quickConfig(c) : c));
const layers: OpRow[] = [];
for (const c of configs) {
  log(`${c.id}: ${describeConfig(c)}`);
  layers.push(...(await benchLayer(device, c, budget, log)));
}
let step: StepRow[] | null = null;
if (wanted(STEP_CONFIG.id)) {
  const spec = loadModelFile(STEP_CONFIG.example);
  const plan = planModel(args.quick ? { ...spec, batch: 2 } : spec);
  log(`F: ${STEP_CONFIG.example}, batch ${plan.batch}`);
  step = await benchStep(device, plan, budget, log);
}
device.destroy();
const text = report(adapter, software, layers, configs, step, (performance.now() - t0) / 1000);
const dir = args.out ?? (args.quick ? '.tmp/bench' : 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'gpu-latest.md'), text + '\n');
log(`\nwrote ${path.join(dir, 'gpu-latest.md')}`);
