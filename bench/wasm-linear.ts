// The wasm target's linear kernels, per layer, the wasm schedule (kernels/linear.ts: forward
// on a per-call Wᵀ pack, WASM_LINEAR_BLOCK) beside the unscheduled lowering (the TS target's:
// W read in place, 4x4 blocks), both on the same buffers in one process, rounds interleaved.
// Each cell: the median of samples (ms) of the role's calls (forward: pack + GEMM).
// Run: npx tsx bench/wasm-linear.ts [--rounds 4] [--block 4,8]. Prints the load average.

import { loadavg } from 'node:os';
import { plan as planApi } from '../src/api.ts';
import { lowerLinear } from '../src/kernels/linear.ts';
import type { KernelCall } from '../src/kernels/types.ts';
import type { LinearLayerPlan } from '../src/plan/types.ts';
import { scheduleLinear, type LinearLayerSchedule } from '../src/plan/schedule.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { instantiate, kernelModule } from '../src/wasm/run.ts';
import { arg, median, samples } from './quick.ts';

const rounds = Number(arg('--rounds', '4'));
const forced = process.argv.includes('--block') ? arg('--block', '4,8').split(',').map(Number) : null;

const linears = (path: string) => planApi(path).layers.filter((l): l is LinearLayerPlan => l.type === 'linear');
// --batch B: VGG's fc7 at batch B too (the example's is 1)
const fc7 = linears('examples/large/vgg16.json')[1]!;
const batches = arg('--batch', '8').split(',').map(Number);
const layers = [...linears('examples/lenet.json').slice(0, 1), ...batches.map((b) => ({ ...fc7, batch: b, inShape: [b, fc7.inFeatures], outShape: [b, fc7.outFeatures] }))];

console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
console.log('| layer | schedule | forward ms | dx ms | dW ms | fwd GFLOP/s |');
console.log('|---|---|---:|---:|---:|---:|');
for (const layer of layers) {
  const base = scheduleLinear(layer, 'ts');
  let wasm: LinearLayerSchedule = scheduleLinear(layer, 'wasm');
  if (forced) wasm = { ...wasm, fwdBlock: forced, dxBlock: forced, dwBlock: forced };
  const variants = [
    { name: 'in place, 4x4', s: base },
    { name: `packed, ${wasm.fwdBlock!.join('x')}`, s: wasm },
    // dx on W's column panels too, to compare
    { name: 'packed, dx packed 4x8', s: { ...wasm, packed: true, dxPacked: true, dxBlock: [4, 8] } },
  ].map((vr, vi) => {
    // unique kernel names per variant in one module
    const p = lowerLinear(layer, null, vr.s);
    const tag = (c: KernelCall): KernelCall => ({ ...c, kernel: { ...c.kernel, name: `${c.kernel.name}_v${vi}` } });
    const bw = p.backward.map(tag);
    return { ...vr, roles: [p.forward.map(tag), bw.filter((c) => /_dx_/.test(c.kernel.name)), bw.filter((c) => /_dw_/.test(c.kernel.name))] };
  });
  const all = variants.flatMap((v) => v.roles.flat());
  const lengths = new Map<string, number>();
  for (const c of all) for (const b of c.kernel.buffers) lengths.set(c.args[b.name]!, Math.max(b.length, lengths.get(c.args[b.name]!) ?? 0));
  const offsets = new Map<string, number>();
  let at = 0;
  for (const [name, n] of lengths) {
    offsets.set(name, at);
    at += Math.ceil((n * 4) / 64) * 64;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
  const heap = new Float32Array(memory.buffer);
  for (const [name, n] of lengths) heap.fill(0.5, offsets.get(name)! / 4, offsets.get(name)! / 4 + n);
  const exports = instantiate(encodeModule(kernelModule(all.map((c) => c.kernel), [], { simd: true })), memory);
  const runOf = (calls: KernelCall[]) => {
    const fns = calls.map((c) => ({ f: exports[c.kernel.name]!, args: c.kernel.buffers.map((b) => offsets.get(c.args[b.name]!)!) }));
    return () => {
      for (const { f, args } of fns) f(...args);
    };
  };
  const runs = variants.map((v) => v.roles.map(runOf));
  const got = variants.map(() => [[], [], []] as number[][]);
  const ms = layer.inFeatures * layer.outFeatures > 1e6 ? 600 : 250;
  for (let r = 0; r < rounds; r++) runs.forEach((rs, i) => rs.forEach((run, j) => got[i]![j]!.push(...samples(run, ms))));
  const flops = 2 * layer.batch * layer.inFeatures * layer.outFeatures;
  variants.forEach((v, i) => {
    const m = got[i]!.map(median);
    console.log(`| ${layer.name} ${layer.inFeatures}->${layer.outFeatures} b${layer.batch} | ${v.name} | ${m[0]!.toFixed(3)} | ${m[1]!.toFixed(3)} | ${m[2]!.toFixed(3)} | ${(flops / m[0]! / 1e6).toFixed(1)} |`);
  });
}
