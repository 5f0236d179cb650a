// The generated LeNet-5 on either target, behind the one interface the training loop uses:
//   ts    createModel  from generated/lenet5/index.ts (TypeScript kernels, the CPU, synchronous)
//   wgsl  createGpuModel from generated/lenet5/gpu.ts (WGSL shaders on a WebGPU adapter)
// Both start from the same PyTorch-default init for a given seed.

import { createModel, plan } from '../../generated/lenet5/index.ts';
import { createGpuModel } from '../../generated/lenet5/gpu.ts';
import type { CompiledModel, ParamTensors, Trainable } from './model.ts';
import { webgpuDevice } from './webgpu.ts';

export const TARGETS = ['ts', 'wgsl'] as const;
export type Target = (typeof TARGETS)[number];

export interface RunningModel {
  readonly model: Trainable;
  /** the parameters in PyTorch layout (copied back from the device on wgsl) */
  params(): Promise<Record<string, ParamTensors>>;
  /** replace the parameters (PyTorch layout; copied to the device on wgsl) */
  writeParams(p: Record<string, ParamTensors>): void;
  /** replace the parameters from a safetensors file (`<layer>.weight` / `.bias`; strict, as PyTorch's load_state_dict) */
  loadSafetensors(bytes: Uint8Array): Promise<void>;
  /** the parameters as a safetensors file, PyTorch names and shapes; `metadata` goes in its header */
  saveSafetensors(metadata?: Record<string, string>): Promise<Uint8Array>;
  /** which kernels run where, in words */
  readonly description: string;
  close(): void;
}

export async function startLenet(target: Target, seed: number): Promise<RunningModel> {
  if (target === 'ts') {
    const generated = createModel({ seed });
    const model: CompiledModel = generated;
    const writeParams = (p: Record<string, ParamTensors>) => {
      for (const [layer, t] of Object.entries(p)) {
        if (t.weight) model.params[layer].weight!.set(t.weight);
        if (t.bias) model.params[layer].bias!.set(t.bias);
      }
    };
    return {
      model,
      params: async () => model.params,
      writeParams,
      loadSafetensors: async (bytes) => {
        generated.loadSafetensors(bytes);
      },
      saveSafetensors: async (metadata) => generated.saveSafetensors(metadata),
      description: 'generated TypeScript kernels',
      close: () => {},
    };
  }
  const started = performance.now();
  const { device, adapter } = await webgpuDevice();
  const gpu = await createGpuModel(device, { seed });
  // some drivers (lavapipe among them) compile a pipeline at its first dispatch, not when it is
  // created: run the forward and training passes once on a batch of zeros so that compiling
  // happens here, at start, and the first epoch's throughput is the kernels'. This writes only
  // activations, the loss and gradients (all overwritten by the next step), never parameters.
  const zeros = new Float32Array(plan.inShape.reduce<number>((a, b) => a * b, 1));
  await gpu.forward(zeros);
  await gpu.lossAndGrad(zeros, new Int32Array(plan.batch));
  const ready = (performance.now() - started) / 1000;
  const model: Trainable = {
    plan,
    forward: (x) => gpu.forward(x),
    lossAndGrad: (x, labels) => gpu.lossAndGrad(x, labels),
    sgdStep: (lr, o) => gpu.sgdStep(lr, o),
  };
  return {
    model,
    params: () => gpu.readParams(),
    writeParams: (p) => gpu.writeParams(p),
    loadSafetensors: async (bytes) => {
      await gpu.loadSafetensors(bytes);
    },
    saveSafetensors: (metadata) => gpu.saveSafetensors(metadata),
    description: `generated WGSL kernels on WebGPU (${adapter}), pipelines ready in ${ready.toFixed(1)} s`,
    close: () => {
      gpu.destroy();
      device.destroy();
    },
  };
}
