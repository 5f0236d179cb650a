// tfjs peers: @tensorflow/tfjs-backend-cpu (plain JS) and @tensorflow/tfjs-backend-wasm
// (XNNPACK, SIMD), single thread, on the same inputs as every other row.
//
// NHWC is tfjs's layout (the wasm backend accepts nothing else), so each op is timed twice:
// `kernel` on inputs already in NHWC / HWIO, and `layout`, the transposes an NCHW user adds
// around it (inputs in, result out). Targets compare against the kernel alone, the harder
// comparison for us; the table shows kernel + layout too.
//
// Both conv kinds are expressed through one underlying conv U -> V with an HWIO filter:
// conv2d is that conv; conv_transpose2d is its adjoint (forward = the conv's backprop-input).

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ConvOp, ConvPlan } from '../configs.ts';

export type TfBackend = 'tfjs-cpu' | 'tfjs-wasm';
export const TF_BACKENDS: readonly TfBackend[] = ['tfjs-cpu', 'tfjs-wasm'];
const BACKEND_NAME: Record<TfBackend, string> = { 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm' };

let ready = false;

/** register both backends; the wasm binaries come from node_modules, never the network */
export async function initTfjs(): Promise<void> {
  if (ready) return;
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  // single thread: the threaded binary would spread XNNPACK over both cores
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(1);
  setWasmPaths(dist + path.sep);
  // PROD: no "install tfjs-node" banner in the report output
  tf.env().set('PROD', true);
  for (const b of TF_BACKENDS) {
    if (!(await tf.setBackend(BACKEND_NAME[b]))) throw new Error(`bench: tfjs backend ${b} did not initialize`);
  }
  ready = true;
}

export async function useBackend(b: TfBackend): Promise<void> {
  await initTfjs();
  if (!(await tf.setBackend(BACKEND_NAME[b]))) throw new Error(`bench: cannot switch to ${b}`);
}

/** what an implementation offers for one op */
export interface PeerOp {
  /** the NHWC kernel on pre-transposed inputs; null: the backend has no kernel for it */
  readonly kernel: (() => void) | null;
  /** the transposes an NCHW user pays around the kernel */
  readonly layout: () => void;
  /** NCHW in, NCHW (PyTorch layout) out: what is cross-checked */
  readonly result: (() => Float32Array) | null;
  /** how the op is computed (kernel names), for the report */
  readonly route: string;
  /** where the backend has no kernel: the best route it does offer */
  readonly fallback?: PeerOp;
}

export interface TfConvInputs {
  /** PyTorch layouts: x NCHW, weight conv [Cout,Cin,kH,kW] / conv_transpose [Cin,Cout,kH,kW], dy NCHW */
  readonly x: Float32Array;
  readonly weight: Float32Array;
  readonly dy: Float32Array;
}

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];
/** PyTorch weight -> HWIO of the underlying conv (conv [O,I,kh,kw] and conv_transpose [I_u... see header]) */
const TO_HWIO = [2, 3, 1, 0];
const FROM_HWIO = [3, 2, 0, 1];

type T4 = tf.Tensor4D;

/**
 * the tfjs ops of one conv layer on the current backend. Call `dispose` when done: the
 * inputs live in the backend's memory (wasm heap for the wasm backend).
 */
