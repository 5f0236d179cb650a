// createWasmModel({ threads }): the split kernels' chunks run on worker threads over one shared
// memory, and the results must not depend on the thread count. On the committed LeNet and
// resnet_small modules: several training steps with 1, 2 and 3 threads (3: the chunk counts, 16
// and less, are not all multiples of it) give the same bits in the losses, parameters, gradients,
// batch norm's running stats and the forward outputs; the workers do run chunks (their counters,
// not timing); dispose ends them; an error in a chunk reaches the caller; the shared-memory
// variant of a module is what our encoder and wabt write for a shared import.

import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { CROSS_ORIGIN_ISOLATION, createStaticServer } from '../examples/browser/server.ts';
import { runCaptured } from './helpers/cli.ts';
import { buildCommand } from '../src/cli/build.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import wabtInit from 'wabt';
import * as lenet from '../generated/lenet5/wasm.ts';
import * as resnet from '../generated/resnet_small/wasm.ts';
import * as seed from '../generated/seed_problem/wasm.ts';
import { SPLIT_KERNELS as SEED_SPLIT } from '../generated/seed_problem/wasm/kernels.ts';
import { MODULES as LENET_MODULES } from '../generated/lenet5/wasm/kernels.ts';
import { createHeap } from '../generated/lenet5/wasm/runtime.ts';
import { createPool, sharedImport } from '../generated/lenet5/wasm/threads.ts';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { kernelModule } from '../src/wasm/run.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { printWat } from '../src/wasm/wat-text.ts';
import { lowerKernelWasm } from '../src/wasm/lower.ts';
import { split, splitKernel, splitPlan } from '../src/wasm/split.ts';
import { buf, eq, f32, i32, if_, kernel, loop, parallel, store, v } from '../src/ir/build.ts';
import type { Kernel } from '../src/ir/types.ts';

type WasmModule = typeof lenet | typeof resnet;
type Model = ReturnType<WasmModule['createWasmModel']>;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const bits = (a: Float32Array | BigInt64Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4));

/** every array a run leaves behind, named */
type Snapshot = Map<string, number[]>;

async function train(mod: WasmModule, threads: number, optimizer: 'sgd' | 'adam', steps: number): Promise<{ snap: Snapshot; model: Model }> {
  const r = rng(5);
  const plan = mod.plan;
  const x = Float32Array.from({ length: numel(plan.inShape) }, () => r() * 2 - 1);
  const classes = plan.outShape[plan.outShape.length - 1]!;
  const labels = Int32Array.from({ length: plan.batch }, () => Math.floor(r() * classes));
  const model = await mod.createWasmModelAsync({ seed: 7, threads });
  const snap: Snapshot = new Map();
  for (let s = 0; s < steps; s++) {
    snap.set(`loss ${s}`, bits(new Float32Array([model.lossAndGrad(x, labels)])));
    if (optimizer === 'sgd') model.sgdStep(0.05, { momentum: 0.9 });
    else model.adamStep(1e-3);
  }
  const tensors = (what: string, o: Record<string, Record<string, Float32Array | BigInt64Array>>) => {
    for (const [layer, ts] of Object.entries(o)) for (const [name, a] of Object.entries(ts)) snap.set(`${what} ${layer}.${name}`, bits(a));
  };
  tensors('param', model.params as unknown as Record<string, Record<string, Float32Array>>);
  tensors('grad', model.grads as unknown as Record<string, Record<string, Float32Array>>);
  tensors('buffer', model.buffers as unknown as Record<string, Record<string, Float32Array | BigInt64Array>>);
  snap.set('forward (training)', bits(model.forward(x)));
  snap.set('forward (eval)', bits(model.eval().forward(x)));
  return { snap, model };
}

const models: [string, WasmModule, 'sgd' | 'adam'][] = [
  ['lenet5', lenet, 'sgd'],
  ['resnet_small', resnet, 'adam'],
];

describe('the same bits for 1, 2 and 3 threads', () => {
  for (const [name, mod, optimizer] of models) {
    it(`${name}: 3 training steps (${optimizer}), then forward in both modes`, async () => {
      const one = await train(mod, 1, optimizer, 3);
      expect(one.model.threads).toBe(1);
      expect(one.snap.size).toBeGreaterThan(10);
      for (const threads of [2, 3]) {
        const many = await train(mod, threads, optimizer, 3);
        try {
          expect(many.model.threads).toBe(threads);
          for (const [key, want] of one.snap) expect(many.snap.get(key), `${key} with ${threads} threads`).toEqual(want);
          // the workers took part (a counter per thread, not a timing)
          const counts = many.model.chunksRun();
          expect(counts).toHaveLength(threads);
          for (let t = 1; t < threads; t++) expect(counts[t], `chunks run by worker ${t}`).toBeGreaterThan(0);
        } finally {
          many.model.dispose();
        }
      }
    }, 120_000);
  }
});

