// The losses taken over every output element against a float target of the output's shape,
// with reduction 'mean' (n = every element, batch included), each forward and gradient in one
// kernel:
//   mse:             loss = mean (x - t)^2,                                    dx = 2 (x - t) / n
//   bce_with_logits: loss = mean max(x, 0) - x t + log(1 + exp(-|x|)),          dx = (sigmoid(x) - t) / n
// The bce form is PyTorch's numerically stable one: exp only ever sees -|x|, so logits of
// +-1e4 neither overflow nor lose the loss; sigmoid reuses e = exp(-|x|) (1 / (1 + e) for
// x >= 0, e / (1 + e) below).
//
// The mean is a two-level sum, deterministic on both targets: the elements are cut into
// chunks of about sqrt(n), one parallel iteration per chunk writes the chunk's sum to
// `partials` (and the chunk's gradients), then one sequential loop adds the partials. On a
// GPU that is sqrt(n) invocations and a sqrt(n)-long tail instead of one n-long loop; in
// float32 the rounding error grows with sqrt(n), not n.

import type { Expr, Kernel, Stmt } from '../ir/types.ts';
import { accum, add, buf, call, div, exp, f32, ge, if_, kernel, let_, load, log, loop, lt, max, mul, parallel, select, store, sub, tof32, v, var_ } from '../ir/build.ts';

export type ElementLoss = 'mse' | 'bce_with_logits';

/**
 * how the elements are cut for the two-level sum: `chunks` chunks of `chunk` elements, about
 * sqrt(n) each; a divisor of n up to 2 sqrt(n) when there is one (no short last chunk, so no
 * bounds check in the loop), else ceil(sqrt(n)) with the last chunk short
 */
export function lossChunks(n: number): { chunk: number; chunks: number } {
  const root = Math.max(1, Math.ceil(Math.sqrt(n)));
  let chunk = root;
  for (let d = root; d <= 2 * root; d++) {
    if (n % d === 0) {
      chunk = d;
      break;
    }
  }
  return { chunk, chunks: Math.ceil(n / chunk) };
}

/** one element's loss term and gradient, from x (the output) and t (the target) */
function element(loss: ElementLoss, n: number): { setup: Stmt[]; term: Expr; grad: Expr } {
  const x = v('x');
  const t = v('t');
  if (loss === 'mse') {
    return { setup: [let_('d', sub(x, t), 'f32')], term: mul(v('d'), v('d')), grad: mul(v('d'), f32(2 / n)) };
  }
  const e = v('e');
  return {
    setup: [
      let_('e', exp(sub(f32(0), call('abs', x))), 'f32'),
      let_('sigmoid', select(ge(x, f32(0)), div(f32(1), add(f32(1), e)), div(e, add(f32(1), e))), 'f32'),
    ],
    term: add(sub(max(x, f32(0)), mul(x, t)), log(add(f32(1), e))),
    grad: div(sub(v('sigmoid'), t), tof32(n)),
  };
}

/** `n` = the output's element count; `dims` names the shape (`4x1x28x28`) */
export function lowerElementLoss(loss: ElementLoss, n: number, dims: string): Kernel {
  const { chunk, chunks } = lossChunks(n);
  const { setup, term, grad } = element(loss, n);
  const name = loss === 'mse' ? `mse_loss_${dims}` : `bce_logits_${dims}`;
  const body = (i: Expr): Stmt[] => [
    let_('x', load('output', i), 'f32'),
    let_('t', load('target', i), 'f32'),
    ...setup,
    accum('acc', term),
    store('doutput', i, grad),
  ];
  return kernel({
    name,
    doc: [
      loss === 'mse'
        ? `mean squared error over ${n} elements [${dims.replace(/x/g, ', ')}], with its gradient 2 (x - t) / n`
        : `mean binary cross-entropy of sigmoid(x) over ${n} elements [${dims.replace(/x/g, ', ')}] (stable form), with its gradient (sigmoid(x) - t) / n`,
      `the mean in two levels: ${chunks} chunk${chunks === 1 ? '' : 's'} of ${chunk} elements summed in parallel, then the partial sums in order`,
    ],
    buffers: [
      buf('output', n, 'read'),
      buf('target', n, 'read'),
      buf('doutput', n, 'read_write'),
      buf('loss', 1, 'write'),
      buf('partials', chunks, 'read_write'),
    ],
    body: [
      parallel('c', 0, chunks, (c) => [
        var_('acc', f32(0)),
        loop('j', 0, chunk, (j) => {
          const i = add(mul(c, chunk), j);
          // the last chunk is short unless chunk divides n
          return chunks * chunk === n ? body(i) : [let_('i', i), if_(lt(v('i'), n), body(v('i')))];
        }),
        store('partials', c, v('acc')),
      ]),
      var_('total', f32(0)),
      loop('c', 0, chunks, (c) => [accum('total', load('partials', c))]),
      store('loss', 0, div(v('total'), tof32(n))),
    ],
  });
}
