// The GPU schedule: per kernel, what the WGSL target will dispatch (workgroup size, folded
// workgroup grid, bindings, workgroup memory), as plain data, checked against the device
// limits before anything is written. `convgen plan --target wgsl` prints it with
// formatGpuSchedule; `scheduleGpu` refuses a layer whose buffers a device cannot bind.

import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import type { Kernel } from '../ir/types.ts';
import type { ModelProgram } from '../kernels/types.ts';
import { lowerKernel } from '../ir/passes.ts';
import { renderKernelWgsl, type WgslKernel } from '../render/wgsl.ts';
import { ConvgenError } from '../errors.ts';
import { DEFAULT_LIMITS, type GpuLimits } from './limits.ts';
import { lowerOptimizers } from '../kernels/index.ts';
import { bindingElements, chunkLengths, formatSplit, layoutArena, splitsOf, type ArenaLayout, type LinearSplit } from './split.ts';
import { fitTable, wrapCell, type FitColumn } from '../plan/fit.ts';

export interface GpuDispatch {
  /** entry point in the kernel's module */
  readonly entry: string;
  /** the parallel loops mapped to invocations, `n=32 x co=2` (`1` for one invocation) */
  readonly grid: string;
  readonly invocations: number;
  readonly workgroupSize: number;
  readonly workgroups: readonly [number, number, number];
}

export interface GpuKernelSchedule {
  /** the layer's name, or `(loss)` / `(optimizer)` */
  readonly layer: string;
  /** `forward eval` / `backward eval`: a layer's eval-mode kernels (batch norm, dropout), where they differ */
  readonly phase: 'forward' | 'backward' | 'forward eval' | 'backward eval' | 'loss' | 'optimizer';
  readonly kernel: string;
  readonly dispatches: readonly GpuDispatch[];
  /** kernel buffer -> the model buffer bound to it, with its size */
  readonly bindings: readonly { readonly name: string; readonly bound: string; readonly type: string; readonly bytes: number }[];
  /** workgroup memory per workgroup (bytes) */
  readonly workgroupBytes: number;
}

export interface GpuSchedule {
  readonly limits: GpuLimits;
  readonly kernels: readonly GpuKernelSchedule[];
  /** the linear weights split over bindings, in layer order (src/gpu/split.ts) */
  readonly splits: readonly LinearSplit[];
  /** the parameter arena's GPU buffers and optimizer chunks, laid out whenever the model has parameters, inference builds too (their chunks go unused: they have no optimizer); null without parameters */
  readonly arena: ArenaLayout | null;
  /** the split as text (plan order), for the table */
  readonly splitText: readonly string[];
}

function label(l: LayerPlan): string {
  return `layers[${l.index}] (${l.type} "${l.name}")`;
}

/** kernel buffers that hold parameters or their gradients (their size does not depend on the batch) */
const PARAM_BUFFERS = new Set(['w', 'b', 'dw', 'db', 'weight', 'bias', 'param', 'grad', 'velocity', 'expAvg', 'expAvgSq', 'maxExpAvgSq']);

/**
 * what to do about a buffer over `limit` (maxStorageBufferBindingSize, or maxBufferSize when that
 * is the smaller: a binding is never larger than its buffer): the fix depends on what the buffer holds
 */
function bindingFix(k: Kernel, buffer: string, limit: 'maxStorageBufferBindingSize' | 'maxBufferSize'): string {
  // the CPU target has no binding limit: a user who wants only the TS module need not change the model
  const larger = `pass --limits with the larger ${limit} your device supports, or build only the CPU target with --target ts (it has no such limit)`;
  if (/^(sgd|adam)_/.test(k.name)) return `the optimizer step binds every parameter of the model at once: use fewer parameters, ${larger}`;
  // a linear weight is split into blocks of rows (src/gpu/split.ts): refused only when one aligned block does not fit
  if (PARAM_BUFFERS.has(buffer) && k.name.startsWith('linear_')) return `one block of output rows of the layer's weights is this large (the WGSL target splits a linear weight into blocks of rows, each a multiple of minStorageBufferOffsetAlignment): use fewer input features, ${larger}`;
  if (PARAM_BUFFERS.has(buffer)) return `the layer's weights alone are this large (the batch size does not change them; the WGSL target splits linear weights over bindings, not these): use a smaller layer, ${larger}`;
  return `lower the batch size (activation buffers grow with it), ${larger}`;
}

