// conv1d / conv2d / conv_transpose1d / conv_transpose2d: the layer's kernels, per role, by the
// plan's schedule (the 1D layers are the 2D ones with a 1-tall kernel: H = 1).
//
// Everything is phrased on one underlying conv C (in -> out, weight [Cout, Cin/g, kH, kW]):
//   conv:            forward = C.fwd(x -> y),   gradInput = C.dx(dy -> dx),  gradWeight = C.dw(x, dy)
//   conv_transpose:  forward = C.dx(x -> y),    gradInput = C.fwd(dy -> dx), gradWeight = C.dw(dy, x)
// where for conv_transpose C runs from the layer's output space to its input space (its
// weight [Cin, Cout/g, kH, kW] is exactly C's [C.outC, C.inC/g, kH, kW]); output_padding
// only adds rows/columns to C's input that no output reads (they get zero dx / no taps).

import type { ConvGeometry, ConvLayerPlan, ConvTransposeLayerPlan, KernelRole } from '../plan/types.ts';
import { transposedToConv } from '../plan/types.ts';
import type { StrategyName } from '../spec/types.ts';
import type { BufferDecl, Kernel, Stmt } from '../ir/types.ts';
import type { KernelCall, LayerProgram, ScratchDecl } from './types.ts';
import { buf, kernel } from '../ir/build.ts';
import { forwardAxis, gradInputAxes, splitTaps, type Axis } from '../plan/conv-axes.ts';
import { irSize } from '../ir/size.ts';
import { type DirectParts, type GatherNames, type GatherSpec, dwUnits, forwardGather, gatherBlocked, gradBiasStmts, gradInputGather, gradWeightDirect } from './conv-direct.ts';
import { convBaseName, ROLE_TAG } from './names.ts';
import { im2rowForward, im2rowGradInput, im2rowGradWeight } from './conv-im2row.ts';
import { convCost } from '../plan/cost.ts';
import { DIRECT_KERNEL_BUDGET } from '../plan/schedule.ts';

export { transposedToConv };

/** the conv C that a layer's kernels are phrased on (see the header) */
export function underlyingConv(layer: ConvLayerPlan | ConvTransposeLayerPlan): ConvGeometry {
  return isTransposed(layer) ? transposedToConv(layer.geometry) : layer.geometry;
}

export function isTransposed(layer: ConvLayerPlan | ConvTransposeLayerPlan): layer is ConvTransposeLayerPlan {
  return layer.type === 'conv_transpose1d' || layer.type === 'conv_transpose2d';
}


const numelOf = (c: number, h: number, w: number, n: number) => n * c * h * w;

/** sizes of C's tensors */
export function convSizes(c: ConvGeometry) {
  return {
    x: numelOf(c.inC, c.inH, c.inW, c.batch),
    y: numelOf(c.outC, c.outH, c.outW, c.batch),
    w: c.outC * (c.inC / c.groups) * c.kH * c.kW,
  };
}



/**
 * the passes of a direct gather, per part (interior, border rows, leftover/padding columns:
 * disjoint regions of the output, see gatherBlocked): one pass when the part's kernel fits
 * the budget; else its taps split into groups, the first pass writing and each later one
 * adding its taps to the output. `phases` are (rows, columns) axis pairs, one per stride
 * phase of a gradInput (a single pair for forward).
 */
function directPasses(phases: readonly [Axis, Axis][], kk: number, budget: number, spec: (h: Axis, w: Axis, first: boolean) => GatherSpec): DirectParts[] {
  const taps = Math.max(...phases.map(([h, w]) => h.taps.length * w.taps.length));
  const attempt = (n: number) => {
    const passes: { interior: Stmt[]; rows: Stmt[]; cols: Stmt[] }[] = [];
    for (const [h, w] of phases) {
      splitTaps(h, w, n).forEach(([hh, ww], i) => {
        const part = gatherBlocked(spec(hh, ww, i === 0));
        const note: Stmt[] = phases.length > 1 ? [{ k: 'comment', text: `stride phase (${h.outStart}, ${w.outStart}): ${hh.taps.length * ww.taps.length} of ${kk} taps` }] : [];
        const pass = (passes[i] ??= { interior: [], rows: [], cols: [] });
        for (const key of PARTS) if (part[key].length) pass[key].push(...note, ...part[key]);
      });
    }
    return passes;
  };
  const result: { interior: Stmt[]; rows: Stmt[]; cols: Stmt[] }[] = [];
  for (const key of PARTS) {
    for (let n = 1; ; n++) {
      const passes = attempt(n);
      if (n >= taps || passes.every((p) => irSize(p[key]) <= budget)) {
        passes.forEach((p, i) => ((result[i] ??= { interior: [], rows: [], cols: [] })[key] = p[key]));
        break;
      }
    }
  }
  return result.map((p) => p ?? { interior: [], rows: [], cols: [] });
}

