// conv1d / conv2d / conv_transpose1d / conv_transpose2d: the layer's kernels, per role, by the
// target's schedule (src/plan/schedule.ts), for every target: this is the one conv lowering;
// the targets differ in the schedule it follows and the renderer (the 1D layers are the 2D
// ones with a 1-tall kernel: H = 1). The loop nests per algorithm and schedule live in
// conv-direct.ts (gather, reduce: unrolled register blocks on the CPU, one invocation per
// pixel or kernel row on the GPU; the index arithmetic of both, and the grad-bias sum),
// conv-im2row.ts + gemm.ts (the im2row copy, the GEMM in register blocks or workgroup tiles);
// the GPU's split-K is a transform of the reduce and sum nests (ir/split-reduction.ts).
//
// Everything is phrased on one underlying conv C (in -> out, weight [Cout, Cin/g, kH, kW]):
//   conv:            forward = C.fwd(x -> y),   gradInput = C.dx(dy -> dx),  gradWeight = C.dw(x, dy)
//   conv_transpose:  forward = C.dx(x -> y),    gradInput = C.fwd(dy -> dx), gradWeight = C.dw(dy, x)
// where for conv_transpose C runs from the layer's output space to its input space (its
// weight [Cin, Cout/g, kH, kW] is exactly C's [C.outC, C.inC/g, kH, kW]); output_padding
// only adds rows/columns to C's input that no output reads (they get zero dx / no taps).

import type { ConvGeometry, ConvLayerPlan, ConvTransposeLayerPlan, KernelRole } from '../plan/types.ts';
import { convSizes, isTransposed, transposedToConv, underlyingConv } from '../plan/types.ts';
import type { StrategyName } from '../spec/types.ts';
import type { BufferDecl, Kernel, Stmt } from '../ir/types.ts';
import type { KernelCall, LayerProgram, ScratchDecl } from './types.ts';
import { buf, kernel } from '../ir/build.ts';
import { convForwardAxes, convGradInputAxes, splitTaps, type Axis } from '../plan/conv-axes.ts';
import { irSize } from '../ir/size.ts';
import { type DirectParts, type GatherNames, type GatherSpec, dwUnits, forwardGather, gatherBlocked, gradBiasStmts, gradInputGather, gradWeightDirect } from './conv-direct.ts';
import { convBaseName, ROLE_TAG } from './names.ts';
import { packedLength, packedStrides, packWeightStmts } from './conv-pack.ts';
import { colsScratch, forwardGemm, im2rowForward, im2rowGradInput, im2rowGradWeight, im2rowStmts } from './conv-im2row.ts';
import { convCost } from '../plan/cost.ts';
import { scheduleConv, type ConvKernelSchedule, type ConvLayerSchedule } from '../plan/schedule.ts';
import { splitReduction } from '../ir/split-reduction.ts';
import { tiledGemmStmts } from './gemm.ts';
import { dwPackedLayout, packDyStmts, packedGradWeightStmts, padXStmts } from './conv-dw-packed.ts';

export { convSizes, isTransposed, transposedToConv, underlyingConv };




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

/** what a direct kernel takes from its schedule: the register block and the unroll budget */
export type DirectSchedule = Pick<ConvKernelSchedule, 'block' | 'unrollBudget' | 'packed' | 'evenWidth'> & Partial<Pick<ConvKernelSchedule, 'pixels' | 'tapUnroll'>>;

/** C.fwd, direct: out[n, co] = bias + sum w[co, r] * in[n, g*Cig + r] (names chosen by the caller) */
export function directForwardStmts(c: ConvGeometry, names: GatherNames, s: DirectSchedule): DirectParts[] {
  const { h, w } = convForwardAxes(c);
  return directPasses([[h, w]], c.kH * c.kW, s.unrollBudget ?? Infinity, (hh, ww, first) => ({
    ...forwardGather(c, names),
    ...(s.packed ? packedStrides(forwardGather(c, names), c.kH * c.kW) : {}),
    block: s.block,
    ...(s.pixels === 'invocations' ? { pixels: s.pixels, tapUnroll: s.tapUnroll } : {}),
    ...(s.evenWidth !== undefined ? { evenWidth: s.evenWidth } : {}),
    bias: first ? names.bias : null,
    accumulate: !first,
    h: hh,
    wAxis: ww,
  }));
}

