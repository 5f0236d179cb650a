// `convgen check --target wasm`: the checker's TS path (./ts.ts) with the WebAssembly kernels in
// place of the TS ones. Every layer kernel runs as a one-function module (the renderer and
// encoder the build uses, src/wasm/run.ts) against the reference; then the loss and optimizer
// kernels; then the generated wasm.ts (createWasmModel, plain-JS flavour from a temp folder)
// through the same whole-model comparison as index.ts.

import type { ModelPlan } from '../plan/types.ts';
import { runKernelWasm } from '../wasm/run.ts';
import { checkLayer, compareModel, importEmitted, rng32, type CheckRow } from './ts.ts';
import { checkLossKernel, checkOptimizerKernels, type OptimizerCheck, type RunKernel } from './train.ts';

export const runKernelWasmAsync: RunKernel = async (k, bufs, scalars) => {
  runKernelWasm(
    k,
    k.buffers.map((b) => bufs[b.name]!),
    k.scalars.map((s) => scalars[s.name]!),
  );
};

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;
interface WasmModel {
  params: Tensors;
  grads: Tensors;
  buffers: Record<string, { running_mean?: Float32Array; running_var?: Float32Array; num_batches_tracked?: BigInt64Array }>;
  train(mode?: boolean): unknown;
  forward(x: Float32Array): Float32Array;
  backward(dOut: Float32Array): Float32Array;
  lossAndGrad(x: Float32Array, target: Int32Array | Float32Array): number;
  optimizerStep(o: OptimizerCheck['optimizer']): void;
  resetOptimizer(): void;
}

/** the generated wasm.ts against the reference model with the same parameters */
export async function checkWasmModel(plan: ModelPlan, seed: number): Promise<CheckRow[]> {
  const { mod, cleanup } = await importEmitted<{ createWasmModel: (o?: { seed?: number }) => WasmModel }>(plan, 'wasm', 'wasm.js');
  try {
    const model = mod.createWasmModel({ seed });
    return await compareModel(plan, seed, {
      params: async () => model.params,
      forward: async (x) => model.forward(x),
      backward: async (dOut) => model.backward(dOut),
      lossAndGrad: async (x, target) => model.lossAndGrad(x, target),
      grads: async () => model.grads,
      buffers: async () => model.buffers,
      train: (mode) => model.train(mode),
      writeParams: async (p) => {
        for (const [name, t] of Object.entries(p)) {
          if (t.weight) model.params[name]!.weight!.set(t.weight);
          if (t.bias) model.params[name]!.bias!.set(t.bias);
        }
      },
      optimizerStep: async (o) => model.optimizerStep(o),
      resetOptimizer: async () => model.resetOptimizer(),
    });
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
