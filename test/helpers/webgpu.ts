// A WebGPU device for the WGSL tests, from Dawn (npm `webgpu`).
//
// - `validationDevice()`: Dawn's null backend, which validates WGSL and pipelines fully with
//   no driver at all: every emitted shader must pass it, on any machine.
// - `numericDevice()`: a real adapter (Mesa's lavapipe in CI) to run shaders and compare.
//   In CI (CI=true) no adapter is a test failure; elsewhere the numeric tests skip and say
//   how to get one (scripts/install-webgpu-deps.sh).
//
// The objects `create()` returns are kept in module variables on purpose: if one is
// garbage-collected while a device is in use, Dawn crashes or hangs the process.

import { create, globals } from 'webgpu';

// lavapipe runs compute on a pool of worker threads; on a loaded 2-core machine waits on that
// pool were seen to stall single submissions for seconds. Inline execution (0 threads) was as
// fast on a quiet machine and keeps runs predictable. Read when the driver loads (first create).
process.env.LP_NUM_THREADS ??= '0';

Object.assign(globalThis, globals);

const HOW = 'no WebGPU adapter: run `sudo bash scripts/install-webgpu-deps.sh` (Mesa lavapipe from bookworm-backports) to run the WGSL numeric tests';

let nullGpu: GPU | null = null;
let realGpu: GPU | null = null;
let nullDevice: Promise<GPUDevice> | null = null;
let realDevice: Promise<GPUDevice | null> | null = null;

/** a device on Dawn's null backend (validation only: nothing runs) */
export function validationDevice(): Promise<GPUDevice> {
  nullDevice ??= (async () => {
    nullGpu = create(['backend=null']);
    const adapter = await nullGpu.requestAdapter();
    if (!adapter) throw new Error('Dawn null backend gave no adapter');
    return adapter.requestDevice({ requiredLimits: limitsOf(adapter) });
  })();
  return nullDevice;
}

/** the adapter's own limits (the shaders plan for the spec defaults, which every adapter meets) */
function limitsOf(adapter: GPUAdapter): Record<string, number> {
  const want = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage'];
  const out: Record<string, number> = {};
  for (const k of want) out[k] = (adapter.limits as unknown as Record<string, number>)[k];
  return out;
}

/** a device that runs shaders, or null when this machine has no adapter (outside CI only) */
export function numericDevice(): Promise<GPUDevice | null> {
  realDevice ??= (async () => {
    realGpu = create([]);
    const adapter = await realGpu.requestAdapter();
    if (!adapter) {
      if (process.env.CI === 'true') throw new Error(`CI: ${HOW}`);
      return null;
    }
    return adapter.requestDevice({ requiredLimits: limitsOf(adapter) });
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

// ---- running one rendered kernel -------------------------------------------------------

import type { WgslKernel } from '../../src/render/wgsl.ts';

export interface KernelPipelines {
  readonly layout: GPUBindGroupLayout;
  readonly pipelines: readonly { pipeline: GPUComputePipeline; workgroups: readonly [number, number, number] }[];
}

/** the module, an explicit bind group layout (entries may use a subset) and one pipeline per entry */
export function createKernelPipelines(device: GPUDevice, wk: WgslKernel): KernelPipelines {
  const layout = device.createBindGroupLayout({
    entries: wk.bindings.map((b) => ({ binding: b.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: b.type, minBindingSize: b.bytes } })),
  });
  const module = device.createShaderModule({ code: wk.code, label: wk.name });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const pipelines = wk.entries.map((e) => ({
    pipeline: device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: e.name }, label: `${wk.name}.${e.name}` }),
    workgroups: e.workgroups,
  }));
  return { layout, pipelines };
}

/** compilation errors and warnings of a module, as `line:col message` */
export async function compilationMessages(device: GPUDevice, code: string): Promise<string[]> {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  return info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
}

export type HostArray = Float32Array | Int32Array;

/**
 * `p`, with the event loop kept busy until it settles: Dawn's Node binding delivers
 * completions (mapAsync, onSubmittedWorkDone) from event-loop turns, and with nothing else
 * scheduled a long submission was seen to resolve tens of seconds late
 */
export async function pumped<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
}

/** a storage buffer holding `data` (COPY_SRC so it can be read back) */
export function upload(device: GPUDevice, data: HostArray): GPUBuffer {
  const buf = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buf.unmap();
  return buf;
}

/** read `buf` back as `n` elements of the given type */
export async function download<T extends HostArray>(device: GPUDevice, buf: GPUBuffer, n: number, ctor: new (b: ArrayBuffer) => T): Promise<T> {
  const bytes = Math.ceil((n * 4) / 16) * 16;
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await pumped(staging.mapAsync(GPUMapMode.READ));
  const out = new ctor(staging.getMappedRange().slice(0, n * 4));
  staging.unmap();
  staging.destroy();
  return out;
}

/**
 * run one kernel on buffers given by name (the kernel's own buffer names), in one
 * submission; returns the written buffers read back
 */
export async function runWgslKernel(
  device: GPUDevice,
  wk: WgslKernel,
  kernelBuffers: readonly { name: string; t: 'f32' | 'i32'; length: number; access: string }[],
  data: Record<string, HostArray>,
  scalars: Record<string, number> = {},
  scalarOrder: readonly string[] = [],
): Promise<Record<string, HostArray>> {
  const p = createKernelPipelines(device, wk);
  const gpuBufs = kernelBuffers.map((b) => {
    const a = data[b.name];
    if (!a) throw new Error(`runWgslKernel: ${wk.name}: no buffer '${b.name}'`);
    if (a.length !== b.length) throw new Error(`runWgslKernel: ${wk.name}: '${b.name}' has ${a.length} elements, expected ${b.length}`);
    return upload(device, a);
  });
  const entries: GPUBindGroupEntry[] = gpuBufs.map((buffer, i) => ({ binding: i, resource: { buffer } }));
  if (scalarOrder.length) {
    const u = new Float32Array(wk.uniformBytes / 4);
    scalarOrder.forEach((s, i) => (u[i] = scalars[s]));
    const ub = device.createBuffer({ size: wk.uniformBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(ub, 0, u);
    entries.push({ binding: kernelBuffers.length, resource: { buffer: ub } });
  }
  const bindGroup = device.createBindGroup({ layout: p.layout, entries });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setBindGroup(0, bindGroup);
  for (const { pipeline, workgroups } of p.pipelines) {
    pass.setPipeline(pipeline);
    pass.dispatchWorkgroups(...workgroups);
  }
  pass.end();
  device.queue.submit([enc.finish()]);
  const out: Record<string, HostArray> = {};
  for (const [i, b] of kernelBuffers.entries()) {
    if (b.access === 'read') continue;
    out[b.name] = b.t === 'f32' ? await download(device, gpuBufs[i], b.length, Float32Array) : await download(device, gpuBufs[i], b.length, Int32Array);
  }
  for (const g of gpuBufs) g.destroy();
  return out;
}
