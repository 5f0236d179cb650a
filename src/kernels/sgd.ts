// SGD over the whole parameter arena (every weight and bias, one flat buffer), with
// PyTorch's semantics (dampening 0, no Nesterov):
//   g = grad + weightDecay * p
//   momentum != 0: buf = momentum * buf + g (buf starts at 0, so the first step sets buf = g); g = buf
//   p -= lr * g
// lr, momentum and weightDecay are runtime scalars; the velocity is left alone while
// momentum is 0, as PyTorch keeps no buffer then.

import type { Kernel } from '../ir/types.ts';
import { add, assign, buf, f32, if_, kernel, load, mul, ne, parallel, store, sub, v, var_ } from '../ir/build.ts';

export function lowerSgd(paramCount: number): Kernel {
  return kernel({
    name: `sgd_${paramCount}`,
    doc: [`SGD step over ${paramCount} parameters (PyTorch semantics: momentum, weight decay, no dampening)`],
    buffers: [buf('param', paramCount, 'read_write'), buf('grad', paramCount, 'read'), buf('velocity', paramCount, 'read_write')],
    scalars: [
      { name: 'lr', t: 'f32' },
      { name: 'momentum', t: 'f32' },
      { name: 'weightDecay', t: 'f32' },
    ],
    body: [
      parallel('i', 0, paramCount, (i) => [
        var_('g', add(load('grad', i), mul(v('weightDecay'), load('param', i)))),
        if_(ne(v('momentum'), f32(0)), [assign('g', add(mul(v('momentum'), load('velocity', i)), v('g'))), store('velocity', i, v('g'))]),
        store('param', i, sub(load('param', i), mul(v('lr'), v('g')))),
      ]),
    ],
  });
}
