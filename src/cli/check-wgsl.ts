// convgen check --target wgsl: what check.ts does for TS, on a WebGPU adapter (Dawn for
// Node, src/gpu/node-device.ts):
//   1. every layer's WGSL kernels (the wgsl program: GPU-shaped convs, the shared rest)
//      and the loss kernel, on the same seeded data and tolerances as the TS rows
//      (src/gpu/check-layer.ts);
//   2. the generated WebGPU runtime (gpu.ts, plain-JS flavour, imported from a temp
//      folder): forward, the loss and every gradient after lossAndGrad (or backward)
//      against the reference model with the same parameters, as checkModel does for TS.
// No adapter (or no `webgpu` package): exit 1, saying how to get one.

import { EXIT_CHECK_FAILED, EXIT_OK } from '../errors.ts';
import type { ModelPlan } from '../plan/types.ts';
import { lowerLayer, lowerModel } from '../kernels/index.ts';
import { scheduleGpu } from '../gpu/schedule.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.ts';
import { NoWebGpuError, openNodeDevice } from '../gpu/node-device.ts';
import { checkLayerWgsl, checkLossWgsl } from '../gpu/check-layer.ts';
import { compareModel, formatCheckTable, importEmitted, rng32, type CheckRow } from './check.ts';

type Tensors = Record<string, { weight?: Float32Array; bias?: Float32Array }>;

/** the members of the generated gpu.ts the model check uses */
interface GpuModel {
  forward(x: Float32Array): Promise<Float32Array>;
  backward(dOut: Float32Array): Promise<Float32Array>;
  lossAndGrad(x: Float32Array, labels: Int32Array): Promise<number>;
  readParams(): Promise<Tensors>;
  readGrads(): Promise<Tensors>;
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
        lossAndGrad: (x, labels) => model.lossAndGrad(x, labels),
        grads: () => model.readGrads(),
      });
    } finally {
      model.destroy();
    }
  } finally {
    cleanup();
  }
}

/** check every plan's WGSL target; prints one table per model, returns the exit code */
export async function checkWgsl(plans: readonly ModelPlan[], seed: number, limits: GpuLimits = DEFAULT_LIMITS): Promise<number> {
  let opened;
  try {
    opened = await openNodeDevice();
  } catch (err) {
    if (!(err instanceof NoWebGpuError)) throw err;
    process.stderr.write(`convgen check: --target wgsl: ${err.message}\n`);
    return EXIT_CHECK_FAILED;
  }
  const { device, adapter } = opened;
  let failures = 0;
  try {
    for (const plan of plans) {
      // what a device with these limits cannot run is refused here, naming the layer, as by build
      scheduleGpu(plan, lowerModel(plan, { target: 'wgsl' }), limits);
      // one rng for the layers and the loss, drawn in the TS check's order
      const rng = rng32(seed);
      const rows: CheckRow[] = [];
      for (const l of plan.layers) rows.push(...(await checkLayerWgsl(device, l, lowerLayer(l, { target: 'wgsl' }), rng, limits)));
      rows.push(...(await checkLossWgsl(device, plan, rng, limits)));
      rows.push(...(await checkGpuModel(device, plan, seed, limits)));
      const bad = rows.filter((r) => r.result && !r.result.ok).length;
      failures += bad;
      const title = `model ${plan.name} (target wgsl on ${adapter}, seed ${seed}): ${bad === 0 ? 'all within tolerance' : `${bad} FAILED`}`;
      process.stdout.write(formatCheckTable(title, rows) + '\n');
    }
  } finally {
    // the device holds Dawn's threads: destroy it so the process can exit
    device.destroy();
  }
  return failures === 0 ? EXIT_OK : EXIT_CHECK_FAILED;
}
