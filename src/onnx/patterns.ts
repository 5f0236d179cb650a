// Pattern passes: each rewrites a few nodes the exporter writes for one PyTorch module into the
// one node a convgen layer maps from. They run after fold, so every constant they test is a
// Const and every activation has its shape.
//
//   dropIdentities  Dropout, Identity                         -> (gone)
//   fusePads        Pad(zeros) + AveragePool | Conv             -> AveragePool(count_include_pad) | Conv with the pads
//                   Pad(zeros) before anything else               -> Pad(pads as an attribute): a zero_pad layer
//   fuseGelu        x * 0.5 * (1 + Erf(x / sqrt 2))             -> Gelu
//   fuseSilu        Mul(x, Sigmoid(x))                          -> Silu
//   fuseMatMulAdd   MatMul(x, W) + b                            -> Gemm(x, W, b)
//   dropSoftmax     a Softmax that is the graph's output        -> (gone; the model outputs logits)

import { FOLDED_PAD, intAttr, intsAttr, nodeError, readersOf, renameValue, stringAttr, type AttrValue, type Const, type Graph, type Node } from './graph.ts';

const scalarOf = (g: Graph, name: string | undefined): number | undefined => {
  const c = g.consts.get(name ?? '');
  if (!c || c.data.length !== 1) return undefined;
  return Number(c.data[0]);
};

const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.abs(b);

/** the one node reading `value`, if exactly one does and the value is not the graph's output */
function soleReader(g: Graph, value: string): Node | undefined {
  if (value === g.output) return undefined;
  const r = readersOf(g, value);
  return r.length === 1 ? r[0] : undefined;
}

/** `other` input of a binary node, given one of them */
const otherInput = (n: Node, one: string): string | undefined => (n.inputs[0] === one ? n.inputs[1] : n.inputs[1] === one ? n.inputs[0] : undefined);

/** the module path of an exporter's node name: `/layer1/gelu/Erf` -> `/layer1/gelu` */
const modulePart = (name: string): string => name.slice(0, Math.max(0, name.lastIndexOf('/')));

/** replace the nodes `gone` by `node` placed where the last of them was */
function replace(g: Graph, gone: readonly Node[], node: Node): void {
  const last = Math.max(...gone.map((n) => g.nodes.indexOf(n)));
  g.nodes = g.nodes.flatMap((n, i) => (i === last ? [node] : gone.includes(n) ? [] : [n]));
}

const isIdentity = (n: Node): boolean => n.op === 'Dropout' || n.op === 'Identity';

export function dropIdentities(g: Graph): Graph {
  // find afresh each time: renameValue rewrites the readers, an Identity after a Dropout among them
  for (let n = g.nodes.find(isIdentity); n !== undefined; n = g.nodes.find(isIdentity)) {
    const mask = n.outputs[1];
    if (mask && readersOf(g, mask).length > 0) throw nodeError(n, 'has its mask output read by another node', 'export in eval mode (model.eval(); the default TrainingMode.EVAL)');
    g.nodes = g.nodes.filter((m) => m !== n);
    renameValue(g, n.outputs[0]!, n.inputs[0]!);
  }
  return g;
}

export function fusePads(g: Graph): Graph {
  for (const pad of [...g.nodes]) {
    if (pad.op !== 'Pad') continue;
    const x = pad.inputs[0]!;
    const rank = g.shapes.get(x)?.length ?? 0;
    const padsConst = g.consts.get(pad.inputs[1] ?? '');
    const pads = padsConst ? Array.from(padsConst.data as ArrayLike<number>, Number) : intsAttr(pad, 'pads');
    const value = pad.inputs[2] ? scalarOf(g, pad.inputs[2]) : (pad.attrs.get('value')?.value as number | undefined) ?? 0;
    const mode = stringAttr(pad, 'mode', 'constant');
    const reader = soleReader(g, pad.outputs[0]!);
    const refuse = (why: string) => nodeError(pad, `${why}; convgen maps a Pad of zeros over the spatial dims of [N, C, L] or [N, C, H, W] (nn.ZeroPad1d / nn.ZeroPad2d), folded into the AveragePool or Conv reading it or as a zero_pad layer`, 'pad with zeros (nn.ZeroPad2d, F.pad with mode="constant" and value 0), or use the padding argument of the conv or pool');
    if (mode !== 'constant' || value !== 0) throw refuse(`pads in mode ${mode} with value ${value}`);
    if (pad.inputs[3]) throw refuse('pads only some axes (an axes input)');
    if (!pads || pads.length !== 2 * rank || pads[0] !== 0 || pads[1] !== 0 || pads[rank] !== 0 || pads[rank + 1] !== 0 || pads.some((p) => p < 0)) throw refuse(`has pads [${pads?.join(', ') ?? '?'}] that pad the batch or the channels, or crop`);
    const dims = rank - 2;
    const own = reader ? intsAttr(reader, 'pads') ?? Array<number>(2 * dims).fill(0) : [];
    const foldable = reader !== undefined && (reader.op === 'AveragePool' || reader.op === 'Conv') && stringAttr(reader, 'auto_pad', 'NOTSET') === 'NOTSET' && (reader.op === 'Conv' || own.every((p) => p === 0));
    if (!foldable) {
      // a zero_pad layer of its own (layers.ts), its pads as an attribute
      if (dims !== 1 && dims !== 2) throw refuse(`pads a rank-${rank} tensor`);
      const attrs = new Map<string, AttrValue>([['pads', { kind: 'ints', value: pads }]]);
      g.nodes = g.nodes.map((m) => (m === pad ? { ...pad, attrs, inputs: [x] } : m));
      continue;
    }
    const merged = [...Array(dims).keys()].map((i) => own[i]! + pads[2 + i]!).concat([...Array(dims).keys()].map((i) => own[dims + i]! + pads[rank + 2 + i]!));
    const attrs = new Map<string, AttrValue>(reader.attrs);
    attrs.set('pads', { kind: 'ints', value: merged });
    if (reader.op === 'AveragePool') attrs.set('count_include_pad', { kind: 'int', value: 1 });
    attrs.set(FOLDED_PAD, { kind: 'string', value: pad.name });
    g.nodes = g.nodes.filter((m) => m !== pad).map((m) => (m === reader ? { ...reader, attrs, inputs: reader.inputs.map((i) => (i === pad.outputs[0] ? x : i)) } : m));
  }
  return g;
}