/** C.dx, direct: one gather nest per (row phase, column phase) of the stride */
export function directGradInputStmts(c: ConvGeometry, names: GatherNames, s: DirectSchedule): DirectParts[] {
  const { hs, ws } = convGradInputAxes(c);
  const phases = hs.flatMap((h) => ws.map((w): [Axis, Axis] => [h, w]));
  return directPasses(phases, c.kH * c.kW, s.unrollBudget ?? Infinity, (hh, ww, first) => ({
    ...gradInputGather(c, names),
    ...(s.packed ? packedStrides(gradInputGather(c, names), c.kH * c.kW) : {}),
    block: s.block,
    ...(s.pixels === 'invocations' ? { pixels: s.pixels, tapUnroll: s.tapUnroll } : {}),
    ...(s.evenWidth !== undefined ? { evenWidth: s.evenWidth } : {}),
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
export function directGradWeightStmts(c: ConvGeometry, names: { x: string; dy: string; gw: string }, s: DirectSchedule): Stmt[][] {
  const budget = s.unrollBudget ?? Infinity;
  const { h, w } = convForwardAxes(c);
  const units = dwUnits(c);
  for (let n = 1; ; n++) {
    const size = Math.ceil(units.length / n);
    const groups: Stmt[][] = [];
    for (let i = 0; i < units.length; i += size) groups.push(gradWeightDirect(c, h, w, names, s.block, units.slice(i, i + size)));
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

const WHY_GPU = {
  gather: 'gpu gather: an invocation per (sample, up to 4 output channels, pixel), a loop over reduced channels, the window unrolled (a loop along an axis of more than 8 taps)',
  im2row: 'gpu im2row: one invocation per (group, sample, input channel, output pixel) copies its window, 0 in the padding',
  tiled: 'gpu tiled GEMM: per workgroup a tile of pixels x channels, operand tiles staged in workgroup memory between barriers',
  splitK: 'gpu split-K: pass 1 sums chunks of batch x pixels per (chunk, co, ci, kh) into partials, pass 2 sums the partials in order (deterministic, no atomics)',
};

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
  };
}

type ConvLayer = ConvLayerPlan | ConvTransposeLayerPlan;

/** what a target's algorithms get from the driver: the layer's facts and its scratch list */
interface RoleContext extends ReturnType<typeof convLayerFacts> {
  readonly layer: ConvLayer;
  readonly addScratch: (d: ScratchDecl) => void;
}

/**
 * a gather-shaped role: C.fwd (`cDx` false) or C.dx split by stride phase, from `inp` to
 * `out`: the layer's forward (C.fwd for conv, C.dx for conv_transpose, adding the bias) and
 * its gradInput (the other one)
 */
interface GatherRole {
  readonly role: 'forward' | 'gradInput';
  readonly cDx: boolean;
  readonly k: ConvKernelSchedule;
  readonly names: GatherNames;
  readonly buffers: BufferDecl[];
  readonly args: Record<string, string>;
}

/** C.dw's buffers: C's input and C's output gradient (for conv_transpose: dy and x) */
const dwInputs = (x: RoleContext) => ({ cx: x.T ? 'dy' : 'x', cdy: x.T ? 'x' : 'dy' });

/**
 * how one target realizes each algorithm of the schedule (plan/schedule.ts): the loop nests
 * of conv-direct.ts / conv-im2row.ts under the target's schedule, their kernels' names and
 * docs. A new target adds an entry here and a schedule there; the driver does not change.
 */
interface TargetAlgorithms {
  readonly gather: (x: RoleContext, r: GatherRole) => KernelCall[];
  readonly im2row: (x: RoleContext, r: GatherRole) => KernelCall[];
  /** gradWeight by `k.algorithm` (reduce or im2row); `fusedBias`: the bias gradient too */
  readonly gradWeight: (x: RoleContext, k: ConvKernelSchedule, fusedBias: boolean) => KernelCall[];
  readonly gradBias: (x: RoleContext, k: ConvKernelSchedule) => KernelCall[];
}

/** a ts kernel: named by role, strategy and step; its doc carries the cost model's view */
const tsKernel = (x: RoleContext, role: KernelRole, strategy: StrategyName | null, step: string, buffers: BufferDecl[], body: Stmt[]): Kernel =>
  kernel({
    name: `${x.baseFor(role)}_${ROLE_TAG[role]}${strategy ? '_' + strategy : ''}${step ? '_' + step : ''}`,
    doc: [planRow(x.layer), `role: ${role}${strategy ? `, strategy ${WHY[strategy]}` : ''}`, ...costLine(x.layer, role)],
    buffers,
    body,
  });

/** a wgsl kernel: a conv's split-K gradWeight computes the bias gradient too when there is one, so its name says when there is none */
const gpuKernel = (x: RoleContext, role: KernelRole, tag: string, why: string, buffers: BufferDecl[], body: Stmt[]): Kernel =>
  kernel({ name: `${x.baseFor(role, role === 'forward' || (role === 'gradWeight' && !x.T))}_${ROLE_TAG[role]}_${tag}`, doc: [planRow(x.layer), `role: ${role}, ${why}`], buffers, body });

const TS: TargetAlgorithms = {
  gather: (x, r) => {
    if (r.k.packed) return packedGather(x, r);
    const passes = r.cDx ? directGradInputStmts(x.c, r.names, r.k) : directForwardStmts(x.c, r.names, r.k);
    return directKernels(passes).map((p) => ({ kernel: tsKernel(x, r.role, 'direct', p.step, readWrite(r.buffers, r.names.out, p.accumulate), p.body), args: r.args }));
  },
  im2row: (x, r) => {
    const calls = r.cDx ? im2rowGradInput(x.c, r.names, x.baseFor(r.role), r.role, r.k.block) : im2rowForward(x.c, r.names, x.baseFor(r.role), r.role, r.k.block);
    for (const s of calls.scratch) x.addScratch(s);
    return calls.kernels.map((kk) => withDoc(kk, x.layer, r.role, r.args));
  },
  gradWeight: (x, k) => {
    const { cx, cdy } = dwInputs(x);
    const buffers = [buf(cx, x.sizes.x, 'read'), buf(cdy, x.sizes.y, 'read'), buf('dw', x.sizes.w, 'write')];
    // kernel params follow the layer's names; order: x, dy, dw
    buffers.sort((a, b) => ['x', 'dy', 'dw'].indexOf(a.name) - ['x', 'dy', 'dw'].indexOf(b.name));
    const args = { x: 'x', dy: 'dy', dw: 'gradWeight' };
    if (k.algorithm === 'reduce' && k.dyPacked) return packedGradWeight(x, k, args.dw);
    if (k.algorithm === 'reduce') {
      return directGradWeightStmts(x.c, { x: cx, dy: cdy, gw: 'dw' }, k).map((body, i) => ({ kernel: tsKernel(x, 'gradWeight', 'direct', i === 0 ? '' : `t${i + 1}`, buffers, body), args }));
    }
    const calls = im2rowGradWeight(x.c, { x: cx, dy: cdy, gw: 'dw' }, x.baseFor('gradWeight'), k.block, k.colsStride, k.colsByRow === true);
    // padded rows (a wasm schedule): a buffer of their own, not the forward im2row's cols
    const cols = k.colsStride === undefined ? 'cols' : 'dwCols';
    for (const s of calls.scratch) x.addScratch(s.name === 'cols' ? { ...s, name: cols } : s);
    return calls.kernels.map((kk) => withDoc(kk, x.layer, 'gradWeight', { ...args, cols }));
  },
  gradBias: (x) => {
    const oc = x.layer.geometry.outC;
    const body = gradBiasStmts(x.c.batch, oc, x.yLen / (x.c.batch * oc), 'dy', 'db');
    return [{ kernel: tsKernel(x, 'gradBias', null, '', [buf('dy', x.yLen, 'read'), buf('db', oc, 'write')], body), args: { dy: 'dy', db: 'gradBias' } }];
  },
};

/** a packed gather (schedule `packed`): the weights copied into `wpack` (forward) or `wpackT` (grad-input), [g][r][kh][kw][o], then the gather reads that copy */
function packedGather(x: RoleContext, r: GatherRole): KernelCall[] {
  const shape = r.cDx ? gradInputGather(x.c, r.names) : forwardGather(x.c, r.names);
  // forward's and grad-input's copies differ in layout and (padded) length: one scratch each
  const packed = packedLength(shape, x.c.kH * x.c.kW);
  const scratch = r.cDx ? 'wpackT' : 'wpack';
  x.addScratch({ name: scratch, t: 'f32', length: packed, keep: false });
  const pack = kernel({
    name: `${x.baseFor(r.role, false)}_${ROLE_TAG[r.role]}_pack`,
    doc: [planRow(x.layer), `role: ${r.role}, the weights packed [g][r][kh][kw][o] for the gather's f32x4 over output channels (${r.cDx ? "C's input" : "C's output"} channels innermost)`],
    buffers: [buf('w', x.sizes.w, 'read'), buf('wp', packed, 'write')],
    body: packWeightStmts(shape, x.c.kH * x.c.kW, 'w', 'wp'),
  });
  const names = { ...r.names, w: 'wp' };
  const buffers = r.buffers.map((b) => (b.name === 'w' ? buf('wp', packed, 'read') : b));
  const args = Object.fromEntries(Object.entries(r.args).map(([k, v]) => (k === 'w' ? ['wp', scratch] : [k, v])));
  const passes = r.cDx ? directGradInputStmts(x.c, names, r.k) : directForwardStmts(x.c, names, r.k);
  return [
    { kernel: pack, args: { w: 'weight', wp: scratch } },
    ...directKernels(passes).map((p) => {
      const k = tsKernel(x, r.role, 'direct', p.step, readWrite(buffers, names.out, p.accumulate), p.body);
      const note = `packed: reads the weights from the pack kernel's copy, blocks of ${r.k.block[0]} output channels x ${r.k.block[1]} columns, the input value the common factor`;
      return { kernel: { ...k, doc: [...k.doc, note] }, args };
    }),
  ];
}

/**
 * a packed grad-weight (schedule `dyPacked`, conv-dw-packed.ts): dy copied into `dwDyPack`,
 * x zero-padded into `dwXPad` (unless no tap leaves it), then the f32x4 reduction
 */
function packedGradWeight(x: RoleContext, k: ConvKernelSchedule, dwArg: string): KernelCall[] {
  const { cx, cdy } = dwInputs(x);
  const L = dwPackedLayout(x.c, k.block);
  const base = x.baseFor('gradWeight');
  const doc = (what: string) => [planRow(x.layer), `role: gradWeight, ${what}`];
  x.addScratch({ name: 'dwDyPack', t: 'f32', length: L.dypLength, keep: false });
  x.addScratch({ name: 'dwPixels', t: 'i32', length: L.NP, keep: false });
  const calls: KernelCall[] = [
    {
      kernel: kernel({
        name: `${base}_dw_dypack`,
        doc: doc(`dy packed [g][co block of ${L.bo}][n][p][o] for the packed reduction's f32x4 over output channels (blocks padded to 4 channels), and each output pixel's offset in x`),
        buffers: [buf('dy', x.sizes.y, 'read'), buf('dyp', L.dypLength, 'write'), buf('pix', L.NP, 'write', 'i32')],
        body: packDyStmts(x.c, k.block, 'dy', 'dyp', 'pix'),
      }),
      args: { dy: cdy, dyp: 'dwDyPack', pix: 'dwPixels' },
    },
  ];
  if (!L.inPlace) {
    x.addScratch({ name: 'dwXPad', t: 'f32', length: L.xpLength, keep: false });
    calls.push({
      kernel: kernel({
        name: `${base}_dw_xpad`,
        doc: doc(`x zero-padded to ${L.Hx}x${L.Wx} per channel: every tap of every output pixel reads inside it`),
        buffers: [buf('x', x.sizes.x, 'read'), buf('xp', L.xpLength, 'write')],
        body: padXStmts(x.c, k.block, 'x', 'xp'),
      }),
      args: { x: cx, xp: 'dwXPad' },
    });
  }
  const xName = L.inPlace ? 'x' : 'xp';
  const reduce = kernel({
    name: `${base}_dw_packed`,
    doc: [
      ...doc(`packed reduction: blocks of ${k.block[0]} output channels x ${L.rw} input channels x ${L.kwb} taps of a kernel row, f32x4 over output channels, one loop over batch x pixels each`),
      ...costLine(x.layer, 'gradWeight'),
    ],
    buffers: [buf(xName, L.inPlace ? x.sizes.x : L.xpLength, 'read'), buf('dyp', L.dypLength, 'read'), { ...buf('pix', L.NP, 'read', 'i32'), nonNeg: true }, buf('dw', x.sizes.w, 'write')],
    body: packedGradWeightStmts(x.c, k.block, { x: xName, dyp: 'dyp', pix: 'pix', gw: 'dw' }),
  });
  return [...calls, { kernel: reduce, args: { [xName]: L.inPlace ? cx : 'dwXPad', dyp: 'dwDyPack', pix: 'dwPixels', dw: dwArg } }];
}

const WGSL: TargetAlgorithms = {
  gather: (x, r) => {
    const why = WHY_GPU.gather + (r.role === 'gradInput' && r.cDx ? '; one dispatch per stride phase' : '');
    // the ts gather under the gpu schedule: one column per invocation, no unroll budget (one pass, one part)
    const k = { ...r.k, block: [r.k.block[0]!, 1] };
    const passes = r.cDx ? directGradInputStmts(x.c, r.names, k) : directForwardStmts(x.c, r.names, k);
    return [{ kernel: gpuKernel(x, r.role, 'gpu', why, r.buffers, passes.flatMap((p) => PARTS.flatMap((key) => p[key]))), args: r.args }];
  },
  im2row: (x, r) => {
    if (r.cDx || r.role !== 'forward') throw new Error(`lower conv: ${x.layer.name}: the wgsl target has no im2row ${r.role}`);
    const cols = colsScratch(x.c);
    x.addScratch(cols);
    const copy = gpuKernel(x, 'forward', 'cols_gpu', WHY_GPU.im2row, [buf('x', x.xLen, 'read'), buf('cols', cols.length, 'write')], im2rowStmts(x.c, 'x', undefined, r.k.pixels));
    const g = tiledGemmStmts(forwardGemm(x.c, { w: 'w', bias: r.names.bias, out: 'y' }), r.k.tile!);
    const gemm = gpuKernel(x, 'forward', 'gemm_tiled', WHY_GPU.tiled, [buf('cols', cols.length, 'read'), ...r.buffers.filter((b) => b.name !== 'x')], g.stmts);
    const gemmArgs = Object.fromEntries(Object.entries(r.args).filter(([name]) => name !== 'x'));
    const calls: KernelCall[] = [
      { kernel: copy, args: { x: 'x', cols: 'cols' } },
      { kernel: { ...gemm, workgroup: { size: g.size, local: 'local', shared: g.shared } }, args: { cols: 'cols', ...gemmArgs } },
    ];
    return calls;
  },
  gradWeight: (x, k, fused) => {
    const { cx, cdy } = dwInputs(x);
    // the ts reduction under the gpu schedule (one invocation per output channel, input channel and kernel row), then split-K
    const { h, w } = convForwardAxes(x.c);
    const nest = gradWeightDirect(x.c, h, w, { x: cx, dy: cdy, gw: 'dw' }, [1, 1], undefined, { tapUnroll: k.tapUnroll!, gb: fused ? 'db' : null });
    const r = splitReduction(nest, {
      loops: [
        { v: 'n', size: x.c.batch, chunk: k.splitK!.nb },
        { v: 'oh', size: x.c.outH, chunk: k.splitK!.bh },
      ],
      outputs: [{ buf: 'dw', length: x.sizes.w }, ...(fused ? [{ buf: 'db', length: x.layer.biasShape![0]! }] : [])],
      partial: 'partial',
    });
    x.addScratch({ name: 'dwPartial', t: 'f32', length: r.partialLength, keep: false });
    const ins = [buf(cx, x.sizes.x, 'read'), buf(cdy, x.sizes.y, 'read')].sort((a, b) => (a.name === 'x' ? -1 : b.name === 'x' ? 1 : 0));
    const buffers = [...ins, buf('partial', r.partialLength, 'read_write'), buf('dw', x.sizes.w, 'write'), ...(fused ? [buf('db', x.layer.biasShape![0], 'write')] : [])];
    const args = { x: 'x', dy: 'dy', partial: 'dwPartial', dw: 'gradWeight', ...(fused ? { db: 'gradBias' } : {}) };
    return [{ kernel: gpuKernel(x, 'gradWeight', 'splitk', WHY_GPU.splitK + (fused ? '; the bias gradient fused in' : ''), buffers, r.stmts), args }];
  },
  gradBias: (x, k) => {
    const oc = x.layer.geometry.outC;
    // split by sample (the planner's choice: the batch loop becomes invocations), or one invocation per channel
    const split = k.splitK !== null;
    if (split) x.addScratch({ name: 'dbPartial', t: 'f32', length: x.c.batch * oc, keep: false });
    const sum = gradBiasStmts(x.c.batch, oc, x.yLen / (x.c.batch * oc), 'dy', 'db');
    const body = split ? splitReduction(sum, { loops: [{ v: 'n', size: x.c.batch, chunk: k.splitK!.nb }], outputs: [{ buf: 'db', length: oc }], partial: 'partial' }).stmts : sum;
    const buffers = [buf('dy', x.yLen, 'read'), ...(split ? [buf('partial', x.c.batch * oc, 'read_write')] : []), buf('db', oc, 'write')];
    const args = { dy: 'dy', ...(split ? { partial: 'dbPartial' } : {}), db: 'gradBias' };
    return [{ kernel: gpuKernel(x, 'gradBias', split ? 'splitk' : 'sum', split ? 'per-sample sums, then their sum in order' : 'one invocation per channel', buffers, body), args }];
  },
};

const TARGETS: Record<ConvLayerSchedule['target'], TargetAlgorithms> = { ts: TS, wgsl: WGSL, wasm: TS };

/**
 * the layer's program: kernel calls for forward and backward, each role lowered by the
 * algorithm its schedule names (gather, im2row, reduce, sum), shaped by the schedule's
 * blocks, budgets, tiles and split-K. Roles, buffers and order are the same on every target.
 */
export function lowerConv(layer: ConvLayer, schedule: ConvLayerSchedule = scheduleConv(layer, 'ts')): LayerProgram {
  const scratch: ScratchDecl[] = [];
  const x: RoleContext = {
    ...convLayerFacts(layer),
    layer,
    addScratch: (d) => {
      if (!scratch.some((s) => s.name === d.name)) scratch.push(d);
    },
  };
  const { T, sizes, hasBias, xLen, yLen } = x;
  const t = TARGETS[schedule.target];
  const of = (role: KernelRole) => schedule.kernels.find((k) => k.role === role) ?? null;
  const gatherShaped = (r: GatherRole) => (r.k.algorithm === 'gather' ? t.gather : t.im2row)(x, r);
  const forward: KernelCall[] = [];
  const backward: KernelCall[] = [];

  const fwd = of('forward');
  if (fwd) {
    const buffers = [buf('x', xLen, 'read'), buf('w', sizes.w, 'read'), ...(hasBias ? [buf('b', layer.biasShape![0], 'read')] : []), buf('y', yLen, 'write')];
    const args = { x: 'x', w: 'weight', ...(hasBias ? { b: 'bias' } : {}), y: 'y' };
    forward.push(...gatherShaped({ role: 'forward', cDx: T, k: fwd, names: { inp: 'x', w: 'w', bias: hasBias ? 'b' : null, out: 'y' }, buffers, args }));
  }
  // backward: gradWeight, gradBias, then gradInput (each overwrites its output)
  const dw = of('gradWeight');
  const db = of('gradBias');
  if (dw) backward.push(...t.gradWeight(x, dw, db?.fused === true));
  if (db && !db.fused) backward.push(...t.gradBias(x, db));
  const dx = of('gradInput');
  if (dx) {
    const buffers = [buf('dy', yLen, 'read'), buf('w', sizes.w, 'read'), buf('dx', xLen, 'write')];
    backward.push(...gatherShaped({ role: 'gradInput', cDx: !T, k: dx, names: { inp: 'dy', w: 'w', bias: null, out: 'dx' }, buffers, args: { dy: 'dy', w: 'weight', dx: 'dx' } }));
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
