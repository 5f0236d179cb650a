// A WebGPU device in Node through the `webgpu` npm package (Dawn). Any adapter works: a real
// GPU, or Mesa's software lavapipe (see scripts/install-webgpu-deps.sh) on a machine without one.

import type { create as Create } from 'webgpu';

// Dawn crashes or hangs if the object create() returns is garbage-collected while a device
// is in use: keep it for the life of the process
let gpu: ReturnType<typeof Create> | null = null;

export interface WebGpu {
  device: GPUDevice;
  /** the adapter, in words: vendor, architecture, device */
  adapter: string;
}

export async function webgpuDevice(): Promise<WebGpu> {
  // loaded on demand: a TypeScript-target run never starts Dawn
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  gpu ??= create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error('no WebGPU adapter: on Linux without a GPU, `sudo bash scripts/install-webgpu-deps.sh` installs Mesa lavapipe');
  }
  const device = await adapter.requestDevice();
  const { vendor, architecture, device: name } = adapter.info;
  return { device, adapter: [vendor, architecture, name].filter(Boolean).join(' ') };
}
