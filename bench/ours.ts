// convgen's own kernels for one conv layer: lowered from the plan (lowerConv), rendered to
// JS by the TS renderer and evaluated (compileKernelTs), then bound to preallocated
// buffers. Each op runs exactly the kernel calls it needs:
//   forward    = the program's forward calls,
//   gradInput  = the backward calls that (transitively) produce dx,
//   gradWeight = the backward calls that (transitively) produce gradWeight.
// Scratch kept from forward (keep: true) is filled by one untimed forward before the
// backward ops are timed, as in a training step.

import { lowerConv } from '../src/kernels/conv.ts';
import { compileKernelTs, renderKernelTs } from '../src/render/ts.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import type { Kernel } from '../src/ir/types.ts';
import type { KernelCall, LayerProgram } from '../src/kernels/types.ts';
import { numel } from '../src/plan/types.ts';
import type { ConvOp, ConvPlan } from './configs.ts';

type Buf = Float32Array | Int32Array;
type KernelFn = (...args: (Buf | number)[]) => void;

/** which buffer holds each op's result */
export const OP_OUTPUT: Record<ConvOp, string> = { forward: 'y', gradInput: 'dx', gradWeight: 'gradWeight' };

export interface ConvRunner {
  readonly program: LayerProgram;
  readonly buffers: Readonly<Record<string, Buf>>;
  /** the op's kernel calls, bound to the buffers */
  readonly ops: Record<ConvOp, () => void>;
  /** kernel names per op, for the report */
  readonly kernels: Record<ConvOp, string[]>;
  /**
   * characters of rendered JS per op's kernels: V8 leaves a function whose bytecode passes
   * --max-optimized-bytecode-size (60 KiB) unoptimized, so a huge unrolled kernel runs
   * interpreted; the report shows the size next to the speed
   */
  readonly sourceChars: Record<ConvOp, number[]>;
  /** run the forward once so kept scratch holds what backward reads */
  prepare(): void;
}

const compiled = new WeakMap<Kernel, KernelFn>();
function compile(k: Kernel): KernelFn {
  let f = compiled.get(k);
  if (!f) {
    f = compileKernelTs(k) as KernelFn;
    compiled.set(k, f);
  }
  return f;
}

const bound = (c: KernelCall, access: (a: string) => boolean) => c.kernel.buffers.filter((b) => access(b.access)).map((b) => c.args[b.name]);

/**
 * the backward calls needed for `target`, in program order: a backward liveness walk.
 * Several write-only calls in a row may each write part of a buffer (interior, border rows,
 * border columns), so a write does not end the need at once: earlier writers stay needed
 * until a call that reads the buffer and is not needed appears (it consumes an earlier
 * value, as dW's GEMM reads the im2row columns that dX's GEMM then overwrites). If this
 * picks too few calls, the op leaves NaN in its output and fails the cross-check.
 */
export function callsFor(backward: readonly KernelCall[], target: string): KernelCall[] {
  // needed: its producers are wanted; group: a write-only writer was taken, more may follow
  const state = new Map<string, 'needed' | 'group'>([[target, 'needed']]);
  const picked: KernelCall[] = [];
  for (let i = backward.length - 1; i >= 0; i--) {
    const c = backward[i];
    const reads = bound(c, (a) => a !== 'write');
    if (!bound(c, (a) => a !== 'read').some((b) => state.has(b))) {
      for (const r of reads) if (state.get(r) === 'group') state.delete(r);
      continue;
    }
    picked.push(c);
    for (const w of bound(c, (a) => a === 'write')) state.set(w, 'group');
    for (const r of reads) state.set(r, 'needed');
  }
  return picked.reverse();
}

export function convRunner(layer: ConvPlan, data: { x: Float32Array; weight: Float32Array; dy: Float32Array }): ConvRunner {
  const program = lowerConv(layer);
  const buffers: Record<string, Buf> = {
    x: Float32Array.from(data.x),
    y: new Float32Array(numel(layer.outShape)),
    dy: Float32Array.from(data.dy),
    dx: new Float32Array(numel(layer.inShape)),
    weight: Float32Array.from(data.weight),
    gradWeight: new Float32Array(data.weight.length),
  };
  if (layer.biasShape) {
    buffers.bias = new Float32Array(numel(layer.biasShape));
    buffers.gradBias = new Float32Array(numel(layer.biasShape));
  }
  for (const s of program.scratch) buffers[s.name] = s.t === 'f32' ? new Float32Array(s.length) : new Int32Array(s.length);

  const bind = (c: KernelCall): (() => void) => {
    const fn = compile(c.kernel);
    const args: (Buf | number)[] = c.kernel.buffers.map((b) => {
      const a = buffers[c.args[b.name]];
      if (!a) throw new Error(`bench: ${c.kernel.name}: buffer '${b.name}' is bound to '${c.args[b.name]}', which the layer does not have`);
      if (a.length !== b.length) throw new Error(`bench: ${c.kernel.name}: '${b.name}' has ${a.length} elements, the kernel expects ${b.length}`);
      return a;
    });
    if (c.kernel.scalars.length) throw new Error(`bench: conv kernel ${c.kernel.name} takes runtime scalars`);
    return () => fn(...args);
  };
  const sequence = (calls: readonly KernelCall[]): (() => void) => {
    const bound = calls.map(bind);
    if (bound.length === 1) return bound[0];
    return () => {
      for (const f of bound) f();
    };
  };
  const gin = callsFor(program.backward, 'dx');
  const gw = callsFor(program.backward, 'gradWeight');
  const forward = sequence(program.forward);
  const chars = (calls: readonly KernelCall[]) => calls.map((c) => renderKernelTs(lowerKernel(c.kernel), { types: false }).length);
  return {
    program,
    buffers,
    ops: { forward, gradInput: sequence(gin), gradWeight: sequence(gw) },
    kernels: {
      forward: program.forward.map((c) => c.kernel.name),
      gradInput: gin.map((c) => c.kernel.name),
      gradWeight: gw.map((c) => c.kernel.name),
    },
    sourceChars: { forward: chars(program.forward), gradInput: chars(gin), gradWeight: chars(gw) },
    prepare: forward,
  };
}
