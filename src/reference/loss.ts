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
