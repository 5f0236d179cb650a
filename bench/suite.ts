// The whole benchmark as one function: calibrate, then per config and op cross-check every
// implementation against the float64 reference and time the ones that agree. Everything
// runs in this one process, one thread, on the same inputs.

import { execSync } from 'node:child_process';
import os from 'node:os';
import { refBackward, refForward } from '../src/reference/index.ts';
import { numel } from '../src/plan/types.ts';
import { CONV_OPS, LAYER_CONFIGS, STEP_CONFIGS, STRATEGIES, describeConfig, planConfig, quickConfig, type ConvOp, type LayerConfig } from './configs.ts';
import { randomF32, rng } from './data.ts';
import { measureOp, type Candidate, type Pending } from './rows.ts';
import { convRunner, OP_OUTPUT, type ConvRunner } from './ours.ts';
import { wasmConvRunner } from './ours-wasm.ts';
import { scheduleConv } from '../src/plan/schedule.ts';
import { TF_BACKENDS, tfConvOps, useBackend, type PeerOp, type TfBackend } from './peers/tfjs.ts';
import { peakRssMiB, FULL_BUDGET, QUICK_BUDGET, type TimingBudget } from './timing.ts';
import { measureCompiler } from './compiler.ts';
import { benchStep } from './step.ts';
import { evaluateTargets } from './targets.ts';
import { PEERS, type Calibration, type Impl, type Op, type Report, type Row } from './types.ts';

