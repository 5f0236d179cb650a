// batchnorm1d / batchnorm2d, as PyTorch 1.13 computes them. Per channel c, over the batch
// and the spatial positions (M = N * S values):
//
//   training:  mean = sum x / M,  var = sum (x - mean)^2 / M (biased),  invstd = 1 / sqrt(var + eps)
//              y = (x - mean) * invstd * weight + bias
//              running_mean = (1 - m) * running_mean + m * mean
//              running_var  = (1 - m) * running_var  + m * sum (x - mean)^2 / (M - 1) (unbiased)
//   eval:      y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
//
// Backward, training: the gradient through the batch statistics (xhat = (x - mean) * invstd)
//   gradBias = sum dy,  gradWeight = sum dy * xhat
//   dx = (dy - sum dy / M - (x - mean) * invstd^2 * sum dy * (x - mean) / M) * invstd * weight
// Backward, eval: the running stats are constants, so only the affine part:
//   dx = dy * weight / sqrt(running_var + eps),  gradWeight = sum dy * xhat_running,  gradBias = sum dy
//
// Every per-channel sum is a deterministic two-pass reduction (no atomics), the shape of the
// split-K weight gradient (ir/split-reduction.ts): pass 1 sums chunks of CHUNK positions of one sample
// into `partial` (one invocation per channel x chunk on the GPU), pass 2 adds a channel's
// chunks in a fixed order. The same kernels serve both targets.

