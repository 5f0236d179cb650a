// The training loop shared by train.ts, predict.ts and the tests: seeded shuffled
// mini-batches through the generated lossAndGrad + sgdStep (or adamStep / adamwStep through
// optimizerStep) in training mode, and batched evaluation in eval mode.

import { PIXELS, permutation, rng, type Digits } from './data.ts';
import type { Trainable } from './model.ts';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface EpochOptions {
  lr: number;
  /** sgd only */
  momentum: number;
  /** sgd and adam: an L2 penalty in the gradient; adamw: decoupled decay */
  weightDecay: number;
  /** default sgd (the generated sgdStep); adam and adamw step through optimizerStep */
  optimizer?: OptimizerName;
  /** seeds this epoch's shuffle */
  seed: number;
  /** called after every batch with the samples done so far and the running mean loss */
  onBatch?: (done: number, total: number, meanLoss: number) => void;
}

export interface EpochResult {
  meanLoss: number;
  /** the loss of each batch, in order */
  batchLosses: number[];
  samples: number;
  seconds: number;
}

/**
 * one pass over a seeded shuffle of `data`, in training mode (batch norm uses the batch's
 * statistics and updates its running stats); the last partial batch is dropped (the model's
 * batch is static)
 */
export async function trainEpoch(model: Trainable, data: Digits, o: EpochOptions): Promise<EpochResult> {
  model.train();
  const optimizer = o.optimizer ?? 'sgd';
  const batch = model.plan.batch;
  const order = permutation(data.count, rng(o.seed));
  const steps = Math.floor(data.count / batch);
  const x = new Float32Array(batch * PIXELS);
  const y = new Int32Array(batch);
  const batchLosses: number[] = [];
  let sum = 0;
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < batch; i++) {
      const k = order[s * batch + i];
      x.set(data.images.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
      y[i] = data.labels[k];
    }
    const loss = await model.lossAndGrad(x, y);
    if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at step ${s} (try a smaller --lr)`);
    if (optimizer === 'sgd') model.sgdStep(o.lr, { momentum: o.momentum, weightDecay: o.weightDecay });
    else model.optimizerStep({ type: optimizer, lr: o.lr, weightDecay: o.weightDecay });
    batchLosses.push(loss);
    sum += loss;
    o.onBatch?.((s + 1) * batch, steps * batch, sum / (s + 1));
  }
  return { meanLoss: sum / steps, batchLosses, samples: steps * batch, seconds: (performance.now() - start) / 1000 };
}

/**
 * the predicted class of every sample, in eval mode (batch norm's running stats: samples do not
 * affect each other, so the zero padding of the last batch changes nothing); the model's mode is
 * restored after
 */
export async function predict(model: Trainable, data: Digits): Promise<Int32Array> {
  const wasTraining = model.training;
  model.eval();
  try {
    return await predictBatches(model, data);
  } finally {
    model.train(wasTraining);
  }
}

async function predictBatches(model: Trainable, data: Digits): Promise<Int32Array> {
  const batch = model.plan.batch;
  const classes = model.plan.outShape[model.plan.outShape.length - 1];
  const out = new Int32Array(data.count);
  const x = new Float32Array(batch * PIXELS);
  for (let at = 0; at < data.count; at += batch) {
    const n = Math.min(batch, data.count - at);
    x.fill(0);
    x.set(data.images.subarray(at * PIXELS, (at + n) * PIXELS));
    const logits = await model.forward(x);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
      out[at + i] = best;
    }
  }
  return out;
}

/** fraction of samples classified correctly */
export function accuracy(predicted: Int32Array, labels: Int32Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}
