// Running rendered WGSL kernels on a WebGPU device, outside the generated runtime: what
// `convgen check --target wgsl` and the WGSL tests use to put one kernel's buffers on the
// device, dispatch its entry points in order and read the outputs back.

import type { KernelCall } from '../kernels/types.ts';
import { lowerKernel } from '../ir/passes.ts';
import { renderKernelWgsl, type WgslKernel } from '../render/wgsl.ts';
import { DEFAULT_LIMITS, type GpuLimits } from './limits.ts';

export type HostArray = Float32Array | Int32Array;

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

/**
 * one kernel call of a layer program made ready to record: rendered, its pipelines and its
 * bind group (the call's args name buffers of `gpu`) created once; `record` records one
 * dispatch per entry point into a pass
 */
export function prepareCall(device: GPUDevice, call: KernelCall, gpu: Readonly<Record<string, GPUBuffer>>, limits: GpuLimits = DEFAULT_LIMITS): { record: (pass: GPUComputePassEncoder) => void; dispatches: number } {
  const p = createKernelPipelines(device, renderKernelWgsl(lowerKernel(call.kernel), limits));
  // a call's range (a block of a split weight) binds its part of the buffer, at its offset
  const resource = (b: { name: string; length: number }) => {
    const at = call.ranges?.[b.name];
    return at === undefined ? { buffer: gpu[call.args[b.name]] } : { buffer: gpu[call.args[b.name]], offset: at * 4, size: b.length * 4 };
  };
  const group = device.createBindGroup({ layout: p.layout, entries: call.kernel.buffers.map((b, i) => ({ binding: i, resource: resource(b) })) });
  const record = (pass: GPUComputePassEncoder) => {
    pass.setBindGroup(0, group);
    for (const { pipeline, workgroups } of p.pipelines) {
      pass.setPipeline(pipeline);
      pass.dispatchWorkgroups(...workgroups);
    }
  };
  return { record, dispatches: p.pipelines.length };
}

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
  const scratch = [...gpuBufs];
  if (scalarOrder.length) {
    const u = new Float32Array(wk.uniformBytes / 4);
    scalarOrder.forEach((s, i) => (u[i] = scalars[s]));
    const ub = device.createBuffer({ size: wk.uniformBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(ub, 0, u);
    scratch.push(ub);
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
  for (const g of scratch) g.destroy();
  return out;
}
