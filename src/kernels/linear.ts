// linear: y = x · Wᵀ + b with W [out, in] (PyTorch layout), as batched GEMMs (the seed's
// fully connected layer), on the shared register-blocked GEMM builder:
//   forward  y[N, O]  = x[N, I] · Wᵀ        (+ b broadcast over rows)
//   dx       dx[N, I] = dy[N, O] · W
//   dW       dW[O, I] = dyᵀ · x
//   db       db[O]    = sum over n of dy[n, :]

import type { LinearLayerPlan } from '../plan/types.ts';
import type { KernelCall, LayerProgram, ScratchDecl } from './types.ts';
import { accum, add, buf, f32, i32, kernel, let_, load, loop, mul, parallel, store, v, var_ } from '../ir/build.ts';
import type { Expr, Stmt } from '../ir/types.ts';
import { gemmStmts } from './gemm.ts';
import type { LinearSplit } from '../gpu/split.ts';
import { scheduleLinear, type LinearLayerSchedule } from '../plan/schedule.ts';

/**
 * wp[(o0 / P) * P * I + i * P + oo] = w[(o0 + oo) * I + i]: W [R][I] as column panels of the
 * forward GEMM's B, P output features wide ([R / P][I][P], the last panel padded, its padding
 * never read); each panel reads P rows of W in step and writes sequentially
 */
function packPanelsStmts(R: number, I: number, P: number): Stmt[] {
  const panel = (o0: Expr, n: number): Stmt[] => [
    loop('i', 0, I, (i) => [loop('oo', 0, n, (oo) => [store('wp', add(add(mul(o0, I), mul(i, P)), oo), load('w', add(mul(add(o0, oo), I), i)))])]),
  ];
  const full = Math.floor(R / P);
  const rem = R - full * P;
  return [
    ...(full > 0 ? [parallel('ob', 0, full, (ob) => [let_('o0', mul(ob, P)), ...panel(v('o0'), P)])] : []),
    ...(rem > 0 ? panel(i32(full * P), rem) : []),
  ];
}

/**
 * wq[(i0 / Q) * Q * R + o * Q + ii] = w[o * I + i0 + ii]: W's columns as panels of the dx
 * GEMM's B, Q input features wide ([I / Q][R][Q], the last panel padded, its padding never
 * read); a row of W at a time, read sequentially, written in runs of Q floats
 */
