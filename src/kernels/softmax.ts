// the output's softmax (model.json's output_softmax), forward only: eval-mode forward and
// inference builds return probabilities, torch.softmax(logits, dim=1). Stable as PyTorch's:
// m = max_k z_k, p_k = exp(z_k - m) / sum_j exp(z_j - m), so logits of +-1e4 neither overflow
// nor lose the row to 0/0; a NaN logit makes its row NaN, as in PyTorch. No backward: training
// mode returns the logits, which the loss takes.

import type { Kernel } from '../ir/types.ts';
import { accum, add, assign, buf, div, exp, f32, kernel, let_, load, loop, max, mul, store, sub, v, var_ } from '../ir/build.ts';

export function lowerOutputSoftmax(batch: number, classes: number): Kernel {
  const row = (n: ReturnType<typeof v>) => mul(n, classes);
  return kernel({
    name: `softmax_${batch}x${classes}`,
    doc: [`softmax over the classes of ${batch} samples x ${classes} classes (torch.softmax(logits, dim=1)), forward only`],
    buffers: [buf('logits', batch * classes, 'read'), buf('probs', batch * classes, 'read_write')],
    body: [
      loop('n', 0, batch, (n) => [
        var_('m', load('logits', row(n))),
        loop('k', 1, classes, (k) => [assign('m', max(v('m'), load('logits', add(row(n), k))))]),
        var_('s', f32(0)),
        loop('k', 0, classes, (k) => [
          let_('e', exp(sub(load('logits', add(row(n), k)), v('m'))), 'f32'),
          store('probs', add(row(n), k), v('e')),
          accum('s', v('e')),
        ]),
        loop('k', 0, classes, (k) => [store('probs', add(row(n), k), div(load('probs', add(row(n), k)), v('s')))]),
      ]),
    ],
  });
}
