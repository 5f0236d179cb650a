// A WebGPU device for the WGSL tests, from Dawn (npm `webgpu`, opened by
// src/gpu/node-device.ts, which `convgen check --target wgsl` uses too).
//
// - `validationDevice()`: Dawn's null backend, which validates WGSL and pipelines fully with
//   no driver at all: every emitted shader must pass it, on any machine.
// - `numericDevice()`: a real adapter (Mesa's lavapipe in CI) to run shaders and compare.
//   In CI (CI=true) no adapter is a test failure; elsewhere the numeric tests skip and say
//   how to get one (scripts/install-webgpu-deps.sh).
//
// node-device.ts keeps the objects `create()` returns referenced for the life of the
// process: if one is garbage-collected while a device is in use, Dawn crashes or hangs.

import { HOW_TO_GET_AN_ADAPTER, NoWebGpuError, openNodeDevice } from '../../src/gpu/node-device.ts';

const HOW = `no WebGPU adapter: ${HOW_TO_GET_AN_ADAPTER}; the WGSL numeric tests need one`;

let nullDevice: Promise<GPUDevice> | null = null;
let realDevice: Promise<GPUDevice | null> | null = null;

/** a device on Dawn's null backend (validation only: nothing runs) */
export function validationDevice(): Promise<GPUDevice> {
  nullDevice ??= openNodeDevice('null').then((d) => d.device);
  return nullDevice;
}

/** a device that runs shaders, or null when this machine has no adapter (outside CI only) */
export function numericDevice(): Promise<GPUDevice | null> {
  realDevice ??= (async () => {
    try {
      return (await openNodeDevice('default')).device;
    } catch (err) {
      if (!(err instanceof NoWebGpuError)) throw err;
      if (process.env.CI === 'true') throw new Error(`CI: ${err.message}`);
      return null;
    }
  })();
  return realDevice;
}

/** the skip message for numeric tests */
export const NO_ADAPTER = HOW;

/** the device or, outside CI, null after printing how to get one (once per file) */
let warned = false;
export async function numericDeviceOrSkip(): Promise<GPUDevice | null> {
  const d = await numericDevice();
  if (!d && !warned) {
    warned = true;
    console.warn(HOW);
  }
  return d;
}

/** GPU validation errors of `fn` (pipelines, bind groups, dispatches), as messages */
export async function validationErrors(device: GPUDevice, fn: () => void | Promise<void>): Promise<string[]> {
  device.pushErrorScope('validation');
  await fn();
  const err = await device.popErrorScope();
  return err ? [err.message] : [];
}

// ---- running one rendered kernel: src/gpu/run-kernel.ts (convgen check --target wgsl uses it too)

export { createKernelPipelines, download, pumped, runWgslKernel, upload, type HostArray, type KernelPipelines } from '../../src/gpu/run-kernel.ts';

/** compilation errors and warnings of a module, as `line:col message` */
export async function compilationMessages(device: GPUDevice, code: string): Promise<string[]> {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  return info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
}