const PARTS = ['interior', 'rows', 'cols'] as const;

/** C.fwd, direct: out[n, co] = bias + sum w[co, r] * in[n, g*Cig + r] (names chosen by the caller) */
export function directForwardStmts(c: ConvGeometry, names: GatherNames, budget = DIRECT_KERNEL_BUDGET): DirectParts[] {
  const h = forwardAxis(c.outH, c.inH, c.kH, c.strideH, c.dilationH, c.pad.top);
  const w = forwardAxis(c.outW, c.inW, c.kW, c.strideW, c.dilationW, c.pad.left);
  return directPasses([[h, w]], c.kH * c.kW, budget, (hh, ww, first) => ({
    ...forwardGather(c, names),
    bias: first ? names.bias : null,
    accumulate: !first,
    h: hh,
    wAxis: ww,
  }));
}

/** C.dx, direct: one gather nest per (row phase, column phase) of the stride */
export function directGradInputStmts(c: ConvGeometry, names: GatherNames, budget = DIRECT_KERNEL_BUDGET): DirectParts[] {
  const hs = gradInputAxes(c.inH, c.outH, c.kH, c.strideH, c.dilationH, c.pad.top);
  const ws = gradInputAxes(c.inW, c.outW, c.kW, c.strideW, c.dilationW, c.pad.left);
  const phases = hs.flatMap((h) => ws.map((w): [Axis, Axis] => [h, w]));
  return directPasses(phases, c.kH * c.kW, budget, (hh, ww, first) => ({
    ...gradInputGather(c, names),
    bias: first ? names.bias : null,
    accumulate: !first,
    h: hh,
    wAxis: ww,
  }));
}

/**
 * C.dw, direct: one kernel, or (past the size budget) several, each taking a contiguous run
 * of the window's tap blocks; they write disjoint weights, so no pass adds to another
 */
export function directGradWeightStmts(c: ConvGeometry, names: { x: string; dy: string; gw: string }, budget = DIRECT_KERNEL_BUDGET): Stmt[][] {
  const h = forwardAxis(c.outH, c.inH, c.kH, c.strideH, c.dilationH, c.pad.top);
  const w = forwardAxis(c.outW, c.inW, c.kW, c.strideW, c.dilationW, c.pad.left);
  const units = dwUnits(c);
  for (let n = 1; ; n++) {
    const size = Math.ceil(units.length / n);
    const groups: Stmt[][] = [];
    for (let i = 0; i < units.length; i += size) groups.push(gradWeightDirect(c, h, w, names, units.slice(i, i + size)));
    if (n >= units.length || Math.max(...groups.map(irSize)) <= budget) return groups;
  }
}

export function planRow(layer: ConvLayerPlan | ConvTransposeLayerPlan): string {
  const g = layer.geometry;
  const p = g.pad;
  const op = isTransposed(layer) ? ` op=${layer.geometry.outputPadH}x${layer.geometry.outputPadW}` : '';
  return (
    `${layer.type} [${layer.inShape.join(',')}] -> [${layer.outShape.join(',')}] ` +
    `k=${g.kH}x${g.kW} s=${g.strideH}x${g.strideW} p=${p.top},${p.bottom},${p.left},${p.right} d=${g.dilationH}x${g.dilationW} g=${g.groups}${op}`
  );
}

const WHY: Record<StrategyName, string> = {
  direct: 'direct: window unrolled with constant offsets, blocks of up to 4 channels x 4 columns; checks only in the _rows/_cols kernels, only on taps that can leave the input',
  im2row: 'im2row: input copied into a [rows, Cin/g*kH*kW] buffer once, then a 4x4 register-blocked GEMM',
};

