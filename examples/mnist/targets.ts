// A generated digit classifier on either target, behind the one interface the training loop uses:
//   ts    createModel  from generated/<name>/index.ts (TypeScript kernels, the CPU, synchronous)
//   wgsl  createGpuModel from generated/<name>/gpu.ts (WGSL shaders on a WebGPU adapter)
// Both start from the same PyTorch-default init for a given seed. LeNet-5 (generated/lenet5,
// from examples/lenet.json) is the default; any model built with `convgen build` whose input
// is 1x28x28 and whose output is 10 class scores works the same (examples/resnet.json).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLASSES, IMAGE_SIZE } from './data.ts';
import type { CompiledModel, ParamTensors, Trainable } from './model.ts';
import { webgpuDevice } from './webgpu.ts';

export const TARGETS = ['ts', 'wgsl'] as const;
export type Target = (typeof TARGETS)[number];

/** the model train.ts and predict.ts use without --model */
export const DEFAULT_MODEL = 'examples/lenet.json';

export interface RunningModel {
  readonly model: Trainable;
  /** the parameters in PyTorch layout (copied back from the device on wgsl) */
  params(): Promise<Record<string, ParamTensors>>;
  /** replace the parameters (PyTorch layout; copied to the device on wgsl) */
  writeParams(p: Record<string, ParamTensors>): void;
  /** replace the parameters (and batch norm's running stats) from a safetensors file (strict, as PyTorch's load_state_dict) */
  loadSafetensors(bytes: Uint8Array): Promise<void>;
  /** the state_dict (parameters and running stats) as a safetensors file, PyTorch names and shapes; `metadata` goes in its header */
  saveSafetensors(metadata?: Record<string, string>): Promise<Uint8Array>;
  /** which kernels run where, in words */
  readonly description: string;
  close(): void;
}

/** what the apps use of generated/<name>/index.ts */
interface ModelModule {
  plan: CompiledModel['plan'];
  createModel(o: { seed: number }): CompiledModel & {
    loadSafetensors(bytes: Uint8Array): unknown;
    saveSafetensors(metadata?: Record<string, string>): Uint8Array;
  };
}

/** what the apps use of generated/<name>/gpu.ts */
interface GpuModule {
  createGpuModel(device: GPUDevice, o: { seed: number }): Promise<
    Omit<Trainable, 'plan'> & {
      forward(x: Float32Array): Promise<Float32Array>;
      lossAndGrad(x: Float32Array, labels: Int32Array): Promise<number>;
      readParams(): Promise<Record<string, ParamTensors>>;
      writeParams(p: Record<string, ParamTensors>): void;
      readBuffers(): Promise<Record<string, unknown>>;
      writeBuffers(b: Record<string, unknown>): void;
      loadSafetensors(bytes: Uint8Array): Promise<unknown>;
      saveSafetensors(metadata?: Record<string, string>): Promise<Uint8Array>;
      destroy(): void;
    }
  >;
}

const GENERATED = new URL('../../generated/', import.meta.url);

/**
 * the generated module's name for a model file: its "name", which `convgen build` uses for the
 * folder generated/<name>/. Exits with a message when the file is unreadable or not built yet.
 */
export function modelName(file: string): string {
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
  } catch (e) {
    fail(`--model ${file}: cannot read it as JSON (${(e as Error).message})`);
  }
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`--model ${file}: it has no "name" (the generated module's folder)`);
  if (!existsSync(fileURLToPath(new URL(`${name}/index.ts`, GENERATED)))) {
    fail(`--model ${file}: generated/${name}/ is not built; run: node bin/convgen.js build ${file}`);
  }
  return name;
}

function fail(message: string): never {
  process.stderr.write(message + '\n');
  process.exit(2);
}

/** a digit classifier takes [batch, 1, 28, 28] and gives [batch, 10] */
function checkDigitClassifier(plan: CompiledModel['plan']): void {
  const [, c, h, w] = plan.inShape;
  const ok = plan.inShape.length === 4 && c === 1 && h === IMAGE_SIZE && w === IMAGE_SIZE && plan.outShape.length === 2 && plan.outShape[1] === CLASSES;
  if (!ok) {
    throw new Error(
      `model ${plan.name} takes [${plan.inShape.join(', ')}] and gives [${plan.outShape.join(', ')}]: ` +
        `the digit apps need input [batch, 1, ${IMAGE_SIZE}, ${IMAGE_SIZE}] and output [batch, ${CLASSES}]`,
    );
  }
}

export async function startLenet(target: Target, seed: number): Promise<RunningModel> {
  return startModel('lenet5', target, seed);
}

/** the generated module generated/<name>/ (built by `convgen build`) on `target`, initialized from `seed` */
export async function startModel(name: string, target: Target, seed: number): Promise<RunningModel> {
  const { createModel, plan } = (await import(new URL(`${name}/index.ts`, GENERATED).href)) as ModelModule;
  checkDigitClassifier(plan);
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
  const { createGpuModel } = (await import(new URL(`${name}/gpu.ts`, GENERATED).href)) as GpuModule;
  const started = performance.now();
  const { device, adapter } = await webgpuDevice();
  const gpu = await createGpuModel(device, { seed });
  // some drivers (lavapipe among them) compile a pipeline at its first dispatch, not when it is
  // created: run the forward and training passes once on a batch of zeros so that compiling
  // happens here, at start, and the first epoch's throughput is the kernels'. This writes
  // activations, the loss and gradients (all overwritten by the next step), never parameters;
  // a training-mode pass also moves batch norm's running stats, which are put back after.
  const zeros = new Float32Array(plan.inShape.reduce<number>((a, b) => a * b, 1));
  const stats = await gpu.readBuffers();
  gpu.eval();
  await gpu.forward(zeros);
  gpu.train();
  await gpu.forward(zeros);
  await gpu.lossAndGrad(zeros, new Int32Array(plan.batch));
  gpu.writeBuffers(stats);
  const ready = (performance.now() - started) / 1000;
  const model: Trainable = {
    plan,
    forward: (x) => gpu.forward(x),
    lossAndGrad: (x, labels) => gpu.lossAndGrad(x, labels),
    sgdStep: (lr, o) => gpu.sgdStep(lr, o),
    optimizerStep: (o) => gpu.optimizerStep(o),
    get training() {
      return gpu.training;
    },
    train: (mode) => gpu.train(mode),
    eval: () => gpu.eval(),
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
