// Rows of the report, one op at a time: every candidate is cross-checked against the
// float64 reference first (one that disagrees is reported as a mismatch and never timed),
// then all that agree are timed together with the calibration GEMM, interleaved.

import { agreement } from './data.ts';
import { calibrationTask } from './gemm.ts';
import { wasmCalibrationTask } from './wasm-gemm.ts';
import { measureGroup, peakRssMiB, type GroupTask, type TimingBudget } from './timing.ts';
import type { Calibration, Impl, Op, Row } from './types.ts';

/** a row before it is measured */
export interface Pending {
  config: string;
  op: Op;
  impl: Impl;
  detail: string;
  flops: number;
}

/** one implementation of one op */
export interface Candidate {
  readonly pending: Pending;
  /** the implementation has no kernel for the op: reported as such, never run */
  readonly noKernel?: boolean;
  /** its result in PyTorch layouts, to cross-check (may differ from `timed`: tfjs adds transposes) */
  readonly result: () => ArrayLike<number>;
  readonly timed: () => void;
  /** tfjs: the NCHW <-> NHWC transposes an NCHW user adds, timed as their own task */
  readonly layout?: () => void;
  /** run before its calls (tfjs: make its backend current) */
  readonly before?: () => Promise<void>;
  /** generated code: warm up until steady, and report the warmup */
  readonly untilSteady?: boolean;
}

export function finishRow(p: Pending, status: Row['status'], extra: Partial<Row> = {}): Row {
  return {
    ...p,
    status,
    medianMs: null,
    samples: 0,
    gflops: null,
    layoutMs: null,
    warmup: null,
    maxAbsErr: null,
    maxRelErr: null,
    vsGemm: null,
    vsWasmGemm: null,
    speedup: {},
    peakRssMiB: peakRssMiB(),
    ...extra,
  };
}

const label = (p: Pending) => `  ${p.config} ${p.op.padEnd(10)} ${p.impl.padEnd(16)}`;

/** check every candidate, then time the ones that agree and the calibration GEMM together */
export async function measureOp(
  config: string,
  op: Op,
  candidates: readonly Candidate[],
  want: ArrayLike<number>,
  quick: boolean,
  budget: TimingBudget,
  log: (line: string) => void,
): Promise<{ rows: Row[]; gemm: Calibration }> {
  const rows = new Map<Candidate, Row>();
  const tasks: GroupTask[] = [];
  const gemmTask = calibrationTask(quick);
  tasks.push({ name: 'gemm', fn: gemmTask.fn });
  const wasmGemmTask = await wasmCalibrationTask(quick);
  tasks.push({ name: 'wasm gemm', fn: wasmGemmTask.fn });
  const errs = new Map<Candidate, { maxAbsErr: number; maxRelErr: number }>();
  for (const c of candidates) {
    const p = c.pending;
    if (c.noKernel) {
      log(`${label(p)} no kernel`);
      rows.set(c, finishRow(p, 'no kernel'));
      continue;
    }
    let got: ArrayLike<number>;
    try {
      await c.before?.();
      got = c.result();
    } catch (err) {
      const message = (err as Error).message;
      // a backend without a kernel the op needs (tfjs-wasm's Conv2DBackpropFilter under tf.grads)
      const missing = /not registered for backend/.test(message);
      log(`${label(p)} ${missing ? 'no kernel' : 'ERROR'}: ${message}`);
      rows.set(c, finishRow(p, missing ? 'no kernel' : 'error', { detail: `${p.detail}: ${message}` }));
      continue;
    }
    const a = agreement(got, want);
    errs.set(c, { maxAbsErr: a.maxAbs, maxRelErr: a.maxRel });
    if (!a.ok) {
      log(`${label(p)} MISMATCH: max rel error ${a.maxRel.toExponential(2)} against the reference, not timed`);
      rows.set(c, finishRow(p, 'mismatch', errs.get(c)));
      continue;
    }
    tasks.push({ name: p.impl, fn: c.timed, before: c.before, untilSteady: c.untilSteady });
    if (c.layout) tasks.push({ name: `${p.impl} layout`, fn: c.layout, before: c.before });
  }
  const { timings, warmups } = await measureGroup(tasks, budget);
  const g = timings.get('gemm')!;
  const wg = timings.get('wasm gemm')!;
  const gemm: Calibration = {
    config, op, m: gemmTask.n, n: gemmTask.n, k: gemmTask.n, medianMs: g.medianMs, gflops: gemmTask.flops / (g.medianMs * 1e6),
    wasmMedianMs: wg.medianMs, wasmGflops: wasmGemmTask.flops / (wg.medianMs * 1e6),
  };
  log(`${label({ config, op, impl: 'convgen auto', detail: '', flops: 0 }).replace('convgen auto', 'calibration GEMM')} ${g.medianMs.toFixed(3).padStart(10)} ms ${gemm.gflops.toFixed(3).padStart(8)} GFLOP/s`);
  log(`${label({ config, op, impl: 'convgen auto', detail: '', flops: 0 }).replace('convgen auto', 'WASM-SIMD GEMM  ')} ${wg.medianMs.toFixed(3).padStart(10)} ms ${gemm.wasmGflops.toFixed(3).padStart(8)} GFLOP/s`);
  for (const c of candidates) {
    if (rows.has(c)) continue;
    const p = c.pending;
    const t = timings.get(p.impl)!;
    const layout = timings.get(`${p.impl} layout`);
    const gflops = p.flops / (t.medianMs * 1e6);
    const w = c.untilSteady ? warmups.get(p.impl) : undefined;
    const steady = w ? `, steady after ${w.calls} calls / ${(w.ms / 1000).toFixed(1)} s` : '';
    log(`${label(p)} ${t.medianMs.toFixed(3).padStart(10)} ms ${gflops.toFixed(3).padStart(8)} GFLOP/s ${(gflops / gemm.gflops).toFixed(2).padStart(6)}x GEMM ${(gflops / gemm.wasmGflops).toFixed(2).padStart(6)}x WASM GEMM  (${t.samples} samples, rel err ${errs.get(c)!.maxRelErr.toExponential(1)}${steady})`);
    const warmup = w ? { calls: w.calls, ms: w.ms } : null;
    rows.set(c, finishRow(p, 'ok', { ...errs.get(c), medianMs: t.medianMs, samples: t.samples, gflops, vsGemm: gflops / gemm.gflops, vsWasmGemm: gflops / gemm.wasmGflops, layoutMs: layout?.medianMs ?? null, warmup, peakRssMiB: t.peakRssMiB }));
  }
  return { rows: candidates.map((c) => rows.get(c)!), gemm };
}
