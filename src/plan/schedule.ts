// The schedule: how a target runs each conv kernel, chosen here as plain data (Halide's
// split: the plan says what is computed, the schedule how). src/kernels/conv.ts lowers each
// algorithm once and reads the rest from here; `convgen plan --target ts|wgsl` prints it.
//
//   algorithm   what it computes                              ts (V8)                        wgsl (GPU)
//   gather      forward, and grad-input split by stride       window unrolled in register    an invocation per (sample,
//               phase (conv-axes.ts): out = sum w * in        blocks of channels x columns;  channel block, pixel); taps
//                                                             passes under an unroll budget  unrolled up to tapUnroll
//   im2row      a copy into rows of windows, then a GEMM      4x4 register-blocked GEMM      tiled GEMM in workgroup
//               (grad-input: GEMM, then col2im; grad-weight:                                 memory (forward only)
//               im2row(x)ᵀ · dY)
//   reduce      grad-weight: sum over batch and pixels        blocks of channels x input     split-K: chunks of samples
//                                                             channels x taps, unrolled      x rows, then their sum
//   sum         grad-bias: sum of dy per channel              one loop per channel           two passes, or fused into
//                                                                                            the split-K (fused)

import type { ConvGeometry, ConvLayerPlan, ConvTransposeLayerPlan, KernelRole, LayerPlan, ModelPlan } from './types.ts';
import { underlyingConv, isTransposed } from './types.ts';
import { DEFAULT_LIMITS } from '../gpu/limits.ts';

// ---- ts -------------------------------------------------------------------------------------

/** accumulators per direct block: 4 channels x 4 columns keeps 16 sums + 4 inputs + 1 weight in registers */
export const BLOCK_O = 4;
export const BLOCK_W = 4;

/** IR nodes per direct kernel, about 45 KB of V8 bytecode (see src/ir/size.ts): under its 60 KB optimizing limit */
export const DIRECT_KERNEL_BUDGET = 9000;

/** the register-blocked GEMM's block (kernels/gemm.ts): 4 loads of A, 4 of B, 16 multiply-adds per step */
export const GEMM_BM = 4;
export const GEMM_BN = 4;

/** the output channels per direct block: 4, or 3 when that divides the channels and 4 does not (no remainder code) */
export const channelBlock = (per: number): number => (per % BLOCK_O !== 0 && per % 3 === 0 ? 3 : Math.min(BLOCK_O, per));

// ---- wgsl -----------------------------------------------------------------------------------

/** pass 1 of a split-K reduction aims for about this many invocations (enough to fill a GPU's cores) */
export const SPLIT_K_INVOCATIONS = 32768;
/** and keeps at least this many products per invocation, so partials stay small next to the work */
export const SPLIT_K_MIN_CHUNK = 64;

/** output channels one gather invocation computes: shares each input load among them */
export const blockOf = (n: number): number => (n % 4 === 0 ? 4 : n % 2 === 0 ? 2 : 1);

/** an axis with more taps than this runs them as a loop (a smaller shader) instead of unrolled */
export const TAP_UNROLL_LIMIT = 8;

/** split-K tuning (tests force many small chunks with `minChunk: 1`) */
export interface SplitKOptions {
  readonly invocations?: number;
  readonly minChunk?: number;
}

/** how a split-K reduction cuts K = batch x rows x cols */
export interface SplitK {
  /** samples per chunk */
  readonly nb: number;
  /** output rows per chunk (all columns) */
  readonly bh: number;
  readonly chunks: number;
  /** products per chunk and output */
  readonly perChunk: number;
}

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/**
 * how pass 1 cuts K = batch x rows x cols: chunks of `nb` samples x `bh` rows (all
 * columns), as many chunks as keep pass 1 near SPLIT_K_INVOCATIONS with `rowsOut` outputs
 * per chunk, none shorter than SPLIT_K_MIN_CHUNK products (or K itself when K is smaller)
 */
