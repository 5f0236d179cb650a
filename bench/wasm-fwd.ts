// The wasm target's forward and grad-input kernels against the WASM-SIMD calibration GEMM and
// tfjs-wasm's forward (XNNPACK), interleaved round by round in one process, so the ratios
// share the moment's load. Quicker than the main bench (bench/run.ts) while iterating on the
// packed gather's schedule: npx tsx bench/wasm-fwd.ts [--config A,B,C,D,E] [--rounds N]

import { loadavg } from 'node:os';
import { LAYER_CONFIGS, describeConfig, planConfig } from './configs.ts';
import { randomF32, rng } from './data.ts';
import { numel } from '../src/plan/types.ts';
import { wasmConvRunner } from './ours-wasm.ts';
import { wasmCalibrationTask } from './wasm-gemm.ts';
import { tfConvOps, useBackend } from './peers/tfjs.ts';
import { arg } from './quick.ts';

/** the fastest of n calls after one warm-up, in ms */
function best(fn: () => void, n: number): number {
  fn();
  let t = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

const rounds = Number(arg('--rounds', '5'));
console.log(`node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const gemm = await wasmCalibrationTask(false);
await useBackend('tfjs-wasm');
console.log('| config | fwd ms | dx ms | tfjs-wasm fwd ms | GEMM GFLOP/s | fwd vs tfjs-wasm | fwd % GEMM | dx % GEMM |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const id of arg('--config', 'A,B,C,D,E').split(',')) {
  const cfg = LAYER_CONFIGS.find((c) => c.id === id)!;
  const { layer } = planConfig(cfg, 'auto');
  const next = rng(id.charCodeAt(0));
  const data = { x: randomF32(numel(layer.inShape), next), weight: randomF32(numel(layer.weightShape ?? []), next, 0.5), dy: randomF32(numel(layer.outShape), next) };
  const ours = wasmConvRunner(layer, data, true);
  const tf = tfConvOps(layer, 'tfjs-wasm', data);
  const tfFwd = tf.ops.forward.kernel ?? (() => {});
  const t = { gemm: Infinity, fwd: Infinity, dx: Infinity, tf: Infinity };
  // calls per sample: at least ~5 ms of work each
  const reps = (fn: () => void) => {
    const t0 = performance.now();
    fn();
    return Math.max(1, Math.round(5 / Math.max(0.01, performance.now() - t0)));
  };
  const many = (fn: () => void, n: number) => () => {
    for (let i = 0; i < n; i++) fn();
  };
  const nf = reps(ours.ops.forward);
  const nd = reps(ours.ops.gradInput);
  const nt = reps(tfFwd);
  for (let r = 0; r < rounds; r++) {
    t.gemm = Math.min(t.gemm, best(gemm.fn, 5));
    t.fwd = Math.min(t.fwd, best(many(ours.ops.forward, nf), 5) / nf);
    t.dx = Math.min(t.dx, best(many(ours.ops.gradInput, nd), 5) / nd);
    t.tf = Math.min(t.tf, best(many(tfFwd, nt), 5) / nt);
  }
  tf.dispose();
  const gf = gemm.flops / t.gemm / 1e6;
  const pct = (flops: number, ms: number) => ((flops / ms / 1e6 / gf) * 100).toFixed(0);
  console.log(`| ${id} ${describeConfig(cfg)} | ${t.fwd.toFixed(3)} | ${t.dx.toFixed(3)} | ${t.tf.toFixed(3)} | ${gf.toFixed(1)} | ${(t.tf / t.fwd).toFixed(2)}x | ${pct(layer.flops.forward, t.fwd)}% | ${pct(layer.flops.gradInput, t.dx)}% |`);
}
console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