import type { BatchNormLayerPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { BufferDecl, Expr, Stmt } from '../ir/types.ts';
import type { KernelCall, LayerProgram, ScratchDecl } from './types.ts';
import { accum, add, buf, call, comment, div, f32, idiv, kernel, let_, load, loop, min, mod, mul, parallel, store, sub, v, var_ } from '../ir/build.ts';
import { shapeTag } from './names.ts';

/** positions of one sample one pass-1 invocation sums */
export const CHUNK = 256;

/**
 * a number as a name part: 0.5 -> 0p5, 1e-5 -> 1em5; a value that does not print short
 * (1/3) becomes h + 8 hex digits of a hash of its text, so names stay identifiers under 64 chars
 */
export function numberTag(x: number): string {
  const s = String(x).replace('.', 'p').replace('-', 'm').replace('+', '');
  if (s.length <= 10) return s;
  let h = 0x811c9dc5;
  for (const ch of String(x)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `h${h.toString(16).padStart(8, '0')}`;
}

/** what shapes the kernels: sizes and the reduction schedule */
interface Geo {
  readonly N: number;
  readonly C: number;
  readonly S: number;
  /** values per channel: N * S */
  readonly M: number;
  /** positions per chunk (<= CHUNK), chunks per sample, chunks per channel (N * nb) */
  readonly B: number;
  readonly nb: number;
  readonly P: number;
}

function geo(l: BatchNormLayerPlan): Geo {
  const { batch: N, channels: C, spatial: S } = l;
  const B = Math.min(S, CHUNK);
  const nb = Math.ceil(S / B);
  return { N, C, S, M: N * S, B, nb, P: N * nb };
}

const xIndex = (g: Geo, n: Expr, c: Expr, s: Expr): Expr => add(mul(add(mul(n, g.C), c), g.S), s);

/**
 * pass 1: for each (channel, chunk), `sums(xi)` summed over the chunk's positions into
 * partial[(c * P + p) * k + j] (k sums per chunk)
 */
function chunkSums(g: Geo, terms: readonly ((xi: Expr, c: Expr) => Expr)[]): Stmt {
  const k = terms.length;
  return parallel('c', 0, g.C, (c) => [
    parallel('p', 0, g.P, (p) => {
      const n = idiv(p, g.nb);
      const s0 = mul(mod(p, g.nb), g.B);
      // the last chunk of a sample may be short
      const end = g.S % g.B === 0 ? add(s0, g.B) : min(add(s0, g.B), g.S);
      return [
        let_('n', n),
        let_('s0', s0),
        ...terms.map((_, j) => var_(`acc${j}`, f32(0))),
        loop('s', v('s0'), end, (s) => [let_('xi', xIndex(g, v('n'), c, s)), ...terms.map((t, j) => accum(`acc${j}`, t(v('xi'), c)))]),
        ...terms.map((_, j) => store('partial', add(mul(add(mul(c, g.P), p), k), j), v(`acc${j}`))),
      ];
    }),
  ]);
}

/** pass 2 (inside a parallel loop over c): `tot0..` = a channel's chunk sums, added in order */
function chunkTotals(g: Geo, k: number, c: Expr): Stmt[] {
  return [
    ...Array.from({ length: k }, (_, j) => var_(`tot${j}`, f32(0))),
    loop('q', 0, g.P, (q) => Array.from({ length: k }, (_, j) => accum(`tot${j}`, load('partial', add(mul(add(mul(c, g.P), q), k), j))))),
  ];
}

/** every element: body(xi, c) with xi the flat index of (n, c, s) */
function elementwise(g: Geo, body: (xi: Expr, c: Expr) => Stmt[]): Stmt {
  return parallel('n', 0, g.N, (n) => [parallel('c', 0, g.C, (c) => [parallel('s', 0, g.S, (s) => body(xIndex(g, n, c, s), c))])]);
}

/** the batch's mean and 1 / sqrt(var + eps) of channel c, in the kept `stats` scratch */
const mean = (c: Expr): Expr => load('stats', c);

/** 1 / sqrt(v + eps) */
const invSqrt = (x: Expr, eps: number): Expr => div(f32(1), call('sqrt', add(x, f32(eps))));

/** weight[c] * t + bias[c], or t without affine */
const affineOf = (l: BatchNormLayerPlan, t: Expr, c: Expr): Expr => (l.affine ? add(mul(t, load('weight', c)), load('bias', c)) : t);
const weightOf = (l: BatchNormLayerPlan, c: Expr): Expr => (l.affine ? load('weight', c) : f32(1));

export function lowerBatchNorm(layer: BatchNormLayerPlan): LayerProgram {
  const g = geo(layer);
  const n = numel(layer.inShape);
  const invstd = (c: Expr): Expr => load('stats', add(c, g.C));
  const kind = layer.type === 'batchnorm1d' ? 'bn1d' : 'bn2d';
  const opts = [
    layer.eps !== 1e-5 ? `_eps${numberTag(layer.eps)}` : '',
    layer.momentum === null ? '_mcum' : layer.momentum !== 0.1 ? `_m${numberTag(layer.momentum)}` : '',
    layer.affine ? '' : '_noaffine',
    layer.trackRunningStats ? '' : '_notrack',
  ].join('');
  const base = `${kind}_${shapeTag(layer.inShape)}${opts}`;
  const track = layer.trackRunningStats;
  const cumulative = track && layer.momentum === null;
  const doc = [
    `${layer.type} on [${layer.inShape.join(', ')}]: ${g.C} channels of ${g.M} values (batch ${g.N} x ${g.S} positions)`,
    `eps ${layer.eps}, momentum ${layer.momentum ?? 'null (cumulative average)'}, affine ${layer.affine}, track_running_stats ${track}`,
    `per-channel sums in two passes: chunks of ${g.B} positions (${g.P} per channel), then the chunks in order`,
  ];
  const params: BufferDecl[] = layer.affine ? [buf('weight', g.C, 'read'), buf('bias', g.C, 'read')] : [];
  const paramArgs: Record<string, string> = layer.affine ? { weight: 'weight', bias: 'bias' } : {};

  // ---- forward, training mode (and eval mode without running stats) ----
  const mom: Expr = cumulative ? v('m') : f32(layer.momentum ?? 0);
  const fwdTrain = kernel({
    name: `${base}_fwd_train`,
    doc: [...doc, 'training mode: batch statistics; the running stats move toward them'],
    buffers: [
      buf('x', n, 'read'),
      ...params,
      ...(track ? [buf('running', 2 * g.C, 'read_write')] : []),
      ...(cumulative ? [buf('momentum', 1, 'read')] : []),
      buf('partial', 2 * g.C * g.P, 'read_write'),
      buf('stats', 2 * g.C, 'read_write'),
      buf('y', n, 'write'),
    ],
    body: [
      comment('the mean: chunk sums, then each channel\'s chunks in order'),
      chunkSums(g, [(xi) => load('x', xi)]),
      parallel('c', 0, g.C, (c) => [...chunkTotals(g, 1, c), store('stats', c, div(v('tot0'), f32(g.M)))]),
      comment('the sum of squared deviations from the mean, the same way (two passes: no cancellation)'),
      chunkSums(g, [(xi, c) => mul(sub(load('x', xi), mean(c)), sub(load('x', xi), mean(c)))]),
      parallel('c', 0, g.C, (c) => [
        ...chunkTotals(g, 1, c),
        store('stats', add(c, g.C), invSqrt(div(v('tot0'), f32(g.M)), layer.eps)),
        ...(track
          ? [
              ...(cumulative ? [let_('m', load('momentum', 0), 'f32')] : []),
              comment('running stats: the unbiased variance, as PyTorch'),
              store('running', c, add(mul(sub(f32(1), mom), load('running', c)), mul(mom, mean(c)))),
              store('running', add(c, g.C), add(mul(sub(f32(1), mom), load('running', add(c, g.C))), mul(mom, div(v('tot0'), f32(g.M - 1))))),
            ]
          : []),
      ]),
      comment('normalize, scale and shift'),
      elementwise(g, (xi, c) => [store('y', xi, affineOf(layer, mul(sub(load('x', xi), mean(c)), invstd(c)), c))]),
    ],
  });
  const fwdTrainCall: KernelCall = {
    kernel: fwdTrain,
    args: {
      x: 'x',
      ...paramArgs,
      ...(track ? { running: 'running' } : {}),
      ...(cumulative ? { momentum: 'momentum' } : {}),
      partial: 'partial',
      stats: 'stats',
      y: 'y',
    },
  };

  // ---- backward, training mode: through the batch statistics ----
  const dwbTrain = kernel({
    name: `${base}_dwb_train`,
    doc: [...doc, 'training mode: sum dy and sum dy * (x - mean) per channel (gradBias, gradWeight and the dx terms)'],
    buffers: [
      buf('x', n, 'read'),
      buf('dy', n, 'read'),
      buf('stats', 2 * g.C, 'read'),
      buf('partial', 2 * g.C * g.P, 'read_write'),
      buf('sums', 2 * g.C, 'write'),
      ...(layer.affine ? [buf('gradWeight', g.C, 'write'), buf('gradBias', g.C, 'write')] : []),
    ],
    body: [
      chunkSums(g, [(xi) => load('dy', xi), (xi, c) => mul(load('dy', xi), sub(load('x', xi), mean(c)))]),
      parallel('c', 0, g.C, (c) => [
        ...chunkTotals(g, 2, c),
        store('sums', c, v('tot0')),
        store('sums', add(c, g.C), v('tot1')),
        ...(layer.affine ? [store('gradBias', c, v('tot0')), store('gradWeight', c, mul(v('tot1'), invstd(c)))] : []),
      ]),
    ],
  });
  const dxTrain = kernel({
    name: `${base}_dx_train`,
    doc: [...doc, 'training mode: dx = (dy - sum dy / M - (x - mean) * invstd^2 * sum dy (x - mean) / M) * invstd * weight'],
    buffers: [buf('x', n, 'read'), buf('dy', n, 'read'), ...(layer.affine ? [buf('weight', g.C, 'read')] : []), buf('stats', 2 * g.C, 'read'), buf('sums', 2 * g.C, 'read'), buf('dx', n, 'write')],
    body: [
      elementwise(g, (xi, c) => [
        let_('is', invstd(c), 'f32'),
        let_('proj', div(mul(mul(load('sums', add(c, g.C)), v('is')), v('is')), f32(g.M)), 'f32'),
        store('dx', xi, mul(mul(sub(sub(load('dy', xi), div(load('sums', c), f32(g.M))), mul(sub(load('x', xi), mean(c)), v('proj'))), v('is')), weightOf(layer, c))),
      ]),
    ],
  });
  const backwardTrain: KernelCall[] = [
    { kernel: dwbTrain, args: { x: 'x', dy: 'dy', stats: 'stats', partial: 'partial', sums: 'sums', ...(layer.affine ? { gradWeight: 'gradWeight', gradBias: 'gradBias' } : {}) } },
    { kernel: dxTrain, args: { x: 'x', dy: 'dy', ...(layer.affine ? { weight: 'weight' } : {}), stats: 'stats', sums: 'sums', dx: 'dx' } },
  ];

  const scratch: ScratchDecl[] = [
    // the batch's mean then 1 / sqrt(var + eps), per channel
    { name: 'stats', t: 'f32', length: 2 * g.C, keep: true },
    { name: 'partial', t: 'f32', length: 2 * g.C * g.P, keep: false },
    { name: 'sums', t: 'f32', length: 2 * g.C, keep: false },
  ];
  const prog = { layer: layer.name, scratch, forward: [fwdTrainCall], backward: backwardTrain, alias: false };
  // without running stats eval mode normalizes with the batch's statistics too: the same calls
  if (!track) return prog;

  // ---- eval mode: the running stats, constants ----
  const running = [buf('running', 2 * g.C, 'read')];
  const runningArgs = { running: 'running' };
  const xhatRunning = (xi: Expr, c: Expr): Expr => mul(sub(load('x', xi), load('running', c)), invSqrt(load('running', add(c, g.C)), layer.eps));
  const fwdEval = kernel({
    name: `${base}_fwd_eval`,
    doc: [...doc, 'eval mode: the running statistics'],
    buffers: [buf('x', n, 'read'), ...params, ...running, buf('y', n, 'write')],
    body: [elementwise(g, (xi, c) => [store('y', xi, affineOf(layer, xhatRunning(xi, c), c))])],
  });
  const dxEval = kernel({
    name: `${base}_dx_eval`,
    doc: [...doc, 'eval mode: dx = dy * weight / sqrt(running_var + eps) (the running stats are constants)'],
    buffers: [buf('dy', n, 'read'), ...(layer.affine ? [buf('weight', g.C, 'read')] : []), ...running, buf('dx', n, 'write')],
    body: [elementwise(g, (xi, c) => [store('dx', xi, mul(mul(load('dy', xi), invSqrt(load('running', add(c, g.C)), layer.eps)), weightOf(layer, c)))])],
  });
  const backwardEval: KernelCall[] = [];
  if (layer.affine) {
    const dwbEval = kernel({
      name: `${base}_dwb_eval`,
      doc: [...doc, 'eval mode: gradBias = sum dy, gradWeight = sum dy * (x - running_mean) / sqrt(running_var + eps)'],
      buffers: [buf('x', n, 'read'), buf('dy', n, 'read'), ...running, buf('partial', 2 * g.C * g.P, 'read_write'), buf('gradWeight', g.C, 'write'), buf('gradBias', g.C, 'write')],
      body: [
        chunkSums(g, [(xi) => load('dy', xi), (xi, c) => mul(load('dy', xi), xhatRunning(xi, c))]),
        parallel('c', 0, g.C, (c) => [...chunkTotals(g, 2, c), store('gradBias', c, v('tot0')), store('gradWeight', c, v('tot1'))]),
      ],
    });
    backwardEval.push({ kernel: dwbEval, args: { x: 'x', dy: 'dy', ...runningArgs, partial: 'partial', gradWeight: 'gradWeight', gradBias: 'gradBias' } });
  }
  backwardEval.push({ kernel: dxEval, args: { dy: 'dy', ...(layer.affine ? { weight: 'weight' } : {}), ...runningArgs, dx: 'dx' } });
  return {
    ...prog,
    eval: {
      forward: [{ kernel: fwdEval, args: { x: 'x', ...paramArgs, ...runningArgs, y: 'y' } }],
      backward: backwardEval,
    },
  };
}