export function splitK(batch: number, rows: number, cols: number, rowsOut: number, opts: SplitKOptions = {}): SplitK {
  const want = Math.max(1, Math.ceil((opts.invocations ?? SPLIT_K_INVOCATIONS) / rowsOut));
  const minChunk = Math.min(opts.minChunk ?? SPLIT_K_MIN_CHUNK, batch * rows * cols);
  let best = { nb: batch, bh: rows, chunks: 1, perChunk: batch * rows * cols };
  for (const nb of divisors(batch)) {
    for (const bh of divisors(rows)) {
      const chunks = (batch / nb) * (rows / bh);
      const perChunk = nb * bh * cols;
      if (perChunk < minChunk || chunks > want) continue;
      if (chunks > best.chunks || (chunks === best.chunks && nb > best.nb)) best = { nb, bh, chunks, perChunk };
    }
  }
  return best;
}

const pow2AtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** invocations per workgroup of the tiled GEMM at most: the WebGPU default limit, which every device meets */
export const GEMM_WORKGROUP = 256;
/** outputs (pixels x channels) per tile at most */
export const GEMM_TILE_OUTPUTS = 1024;
/** depth of one staged tile along the reduction */
export const GEMM_TILE_K = 16;

/** a tiled GEMM's tile: tm x tn outputs, tk deep; rm x rn outputs per invocation, `size` invocations */
export interface GemmTile {
  readonly tm: number;
  readonly tn: number;
  readonly tk: number;
  readonly rm: number;
  readonly rn: number;
  readonly size: number;
}

/**
 * the tile shape for an M x N output: N-side up to 16, the rest of GEMM_TILE_OUTPUTS on M, and
 * the two staged tiles ((tm + tn) x tk floats) within the spec's default workgroup memory,
 * which every device has (a single-channel N with tm = 256 would need 64 bytes more). Each
 * invocation computes rm x rn outputs of the tile (register blocking: per step of K it
 * loads rm + rn words of workgroup memory for rm * rn multiply-adds), so a workgroup has
 * (tm / rm) x (tn / rn) invocations
 */
export function gemmTile(M: number, N: number, K: number): GemmTile {
  const tn = Math.min(16, pow2AtLeast(N));
  const tk = Math.min(GEMM_TILE_K, pow2AtLeast(K));
  let tm = Math.min(GEMM_TILE_OUTPUTS / tn, pow2AtLeast(M));
  while (tm > 1 && (tm + tn) * tk * 4 > DEFAULT_LIMITS.maxComputeWorkgroupStorageSize) tm /= 2;
  const rn = tn >= 4 ? 2 : 1;
  // as few outputs per invocation as fit GEMM_WORKGROUP invocations, then up to 4 while 64 remain
  let rm = 1;
  while ((tm / rm) * (tn / rn) > GEMM_WORKGROUP) rm *= 2;
  while (rm < 4 && rm * 2 <= tm && (tm / (rm * 2)) * (tn / rn) >= 64) rm *= 2;
  return { tm, tn, tk, rm, rn, size: (tm / rm) * (tn / rn) };
}

// ---- the schedule as data -------------------------------------------------------------------

export type ScheduleTarget = 'ts' | 'wgsl' | 'wasm';

export type ConvAlgorithm = 'gather' | 'im2row' | 'reduce' | 'sum';

