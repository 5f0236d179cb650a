// toLayers: the rewritten graph -> model.json layers and the weights under their PyTorch
// names. Each remaining node becomes exactly one layer of the same meaning, or the import
// stops with the node, its op type and why no layer expresses it.

import { ConvgenError } from '../errors.ts';
import type { Tensor } from '../io/safetensors.ts';
import { FOLDED_PAD, floatAttr, intAttr, intsAttr, nodeError, numel, stringAttr, type Const, type Graph, type Node } from './graph.ts';
import { windowOf } from './geometry.ts';
import { identifierOf, NamePool, splitNodeName, torchPathOf, TorchNamePool } from './names.ts';

type Json = Record<string, unknown>;

export interface Imported {
  /** the model.json value, keys in the order a person writes them */
  readonly model: Json;
  /** the weights and batch-norm buffers by PyTorch state_dict name */
  readonly tensors: Record<string, Tensor>;
  readonly notes: readonly string[];
}

export interface LayerOptions {
  readonly name: string;
  readonly batch: number;
}

/** the shortest decimal that rounds to the same float32 (0.1 for 0.10000000149) */
export function f32(v: number): number {
  const target = Math.fround(v);
  for (let p = 1; p <= 17; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === target) return d;
  }
  return v;
}

/** `GlobalAveragePool_1` -> `global_average_pool_1` */
const snake = (op: string): string => op.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** a per-dim list as model.json writes it: one number when every dim agrees */
const compact = (v: readonly number[]): number | number[] => (v.every((x) => x === v[0]) ? v[0]! : [...v]);

const f32Tensor = (dims: readonly number[], data: Float32Array): Tensor => ({ dtype: 'F32', shape: [...dims], data });

/** W [K, N] as [N, K] (a MatMul's weight as a Linear's) */
function transpose(c: Const): Float32Array {
  const [k, n] = c.dims as [number, number];
  const src = c.data as Float32Array;
  const out = new Float32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) out[j * k + i] = src[i * n + j]!;
  return out;
}

/** where a node's pads came from when fusePads folded a Pad into it: the Pad's name, for errors */
const foldedPad = (n: Node): string => {
  const a = n.attrs.get(FOLDED_PAD);
  return a?.kind === 'string' ? ` (they include the pads of ${JSON.stringify(a.value)}, a Pad folded in: F.pad or nn.ZeroPad2d with unequal sides)` : '';
};

/** zero_pad1d / zero_pad2d from the pads before and after each spatial dim (model.json's order: [left, right, top, bottom]) */
function zeroPadOf(before: readonly number[], after: readonly number[]): Json {
  const padding = before.length === 1 ? [before[0]!, after[0]!] : [before[1]!, after[1]!, before[0]!, after[0]!];
  return { type: `zero_pad${before.length}d`, name: '', padding: compact(padding) };
}

