// The generated LeNet-5 on either target, behind the one interface the training loop uses:
//   ts    createModel  from generated/lenet5/index.ts (TypeScript kernels, the CPU, synchronous)
//   wgsl  createGpuModel from generated/lenet5/gpu.ts (WGSL shaders on a WebGPU adapter)
// Both start from the same PyTorch-default init for a given seed.

import { createModel, plan } from '../../generated/lenet5/index.ts';
import { createGpuModel, type GpuDeviceLike } from '../../generated/lenet5/gpu.ts';
import type { CompiledModel, ParamTensors, Trainable } from './model.ts';
import { webgpuDevice } from './webgpu.ts';

export const TARGETS = ['ts', 'wgsl'] as const;
export type Target = (typeof TARGETS)[number];

export interface RunningModel {
  readonly model: Trainable;
  /** the parameters in PyTorch layout (copied back from the device on wgsl) */
  params(): Promise<Record<string, ParamTensors>>;
  /** which kernels run where, in words */
  readonly description: string;
  close(): void;
}

export async function startLenet(target: Target, seed: number): Promise<RunningModel> {
  if (target === 'ts') {
    const model: CompiledModel = createModel({ seed });
    return { model, params: async () => model.params, description: 'generated TypeScript kernels', close: () => {} };
  }
  const { device, adapter } = await webgpuDevice();
  // the cast: GpuDeviceLike types writeBuffer's data as ArrayBufferView<ArrayBufferLike>, which
  // TypeScript 5.9's GPUDevice (ArrayBuffer-backed views only) does not accept; reported
  const gpu = await createGpuModel(device as unknown as GpuDeviceLike, { seed });
  const model: Trainable = {
    plan,
    forward: (x) => gpu.forward(x),
    lossAndGrad: (x, labels) => gpu.lossAndGrad(x, labels),
    sgdStep: (lr, o) => gpu.sgdStep(lr, o),
  };
  return {
    model,
    params: () => gpu.readParams(),
    description: `generated WGSL kernels on WebGPU (${adapter})`,
    close: () => {
      gpu.destroy();
      device.destroy();
    },
  };
}