/** one conv kernel role on one target (fields a target does not use are null) */
export interface ConvKernelSchedule {
  readonly role: KernelRole;
  readonly algorithm: ConvAlgorithm;
  /**
   * the register block: ts gather [channels, columns]; ts reduce [channels, input channels,
   * taps of a kernel row]; ts im2row GEMM [rows, columns]; wgsl gather [channels] per
   * invocation; wgsl im2row tiled GEMM [rows, columns] per invocation; [] for sums
   */
  readonly block: readonly number[];
  /** ts gather / reduce: IR nodes per kernel before the unrolled window splits into passes */
  readonly unrollBudget: number | null;
  /** wgsl gather / reduce: taps per axis unrolled; a longer axis loops (gather) or makes invocations (reduce) */
  readonly tapUnroll: number | null;
  /** wgsl im2row: the tiled GEMM's tile */
  readonly tile: GemmTile | null;
  /** wgsl reduce: how the batch x pixels reduction is cut (a sum fused into it shares it) */
  readonly splitK: SplitK | null;
  /** wgsl sum: computed inside the gradWeight split-K (one extra column per channel) */
  readonly fused: boolean;
  /**
   * how the output pixels run (one loop-nest description, two shapes): `loops` inside the
   * channel and tap loops, split at each tap's valid range so no read is checked (ts, wasm);
   * `invocations`: parallel loops outside the taps, one invocation each, checking only the
   * taps that can leave the input (wgsl)
   */
  readonly pixels: PixelSchedule;
  /**
   * wasm gather: the weights are packed per call into [g][r][kh][kw][o] (kernels/conv-pack.ts)
   * and the block's f32x4 accumulators run over output channels; absent: the layer's layout,
   * f32x4 over input columns where they are contiguous
   */
  readonly packed?: boolean;
  /**
   * wasm packed gather: a column block width taken instead of block[1] for an axis (or stride
   * phase) whose interior columns it divides and block[1] does not: no narrower tail block
   */
  readonly evenWidth?: number;
  /**
   * wasm im2row grad-weight: floats from one row of the im2row buffer to the next, K padded
   * so that a row is an odd number of 64-byte lines (the GEMM reads a column panel, one line
   * per row: rows 2 KB apart share a few cache sets); absent: K
   */
  readonly colsStride?: number;
  /** wasm im2row grad-weight: the copy writes cols a row at a time (kernels/conv-im2row.ts im2rowStmts, byRow); absent: a column at a time */
  readonly colsByRow?: boolean;
  /**
   * wasm reduce (grad-weight): dy packed per call into [g][co block][n][p][o] and x zero-padded
   * (kernels/conv-dw-packed.ts), blocks of [output channels, input channels, taps of a kernel
   * row] with f32x4 over output channels, one reduction over batch x pixels per block; absent:
   * the layer's layouts (the TS reduction)
   */
  readonly dyPacked?: boolean;
}

/** see ConvKernelSchedule.pixels */
export type PixelSchedule = 'loops' | 'invocations';

/** a conv layer's kernels on one target, in the plan's role order */
export interface ConvLayerSchedule {
  readonly layer: string;
  readonly target: ScheduleTarget;
  readonly kernels: readonly ConvKernelSchedule[];
}

/** a model's conv schedule on one target (other layers have a single way to run) */
export interface ModelSchedule {
  readonly model: string;
  readonly target: ScheduleTarget;
  readonly layers: readonly ConvLayerSchedule[];
}

/** what tests and benchmarks may force instead of the planner's choice */
export interface ScheduleOverrides {
  /** ts: the unroll budget (tests force split windows with a tiny one) */
  readonly unrollBudget?: number;
  /** wgsl: split-K tuning */
  readonly splitK?: SplitKOptions;
  /** wgsl: a conv's forward as the gather, or as im2row + a tiled GEMM (default: tiled where the plan's forward strategy is im2row) */
  readonly forward?: 'gather' | 'tiled';
  /** wasm: false keeps grad-weight off the packed reduction (im2row + GEMM, or the TS reduction), to compare */
  readonly dwPacked?: boolean;
}

type ConvLayer = ConvLayerPlan | ConvTransposeLayerPlan;

const none = { unrollBudget: null, tapUnroll: null, tile: null, splitK: null, fused: false, pixels: 'loops' } as const;
/** a GPU kernel: pixels are invocations */
const gpu = { ...none, pixels: 'invocations' } as const;

/** C's gather for a role: forward reduces over C's input channels, C.dx over its output channels */
const gatherOutPer = (c: ConvGeometry, cDx: boolean) => (cDx ? c.inC : c.outC) / c.groups;

