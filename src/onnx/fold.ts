// fold: one walk over the nodes in order that (1) turns Constant nodes and the integer shape
// arithmetic exporters write for `x.view(x.size(0), -1)` (Shape, Gather, Unsqueeze, Squeeze,
// Concat, Cast, Reshape of constants) and for F.pad's pads (ConstantOfShape, Concat, Reshape,
// Slice, Transpose, Cast) into Consts, and (2) infers every activation's static
// shape, batch included. What stays are the nodes that compute on activations.

import { ConvgenError } from '../errors.ts';
import { intAttr, intsAttr, nodeError, numel, type Const, type Graph, type Node } from './graph.ts';
import { windowOf } from './geometry.ts';

const REEXPORT = 'export the model again with torch.onnx.export (see docs/onnx.md)';

const normAxis = (n: Node, axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw nodeError(n, `axis ${axis} is out of range for rank ${rank}`, REEXPORT);
  return a;
};

const ints = (c: Const): readonly number[] => (c.kind === 'int' ? (c.data as readonly number[]) : Array.from(c.data as Float32Array));
const intConst = (dims: readonly number[], data: readonly number[]): Const => ({ dims, kind: 'int', data });

/** the constant value of a Constant node */
function constantOf(n: Node): Const {
  const a = n.attrs.get('value') ?? n.attrs.get('value_float') ?? n.attrs.get('value_int') ?? n.attrs.get('value_floats') ?? n.attrs.get('value_ints');
  if (a?.kind === 'tensor') return a.value;
  if (a?.kind === 'float') return { dims: [], kind: 'float', data: Float32Array.of(a.value) };
  if (a?.kind === 'int') return intConst([], [a.value]);
  if (a?.kind === 'floats') return { dims: [a.value.length], kind: 'float', data: Float32Array.from(a.value) };
  if (a?.kind === 'ints') return intConst([a.value.length], a.value);
  throw nodeError(n, 'has no value convgen reads (value, value_float(s), value_int(s))', REEXPORT);
}

/** the axes of an Unsqueeze or Squeeze: the attribute before opset 13, the second input from 13 */
function axesOf(g: Graph, n: Node): readonly number[] | undefined {
  const fromAttr = intsAttr(n, 'axes');
  if (fromAttr) return fromAttr;
  const name = n.inputs[1];
  if (!name) return undefined;
  const c = g.consts.get(name);
  if (!c) throw nodeError(n, 'takes its axes from an input computed at run time', REEXPORT);
  return ints(c);
}

