// The decoder example in small: the generated dcgan_decoder module (conv_transpose2d
// upsampling, no built-in loss) trained with the app's MSE through backward + sgdStep.

import { describe, expect, it } from 'vitest';
import { createModel } from '../generated/dcgan_decoder/index.ts';
import { loadMnist } from '../examples/mnist/data.ts';
import type { CompiledModel } from '../examples/mnist/model.ts';
import { mse, mseAndGrad, packedInput, target, TASK_IN, TASK_OUT } from '../examples/decoder/task.ts';

describe('decoder demo, short', () => {
  it('its shapes fit the task, and 100 steps of MSE through backward cut the held-out error', () => {
    const model: CompiledModel = createModel({ seed: 1 });
    expect(model.plan.inShape.slice(1)).toEqual(TASK_IN);
    expect(model.plan.outShape.slice(1)).toEqual(TASK_OUT);
    const B = model.plan.batch;
    const inSize = 16 * 4 * 4;
    const outSize = 3 * 32 * 32;
    const { train, test } = loadMnist();
    const x = new Float32Array(B * inSize);
    const y = new Float32Array(B * outSize);
    const dOut = new Float32Array(B * outSize);
    const heldOut = () => {
      for (let i = 0; i < B; i++) {
        x.set(packedInput(test, i), i * inSize);
        y.set(target(test, i), i * outSize);
      }
      return mse(model.forward(x), y);
    };
    const before = heldOut();
    const losses: number[] = [];
    for (let s = 0; s < 100; s++) {
      for (let i = 0; i < B; i++) {
        x.set(packedInput(train, s * B + i), i * inSize);
        y.set(target(train, s * B + i), i * outSize);
      }
      losses.push(mseAndGrad(model.forward(x), y, dOut));
      model.backward(dOut);
      model.sgdStep(0.2, { momentum: 0.9 });
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    const after = heldOut();
    expect(after).toBeLessThan(before * 0.5);
    // the model has no classification output: lossAndGrad refuses
    expect(() => model.lossAndGrad(x, new Int32Array(B))).toThrow(TypeError);
  });
});
