// The optimizers, written out in float64 from PyTorch 1.13's single-tensor steps
// (torch/optim/sgd.py _single_tensor_sgd, adam.py _single_tensor_adam, adamw.py
// _single_tensor_adamw), in their order of operations. Each step updates one flat tensor in
// place; its state is a plain object the caller keeps (one per tensor, as torch's
// optimizer.state[p]). Elementwise, so stepping the whole parameter arena at once is the
// same as stepping each tensor.

import type { Vec } from './types.ts';

export interface RefSgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch's momentum_buffer: null until the first step with momentum */
export interface RefSgdState {
  buf: Float64Array | null;
}

export function refSgdStep(p: Float64Array, grad: Vec, state: RefSgdState, o: RefSgdOptions): void {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = o;
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('refSgdStep: Nesterov momentum requires a momentum and zero dampening');
  const d = Float64Array.from(grad, (g, i) => g + weightDecay * p[i]);
  if (momentum !== 0) {
    if (state.buf === null) state.buf = Float64Array.from(d);
    else for (let i = 0; i < d.length; i++) state.buf[i] = momentum * state.buf[i] + (1 - dampening) * d[i];
    for (let i = 0; i < d.length; i++) d[i] = nesterov ? d[i] + momentum * state.buf[i] : state.buf[i];
  }
  for (let i = 0; i < p.length; i++) p[i] -= lr * d[i];
}

export interface RefAdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam: L2 added to the gradient; AdamW: decoupled, p *= 1 - lr * weightDecay */
  weightDecay?: number;
  amsgrad?: boolean;
}

/** torch's state[p]: step, exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad) */
export interface RefAdamState {
  step: number;
  expAvg: Float64Array;
  expAvgSq: Float64Array;
  maxExpAvgSq: Float64Array;
}

export function newRefAdamState(n: number): RefAdamState {
  return { step: 0, expAvg: new Float64Array(n), expAvgSq: new Float64Array(n), maxExpAvgSq: new Float64Array(n) };
}

/** one Adam (decoupled false) or AdamW (decoupled true) step */
export function refAdamStep(p: Float64Array, grad: Vec, state: RefAdamState, o: RefAdamOptions, decoupled: boolean): void {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0, amsgrad = false } = o;
  state.step += 1;
  const t = state.step;
  const biasCorrection1 = 1 - beta1 ** t;
  const biasCorrection2 = 1 - beta2 ** t;
  const stepSize = lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i];
    if (decoupled) p[i] *= 1 - lr * weightDecay;
    else g += weightDecay * p[i];
    state.expAvg[i] = beta1 * state.expAvg[i] + (1 - beta1) * g;
    state.expAvgSq[i] = beta2 * state.expAvgSq[i] + (1 - beta2) * g * g;
    let v = state.expAvgSq[i];
    if (amsgrad) v = state.maxExpAvgSq[i] = Math.max(state.maxExpAvgSq[i], v);
    const denom = Math.sqrt(v) / biasCorrection2Sqrt + eps;
    p[i] += -stepSize * (state.expAvg[i] / denom);
  }
}