export interface SuiteOptions {
  /** tiny sizes and budgets (the CI smoke test) */
  readonly quick: boolean;
  /** config ids to run (A..G); null: all */
  readonly only: readonly string[] | null;
  /** measure `convgen build` of these example files ([] to skip) */
  readonly examples: readonly string[];
  /** progress lines */
  readonly log: (line: string) => void;
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
  // the wasm target: SIMD with each strategy forced, and scalar with the planner's strategies
  const wasmRunners: { impl: Impl; r: ConvRunner | null; error: string | null }[] = [
    ...STRATEGIES.map((strategy) => ({ impl: `convgen wasm ${strategy}` as Impl, layer: planConfig(c, strategy).layer, simd: true })),
    { impl: 'convgen wasm scalar' as Impl, layer: auto, simd: false },
  ].map(({ impl, layer, simd }) => {
    try {
      return { impl, r: wasmConvRunner(layer, data, simd), error: null };
    } catch (err) {
      log(`  ${c.id} ${impl}: lowering failed: ${(err as Error).message}`);
      return { impl, r: null, error: (err as Error).message };
    }
  });
  // the float64 reference interpreter: the naive baseline
  const refOps: Record<ConvOp, () => ArrayLike<number>> = {
    forward: () => refForward(auto, data.x, { weight: data.weight }).y,
    gradInput: () => refBackward(auto, data.x, null, data.dy, { weight: data.weight }).dx,
    gradWeight: () => refBackward(auto, data.x, null, data.dy, { weight: data.weight }).gradWeight ?? new Float64Array(0),
  };
  // tfjs: tensors live on their backend, so each backend is made current before its calls
  const peers: { backend: TfBackend; ops: Record<ConvOp, PeerOp>; dispose: () => void }[] = [];
  for (const backend of TF_BACKENDS) {
    await useBackend(backend);
    peers.push({ backend, ...tfConvOps(auto, backend, data) });
  }
  try {
    for (const op of CONV_OPS) {
      const candidates: Candidate[] = [];
      for (const { impl, r, error } of [...runners.map((x) => ({ ...x, impl: `convgen ${x.strategy}` as Impl })), ...wasmRunners]) {
        if (!r) {
          candidates.push({ pending: pending(op, impl, `lowering failed: ${error}`), result: () => { throw new Error(`lowering failed: ${error}`); }, timed: () => {} });
          continue;
        }
        const out = r.buffers[OP_OUTPUT[op]];
        const wasm = impl.startsWith('convgen wasm');
        const detail = wasm
          ? `${r.kernels[op].join(' + ')} (one ${(r.sourceChars[op][0]! / 1024).toFixed(0)} KiB module${impl === 'convgen wasm scalar' ? ', no SIMD, the planner\'s strategies' : ', f32x4'})`
          : r.kernels[op].map((k, i) => `${k} (${(r.sourceChars[op][i] / 1024).toFixed(0)} KiB JS)`).join(' + ');
        candidates.push({
          pending: pending(op, impl, detail),
          result: () => {
            // NaN first: an output element the kernels forget to write fails the check
            out.fill(NaN);
            if (op !== 'forward') r.prepare();
            r.ops[op]();
            return out;
          },
          timed: r.ops[op],
          // backward ops read scratch kept from forward: fill it once (the check did too)
          before: op === 'forward' ? undefined : async () => r.prepare(),
          untilSteady: true,
        });
      }
      const refDetail = op === 'forward' ? 'refForward (float64 loops)' : 'refBackward (float64 loops; computes dx and dW together)';
      candidates.push({ pending: pending(op, 'reference', refDetail), result: refOps[op], timed: () => void refOps[op]() });
      for (const { backend, ops } of peers) {
        const before = () => useBackend(backend);
        const peer = ops[op];
        candidates.push(peerCandidate(pending(op, backend, peer.route), peer, before));
        if (peer.fallback) candidates.push(peerCandidate(pending(op, 'tfjs-wasm route', peer.fallback.route), peer.fallback, before));
      }
      const { rows: opRows, gemm } = await measureOp(c.id, op, candidates, want[op], quick, budget, log);
      calibration.push(gemm);
      // auto: the same kernels as the forced strategy's row; reuse its measurement, say which
      const picked = auto.schedule[op];
      const same = opRows.find((row) => row.impl === `convgen ${picked}`);
      if (!same) throw new Error(`bench: no row for strategy ${picked}`);
      opRows.splice(STRATEGIES.length, 0, { ...same, impl: 'convgen auto', detail: `picks ${picked}: ${same.detail}` });
      // the wasm target's pick: the planner's strategy, lowered with the wasm schedule (which
      // runs grad-weight as im2row from 4 input channels per group, whichever strategy is forced)
      const wasmSame = opRows.find((row) => row.impl === `convgen wasm ${picked}`);
      if (!wasmSame) throw new Error(`bench: no wasm row for strategy ${picked}`);
      const algorithm = scheduleConv(auto, 'wasm').kernels.find((k) => k.role === op)?.algorithm ?? picked;
      opRows.splice(opRows.indexOf(wasmSame) - STRATEGIES.indexOf(picked), 0, { ...wasmSame, impl: 'convgen wasm', detail: `picks ${picked} (wasm schedule: ${algorithm}): ${wasmSame.detail}` });
      rows.push(...opRows);
    }
  } finally {
    for (const p of peers) {
      await useBackend(p.backend);
      p.dispose();
    }
  }
  return rows;
}

function peerCandidate(p: Pending, peer: PeerOp, before: () => Promise<void>): Candidate {
  if (!peer.kernel || !peer.result) return { pending: p, noKernel: true, result: () => [], timed: () => {} };
  return { pending: p, result: peer.result, timed: peer.kernel, layout: peer.layout, before };
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
    opts.log(`config ${c.id}: ${describeConfig(c)}`);
    rows.push(...(await benchConv(c, opts.quick, budget, calibration, opts.log)));
  }
  for (const s of STEP_CONFIGS) {
    if (!wanted(s.id)) continue;
    opts.log(`config ${s.id}: ${s.title} training step`);
    const step = await benchStep(opts.quick, budget, opts.log, s);
    calibration.push(step.gemm);
    rows.push(...step.rows);
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
        'the implementations of one op and the calibration GEMM are timed together, interleaved in rounds; % GEMM divides by that GEMM',
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
