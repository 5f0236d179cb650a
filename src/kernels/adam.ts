// Adam and AdamW over the whole parameter arena, as torch.optim.Adam / AdamW's single-tensor
// step (PyTorch 1.13, torch/optim/adam.py _single_tensor_adam, adamw.py _single_tensor_adamw):
//   g = grad + weightDecay * p                 Adam's L2 penalty (the entry point passes 0 for AdamW)
//   p = p - decay * p                          AdamW's decoupled decay, lr * weight_decay (0 for Adam)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: vmax = max(vmax, v), used for v below
//   p = p - stepSize * m / (sqrt(v) / bc2Sqrt + eps)
// with stepSize = lr / (1 - beta1^t) and bc2Sqrt = sqrt(1 - beta2^t) at step t. One kernel
// serves both optimizers; the amsgrad variant is a second kernel because it binds one more
// buffer. Every scalar (the bias corrections above all: 1 - 0.999^t cancels badly in
// float32) is computed by the entry point in float64 and passed as f32.
// PyTorch writes the decay p *= 1 - lr * weight_decay; p - (lr * weight_decay) * p is the same
// number in exact arithmetic, and in float32 it does not drift: 1 - 1e-3 rounds to f32 with a
// relative error of 1.3e-8 that the product repeats every step, while the rounding of
// lr * weight_decay only scales a small term (AdamW with lr 1e-2, weight decay 0.1, 300 steps
// of 4096 parameters on lavapipe: 71 float32 ulps from the float64 reference that way, 24 this way).

import type { Kernel } from '../ir/types.ts';
import { add, buf, call, div, kernel, let_, load, max, mul, parallel, store, sub, v } from '../ir/build.ts';

export function lowerAdam(paramCount: number, opts: { amsgrad: boolean }): Kernel {
  const P = paramCount;
  return kernel({
    name: opts.amsgrad ? `adam_amsgrad_${P}` : `adam_${P}`,
    doc: [
      `Adam / AdamW step over ${P} parameters (PyTorch semantics${opts.amsgrad ? ', AMSGrad: the running maximum of v normalizes' : ''})`,
      'Adam: weightDecay = weight_decay, decay = 0; AdamW: weightDecay = 0, decay = lr * weight_decay',
    ],
    buffers: [
      buf('param', P, 'read_write'),
      buf('grad', P, 'read'),
      buf('expAvg', P, 'read_write'),
      buf('expAvgSq', P, 'read_write'),
      ...(opts.amsgrad ? [buf('maxExpAvgSq', P, 'read_write')] : []),
    ],
    scalars: ['stepSize', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'bc2Sqrt', 'eps', 'weightDecay', 'decay'].map((name) => ({ name, t: 'f32' as const })),
    body: [
      parallel('i', 0, P, (i) => [
        let_('p', load('param', i), 'f32'),
        let_('g', add(load('grad', i), mul(v('weightDecay'), v('p'))), 'f32'),
        let_('m', add(mul(v('beta1'), load('expAvg', i)), mul(v('oneMinusBeta1'), v('g'))), 'f32'),
        let_('s', add(mul(v('beta2'), load('expAvgSq', i)), mul(v('oneMinusBeta2'), mul(v('g'), v('g')))), 'f32'),
        store('expAvg', i, v('m')),
        store('expAvgSq', i, v('s')),
        ...(opts.amsgrad ? [let_('smax', max(load('maxExpAvgSq', i), v('s')), 'f32'), store('maxExpAvgSq', i, v('smax'))] : []),
        let_('denom', add(div(call('sqrt', v(opts.amsgrad ? 'smax' : 's')), v('bc2Sqrt')), v('eps')), 'f32'),
        store('param', i, sub(sub(v('p'), mul(v('decay'), v('p'))), mul(v('stepSize'), div(v('m'), v('denom'))))),
      ]),
    ],
  });
}
