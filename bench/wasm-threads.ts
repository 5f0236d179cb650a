// createWasmModel({ threads }) against one thread, in one run (issue 13: 2 threads >= 1.7x one
// on a quiet machine): LeNet's training step and resnet_small's (lossAndGrad + sgdStep, the
// committed modules), and config C's conv (bench/configs.ts: forward + backward, a model of
// that one layer built here). The models of each thread count are made up front and timed in
// alternating rounds, so a change of load hits both; the load average is printed beside them.
//
//   npx tsx bench/wasm-threads.ts [--threads 2] [--rounds 7] [--ms 400]

import { loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LAYER_CONFIGS, configModelJson, describeConfig } from './configs.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { emitModel } from '../src/emit/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { accum, buf, f32, kernel, loop, mul, parallel, store, v, var_ } from '../src/ir/build.ts';
import { lowerKernelWasm } from '../src/wasm/lower.ts';
import { splitKernel } from '../src/wasm/split.ts';
import { kernelModule } from '../src/wasm/run.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { createHeap, instantiate } from '../generated/lenet5/wasm/runtime.ts';
import { createPool } from '../generated/lenet5/wasm/threads.ts';
import * as lenet from '../generated/lenet5/wasm.ts';
import * as resnet from '../generated/resnet_small/wasm.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
};
const THREADS = arg('--threads', 2);
const ROUNDS = arg('--rounds', 7);
const MS = arg('--ms', 400);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** what is timed of a wasm model module (each module has its own types) */
interface Model {
  forward(x: Float32Array): Float32Array;
  backward(dOut: Float32Array): Float32Array;
  lossAndGrad(x: Float32Array, labels: Int32Array): number;
  sgdStep(lr: number, options?: { momentum?: number }): void;
  dispose(): void;
}

interface Wasm {
  createWasmModelAsync(o: { seed?: number; threads?: number }): Promise<Model>;
  plan: { inShape: readonly number[]; outShape: readonly number[]; batch: number };
}

/** one call of the thing timed, on a model */
type Work = (m: Model) => () => void;

const trainStep: (mod: Wasm) => Work = (mod) => (m) => {
  const x = Float32Array.from({ length: numel(mod.plan.inShape) }, (_, i) => Math.sin(i));
  const classes = mod.plan.outShape[mod.plan.outShape.length - 1]!;
  const labels = Int32Array.from({ length: mod.plan.batch }, (_, i) => i % classes);
  return () => {
    m.lossAndGrad(x, labels);
    m.sgdStep(0.01, { momentum: 0.9 });
  };
};

const forwardBackward: (mod: Wasm) => Work = (mod) => (m) => {
  const x = Float32Array.from({ length: numel(mod.plan.inShape) }, (_, i) => Math.sin(i));
  const dOut = Float32Array.from({ length: numel(mod.plan.outShape) }, (_, i) => Math.cos(i));
  return () => {
    m.forward(x);
    m.backward(dOut);
  };
};

/** median ms per call for each thread count, rounds alternating between them */
async function compare(name: string, mod: Wasm, work: Work): Promise<void> {
  const counts = [1, THREADS];
  const models = await Promise.all(counts.map((threads) => mod.createWasmModelAsync({ seed: 1, threads })));
  const calls = models.map((m) => work(m));
  for (const c of calls) for (let i = 0; i < 20; i++) c(); // past the first steps' compile tiers
  const samples: number[][] = counts.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    calls.forEach((c, i) => {
      const end = performance.now() + MS;
      while (performance.now() < end) {
        const t = performance.now();
        c();
        samples[i]!.push(performance.now() - t);
      }
    });
  }
  const [one, many] = samples.map(median) as [number, number];
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`| ${name} | ${one.toFixed(2)} | ${many.toFixed(2)} | ${(one / many).toFixed(2)}x | ${load} |`);
  for (const m of models) m.dispose();
}

/**
 * the machine's own speed-up at the moment, for scale: a kernel of arithmetic alone (no memory
 * traffic, 16 equal chunks) on the same pool, against one call on one thread
 */
async function calibrate(): Promise<void> {
  const k = kernel({
    name: 'spin',
    buffers: [buf('y', 16, 'write')],
    body: [parallel('i', 0, 16, (i) => [var_('acc', f32(0)), loop('j', 0, 400000, () => [accum('acc', mul(v('acc'), f32(0.5)))]), store('y', i, v('acc'))])],
  });
  const cut = splitKernel(lowerKernelWasm(k), { phases: [{ loop: 'i', from: 0, to: 16, chunks: 16, work: 0 }], work: 0 });
  const base64 = Buffer.from(encodeModule(kernelModule([cut]))).toString('base64');
  const single = instantiate('spin', base64, createHeap(64, 0)).spin!;
  const heap = createHeap(64, 0, true);
  const pool = createPool(heap, THREADS, { spin: [base64, []] }, [['spin', 'spin', [[0, 16, 16]]]]);
  await pool.ready;
  const own = instantiate('spin', base64, heap).spin!;
  const calls = [() => single(0, 0, 16), () => pool.run(0, own, [0], 0, 16, 16)];
  const samples: number[][] = [[], []];
  for (let r = 0; r < ROUNDS; r++) {
    calls.forEach((c, i) => {
      const end = performance.now() + MS / 2;
      while (performance.now() < end) {
        const t = performance.now();
        c();
        samples[i]!.push(performance.now() - t);
      }
    });
  }
  pool.dispose();
  const [one, many] = samples.map(median) as [number, number];
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`| calibration: arithmetic only, 16 chunks | ${one.toFixed(2)} | ${many.toFixed(2)} | ${(one / many).toFixed(2)}x | ${load} |`);
}

const configC = LAYER_CONFIGS.find((c) => c.id === 'C')!;
const dir = mkdtempSync(join(tmpdir(), 'convgen-bench-threads-'));
try {
  const plan = planModel(parseModel(configModelJson(configC)));
  writeOutputAtomic(join(dir, plan.name), await emitModel(plan, { target: 'wasm' }));
  const convC = (await import(pathToFileURL(join(dir, plan.name, 'wasm.ts')).href)) as Wasm;
  console.log(`wasm threads: ${THREADS} against 1, median ms per call, ${ROUNDS} alternating rounds of ${MS} ms (Node ${process.version})`);
  console.log('');
  console.log(`| what | 1 thread ms | ${THREADS} threads ms | speed-up | load average (1 5 15 min) |`);
  console.log('|---|---:|---:|---:|---|');
  await calibrate();
  await compare('LeNet training step (lossAndGrad + sgdStep, batch 32)', lenet, trainStep(lenet));
  await compare('resnet_small training step (lossAndGrad + sgdStep, batch 32)', resnet, trainStep(resnet));
  await compare(`config C forward + backward (${describeConfig(configC)})`, convC, forwardBackward(convC));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
