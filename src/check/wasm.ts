// `convgen check --target wasm`: the checker's TS path (./ts.ts) with the WebAssembly kernels in
// place of the TS ones. Every layer kernel runs as a one-function module (the renderer and
// encoder the build uses, src/wasm/run.ts) against the reference; then the loss and optimizer
// kernels; then the generated wasm.ts (createWasmModel, plain-JS flavour from a temp folder)
// through the same whole-model comparison as index.ts.

import type { ModelPlan } from '../plan/types.ts';
import { HOST_WASM_SCHEDULE, runKernelWasm } from '../wasm/run.ts';

/** the kernels run with f32x4.relaxed_madd here (relaxed SIMD validates), as the generated wasm.ts's do */
export const RELAXED_SIMD_CHECKED = HOST_WASM_SCHEDULE.fma === true;
import { checkLayer, compareModel, importEmitted, rng32, underCheck, type CheckRow, type GeneratedModel } from './ts.ts';
import { checkLossKernel, checkOptimizerKernels, type OptimizerCheck, type RunKernel } from './train.ts';

export const runKernelWasmAsync: RunKernel = async (k, bufs, scalars) => {
  runKernelWasm(
    k,
    k.buffers.map((b) => bufs[b.name]!),
    k.scalars.map((s) => scalars[s.name]!),
  );
};

/** the generated wasm.ts against the reference model with the same parameters */
export async function checkWasmModel(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const { mod, cleanup } = await importEmitted<{ createWasmModel: (o?: { seed?: number }) => GeneratedModel }>(plan, 'wasm', 'wasm.js');
  try {
    return await compareModel(plan, seed, underCheck(mod.createWasmModel({ seed })));
  } finally {
    cleanup();
  }
}

/** every kernel of one model in WebAssembly, its loss and optimizer kernels, then wasm.ts */
export async function checkWasm(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const rng = rng32(seed);
  const rows = plan.layers.flatMap((l) => checkLayer(l, rng, (k, args) => runKernelWasm(k, args), 'wasm'));
  rows.push(...(await checkLossKernel(plan, rng, runKernelWasmAsync)));
  rows.push(...(await checkOptimizerKernels(plan, rng, runKernelWasmAsync)));
  rows.push(...(await checkWasmModel(plan, seed)));
  return rows;
}