/** evaluate a node whose inputs are all constants; undefined when the op is not shape arithmetic */
function evalConst(g: Graph, n: Node, ins: Const[]): Const | undefined {
  const x = ins[0];
  if (!x) return undefined;
  switch (n.op) {
    case 'Identity':
    case 'Cast':
      return n.op === 'Cast' && x.kind === 'float' && ![1, 10, 11].includes(intAttr(n, 'to', 1)) ? intConst(x.dims, ints(x).map(Math.trunc)) : x;
    case 'Gather': {
      const idx = ins[1];
      if (!idx || x.dims.length !== 1 || intAttr(n, 'axis', 0) !== 0) return undefined;
      const out = ints(idx).map((i) => {
        const j = i < 0 ? i + x.dims[0]! : i;
        if (!Number.isInteger(j) || j < 0 || j >= x.dims[0]!) throw nodeError(n, `index ${i} is out of range for ${x.dims[0]} entries`, REEXPORT);
        return ints(x)[j]!;
      });
      return x.kind === 'int' ? intConst(idx.dims, out) : { dims: idx.dims, kind: 'float', data: Float32Array.from(out) };
    }
    case 'Unsqueeze': {
      const axes = axesOf(g, n) ?? [];
      const rank = x.dims.length + axes.length;
      const at = new Set(axes.map((a) => normAxis(n, a, rank)));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) dims.push(at.has(i) ? 1 : x.dims[k++] ?? 1);
      return { ...x, dims };
    }
    case 'Squeeze': {
      const axes = axesOf(g, n);
      const drop = new Set(axes ? axes.map((a) => normAxis(n, a, x.dims.length)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : [])));
      return { ...x, dims: x.dims.filter((_, i) => !drop.has(i)) };
    }
    case 'Concat': {
      if (ins.some((c) => c.dims.length !== 1 || c.kind !== 'int')) return undefined;
      const data = ins.flatMap(ints);
      return intConst([data.length], data);
    }
    case 'Reshape': {
      const target = ins[1];
      if (!target) return undefined;
      return { ...x, dims: reshapeTarget(n, x.dims, ints(target)) };
    }
    case 'ConstantOfShape': {
      const dims = ints(x);
      if (x.dims.length !== 1 || dims.some((d) => !Number.isSafeInteger(d) || d < 0) || numel(dims) > 1 << 20) throw nodeError(n, `has a shape [${dims.join(', ')}] convgen does not fold`, REEXPORT);
      const a = n.attrs.get('value');
      const fill: Const = a?.kind === 'tensor' ? a.value : { dims: [1], kind: 'float', data: Float32Array.of(0) };
      const v = Number(fill.data[0] ?? 0);
      return fill.kind === 'int' ? intConst(dims, Array<number>(numel(dims)).fill(v)) : { dims, kind: 'float', data: new Float32Array(numel(dims)).fill(v) };
    }
    case 'Transpose': {
      const rank = x.dims.length;
      const perm = intsAttr(n, 'perm') ?? [...Array(rank).keys()].reverse();
      if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw nodeError(n, `has perm [${perm.join(', ')}], not a permutation of ${rank} axes`, REEXPORT);
      const dims = perm.map((p) => x.dims[p]!);
      return withValues(x, dims, gatherIndices(dims, (idx) => offsetOf(x.dims, perm.reduce((src, p, i) => ((src[p] = idx[i]!), src), Array<number>(rank)))));
    }
    case 'Slice':
      return sliceConst(g, n, x);
    default:
      return undefined;
  }
}

/** row-major offset of an index */
const offsetOf = (dims: readonly number[], idx: readonly number[]): number => idx.reduce((o, v, i) => o * dims[i]! + v, 0);

