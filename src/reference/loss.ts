// mean softmax cross-entropy over the batch, computed stably (max subtraction, log-sum-exp).

import type { Vec } from './types.ts';

/** loss = mean_n (logsumexp(z_n) - z_n[label_n]); dLogits = (softmax(z) - onehot(label)) / batch */
export function softmaxCrossEntropy(logits: Vec, labels: ArrayLike<number>, batch: number, classes: number): { loss: number; dLogits: Float64Array } {
  if (logits.length !== batch * classes) throw new Error(`softmaxCrossEntropy: ${logits.length} logits, expected batch*classes = ${batch}*${classes}`);
  if (labels.length !== batch) throw new Error(`softmaxCrossEntropy: ${labels.length} labels, expected ${batch}`);
  const dLogits = new Float64Array(batch * classes);
  let total = 0;
  for (let n = 0; n < batch; n++) {
    const label = labels[n];
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`softmaxCrossEntropy: label ${label} of sample ${n} is not in [0, ${classes})`);
    const row = n * classes;
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[row + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[row + k] - m);
    total += m + Math.log(sum) - logits[row + label];
    for (let k = 0; k < classes; k++) {
      dLogits[row + k] = (Math.exp(logits[row + k] - m) / sum - (k === label ? 1 : 0)) / batch;
    }
  }
  return { loss: total / batch, dLogits };
}

/** torch.softmax(logits, dim=1) of [batch, classes]: exp(z - max) / sum exp(z - max) per row; a NaN makes its row NaN */
export function softmaxRows(logits: Vec, batch: number, classes: number): Float64Array {
  if (logits.length !== batch * classes) throw new Error(`softmaxRows: ${logits.length} logits, expected batch*classes = ${batch}*${classes}`);
  const out = new Float64Array(batch * classes);
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    // Math.max propagates NaN, so a NaN logit gives a NaN row
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[row + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[row + k] - m);
    for (let k = 0; k < classes; k++) out[row + k] = Math.exp(logits[row + k] - m) / sum;
  }
  return out;
}

/** loss = mean_i (x_i - t_i)^2 over every element; dOutput = 2 (x - t) / n (torch.nn.functional.mse_loss, reduction 'mean') */
export function mseLoss(output: Vec, target: Vec): { loss: number; dOutput: Float64Array } {
  const n = output.length;
  if (target.length !== n) throw new Error(`mseLoss: ${target.length} targets, expected ${n}`);
  const dOutput = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = output[i] - target[i];
    total += d * d;
    dOutput[i] = (2 * d) / n;
  }
  return { loss: total / n, dOutput };
}

/**
 * binary cross-entropy of sigmoid(x) against t, mean over every element, in the stable form
 * max(x, 0) - x t + log(1 + exp(-|x|)) (= -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)));
 * dOutput = (sigmoid(x) - t) / n (torch.nn.functional.binary_cross_entropy_with_logits, reduction 'mean')
 */
export function bceWithLogits(logits: Vec, target: Vec): { loss: number; dOutput: Float64Array } {
  const n = logits.length;
  if (target.length !== n) throw new Error(`bceWithLogits: ${target.length} targets, expected ${n}`);
  const dOutput = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    const t = target[i];
    total += Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
    const sigmoid = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    dOutput[i] = (sigmoid - t) / n;
  }
  return { loss: total / n, dOutput };
}