function tsKernel(layer: ConvLayer, role: KernelRole, o: ScheduleOverrides): ConvKernelSchedule {
  const c = underlyingConv(layer);
  const T = isTransposed(layer);
  const budget = o.unrollBudget ?? DIRECT_KERNEL_BUDGET;
  if (role === 'gradBias') return { role, algorithm: 'sum', block: [], ...none };
  const strategy = layer.schedule[role];
  const cig = c.inC / c.groups;
  const cog = c.outC / c.groups;
  if (strategy === 'im2row') {
    const kk = c.kH * c.kW;
    const P = c.outH * c.outW;
    // the GEMM's M x N: forward P x Cog, C.dx's dcols P x Cig*kk, dW Cog x Cig*kk
    const cDx = (role === 'forward') === T;
    const [M, N] = role === 'gradWeight' ? [cog, cig * kk] : cDx ? [P, cig * kk] : [P, cog];
    return { role, algorithm: 'im2row', block: [Math.min(GEMM_BM, M), Math.min(GEMM_BN, N)], ...none };
  }
  if (role === 'gradWeight') {
    // with short kernel rows, block several input channels too (1x1: 4 channels x 4 channels)
    const rbw = Math.max(1, Math.min(cig, Math.floor(BLOCK_W / Math.min(c.kW, BLOCK_W))));
    return { role, algorithm: 'reduce', block: [Math.min(BLOCK_O, cog), rbw, Math.min(c.kW, BLOCK_W)], ...none, unrollBudget: budget };
  }
  return { role, algorithm: 'gather', block: [channelBlock(gatherOutPer(c, (role === 'forward') === T)), BLOCK_W], ...none, unrollBudget: budget };
}

function wgslKernel(layer: ConvLayer, role: KernelRole, o: ScheduleOverrides): ConvKernelSchedule {
  const c = underlyingConv(layer);
  const T = isTransposed(layer);
  const cig = c.inC / c.groups;
  const cog = c.outC / c.groups;
  const reduce = (): SplitK => splitK(c.batch, c.outH, c.outW, c.outC * cig * c.kH * (c.kW > TAP_UNROLL_LIMIT ? c.kW : 1), o.splitK);
  if (role === 'gradBias') {
    // the bias gradient rides in the split-K gradWeight when it sums C's dy (a conv, not a conv_transpose)
    const fused = !T && layer.kernels.includes('gradWeight');
    // alone, it sums per sample in parallel, then the samples in order: split-K by sample
    const [batch, , ...space] = layer.outShape;
    const rows = space.length === 2 ? space[0]! : 1;
    const perChunk = space.reduce((a, b) => a * b, 1);
    return { role, algorithm: 'sum', block: [], ...gpu, fused, splitK: fused ? null : { nb: 1, bh: rows, chunks: batch!, perChunk } };
  }
  if (role === 'gradWeight') return { role, algorithm: 'reduce', block: [], ...gpu, tapUnroll: TAP_UNROLL_LIMIT, splitK: reduce() };
  if (role === 'forward' && !T && (o.forward ?? (layer.schedule.forward === 'im2row' ? 'tiled' : 'gather')) === 'tiled') {
    const t = gemmTile(c.outH * c.outW, cog, cig * c.kH * c.kW);
    return { role, algorithm: 'im2row', block: [t.rm, t.rn], ...gpu, tile: t };
  }
  return { role, algorithm: 'gather', block: [blockOf(gatherOutPer(c, (role === 'forward') === T))], ...gpu, tapUnroll: TAP_UNROLL_LIMIT };
}

// ---- wasm -----------------------------------------------------------------------------------

/**
 * the TS target's algorithms and register blocks (the same lowering, rendered with f32x4
 * register blocks), except that grad-weight is im2row + GEMM wherever a group has 4 input
 * channels or more: its GEMM's n-blocks vectorize (B, the im2row rows, is contiguous), the
 * reduction's per-tap accumulators do not. Measured in one bench run (Node 20, loaded 2-vCPU
 * machine), wasm SIMD grad-weight, im2row against the reduction: config B 13.4 vs 9.2 GFLOP/s,
 * C 5.4 vs 5.2, D 15.2 vs 8.3; the ResNet example's step 42.8 vs 47.0 ms; LeNet's step lost
 * 15% with its 1-channel c1 on im2row, and is even with c1 kept on the reduction. Wider gather
 * blocks (4x8, 4x16 columns) and GEMM blocks (4x8, 4x16) measured no faster on B, C, D.
 */
/** fewer input channels per group than this keeps the TS choice (LeNet's 1-channel c1: its GEMM rows are short) */
export const WASM_IM2ROW_MIN_CIN = 4;

