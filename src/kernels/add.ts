// add: y = x_0 + x_1 + ... + x_{n-1}, elementwise, summed left to right. Its backward is
// dL/dx_k = dL/dy for every k: no kernel runs, the model binds each input's gradient to
// the add's dy buffer (LayerProgram.passGrad).
//
// The same sum forms the gradient of an output several layers read (graph.ts): one kernel
// over the readers' partial gradients. A kernel binds one storage buffer per term plus its
// output, and every WebGPU device has at least 8 per shader stage, so a sum of more than
// MAX_SUM_TERMS terms is split: the first kernel writes the sum of the first terms, the next
// ones add theirs to it (read_write), keeping the left-to-right order and so the same bits.

import type { MergeLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { Kernel } from '../ir/types.ts';
import type { KernelCall, LayerProgram } from './types.ts';
import { inputArg } from './types.ts';
import { buf, kernel, load, store, sum } from '../ir/build.ts';
import { shapeTag } from './names.ts';
import { par } from './concat.ts';

/** terms per kernel: the WebGPU minimum of 8 storage buffers per stage, less the output */
export const MAX_SUM_TERMS = 7;

/**
 * y = x0 + ... + x<m-1> (`accumulate`: y = y + x0 + ...) over `length` elements. The doc
 * depends only on what the name carries: one name, one text
 */
function sumKernel(name: string, m: number, shape: readonly number[], accumulate: boolean): Kernel {
  const length = numel(shape);
  const terms = Array.from({ length: m }, (_, j) => `x${j}`);
  return kernel({
    name,
    doc: [`${accumulate ? 'y += ' : 'y = '}${terms.join(' + ')}, elementwise on [${shape.join(', ')}] (${length} elements)`],
    buffers: [...terms.map((t) => buf(t, length, 'read')), buf('y', length, accumulate ? 'read_write' : 'write')],
    body: par('i', length, (i) => [store('y', i, sum([...(accumulate ? [load('y', i)] : []), ...terms.map((t) => load(t, i))]))]),
  });
}

/**
 * the calls that write `out` = the sum of `terms` (bound buffer names, in order), at most
 * MAX_SUM_TERMS per kernel; `name(m, accumulate)` names each kernel (`shape` goes in the name)
 */
export function sumCalls(terms: readonly string[], out: string, shape: readonly number[], name: (m: number, accumulate: boolean) => string): KernelCall[] {
  const calls: KernelCall[] = [];
  for (let at = 0; at < terms.length; at += MAX_SUM_TERMS) {
    const chunk = terms.slice(at, at + MAX_SUM_TERMS);
    const k = sumKernel(name(chunk.length, at > 0), chunk.length, shape, at > 0);
    calls.push({ kernel: k, args: Object.fromEntries([...chunk.map((t, j) => [`x${j}`, t]), ['y', out]]) });
  }
  return calls;
}

export function lowerAdd(layer: MergeLayerPlan): LayerProgram {
  const n = layer.inputs.length;
  const tag = shapeTag(layer.outShape);
  const inputs = Array.from({ length: n }, (_, k) => inputArg(k, n));
  return {
    layer: layer.name,
    scratch: [],
    forward: sumCalls(inputs, 'y', layer.outShape, (m, acc) => `add${m}_${tag}_${acc ? 'acc' : 'fwd'}`),
    backward: [],
    alias: false,
    passGrad: true,
  };
}
