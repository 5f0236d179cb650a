// batch norm and dropout, straight from PyTorch 1.13's definitions, in float64.
//
// Batch norm (per channel, over the batch and the spatial positions: M values):
//   training: y = (x - mean) / sqrt(var + eps) * weight + bias with the batch's mean and biased
//             variance; the running stats move toward the mean and the UNBIASED variance
//             (sum of squares / (M - 1)) by the momentum, or by 1 / num_batches_tracked when the
//             momentum is null (a cumulative average); num_batches_tracked counts the steps
//   eval:     the running stats instead of the batch's (without running stats: the batch's)
// Its backward in training mode goes through the batch statistics; in eval mode they are
// constants and only the affine part remains.
//
// Dropout draws its mask from a counter-based stream, defined in docs/generated-module.md
// and written here from that definition (the generator writes its own, in the kernel IR):
// the reference computes the same keep/drop decisions, so the generated models can be
// compared with it in training mode.

import type { BatchNormLayerPlan, DropoutLayerPlan } from '../plan/types.ts';
import type { Vec } from './types.ts';

/** a batch norm's running stats, as PyTorch's buffers (running_mean, running_var, num_batches_tracked) */
export interface RunningStats {
  runningMean: Float64Array;
  runningVar: Float64Array;
  numBatchesTracked: number;
}

/** what training-mode forward keeps for backward */
export interface BatchStats {
  mean: Float64Array;
  /** 1 / sqrt(biased var + eps) */
  invstd: Float64Array;
}

function sizes(p: BatchNormLayerPlan): { N: number; C: number; S: number; M: number } {
  return { N: p.batch, C: p.channels, S: p.spatial, M: p.batch * p.spatial };
}

/** the batch's per-channel mean, biased variance and sum of squared deviations */
function batchStats(p: BatchNormLayerPlan, x: Vec): BatchStats & { squares: Float64Array } {
  const { N, C, S, M } = sizes(p);
  const mean = new Float64Array(C);
  const squares = new Float64Array(C);
  const invstd = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) s += x[(n * C + c) * S + i];
    mean[c] = s / M;
    let q = 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < S; i++) {
        const d = x[(n * C + c) * S + i] - mean[c];
        q += d * d;
      }
    }
    squares[c] = q;
    invstd[c] = 1 / Math.sqrt(q / M + p.eps);
  }
  return { mean, invstd, squares };
}

/** y from per-channel statistics: (x - mean) * invstd * weight + bias */
function normalize(p: BatchNormLayerPlan, x: Vec, mean: ArrayLike<number>, invstd: ArrayLike<number>, w: Vec | undefined, b: Vec | undefined): Float64Array {
  const { N, C, S } = sizes(p);
  const y = new Float64Array(N * C * S);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < S; i++) {
        const at = (n * C + c) * S + i;
        const xhat = (x[at] - mean[c]) * invstd[c];
        y[at] = w && b ? xhat * w[c] + b[c] : xhat;
      }
    }
  }
  return y;
}

/**
 * forward: in training mode (or without running stats) the batch's statistics, and the
 * running stats after this step; in eval mode the running stats, unchanged
 */
export function batchNormForward(
  p: BatchNormLayerPlan,
  x: Vec,
  w: Vec | undefined,
  b: Vec | undefined,
  running: RunningStats | undefined,
  training: boolean,
): { y: Float64Array; stats: BatchStats | null; running: RunningStats | undefined } {
  const useBatch = training || !p.trackRunningStats;
  if (!useBatch) {
    if (!running) throw new Error(`reference: internal: batch norm "${p.name}" in eval mode without running stats`);
    const invstd = running.runningVar.map((v) => 1 / Math.sqrt(v + p.eps));
    return { y: normalize(p, x, running.runningMean, invstd, w, b), stats: null, running };
  }
  const st = batchStats(p, x);
  const y = normalize(p, x, st.mean, st.invstd, w, b);
  if (!training || !p.trackRunningStats) return { y, stats: { mean: st.mean, invstd: st.invstd }, running };
  if (!running) throw new Error(`reference: internal: batch norm "${p.name}" tracks running stats but has none`);
  const count = running.numBatchesTracked + 1;
  const m = p.momentum === null ? 1 / count : p.momentum;
  const { M } = sizes(p);
  const next: RunningStats = {
    runningMean: running.runningMean.map((r, c) => (1 - m) * r + m * st.mean[c]),
    runningVar: running.runningVar.map((r, c) => (1 - m) * r + m * (st.squares[c] / (M - 1))),
    numBatchesTracked: count,
  };
  return { y, stats: { mean: st.mean, invstd: st.invstd }, running: next };
}

/**
 * backward of the function forward computed: through the batch statistics (`stats` given:
 * training mode, or no running stats), or with the running stats as constants
 */
export function batchNormBackward(
  p: BatchNormLayerPlan,
  x: Vec,
  dy: Vec,
  w: Vec | undefined,
  stats: BatchStats | null,
  running: RunningStats | undefined,
): { dx: Float64Array; gradWeight?: Float64Array; gradBias?: Float64Array } {
  const { N, C, S, M } = sizes(p);
  const dx = new Float64Array(N * C * S);
  const gradWeight = new Float64Array(C);
  const gradBias = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mean = stats ? stats.mean[c] : running!.runningMean[c];
    const invstd = stats ? stats.invstd[c] : 1 / Math.sqrt(running!.runningVar[c] + p.eps);
    let sdy = 0;
    let sdyxhat = 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < S; i++) {
        const at = (n * C + c) * S + i;
        sdy += dy[at];
        sdyxhat += dy[at] * (x[at] - mean) * invstd;
      }
    }
    gradBias[c] = sdy;
    gradWeight[c] = sdyxhat;
    const scale = (w ? w[c] : 1) * invstd;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < S; i++) {
        const at = (n * C + c) * S + i;
        if (!stats) {
          dx[at] = dy[at] * scale;
          continue;
        }
        // d/dx of (x - mean) * invstd: the mean and the variance depend on every x of the channel
        const xhat = (x[at] - mean) * invstd;
        dx[at] = scale * (dy[at] - sdy / M - xhat * (sdyxhat / M));
      }
    }
  }
  return w ? { dx, gradWeight, gradBias } : { dx };
}

// ---- dropout ----------------------------------------------------------------------------

/** lowbias32, on unsigned 32-bit values */
function lowbias32(v: number): number {
  let h = v >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * the mask of one dropout layer at one step: 1 / (1 - p) for a kept element, 0 for a dropped
 * one. key = H(H(H(seed ^ 0x9e3779b9) ^ layer) ^ step); element i is dropped iff
 * (H(key ^ i) >>> 8) < round(p * 2^24); p = 1 drops everything
 */
export function dropoutMask(p: DropoutLayerPlan, n: number, seed: number, step: number): Float64Array {
  const key = lowbias32(lowbias32(lowbias32((seed ^ 0x9e3779b9) >>> 0) ^ p.index) ^ step);
  const threshold = Math.round(p.p * 2 ** 24);
  const keep = p.p === 1 ? 0 : 1 / (1 - p.p);
  const mask = new Float64Array(n);
  for (let i = 0; i < n; i++) mask[i] = lowbias32(key ^ i) >>> 8 >= threshold ? keep : 0;
  return mask;
}

export function dropoutForward(x: Vec, mask: Float64Array | null): Float64Array {
  return Float64Array.from(x, (v, i) => (mask ? v * mask[i] : v));
}

export function dropoutBackward(dy: Vec, mask: Float64Array | null): Float64Array {
  return Float64Array.from(dy, (v, i) => (mask ? v * mask[i] : v));
}
