// The MNIST demo in small: the generated LeNet-5 module (generated/lenet5, built by
// `convgen build examples/lenet.json`) trained for one short epoch through the example app's
// loop, then saved as safetensors and loaded into a fresh model.

import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../generated/lenet5/index.ts';
import { decodeModelParams, decodeSafetensors, encodeModelParams } from '../src/io/safetensors.ts';
import { loadMnist, PIXELS, subset } from '../examples/mnist/data.ts';
import { accuracy, predict, trainEpoch, type EpochResult } from '../examples/mnist/loop.ts';
import type { CompiledModel } from '../examples/mnist/model.ts';

// LeNet with PyTorch's default init sits near ln 10 for the first few dozen steps: 60 steps get it well past that
const TRAIN = 1920;
// not a multiple of the batch: the last prediction batch is padded
const TEST = 300;

describe('mnist demo, short', () => {
  const { train, test } = loadMnist();
  const few = subset(train, Array.from({ length: TRAIN }, (_, i) => i));
  const fewTest = subset(test, Array.from({ length: TEST }, (_, i) => i));
  const model: CompiledModel = createModel({ seed: 1 });
  let before = NaN;
  let r: EpochResult;
  let after: Int32Array;
  beforeAll(async () => {
    before = accuracy(await predict(model, fewTest), fewTest.labels);
    r = await trainEpoch(model, few, { lr: 0.05, momentum: 0.9, weightDecay: 0, seed: 7 });
    after = await predict(model, fewTest);
  }, 120_000);

  it(`one epoch on ${TRAIN} digits: the loss falls and the accuracy beats chance (10%) by far`, () => {
    const q = Math.floor(r.batchLosses.length / 4);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(r.batchLosses.slice(0, q));
    const last = mean(r.batchLosses.slice(-q));
    expect(r.batchLosses.every(Number.isFinite)).toBe(true);
    expect(first).toBeGreaterThan(2.0); // ~ln 10 at the start
    expect(last).toBeLessThan(first - 0.5);
    expect(before).toBeLessThan(0.3);
    expect(accuracy(after, fewTest.labels)).toBeGreaterThan(0.5);
  });

  it('saved safetensors loaded into a fresh model give identical outputs and predictions', async () => {
    const bytes = encodeModelParams(model.plan, model.params, { format: 'pt' });
    const names = Object.keys(decodeSafetensors(bytes).tensors);
    expect(names).toEqual(['c1.bias', 'c1.weight', 'c3.bias', 'c3.weight', 'f5.bias', 'f5.weight', 'f6.bias', 'f6.weight', 'out.bias', 'out.weight']);
    const fresh: CompiledModel = createModel({ seed: 99 });
    const x = fewTest.images.subarray(0, model.plan.batch * PIXELS);
    expect(fresh.forward(x)).not.toEqual(model.forward(x));
    decodeModelParams(fresh.plan, fresh.params, bytes);
    expect(fresh.forward(x)).toEqual(model.forward(x));
    expect(await predict(fresh, fewTest)).toEqual(after);
  });

  it('predict pads the last batch without changing any prediction', async () => {
    // the same digits predicted inside full batches: samples are independent in the batch
    const full = subset(test, Array.from({ length: 320 }, (_, i) => i));
    expect((await predict(model, full)).subarray(0, TEST)).toEqual(after);
  });
});
