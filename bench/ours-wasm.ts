// convgen's wasm target for one conv layer: the same lowered kernels as ours.ts (lowerConv),
// rendered to WebAssembly (one module, SIMD or scalar) over one memory holding every buffer,
// as the generated wasm.ts lays them out. Buffers are Float32Array views onto that memory;
// each op passes their byte offsets, as wasm/kernels.ts does.

import { lowerConv } from '../src/kernels/conv.ts';
import { scheduleConv, type ScheduleTarget } from '../src/plan/schedule.ts';
import type { KernelCall } from '../src/kernels/types.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { instantiate, kernelModule } from '../src/wasm/run.ts';
import { numel } from '../src/plan/types.ts';
import { callsFor, type ConvRunner } from './ours.ts';
import type { ConvOp, ConvPlan } from './configs.ts';

type Buf = Float32Array | Int32Array;

export function wasmConvRunner(layer: ConvPlan, data: { x: Float32Array; weight: Float32Array; dy: Float32Array }, simd: boolean, schedule: ScheduleTarget = 'wasm'): ConvRunner {
  const program = lowerConv(layer, scheduleConv(layer, schedule));
  const sizes = new Map<string, { n: number; t: 'f32' | 'i32' }>([
    ['x', { n: data.x.length, t: 'f32' }],
    ['y', { n: numel(layer.outShape), t: 'f32' }],
    ['dy', { n: data.dy.length, t: 'f32' }],
    ['dx', { n: numel(layer.inShape), t: 'f32' }],
    ['weight', { n: data.weight.length, t: 'f32' }],
    ['gradWeight', { n: data.weight.length, t: 'f32' }],
  ]);
  if (layer.biasShape) {
    sizes.set('bias', { n: numel(layer.biasShape), t: 'f32' });
    sizes.set('gradBias', { n: numel(layer.biasShape), t: 'f32' });
  }
  for (const s of program.scratch) sizes.set(s.name, { n: s.length, t: s.t });
  const offsets = new Map<string, number>();
  let at = 0;
  for (const [name, { n }] of sizes) {
    offsets.set(name, at);
    at += Math.ceil((n * 4) / 16) * 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
  const buffers: Record<string, Buf> = {};
  for (const [name, { n, t }] of sizes) buffers[name] = t === 'f32' ? new Float32Array(memory.buffer, offsets.get(name)!, n) : new Int32Array(memory.buffer, offsets.get(name)!, n);
  buffers.x!.set(data.x);
  buffers.dy!.set(data.dy);
  buffers.weight!.set(data.weight);

  const calls = [...program.forward, ...program.backward];
  const bytes = encodeModule(kernelModule(calls.map((c) => c.kernel), [], { simd }));
  const exports = instantiate(bytes, memory);
  const bind = (c: KernelCall): (() => void) => {
    const fn = exports[c.kernel.name];
    if (!fn) throw new Error(`bench: the wasm module has no function ${c.kernel.name}`);
    const args = c.kernel.buffers.map((b) => {
      const name = c.args[b.name]!;
      const size = sizes.get(name);
      if (!size) throw new Error(`bench: ${c.kernel.name}: buffer '${b.name}' is bound to '${name}', which the layer does not have`);
      if (size.n !== b.length) throw new Error(`bench: ${c.kernel.name}: '${b.name}' has ${size.n} elements, the kernel expects ${b.length}`);
      return offsets.get(name)!;
    });
    if (c.kernel.scalars.length) throw new Error(`bench: conv kernel ${c.kernel.name} takes runtime scalars`);
    return () => fn(...args);
  };
  const sequence = (cs: readonly KernelCall[]): (() => void) => {
    const fns = cs.map(bind);
    if (fns.length === 1) return fns[0]!;
    return () => {
      for (const f of fns) f();
    };
  };
  const gin = callsFor(program.backward, 'dx');
  const gw = callsFor(program.backward, 'gradWeight');
  const forward = sequence(program.forward);
  // bytes of the one module, shared by every op
  const size = (cs: readonly KernelCall[]) => cs.map(() => bytes.length);
  const ops: Record<ConvOp, () => void> = { forward, gradInput: sequence(gin), gradWeight: sequence(gw) };
  return {
    program,
    buffers,
    ops,
    kernels: { forward: program.forward.map((c) => c.kernel.name), gradInput: gin.map((c) => c.kernel.name), gradWeight: gw.map((c) => c.kernel.name) },
    sourceChars: { forward: size(program.forward), gradInput: size(gin), gradWeight: size(gw) },
    prepare: forward,
  };
}
