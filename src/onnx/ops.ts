// checkOps: every node's operator is one the import knows, or the import stops here with
// the node, its op type and why. Knowing an op is not yet mapping it: a later pass may still
// refuse a node whose attributes no convgen layer expresses (a Clip to [0, 4], a Concat on the
// width).

import { nodeError, type Graph } from './graph.ts';

/** operators the import reads, with what becomes of them */
export const SUPPORTED_OPS: Readonly<Record<string, string>> = {
  Conv: 'conv1d / conv2d (groups, dilations, pads, auto_pad)',
  ConvTranspose: 'conv_transpose1d / conv_transpose2d (output_padding)',
  Relu: 'relu',
  LeakyRelu: 'leaky_relu',
  Sigmoid: 'sigmoid (Mul(x, Sigmoid(x)): silu)',
  Tanh: 'tanh',
  Elu: 'elu',
  Clip: 'relu6 (min 0, max 6), relu (min 0, no max)',
  Gelu: 'gelu',
  Erf: 'gelu, in the pattern x * 0.5 * (1 + erf(x / sqrt 2))',
  Div: 'gelu pattern only',
  Mul: 'gelu and silu patterns only',
  Add: 'add (two activations of one shape); the bias of MatMul + Add; the gelu pattern',
  MaxPool: 'maxpool1d / maxpool2d',
  AveragePool: 'avgpool1d / avgpool2d (count_include_pad both ways)',
  Pad: 'folded into the AveragePool or Conv after it (constant zeros), else zero_pad1d / zero_pad2d',
  GlobalAveragePool: 'global_avgpool',
  GlobalMaxPool: 'global_maxpool',
  Flatten: 'flatten (axis 1)',
  Reshape: 'flatten, for x.view(x.size(0), -1)',
  Shape: 'folded (shape arithmetic)',
  Gather: 'folded (shape arithmetic)',
  Unsqueeze: 'folded (shape arithmetic)',
  Squeeze: 'folded (shape arithmetic)',
  Concat: 'concat on channels; folded for shape arithmetic',
  Cast: 'folded (shape arithmetic)',
  Constant: 'folded',
  ConstantOfShape: 'folded on constants (F.pad\'s pads)',
  Slice: 'folded on constants (F.pad\'s pads); refused on activations',
  Transpose: 'folded on constants (F.pad\'s pads); refused on activations (no channel shuffle)',
  Gemm: 'linear',
  MatMul: 'linear (with the Add of its bias)',
  BatchNormalization: 'batchnorm1d / batchnorm2d (inference form)',
  Resize: 'upsample_bilinear2d (linear, half_pixel) / upsample_nearest2d (nearest, asymmetric, floor), integer scales',
  Upsample: 'upsample_nearest2d (nearest, integer scales)',
  Dropout: 'dropped (the identity in eval mode)',
  Identity: 'dropped',
  Softmax: 'dropped when it is the last node: the model outputs logits (docs/onnx.md)',
};

/** ops people hit, with why convgen has no layer for them */
const WHY_NOT: Readonly<Record<string, string>> = {
  LSTM: 'convgen compiles conv nets and has no recurrent layers',
  GRU: 'convgen compiles conv nets and has no recurrent layers',
  RNN: 'convgen compiles conv nets and has no recurrent layers',
  Loop: 'convgen compiles static graphs: no control flow',
  If: 'convgen compiles static graphs: no control flow',
  Scan: 'convgen compiles static graphs: no control flow',
  LayerNormalization: 'convgen has no layer norm',
  InstanceNormalization: 'convgen has no instance norm',
  ReduceMean: 'convgen has global average pools but no general reductions',
};

export function checkOps(g: Graph): Graph {
  for (const n of g.nodes) {
    if (Object.hasOwn(SUPPORTED_OPS, n.op)) continue;
    const why = WHY_NOT[n.op] ?? 'no convgen layer computes it';
    throw nodeError(n, `operator ${n.op} is not supported: ${why}`, `the import reads ${Object.keys(SUPPORTED_OPS).join(', ')} (docs/onnx.md); change the module so the export uses those`);
  }
  return g;
}
