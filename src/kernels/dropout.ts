// dropout (PyTorch Dropout): in training mode y = x * mask, mask = 1/(1-p) where the
// element is kept and 0 where it is dropped, drawn from the model's counter-based stream
// (hash.ts) keyed by the rng buffer [seed, step]; backward multiplies dy by the mask kept
// from forward. In eval mode both directions are the identity (a copy: the mode is chosen
// at run time, so the buffers cannot be aliased as flatten's are).

import type { DropoutLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { LayerProgram } from './types.ts';
import { buf, f32, ge, kernel, let_, load, mul, parallel, select, shr, store, v, xor } from '../ir/build.ts';
import type { Kernel } from '../ir/types.ts';
import { dropThreshold, dropoutKey, hashInto } from './hash.ts';
import { shapeTag } from './names.ts';
import { numberTag } from './batchnorm.ts';

/** the factor kept elements are scaled by, as PyTorch's noise.div_(1 - p): 0 when everything drops */
export function keepScale(p: number): number {
  return p === 1 ? 0 : Math.fround(1 / (1 - p));
}

function copy(name: string, doc: string[], from: string, to: string, n: number): Kernel {
  return kernel({
    name,
    doc,
    buffers: [buf(from, n, 'read'), buf(to, n, 'write')],
    body: [parallel('i', 0, n, (i) => [store(to, i, load(from, i))])],
  });
}

export function lowerDropout(layer: DropoutLayerPlan): LayerProgram {
  const n = numel(layer.inShape);
  const tag = shapeTag(layer.inShape);
  const T = dropThreshold(layer.p);
  const scale = keepScale(layer.p);
  const base = `dropout_p${numberTag(layer.p)}_l${layer.index}_${tag}`;
  const doc = [`dropout p=${layer.p} on [${layer.inShape.join(', ')}] (${n} elements), layer ${layer.index} of the model's stream`];
  const seed = load('rng', 0);
  const step = load('rng', 1);
  const fwd = kernel({
    name: `${base}_fwd_train`,
    doc: [...doc, 'key = H(H(H(seed ^ 0x9e3779b9) ^ layer) ^ step) from rng = [seed, step]; H = lowbias32 (src/kernels/hash.ts)', `keep i iff (H(key ^ i) >>> 8) >= ${T} (round(p * 2^24)); kept elements are scaled by 1/(1-p) = ${scale}`],
    buffers: [buf('x', n, 'read'), buf('rng', 2, 'read', 'i32'), buf('mask', n, 'write'), buf('y', n, 'write')],
    body: [
      ...dropoutKey(layer.index, seed, step),
      parallel('i', 0, n, (i) => [
        ...hashInto('u', xor(v('key'), i)),
        let_('m', select(ge(shr(v('u'), 8), T), f32(scale), f32(0)), 'f32'),
        store('mask', i, v('m')),
        store('y', i, mul(load('x', i), v('m'))),
      ]),
    ],
  });
  const bwd = kernel({
    name: `${base}_dx_train`,
    doc: [...doc, 'dx = dy * mask (the mask forward drew)'],
    buffers: [buf('dy', n, 'read'), buf('mask', n, 'read'), buf('dx', n, 'write')],
    body: [parallel('i', 0, n, (i) => [store('dx', i, mul(load('dy', i), load('mask', i)))])],
  });
  const evalDoc = [`dropout on [${layer.inShape.join(', ')}] in eval mode: the identity`];
  return {
    layer: layer.name,
    scratch: [{ name: 'mask', t: 'f32', length: n, keep: true }],
    forward: [{ kernel: fwd, args: { x: 'x', rng: 'rng', mask: 'mask', y: 'y' } }],
    backward: [{ kernel: bwd, args: { dy: 'dy', mask: 'mask', dx: 'dx' } }],
    alias: false,
    eval: {
      forward: [{ kernel: copy(`dropout_${tag}_fwd_eval`, evalDoc, 'x', 'y', n), args: { x: 'x', y: 'y' } }],
      backward: [{ kernel: copy(`dropout_${tag}_dx_eval`, evalDoc, 'dy', 'dx', n), args: { dy: 'dy', dx: 'dx' } }],
    },
  };
}