function packColumnPanelsStmts(R: number, I: number, Q: number): Stmt[] {
  const full = Math.floor(I / Q);
  const rem = I - full * Q;
  const run = (o: Expr, i0: Expr, n: number): Stmt[] => [loop('ii', 0, n, (ii) => [store('wq', add(add(mul(i0, R), mul(o, Q)), ii), load('w', add(add(mul(o, I), i0), ii)))])];
  return [
    parallel('o', 0, R, (o) => [
      ...(full > 0 ? [loop('ib', 0, full, (ib) => [let_('i0', mul(ib, Q)), ...run(o, v('i0'), Q)])] : []),
      ...(rem > 0 ? run(o, i32(full * Q), rem) : []),
    ]),
  ];
}

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
export function lowerLinear(layer: LinearLayerPlan, split: LinearSplit | null = null, sched: LinearLayerSchedule = scheduleLinear(layer, 'ts')): LayerProgram {
  const { batch: N, inFeatures: I, outFeatures: O } = layer;
  if (split && sched.packed) throw new Error('linear: a packed forward reads the whole weight (no split)');
  // a schedule's block, no larger than the GEMM's M x N (absent: the builder's default)
  const blockOf = (b: readonly number[] | null, M: number, n: number): { block?: number[] } => (b ? { block: [Math.min(b[0]!, M), Math.min(b[1]!, n)] } : {});
  const hasBias = layer.biasShape !== null;
  const row = `linear [${layer.inShape.join(', ')}] -> [${layer.outShape.join(', ')}]${hasBias ? '' : ' (no bias)'}`;
  const blocks = split ? split.blocks : [{ rows: [0, O] as const, elements: [0, O * I] as const }];
  // the docs' slices of a block: none when the block is the whole weight
  const cols = split ? '[:, rows]' : '';
  const rows = split ? '[rows]' : '';
  const forward: KernelCall[] = [];
  const dws: KernelCall[] = [];
  const dxs: KernelCall[] = [];
  const scratch: ScratchDecl[] = [];
  for (const [j, blk] of blocks.entries()) {
    const [r0, r1] = blk.rows;
    const R = r1 - r0;
    const name = split ? `${linearName(layer)}_rows${r0}_${r1}` : linearName(layer);
    const doc = split ? [row, `rows ${r0}..${r1} of W (block ${j + 1} of ${blocks.length}: W is split over bindings)`] : [row];
    // the offset at which a split block's W and dW are bound
    const wRange = (binding: string) => (split ? { ranges: { [binding]: blk.elements[0] } } : {});
    // packed (a schedule's choice): W copied each call into column panels P wide, then each
    // GEMM block reads P contiguous output features per step (f32x4 columns)
    const packed = sched.packed;
    const fb = blockOf(sched.fwdBlock, N, R);
    const P = fb.block?.[1] ?? 0;
    if (packed && !P) throw new Error('linear: a packed forward needs the schedule\'s forward block');
    const wpLength = packed ? Math.ceil(R / P) * P * I : 0;
    const fwd = kernel({
      name: `${name}_fwd`,
      doc: [...doc, `y${cols} = x · W${rows}ᵀ + b${rows}`, ...(packed ? [`packed: reads W from the pack kernel's column panels [${Math.ceil(R / P)}][${I}][${P}]`] : [])],
      buffers: [buf('x', N * I, 'read'), packed ? buf('wp', wpLength, 'read') : buf('w', R * I, 'read'), ...(hasBias ? [buf('b', O, 'read')] : []), buf('y', N * O, 'write')],
      // A = x [N, I]; B[i, o] = w[o * I + i] (both walk contiguously along the reduction), or the panels' wp
      body: gemmStmts({
        batch: [],
        M: N,
        N: R,
        red: [{ size: I, a: 1, b: packed ? P : 1 }],
        a: { buf: 'x', mStride: I },
        b: packed ? { buf: 'wp', nStride: 1, blockStride: I } : { buf: 'w', nStride: I },
        c: { buf: 'y', mStride: O, nStride: 1, offset: r0 },
        ...(hasBias ? { bias: { buf: 'b', nStride: 1, offset: r0 } } : {}),
        ...fb,
        // packed: n-blocks outside m-blocks, each panel read from cache by every row block
        ...(packed ? { nOuter: true } : {}),
      }),
    });
    const wArg: Record<string, string> = packed ? { wp: 'wpack' } : { w: 'weight' };
    if (packed) {
      const pack = kernel({
        name: `${name}_fwd_pack`,
        doc: [...doc, `W as column panels [${Math.ceil(R / P)}][${I}][${P}]: the forward GEMM's B, ${P} output features contiguous per step`],
        buffers: [buf('w', R * I, 'read'), buf('wp', wpLength, 'write')],
        body: packPanelsStmts(R, I, P),
      });
      scratch.push({ name: 'wpack', t: 'f32', length: wpLength, keep: false });
      forward.push({ kernel: pack, args: { w: 'weight', wp: 'wpack' } });
    }
    forward.push({ kernel: fwd, args: hasBias ? { x: 'x', ...wArg, b: 'bias', y: 'y' } : { x: 'x', ...wArg, y: 'y' }, ...wRange('w') });
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
        ...blockOf(sched.dwBlock, R, I),
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
    // dxPacked (a schedule's choice): W copied each call into panels of its columns [I / Q][R][Q],
    // so the dx GEMM's blocks read Q contiguous floats per step, one sequential stream (in place
    // they are W's rows apart: 16 KB at I = 4096, every step a new page)
    const dxPacked = sched.dxPacked === true;
    const xb = blockOf(sched.dxBlock, N, I);
    const Q = xb.block?.[1] ?? 0;
    if (dxPacked && !Q) throw new Error('linear: a packed dx needs the schedule\'s dx block');
    const wqLength = dxPacked ? Math.ceil(I / Q) * Q * R : 0;
    const dx = kernel({
      name: `${name}_dx`,
      doc: [...doc, `dx ${first ? '=' : '+='} dy${cols} · W${rows}${dxNote}`, ...(dxPacked ? [`packed: reads W from the pack kernel's column panels [${Math.ceil(I / Q)}][${R}][${Q}]`] : [])],
      buffers: [buf('dy', N * O, 'read'), dxPacked ? buf('wq', wqLength, 'read') : buf('w', R * I, 'read'), buf('dx', N * I, first ? 'write' : 'read_write')],
      // A = dy[:, r0:r1], B = w [R, I] (or its panels wq)
      body: gemmStmts({
        batch: [],
        M: N,
        N: I,
        red: [{ size: R, a: 1, b: dxPacked ? Q : I }],
        a: { buf: 'dy', mStride: O, offset: r0 },
        b: dxPacked ? { buf: 'wq', nStride: 1, blockStride: R } : { buf: 'w', nStride: 1 },
        c: { buf: 'dx', mStride: I, nStride: 1, accumulate: !first },
        ...xb,
        ...(dxPacked ? { nOuter: true } : {}),
      }),
    });
    if (dxPacked) {
      const pack = kernel({
        name: `${name}_dx_pack`,
        doc: [...doc, `W's columns as panels [${Math.ceil(I / Q)}][${R}][${Q}]: the dx GEMM's B, ${Q} input features contiguous per step`],
        buffers: [buf('w', R * I, 'read'), buf('wq', wqLength, 'write')],
        body: packColumnPanelsStmts(R, I, Q),
      });
      scratch.push({ name: 'wpackT', t: 'f32', length: wqLength, keep: false });
      dxs.push({ kernel: pack, args: { w: 'weight', wq: 'wpackT' } });
      dxs.push({ kernel: dx, args: { dy: 'dy', wq: 'wpackT', dx: 'dx' } });
    } else {
      dxs.push({ kernel: dx, args: { dy: 'dy', w: 'weight', dx: 'dx' }, ...wRange('w') });
    }
  }
  return { layer: layer.name, scratch, forward, backward: [...dws, ...dxs], alias: false };
}