/** the layer's program: kernel calls for forward and backward, by the plan's schedule */
/** what both targets' conv lowerings start from: the underlying conv C, names, sizes, roles */
export function convLayerFacts(layer: ConvLayerPlan | ConvTransposeLayerPlan) {
  const c = underlyingConv(layer);
  const T = isTransposed(layer);
  const sizes = convSizes(c);
  return {
    c,
    /** a conv_transpose: its forward is C.dx, its gradInput C.fwd */
    T,
    /**
     * what the names of `role`'s kernels start with: a kernel whose code depends on the bias
     * (`biasMatters`: the forward adds it) says when there is none, or two layers of one
     * configuration, one without a bias, would give two different kernels one name
     */
    baseFor: (role: KernelRole, biasMatters = role === 'forward') => `${convBaseName(layer.geometry, layer.type)}${biasMatters && layer.biasShape === null ? '_nobias' : ''}`,
    sizes,
    hasBias: layer.biasShape !== null,
    // the layer's x / y sizes: for conv_transpose, x lives in C's output space
    xLen: T ? sizes.y : sizes.x,
    yLen: T ? sizes.x : sizes.y,
    wants: (r: KernelRole) => layer.kernels.includes(r),
  };
}

export interface LowerConvOptions {
  /** IR nodes per direct kernel before a window is split into passes (tests force splits with a tiny one) */
  readonly directBudget?: number;
}

export function lowerConv(layer: ConvLayerPlan | ConvTransposeLayerPlan, opts: LowerConvOptions = {}): LayerProgram {
  const budget = opts.directBudget ?? DIRECT_KERNEL_BUDGET;
  const { c, T, baseFor, sizes, hasBias, xLen, yLen, wants } = convLayerFacts(layer);
  const scratch: ScratchDecl[] = [];
  const forward: KernelCall[] = [];
  const backward: KernelCall[] = [];

  const mk = (role: KernelRole, strategy: StrategyName | null, step: string, buffers: BufferDecl[], body: Stmt[]): Kernel =>
    kernel({
      name: `${baseFor(role)}_${ROLE_TAG[role]}${strategy ? '_' + strategy : ''}${step ? '_' + step : ''}`,
      doc: [planRow(layer), `role: ${role}${strategy ? `, strategy ${WHY[strategy]}` : ''}`, ...costLine(layer, role)],
      buffers,
      body,
    });
  const addScratch = (d: ScratchDecl) => {
    if (!scratch.some((s) => s.name === d.name)) scratch.push(d);
  };

  // the layer's forward: C.fwd for conv, C.dx for conv_transpose (both add the bias)
  const fwdStrategy = layer.schedule.forward;
  const fwdBuffers = [buf('x', xLen, 'read'), buf('w', sizes.w, 'read'), ...(hasBias ? [buf('b', layer.biasShape![0], 'read')] : []), buf('y', yLen, 'write')];
  const fwdArgs = { x: 'x', w: 'weight', ...(hasBias ? { b: 'bias' } : {}), y: 'y' };
  const names = { inp: 'x', w: 'w', bias: hasBias ? 'b' : null, out: 'y' };
  if (wants('forward')) {
    if (fwdStrategy === 'direct') {
      const passes = T ? directGradInputStmts(c, names, budget) : directForwardStmts(c, names, budget);
      for (const k of directKernels(passes)) {
        forward.push({ kernel: mk('forward', 'direct', k.step, readWrite(fwdBuffers, 'y', k.accumulate), k.body), args: fwdArgs });
      }
    } else {
      const calls = T ? im2rowGradInput(c, names, baseFor('forward'), 'forward') : im2rowForward(c, names, baseFor('forward'), 'forward');
      for (const s of calls.scratch) addScratch(s);
      for (const k of calls.kernels) forward.push(withDoc(k, layer, 'forward', fwdArgs));
    }
  }

  // backward: gradWeight, gradBias, then gradInput (each overwrites its output)
  if (wants('gradWeight')) {
    const strategy = layer.schedule.gradWeight;
    // C.dw reads C's input and C's output gradient: for conv_transpose those are dy and x
    const cx = T ? 'dy' : 'x';
    const cdy = T ? 'x' : 'dy';
    const buffers = [buf(cx, sizes.x, 'read'), buf(cdy, sizes.y, 'read'), buf('dw', sizes.w, 'write')];
    // kernel params follow the layer's names; order: x, dy, dw
    buffers.sort((a, b) => ['x', 'dy', 'dw'].indexOf(a.name) - ['x', 'dy', 'dw'].indexOf(b.name));
    const args = { x: 'x', dy: 'dy', dw: 'gradWeight' };
    if (strategy === 'direct') {
      directGradWeightStmts(c, { x: cx, dy: cdy, gw: 'dw' }, budget).forEach((body, i) => {
        backward.push({ kernel: mk('gradWeight', 'direct', i === 0 ? '' : `t${i + 1}`, buffers, body), args });
      });
    } else {
      const calls = im2rowGradWeight(c, { x: cx, dy: cdy, gw: 'dw' }, baseFor('gradWeight'));
      for (const s of calls.scratch) addScratch(s);
      for (const k of calls.kernels) backward.push(withDoc(k, layer, 'gradWeight', args));
    }
  }
  if (wants('gradBias') && hasBias) {
    const oc = layer.geometry.outC;
    const spatial = yLen / (c.batch * oc);
    backward.push({
      kernel: mk('gradBias', null, '', [buf('dy', yLen, 'read'), buf('db', oc, 'write')], gradBiasStmts(c.batch, oc, spatial, 'dy', 'db')),
      args: { dy: 'dy', db: 'gradBias' },
    });
  }
  if (wants('gradInput')) {
    const strategy = layer.schedule.gradInput;
    const buffers = [buf('dy', yLen, 'read'), buf('w', sizes.w, 'read'), buf('dx', xLen, 'write')];
    const args = { dy: 'dy', w: 'weight', dx: 'dx' };
    const n = { inp: 'dy', w: 'w', bias: null, out: 'dx' };
    if (strategy === 'direct') {
      const passes = T ? directForwardStmts(c, n, budget) : directGradInputStmts(c, n, budget);
      for (const k of directKernels(passes)) {
        backward.push({ kernel: mk('gradInput', 'direct', k.step, readWrite(buffers, 'dx', k.accumulate), k.body), args });
      }
    } else {
      const calls = T ? im2rowForward(c, n, baseFor('gradInput'), 'gradInput') : im2rowGradInput(c, n, baseFor('gradInput'), 'gradInput');
      for (const s of calls.scratch) addScratch(s);
      for (const k of calls.kernels) backward.push(withDoc(k, layer, 'gradInput', args));
    }
  }
  return { layer: layer.name, scratch, forward, backward, alias: false };
}

