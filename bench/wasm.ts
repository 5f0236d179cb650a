// The wasm target against the TS target, ratios within one run (same process, same load):
//   - one conv config (issue 5's B by default): the layer's forward calls and backward calls,
//     each target's kernels on the same buffers (TS: the generated functions, compiled as
//     the checker compiles them; wasm: one module over one memory);
//   - LeNet's training step (lossAndGrad + sgdStep) through the committed generated modules,
//     generated/lenet5/index.ts (createModel) and wasm.ts (createWasmModel): the first step
//     (compile and warm-up included) and the median of steady steps.
// Run: npx tsx bench/wasm.ts [--config A..E[,B..]] [--steps N] [--no-step]. Prints the load average
// beside it. With relaxed SIMD (node --experimental-wasm-relaxed-simd --import tsx bench/wasm.ts
// on Node 20) each conv pass gets relaxed_madd columns and the calibration GEMM a relaxed line.

import { loadavg } from 'node:os';
import { LAYER_CONFIGS, describeConfig, planConfig } from './configs.ts';
import { lowerLayer } from '../src/kernels/index.ts';
import type { KernelCall } from '../src/kernels/types.ts';
import { compileKernelTs } from '../src/render/ts.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { instantiate, kernelModule } from '../src/wasm/run.ts';
import { hasRelaxedSimd } from '../src/wasm/relax.ts';
import { wasmCalibrationTask } from './wasm-gemm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createModel } from '../generated/lenet5/index.ts';
import { createWasmModel } from '../generated/lenet5/wasm.ts';
import { RELAXED_SIMD, useRelaxedSimd } from '../generated/lenet5/wasm/runtime.ts';
import { plan as planApi } from '../src/api.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { emitWasmFiles } from '../src/emit/wasm.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(fn: () => void, minMs = 300): number {
  fn();
  const samples: number[] = [];
  const end = performance.now() + minMs;
  while (performance.now() < end || samples.length < 5) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

function convBench(id: string): void {
  const cfg = LAYER_CONFIGS.find((c) => c.id === id) ?? LAYER_CONFIGS[1]!;
  const { layer } = planConfig(cfg, 'auto');
  const prog = lowerLayer(layer, { target: process.argv.includes('--ts-schedule') ? 'ts' : 'wasm' });
  const calls = [...prog.forward, ...prog.backward];
  // one buffer per bound name, as long as its longest use
  const lengths = new Map<string, { n: number; t: 'f32' | 'i32' }>();
  for (const c of calls) for (const b of c.kernel.buffers) lengths.set(c.args[b.name]!, { n: Math.max(b.length, lengths.get(c.args[b.name]!)?.n ?? 0), t: b.t });
  const host = new Map([...lengths].map(([name, { n, t }]) => [name, t === 'f32' ? Float32Array.from({ length: n }, (_, i) => Math.sin(i)) : new Int32Array(n)]));
  const offsets = new Map<string, number>();
  let at = 0;
  for (const [name, a] of host) {
    offsets.set(name, at);
    at += Math.ceil(a.byteLength / 16) * 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
  const simd = instantiate(encodeModule(kernelModule(calls.map((c) => c.kernel), [], { simd: true })), memory);
  const scalar = instantiate(encodeModule(kernelModule(calls.map((c) => c.kernel), [], { simd: false })), memory);
  // relaxed SIMD (f32x4.relaxed_madd), where this engine validates it (Node 20: --experimental-wasm-relaxed-simd)
  const relaxed = hasRelaxedSimd() ? instantiate(encodeModule(kernelModule(calls.map((c) => c.kernel), [], { simd: true, fma: true })), memory) : null;
  const tsRun = (cs: readonly KernelCall[]) => {
    const fns = cs.map((c) => ({ f: compileKernelTs(c.kernel), args: c.kernel.buffers.map((b) => host.get(c.args[b.name]!)!) }));
    return () => {
      for (const { f, args } of fns) f(...args);
    };
  };
  const wasmRun = (cs: readonly KernelCall[], exports: typeof simd) => {
    const fns = cs.map((c) => ({ f: exports[c.kernel.name]!, args: c.kernel.buffers.map((b) => offsets.get(c.args[b.name]!)!) }));
    return () => {
      for (const { f, args } of fns) f(...args);
    };
  };
  const flops = layer.flops;
  console.log(`conv config ${cfg.id}: ${describeConfig(cfg)}, strategy ${layer.schedule.forward}/${layer.schedule.gradInput}/${layer.schedule.gradWeight}`);
  const fmaHead = relaxed ? ' relaxed ms | relaxed GFLOP/s | relaxed / SIMD speed |' : '';
  console.log(`| pass | TS ms | wasm scalar ms | wasm SIMD ms | SIMD GFLOP/s | scalar / TS speed | SIMD / TS speed |${fmaHead}`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|${relaxed ? '---:|---:|---:|' : ''}`);
  for (const [pass, cs, f] of [['forward', prog.forward, flops.forward], ['backward (dx + dW + db)', prog.backward, flops.gradInput + flops.gradWeight]] as const) {
    const t = time(tsRun(cs));
    const w0 = time(wasmRun(cs, scalar));
    const w = time(wasmRun(cs, simd));
    // relaxed and mul + add alternate, so load that drifts hits both alike
    const wf = relaxed ? time(wasmRun(cs, relaxed)) : 0;
    const w2 = relaxed ? time(wasmRun(cs, simd)) : w;
    const fma = relaxed ? ` ${wf.toFixed(2)} | ${(f / wf / 1e6).toFixed(2)} | ${(Math.min(w, w2) / wf).toFixed(2)}x |` : '';
    console.log(`| ${pass} | ${t.toFixed(2)} | ${w0.toFixed(2)} | ${Math.min(w, w2).toFixed(2)} | ${(f / Math.min(w, w2) / 1e6).toFixed(2)} | ${(t / w0).toFixed(2)}x | ${(t / Math.min(w, w2)).toFixed(2)}x |${fma}`);
  }
}

/** the WASM-SIMD calibration GEMM (bench/wasm-gemm.ts, 4x16 tile), mul + add and relaxed_madd */
async function gemmBench(): Promise<void> {
  if (!hasRelaxedSimd()) return;
  const plain = await wasmCalibrationTask(false);
  const fma = await wasmCalibrationTask(false, true);
  const rounds: [number, number][] = [];
  for (let r = 0; r < 3; r++) rounds.push([time(plain.fn), time(fma.fn)]);
  const t = Math.min(...rounds.map((x) => x[0]));
  const tf = Math.min(...rounds.map((x) => x[1]));
  console.log(`\ncalibration GEMM ${plain.n}^3 x8 (4x16 f32x4 tile): mul + add ${(plain.flops / t / 1e6).toFixed(1)} GFLOP/s, relaxed_madd ${(fma.flops / tf / 1e6).toFixed(1)} GFLOP/s, relaxed / mul + add ${(t / tf).toFixed(2)}x`);
}

async function stepBench(steps: number): Promise<void> {
  // the scalar wasm module of the same model (the committed one is SIMD), written to a temp folder
  const lenet = planApi('examples/lenet.json');
  const dir = mkdtempSync(join(tmpdir(), 'convgen-bench-wasm-'));
  writeOutputAtomic(join(dir, 'lenet5'), emitWasmFiles(lenet, lowerModel(lenet, { target: 'wasm' }), { simd: false }));
  const scalarMod = (await import(pathToFileURL(join(dir, 'lenet5', 'wasm.ts')).href)) as { createWasmModel: typeof createWasmModel };
  const x = Float32Array.from({ length: 32 * 784 }, (_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: 32 }, (_, i) => i % 10);
  const row = (name: string, make: () => { lossAndGrad(x: Float32Array, l: Int32Array): number; sgdStep(lr: number): void }) => {
    const t0 = performance.now();
    const m = make();
    m.lossAndGrad(x, labels);
    m.sgdStep(0.01);
    const first = performance.now() - t0;
    const samples: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      m.lossAndGrad(x, labels);
      m.sgdStep(0.01);
      samples.push(performance.now() - t);
    }
    return { name, first, steady: median(samples) };
  };
  const ts = row('TS (index.ts)', () => createModel({ seed: 1 }));
  const wasmScalar = row('wasm scalar', () => scalarMod.createWasmModel({ seed: 1 }));
  const wasm = row(`wasm SIMD (wasm.ts${RELAXED_SIMD ? ', relaxed_madd' : ''})`, () => createWasmModel({ seed: 1 }));
  // with relaxed SIMD the committed module runs relaxed_madd: its mul + add variant beside it
  const rows = [ts, wasmScalar, wasm];
  if (RELAXED_SIMD) {
    useRelaxedSimd(false);
    rows.push(row('wasm SIMD (wasm.ts, mul + add)', () => createWasmModel({ seed: 1 })));
    useRelaxedSimd(true);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`\nLeNet-5 training step (batch 32, lossAndGrad + sgdStep), ${steps} steady steps`);
  console.log('| target | first step ms | steady step ms (median) | first / steady | speed vs TS |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.first.toFixed(1)} | ${r.steady.toFixed(2)} | ${(r.first / r.steady).toFixed(1)}x | ${(ts.steady / r.steady).toFixed(2)}x |`);
}

console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
for (const id of arg('--config', 'B').split(',')) convBench(id);
await gemmBench();
if (!process.argv.includes('--no-step')) await stepBench(Number(arg('--steps', '30')));
