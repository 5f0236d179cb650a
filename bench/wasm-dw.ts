// The wasm target's grad-weight kernels, per kernel, against the WASM-SIMD calibration GEMM
// (bench/wasm-gemm.ts), ratios within one run: for each config, the wasm schedule's pick (the
// packed reduction, kernels/conv-dw-packed.ts) beside the schedule without it (`dwPacked:
// false`: im2row + GEMM, or the TS reduction), both on the same buffers, interleaved with the
// calibration so load that drifts hits every row alike. Each row is the median of samples
// taken over several rounds; `% GEMM` divides its GFLOP/s by the calibration's of the run.
// Run: npx tsx bench/wasm-dw.ts [--config A,B,C,D,E] [--rounds 4] [--block 16,4,1] [--step]
// (--block forces the packed block, to compare tiles; --step: LeNet's training step instead,
// the TS target's index.ts beside wasm.ts built with and without the packed grad-weight,
// interleaved). Prints the load average beside it.

import { loadavg } from 'node:os';
import { LAYER_CONFIGS, describeConfig, planConfig } from './configs.ts';
import { lowerLayer } from '../src/kernels/index.ts';
import type { KernelCall } from '../src/kernels/types.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { instantiate, kernelModule } from '../src/wasm/run.ts';
import { scheduleConv, type ScheduleOverrides } from '../src/plan/schedule.ts';
import { scheduleModel } from '../src/plan/schedule.ts';
import { wasmCalibrationTask } from './wasm-gemm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { plan as planApi } from '../src/api.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { emitWasmFiles } from '../src/emit/wasm.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { createModel } from '../generated/lenet5/index.ts';
import { arg, median, samples } from './quick.ts';

const rounds = Number(arg('--rounds', '4'));

/** LeNet's step (lossAndGrad + sgdStep, batch 32): index.ts, and wasm.ts with and without the packed grad-weight */
async function stepBench(): Promise<void> {
  const lenet = planApi('examples/lenet.json');
  const dir = mkdtempSync(join(tmpdir(), 'convgen-bench-dw-'));
  type Step = { lossAndGrad(x: Float32Array, l: Int32Array): number; sgdStep(lr: number): void };
  const build = async (name: string, dwPacked: boolean) => {
    const program = lowerModel(lenet, { target: 'wasm', schedule: scheduleModel(lenet, 'wasm', { dwPacked }) });
    writeOutputAtomic(join(dir, name), emitWasmFiles(lenet, program));
    return ((await import(pathToFileURL(join(dir, name, 'wasm.ts')).href)) as { createWasmModel: (o: { seed: number }) => Step }).createWasmModel({ seed: 1 });
  };
  const rows: { name: string; m: Step; t: number[] }[] = [
    { name: 'TS (index.ts)', m: createModel({ seed: 1 }), t: [] },
    { name: 'wasm, packed grad-weight', m: await build('packed', true), t: [] },
    { name: 'wasm, without', m: await build('without', false), t: [] },
  ];
  const x = Float32Array.from({ length: 32 * 784 }, (_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: 32 }, (_, i) => i % 10);
  for (let r = 0; r < rounds; r++) {
    for (const row of rows) {
      row.t.push(
        ...samples(() => {
          row.m.lossAndGrad(x, labels);
          row.m.sgdStep(0.01);
        }, r === 0 ? 3000 : 1000),
      );
    }
  }
  rmSync(dir, { recursive: true, force: true });
  // the first round is warm-up (V8 optimizes the TS kernels over the first steps)
  const steady = (t: number[]) => median(t.slice(Math.floor(t.length / 3)));
  const ts = steady(rows[0]!.t);
  console.log('| LeNet step | median ms | speed vs TS |');
  console.log('|---|---:|---:|');
  for (const row of rows) console.log(`| ${row.name} | ${steady(row.t).toFixed(2)} | ${(ts / steady(row.t)).toFixed(2)}x |`);
}
if (process.argv.includes('--step')) {
  console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  await stepBench();
  process.exit(0);
}
const forced = process.argv.includes('--block') ? arg('--block', '16,4,1').split(',').map(Number) : null;
const gemm = await wasmCalibrationTask(false);
console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
console.log('| config | grad-weight | kernels (min ms each) | ms (median) | GFLOP/s | % WASM GEMM | min ms | % WASM GEMM (min / min) |');
console.log('|---|---|---|---:|---:|---:|---:|---:|');

