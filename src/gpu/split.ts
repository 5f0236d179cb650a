// The binding split: what the WGSL target does with a buffer larger than one binding
// (maxStorageBufferBindingSize) or one GPU buffer (maxBufferSize), decided here as plain data
// before anything is lowered or written, and printed by `convgen plan --target wgsl`.
//
//   linear weights   a weight [O, I] over the binding limit is cut into blocks of whole output
//                    rows; each block's kernels (forward, dW, db, dx) bind only its rows of W /
//                    dW, at a byte offset that is a multiple of minStorageBufferOffsetAlignment
//                    (so rows per block is a multiple of align / gcd(I, align)). dx sums over all
//                    rows: the first block writes it, the later ones add to it.
//   arenas           the parameter arena (and the gradient arena and optimizer state, laid out
//                    alike) is packed into GPU buffers of at most maxBufferSize; a tensor, or a
//                    split weight's block, never straddles two.
//   optimizers       the elementwise optimizer kernels run in chunks of at most one binding,
//                    each bound at an aligned offset of its arena buffer.
// Anything else over the limit (a conv's weights, an activation) is refused by the schedule,
// naming the layer (src/gpu/schedule.ts).

import type { LayerPlan } from '../plan/types.ts';
import type { ParamSlot } from '../kernels/types.ts';
import type { GpuLimits } from './limits.ts';

/** a block of a split linear weight: output rows [rows[0], rows[1]) */
export interface WeightBlock {
  readonly rows: readonly [number, number];
  /** elements of the weight tensor, [start, end) */
  readonly elements: readonly [number, number];
  /** bytes from the tensor's start: a multiple of the offset alignment */
  readonly byteOffset: number;
}

export interface LinearSplit {
  readonly layer: string;
  /** elements per row (inFeatures) */
  readonly rowLength: number;
  readonly blocks: readonly WeightBlock[];
}

/** one tensor's piece in an arena buffer */
export interface ArenaPart {
  /** which GPU buffer of the arena (0: `params`, 1: `params_1`, ...) */
  readonly buffer: number;
  /** element offset in that buffer (a multiple of the alignment) */
  readonly offset: number;
  /** the piece's first element in the tensor */
  readonly start: number;
  readonly length: number;
}

/** an optimizer chunk: elements [offset, offset + length) of one arena buffer */
export interface OptimizerChunk {
  readonly buffer: number;
  readonly offset: number;
  readonly length: number;
}

export interface ArenaLayout {
  /** elements of each GPU buffer of the arena (each a multiple of the alignment) */
  readonly buffers: readonly number[];
  /** per parameter slot (program.params.slots order), its parts in tensor order */
  readonly parts: readonly (readonly ArenaPart[])[];
  readonly chunks: readonly OptimizerChunk[];
}

/** minStorageBufferOffsetAlignment in elements (f32) */
export const alignElements = (limits: GpuLimits): number => Math.max(1, Math.ceil(limits.minStorageBufferOffsetAlignment / 4));

/** the most elements one binding may hold: a binding is never larger than a buffer */
export const bindingElements = (limits: GpuLimits): number => Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 4);

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * how a linear layer's weight is split, or null when it fits one binding. Null also when no
 * block of aligned rows fits (the schedule then refuses it, naming the layer)
 */
export function splitLinear(l: LayerPlan, limits: GpuLimits): LinearSplit | null {
  if (l.type !== 'linear') return null;
  const { inFeatures: I, outFeatures: O } = l;
  const max = bindingElements(limits);
  if (O * I <= max) return null;
  const align = alignElements(limits);
  // rows per block: a multiple of `step` keeps every block's offset aligned
  const step = align / gcd(I, align);
  const most = Math.floor(Math.floor(max / I) / step) * step;
  if (most === 0) return null;
  const count = Math.ceil(O / most);
  // equal blocks (the last one shorter) rather than full ones and a sliver
  const rows = Math.ceil(Math.ceil(O / count) / step) * step;
  const blocks: WeightBlock[] = [];
  for (let r0 = 0; r0 < O; r0 += rows) {
    const r1 = Math.min(O, r0 + rows);
    blocks.push({ rows: [r0, r1], elements: [r0 * I, r1 * I], byteOffset: r0 * I * 4 });
  }
  return { layer: l.name, rowLength: I, blocks };
}

