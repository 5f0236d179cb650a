// linear: y = x · Wᵀ + b with W [out, in] (PyTorch layout), as batched GEMMs (the seed's
// fully connected layer), on the shared register-blocked GEMM builder:
//   forward  y[N, O]  = x[N, I] · Wᵀ        (+ b broadcast over rows)
//   dx       dx[N, I] = dy[N, O] · W
//   dW       dW[O, I] = dyᵀ · x
//   db       db[O]    = sum over n of dy[n, :]

import type { LinearLayerPlan } from '../plan/types.ts';
import type { KernelCall, LayerProgram } from './types.ts';
import { accum, add, buf, f32, kernel, load, loop, mul, parallel, store, v, var_ } from '../ir/build.ts';
import { gemmStmts } from './gemm.ts';
import type { LinearSplit } from '../gpu/split.ts';

function linearName(l: LinearLayerPlan): string {
  return `linear_${l.inFeatures}_to_${l.outFeatures}${l.biasShape ? '' : '_nobias'}`;
}

/**
 * the layer's kernels per block of output rows [r0, r1). An unsplit weight is one block, all
 * the rows, bound whole: plain names and docs. A weight split over bindings (the WGSL target,
 * src/gpu/split.ts) gets kernels per block that bind only its rows of W and dW (the call's
 * `ranges`) and index x, y, dy, b and db whole:
 *   forward  y[:, r0:r1] = x · W[r0:r1]ᵀ + b[r0:r1]
 *   dW, db   of rows r0:r1
 *   dx       the first block writes dy[:, r0:r1] · W[r0:r1], each later block adds its own
 */
export function lowerLinear(layer: LinearLayerPlan, split: LinearSplit | null = null): LayerProgram {
  const { batch: N, inFeatures: I, outFeatures: O } = layer;
  const hasBias = layer.biasShape !== null;
  const row = `linear [${layer.inShape.join(', ')}] -> [${layer.outShape.join(', ')}]${hasBias ? '' : ' (no bias)'}`;
  const blocks = split ? split.blocks : [{ rows: [0, O] as const, elements: [0, O * I] as const }];
  // the docs' slices of a block: none when the block is the whole weight
  const cols = split ? '[:, rows]' : '';
  const rows = split ? '[rows]' : '';
  const forward: KernelCall[] = [];
  const dws: KernelCall[] = [];
  const dxs: KernelCall[] = [];
  for (const [j, blk] of blocks.entries()) {
    const [r0, r1] = blk.rows;
    const R = r1 - r0;
    const name = split ? `${linearName(layer)}_rows${r0}_${r1}` : linearName(layer);
    const doc = split ? [row, `rows ${r0}..${r1} of W (block ${j + 1} of ${blocks.length}: W is split over bindings)`] : [row];
    // the offset at which a split block's W and dW are bound
    const wRange = (binding: string) => (split ? { ranges: { [binding]: blk.elements[0] } } : {});
    const fwd = kernel({
      name: `${name}_fwd`,
      doc: [...doc, `y${cols} = x · W${rows}ᵀ + b${rows}`],
      buffers: [buf('x', N * I, 'read'), buf('w', R * I, 'read'), ...(hasBias ? [buf('b', O, 'read')] : []), buf('y', N * O, 'write')],
      // A = x [N, I], B[i, o] = w[o * I + i]; both walk contiguously along the reduction
      body: gemmStmts({
        batch: [],
        M: N,
        N: R,
        red: [{ size: I, a: 1, b: 1 }],
        a: { buf: 'x', mStride: I },
        b: { buf: 'w', nStride: I },
        c: { buf: 'y', mStride: O, nStride: 1, offset: r0 },
        ...(hasBias ? { bias: { buf: 'b', nStride: 1, offset: r0 } } : {}),
      }),
    });
    forward.push({ kernel: fwd, args: hasBias ? { x: 'x', w: 'weight', b: 'bias', y: 'y' } : { x: 'x', w: 'weight', y: 'y' }, ...wRange('w') });
    const dw = kernel({
      name: `${name}_dw`,
      doc: [...doc, `dW${rows} = dy${cols}ᵀ · x`],
      buffers: [buf('dy', N * O, 'read'), buf('x', N * I, 'read'), buf('dw', R * I, 'write')],
      // A[o, n] = dy[n * O + r0 + o], B = x [N, I]
      body: gemmStmts({
        batch: [],
        M: R,
        N: I,
        red: [{ size: N, a: O, b: I }],
        a: { buf: 'dy', mStride: 1, offset: r0 },
        b: { buf: 'x', nStride: 1 },
        c: { buf: 'dw', mStride: I, nStride: 1 },
      }),
    });
    dws.push({ kernel: dw, args: { dy: 'dy', x: 'x', dw: 'gradWeight' }, ...wRange('dw') });
    if (hasBias) {
      const db = kernel({
        name: `${name}_db`,
        doc: [...doc, `db${rows} = sum over the batch of dy${cols}`],
        buffers: [buf('dy', N * O, 'read'), buf('db', O, 'write')],
        body: [
          parallel('o', 0, R, (o) => [
            var_('acc', f32(0)),
            loop('n', 0, N, (n) => [accum('acc', load('dy', add(mul(n, O), add(o, r0))))]),
            store('db', add(o, r0), v('acc')),
          ]),
        ],
      });
      dws.push({ kernel: db, args: { dy: 'dy', db: 'gradBias' } });
    }
    // dx sums over all the rows: the first block writes it, each later one adds to it
    const first = j === 0;
    const dxNote = !split ? '' : first ? ' (the first block writes dx)' : ' (after the blocks before it)';
    const dx = kernel({
      name: `${name}_dx`,
      doc: [...doc, `dx ${first ? '=' : '+='} dy${cols} · W${rows}${dxNote}`],
      buffers: [buf('dy', N * O, 'read'), buf('w', R * I, 'read'), buf('dx', N * I, first ? 'write' : 'read_write')],
      // A = dy[:, r0:r1], B = w [R, I]
      body: gemmStmts({
        batch: [],
        M: N,
        N: I,
        red: [{ size: R, a: 1, b: I }],
        a: { buf: 'dy', mStride: O, offset: r0 },
        b: { buf: 'w', nStride: 1 },
        c: { buf: 'dx', mStride: I, nStride: 1, accumulate: !first },
      }),
    });
    dxs.push({ kernel: dx, args: { dy: 'dy', w: 'weight', dx: 'dx' }, ...wRange('w') });
  }
  return { layer: layer.name, scratch: [], forward, backward: [...dws, ...dxs], alias: false };
}