/**
 * a direct gather's kernels: `NAME` runs the interior, `NAME_rows` the border rows,
 * `NAME_cols` the edge columns; later passes of a split window are `NAME_t2...` (they add)
 */
function directKernels(passes: readonly DirectParts[]): { step: string; body: Stmt[]; accumulate: boolean }[] {
  const out: { step: string; body: Stmt[]; accumulate: boolean }[] = [];
  passes.forEach((p, i) => {
    const t = i === 0 ? '' : `t${i + 1}`;
    const step = (part: string) => [t, part].filter(Boolean).join('_');
    if (p.interior.length) out.push({ step: step(''), body: p.interior, accumulate: i > 0 });
    if (p.rows.length) out.push({ step: step('rows'), body: p.rows, accumulate: i > 0 });
    if (p.cols.length) out.push({ step: step('cols'), body: p.cols, accumulate: i > 0 });
  });
  return out;
}

/** a later pass reads what the earlier ones wrote */
const readWrite = (buffers: BufferDecl[], out: string, accumulate: boolean) =>
  accumulate ? buffers.map((b) => (b.name === out ? { ...b, access: 'read_write' as const } : b)) : buffers;

/** im2row kernels come with their own buffers; add the plan row and bind layer buffers or scratch */
function withDoc(k: Kernel, layer: ConvLayerPlan | ConvTransposeLayerPlan, role: KernelRole, args: Record<string, string>): KernelCall {
  const bound: Record<string, string> = {};
  for (const b of k.buffers) bound[b.name] = args[b.name] ?? b.name;
  return { kernel: { ...k, doc: [planRow(layer), `role: ${role}, strategy ${WHY.im2row}`, ...costLine(layer, role), ...k.doc] }, args: bound };
}

/** the cost model's view of this kernel (the plan's schedule may also come from an override) */
function costLine(layer: ConvLayerPlan | ConvTransposeLayerPlan, role: KernelRole): string[] {
  if (role === 'gradBias') return [];
  const T = isTransposed(layer);
  const g = layer.geometry;
  const macs = (layer.flops[role] || 2) / 2;
  const c = (s: StrategyName) => (convCost(g, role, s, T) / macs).toFixed(2);
  return [`cost model, in multiply-adds at GEMM speed per multiply-add: direct ${c('direct')}, im2row ${c('im2row')}`];
}