/** for each index of a tensor of dims in row-major order, the source offset src(idx) gives */
function gatherIndices(dims: readonly number[], src: (idx: readonly number[]) => number): number[] {
  const out: number[] = [];
  const idx = dims.map(() => 0);
  for (let k = 0; k < numel(dims); k++) {
    out.push(src(idx));
    for (let i = dims.length - 1; i >= 0; i--) {
      if (++idx[i]! < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** a constant of x's kind with the given dims, taking x's values at the given offsets */
function withValues(x: Const, dims: readonly number[], offsets: readonly number[]): Const {
  return x.kind === 'int' ? intConst(dims, offsets.map((o) => (x.data as readonly number[])[o]!)) : { dims, kind: 'float', data: Float32Array.from(offsets, (o) => (x.data as Float32Array)[o]!) };
}

/** Slice of a constant: starts, ends, axes, steps from the inputs (opset 10+) or the attributes (before), clamped as ONNX says */
function sliceConst(g: Graph, n: Node, x: Const): Const {
  const fromInputs = n.inputs.length > 1;
  const arg = (i: number, key: string): readonly number[] | undefined => (fromInputs ? (n.inputs[i] ? ints(g.consts.get(n.inputs[i]!)!) : undefined) : intsAttr(n, key));
  const starts = arg(1, 'starts');
  const ends = arg(2, 'ends');
  if (!starts || !ends || starts.length !== ends.length) throw nodeError(n, 'has no starts and ends of one length', REEXPORT);
  const rank = x.dims.length;
  const axes = (arg(3, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(n, a, rank));
  const steps = arg(4, 'steps') ?? starts.map(() => 1);
  const start = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const dims = [...x.dims];
  axes.forEach((a, i) => {
    const d = x.dims[a]!;
    const st = steps[i]!;
    if (!Number.isInteger(st) || st === 0) throw nodeError(n, `has step ${st}`, REEXPORT);
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const b = st > 0 ? clamp(starts[i]!, 0, d) : clamp(starts[i]!, 0, d - 1);
    const e = st > 0 ? clamp(ends[i]!, 0, d) : clamp(ends[i]!, -1, d - 1);
    start[a] = b;
    step[a] = st;
    dims[a] = Math.max(0, Math.ceil((e - b) / st));
  });
  return withValues(x, dims, gatherIndices(dims, (idx) => offsetOf(x.dims, idx.map((v, i) => start[i]! + v * step[i]!))));
}

/** ops the import folds on constants but maps on no activation, with why not */
const CONSTANT_ONLY: Readonly<Record<string, string>> = {
  Transpose: 'convgen layers keep PyTorch\'s NCHW layout and have no transpose or channel shuffle',
  Slice: 'convgen has no slicing or cropping layer',
  ConstantOfShape: 'it makes a tensor from a shape, which is no layer',
};

/** numpy broadcasting of two shapes */
function broadcast(n: Node, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw nodeError(n, `cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`, REEXPORT);
    out.push(Math.max(x, y));
  }
  return out;
}

/** the target of a Reshape, with 0 (copy) and -1 (infer) resolved */
export function reshapeTarget(n: Node, from: readonly number[], target: readonly number[]): number[] {
  const out = target.map((d, i) => (d === 0 && intAttr(n, 'allowzero', 0) === 0 ? from[i] ?? -2 : d));
  const known = out.filter((d) => d !== -1);
  if (out.some((d) => !Number.isSafeInteger(d) || d < -1) || out.length - known.length > 1) throw nodeError(n, `cannot reshape [${from.join(', ')}] to [${target.join(', ')}]`, REEXPORT);
  const rest = numel(known);
  const total = numel(from);
  if (out.includes(-1) ? rest === 0 || total % rest !== 0 : rest !== total) throw nodeError(n, `cannot reshape [${from.join(', ')}] (${total} values) to [${target.join(', ')}]`, REEXPORT);
  return out.map((d) => (d === -1 ? total / rest : d));
}

/** the output shape of an activation node */
function shapeOf(g: Graph, n: Node, shapeIn: (i: number) => readonly number[]): readonly number[] {
  const x = shapeIn(0);
  const weight = (): Const => {
    const c = g.consts.get(n.inputs[1] ?? '');
    if (!c) throw nodeError(n, 'takes its weight from an activation; convgen needs it as an initializer', 'export with the weights as parameters (the default)');
    return c;
  };
  const spatial = x.slice(2);
  switch (n.op) {
    case 'Conv': {
      const w = weight();
      if (w.dims.length !== x.length || (x.length !== 3 && x.length !== 4)) throw nodeError(n, `has a weight of rank ${w.dims.length} on an input of shape [${x.join(', ')}]; convgen has 1D and 2D convs`, 'use Conv1d or Conv2d');
      return [x[0]!, w.dims[0]!, ...windowOf(n, spatial, w.dims.slice(2)).out];
    }
    case 'ConvTranspose': {
      const w = weight();
      if (w.dims.length !== x.length || (x.length !== 3 && x.length !== 4)) throw nodeError(n, `has a weight of rank ${w.dims.length} on an input of shape [${x.join(', ')}]; convgen has 1D and 2D transposed convs`, 'use ConvTranspose1d or ConvTranspose2d');
      if (n.attrs.has('output_shape')) throw nodeError(n, 'sets output_shape, which convgen does not resolve', 'export with explicit padding and output_padding (PyTorch\'s own export does)');
      const k = w.dims.slice(2);
      const s = intsAttr(n, 'strides') ?? k.map(() => 1);
      const d = intsAttr(n, 'dilations') ?? k.map(() => 1);
      const p = intsAttr(n, 'pads') ?? [...k, ...k].map(() => 0);
      const op = intsAttr(n, 'output_padding') ?? k.map(() => 0);
      const out = spatial.map((v, i) => (v - 1) * s[i]! - p[i]! - p[i + k.length]! + d[i]! * (k[i]! - 1) + op[i]! + 1);
      if (out.some((o) => !Number.isSafeInteger(o) || o < 1)) throw nodeError(n, `gives an output of size [${out.join(', ')}]`, REEXPORT);
      return [x[0]!, w.dims[1]! * intAttr(n, 'group', 1), ...out];
    }
    case 'MaxPool':
    case 'AveragePool':
      if (x.length !== 3 && x.length !== 4) throw nodeError(n, `pools an input of shape [${x.join(', ')}]; convgen has 1D and 2D pools`, 'use a 1D or 2D pool');
      return [x[0]!, x[1]!, ...windowOf(n, spatial).out];
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return [x[0]!, x[1]!, ...spatial.map(() => 1)];
    case 'Flatten': {
      const axis = normAxis(n, intAttr(n, 'axis', 1), x.length + 1);
      return [numel(x.slice(0, axis)), numel(x.slice(axis))];
    }
    case 'Reshape': {
      const t = g.consts.get(n.inputs[1] ?? '');
      if (!t) throw nodeError(n, 'reshapes to a shape computed at run time that convgen could not fold', 'export with a static input shape, or use torch.flatten(x, 1)');
      return reshapeTarget(n, x, ints(t));
    }
    case 'Gemm': {
      const w = weight();
      if (x.length !== 2 || w.dims.length !== 2) throw nodeError(n, `multiplies [${x.join(', ')}] by [${w.dims.join(', ')}]; convgen's linear takes a vector per sample`, 'flatten before the linear layer');
      return [intAttr(n, 'transA', 0) ? x[1]! : x[0]!, intAttr(n, 'transB', 0) ? w.dims[0]! : w.dims[1]!];
    }
    case 'MatMul': {
      const w = weight();
      if (w.dims.length !== 2) throw nodeError(n, `multiplies by a weight of shape [${w.dims.join(', ')}]; convgen's linear needs a matrix`, 'use nn.Linear');
      return [...x.slice(0, -1), w.dims[1]!];
    }
    case 'Concat': {
      const axis = normAxis(n, intAttr(n, 'axis', 0), x.length);
      const shapes = n.inputs.map((_, i) => shapeIn(i));
      const out = [...x];
      out[axis] = shapes.reduce((s, v) => s + (v[axis] ?? 0), 0);
      for (const s of shapes) if (s.length !== x.length || s.some((d, i) => i !== axis && d !== x[i])) throw nodeError(n, `joins [${s.join(', ')}] and [${x.join(', ')}], which differ off the axis ${axis}`, REEXPORT);
      return out;
    }
    case 'Add':
    case 'Mul':
    case 'Div':
      return broadcast(n, x, shapeIn(1));
    case 'Pad': {
      const pads = g.consts.get(n.inputs[1] ?? '');
      const p = pads ? ints(pads) : intsAttr(n, 'pads');
      if (!p || p.length !== 2 * x.length) throw nodeError(n, 'has pads convgen could not read as constants', REEXPORT);
      return x.map((d, i) => d + p[i]! + p[i + x.length]!);
    }
    case 'Resize':
    case 'Upsample': {
      const scales = g.consts.get(n.inputs[n.op === 'Upsample' ? 1 : 2] ?? '');
      const sizes = n.op === 'Resize' ? g.consts.get(n.inputs[3] ?? '') : undefined;
      if (sizes && sizes.dims[0] === x.length) return ints(sizes);
      const sc = scales && scales.dims[0] === x.length ? Array.from(scales.kind === 'float' ? (scales.data as Float32Array) : ints(scales)) : (n.attrs.get('scales')?.value as number[] | undefined);
      if (!sc || sc.length !== x.length) throw nodeError(n, 'takes its scales or sizes from values computed at run time, or has none for every dim', 'export with a constant scale_factor (F.interpolate(x, scale_factor=2))');
      return x.map((d, i) => Math.floor(d * sc[i]!));
    }
    default:
      return x;
  }
}

/** the graph with shape arithmetic folded into Consts and every activation's shape known */
export function fold(g: Graph, batch: number): Graph {
  const inShape = g.input.shape.map((d, i) => (i === 0 ? (typeof d === 'number' && d >= 1 ? d : batch) : (d as number)));
  g.shapes.set(g.input.name, inShape);
  const kept: Node[] = [];
  for (const n of g.nodes) {
    if (n.op === 'Constant') {
      for (const o of n.outputs) g.consts.set(o, constantOf(n));
      continue;
    }
    const ins = n.inputs.filter((i) => i !== '');
    for (const i of ins) if (!g.consts.has(i) && !g.shapes.has(i)) throw nodeError(n, `reads ${JSON.stringify(i)}, which no node before it computes`, 'check the file: ONNX lists nodes in topological order');
    if (n.op === 'Shape' && g.shapes.has(n.inputs[0] ?? '')) {
      const s = g.shapes.get(n.inputs[0]!)!;
      const start = normAxis(n, Math.max(Math.min(intAttr(n, 'start', 0), s.length), -s.length) % (s.length + 1), s.length + 1);
      const endRaw = intAttr(n, 'end', s.length);
      const end = Math.max(0, Math.min(endRaw < 0 ? endRaw + s.length : endRaw, s.length));
      const dims = s.slice(start, Math.max(start, end));
      g.consts.set(n.outputs[0] ?? '', intConst([dims.length], dims));
      continue;
    }
    if (ins.length > 0 && ins.every((i) => g.consts.has(i))) {
      const v = evalConst(g, n, ins.map((i) => g.consts.get(i)!));
      if (v === undefined) throw nodeError(n, 'computes on constants only, in a way convgen does not fold', 'export with do_constant_folding=True (the default)');
      g.consts.set(n.outputs[0] ?? '', v);
      continue;
    }
    const why = CONSTANT_ONLY[n.op];
    if (why !== undefined) throw nodeError(n, `operator ${n.op} is not supported on activations: ${why}; the import folds it only on constants (the pads F.pad computes)`, 'change the module so the export uses the operators in docs/onnx.md');
    // an elementwise op may take its constant first (Add(bias, x)); every other op computes on its first input
    const binary = n.op === 'Add' || n.op === 'Mul' || n.op === 'Div';
    if (!g.shapes.has(n.inputs[0] ?? '') && !(binary && g.shapes.has(n.inputs[1] ?? ''))) throw nodeError(n, `its first input ${JSON.stringify(n.inputs[0] ?? '')} is a constant, but convgen maps only operators on activations`, 'export with do_constant_folding=True (the default)');
    const shapeIn = (i: number): readonly number[] => {
      const name = n.inputs[i] ?? '';
      const s = g.shapes.get(name) ?? g.consts.get(name)?.dims;
      if (!s) throw nodeError(n, `has no input ${i}`, REEXPORT);
      return s;
    };
    const out = shapeOf(g, n, shapeIn);
    if (out.some((d) => !Number.isSafeInteger(d) || d < 1)) throw nodeError(n, `gives an output of shape [${out.join(', ')}]`, 'check the input size the model was exported for');
    if (numel(out) > 2 ** 31 - 1) throw new ConvgenError(`node ${JSON.stringify(n.name)} (${n.op})`, `gives ${numel(out)} values, more than convgen's limit of 2^31 - 1`, 'use a smaller batch or input');
    for (const o of n.outputs.slice(0, 1)) g.shapes.set(o, out);
    // a training-mode BatchNormalization's running statistics: one value per channel (toLayers refuses a graph that reads them)
    if (n.op === 'BatchNormalization') for (const o of n.outputs.slice(1)) if (o) g.shapes.set(o, [out[1]!]);
    kept.push(n);
  }
  g.nodes = kept;
  if (!g.shapes.has(g.output)) throw new ConvgenError(`graph output ${JSON.stringify(g.output)}`, 'is not computed from the input (a constant, or no node writes it)', REEXPORT);
  return g;
}
