// One layer's WGSL kernels (forward, then backward) run on a WebGPU device on the data
// `convgen check` gives the TS kernels (the same draws from the same rng, in the same
// order), every output compared with the float64 reference under the same tolerances.
// `convgen check --target wgsl` prints the rows; test/wgsl-kernels.test.ts asserts them.

import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import { inputShapes, numel } from '../plan/types.ts';
import type { KernelCall, LayerProgram } from '../kernels/types.ts';
import { lowerKernel } from '../ir/passes.ts';
import { renderKernelWgsl } from '../render/wgsl.ts';
import type { RunKernel } from './train.ts';
import { ROLE_TAG } from '../kernels/names.ts';
import { compare, kernelTolerance, outputRole, reductionLength, type CheckRow, type Comparison } from './ts.ts';
import { layerRuns } from './layer-data.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.ts';
import { download, prepareCall, pumped, runWgslKernel, upload, type HostArray } from '../gpu/run-kernel.ts';

/** one output of a layer (y, dx or dx0, dx1, ..., gradWeight, gradBias, running) against the reference */
export interface WgslOutput {
  /** the buffer, with ` (eval)` for eval mode's run */
  readonly out: string;
  /** the kernels that write it, in run order */
  readonly kernels: readonly string[];
  readonly result: Comparison;
}

export interface WgslLayerRun {
  /** every call in run order, with the compared outputs it writes (none: it writes only scratch) */
  readonly calls: readonly { readonly phase: 'forward' | 'backward'; readonly mode: 'train' | 'eval'; readonly kernel: string; readonly outs: readonly string[] }[];
  readonly outputs: readonly WgslOutput[];
}

/**
 * run `prog` (a layer's program, not a view) in one submission per mode (training, then eval
 * where the layer computes differently) and compare y, dx, the parameter gradients and batch
 * norm's running stats with refForward / refBackward; a WebGPU validation error throws
 */
export async function runLayerWgsl(device: GPUDevice, l: LayerPlan, prog: LayerProgram, rng: () => number, limits: GpuLimits = DEFAULT_LIMITS): Promise<WgslLayerRun> {
  const calls: WgslLayerRun['calls'][number][] = [];
  const outputs: WgslOutput[] = [];
  // drawn as checkLayer draws them: both targets see the same data
  for (const run of layerRuns(l, prog, rng)) {
    const want = run.want;
    const gpu: Record<string, GPUBuffer> = {};
    for (const [k, a] of Object.entries(run.host)) gpu[k] = upload(device, a);
    try {
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      const writers = new Map<string, string[]>();
      for (const [phase, list] of [['forward', run.forward], ['backward', run.backward]] as const) {
        for (const call of list) {
          prepareCall(device, call, gpu, limits).record(pass);
          const outs = call.kernel.buffers.filter((b) => b.access !== 'read').map((b) => call.args[b.name]);
          for (const o of outs) writers.set(o, [...(writers.get(o) ?? []), call.kernel.name]);
          calls.push({ phase, mode: run.mode, kernel: call.kernel.name, outs: outs.filter((o) => o in want) });
        }
      }
      pass.end();
      device.queue.submit([enc.finish()]);
      const err = await pumped(device.popErrorScope());
      if (err) throw new Error(`${l.name}: WebGPU validation: ${err.message}`);

      for (const c of calls.filter((q) => q.mode === run.mode)) {
        for (const o of c.outs) if (!want[o]) throw new Error(`check: ${l.name}: ${c.kernel} writes ${o}, which the reference does not produce`);
      }
      for (const [name, ref] of Object.entries(want)) {
        if (!ref) continue;
        const kernels = writers.get(name);
        if (!kernels) throw new Error(`check: ${l.name}: no WGSL kernel writes ${name}, which the reference produces`);
        const got = await download(device, gpu[name], ref.length, Float32Array);
        outputs.push({ out: run.mode === 'eval' ? `${name} (eval)` : name, kernels, result: compare(got, ref, kernelTolerance(reductionLength(l, outputRole(name)))) });
      }
    } finally {
      for (const b of Object.values(gpu)) b.destroy();
    }
  }
  return { calls, outputs };
}

const STRATEGY_TAG = new RegExp(`_(?:${Object.values(ROLE_TAG).join('|')})_([a-z0-9_]+)$`);

/**
 * the strategy column of a WGSL row: the tag the kernel's name carries after its role
 * (`conv5x5_..._dw_splitk` -> splitk, `..._fwd_gemm_tiled` -> gemm_tiled). The plan's direct / im2row schedule shapes only
 * the TS kernels, so it would be wrong here.
 */
export function wgslStrategyOf(kernel: string): string {
  return STRATEGY_TAG.exec(kernel)?.[1] ?? '-';
}

/** the rows `convgen check` prints for one layer: one per kernel call and output it writes, as for the TS target */
export async function checkLayerWgsl(device: GPUDevice, l: LayerPlan, prog: LayerProgram, rng: () => number, limits: GpuLimits = DEFAULT_LIMITS): Promise<CheckRow[]> {
  if (prog.alias) return [{ layer: l.name, kernel: `(${l.type}: a view, no kernels)`, strategy: '-', result: null, note: '-' }];
  const run = await runLayerWgsl(device, l, prog, rng, limits);
  const result = new Map(run.outputs.map((o) => [o.out, o.result]));
  const rows: CheckRow[] = [];
  for (const c of run.calls) {
    if (c.outs.length === 0) {
      rows.push({ layer: l.name, kernel: c.kernel, strategy: '-', result: null, note: '(scratch: checked by its readers)' });
      continue;
    }
    // eval mode's outputs are keyed `<out> (eval)`
    const key = (o: string) => (c.mode === 'eval' ? `${o} (eval)` : o);
    for (const o of c.outs) rows.push({ layer: l.name, kernel: c.outs.length > 1 ? `${c.kernel} (${o})` : c.kernel, strategy: wgslStrategyOf(c.kernel), result: result.get(key(o))! });
  }
  return rows;
}

/** a kernel run on `device` as the generated gpu.ts runs it (buffers read back in place), for ./train.ts's checks */
export function runKernelWgsl(device: GPUDevice, limits: GpuLimits = DEFAULT_LIMITS): RunKernel {
  return async (k, bufs, scalars) => {
    const out = await runWgslKernel(device, renderKernelWgsl(lowerKernel(k), limits), k.buffers, bufs, scalars, k.scalars.map((s) => s.name));
    for (const [name, a] of Object.entries(out)) bufs[name]!.set(a);
  };
}
