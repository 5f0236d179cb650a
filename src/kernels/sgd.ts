// SGD over the whole parameter arena (every weight and bias, one flat buffer), as
// torch.optim.SGD's single-tensor step (PyTorch 1.13):
//   g = grad + weightDecay * p
//   momentum != 0: buf = g on the buffer's first step, else momentum * buf + (1 - dampening) * g
//                  g = nesterov ? g + momentum * buf : buf
//   p -= lr * g
// Two kernels: sgd_<P> without momentum, which binds no velocity (PyTorch keeps no buffer
// then, and a model trained without momentum allocates none), and sgd_momentum_<P>. Every
// scalar is computed by the entry point in float64 (oneMinusDampening; nesterov and first
// as 0 / 1), so the kernels do only per-element work.

import type { Kernel } from '../ir/types.ts';
import { add, buf, f32, kernel, let_, load, mul, ne, parallel, select, store, sub, v } from '../ir/build.ts';

export function lowerSgd(paramCount: number): Kernel {
  return kernel({
    name: `sgd_${paramCount}`,
    doc: [`SGD step over ${paramCount} parameters without momentum (PyTorch semantics: p -= lr * (grad + weightDecay * p))`],
    buffers: [buf('param', paramCount, 'read_write'), buf('grad', paramCount, 'read')],
    scalars: [
      { name: 'lr', t: 'f32' },
      { name: 'weightDecay', t: 'f32' },
    ],
    body: [
      parallel('i', 0, paramCount, (i) => [
        let_('g', add(load('grad', i), mul(v('weightDecay'), load('param', i))), 'f32'),
        store('param', i, sub(load('param', i), mul(v('lr'), v('g')))),
      ]),
    ],
  });
}

export function lowerSgdMomentum(paramCount: number): Kernel {
  return kernel({
    name: `sgd_momentum_${paramCount}`,
    doc: [
      `SGD step with momentum over ${paramCount} parameters (PyTorch semantics: dampening, Nesterov, weight decay)`,
      'first = 1 on the velocity buffer\'s first step, which starts it at g (no dampening), as PyTorch does',
    ],
    buffers: [buf('param', paramCount, 'read_write'), buf('grad', paramCount, 'read'), buf('velocity', paramCount, 'read_write')],
    scalars: [
      { name: 'lr', t: 'f32' },
      { name: 'momentum', t: 'f32' },
      { name: 'oneMinusDampening', t: 'f32' },
      { name: 'weightDecay', t: 'f32' },
      { name: 'nesterov', t: 'f32' },
      { name: 'first', t: 'f32' },
    ],
    body: [
      parallel('i', 0, paramCount, (i) => [
        let_('g', add(load('grad', i), mul(v('weightDecay'), load('param', i))), 'f32'),
        let_('b', select(ne(v('first'), f32(0)), v('g'), add(mul(v('momentum'), load('velocity', i)), mul(v('oneMinusDampening'), v('g')))), 'f32'),
        store('velocity', i, v('b')),
        let_('d', select(ne(v('nesterov'), f32(0)), add(v('g'), mul(v('momentum'), v('b'))), v('b')), 'f32'),
        store('param', i, sub(load('param', i), mul(v('lr'), v('d')))),
      ]),
    ],
  });
}
