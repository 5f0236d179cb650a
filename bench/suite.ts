// The whole benchmark as one function: calibrate, then per config and op cross-check every
// implementation against the float64 reference and time the ones that agree. Everything
// runs in this one process, one thread, on the same inputs.

import { execSync } from 'node:child_process';
import os from 'node:os';
import { refBackward, refForward } from '../src/reference/index.ts';
import { numel } from '../src/plan/types.ts';
import { CONV_OPS, LAYER_CONFIGS, STRATEGIES, planConfig, quickConfig, type ConvOp, type LayerConfig } from './configs.ts';
import { agreement, randomF32, rng } from './data.ts';
import { checkAndTime, finishRow, type Pending } from './rows.ts';
import { gemm4x4, gemmNaive } from './gemm.ts';
import { convRunner, OP_OUTPUT } from './ours.ts';
import { TF_BACKENDS, tfConvOps, useBackend, type PeerOp, type TfBackend } from './peers/tfjs.ts';
import { measure, peakRssMiB, FULL_BUDGET, QUICK_BUDGET, type TimingBudget } from './timing.ts';
import { measureCompiler } from './compiler.ts';
import { benchStep, STEP_ID } from './step.ts';
import { evaluateTargets } from './targets.ts';
import { PEERS, type Calibration, type Impl, type Op, type Report, type Row } from './types.ts';

export interface SuiteOptions {
  /** tiny sizes and budgets (the CI smoke test) */
  readonly quick: boolean;
  /** config ids to run (A..F); null: all */
  readonly only: readonly string[] | null;
  /** measure `convgen build` of these example files ([] to skip) */
  readonly examples: readonly string[];
  /** progress lines */
  readonly log: (line: string) => void;
}

const CALIBRATION_SIZE = { full: 192, quick: 32 };

export async function calibrate(config: string, op: Op, quick: boolean, budget: TimingBudget): Promise<Calibration> {
  const n = quick ? CALIBRATION_SIZE.quick : CALIBRATION_SIZE.full;
  const next = rng(7);
  const A = randomF32(n * n, next);
  const B = randomF32(n * n, next);
  const C = new Float32Array(n * n);
  gemm4x4(n, n, n, A, B, C);
  const check = agreement(C, gemmNaive(n, n, n, A, B));
  if (!check.ok) throw new Error(`bench: the calibration GEMM disagrees with the naive product (rel ${check.maxRel})`);
  const t = await measure('gemm', () => gemm4x4(n, n, n, A, B, C), budget);
  return { config, op, m: n, n, k: n, medianMs: t.medianMs, gflops: (2 * n * n * n) / (t.medianMs * 1e6) };
}

/** every row of one conv config, op by op, each op after its own calibration */
async function benchConv(c: LayerConfig, quick: boolean, budget: TimingBudget, calibration: Calibration[], log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const { layer: auto } = planConfig(c, 'auto');
  const next = rng(c.id.charCodeAt(0));
  const data = {
    x: randomF32(numel(auto.inShape), next),
    weight: randomF32(numel(auto.weightShape ?? []), next, 0.5),
    dy: randomF32(numel(auto.outShape), next),
  };
  const ref = refForward(auto, data.x, { weight: data.weight });
  const back = refBackward(auto, data.x, ref.y, data.dy, { weight: data.weight });
  if (!back.gradWeight) throw new Error(`bench: reference gave no gradWeight for ${c.id}`);
  const want: Record<ConvOp, Float64Array> = { forward: ref.y, gradInput: back.dx, gradWeight: back.gradWeight };
  const pending = (op: ConvOp, impl: Impl, detail: string): Pending => ({ config: c.id, op, impl, detail, flops: auto.flops[op] });

  // convgen with each strategy forced; `auto` is the strategy the cost model picks per kernel
  // a strategy whose lowering throws gets error rows; the rest of the run goes on
  const runners = STRATEGIES.map((strategy) => {
    try {
      return { strategy, r: convRunner(planConfig(c, strategy).layer, data), error: null };
    } catch (err) {
      log(`  ${c.id} convgen ${strategy}: lowering failed: ${(err as Error).message}`);
      return { strategy, r: null, error: (err as Error).message };
    }
  });
  // the float64 reference interpreter: the naive baseline
  const refOps: Record<ConvOp, () => ArrayLike<number>> = {
    forward: () => refForward(auto, data.x, { weight: data.weight }).y,
    gradInput: () => refBackward(auto, data.x, null, data.dy, { weight: data.weight }).dx,
    gradWeight: () => refBackward(auto, data.x, null, data.dy, { weight: data.weight }).gradWeight ?? new Float64Array(0),
  };
  // tfjs: tensors live on their backend, so each backend is made current before its rows
  const peers: { backend: TfBackend; ops: Record<ConvOp, PeerOp>; dispose: () => void }[] = [];
  for (const backend of TF_BACKENDS) {
    await useBackend(backend);
    peers.push({ backend, ...tfConvOps(auto, backend, data) });
  }
  try {
    for (const op of CONV_OPS) {
      const gemm = await calibrate(c.id, op, quick, budget);
      calibration.push(gemm);
      log(`config ${c.id} ${op} (calibration GEMM ${gemm.gflops.toFixed(2)} GFLOP/s)`);
      const byStrategy = new Map<string, Row>();
      for (const { strategy, r, error } of runners) {
        if (!r) {
          const row = finishRow(pending(op, `convgen ${strategy}`, `lowering failed: ${error}`), 'error');
          byStrategy.set(strategy, row);
          rows.push(row);
          continue;
        }
        const out = r.buffers[OP_OUTPUT[op]];
        const result = () => {
          // NaN first: an output element the kernels forget to write fails the check
          out.fill(NaN);
          if (op !== 'forward') r.prepare();
          r.ops[op]();
          return out;
        };
        if (op !== 'forward') r.prepare();
        const detail = r.kernels[op].map((k, i) => `${k} (${(r.sourceChars[op][i] / 1024).toFixed(0)} KiB JS)`).join(' + ');
        const row = await checkAndTime(pending(op, `convgen ${strategy}`, detail), want[op], result, r.ops[op], budget, gemm, log);
        byStrategy.set(strategy, row);
        rows.push(row);
      }
      // the same kernels as the forced strategy's row: reuse its measurement, say which
      const picked = auto.schedule[op];
      const same = byStrategy.get(picked);
      if (!same) throw new Error(`bench: no row for strategy ${picked}`);
      rows.push({ ...same, impl: 'convgen auto', detail: `picks ${picked}: ${same.detail}` });

      const refDetail = op === 'forward' ? 'refForward (float64 loops)' : 'refBackward (float64 loops; computes dx and dW together)';
      rows.push(await checkAndTime(pending(op, 'reference', refDetail), want[op], refOps[op], () => void refOps[op](), budget, gemm, log));

      for (const { backend, ops } of peers) {
        await useBackend(backend);
        const peer = ops[op];
        rows.push(await timePeer(pending(op, backend, peer.route), peer, want[op], budget, gemm, log));
        if (peer.fallback) rows.push(await timePeer(pending(op, 'tfjs-wasm route', peer.fallback.route), peer.fallback, want[op], budget, gemm, log));
      }
    }
  } finally {
    for (const p of peers) {
      await useBackend(p.backend);
      p.dispose();
    }
  }
  return rows;
}