/**
 * the packed gather's block (f32x4 over output channels, kernels/conv-pack.ts): 16 output
 * channels x 4 output columns, 16 vector accumulators; each loop step (a kernel row's taps
 * for one input channel) splats each input column it reads once and loads each tap's 4
 * weight vectors once. Measured with the taps of a kernel row in one loop (Node 20, 2-vCPU
 * machine, load 6-7, min of 40 calls against the WASM-SIMD calibration GEMM), forward
 * B/C/D/E: 8x4 96/87/87/104%, 16x4 97/94/95/101%, 12x4 97/92/91/105%, 8x6 95/90/86/98%
 * (with one loop per tap: 8x4 80/73/78/91%; the column-vector gather it replaces 49/52/26/41%).
 * Register pressure, seen with perf annotate (node --perf-prof): TurboFan issues all of a loop
 * step's loads first (12 weight vectors, 6 splats), so 16 accumulators spill (42 of the step's
 * ~160 instructions move xmm to and from the stack, against 96 mul / add). Spill-free shapes
 * (8x4 or 16x2 with one loop per tap, 14 live vectors, XNNPACK's 4x8) measured slower again
 * after the input addressing was fixed: B/C/D forward 95/71/88%, 97/77/92% against 16x4's 109/104/101%
 * (load 6); 16x4 stays
 */
export const WASM_GATHER_BLOCK = [16, 4] as const;
/**
 * the packed gather's column width where it divides the interior columns and 4 does not (D's
 * forward: 15 interior columns, 3 blocks of 5 instead of 3 of 4 and a tail of 3). Same process,
 * rounds interleaved (load 5.6-5.8), D forward 2.26-2.34 -> 2.13-2.18 ms; B's and E's within
 * the noise; 5 columns everywhere measured D's grad-input 3-4% slower
 */
export const WASM_GATHER_EVEN_W = 5;
/**
 * a gather over 1-3 output channels per group keeps the column vectors (f32x4 over 4
 * contiguous output columns, stride 1), 8 columns per block: config A's grad-input (1
 * channel, k5) 0.16 -> 0.13 ms (47 -> 59% of the calibration GEMM; 16 columns 61%), no
 * unroll budget (V8's bytecode limit does not apply to wasm)
 */
export const WASM_COLUMN_GATHER_W = 8;

/**
 * the wasm grad-weight GEMM's block [rows, columns]: 4 output channels x 8 columns of im2row
 * (2 f32x4 per row, B contiguous). Same run, % calibration B/C/D grad-weight: 4x4 35/36/63,
 * 4x8 52/47/69, 4x16 53/48/34
 */
export const WASM_DW_GEMM_BLOCK = [4, 8] as const;

/**
 * the im2row row stride for K columns: K when its rows are an odd number of 64-byte cache
 * lines apart or shorter than one line; else K plus 16 floats (one line). Config E's K = 512
 * (rows 2 KB apart) ran its grad-weight GEMM at 5.7 GFLOP/s, C's K = 576 at 18
 */
export function colsRowStride(K: number): number {
  return K % 16 === 0 && (K / 16) % 2 === 0 ? K + 16 : K;
}

/**
 * the packed grad-weight's block [output channels, input channels, taps of a kernel row]
 * (kernels/conv-dw-packed.ts): up to 16 output channels (4 f32x4) and about 16 vector
 * accumulators in all, taps along the kernel row first (neighbouring taps read the same input
 * rows), a long row in even chunks. Measured (bench/wasm-dw.ts, min of samples against the
 * calibration GEMM's, load 5): B/C/D/E 16x4 channels x 1 tap 95/90/84/87%, 16 x 3 taps of a
 * row (12 accumulators: 4 fewer registers than V8's 16 xmm) 97/97/95/-, E's 16 x 4 taps 97%,
 * 16 x 2 x 2 88/87/85/89%, 8 x 8 channels 74/78/75/72%
 */
export const WASM_DW_PACKED_CHANNELS = 16;
/** vector accumulators per packed grad-weight block at most */
export const WASM_DW_PACKED_ACCUMULATORS = 16;