export function tfConvOps(layer: ConvPlan, backend: TfBackend, data: TfConvInputs): { ops: Record<ConvOp, PeerOp>; dispose: () => void } {
  const g = layer.geometry;
  const transposed = layer.type === 'conv_transpose2d';
  const [N] = layer.inShape;
  const s = g.strideH;
  const p = g.pad.top;
  if (g.strideH !== g.strideW || g.pad.top !== g.pad.bottom || g.pad.left !== g.pad.right || g.pad.top !== g.pad.left) throw new Error('bench: tfjs peer handles square stride and symmetric padding only');
  if (g.groups !== 1 || g.dilationH !== 1 || g.dilationW !== 1) throw new Error('bench: tfjs peer handles groups = 1, dilation = 1 only');
  // underlying conv U -> V (conv2d: layer in -> out; conv_transpose2d: layer out -> in)
  const U = transposed ? { c: g.outC, h: g.outH, w: g.outW } : { c: g.inC, h: g.inH, w: g.inW };
  const V = transposed ? { c: g.inC, h: g.inH, w: g.inW } : { c: g.outC, h: g.outH, w: g.outW };
  const filterShape: [number, number, number, number] = [g.kH, g.kW, U.c, V.c];
  const uShape: [number, number, number, number] = [N, U.h, U.w, U.c];

  const xN = tf.tensor4d(data.x, layer.inShape as [number, number, number, number]);
  const dyN = tf.tensor4d(data.dy, layer.outShape as [number, number, number, number]);
  const wP = tf.tensor4d(data.weight, layer.weightShape as [number, number, number, number]);
  const x = tf.transpose(xN, TO_NHWC) as T4;
  const dy = tf.transpose(dyN, TO_NHWC) as T4;
  const w = tf.transpose(wP, TO_HWIO) as T4;
  const kept = [xN, dyN, wP, x, dy, w];

  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object): T4 =>
    tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as T4;
  const convFwd = (u: T4, f: T4) => run('Conv2D', { x: u, filter: f }, { strides: [s, s], pad: p, dataFormat: 'NHWC', dilations: [1, 1] });
  const convBackInput = (v: T4, f: T4) => run('Conv2DBackpropInput', { dy: v, filter: f }, { strides: [s, s], pad: p, dataFormat: 'NHWC', inputShape: uShape });
  const convBackFilter = (u: T4, v: T4) => run('Conv2DBackpropFilter', { x: u, dy: v }, { strides: [s, s], pad: p, dataFormat: 'NHWC', filterShape });
  /**
   * dW without Conv2DBackpropFilter: dW[kh,kw,cu,cv] = sum_{n,i,j} u[n, i*s+kh-p, j*s+kw-p, cu] v[n,i,j,cv]
   * is a stride-1 conv of u (batch and channels swapped) with v as the filter, dilated by s
   */
  const convBackFilterViaConv2d = (u: T4, v: T4): T4 =>
    tf.tidy(() => {
      const uT = tf.transpose(u, [3, 1, 2, 0]) as T4; // [Cu, Hu, Wu, N]
      const vT = tf.transpose(v, [1, 2, 0, 3]) as T4; // [Hv, Wv, N, Cv]
      const padEnd = (k: number, hv: number, hu: number) => Math.max(0, k + s * (hv - 1) - hu - p);
      const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, padEnd(g.kH, V.h, U.h)], [p, padEnd(g.kW, V.w, U.w)], [0, 0]];
      let r = tf.conv2d(uT, vT, 1, pads, 'NHWC', [s, s]) as T4; // [Cu, kh', kw', Cv]
      if (r.shape[1] !== g.kH || r.shape[2] !== g.kW) r = tf.slice(r, [0, 0, 0, 0], [U.c, g.kH, g.kW, V.c]) as T4;
      return tf.transpose(r, [1, 2, 0, 3]) as T4;
    });

  const hasBackFilter = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
  const backFilter = hasBackFilter ? convBackFilter : convBackFilterViaConv2d;

  // each op: the kernel on NHWC tensors, and its NCHW result (layout transposes included)
  const kernelOf = (f: () => T4) => () => f().dispose();
  const nchw = (f: () => T4, perm: number[]) => () => tf.tidy(() => tf.transpose(f(), perm).dataSync() as Float32Array);
  const fwd = transposed ? () => convBackInput(x, w) : () => convFwd(x, w);
  const gin = transposed ? () => convFwd(dy, w) : () => convBackInput(dy, w);
  const gw = transposed ? () => backFilter(dy, x) : () => backFilter(x, dy);
  /** the transposes around an op: its PyTorch-layout inputs in, an output of `outShape` back */
  const layoutOf = (ins: [tf.Tensor, number[]][], outShape: number[], outPerm: number[]) => () =>
    tf.tidy(() => {
      for (const [t, perm] of ins) tf.transpose(t, perm).dataSync();
      tf.transpose(tf.zeros(outShape), outPerm).dataSync();
    });
  const nhwc = (shape: readonly number[]) => [shape[0], shape[2], shape[3], shape[1]];
  const kind = backend === 'tfjs-cpu' ? 'cpu' : 'wasm';
  const gradWeight: PeerOp = {
    kernel: kernelOf(gw),
    layout: layoutOf([[xN, TO_NHWC], [dyN, TO_NHWC]], filterShape, FROM_HWIO),
    result: nchw(gw, FROM_HWIO),
    route: `${kind} ${hasBackFilter ? 'Conv2DBackpropFilter' : 'dW as a Conv2D of the transposed input with dy as a filter dilated by the stride'}`,
  };
  const ops: Record<ConvOp, PeerOp> = {
    forward: {
      kernel: kernelOf(fwd),
      layout: layoutOf([[xN, TO_NHWC], [wP, TO_HWIO]], nhwc(layer.outShape), TO_NCHW),
      result: nchw(fwd, TO_NCHW),
      route: `${kind} ${transposed ? 'Conv2DBackpropInput' : 'Conv2D'}`,
    },
    gradInput: {
      kernel: kernelOf(gin),
      layout: layoutOf([[dyN, TO_NHWC], [wP, TO_HWIO]], nhwc(layer.inShape), TO_NCHW),
      result: nchw(gin, TO_NCHW),
      route: `${kind} ${transposed ? 'Conv2D' : 'Conv2DBackpropInput'}`,
    },
    // no kernel: say so, and offer the best other route as a separate row
    gradWeight: hasBackFilter ? gradWeight : { kernel: null, layout: gradWeight.layout, result: null, route: `${kind}: no Conv2DBackpropFilter kernel`, fallback: gradWeight },
  };
  return { ops, dispose: () => kept.forEach((t) => t.dispose()) };
}

