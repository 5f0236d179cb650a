// concat: y = torch.cat([x_0, x_1, ...], dim=1). Per sample, NCHW / NCL / NF data keep the
// channels outermost, so input k's sample is one contiguous block of y's sample, after the
// blocks of inputs 0..k-1: a copy per input forward, and the same block copied back out of
// dy as dL/dx_k backward. One kernel per input each way, so training skips the dx of an
// input that needs none, and no kernel binds more than two buffers whatever the input count.

import type { MergeLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { Expr, Stmt } from '../ir/types.ts';
import type { KernelCall, LayerProgram } from './types.ts';
import { gradInputArg, inputArg } from './types.ts';
import { add, buf, i32, kernel, load, mul, parallel, store } from '../ir/build.ts';

/** a parallel loop, or its one iteration inline (no loop that runs once) */
export function par(name: string, n: number, body: (iv: Expr) => readonly Stmt[]): Stmt[] {
  return n === 1 ? [...body(i32(0))] : [parallel(name, 0, n, body)];
}

/** `c2_c3_4x4`: the channels of each input, then the shared rest of the per-sample shape */
function concatTag(layer: MergeLayerPlan): string {
  const rest = layer.outShape.slice(2).join('x');
  return `${layer.inShapes.map((s) => `c${s[1]}`).join('_')}${rest ? `_${rest}` : ''}`;
}

export function lowerConcat(layer: MergeLayerPlan): LayerProgram {
  const N = layer.outShape[0];
  const n = layer.inputs.length;
  const out = numel(layer.outShape) / N;
  const base = `concat_${concatTag(layer)}`;
  const shapes = layer.inShapes.map((s) => `[${s.join(', ')}]`).join(', ');
  const forward: KernelCall[] = [];
  const backward: KernelCall[] = [];
  let offset = 0;
  for (let k = 0; k < n; k++) {
    const m = numel(layer.inShapes[k]) / N;
    const at = offset;
    const doc = [`concat of ${shapes} -> [${layer.outShape.join(', ')}] along the channels`, `input ${k}: per sample, elements ${at}..${at + m - 1} of ${out}`];
    // y[n, at + i] = x_k[n, i]; dx_k[n, i] = dy[n, at + i]
    const block = (s: Expr, i: Expr) => add(add(mul(s, out), at), i);
    const own = (s: Expr, i: Expr) => add(mul(s, m), i);
    const fwd = kernel({
      name: `${base}_fwd${k}`,
      doc,
      buffers: [buf('x', N * m, 'read'), buf('y', N * out, 'write')],
      body: par('n', N, (s) => par('i', m, (i) => [store('y', block(s, i), load('x', own(s, i)))])),
    });
    const bwd = kernel({
      name: `${base}_dx${k}`,
      doc: [...doc, `dx = that block of dy`],
      buffers: [buf('dy', N * out, 'read'), buf('dx', N * m, 'write')],
      body: par('n', N, (s) => par('i', m, (i) => [store('dx', own(s, i), load('dy', block(s, i)))])),
    });
    forward.push({ kernel: fwd, args: { x: inputArg(k, n), y: 'y' } });
    backward.push({ kernel: bwd, args: { dy: 'dy', dx: gradInputArg(k, n) } });
    offset += m;
  }
  return { layer: layer.name, scratch: [], forward, backward, alias: false };
}