describe('the pool', () => {
  it('refuses a thread count out of range', () => {
    expect(() => lenet.createWasmModel({ threads: 0 })).toThrow(/options\.threads must be an integer from 1 to 64, got 0/);
    expect(() => lenet.createWasmModel({ threads: 1.5 })).toThrow(RangeError);
  });

  // the seed problem's kernels are all too small to cut: threads: 2 starts no worker and says so
  it('a model with no cut kernel runs on the calling thread alone, whatever threads says', async () => {
    expect(SEED_SPLIT).toEqual([]);
    const model = await seed.createWasmModelAsync({ seed: 1, threads: 2 });
    const one = seed.createWasmModel({ seed: 1 });
    expect(model.threads).toBe(1);
    expect(model.chunksRun()).toEqual([]);
    const x = Float32Array.from({ length: numel(seed.plan.inShape) }, (_, i) => Math.sin(i));
    expect(Array.from(model.forward(x))).toEqual(Array.from(one.forward(x)));
    model.dispose();
  });

  it('dispose ends the workers; the model goes on, on the calling thread alone', async () => {
    const model = await lenet.createWasmModelAsync({ seed: 1, threads: 2 });
    const x = new Float32Array(numel(lenet.plan.inShape)).fill(0.5);
    const before = Array.from(model.forward(x));
    // a loaded machine may wake the worker late for one forward's jobs: a few more until it has run some
    for (let i = 0; i < 100 && model.chunksRun()[1] === 0; i++) model.forward(x);
    const ran = model.chunksRun();
    expect(ran[1]).toBeGreaterThan(0);
    model.dispose();
    model.dispose();
    expect(Array.from(model.forward(x))).toEqual(before);
    expect(model.chunksRun()).toEqual(ran);
  });

  // dispose before the workers are ready settles `ready` (they never will be): it once stayed pending
  it('dispose before the workers start resolves ready', async () => {
    const model = lenet.createWasmModel({ seed: 1, threads: 3 });
    model.dispose();
    const settled = await Promise.race([model.ready.then(() => 'resolved'), new Promise((r) => setTimeout(() => r('pending'), 5000))]);
    expect(settled).toBe('resolved');
    const x = new Float32Array(numel(lenet.plan.inShape)).fill(0.5);
    expect(model.forward(x).every(Number.isFinite)).toBe(true);
  });

  // the workers are unref'd: a process that never calls dispose still exits
  it('a process with a threaded model exits on its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-threads-'));
    try {
      const script = join(dir, 'run.mts');
      const wasmTs = resolve('generated/lenet5/wasm.ts');
      writeFileSync(script, `import { createWasmModelAsync } from ${JSON.stringify(wasmTs)};\nconst m = await createWasmModelAsync({ threads: 2 });\nm.forward(new Float32Array(${numel(lenet.plan.inShape)}));\nconsole.log('chunks', m.chunksRun().join(' '));\n`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^chunks \d+ \d+\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  // a chunk that traps: its error is rethrown by the caller once the job is over, naming the
  // kernel, the chunk and the thread; the pool goes on working
  it('an error in a chunk reaches the caller, from a worker too', async () => {
    // chunk 7 of 8 stores out of bounds; every chunk first spins a while, so the worker gets some
    const k: Kernel = kernel({
      name: 'trap_on_last',
      doc: [],
      buffers: [buf('y', 64, 'read_write')],
      body: [parallel('i', 0, 64, (i) => [loop('j', 0, 100000, () => [store('y', i, f32(1))]), if_(eq(i, 63), [store('y', 1 << 28, f32(2))])])],
    });
    const lowered = lowerKernelWasm(k);
    const cut = splitKernel(lowered, { phases: [{ loop: 'i', from: 0, to: 64, chunks: 8, work: 0 }], work: 0 });
    const bytes = encodeModule(kernelModule([cut]));
    const base64 = Buffer.from(bytes).toString('base64');
    const heap = createHeap(256, 0, true);
    const pool = createPool(heap, 2, { trap: [base64, []] }, [['trap', 'trap_on_last', [[0, 64, 8]]]]);
    await pool.ready;
    const own = new WebAssembly.Instance(new WebAssembly.Module(sharedImport(bytes)), { env: { memory: heap.memory }, math: { exp: Math.exp, log: Math.log } }).exports as Record<string, (...a: number[]) => void>;
    const places = new Set<string>();
    try {
      for (let attempt = 0; attempt < 20 && !places.has('worker 1'); attempt++) {
        let error: unknown = null;
        try {
          pool.run(0, own.trap_on_last!, [0], 0, 64, 8);
        } catch (e) {
          error = e;
        }
        expect(String(error)).toMatch(/^Error: wasm threads: trap_on_last chunk 7 of 8 failed on (the calling thread|worker 1): .*out of bounds/);
        places.add(/failed on (the calling thread|worker 1)/.exec(String(error))![1]!);
      }
      expect(places.has('worker 1')).toBe(true);
      // the pool still runs jobs: chunks 0..6 alone (iterations [0, 56))
      expect(() => pool.run(0, own.trap_on_last!, [0], 0, 56, 7)).not.toThrow();
    } finally {
      pool.dispose();
    }
  }, 60_000);
});

describe('the split pass', () => {
  const lenetProgram = lowerModel(planModel(loadModelFile('examples/lenet.json')), { target: 'wasm' });
  const resnetProgram = lowerModel(planModel(loadModelFile('examples/resnet.json')), { target: 'wasm' });
  const all = (p: typeof lenetProgram) => new Map(p.layers.flatMap((l) => [...l.forward, ...l.backward]).map((c) => [c.kernel.name, lowerKernelWasm(c.kernel)]));
  const lenetKernels = all(lenetProgram);
  const resnetKernels = all(resnetProgram);

  const phases = (k: Kernel) => splitPlan(k)?.phases.map((p) => (p.loop ? `${p.loop}[${p.from},${p.to}) x${p.chunks}` : 'whole'));

  it('cuts the batch loop of the convs and the element loop of the optimizers', () => {
    expect(phases(lenetKernels.get('conv5x5_6x14x14_to_16_fwd_direct')!)).toEqual(['n[0,32) x16']);
    expect(phases(lowerKernelWasm(lenetProgram.optimizers!.sgdMomentum))).toEqual(['i[0,61706) x16']);
    // the phase-split grad-input: four loops over n in one phase, each chunk runs its images' phases in order
    expect(phases(resnetKernels.get('conv3x3_s2_p1_16x14x14_to_32_dx_direct')!)).toEqual(['n[0,32) x16']);
  });

  it('runs loops that read what an earlier one wrote as later phases', () => {
    // the GEMM's main loop, then its remainder block (f6's packed forward: 10 column panels of
    // 8, then the last 4 columns, over the batch's row blocks). out's dW, the example before, now
    // runs whole: its 4x8 blocks leave a corner block (rows 8-9 x columns 80-83) of straight-line
    // code at the top level, which phaseLoops does not cut around
    expect(phases(lenetKernels.get('linear_120_to_84_fwd')!)).toEqual(['nb[0,10) x10', 'mb[0,8) x3']);
    // batch norm: partial sums per channel, each channel's total (too little work: whole), ..., then the normalization per image
    expect(phases(resnetKernels.get('bn2d_16x14x14_fwd_train')!)).toEqual(['c[0,16) x16', 'whole', 'c[0,16) x16', 'whole', 'n[0,32) x16']);
  });

  it('leaves whole what it cannot cut', () => {
    // accumulators at the top (the TS schedule's grad-weight reduction), the loss
    const tsKernels = all(lowerModel(planModel(loadModelFile('examples/lenet.json')), { target: 'ts' }));
    expect(splitPlan(tsKernels.get('conv5x5_p2_1x28x28_to_6_dw_direct')!)).toBeNull();
    expect(splitPlan(lowerKernelWasm(lenetProgram.loss!))).toBeNull();
    // too little work to wake a thread for
    expect(splitPlan(lenetKernels.get('relu_120_fwd')!)).toBeNull();
  });

  it('refuses a loop its stores are not indexed by', () => {
    const k = (index: (i: ReturnType<typeof v>) => ReturnType<typeof v>): Kernel =>
      lowerKernelWasm(kernel({ name: 'k', doc: [], buffers: [buf('y', 1 << 20, 'read_write')], body: [parallel('i', 0, 1 << 20, (i) => [store('y', index(i), f32(1))])] }));
    expect(splitPlan(k((i) => i))).not.toBeNull();
    expect(splitPlan(k(() => i32(3) as ReturnType<typeof v>))).toBeNull();
  });

  it('convgen build --dump threads prints the cut of every kernel as a table', async () => {
    const r = await runCaptured(buildCommand, ['examples/lenet.json', '--dump', 'threads']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('model lenet5: the wasm kernels cut into chunks for createWasmModel({ threads }) (src/wasm/split.ts)');
    expect(lines[2]).toMatch(/^\| kernel +\| phase \| loop \| range +\| chunks \| M IR nodes \|$/);
    const row = (name: string) => lines.findIndex((l) => l.startsWith(`| ${name} `));
    expect(lines[row('conv5x5_6x14x14_to_16_fwd_direct')]).toMatch(/\| +- \| n +\| \[0, 32\) +\| +16 \| +42\.98 \|$/);
    // the packed grad-weight: one iteration per kernel row (c1's 6 channels are one block, of
    // one input channel); c3's 5 rows x 3 runs of its 6 input channels
    expect(lines[row('conv5x5_p2_1x28x28_to_6_dw_packed')]).toMatch(/\| +- \| qr +\| \[0, 5\) +\| +5 \| +\d+\.\d\d \|$/);
    expect(lines[row('conv5x5_6x14x14_to_16_dw_packed')]).toMatch(/\| +- \| q +\| \[0, 15\) +\| +15 \| +\d+\.\d\d \|$/);
    // a phased kernel: one row per phase
    const gemm = row('linear_120_to_84_fwd');
    expect(lines[gemm]).toMatch(/\| +0 \| nb +\| \[0, 10\) +\| +10 \|/);
    expect(lines[gemm + 1]).toMatch(/^\| +\| +1 \| mb +\| \[0, 8\) +\| +3 \|/);
  });

  it('splits a kernel into its range parameters, unchanged when it is not cut', () => {
    const kernelIn = lenetKernels.get('relu_6x28x28_fwd')!;
    const r = split(kernelIn);
    expect(r.kernel.scalars.map((s) => s.name)).toEqual(['chunk_lo', 'chunk_hi']);
    expect(r.kernel.doc.at(-1)).toMatch(/^threads: loop i \[0, 150528\) cut into 16 chunks/);
    const whole = lenetKernels.get('relu_120_fwd')!;
    expect(split(whole)).toEqual({ kernel: whole, split: null });
  });
});

describe('the shared memory import', () => {
  type Wabt = Awaited<ReturnType<typeof wabtInit>>;
  let wabt: Wabt;
  beforeAll(async () => {
    wabt = await wabtInit();
  });

  // sharedImport rewrites the committed bytes; our encoder writes the same with sharedMemory, and wabt (threads on) assembles the printed text to them
  it('sharedImport = the encoder with sharedMemory = wabt on the printed text', () => {
    const k = lenetSourceKernels();
    const def = { ...kernelModule(k.slice(0, 3).map((c) => split(lowerKernelWasm(c)).kernel)), sharedMemory: true };
    const shared = encodeModule(def);
    expect(Array.from(sharedImport(encodeModule({ ...def, sharedMemory: false })))).toEqual(Array.from(shared));
    const text = printWat(def);
    expect(text).toContain('(import "env" "memory" (memory 0 65536 shared))');
    const mod = wabt.parseWat('shared.wat', text, { simd: true, threads: true });
    try {
      // wabt.js validates with the features given here (its .d.ts leaves the argument out)
      (mod as unknown as { validate(features: object): void }).validate({ simd: true, threads: true });
      expect(Array.from(mod.toBinary({}).buffer)).toEqual(Array.from(shared));
    } finally {
      mod.destroy();
    }
  });

  it('every committed LeNet module compiles as its shared variant', () => {
    for (const [name, [base64]] of Object.entries(LENET_MODULES)) {
      const bytes = sharedImport(new Uint8Array(Buffer.from(base64, 'base64')));
      expect(WebAssembly.validate(bytes), name).toBe(true);
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      expect(() => new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, math: { exp: Math.exp, log: Math.log } }), name).not.toThrow();
    }
  });
});

function lenetSourceKernels(): Kernel[] {
  const p = lowerModel(planModel(loadModelFile('examples/lenet.json')), { target: 'wasm' });
  return p.layers.flatMap((l) => [...l.forward, ...l.backward]).map((c) => c.kernel);
}

// browsers give SharedArrayBuffer (a shared memory, threads) only to cross-origin isolated pages
describe('the browser example is cross-origin isolated', () => {
  it('serve.ts sends COOP same-origin and COEP require-corp', async () => {
    expect(readFileSync('examples/browser/serve.ts', 'utf8')).toMatch(/createStaticServer\([\s\S]*CROSS_ORIGIN_ISOLATION,\s*\)/);
    const dir = mkdtempSync(join(tmpdir(), 'convgen-coi-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    const server = createStaticServer([{ prefix: '/', dir }], CROSS_ORIGIN_ISOLATION);
    try {
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
