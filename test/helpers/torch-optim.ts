// The PyTorch optimizer and loss fixture (test/fixtures/torch/optim.json, written once by
// optim.py with torch 1.13 in float64), typed, for the tests that compare with it.

import { readFileSync } from 'node:fs';

export interface OptimCase {
  optimizer: 'sgd' | 'adam' | 'adamw';
  options: { momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; beta1?: number; beta2?: number; eps?: number; amsgrad?: boolean };
  lrs: number[];
  p0: number[];
  grads: number[][];
  /** the parameters after each step */
  params: number[][];
}
export interface LossCase {
  loss: 'mse' | 'bce_with_logits';
  shape: number[];
  input: number[];
  target: number[];
  value: number;
  grad: number[];
}
export const TORCH: { optimizers: OptimCase[]; losses: LossCase[] } = JSON.parse(readFileSync(new URL('../fixtures/torch/optim.json', import.meta.url), 'utf8'));

export const caseTitle = (c: OptimCase) => `${c.optimizer} ${JSON.stringify(c.options)}${new Set(c.lrs).size > 1 ? ' lr schedule' : ''} lr=${c.lrs[0]}`;