for (const id of arg('--config', 'A,B,C,D,E').split(',')) {
  const cfg = LAYER_CONFIGS.find((c) => c.id === id)!;
  const { model, layer } = planConfig(cfg, 'auto');
  const variants: { name: string; o: ScheduleOverrides }[] = [
    { name: 'packed', o: {} },
    { name: 'without packed', o: { dwPacked: false } },
  ];
  const progs = variants.map((vr) => {
    let s = scheduleConv(layer, 'wasm', vr.o);
    if (forced && vr.name === 'packed') s = { ...s, kernels: s.kernels.map((k) => (k.role === 'gradWeight' && k.dyPacked ? { ...k, block: forced } : k)) };
    const prog = lowerLayer(layer, { target: 'wasm', schedule: { model: model.name, target: 'wasm', layers: [s] } });
    // the grad-weight calls: the backward calls before grad-bias and grad-input (named _dw_)
    return { ...vr, calls: prog.backward.filter((c) => /_dw(_|$)/.test(c.kernel.name)), block: s.kernels.find((k) => k.role === 'gradWeight')!.block };
  });
  const all: KernelCall[] = progs.flatMap((p) => p.calls);
  const lengths = new Map<string, number>();
  for (const c of all) for (const b of c.kernel.buffers) lengths.set(c.args[b.name]!, Math.max(b.length, lengths.get(c.args[b.name]!) ?? 0));
  const offsets = new Map<string, number>();
  let at = 0;
  for (const [name, n] of lengths) {
    offsets.set(name, at);
    at += Math.ceil((n * 4) / 16) * 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
  const heap = new Float32Array(memory.buffer);
  for (const [name, n] of lengths) {
    const o = offsets.get(name)! / 4;
    for (let i = 0; i < n; i++) heap[o + i] = Math.sin(i + name.length);
  }
  const exports = instantiate(encodeModule(kernelModule(all.map((c) => c.kernel), [], { simd: true })), memory);
  const callOf = (c: KernelCall) => ({ f: exports[c.kernel.name]!, args: c.kernel.buffers.map((b) => offsets.get(c.args[b.name]!)!) });
  const runs = progs.map((p) => {
    const fns = p.calls.map(callOf);
    return () => {
      for (const { f, args } of fns) f(...args);
    };
  });
  const got = progs.map(() => [] as number[]);
  const cal: number[] = [];
  for (let r = 0; r < rounds; r++) {
    cal.push(...samples(gemm.fn, 250));
    runs.forEach((run, i) => got[i]!.push(...samples(run, 250)));
  }
  const calGflops = gemm.flops / median(cal) / 1e6;
  const flops = layer.flops.gradWeight;
  console.log(`| ${id} (${describeConfig(cfg)}) | calibration GEMM | - | ${median(cal).toFixed(2)} | ${calGflops.toFixed(1)} | 100% | ${Math.min(...cal).toFixed(2)} | 100% |`);
  progs.forEach((p, i) => {
    const ms = median(got[i]!);
    const gf = flops / ms / 1e6;
    // each kernel alone (one round): where the time goes
    const each = p.calls.map((c) => {
      const { f, args } = callOf(c);
      return `${c.kernel.name.replace(/^.*_dw_?/, '') || 'dw'} ${Math.min(...samples(() => f(...args), 100)).toFixed(3)}`;
    });
    const names = each.join(' + ');
    const lo = Math.min(...got[i]!);
    console.log(`| | ${p.name} [${p.block.join(',')}] | ${names} | ${ms.toFixed(3)} | ${gf.toFixed(1)} | ${((100 * gf) / calGflops).toFixed(0)}% | ${lo.toFixed(3)} | ${((100 * flops) / lo / (gemm.flops / Math.min(...cal))).toFixed(0)}% |`);
  });
}
