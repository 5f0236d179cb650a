// parseModel: shorthands expanded and defaults filled, so later stages never see an optional size
import { describe, expect, it } from 'vitest';
import { parseModel, loadModelFile } from '../src/spec/parse.ts';
import type { ConvSpec, ConvTransposeSpec, MaxPoolSpec, AvgPoolSpec, LinearSpec, UpsampleSpec } from '../src/spec/types.ts';

const model = (layers: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'm', batch: 2, input: [3, 8, 8], layers, ...extra });

describe('parseModel normalizes', () => {
  it('fills conv2d defaults and expands ints to pairs', () => {
    const spec = parseModel(model([{ type: 'conv2d', out_channels: 4, kernel: 3 }]));
    expect(spec.layers[0]).toEqual({
      type: 'conv2d', name: 'conv2d0', index: 0, torch_name: 'conv2d0', inputs: ['input'], out_channels: 4, kernel: [3, 3], stride: [1, 1],
      padding: { mode: 'explicit', amounts: [0, 0] }, dilation: [1, 1], groups: 1, bias: true,
      strategy: { forward: 'auto', gradInput: 'auto', gradWeight: 'auto' },
    } satisfies ConvSpec);
  });

  it('keeps per-dim lists, "same"/"valid" and given in_channels', () => {
    const spec = parseModel(model([
      { type: 'conv2d', name: 'c', in_channels: 3, out_channels: 4, kernel: [3, 5], stride: [2, 1], padding: 'same', dilation: [1, 2], groups: 1, bias: false, strategy: 'im2row' },
      { type: 'conv2d', out_channels: 4, kernel: 1, padding: 'valid', strategy: { gradWeight: 'direct' } },
    ]));
    const [a, b] = spec.layers as ConvSpec[];
    expect(a).toMatchObject({ in_channels: 3, kernel: [3, 5], stride: [2, 1], padding: { mode: 'same' }, dilation: [1, 2], bias: false });
    expect(a.strategy).toEqual({ forward: 'im2row', gradInput: 'im2row', gradWeight: 'im2row' });
    expect(b.padding).toEqual({ mode: 'valid' });
    expect(b.strategy).toEqual({ forward: 'auto', gradInput: 'auto', gradWeight: 'direct' });
    expect('in_channels' in b).toBe(false);
  });

  it('conv1d gets one entry per list', () => {
    const spec = parseModel({ name: 'm', batch: 1, input: [1, 100], layers: [{ type: 'conv1d', out_channels: 2, kernel: 5, stride: 2, padding: 1, dilation: 3 }] });
    expect(spec.layers[0]).toMatchObject({ kernel: [5], stride: [2], padding: { mode: 'explicit', amounts: [1] }, dilation: [3] });
  });

  it('conv_transpose2d: padding and output_padding as pairs', () => {
    const spec = parseModel(model([{ type: 'conv_transpose2d', out_channels: 2, kernel: 4, stride: 2, padding: 1, output_padding: [1, 0] }]));
    expect(spec.layers[0]).toMatchObject({ kernel: [4, 4], stride: [2, 2], padding: [1, 1], output_padding: [1, 0], dilation: [1, 1], groups: 1, bias: true } satisfies Partial<ConvTransposeSpec>);
  });

  it('pool stride defaults to the kernel; avgpool counts padding by default', () => {
    const spec = parseModel(model([
      { type: 'maxpool2d', kernel: [2, 3] },
      { type: 'maxpool2d', kernel: 3, stride: 1, padding: 1 },
      { type: 'avgpool2d', kernel: 2 },
      { type: 'avgpool2d', kernel: 2, count_include_pad: false },
    ]));
    const [a, b, c, d] = spec.layers as (MaxPoolSpec | AvgPoolSpec)[];
    expect(a).toMatchObject({ kernel: [2, 3], stride: [2, 3], padding: [0, 0] });
    expect(b).toMatchObject({ kernel: [3, 3], stride: [1, 1], padding: [1, 1] });
    expect(c).toMatchObject({ stride: [2, 2], count_include_pad: true });
    expect(d).toMatchObject({ count_include_pad: false });
  });

  it('linear, upsample, simple layers and the model keys', () => {
    const spec = parseModel(model([
      { type: 'upsample_bilinear2d', scale_factor: [2, 3], align_corners: false },
      { type: 'global_maxpool' }, { type: 'global_avgpool' }, { type: 'relu' }, { type: 'flatten' },
      { type: 'linear', out_features: 10 }, { type: 'linear', in_features: 10, out_features: 5, bias: false },
    ], { $schema: '../schema/model.schema.json', comment: 'a note', loss: 'softmax_cross_entropy' }));
    expect((spec.layers[0] as UpsampleSpec).scale_factor).toEqual([2, 3]);
    expect(spec.layers.map((l) => l.name)).toEqual(['upsample_bilinear2d0', 'global_maxpool1', 'global_avgpool2', 'relu3', 'flatten4', 'linear5', 'linear6']);
    expect(spec.layers[5]).toEqual({ type: 'linear', name: 'linear5', index: 5, torch_name: 'linear5', inputs: ['flatten4'], out_features: 10, bias: true } satisfies LinearSpec);
    expect(spec.layers[6]).toMatchObject({ in_features: 10, bias: false });
    expect(spec).toMatchObject({ name: 'm', batch: 2, input: [3, 8, 8], loss: 'softmax_cross_entropy' });
    expect('$schema' in spec).toBe(false);
    expect('comment' in spec).toBe(false);
  });

  it('torch_name: kept when given, else the layer name (a state_dict names the tensors <torch_name>.weight)', () => {
    const spec = parseModel(model([
      { type: 'conv2d', out_channels: 4, kernel: 3, torch_name: 'features.0' },
      { type: 'relu' },
      { type: 'flatten' },
      { type: 'linear', name: 'fc', out_features: 10 },
    ]));
    expect(spec.layers.map((l) => l.torch_name)).toEqual(['features.0', 'relu1', 'flatten2', 'fc']);
  });

  it('does not alias the input arrays', () => {
    const raw = model([{ type: 'conv2d', out_channels: 4, kernel: [3, 3] }]);
    const spec = parseModel(raw);
    (spec.layers[0] as ConvSpec).kernel[0] = 99;
    spec.input[0] = 99;
    expect(raw.input).toEqual([3, 8, 8]);
    expect((raw.layers[0] as { kernel: number[] }).kernel).toEqual([3, 3]);
  });

  it('loads every example file', () => {
    for (const f of ['seed', 'lenet', 'vgg', 'decoder', 'signal1d']) {
      expect(loadModelFile(new URL(`../examples/${f}.json`, import.meta.url).pathname).layers.length).toBeGreaterThan(0);
    }
  });
});
