// Rows of the report: cross-check first, then time. A row that disagrees with the float64
// reference is reported as a mismatch and never timed.

import { agreement } from './data.ts';
import { measure, peakRssMiB, type TimingBudget } from './timing.ts';
import type { Calibration, Impl, Op, Row } from './types.ts';

/** a row under construction: timing fields are filled by `finish` */
export interface Pending {
  config: string;
  op: Op;
  impl: Impl;
  detail: string;
  flops: number;
}

export function finishRow(p: Pending, status: Row['status'], extra: Partial<Row> = {}): Row {
  return {
    ...p,
    status,
    medianMs: null,
    samples: 0,
    gflops: null,
    layoutMs: null,
    maxAbsErr: null,
    maxRelErr: null,
    vsGemm: null,
    speedup: {},
    peakRssMiB: peakRssMiB(),
    ...extra,
  };
}

/** cross-check, then time; a row that disagrees is reported and not timed */
export async function checkAndTime(
  p: Pending,
  want: ArrayLike<number>,
  result: () => ArrayLike<number>,
  timed: () => void,
  budget: TimingBudget,
  gemm: Calibration,
  log: (line: string) => void,
): Promise<Row> {
  let got: ArrayLike<number>;
  try {
    got = result();
  } catch (err) {
    log(`  ${p.config} ${p.op} ${p.impl}: error ${(err as Error).message}`);
    return finishRow(p, 'error', { detail: `${p.detail}: ${(err as Error).message}` });
  }
  const a = agreement(got, want);
  const err = { maxAbsErr: a.maxAbs, maxRelErr: a.maxRel };
  if (!a.ok) {
    log(`  ${p.config} ${p.op} ${p.impl}: MISMATCH max rel error ${a.maxRel.toExponential(2)}, not timed`);
    return finishRow(p, 'mismatch', err);
  }
  const t = await measure(`${p.config} ${p.op} ${p.impl}`, timed, budget);
  const gflops = p.flops / (t.medianMs * 1e6);
  log(`  ${p.config} ${p.op.padEnd(10)} ${p.impl.padEnd(16)} ${t.medianMs.toFixed(3).padStart(10)} ms ${gflops.toFixed(3).padStart(8)} GFLOP/s  (${t.samples} samples, rel err ${a.maxRel.toExponential(1)})`);
  return finishRow(p, 'ok', { ...err, medianMs: t.medianMs, samples: t.samples, gflops, vsGemm: gflops / gemm.gflops });
}