async function timePeer(p: Pending, peer: PeerOp, want: ArrayLike<number>, budget: TimingBudget, gemm: Calibration, log: (line: string) => void): Promise<Row> {
  if (!peer.kernel || !peer.result) {
    log(`  ${p.config} ${p.op.padEnd(10)} ${p.impl.padEnd(16)} no kernel`);
    return finishRow(p, 'no kernel');
  }
  const row = await checkAndTime(p, want, peer.result, peer.kernel, budget, gemm, log);
  if (row.status !== 'ok') return row;
  const layout = await measure(`${p.config} ${p.op} ${p.impl} layout`, peer.layout, budget);
  return { ...row, layoutMs: layout.medianMs, peakRssMiB: peakRssMiB() };
}

/** peer median / row median, for every row; tfjs-wasm's grad-weight is its best route */
export function addSpeedups(rows: Row[]): Row[] {
  const median = (config: string, op: Op, impl: Impl) => rows.find((r) => r.config === config && r.op === op && r.impl === impl && r.status === 'ok')?.medianMs ?? null;
  return rows.map((r) => {
    if (r.medianMs === null) return r;
    const speedup: Row['speedup'] = {};
    for (const peer of PEERS) {
      const m = median(r.config, r.op, peer) ?? (peer === 'tfjs-wasm' ? median(r.config, r.op, 'tfjs-wasm route') : null);
      speedup[peer] = m === null ? null : m / r.medianMs;
    }
    return { ...r, speedup };
  });
}

function gitCommit(): string | null {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

export async function runSuite(opts: SuiteOptions): Promise<Report> {
  const t0 = performance.now();
  const budget = opts.quick ? QUICK_BUDGET : FULL_BUDGET;
  const wanted = (id: string) => opts.only === null || opts.only.includes(id);
  const calibration: Calibration[] = [];
  let rows: Row[] = [];
  for (const c0 of LAYER_CONFIGS) {
    if (!wanted(c0.id)) continue;
    const c = opts.quick ? quickConfig(c0) : c0;
    rows.push(...(await benchConv(c, opts.quick, budget, calibration, opts.log)));
  }
  if (wanted(STEP_ID)) {
    // calibrate next to each config and op: under shared load the ceiling moves
    const gemm = await calibrate(STEP_ID, 'step', opts.quick, budget);
    calibration.push(gemm);
    opts.log(`config ${STEP_ID} (calibration GEMM ${gemm.gflops.toFixed(2)} GFLOP/s)`);
    rows.push(...(await benchStep(opts.quick, budget, gemm, opts.log)));
  }
  rows = addSpeedups(rows);
  const compiler = await measureCompiler(opts.examples, opts.log);
  const report: Report = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: `${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} logical cores, benchmark single-threaded)`,
      quick: opts.quick,
      only: opts.only === null ? null : [...opts.only],
      commit: gitCommit(),
      notes: [
        'median of tinybench samples; ratios are within this one run (the machine is shared, absolute times are noisy)',
        'tfjs rows time the kernel on NHWC inputs (tfjs\'s layout); layoutMs is the NCHW<->NHWC transposes an NCHW user adds, timed separately',
        'tfjs-wasm has no Conv2DBackpropFilter kernel: its grad-weight is "no kernel", and "tfjs-wasm route" times the best route it offers',
        '% GEMM divides by the calibration GEMM measured just before the same config and op',
      ],
    },
    calibration,
    rows,
    compiler,
    targets: [],
    peakRssMiB: peakRssMiB(),
    wallSeconds: (performance.now() - t0) / 1000,
  };
  return { ...report, targets: evaluateTargets(report) };
}
