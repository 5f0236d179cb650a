// The WGSL check: what ./ts.ts does for TS, on a WebGPU adapter (Dawn for Node,
// src/gpu/node-device.ts):
//   1. every layer's WGSL kernels (the wgsl program: GPU-shaped convs, the shared rest),
//      the loss kernel and the optimizer kernels, on the same seeded data and tolerances
//      as the TS rows (./layer-wgsl.ts, ./train.ts);
//   2. the generated WebGPU runtime (gpu.ts, plain-JS flavour, imported from a temp
//      folder): forward, the loss and every gradient after lossAndGrad (or backward)
//      against the reference model with the same parameters, then each optimizer through
//      its optimizerStep, as checkModel does for TS.
// No adapter (or no `webgpu` package): a NoWebGpuError saying how to get one.

import type { ModelPlan } from '../plan/types.ts';
import { lowerLayer, lowerModel } from '../kernels/index.ts';
import { scheduleGpu } from '../gpu/schedule.ts';
import { chunkLengths } from '../gpu/split.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.ts';
import { openNodeDevice } from '../gpu/node-device.ts';
import { checkLayerWgsl, runKernelWgsl } from './layer-wgsl.ts';
import { checkLossKernel, checkOptimizerKernels, type OptimizerCheck } from './train.ts';
import { compareModel, formatCheckTable, importEmitted, rng32, type CheckRow } from './ts.ts';

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;

/** the members of the generated gpu.ts the model check uses */
interface GpuModel {
  forward(x: Float32Array): Promise<Float32Array>;
  backward(dOut: Float32Array): Promise<Float32Array>;
  lossAndGrad(x: Float32Array, target: Int32Array | Float32Array): Promise<number>;
  readParams(): Promise<Tensors>;
  readGrads(): Promise<Tensors>;
  readBuffers(): Promise<Record<string, { running_mean?: Float32Array; running_var?: Float32Array; num_batches_tracked?: BigInt64Array }>>;
  train(mode?: boolean): unknown;
  writeParams(p: Tensors): void;
  optimizerStep(o: OptimizerCheck['optimizer']): void;
  resetOptimizer(): void;
  destroy(): void;
}
type CreateGpuModel = (device: GPUDevice, o?: { seed?: number }) => Promise<GpuModel>;

/** the generated WebGPU runtime against the reference model (same seed, same init as the TS module) */
async function checkGpuModel(device: GPUDevice, plan: ModelPlan, seed: number, limits: GpuLimits): Promise<CheckRow[]> {
  const { mod, cleanup } = await importEmitted<{ createGpuModel: CreateGpuModel }>(plan, 'wgsl', 'gpu.js', limits);
  try {
    const model = await mod.createGpuModel(device, { seed });
    try {
      return await compareModel(plan, seed, {
        params: () => model.readParams(),
        forward: (x) => model.forward(x),
        backward: (dOut) => model.backward(dOut),
        lossAndGrad: (x, target) => model.lossAndGrad(x, target),
        grads: () => model.readGrads(),
        buffers: () => model.readBuffers(),
        train: (mode) => model.train(mode),
        writeParams: async (p) => model.writeParams(p),
        optimizerStep: async (o) => model.optimizerStep(o),
        resetOptimizer: async () => model.resetOptimizer(),
      });
    } finally {
      model.destroy();
    }
  } finally {
    cleanup();
  }
}

/** every plan's WGSL kernels and generated runtime on one Node WebGPU device (throws NoWebGpuError without one) */
export async function checkWgsl(plans: readonly ModelPlan[], seed: number, limits: GpuLimits = DEFAULT_LIMITS): Promise<{ adapter: string; rows: CheckRow[][] }> {
  const { device, adapter } = await openNodeDevice();
  const out: CheckRow[][] = [];
  try {
    for (const plan of plans) {
      // what a device with these limits cannot run is refused here, naming the layer, as by build
      const schedule = scheduleGpu(plan, lowerModel(plan, { target: 'wgsl', limits }), limits);
      // one rng for the layers and the loss, drawn in the TS check's order
      const rng = rng32(seed);
      const rows: CheckRow[] = [];
      for (const l of plan.layers) rows.push(...(await checkLayerWgsl(device, l, lowerLayer(l, { target: 'wgsl', limits }), rng, limits)));
      const run = runKernelWgsl(device, limits);
      rows.push(...(await checkLossKernel(plan, rng, run)));
      // the kernels the device runs: one per chunk length of the padded arena
      rows.push(...(await checkOptimizerKernels(plan, rng, run, schedule.arena ? chunkLengths(schedule.arena) : [])));
      rows.push(...(await checkGpuModel(device, plan, seed, limits)));
      out.push(rows);
    }
  } finally {
    // the device holds Dawn's threads: destroy it so the process can exit
    device.destroy();
  }
  return { adapter, rows: out };
}
