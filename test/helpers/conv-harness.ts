// Run a conv layer's generated program (both directions) on seeded data and compare every
// kernel output with the float64 reference.
//
// Tolerance, per output buffer: max |got - ref| <= (L + 2) * u * S, where u = 2^-24 (f32
// unit roundoff), L is the reduction length of the kernel that wrote the buffer and S is
// the largest sum of |terms| of one output element (the reference run on |x|, |w|, |dy|).
// That is the worst-case bound for summing L products in f32 plus the final rounding; the
// TS kernels sum in doubles and land far below it, f32 targets (WGSL) stay inside it.

import type { ConvLayerPlan, ConvTransposeLayerPlan } from '../../src/plan/types.ts';
import { numel } from '../../src/plan/types.ts';
import type { StrategyName } from '../../src/spec/types.ts';
import type { KernelCall } from '../../src/kernels/types.ts';
import { lowerConv } from '../../src/kernels/conv.ts';
import { scheduleConv, type ConvLayerSchedule, type ScheduleOverrides } from '../../src/plan/schedule.ts';

/**
 * the target (`wgsl` runs the GPU-shaped kernels, rendered to TS), and what the test forces
 * instead of the planner's schedule: some of its choices, or a whole schedule
 */
export type HarnessOptions = ScheduleOverrides & { readonly target?: 'ts' | 'wgsl'; readonly schedule?: ConvLayerSchedule };
import { refBackward, refForward } from '../../src/reference/index.ts';
import { compileKernelTs } from './run-ts-kernel.ts';
import { mulberry32 } from '../cases.ts';

export type ConvPlan = ConvLayerPlan | ConvTransposeLayerPlan;

export interface BufferCheck {
  readonly buffer: 'y' | 'dx' | 'gradWeight' | 'gradBias';
  readonly maxAbsErr: number;
  readonly tol: number;
  readonly ok: boolean;
}

const U = 2 ** -24;

export function withStrategy(layer: ConvPlan, s: StrategyName): ConvPlan {
  return { ...layer, schedule: { forward: s, gradInput: s, gradWeight: s } } as ConvPlan;
}

/** f32-representable values in [-1, 1), as float32 (the reference reads the same values) */
function rand32(n: number, rng: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng() - 1;
  return a;
}

const abs = (a: Float32Array) => a.map(Math.abs);

function runCalls(calls: readonly KernelCall[], bufs: Record<string, Float32Array>) {
  for (const call of calls) {
    const fn = compileKernelTs(call.kernel);
    fn(
      ...call.kernel.buffers.map((b) => {
        const a = bufs[call.args[b.name]];
        if (!a) throw new Error(`no buffer bound to ${call.kernel.name}.${b.name}`);
        if (a.length !== b.length) throw new Error(`${call.kernel.name}.${b.name}: ${a.length} elements bound, ${b.length} declared`);
        return a;
      }),
    );
  }
}

/** reduction lengths per written buffer (upper bounds: the longest gather any element sees) */
function reductions(layer: ConvPlan) {
  const g = layer.geometry;
  const kk = g.kH * g.kW;
  const perGroup = Math.max(g.inC, g.outC) / g.groups;
  const outPixels = layer.type === 'conv_transpose1d' || layer.type === 'conv_transpose2d' ? g.batch * g.inH * g.inW : g.batch * g.outH * g.outW;
  return { y: perGroup * kk, dx: perGroup * kk, gradWeight: outPixels, gradBias: numel(layer.outShape) / g.outC };
}

/** the inputs and every buffer after running the layer's forward and backward programs */
export interface ConvRun {
  readonly bufs: Record<string, Float32Array>;
  readonly x: Float32Array;
  readonly w: Float32Array;
  readonly b: Float32Array | undefined;
  readonly dy: Float32Array;
}

export function runConvLayer(layer: ConvPlan, seed = 1, opts: HarnessOptions = {}): ConvRun {
  const rng = mulberry32(seed);
  const x = rand32(numel(layer.inShape), rng);
  const w = rand32(numel(layer.weightShape!), rng);
  const b = layer.biasShape ? rand32(numel(layer.biasShape), rng) : undefined;
  const dy = rand32(numel(layer.outShape), rng);
  const prog = lowerConv(layer, opts.schedule ?? scheduleConv(layer, opts.target ?? 'ts', opts));
  // outputs start as NaN: a kernel that skips an element fails the check
  const bufs: Record<string, Float32Array> = {
    x,
    weight: w,
    dy,
    y: new Float32Array(numel(layer.outShape)).fill(NaN),
    dx: new Float32Array(numel(layer.inShape)).fill(NaN),
    gradWeight: new Float32Array(w.length).fill(NaN),
  };
  if (b) {
    bufs.bias = b;
    bufs.gradBias = new Float32Array(b.length).fill(NaN);
  }
  for (const s of prog.scratch) bufs[s.name] = new Float32Array(s.length).fill(NaN);
  runCalls(prog.forward, bufs);
  runCalls(prog.backward, bufs);
  return { bufs, x, w, b, dy };
}

export function checkConvLayer(layer: ConvPlan, seed = 1, opts: HarnessOptions = {}): BufferCheck[] {
  const { bufs, x, w, b, dy } = runConvLayer(layer, seed, opts);
  const ref = refForward(layer, x, { weight: w, bias: b });
  const refB = refBackward(layer, x, ref.y, dy, { weight: w, bias: b }, ref.cache);
  // sums of |terms|: the same maps on absolute values (bias included in forward)
  const absF = refForward(layer, abs(x), { weight: abs(w), bias: b ? abs(b) : undefined });
  const absB = refBackward(layer, abs(x), absF.y, abs(dy), { weight: abs(w), bias: b ? abs(b) : undefined }, absF.cache);
  const L = reductions(layer);
  const check = (buffer: BufferCheck['buffer'], got: Float32Array, want: ArrayLike<number>, absSum: ArrayLike<number>): BufferCheck => {
    let err = got.length === want.length ? 0 : Infinity;
    let S = 0;
    for (let i = 0; i < want.length; i++) {
      const e = Math.abs(got[i] - want[i]);
      err = Number.isNaN(e) ? Infinity : Math.max(err, e);
      S = Math.max(S, absSum[i]);
    }
    const tol = (L[buffer] + 2) * U * S + 1e-30;
    return { buffer, maxAbsErr: err, tol, ok: err <= tol };
  };
  const out = [
    check('y', bufs.y, ref.y, absF.y),
    check('dx', bufs.dx, refB.dx, absB.dx),
    check('gradWeight', bufs.gradWeight, refB.gradWeight!, absB.gradWeight!),
  ];
  if (b) out.push(check('gradBias', bufs.gradBias, refB.gradBias!, absB.gradBias!));
  return out;
}