/** refuse what a device with `limits` cannot run; `where` names the layer */
function checkLimits(wk: WgslKernel, k: Kernel, where: string, limits: GpuLimits): void {
  for (const b of wk.bindings) {
    if (b.type !== 'uniform' && b.bytes > bindingElements(limits) * 4) {
      const limit = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
      throw new ConvgenError(
        where,
        `kernel ${k.name} binds buffer '${b.name}' of ${b.bytes} bytes (${b.bytes / 4} elements), over ${limit} = ${limits[limit]}`,
        bindingFix(k, b.name, limit),
      );
    }
  }
  const storage = wk.bindings.filter((b) => b.type !== 'uniform').length;
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    throw new ConvgenError(where, `kernel ${k.name} binds ${storage} storage buffers, over maxStorageBuffersPerShaderStage = ${limits.maxStorageBuffersPerShaderStage}`, 'pass --limits with a larger maxStorageBuffersPerShaderStage');
  }
  if (wk.workgroupBytes > limits.maxComputeWorkgroupStorageSize) {
    throw new ConvgenError(
      where,
      `kernel ${k.name} needs ${wk.workgroupBytes} bytes of workgroup memory, over maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`,
      'give the layer "strategy": "direct" (the gather forward needs no workgroup memory), or pass --limits with a larger maxComputeWorkgroupStorageSize',
    );
  }
}

/**
 * every kernel of the model rendered for `limits`, in run order; throws ConvgenError on a
 * limit breach. `rendered`, when given, receives each kernel's WGSL (emit reuses it rather
 * than render every kernel twice)
 */
export function scheduleGpu(plan: ModelPlan, program: ModelProgram, limits: GpuLimits = DEFAULT_LIMITS, rendered?: Map<Kernel, WgslKernel>): GpuSchedule {
  const out: GpuKernelSchedule[] = [];
  const splits = splitsOf(plan.layers, limits);
  // the program's linear layers must be lowered for these limits (lowerModel's `limits`)
  for (const [i, l] of plan.layers.entries()) {
    const blocks = splits.find((s) => s.layer === l.name)?.blocks.length ?? 1;
    if (l.type === 'linear' && program.layers[i].forward.length !== blocks) throw new Error(`schedule: layer ${l.name} was lowered for other limits (${program.layers[i].forward.length} weight blocks, these limits give ${blocks}): pass the same limits to lowerModel`);
  }
  const add = (k: Kernel, layer: string, phase: GpuKernelSchedule['phase'], where: string, args: Readonly<Record<string, string>>) => {
    // a cooperative kernel's workgroup is fixed by its tiles: refuse it here, naming the layer
    if (k.workgroup && k.workgroup.size > limits.maxComputeInvocationsPerWorkgroup) {
      throw new ConvgenError(
        where,
        `kernel ${k.name} runs workgroups of ${k.workgroup.size} invocations (a tiled GEMM), over maxComputeInvocationsPerWorkgroup = ${limits.maxComputeInvocationsPerWorkgroup}`,
        `give the layer "strategy": "direct" (the gather forward needs no workgroup memory), or pass --limits with a larger maxComputeInvocationsPerWorkgroup`,
      );
    }
    let wk: WgslKernel;
    try {
      wk = rendered?.get(k) ?? renderKernelWgsl(lowerKernel(k), limits);
    } catch (err) {
      // limits below what any device has (the spec defaults) can leave no way to fold a dispatch
      if (!(err instanceof Error) || !err.message.startsWith('render wgsl:')) throw err;
      throw new ConvgenError(where, err.message.replace(/^render wgsl: /, ''), 'raise the limits in --limits: every WebGPU device has at least the spec defaults');
    }
    checkLimits(wk, k, where, limits);
    rendered?.set(k, wk);
    out.push({
      layer,
      phase,
      kernel: k.name,
      dispatches: wk.entries.map((e) => ({
        entry: e.name,
        grid: e.grid.length ? e.grid.map((g) => `${g.v}=${g.count}`).join(' x ') : '1',
        invocations: e.invocations,
        workgroupSize: e.workgroupSize,
        workgroups: e.workgroups,
      })),
      bindings: wk.bindings.map((b) => ({ name: b.name, bound: args[b.name] ?? b.name, type: b.type, bytes: b.bytes })),
      workgroupBytes: wk.workgroupBytes,
    });
  };
  for (const [i, l] of plan.layers.entries()) {
    const p = program.layers[i];
    for (const c of p.forward) add(c.kernel, l.name, 'forward', label(l), c.args);
    for (const c of p.eval?.forward ?? []) add(c.kernel, l.name, 'forward eval', label(l), c.args);
  }
  // backward: before each layer, the sum forming its output's gradient when several layers read it
  const sums = (v: number, layer: string, where: string) => {
    for (const c of program.graph.sums[v] ?? []) add(c.kernel, layer, 'backward', where, c.args);
  };
  for (let i = plan.layers.length - 1; i >= 0; i--) {
    const l = plan.layers[i];
    sums(i + 1, l.name, label(l));
    for (const c of program.layers[i].backward) add(c.kernel, l.name, 'backward', label(l), c.args);
    for (const c of program.layers[i].eval?.backward ?? []) add(c.kernel, l.name, 'backward eval', label(l), c.args);
  }
  sums(0, '(input)', 'input');
  if (program.loss) add(program.loss, '(loss)', 'loss', 'loss', {});
  // the optimizers run over the GPU's arena (aligned, maybe several buffers) in chunks of one
  // binding: these kernels, not program.optimizers (sized by the unpadded parameter count)
  const arena = program.params.slots.length ? layoutArena(program.params.slots, splits, limits) : null;
  if (arena && program.optimizers) {
    for (const n of chunkLengths(arena)) {
      for (const k of Object.values(lowerOptimizers(n))) add(k, '(optimizer)', 'optimizer', 'parameters (the optimizer steps over every weight and bias)', {});
    }
  }
  return { limits, kernels: out, splits, arena, splitText: formatSplit(splits, arena, program.params.slots, plan.inference === true) };
}

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - s.length));

