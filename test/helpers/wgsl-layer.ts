// Run one layer's program (forward, then backward) as WGSL on a WebGPU device, on the same
// data `convgen check` uses, and compare every output with the float64 reference.

import type { LayerPlan } from '../../src/plan/types.ts';
import { numel } from '../../src/plan/types.ts';
import type { KernelCall, LayerProgram } from '../../src/kernels/types.ts';
import { lowerKernel } from '../../src/ir/passes.ts';
import { renderKernelWgsl } from '../../src/render/wgsl.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../../src/gpu/limits.ts';
import { refBackward, refForward, type RefParams } from '../../src/reference/index.ts';
import { compare, kernelTolerance, reductionLength, type Comparison } from '../../src/cli/check.ts';
import { createKernelPipelines, download, pumped, upload, type HostArray } from './webgpu.ts';
import { mulberry32 } from '../cases.ts';

const uniform = (n: number, rng: () => number, scale = 1): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng() - 1) * scale;
  return a;
};

export interface LayerResult {
  readonly out: string;
  readonly kernels: string[];
  readonly result: Comparison;
}

/** encode one kernel call: bind the layer's buffers by the call's args, one dispatch per entry */
function encodeCall(device: GPUDevice, pass: GPUComputePassEncoder, call: KernelCall, gpu: Record<string, GPUBuffer>, limits: GpuLimits) {
  const wk = renderKernelWgsl(lowerKernel(call.kernel), limits);
  const p = createKernelPipelines(device, wk);
  const entries = call.kernel.buffers.map((b, i) => ({ binding: i, resource: { buffer: gpu[call.args[b.name]] } }));
  pass.setBindGroup(0, device.createBindGroup({ layout: p.layout, entries }));
  for (const { pipeline, workgroups } of p.pipelines) {
    pass.setPipeline(pipeline);
    pass.dispatchWorkgroups(...workgroups);
  }
}

/** outputs of the layer compared with refForward / refBackward (y, dx, gradWeight, gradBias) */
export async function checkLayerWgsl(device: GPUDevice, l: LayerPlan, prog: LayerProgram, seed = 1, limits: GpuLimits = DEFAULT_LIMITS): Promise<LayerResult[]> {
  const rng = mulberry32(seed);
  const fanIn = l.weightShape ? numel(l.weightShape) / l.weightShape[0] : 1;
  const host: Record<string, HostArray> = {
    x: uniform(numel(l.inShape), rng),
    dy: uniform(numel(l.outShape), rng),
    y: new Float32Array(numel(l.outShape)).fill(NaN),
    dx: new Float32Array(numel(l.inShape)).fill(NaN),
  };
  const params: RefParams = {};
  if (l.weightShape) {
    host.weight = params.weight = uniform(numel(l.weightShape), rng, 1 / Math.sqrt(fanIn));
    host.gradWeight = new Float32Array(numel(l.weightShape)).fill(NaN);
  }
  if (l.biasShape) {
    host.bias = params.bias = uniform(numel(l.biasShape), rng, 1 / Math.sqrt(fanIn));
    host.gradBias = new Float32Array(numel(l.biasShape)).fill(NaN);
  }
  // scratch starts as NaN too: a reader of an unwritten element fails the comparison
  for (const s of prog.scratch) host[s.name] = s.t === 'f32' ? new Float32Array(s.length).fill(NaN) : new Int32Array(s.length).fill(-1);
  const gpu: Record<string, GPUBuffer> = {};
  for (const [k, a] of Object.entries(host)) gpu[k] = upload(device, a);

  device.pushErrorScope('validation');
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  const written = new Map<string, string[]>();
  for (const call of [...prog.forward, ...prog.backward]) {
    encodeCall(device, pass, call, gpu, limits);
    for (const b of call.kernel.buffers) if (b.access !== 'read') written.set(call.args[b.name], [...(written.get(call.args[b.name]) ?? []), call.kernel.name]);
  }
  pass.end();
  device.queue.submit([enc.finish()]);
  const err = await pumped(device.popErrorScope());
  if (err) throw new Error(`${l.name}: WebGPU validation: ${err.message}`);

  const fwd = refForward(l, host.x as Float32Array, params);
  const bwd = refBackward(l, host.x as Float32Array, fwd.y, host.dy as Float32Array, params, fwd.cache);
  const want: Record<string, ArrayLike<number> | undefined> = { y: fwd.y, dx: bwd.dx, gradWeight: bwd.gradWeight, gradBias: bwd.gradBias };
  const out: LayerResult[] = [];
  for (const [name, ref] of Object.entries(want)) {
    if (!ref) continue;
    const kernels = written.get(name);
    if (!kernels) throw new Error(`${l.name}: no kernel writes ${name}`);
    const got = await download(device, gpu[name], ref.length, Float32Array);
    out.push({ out: name, kernels, result: compare(got, ref, kernelTolerance(reductionLength(l, name as 'y'))) });
  }
  for (const b of Object.values(gpu)) b.destroy();
  return out;
}
