// Planning batch norm and dropout: the shapes PyTorch's BatchNorm1d / BatchNorm2d take, the
// checked num_features, the plan row (`convgen plan`), the parameters and buffers the model
// gets, and the errors with their JSON paths.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { formatPlanTable } from '../src/plan/table.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { ConvgenError } from '../src/errors.ts';

const plan = (input: number[], ...layers: object[]) => planModel(parseModel({ name: 'm', batch: 2, input, layers }));

function errorOf(f: () => unknown): ConvgenError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConvgenError);
    return e as ConvgenError;
  }
  throw new Error('expected a ConvgenError, nothing was thrown');
}

describe('planning batch norm and dropout', () => {
  it('the plan table shows them, with their parameters (2C for an affine batch norm) and dropout\'s p', () => {
    const text = formatPlanTable(planModel(parseModel(JSON.parse(readFileSync('test/fixtures/torch/bn_model.json', 'utf8')))));
    expect(text).toContain('| bn1      | batchnorm2d | 4x5x5 | 4x5x5 | -         | -        |      8 |');
    expect(text).toContain('| bn2      | batchnorm1d | 6     | 6     | -         | -        |     12 |');
    expect(text).toContain('| dropout6 | dropout     | 6     | 6     | p=0.2     | -        |      0 |');
  });

  it('batchnorm1d takes [C] or [C, L], batchnorm2d [C, H, W]; dropout any shape', () => {
    expect(plan([3, 7], { type: 'batchnorm1d' }).layers[0]).toMatchObject({ channels: 3, spatial: 7, weightShape: [3], biasShape: [3] });
    expect(plan([3, 7], { type: 'flatten' }, { type: 'batchnorm1d' }).layers[1]).toMatchObject({ channels: 21, spatial: 1 });
    expect(plan([3, 4, 5], { type: 'batchnorm2d', affine: false }).layers[0]).toMatchObject({ channels: 3, spatial: 20, weightShape: null, biasShape: null });
    expect(plan([3, 4, 5], { type: 'flatten' }, { type: 'dropout' }).layers[1].outShape).toEqual([2, 60]);
  });

  it('parameters and buffers: weight 1 and bias 0 (no draws), running stats only with track_running_stats', () => {
    const p = lowerModel(plan([3, 4, 5], { type: 'batchnorm2d', name: 'a', torch_name: 'net.1' }, { type: 'batchnorm2d', name: 'b', track_running_stats: false }, { type: 'batchnorm2d', name: 'c', affine: false, momentum: null }));
    expect(p.params.slots.map((s) => [s.key, s.init])).toEqual([['net.1.weight', 'ones'], ['net.1.bias', 'zeros'], ['b.weight', 'ones'], ['b.bias', 'zeros']]);
    expect(p.buffers.slots.map((s) => [s.key, s.offset, s.init])).toEqual([['net.1.running_mean', 0, 0], ['net.1.running_var', 3, 1], ['c.running_mean', 6, 0], ['c.running_var', 9, 1]]);
    expect(p.buffers.counters).toEqual([{ layer: 'a', key: 'net.1.num_batches_tracked', cumulative: false }, { layer: 'c', key: 'c.num_batches_tracked', cumulative: true }]);
    expect(p.dropout).toBe(false);
  });

  it.each([
    ['batchnorm2d on [C, L]', [[3, 7], { type: 'batchnorm2d' }], 'layers[0] (batchnorm2d "batchnorm2d0"): batchnorm2d needs a [channels, height, width] input per sample, but its input is [3, 7]; use batchnorm1d for a [C] or [C, L] input'],
    ['batchnorm1d on [C, H, W]', [[3, 4, 5], { type: 'batchnorm1d' }], 'layers[0] (batchnorm1d "batchnorm1d0"): batchnorm1d needs a [channels] or [channels, length] input per sample, but its input is [3, 4, 5]; use batchnorm2d for a [C, H, W] input'],
    ['batchnorm2d on a vector', [[3, 4, 5], { type: 'flatten' }, { type: 'batchnorm2d' }], 'layers[1] (batchnorm2d "batchnorm2d1"): batchnorm2d needs a [channels, height, width] input per sample, but its input is [60]; use batchnorm1d for a [C] or [C, L] input'],
    ['num_features mismatch', [[3, 4, 5], { type: 'batchnorm2d', num_features: 4 }], "layers[0] (batchnorm2d \"batchnorm2d0\").num_features: num_features is 4, but the model's input gives 3 channels; set \"num_features\": 3 or remove the key (it is inferred)"],
  ] as const)('%s', (_, [input, ...layers], message) => {
    expect(errorOf(() => plan([...input], ...layers)).message).toBe(message);
  });
});