/** the schedule as a table: one row per dispatch (kernel | entry | grid | wg | workgroups | bindings) */
/**
 * the schedule's columns for a given width (src/plan/fit.ts): which go first when the table is
 * too wide (lowest priority), the short headers, what wraps; bindings, then invocations, move to a
 * line under the row
 */
const SCHEDULE_COLUMNS: readonly FitColumn[] = [
  { header: 'layer', priority: Infinity, wrap: { after: '_', minWidth: 8 } },
  { header: 'phase', priority: 7 },
  { header: 'kernel', priority: Infinity, wrap: { after: '_', minWidth: 16 } },
  { header: 'entry', priority: 6 },
  { header: 'invocations', priority: 4, detail: true },
  { header: 'wg', right: true, priority: 5 },
  { header: 'workgroups', short: 'wgs', priority: 5 },
  { header: 'wg mem', priority: 3, zeroDrop: true },
  { header: 'bindings (KiB)', priority: 2, detail: true, wrap: { after: ' ', minWidth: 20 } },
];

/** width: a terminal's columns to fit the table to (see SCHEDULE_COLUMNS); default: no limit */
export function formatGpuSchedule(s: GpuSchedule, options: { width?: number } = {}): string {
  const l = s.limits;
  const rows: string[][] = [['layer', 'phase', 'kernel', 'entry', 'invocations', 'wg', 'workgroups', 'wg mem', 'bindings (KiB)']];
  for (const k of s.kernels) {
    const binds = k.bindings.map((b) => `${b.bound}${b.type === 'read-only-storage' ? '' : b.type === 'uniform' ? ':u' : ':rw'} ${(b.bytes / 1024).toFixed(1)}`).join(', ');
    for (const [j, d] of k.dispatches.entries()) {
      rows.push([
        j === 0 ? k.layer : '',
        j === 0 ? k.phase : '',
        j === 0 ? k.kernel : '',
        d.entry,
        `${d.invocations} (${d.grid})`,
        String(d.workgroupSize),
        d.workgroups.join('x'),
        String(k.workgroupBytes),
        j === 0 ? binds : '',
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const text = options.width === undefined ? rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : pad(v, widths[c]))).join(' | ').trimEnd()) : fitTable(SCHEDULE_COLUMNS, rows.slice(1), { width: options.width, style: 'plain' });
  if (options.width === undefined) text.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('-|-'));
  const dispatches = s.kernels.reduce((a, k) => a + k.dispatches.length, 0);
  const limits = [
    `${l.maxComputeWorkgroupsPerDimension} workgroups/dim`,
    `${l.maxComputeInvocationsPerWorkgroup} invocations/workgroup`,
    `${l.maxComputeWorkgroupStorageSize} B workgroup memory`,
    `${l.maxStorageBuffersPerShaderStage} storage buffers/stage`,
    `${l.maxStorageBufferBindingSize} B per binding`,
    `${l.maxBufferSize} B per buffer`,
    `offsets aligned to ${l.minStorageBufferOffsetAlignment} B`,
  ];
  return [
    `WGSL schedule: ${s.kernels.length} kernels, ${dispatches} dispatches`,
    ...(options.width === undefined ? [`limits: ${limits.join(', ')}`] : wrapCell(`limits: ${limits.join(', ')}`, options.width, ',')),
    ...(s.splitText.length ? ['', ...(options.width === undefined ? s.splitText : s.splitText.flatMap((line) => fitLine(line, options.width!)))] : []),
    '',
    ...text,
    '',
  ].join('\n');
}

/** one line of the split text at a width: continuation lines keep the line's indent plus two */
function fitLine(line: string, width: number): string[] {
  const indent = ' '.repeat(line.length - line.trimStart().length + 2);
  const [first, ...rest] = wrapCell(line, width, ', ');
  return [first!, ...rest.flatMap((r) => wrapCell(r, width - indent.length, ', ').map((t) => indent + t))];
}
