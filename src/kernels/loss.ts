// mean softmax cross-entropy over the batch, forward and gradient in one kernel, computed
// stably: m = max_k z_k, loss_n = m + log(sum_k exp(z_k - m)) - z_label, so logits of
// +-1e4 neither overflow nor underflow to a 0 in the log.
//   dlogits[n, k] = (softmax(z_n)_k - [k == label_n]) / batch
// The batch loop is sequential (it sums the loss); batches are small next to the layers.

import type { Kernel } from '../ir/types.ts';
import { accum, add, assign, buf, div, eq, exp, f32, kernel, let_, load, log, loop, max, mul, select, store, sub, tof32, v, var_ } from '../ir/build.ts';

export function lowerSoftmaxCrossEntropy(batch: number, classes: number): Kernel {
  const row = (n: ReturnType<typeof v>) => mul(n, classes);
  return kernel({
    name: `softmax_xent_${batch}x${classes}`,
    doc: [
      `mean softmax cross-entropy of ${batch} samples x ${classes} classes, with its gradient`,
      'labels are i32 in [0, classes): the model checks them before calling this',
    ],
    buffers: [
      buf('logits', batch * classes, 'read'),
      buf('labels', batch, 'read', 'i32'),
      buf('dlogits', batch * classes, 'read_write'),
      buf('loss', 1, 'write'),
    ],
    body: [
      var_('total', f32(0)),
      loop('n', 0, batch, (n) => [
        let_('label', load('labels', n)),
        var_('m', load('logits', row(n))),
        loop('k', 1, classes, (k) => [assign('m', max(v('m'), load('logits', add(row(n), k))))]),
        var_('s', f32(0)),
        loop('k', 0, classes, (k) => [
          let_('e', exp(sub(load('logits', add(row(n), k)), v('m'))), 'f32'),
          store('dlogits', add(row(n), k), v('e')),
          accum('s', v('e')),
        ]),
        accum('total', sub(add(v('m'), log(v('s'))), load('logits', add(row(n), v('label'))))),
        loop('k', 0, classes, (k) => [
          store(
            'dlogits',
            add(row(n), k),
            div(sub(div(load('dlogits', add(row(n), k)), v('s')), select(eq(k, v('label')), f32(1), f32(0))), tof32(batch)),
          ),
        ]),
      ]),
      store('loss', 0, div(v('total'), tof32(batch))),
    ],
  });
}
