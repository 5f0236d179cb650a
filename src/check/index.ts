// The checker as a library: every generated kernel of a model, and the whole generated
// module, against the float64 reference interpreter (./ts.ts; ./wgsl.ts on a WebGPU
// adapter). `convgen check` prints the reports; the package API's check() returns them.

import type { ModelPlan } from '../plan/types.ts';
import { ConvgenError } from '../errors.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.ts';
import { checkTs, formatCheckTable, type CheckRow } from './ts.ts';

export type { CheckRow, Comparison } from './ts.ts';

/**
 * check refuses an inference build: every kernel one runs (the eval-mode forward) is a kernel
 * of the training build, which check runs against the reference, the module in eval mode too
 */
export function inferenceNotChecked(where: string): ConvgenError {
  return new ConvgenError(
    where,
    "checks the training build, whose kernels include every kernel an inference build runs (the eval-mode forward, run against the reference with the module in eval mode); there is no separate inference check",
    'drop it: run convgen check model.json (a model that plans only for inference, batch norm on one value per channel, checks with a "batch" of 2)',
  );
}

export interface CheckReport {
  /** the model's name */
  readonly model: string;
  readonly target: 'ts' | 'wgsl' | 'wasm';
  /** seed of the random parameters and inputs */
  readonly seed: number;
  /** the WebGPU adapter the WGSL target ran on; wasm: 'relaxed SIMD' where the kernels ran f32x4.relaxed_madd */
  readonly adapter?: string;
  /** one row per kernel output, then the whole-model rows */
  readonly rows: readonly CheckRow[];
  /** rows outside their tolerance */
  readonly failures: number;
}

export interface CheckPlansOptions {
  target: 'ts' | 'wgsl' | 'wasm';
  seed: number;
  /** WGSL only: the device limits the kernels are built for */
  limits?: GpuLimits;
}

const failures = (rows: readonly CheckRow[]): number => rows.filter((r) => r.result && !r.result.ok).length;

/** check every plan on one target; the WGSL target throws NoWebGpuError when no adapter opens */
export async function checkPlans(plans: readonly ModelPlan[], opts: CheckPlansOptions): Promise<CheckReport[]> {
  const { target, seed } = opts;
  if (target === 'wgsl') {
    // Dawn and the GPU helpers load only for this target
    const { checkWgsl } = await import('./wgsl.ts');
    const { adapter, rows } = await checkWgsl(plans, seed, opts.limits ?? DEFAULT_LIMITS);
    return plans.map((p, i) => ({ model: p.name, target, seed, adapter, rows: rows[i]!, failures: failures(rows[i]!) }));
  }
  const out: CheckReport[] = [];
  // the wasm checker loads only for its target
  const wasm = target === 'wasm' ? await import('./wasm.ts') : null;
  const check = wasm ? wasm.checkWasm : checkTs;
  for (const plan of plans) {
    const rows = await check(plan, seed);
    out.push({ model: plan.name, target, seed, ...(wasm?.RELAXED_SIMD_CHECKED ? { adapter: 'relaxed SIMD' } : {}), rows, failures: failures(rows) });
  }
  return out;
}

/** a report as the CLI prints it: a title line, then the table */
export function formatCheckReport(r: CheckReport): string {
  const on = r.adapter === undefined ? r.target : `${r.target} on ${r.adapter}`;
  const verdict = r.failures === 0 ? 'all within tolerance' : `${r.failures} FAILED`;
  return formatCheckTable(`model ${r.model} (target ${on}, seed ${r.seed}): ${verdict}`, r.rows);
}