export function fuseGelu(g: Graph): Graph {
  for (const erf of [...g.nodes]) {
    if (erf.op !== 'Erf') continue;
    const refuse = () => nodeError(erf, 'is not part of the GELU pattern x * 0.5 * (1 + erf(x / sqrt 2)) that torch.onnx.export writes for nn.GELU()', 'convgen maps Erf only inside GELU');
    const scale = g.nodes.find((n) => n.outputs[0] === erf.inputs[0]);
    if (!scale) throw refuse();
    const x = scale.inputs[0]!;
    const byDiv = scale.op === 'Div' && near(scalarOf(g, scale.inputs[1]), Math.SQRT2);
    const byMul = scale.op === 'Mul' && near(scalarOf(g, otherInput(scale, x) ?? scale.inputs[0]), Math.SQRT1_2);
    if (!byDiv && !byMul) throw refuse();
    const add = soleReader(g, erf.outputs[0]!);
    if (!add || add.op !== 'Add' || !near(scalarOf(g, otherInput(add, erf.outputs[0]!)), 1)) throw refuse();
    const mul = soleReader(g, add.outputs[0]!);
    if (!mul || mul.op !== 'Mul' || otherInput(mul, add.outputs[0]!) !== x) throw refuse();
    const half = soleReader(g, mul.outputs[0]!);
    if (!half || half.op !== 'Mul' || !near(scalarOf(g, otherInput(half, mul.outputs[0]!)), 0.5)) throw refuse();
    if (soleReader(g, scale.outputs[0]!) !== erf) throw refuse();
    replace(g, [scale, erf, add, mul, half], { name: `${modulePart(erf.name)}/Gelu`, op: 'Gelu', inputs: [x], outputs: half.outputs, attrs: new Map(), layerHint: 'gelu' });
  }
  return g;
}

export function fuseSilu(g: Graph): Graph {
  for (const s of [...g.nodes]) {
    if (s.op !== 'Sigmoid') continue;
    const mul = soleReader(g, s.outputs[0]!);
    if (!mul || mul.op !== 'Mul' || otherInput(mul, s.outputs[0]!) !== s.inputs[0]) continue;
    replace(g, [s, mul], { name: `${modulePart(mul.name)}/Silu`, op: 'Silu', inputs: [s.inputs[0]!], outputs: mul.outputs, attrs: new Map(), layerHint: 'silu' });
  }
  return g;
}

export function fuseMatMulAdd(g: Graph): Graph {
  for (const mm of [...g.nodes]) {
    if (mm.op !== 'MatMul') continue;
    const add = soleReader(g, mm.outputs[0]!);
    const b = add?.op === 'Add' ? otherInput(add, mm.outputs[0]!) : undefined;
    const bias: Const | undefined = g.consts.get(b ?? '');
    const w = g.consts.get(mm.inputs[1] ?? '');
    const n = w?.dims[1];
    const attrs = new Map<string, AttrValue>([['transB', { kind: 'int', value: 0 }]]);
    if (add && bias && bias.kind === 'float' && bias.data.length === n && bias.dims.at(-1) === n) {
      replace(g, [mm, add], { name: mm.name, op: 'Gemm', inputs: [mm.inputs[0]!, mm.inputs[1]!, b!], outputs: add.outputs, attrs });
    } else {
      replace(g, [mm], { name: mm.name, op: 'Gemm', inputs: [mm.inputs[0]!, mm.inputs[1]!], outputs: mm.outputs, attrs });
    }
  }
  return g;
}

export function dropSoftmax(g: Graph): Graph {
  const last = g.nodes.find((n) => n.outputs[0] === g.output);
  if (last?.op !== 'Softmax') return g;
  const rank = g.shapes.get(last.inputs[0]!)?.length ?? 0;
  const axis = intAttr(last, 'axis', g.opset >= 13 ? -1 : 1);
  if (rank !== 2 || (axis !== 1 && axis !== -1)) throw nodeError(last, `is a softmax over axis ${axis} of a rank-${rank} tensor; convgen drops only a trailing softmax over the class scores of a [N, classes] output`, 'export the logits (leave the softmax out of forward)');
  if (readersOf(g, last.outputs[0]!).length > 0) throw nodeError(last, 'is read by other nodes', 'export the logits');
  g.nodes = g.nodes.filter((n) => n !== last);
  g.output = last.inputs[0]!;
  g.softmax = true;
  g.softmaxNode = last.name;
  g.notes.push(`the trailing ${last.op} (${JSON.stringify(last.name)}) becomes "output_softmax": true: forward() returns probabilities in eval mode (and in --inference builds), the logits in training mode, where lossAndGrad's softmax_cross_entropy takes them`);
  return g;
}
