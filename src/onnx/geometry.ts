// Window geometry of the ONNX conv and pool operators, resolved from their attributes and
// the input's static shape: kernel, strides, dilations and the pads on each side, with
// auto_pad already turned into explicit pads. Both shape inference and the layer mapping
// read it, so the two agree on what a node computes.

import { intsAttr, nodeError, stringAttr, type Node } from './graph.ts';

export interface Window {
  /** per spatial dim */
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  /** pads before (top/left) and after (bottom/right), per spatial dim */
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** the output size per spatial dim (floor mode) */
  readonly out: readonly number[];
}

function perDim(n: Node, key: string, dims: number, fallback: number): number[] {
  const v = intsAttr(n, key);
  if (v === undefined) return Array<number>(dims).fill(fallback);
  if (v.length !== dims) throw nodeError(n, `attribute ${key} has ${v.length} entries for ${dims} spatial dims`, 'export the model again with torch.onnx.export');
  return [...v];
}

/** the window of a Conv, MaxPool or AveragePool node over `spatial` input sizes, with `kernel` from the weight or the attribute */
export function windowOf(n: Node, spatial: readonly number[], kernelFromWeight?: readonly number[]): Window {
  const dims = spatial.length;
  const kernel = kernelFromWeight ? [...kernelFromWeight] : perDim(n, 'kernel_shape', dims, 0);
  const ks = intsAttr(n, 'kernel_shape');
  if (kernelFromWeight && ks && ks.some((k, i) => k !== kernelFromWeight[i])) throw nodeError(n, `kernel_shape [${ks.join(', ')}] disagrees with the weight's [${kernelFromWeight.join(', ')}]`, 'export the model again with torch.onnx.export');
  const stride = perDim(n, 'strides', dims, 1);
  const dilation = perDim(n, 'dilations', dims, 1);
  for (const [what, v, min] of [['kernel_shape', kernel, 1], ['strides', stride, 1], ['dilations', dilation, 1]] as const) {
    if (v.some((x) => !Number.isSafeInteger(x) || x < min || x > 2 ** 31 - 1)) throw nodeError(n, `${what} [${v.join(', ')}] must be integers >= ${min}`, 'export the model again with torch.onnx.export');
  }
  const autoPad = stringAttr(n, 'auto_pad', 'NOTSET');
  let before: number[];
  let after: number[];
  if (autoPad === 'NOTSET') {
    const pads = intsAttr(n, 'pads') ?? Array<number>(2 * dims).fill(0);
    if (pads.length !== 2 * dims) throw nodeError(n, `pads has ${pads.length} entries, expected ${2 * dims} (begin and end per spatial dim)`, 'export the model again with torch.onnx.export');
    if (pads.some((p) => !Number.isSafeInteger(p) || p < 0 || p > 2 ** 31 - 1)) throw nodeError(n, `pads [${pads.join(', ')}] must be integers >= 0`, 'export the model again with torch.onnx.export');
    before = pads.slice(0, dims);
    after = pads.slice(dims);
  } else if (autoPad === 'VALID') {
    before = Array<number>(dims).fill(0);
    after = Array<number>(dims).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // ONNX: output ceil(in / s); total pad max((out - 1) s + d (k - 1) + 1 - in, 0); the odd one at the end (UPPER) or the start (LOWER)
    const total = spatial.map((s, i) => Math.max((Math.ceil(s / stride[i]!) - 1) * stride[i]! + dilation[i]! * (kernel[i]! - 1) + 1 - s, 0));
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]!);
    [before, after] = autoPad === 'SAME_UPPER' ? [small, big] : [big, small];
  } else {
    throw nodeError(n, `auto_pad "${autoPad}" is not an ONNX auto_pad mode`, 'use NOTSET, VALID, SAME_UPPER or SAME_LOWER');
  }
  const out = spatial.map((s, i) => Math.floor((s + before[i]! + after[i]! - dilation[i]! * (kernel[i]! - 1) - 1) / stride[i]!) + 1);
  if (out.some((o) => o < 1)) throw nodeError(n, `gives an output of size [${out.join(', ')}] from an input of [${spatial.join(', ')}]: the window is larger than the padded input`, 'check the input size the model was exported for');
  return { kernel, stride, dilation, before, after, out };
}