/** the packed grad-weight's block for a conv's geometry */
export function dwPackedBlock(c: ConvGeometry): number[] {
  const cig = c.inC / c.groups;
  const vecs = Math.ceil(Math.min(WASM_DW_PACKED_CHANNELS, c.outC / c.groups) / 4);
  const taps = Math.max(1, Math.floor(WASM_DW_PACKED_ACCUMULATORS / vecs));
  // a kernel row's taps, in even chunks of at most `taps`; then input channels
  const kw = c.kW <= taps ? c.kW : Math.ceil(c.kW / Math.ceil(c.kW / taps));
  return [vecs * 4, Math.max(1, Math.min(cig, Math.floor(taps / kw))), kw];
}

function wasmKernel(layer: ConvLayer, role: KernelRole, o: ScheduleOverrides): ConvKernelSchedule {
  const c = underlyingConv(layer);
  if (role === 'forward' || role === 'gradInput') {
    // from 4 output channels per group the packed gather, whatever the plan's strategy (its
    // im2row GEMM would be scalar: both operands have K contiguous); below, the TS choice
    const outPer = gatherOutPer(c, (role === 'forward') === isTransposed(layer));
    if (outPer < 4) {
      const k = tsKernel(layer, role, o);
      return k.algorithm === 'gather' ? { ...k, block: [k.block[0]!, WASM_COLUMN_GATHER_W], unrollBudget: null } : k;
    }
    const k = tsKernel({ ...layer, schedule: { ...layer.schedule, [role]: 'direct' } }, role, o);
    return { ...k, block: [Math.min(WASM_GATHER_BLOCK[0], outPer), WASM_GATHER_BLOCK[1]], unrollBudget: null, packed: true, evenWidth: WASM_GATHER_EVEN_W };
  }
  // grad-weight from 4 output channels per group: the packed reduction (f32x4 over output
  // channels, kernels/conv-dw-packed.ts); with fewer, im2row + GEMM from 4 input channels (the
  // GEMM's n-blocks run over K), else the TS reduction (depthwise). Packed against im2row +
  // GEMM, min of samples against the calibration GEMM (bench/wasm-dw.ts, load 5): A 47 -> 83%
  // (the TS reduction), B 63 -> 92%, C 52-58 -> 88-103%, D 70 -> 85-97%, E 73 -> 92%
  if (role === 'gradWeight' && o.dwPacked !== false && c.outC / c.groups >= 4) {
    return { role, algorithm: 'reduce', block: dwPackedBlock(c), ...none, dyPacked: true };
  }
  const k = role !== 'gradWeight' || layer.schedule.gradWeight === 'im2row' || c.inC / c.groups < WASM_IM2ROW_MIN_CIN ? tsKernel(layer, role, o) : tsKernel({ ...layer, schedule: { ...layer.schedule, gradWeight: 'im2row' } }, role, o);
  if (k.algorithm === 'im2row' && role === 'gradWeight') {
    const [bm, bn] = WASM_DW_GEMM_BLOCK;
    const K = (c.inC / c.groups) * c.kH * c.kW;
    const stride = colsRowStride(K);
    // the copy writes a row of cols at a time (colsByRow): per kernel, min of 30 (load 7),
    // config B 1.47 -> 0.51 ms, C 2.23 -> 0.58, D 0.38 -> 0.23, E 0.74 -> 0.38 (the GEMM
    // after it: 3.4, 13-17, 3.6, 6.3 ms)
    return { ...k, block: [Math.min(bm, c.outC / c.groups), Math.min(bn, K)], ...(stride !== K ? { colsStride: stride } : {}), colsByRow: true };
  }
  return k;
}

/** each target's chooser: a new target adds one (and its algorithms in src/kernels/conv.ts) */
const CHOOSERS: Record<ScheduleTarget, (layer: ConvLayer, role: KernelRole, o: ScheduleOverrides) => ConvKernelSchedule> = { ts: tsKernel, wgsl: wgslKernel, wasm: wasmKernel };

/** a conv layer's schedule on a target: one record per kernel role the plan asks for */
export function scheduleConv(layer: ConvLayer, target: ScheduleTarget, overrides: ScheduleOverrides = {}): ConvLayerSchedule {
  const one = CHOOSERS[target];
  const roles = layer.kernels.filter((r) => r !== 'gradBias' || layer.biasShape !== null);
  return { layer: layer.name, target, kernels: roles.map((r) => one(layer, r, overrides)) };
}

