// Run one layer's program (forward, then backward) as WGSL on a WebGPU device, on the data
// `convgen check --target wgsl` uses, and compare every output with the float64 reference:
// src/check/layer-wgsl.ts, with a fresh rng per layer so each case stands alone.

import type { LayerPlan } from '../../src/plan/types.ts';
import type { LayerProgram } from '../../src/kernels/types.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../../src/gpu/limits.ts';
import { runLayerWgsl, type WgslOutput } from '../../src/check/layer-wgsl.ts';
import { mulberry32 } from '../cases.ts';

export type LayerResult = WgslOutput;

/** outputs of the layer compared with refForward / refBackward (y, dx, gradWeight, gradBias) */
export async function checkLayerWgsl(device: GPUDevice, l: LayerPlan, prog: LayerProgram, seed = 1, limits: GpuLimits = DEFAULT_LIMITS): Promise<readonly LayerResult[]> {
  return (await runLayerWgsl(device, l, prog, mulberry32(seed), limits)).outputs;
}
