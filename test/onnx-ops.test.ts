// ONNX operators and attributes the PyTorch fixtures do not reach, each in a small graph
// written here (test/helpers/onnx-build.ts): imported, built (TS target), run in eval mode and
// compared with onnxruntime-node on the same bytes and input. Named by what they exercise.

import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { importOnnx } from '../src/onnx/index.ts';
import { planModel } from '../src/plan/plan.ts';
import { buildAndImport, cleanupBuilds } from './helpers/build-module.ts';
import { onnxModel, type GraphIn } from './helpers/onnx-build.ts';
import { mulberry32 } from './cases.ts';

afterAll(cleanupBuilds);

interface Case {
  name: string;
  graph: GraphIn;
  /** the layer types the import must produce, in order */
  layers: string[];
  batch?: number;
}

const conv = (w: string, extra: Record<string, number | string | number[]> = {}, inputs?: string[]) => ({ op: 'Conv', inputs: inputs ?? ['input', w], attrs: extra });

const CASES: Case[] = [
  {
    name: 'Conv auto_pad SAME_UPPER, even kernel; Elu',
    graph: { input: [2, 3, 7, 6], nodes: [conv('w', { auto_pad: 'SAME_UPPER' }, ['input', 'w', 'b']), { op: 'Elu', inputs: ['v0'], attrs: { alpha: 0.5 } }], inits: { w: { dims: [4, 3, 2, 2] }, b: { dims: [4] } } },
    layers: ['conv2d', 'elu'],
  },
  {
    name: 'Conv auto_pad SAME_LOWER, odd kernel, stride 1; Tanh',
    graph: { input: [2, 2, 6, 6], nodes: [conv('w', { auto_pad: 'SAME_LOWER' }), { op: 'Tanh', inputs: ['v0'] }], inits: { w: { dims: [3, 2, 3, 3] } } },
    layers: ['conv2d', 'tanh'],
  },
  {
    name: 'Conv groups 2, dilations 2, stride 2, explicit pads; LeakyRelu default slope',
    graph: { input: [2, 4, 9, 9], nodes: [conv('w', { group: 2, dilations: [2, 2], strides: [2, 2], pads: [2, 1, 2, 1] }), { op: 'LeakyRelu', inputs: ['v0'] }], inits: { w: { dims: [6, 2, 3, 3] } } },
    layers: ['conv2d', 'leaky_relu'],
  },
  {
    name: 'Conv 1D auto_pad VALID; GlobalMaxPool; Flatten; Gemm transB=0',
    graph: {
      input: [2, 2, 12],
      nodes: [conv('w', { auto_pad: 'VALID' }), { op: 'GlobalMaxPool', inputs: ['v0'] }, { op: 'Flatten', inputs: ['v1'] }, { op: 'Gemm', inputs: ['v2', 'fw', 'fb'] }],
      inits: { w: { dims: [3, 2, 5] }, fw: { dims: [3, 4] }, fb: { dims: [4] } },
    },
    layers: ['conv1d', 'global_maxpool', 'flatten', 'linear'],
  },
  {
    name: 'ConvTranspose stride 2, pads 1, output_padding 1; Sigmoid',
    graph: { input: [2, 3, 5, 4], nodes: [{ op: 'ConvTranspose', inputs: ['input', 'w', 'b'], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } }, { op: 'Sigmoid', inputs: ['v0'] }], inits: { w: { dims: [3, 2, 3, 3] }, b: { dims: [2] } } },
    layers: ['conv_transpose2d', 'sigmoid'],
  },
  {
    name: 'ConvTranspose 1D, groups 2, dilation 2',
    graph: { input: [2, 4, 7], nodes: [{ op: 'ConvTranspose', inputs: ['input', 'w'], attrs: { strides: [3], dilations: [2], group: 2 } }], inits: { w: { dims: [4, 3, 3] } } },
    layers: ['conv_transpose1d'],
  },
  {
    name: 'MaxPool k3 s2 pads 1; AveragePool count_include_pad=1 pads 1 (attribute)',
    graph: {
      input: [2, 2, 9, 8],
      nodes: [
        { op: 'MaxPool', inputs: ['input'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
        { op: 'AveragePool', inputs: ['v0'], attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 } },
      ],
    },
    layers: ['maxpool2d', 'avgpool2d'],
  },
  {
    name: 'Pad (zeros, Constant pads) folded into the Conv after it',
    graph: { input: [2, 2, 6, 6], nodes: [{ op: 'Pad', inputs: ['input', 'pads'] }, conv('w', {}, ['v0', 'w'])], ints: { pads: [0, 0, 1, 2, 0, 0, 1, 2] }, inits: { w: { dims: [2, 2, 3, 3] } } },
    layers: ['conv2d'],
  },
  // unequal pads: a zero_pad layer takes the difference, the conv or pool the equal part
  {
    name: 'Pad (zeros) with unequal sides folded into a Conv with pads: zero_pad2d + conv2d',
    graph: { input: [2, 2, 6, 5], nodes: [{ op: 'Pad', inputs: ['input', 'pads'] }, conv('w', { pads: [1, 1, 1, 1] }, ['v0', 'w'])], ints: { pads: [0, 0, 1, 0, 0, 0, 0, 2] }, inits: { w: { dims: [3, 2, 3, 3] } } },
    layers: ['zero_pad2d', 'conv2d'],
  },
  {
    name: 'Conv auto_pad SAME_LOWER, even kernel (the odd pad first): zero_pad2d + conv2d',
    graph: { input: [2, 2, 6, 5], nodes: [conv('w', { auto_pad: 'SAME_LOWER' })], inits: { w: { dims: [3, 2, 2, 2] } } },
    layers: ['zero_pad2d', 'conv2d'],
  },
  {
    name: 'Conv 1D pads [2, 1]: zero_pad1d + conv1d',
    graph: { input: [2, 2, 7], nodes: [conv('w', { pads: [2, 1] })], inits: { w: { dims: [3, 2, 3] } } },
    layers: ['zero_pad1d', 'conv1d'],
  },
  {
    name: 'Pad (zeros) before a MaxPool and a Relu: zero_pad2d layers of their own',
    graph: { input: [2, 2, 5, 5], nodes: [{ op: 'Pad', inputs: ['input', 'p1'] }, { op: 'MaxPool', inputs: ['v0'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } }, { op: 'Pad', inputs: ['v1', 'p2'] }, { op: 'Relu', inputs: ['v2'] }], ints: { p1: [0, 0, 1, 0, 0, 0, 0, 1], p2: [0, 0, 0, 2, 0, 0, 1, 0] } },
    layers: ['zero_pad2d', 'maxpool2d', 'zero_pad2d', 'relu'],
  },
  {
    name: 'AveragePool count_include_pad=1 with unequal pads: zero_pad2d + avgpool2d',
    graph: { input: [2, 2, 5, 6], nodes: [{ op: 'AveragePool', inputs: ['input'], attrs: { kernel_shape: [3, 3], pads: [1, 0, 2, 1], count_include_pad: 1 } }] },
    layers: ['zero_pad2d', 'avgpool2d'],
  },
  {
    name: 'silu as Mul(x, Sigmoid(x)); Clip(0, inf) as relu',
    graph: {
      input: [2, 3, 5, 5],
      nodes: [conv('w'), { op: 'Sigmoid', inputs: ['v0'] }, { op: 'Mul', inputs: ['v0', 'v1'] }, { op: 'Clip', inputs: ['v2', 'lo'] }],
      inits: { w: { dims: [3, 3, 3, 3] }, lo: { dims: [], data: [0] } },
    },
    layers: ['conv2d', 'silu', 'relu'],
  },
  {
    name: 'MatMul + Add (bias first) as linear; MatMul alone as linear without bias; BatchNormalization on features',
    graph: {
      input: [3, 2, 4, 4],
      nodes: [
        { op: 'Flatten', inputs: ['input'] },
        { op: 'MatMul', inputs: ['v0', 'm1'] },
        { op: 'Add', inputs: ['b1', 'v1'] },
        { op: 'BatchNormalization', inputs: ['v2', 's', 'bb', 'mean', 'var'], attrs: { epsilon: 0.001 } },
        { op: 'MatMul', inputs: ['v3', 'm2'] },
      ],
      inits: { m1: { dims: [32, 6] }, b1: { dims: [6] }, s: { dims: [6] }, bb: { dims: [6] }, mean: { dims: [6] }, var: { dims: [6], data: [0.5, 1, 1.5, 2, 0.25, 3] }, m2: { dims: [6, 5] } },
    },
    layers: ['flatten', 'linear', 'batchnorm1d', 'linear'],
  },
  {
    name: 'BatchNormalization on a 1D conv (batchnorm1d over [C, L]); Dropout and Identity dropped',
    graph: {
      input: [2, 2, 10],
      nodes: [conv('w'), { op: 'BatchNormalization', inputs: ['v0', 's', 'bb', 'mean', 'var'] }, { op: 'Dropout', inputs: ['v1'] }, { op: 'Identity', inputs: ['v2'] }, { op: 'Relu', inputs: ['v3'] }],
      inits: { w: { dims: [3, 2, 3] }, s: { dims: [3] }, bb: { dims: [3] }, mean: { dims: [3] }, var: { dims: [3], data: [0.5, 1, 2] } },
    },
    layers: ['conv1d', 'batchnorm1d', 'relu'],
  },
  {
    name: 'Resize nearest (asymmetric, floor) from sizes; Concat of three on channels',
    graph: {
      input: [2, 2, 3, 4],
      nodes: [{ op: 'Resize', inputs: ['input', '', '', 'sizes'], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } }, conv('w', { pads: [1, 1, 1, 1] }, ['v0', 'w']), { op: 'Concat', inputs: ['v0', 'v1', 'v0'], attrs: { axis: 1 } }],
      ints: { sizes: [2, 2, 9, 8] },
      inits: { w: { dims: [1, 2, 3, 3] } },
    },
    layers: ['upsample_nearest2d', 'conv2d', 'concat'],
  },
  {
    name: 'Resize linear (pytorch_half_pixel) x3; Add of two branches',
    graph: {
      input: [2, 2, 4, 3],
      nodes: [{ op: 'Resize', inputs: ['input', '', 'scales'], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } }, conv('w', { pads: [1, 1, 1, 1] }, ['v0', 'w']), { op: 'Add', inputs: ['v1', 'v0'] }],
      inits: { scales: { dims: [4], data: [1, 1, 3, 3] }, w: { dims: [2, 2, 3, 3] } },
    },
    layers: ['upsample_bilinear2d', 'conv2d', 'add'],
  },
  {
    name: 'dynamic batch imported with --batch 3: Shape -> Gather -> Unsqueeze -> Concat -> Reshape folded',
    batch: 3,
    graph: {
      input: ['N', 2, 4, 4],
      nodes: [
        conv('w'),
        { op: 'Shape', inputs: ['v0'] },
        { op: 'Gather', inputs: ['v1', 'zero'], attrs: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['v2', 'axes'] },
        { op: 'Concat', inputs: ['v3', 'minus1'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['v0', 'v4'] },
        { op: 'Gemm', inputs: ['v5', 'fw'], attrs: { transB: 1 } },
      ],
      ints: { axes: [0], minus1: [-1], zero: { dims: [], data: [0] } },
      inits: { w: { dims: [3, 2, 3, 3] }, fw: { dims: [4, 12] } },
    },
    layers: ['conv2d', 'flatten', 'linear'],
  },
];