const isConv = (l: LayerPlan): l is ConvLayer => l.type === 'conv1d' || l.type === 'conv2d' || l.type === 'conv_transpose1d' || l.type === 'conv_transpose2d';

/** the model's conv schedule on a target */
export function scheduleModel(plan: ModelPlan, target: ScheduleTarget, overrides: ScheduleOverrides = {}): ModelSchedule {
  const layers = plan.layers.filter(isConv).map((l) => scheduleConv(l, target, overrides));
  // an inference build runs the forward kernels only
  return { model: plan.name, target, layers: plan.inference ? layers.map((l) => ({ ...l, kernels: l.kernels.filter((k) => k.role === 'forward') })) : layers };
}

// ---- linear layers --------------------------------------------------------------------------

/**
 * a linear layer's GEMMs on one target (kernels/linear.ts). ts and wgsl: W read in place
 * (the forward's B[i, o] = w[o * I + i], stride I along the output features) and the GEMM
 * builder's default 4x4 block. wasm: the forward packs W per call into Wᵀ [I][O] (weights
 * change every step) so that B is contiguous along the output features and its columns are
 * f32x4, and all three GEMMs take WASM_LINEAR_BLOCK
 */
export interface LinearLayerSchedule {
  readonly layer: string;
  readonly target: ScheduleTarget;
  /**
   * forward: W copied per call into a scratch of column panels [O / bn][I][bn] (bn: the
   * forward block's columns; the last panel padded), so each GEMM block reads bn contiguous
   * output features per reduction step, one sequential stream
   */
  readonly packed: boolean;
  /** dx: W's columns copied per call into panels [I / bn][O][bn] (bn: the dx block's columns) and read from there; absent: W in place */
  readonly dxPacked?: boolean;
  /** the register blocks [rows, columns] of the forward, dx and dW GEMMs (null: the GEMM builder's default) */
  readonly fwdBlock: readonly number[] | null;
  readonly dxBlock: readonly number[] | null;
  readonly dwBlock: readonly number[] | null;
}

/**
 * the wasm linear forward's and dW's GEMM block: 4 rows x 8 columns (2 f32x4 per row, B
 * contiguous); dx keeps the 4x4 default. Measured (bench/wasm-linear.ts, one process, load
 * 2.2), ms in place 4x4 -> packed 4x8: forward LeNet f5 (400->120, batch 32) 0.336 -> 0.093,
 * 4096->4096 batch 8 30.6 -> 28.3, batch 32 126 -> 47; dW 0.122 -> 0.110, 12.4 -> 9.7, 62 -> 41;
 * dx at 4x8 on W in place 0.102 -> 0.098 but 82 -> 98 and 345 -> 393 (its B, W [O][I], is
 * read in column panels 16 KB apart); on W's column panels (dxPacked, with the forward's batch
 * rule) 0.107 -> 0.096, 82 -> 54, 320 -> 78 (load 4.4); batch 1 48 against 40 in place (the copy)
 */
export const WASM_LINEAR_BLOCK = [4, 8] as const;

/**
 * the batch from which the wasm forward and dx pack W: each copy reads and writes every weight once
 * for batch x weights multiply-adds, so a GEMV (batch 1: VGG-16's and AlexNet's examples)
 * reads W in place
 */
export const WASM_LINEAR_PACK_MIN_BATCH = 4;

/** a linear layer's schedule on a target */
export function scheduleLinear(layer: { readonly name: string; readonly batch: number }, target: ScheduleTarget): LinearLayerSchedule {
  if (target !== 'wasm') return { layer: layer.name, target, packed: false, fwdBlock: null, dxBlock: null, dwBlock: null };
  const b = [...WASM_LINEAR_BLOCK];
  const packed = layer.batch >= WASM_LINEAR_PACK_MIN_BATCH;
  return { layer: layer.name, target, packed, dxPacked: packed, fwdBlock: b, dxBlock: packed ? b : null, dwBlock: b };
}