/**
 * the parameter arena packed into GPU buffers: each slot (or each block of a split weight) at
 * an aligned offset, a new buffer begun when the next piece would pass maxBufferSize; then
 * each buffer's optimizer chunks
 */
export function layoutArena(slots: readonly ParamSlot[], splits: readonly LinearSplit[], limits: GpuLimits): ArenaLayout {
  const align = alignElements(limits);
  const up = (n: number) => Math.ceil(n / align) * align;
  const maxBuffer = Math.floor(limits.maxBufferSize / 4);
  const buffers: number[] = [];
  const parts = slots.map((s) => {
    const split = s.kind === 'weight' ? splits.find((q) => q.layer === s.layer) : undefined;
    const pieces = split ? split.blocks.map((b) => [b.elements[0], b.elements[1] - b.elements[0]] as const) : [[0, s.length] as const];
    return pieces.map(([start, length]): ArenaPart => {
      let at = buffers.length - 1;
      // a piece larger than a buffer gets one alone (requiredLimits then asks for it)
      if (at < 0 || (buffers[at] > 0 && up(buffers[at] + length) > maxBuffer)) at = buffers.push(0) - 1;
      const offset = buffers[at];
      buffers[at] = up(offset + length);
      return { buffer: at, offset, start, length };
    });
  });
  if (!buffers.length) buffers.push(align);
  // chunks of whole aligned blocks, equal but the last
  const most = Math.max(align, Math.floor(bindingElements(limits) / align) * align);
  const chunks: OptimizerChunk[] = [];
  buffers.forEach((n, buffer) => {
    const count = Math.ceil(n / most);
    const size = Math.ceil(n / count / align) * align;
    for (let offset = 0; offset < n; offset += size) chunks.push({ buffer, offset, length: Math.min(size, n - offset) });
  });
  return { buffers, parts, chunks };
}

/** the name of an arena's buffer `i`: `params`, `params_1`, ... (one buffer keeps the plain name) */
export const arenaBuffer = (arena: string, i: number): string => (i === 0 ? arena : `${arena}_${i}`);

/** every split linear weight of the plan, in layer order */
export function splitsOf(layers: readonly LayerPlan[], limits: GpuLimits): LinearSplit[] {
  return layers.flatMap((l) => splitLinear(l, limits) ?? []);
}

/** the distinct chunk lengths, in first-use order (one optimizer kernel each) */
export const chunkLengths = (a: ArenaLayout): number[] => [...new Set(a.chunks.map((c) => c.length))];

/**
 * the split as text for the plan: one line per split weight, arena buffer and optimizer chunk run.
 * An inference build (`inference`) has no gradients, optimizer state or optimizer: only the
 * parameter buffers are told
 */
export function formatSplit(splits: readonly LinearSplit[], arena: ArenaLayout | null, slots: readonly ParamSlot[], inference = false): string[] {
  const lines: string[] = [];
  for (const s of splits) {
    lines.push(`split ${s.layer}.weight into ${s.blocks.length} blocks of output rows (${s.rowLength} elements a row):`);
    for (const b of s.blocks) lines.push(`  rows ${b.rows[0]}..${b.rows[1]}: elements ${b.elements[0]}..${b.elements[1]}, byte offset ${b.byteOffset}, ${((b.elements[1] - b.elements[0]) * 4) / 1024} KiB`);
  }
  if (arena && (arena.buffers.length > 1 || (!inference && arena.chunks.length > 1))) {
    const alike = inference ? '' : ' (the gradients and optimizer state alike)';
    lines.push(`parameter arena: ${arena.buffers.length} buffer(s) of ${arena.buffers.map((n) => `${(n * 4) / 1024} KiB`).join(', ')}${alike}`);
    arena.buffers.forEach((_, i) => {
      const held = slots.flatMap((s, k) => (arena.parts[k].some((p) => p.buffer === i) ? [`${s.layer}.${s.kind}`] : []));
      const chunks = arena.chunks.filter((c) => c.buffer === i);
      const steps = inference ? '' : `; optimizer chunks ${chunks.map((c) => `${c.offset}+${c.length}`).join(', ')}`;
      lines.push(`  ${arenaBuffer('params', i)}: ${held.join(', ')}${steps}`);
    });
  }
  return lines;
}
