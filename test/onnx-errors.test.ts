// What the ONNX import refuses, and how: a ConvgenError naming the node (its name and op
// type) or the part of the file at fault, with why and what to do. One row per refusal.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConvgenError } from '../src/errors.ts';
import { importOnnx } from '../src/onnx/index.ts';
import { onnxModel, type GraphIn } from './helpers/onnx-build.ts';
import { ModelProtoType } from '../src/onnx/schema.ts';

const w33 = { w: { dims: [2, 2, 3, 3] } };

const REFUSALS: { name: string; graph: GraphIn; message: RegExp; batch?: number }[] = [
  { name: 'Transpose', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Transpose', name: '/shuffle/Transpose', inputs: ['input'], attrs: { perm: [0, 2, 1, 3] } }] }, message: /node "\/shuffle\/Transpose" \(Transpose\): operator Transpose is not supported on activations: .*NCHW/ },
  { name: 'LSTM', graph: { input: [1, 2, 4], nodes: [{ op: 'LSTM', name: '/rnn/LSTM', inputs: ['input'] }] }, message: /node "\/rnn\/LSTM" \(LSTM\): operator LSTM is not supported: .*recurrent/ },
  { name: 'a dynamic spatial size', graph: { input: [1, 2, 'H', 4], nodes: [{ op: 'Relu', inputs: ['input'] }] }, message: /graph input "input": .*dim 2 is dynamic \("H"\)/ },
  // a MaxPool pads with -inf: unequal pads of its own have no zero_pad form
  { name: 'MaxPool with asymmetric pads', graph: { input: [1, 2, 5, 5], nodes: [{ op: 'MaxPool', name: '/p', inputs: ['input'], attrs: { kernel_shape: [3, 3], pads: [0, 0, 1, 1] } }] }, message: /node "\/p" \(MaxPool\): pads \[0, 0, 1, 1\] are asymmetric; convgen's pools pad each side equally/ },
  { name: 'Clip to [0, 4]', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Clip', name: '/Clip', inputs: ['input', 'lo', 'hi'] }], inits: { lo: { dims: [], data: [0] }, hi: { dims: [], data: [4] } } }, message: /node "\/Clip" \(Clip\): clips to \[0, 4\]/ },
  { name: 'Concat on the width', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Relu', inputs: ['input'] }, { op: 'Concat', name: '/cat', inputs: ['v0', 'input'], attrs: { axis: 3 } }] }, message: /node "\/cat" \(Concat\): concatenates on axis 3/ },
  { name: 'Resize cubic', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Resize', name: '/up', inputs: ['input', '', 's'], attrs: { mode: 'cubic' } }], inits: { s: { dims: [4], data: [1, 1, 2, 2] } } }, message: /node "\/up" \(Resize\): resizes in mode cubic/ },
  { name: 'Resize by 1.5', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Resize', name: '/up', inputs: ['input', '', 's'], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } }], inits: { s: { dims: [4], data: [1, 1, 1.5, 1.5] } } }, message: /integer factors/ },
  { name: 'MaxPool ceil_mode', graph: { input: [1, 2, 5, 5], nodes: [{ op: 'MaxPool', name: '/p', inputs: ['input'], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } }] }, message: /node "\/p" \(MaxPool\): uses ceil_mode=1/ },
  { name: 'AveragePool with asymmetric pads', graph: { input: [1, 2, 5, 5], nodes: [{ op: 'AveragePool', name: '/p', inputs: ['input'], attrs: { kernel_shape: [3, 3], pads: [0, 0, 1, 1] } }] }, message: /node "\/p" \(AveragePool\): pads .* are asymmetric/ },
  { name: 'a Softmax inside the net', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Softmax', name: '/sm', inputs: ['input'], attrs: { axis: 1 } }, { op: 'Relu', inputs: ['v0'] }] }, message: /node "\/sm" \(Softmax\): is a softmax inside the network/ },
  { name: 'a Reshape that is not a flatten', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Reshape', name: '/r', inputs: ['input', 'shape'] }, { op: 'Relu', inputs: ['v0'] }], ints: { shape: [1, 8, 4] } }, message: /node "\/r" \(Reshape\): reshapes \[1, 2, 4, 4\] to \[1, 8, 4\]/ },
  { name: 'Add of a constant', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Add', name: '/a', inputs: ['input', 'c'] }], inits: { c: { dims: [1] } } }, message: /node "\/a" \(Add\): adds a constant/ },
  { name: 'BatchNormalization whose running statistics are read', graph: { input: [2, 2, 4, 4], nodes: [{ op: 'BatchNormalization', name: '/bn', inputs: ['input', 's', 'b', 'm', 'v'], outputs: ['y', 'rm', 'rv'], attrs: { training_mode: 1 } }, { op: 'Relu', name: '/relu', inputs: ['rm'] }], inits: { s: { dims: [2] }, b: { dims: [2] }, m: { dims: [2] }, v: { dims: [2] } }, opset: 15 }, message: /node "\/bn" \(BatchNormalization\): has its running-statistics outputs read by other nodes/ },
  { name: 'Pad in reflect mode', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Pad', name: '/pad', inputs: ['input', 'p'], attrs: { mode: 'reflect' } }, { op: 'AveragePool', inputs: ['v0'], attrs: { kernel_shape: [2, 2] } }], ints: { p: [0, 0, 1, 1, 0, 0, 1, 1] } }, message: /node "\/pad" \(Pad\): pads in mode reflect/ },
  { name: 'opset 9', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Relu', inputs: ['input'] }], opset: 9 }, message: /opset_import: is opset 9; convgen imports opsets 11 to 18/ },
  { name: 'opset 19', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Relu', inputs: ['input'] }], opset: 19 }, message: /is opset 19/ },
  { name: 'an Erf outside GELU', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Erf', name: '/e', inputs: ['input'] }] }, message: /node "\/e" \(Erf\): is not part of the GELU pattern/ },
  { name: 'Flatten from axis 2', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Flatten', inputs: ['input'], attrs: { axis: 2 } }, { op: 'MatMul', name: '/fc/MatMul', inputs: ['v0', 'm'] }], inits: { m: { dims: [16, 3] } } }, message: /flattens from axis 2/ },
  { name: 'a MatMul on a [N, L, K] input', graph: { input: [1, 2, 4], nodes: [{ op: 'MatMul', name: '/fc/MatMul', inputs: ['input', 'm'] }], inits: { m: { dims: [4, 3] } } }, message: /node "\/fc\/MatMul" \(Gemm\): multiplies an input of shape \[1, 2, 4\]/ },
  { name: 'a Mul by a constant first', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Mul', name: '/scale/Mul', inputs: ['c', 'input'] }], inits: { c: { dims: [1] } } }, message: /node "\/scale\/Mul" \(Mul\): is not part of a pattern/ },
  { name: 'a 3D conv', graph: { input: [1, 2, 4, 4], nodes: [{ op: 'Conv', name: '/c3', inputs: ['input', 'w'] }], inits: { w: { dims: [2, 2, 1, 1, 1] } } }, message: /node "\/c3" \(Conv\): has a weight of rank 5/ },
];

function errorOf(f: () => unknown): ConvgenError {
  try {
    f();
  } catch (err) {
    if (err instanceof ConvgenError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('onnx import refusals', () => {
  it.each(REFUSALS)('$name', ({ graph, message, batch }) => {
    const err = errorOf(() => importOnnx(onnxModel(graph), batch ? { batch } : {}));
    expect(err.message).toMatch(message);
    expect(err.fix.length).toBeGreaterThan(0);
  });

  it('a graph with two inputs', () => {
    const bytes = ModelProtoType.encode(
      ModelProtoType.fromObject({
        opset_import: [{ domain: '', version: 13 }],
        graph: {
          node: [{ op_type: 'Add', input: ['a', 'b'], output: ['y'] }],
          input: ['a', 'b'].map((name) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [1, 2, 3, 3].map((d) => ({ dim_value: d })) } } } })),
          output: [{ name: 'y' }],
        },
      }),
    ).finish();
    expect(errorOf(() => importOnnx(bytes)).message).toMatch(/graph.input: has 2 inputs .* "a", "b"; a convgen model reads one tensor/);
  });

  it('a tensor whose raw data does not fit its dims', () => {
    const good = onnxModel({ input: [1, 2, 4, 4], nodes: [{ op: 'Conv', inputs: ['input', 'w'] }], inits: w33 });
    const m = ModelProtoType.toObject(ModelProtoType.decode(good)) as { graph: { initializer: { raw_data: Uint8Array }[] } };
    m.graph.initializer[0]!.raw_data = m.graph.initializer[0]!.raw_data.subarray(0, 10);
    const bytes = ModelProtoType.encode(ModelProtoType.fromObject(m)).finish();
    expect(errorOf(() => importOnnx(bytes)).message).toMatch(/initializer "w": holds 10 bytes of raw data, but its dims need 36 x 4 = 144/);
  });

  // PyTorch's own export of nn.ZeroPad2d((1, 0, 1, 0)) + Conv2d (once refused): a zero_pad2d with the unequal sides, then the conv
  it('an asymmetric nn.ZeroPad2d before a conv (a real export) imports as zero_pad2d + conv2d', () => {
    const { model } = importOnnx(new Uint8Array(readFileSync(new URL('./fixtures/onnx/zeropad_conv/asymmetric.onnx', import.meta.url))));
    expect(model.layers).toEqual([
      { type: 'zero_pad2d', name: 'conv_pad', padding: [1, 0, 1, 0] },
      { type: 'conv2d', name: 'conv', out_channels: 4, kernel: 3 },
    ]);
  });

  it('Slice and Transpose fold on constants only: on an activation they are refused', () => {
    const slice = onnxModel({ input: [1, 2, 4, 4], nodes: [{ op: 'Slice', name: '/crop/Slice', inputs: ['input', 'st', 'en', 'ax'] }], ints: { st: [1], en: [3], ax: [2] } });
    expect(errorOf(() => importOnnx(slice)).message).toMatch(/^node "\/crop\/Slice" \(Slice\): operator Slice is not supported on activations: convgen has no slicing or cropping layer/);
    const transpose = onnxModel({ input: [1, 2, 4, 4], nodes: [{ op: 'Transpose', name: '/t/Transpose', inputs: ['input'], attrs: { perm: [0, 2, 1, 3] } }] });
    expect(errorOf(() => importOnnx(transpose)).message).toMatch(/^node "\/t\/Transpose" \(Transpose\): operator Transpose is not supported on activations: convgen layers keep PyTorch's NCHW layout/);
  });

  it('bad options: a name that is not an identifier, a batch of 0', () => {
    const bytes = onnxModel({ input: [1, 2, 4, 4], nodes: [{ op: 'Relu', inputs: ['input'] }] });
    expect(errorOf(() => importOnnx(bytes, { name: 'my-net' })).message).toMatch(/^name: "my-net" contains characters/);
    expect(errorOf(() => importOnnx(bytes, { batch: 0 })).message).toMatch(/^batch: must be an integer >= 1, got 0/);
  });
});