export function toLayers(g: Graph, opts: LayerOptions): Imported {
  const names = new NamePool();
  const torchNames = new TorchNamePool();
  const valueLayer = new Map<string, string>([[g.input.name, 'input']]);
  const layers: Json[] = [];
  const trainingBns: string[] = [];
  const tensors: Record<string, Tensor> = {};
  let previous = 'input';
  const nodesIn = new Map<string, number>();
  for (const n of g.nodes) {
    const { path } = splitNodeName(n.name);
    nodesIn.set(path, (nodesIn.get(path) ?? 0) + 1);
  }

  const shape = (v: string): readonly number[] => g.shapes.get(v) ?? [];
  const floatConst = (n: Node, i: number, what: string): Const => {
    const c = g.consts.get(n.inputs[i] ?? '');
    if (!c || c.kind !== 'float') throw nodeError(n, `its ${what} (input ${i}) is not a float initializer`, 'export with the parameters as initializers (the default)');
    return c;
  };
  const activations = (n: Node): string[] =>
    n.inputs.filter((i) => i !== '' && !g.consts.has(i)).map((i) => {
      const l = valueLayer.get(i);
      if (l === undefined) throw nodeError(n, `reads ${JSON.stringify(i)}, which no layer computes`, 'export the model again');
      return l;
    });

  for (const n of g.nodes) {
    const x = n.inputs[0]!;
    const xs = shape(x);
    const { path, op } = splitNodeName(n.name);
    const refuse = (why: string, fix: string) => nodeError(n, why, fix);
    // a node alone in its module (`/pool/GlobalAveragePool`, a fused `/gelu/...`) is named after the module; else module + op (`layer1_relu_1`)
    const plain = (): string => names.take(path && nodesIn.get(path) === 1 ? path : [path, snake(n.layerHint ?? op)].filter(Boolean).join('_'), snake(n.op) || 'layer');
    /** a layer with tensors: named after its weight's state_dict path, else the node's module path */
    const withParams = (weight: string): { name: string; torch: string } => {
      const fromWeight = torchPathOf(weight);
      const torch = torchNames.take(fromWeight ?? (path || undefined), identifierOf(n.op.toLowerCase()));
      return { name: names.take(torch, identifierOf(n.op.toLowerCase())), torch };
    };
    let layer: Json;
    /** a zero_pad layer this node's unequal pads became, run before the node's own layer */
    let padFirst: Json | undefined;

    switch (n.op) {
      case 'Conv': {
        const w = floatConst(n, 1, 'weight');
        const dims = xs.length - 2;
        const win = windowOf(n, xs.slice(2), w.dims.slice(2));
        const groups = intAttr(n, 'group', 1);
        if (groups < 1 || xs[1]! % groups !== 0 || w.dims[1]! * groups !== xs[1] || w.dims[0]! % groups !== 0) throw refuse(`has group ${groups}, a weight of shape [${w.dims.join(', ')}] and ${xs[1]} input channels, which do not agree`, 'export the model again');
        let padding: unknown;
        // convgen's "same": total max((ceil(in/s) - 1) s + d (k - 1) + 1 - in, 0), the odd one at the end
        const same = xs.slice(2).map((s, i) => Math.max((Math.ceil(s / win.stride[i]!) - 1) * win.stride[i]! + win.dilation[i]! * (win.kernel[i]! - 1) + 1 - s, 0));
        if (win.before.every((b, i) => b === win.after[i])) padding = compact(win.before);
        else if (same.every((t, i) => win.before[i] === Math.floor(t / 2) && win.after[i] === t - Math.floor(t / 2))) padding = 'same';
        else {
          // unequal sides (F.pad, nn.ZeroPad2d, auto_pad SAME_LOWER): a zero_pad layer takes the
          // difference, the conv the equal part, as PyTorch's own ZeroPad2d + Conv2d compute
          const equal = win.before.map((b, i) => Math.min(b, win.after[i]!));
          padding = compact(equal);
          padFirst = zeroPadOf(win.before.map((b, i) => b - equal[i]!), win.after.map((a, i) => a - equal[i]!));
        }
        const { name, torch } = withParams(n.inputs[1]!);
        const bias = n.inputs[2] ? floatConst(n, 2, 'bias') : undefined;
        layer = { type: dims === 1 ? 'conv1d' : 'conv2d', name, torch_name: torch, out_channels: w.dims[0], kernel: compact(win.kernel) };
        if (win.stride.some((s) => s !== 1)) layer.stride = compact(win.stride);
        if (padding !== 0) layer.padding = padding;
        if (win.dilation.some((d) => d !== 1)) layer.dilation = compact(win.dilation);
        if (groups !== 1) layer.groups = groups;
        if (!bias) layer.bias = false;
        tensors[`${torch}.weight`] = f32Tensor(w.dims, w.data as Float32Array);
        if (bias) tensors[`${torch}.bias`] = f32Tensor([w.dims[0]!], bias.data as Float32Array);
        break;
      }
      case 'ConvTranspose': {
        const w = floatConst(n, 1, 'weight');
        const k = w.dims.slice(2);
        const dims = k.length;
        if (stringAttr(n, 'auto_pad', 'NOTSET') !== 'NOTSET') throw refuse('uses auto_pad, which PyTorch\'s ConvTranspose never writes', 'export with explicit padding');
        const stride = intsAttr(n, 'strides') ?? k.map(() => 1);
        const dil = intsAttr(n, 'dilations') ?? k.map(() => 1);
        const pads = intsAttr(n, 'pads') ?? [...k, ...k].map(() => 0);
        const outPad = intsAttr(n, 'output_padding') ?? k.map(() => 0);
        const groups = intAttr(n, 'group', 1);
        if (pads.slice(0, dims).some((p, i) => p !== pads[dims + i])) throw refuse(`pads [${pads.join(', ')}] are asymmetric; PyTorch's ConvTranspose crops each side equally`, 'use symmetric padding');
        const { name, torch } = withParams(n.inputs[1]!);
        const bias = n.inputs[2] ? floatConst(n, 2, 'bias') : undefined;
        const cout = w.dims[1]! * groups;
        layer = { type: dims === 1 ? 'conv_transpose1d' : 'conv_transpose2d', name, torch_name: torch, out_channels: cout, kernel: compact(k) };
        if (stride.some((s) => s !== 1)) layer.stride = compact(stride);
        if (pads.some((p) => p !== 0)) layer.padding = compact(pads.slice(0, dims));
        if (outPad.some((p) => p !== 0)) layer.output_padding = compact(outPad);
        if (dil.some((d) => d !== 1)) layer.dilation = compact(dil);
        if (groups !== 1) layer.groups = groups;
        if (!bias) layer.bias = false;
        tensors[`${torch}.weight`] = f32Tensor(w.dims, w.data as Float32Array);
        if (bias) tensors[`${torch}.bias`] = f32Tensor([cout], bias.data as Float32Array);
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const win = windowOf(n, xs.slice(2));
        const kind = n.op === 'MaxPool' ? 'maxpool' : 'avgpool';
        if (intAttr(n, 'ceil_mode', 0) !== 0) throw refuse('uses ceil_mode=1; convgen pools in floor mode (PyTorch\'s default ceil_mode=False)', 'use ceil_mode=False');
        if (win.dilation.some((d) => d !== 1)) throw refuse(`has dilations [${win.dilation.join(', ')}]; convgen's pools have none`, 'use dilation=1');
        if (n.outputs[1] && g.nodes.some((m) => m.inputs.includes(n.outputs[1]!))) throw refuse('has its indices output read', 'use return_indices=False');
        // padded zeros that count in the divisor are plain zeros: a zero_pad layer takes what the
        // pool cannot (unequal sides, more than half the window), the pool the rest
        let pad = win.before;
        const includePad = kind === 'avgpool' && intAttr(n, 'count_include_pad', 0) !== 0;
        if (includePad && win.before.some((b, i) => b !== win.after[i] || 2 * b > win.kernel[i]!)) {
          pad = win.before.map((b, i) => Math.min(b, win.after[i]!, Math.floor(win.kernel[i]! / 2)));
          padFirst = zeroPadOf(win.before.map((b, i) => b - pad[i]!), win.after.map((a, i) => a - pad[i]!));
        }
        if (!padFirst && win.before.some((b, i) => b !== win.after[i])) throw refuse(`pads [${[...win.before, ...win.after].join(', ')}] are asymmetric${foldedPad(n)}; convgen's pools pad each side equally`, 'use symmetric padding (nn.ZeroPad2d(p), F.pad with left = right and top = bottom); for other padding, pad the input before the model');
        if (pad.some((p, i) => 2 * p > win.kernel[i]!)) throw refuse(`pads ${compact(pad)} more than half the window ${compact(win.kernel)}, which PyTorch's pools refuse and convgen too`, 'pad at most kernel // 2');
        layer = { type: `${kind}${xs.length - 2}d`, name: plain(), kernel: compact(win.kernel) };
        if (win.stride.some((s, i) => s !== win.kernel[i])) layer.stride = compact(win.stride);
        if (pad.some((p) => p !== 0)) {
          layer.padding = compact(pad);
          if (kind === 'avgpool' && intAttr(n, 'count_include_pad', 0) === 0) layer.count_include_pad = false;
        }
        break;
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool':
        layer = { type: n.op === 'GlobalAveragePool' ? 'global_avgpool' : 'global_maxpool', name: plain() };
        break;
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Silu':
        layer = { type: n.op.toLowerCase(), name: plain() };
        break;
      case 'LeakyRelu':
        layer = { type: 'leaky_relu', name: plain(), negative_slope: f32(floatAttr(n, 'alpha', 0.01)) };
        break;
      case 'Elu':
        layer = { type: 'elu', name: plain(), alpha: f32(floatAttr(n, 'alpha', 1)) };
        break;
      case 'Gelu': {
        const approximate = stringAttr(n, 'approximate', 'none');
        if (approximate !== 'none' && approximate !== 'tanh') throw refuse(`has approximate "${approximate}"`, 'use "none" or "tanh"');
        layer = { type: 'gelu', name: plain(), ...(approximate === 'tanh' ? { approximate } : {}) };
        break;
      }
      case 'Clip': {
        // from opset 11 (the oldest imported) the bounds are inputs
        const bound = (i: number, key: string): number | undefined => {
          const name = n.inputs[i];
          if (!name) return undefined;
          const c = g.consts.get(name);
          if (!c || c.data.length !== 1) throw refuse(`takes its ${key} from a value computed at run time`, 'use constant bounds (nn.ReLU6)');
          return Number(c.data[0]);
        };
        const lo = bound(1, 'min');
        const hi = bound(2, 'max');
        if (lo === 0 && hi === 6) layer = { type: 'relu6', name: plain() };
        else if (lo === 0 && hi === undefined) layer = { type: 'relu', name: plain() };
        else throw refuse(`clips to [${lo ?? '-inf'}, ${hi ?? 'inf'}]; convgen maps Clip(0, 6) to relu6 and Clip(0, inf) to relu only`, 'use nn.ReLU6 or nn.ReLU, or add a clamp layer kind to convgen');
        break;
      }
      case 'Flatten': {
        const axis = intAttr(n, 'axis', 1);
        if (axis !== 1 && axis !== 1 - xs.length) throw refuse(`flattens from axis ${axis}; convgen's flatten keeps the batch and flattens the rest (axis 1)`, 'use torch.flatten(x, 1)');
        layer = { type: 'flatten', name: plain() };
        break;
      }
      case 'Reshape': {
        const out = shape(n.outputs[0]!);
        if (xs.length < 2 || out.length !== 2 || out[0] !== xs[0] || out[1] !== numel(xs.slice(1))) throw refuse(`reshapes [${xs.join(', ')}] to [${out.join(', ')}]; convgen maps a Reshape only as x.view(x.size(0), -1) (flatten, keeping the batch)`, 'flatten with x.view(x.size(0), -1) or torch.flatten(x, 1)');
        layer = { type: 'flatten', name: plain() };
        break;
      }
      case 'Gemm': {
        const w = floatConst(n, 1, 'weight');
        const transB = intAttr(n, 'transB', 0);
        if (intAttr(n, 'transA', 0) !== 0) throw refuse('has transA=1; a linear layer multiplies the activations as they are', 'use nn.Linear');
        if (floatAttr(n, 'alpha', 1) !== 1 || (n.inputs[2] && floatAttr(n, 'beta', 1) !== 1)) throw refuse('has alpha or beta other than 1', 'use nn.Linear');
        if (w.dims.length !== 2) throw refuse(`has a weight of shape [${w.dims.join(', ')}]`, 'use nn.Linear');
        if (xs.length !== 2) throw refuse(`multiplies an input of shape [${xs.join(', ')}]; convgen's linear takes a vector per sample ([N, features])`, 'flatten before the linear layer (torch.flatten(x, 1))');
        const [outF, inF] = transB ? [w.dims[0]!, w.dims[1]!] : [w.dims[1]!, w.dims[0]!];
        const bias = n.inputs[2] ? floatConst(n, 2, 'bias') : undefined;
        if (bias && (bias.data.length !== outF || numel(bias.dims) !== outF)) throw refuse(`adds a bias of shape [${bias.dims.join(', ')}] to ${outF} outputs; a linear layer's bias has one value per output`, 'use nn.Linear');
        const { name, torch } = withParams(n.inputs[1]!);
        layer = { type: 'linear', name, torch_name: torch, out_features: outF };
        if (!bias) layer.bias = false;
        tensors[`${torch}.weight`] = f32Tensor([outF, inF], transB ? (w.data as Float32Array) : transpose(w));
        if (bias) tensors[`${torch}.bias`] = f32Tensor([outF], bias.data as Float32Array);
        break;
      }
      case 'BatchNormalization': {
        // training mode: training_mode=1 (opset 14+), or the running-statistics outputs (opsets
        // 9 to 13 have no attribute: more than one output is training mode). It normalizes with
        // the batch's statistics, as convgen's batchnorm does in training mode (train(), the default)
        if (n.outputs.slice(1).some((o) => o && g.nodes.some((m) => m.inputs.includes(o)))) throw refuse('has its running-statistics outputs read by other nodes', 'export in eval mode (model.eval()), with training=TrainingMode.PRESERVE to keep the BatchNormalization');
        if (intAttr(n, 'training_mode', 0) !== 0 || n.outputs.slice(1).some((o) => o !== '')) trainingBns.push(n.name);
        const [scale, b, mean, vari] = [1, 2, 3, 4].map((i) => floatConst(n, i, ['scale', 'bias', 'mean', 'var'][i - 1]!));
        const c = xs[1]!;
        if ([scale, b, mean, vari].some((t) => t!.data.length !== c)) throw refuse(`has parameters that are not one value per channel (${c} channels)`, 'export the model again');
        if (xs.length !== 3 && xs.length !== 4 && xs.length !== 2) throw refuse(`normalizes a rank-${xs.length} tensor`, 'use BatchNorm1d or BatchNorm2d');
        const { name, torch } = withParams(n.inputs[1]!);
        const momentum = Number((1 - floatAttr(n, 'momentum', 0.9)).toPrecision(6));
        layer = { type: xs.length === 4 ? 'batchnorm2d' : 'batchnorm1d', name, torch_name: torch, eps: f32(floatAttr(n, 'epsilon', 1e-5)), momentum };
        if (layer.eps === 1e-5) delete layer.eps;
        if (momentum === 0.1) delete layer.momentum;
        tensors[`${torch}.weight`] = f32Tensor([c], scale!.data as Float32Array);
        tensors[`${torch}.bias`] = f32Tensor([c], b!.data as Float32Array);
        tensors[`${torch}.running_mean`] = f32Tensor([c], mean!.data as Float32Array);
        tensors[`${torch}.running_var`] = f32Tensor([c], vari!.data as Float32Array);
        tensors[`${torch}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: new BigInt64Array(1) };
        break;
      }
      case 'Add': {
        const ins = n.inputs.filter((i) => !g.consts.has(i));
        if (ins.length !== 2) throw refuse('adds a constant to an activation; convgen\'s add sums activations (a bias belongs to the conv or linear before it)', 'export with do_constant_folding=True, or fold the constant into a layer');
        if (shape(ins[0]!).join() !== shape(ins[1]!).join()) throw refuse(`adds [${shape(ins[0]!).join(', ')}] and [${shape(ins[1]!).join(', ')}]: convgen adds only equal shapes (no broadcasting)`, 'make both branches the same shape');
        layer = { type: 'add', name: plain() };
        break;
      }
      case 'Concat': {
        const axis = intAttr(n, 'axis', 0);
        if (n.inputs.some((i) => g.consts.has(i))) throw refuse('joins a constant with activations', 'concatenate activations only');
        if (axis !== 1 && axis !== 1 - xs.length) throw refuse(`concatenates on axis ${axis}; convgen's concat joins channels (axis 1)`, 'use torch.cat(..., dim=1)');
        layer = { type: 'concat', name: plain() };
        break;
      }
      case 'Resize':
      case 'Upsample': {
        const out = shape(n.outputs[0]!);
        if (xs.length !== 4) throw refuse(`resizes a rank-${xs.length} tensor; convgen upsamples [N, C, H, W]`, 'use 2D upsampling');
        const scale = [2, 3].map((i) => out[i]! / xs[i]!);
        if (out[0] !== xs[0] || out[1] !== xs[1] || scale.some((s) => !Number.isInteger(s) || s < 1)) throw refuse(`resizes [${xs.join(', ')}] to [${out.join(', ')}]; convgen upsamples H and W by integer factors`, 'use an integer scale_factor');
        const mode = stringAttr(n, 'mode', 'nearest');
        const coords = stringAttr(n, 'coordinate_transformation_mode', n.op === 'Upsample' ? 'asymmetric' : 'half_pixel');
        const nearest = stringAttr(n, 'nearest_mode', 'round_prefer_floor');
        let type: string;
        if (mode === 'linear' && (coords === 'half_pixel' || coords === 'pytorch_half_pixel')) type = 'upsample_bilinear2d';
        else if (mode === 'nearest' && coords === 'asymmetric' && (nearest === 'floor' || n.op === 'Upsample')) type = 'upsample_nearest2d';
        else throw refuse(`resizes in mode ${mode} with coordinate_transformation_mode ${coords}${mode === 'nearest' ? ` and nearest_mode ${nearest}` : ''}; convgen has bilinear with half_pixel (align_corners=False) and nearest with asymmetric and floor`, "use F.interpolate(x, scale_factor=s, mode='bilinear', align_corners=False) or mode='nearest'");
        layer = { type, name: plain(), scale_factor: compact(scale) };
        break;
      }
      case 'Pad': {
        // fusePads left it: zeros over the spatial dims, not foldable into the node reading it
        const pads = intsAttr(n, 'pads')!;
        const dims = xs.length - 2;
        layer = { ...zeroPadOf(pads.slice(2, 2 + dims), pads.slice(4 + dims)), name: plain() };
        break;
      }
      case 'Softmax':
        throw refuse('is a softmax inside the network; convgen has no softmax layer and drops only a trailing one', 'return the logits from forward');
      case 'Erf':
      case 'Div':
      case 'Mul':
      case 'Shape':
      case 'Gather':
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Cast':
        throw refuse('is not part of a pattern convgen maps (GELU\'s Erf chain, silu\'s Mul(x, Sigmoid(x)), shape arithmetic on static shapes)', 'see docs/onnx.md for the supported operators');
      default:
        throw refuse(`has no convgen layer`, 'see docs/onnx.md for the supported operators');
    }
    // a torch_name that is the layer's name says nothing
    if (layer.torch_name === layer.name) delete layer.torch_name;
    let ins = activations(n);
    if (padFirst) {
      padFirst.name = names.take(`${layer.name as string}_pad`, 'zero_pad');
      layers.push(ins.length !== 1 || ins[0] !== previous ? { type: padFirst.type, name: padFirst.name, inputs: ins, padding: padFirst.padding } : padFirst);
      previous = padFirst.name as string;
      ins = [previous];
    }
    if (ins.length !== 1 || ins[0] !== previous) layer = { type: layer.type, name: layer.name, inputs: ins, ...layer };
    layers.push(layer);
    previous = layer.name as string;
    valueLayer.set(n.outputs[0]!, previous);
  }

  if (trainingBns.length > 0) g.notes.push(`${trainingBns.length === 1 ? 'a BatchNormalization was' : `${trainingBns.length} BatchNormalizations were`} exported in training mode (${trainingBns.map((x) => JSON.stringify(x)).join(', ')}): the ONNX graph normalizes with the batch's statistics, as the generated model does in training mode (model.train(), the default); model.eval() uses the imported running statistics instead`);
  if (layers.length === 0) throw new ConvgenError('graph', 'computes nothing convgen maps to a layer (the output is the input)', 'export a module with at least one layer');
  if (valueLayer.get(g.output) !== previous) throw new ConvgenError(`graph output ${JSON.stringify(g.output)}`, 'is not computed by the last node; a convgen model\'s output is its last layer', 'export a module whose forward returns its last computation');
  const outShape = shape(g.output);
  const model: Json = {
    name: opts.name,
    batch: opts.batch,
    input: shape(g.input.name).slice(1),
    layers,
    loss: outShape.length === 2 && outShape[1]! >= 2 ? 'softmax_cross_entropy' : 'mse',
  };
  // a dropped trailing Softmax is kept as the output's softmax for eval mode (output_softmax) and
  // said in the file itself: the note is lost once the user builds from the .json
  if (g.softmax) {
    model.output_softmax = true;
    model.comment = `the ONNX model ends in a softmax over dim 1 (${JSON.stringify(g.softmaxNode ?? '')}), kept as "output_softmax": in eval mode (and in --inference builds) forward() returns the probabilities, as the ONNX model does; in training mode it returns the logits, which softmax_cross_entropy takes`;
  }
  return { model, tensors, notes: g.notes };
}