describe.each(CASES)('onnx op: $name', ({ graph, layers, batch }) => {
  it('imports to the expected layers and matches onnxruntime', async () => {
    const bytes = onnxModel(graph);
    const imported = importOnnx(bytes, batch ? { batch } : {});
    expect((imported.model.layers as { type: string }[]).map((l) => l.type)).toEqual(layers);
    const mod = await buildAndImport(planModel(imported.spec, {}));
    const model = mod.createModel({ seed: 1 });
    (model as unknown as { loadSafetensors(b: Uint8Array): unknown }).loadSafetensors(imported.safetensors);
    model.eval();
    const shape = [imported.spec.batch, ...imported.spec.input];
    const rand = mulberry32(11);
    const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rand() - 1);
    const y = model.forward(x);
    const session = await ort.InferenceSession.create(bytes);
    const outName = session.outputNames[0]!;
    const ref = (await session.run({ input: new ort.Tensor('float32', x, shape) }))[outName]!.data as Float32Array;
    expect(y.length).toBe(ref.length);
    let worst = 0;
    let big = 1;
    for (let i = 0; i < y.length; i++) {
      worst = Math.max(worst, Math.abs(y[i]! - ref[i]!));
      big = Math.max(big, Math.abs(ref[i]!));
    }
    expect(worst).toBeLessThanOrEqual(1e-4 * big);
  });
});
