// The import's graph IR: an ONNX graph reduced to what the passes need. Activations are
// named values flowing between nodes; every tensor known at import time (initializers,
// Constant nodes, folded shape arithmetic) is a Const. Passes rewrite `nodes` in place of
// the ONNX node list; `shapes` holds each activation's static shape, batch included.

import { ConvgenError } from '../errors.ts';

/** a tensor known at import time: float data as float32 (the model's precision), integers as numbers */
export interface Const {
  readonly dims: readonly number[];
  readonly kind: 'float' | 'int';
  readonly data: Float32Array | readonly number[];
}

export type AttrValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: Const }
  | { readonly kind: 'other'; readonly value: string };

export interface Node {
  /** the ONNX node's name (PyTorch writes the module path: `/layer1/conv1/Conv`), or `<op>_<index>` */
  readonly name: string;
  readonly op: string;
  /** value names; '' is an omitted optional input */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, AttrValue>;
  /** a name for the layer this node becomes, when a pattern pass chose it (a fused GELU: the module path) */
  readonly layerHint?: string;
}

export interface Graph {
  /** the default-domain opset version */
  readonly opset: number;
  /** the graph input's name and shape (batch included; a dynamic dim is its parameter's name) */
  readonly input: { readonly name: string; readonly shape: readonly (number | string)[] };
  /** the graph output's name */
  output: string;
  nodes: Node[];
  readonly consts: Map<string, Const>;
  /** initializer names: the weights PyTorch stored under their state_dict names */
  readonly initializers: ReadonlySet<string>;
  /** each activation's static shape, batch included (filled by inferShapes) */
  readonly shapes: Map<string, readonly number[]>;
  /** notes for the user: what the import dropped or changed (a trailing Softmax) */
  readonly notes: string[];
  /** a trailing Softmax was dropped: the model outputs its logits */
  softmax: boolean;
  /** the dropped trailing Softmax's node name */
  softmaxNode?: string;
}

/** the attribute fusePads sets on the Conv or AveragePool it folded a Pad into: the Pad's name (for errors) */
export const FOLDED_PAD = 'convgen.folded_pad';

/** the place an error names: `node "/layer1/conv1/Conv" (Conv)` */
export const nodeLabel = (n: Node): string => `node ${JSON.stringify(n.name)} (${n.op})`;

export function nodeError(n: Node, problem: string, fix: string): ConvgenError {
  return new ConvgenError(nodeLabel(n), problem, fix);
}

export const attr = (n: Node, key: string): AttrValue | undefined => n.attrs.get(key);

export function intAttr(n: Node, key: string, fallback: number): number {
  const a = n.attrs.get(key);
  if (a === undefined) return fallback;
  if (a.kind !== 'int') throw nodeError(n, `attribute ${key} is ${a.kind}, expected an int`, 'export the model again with torch.onnx.export');
  return a.value;
}

export function floatAttr(n: Node, key: string, fallback: number): number {
  const a = n.attrs.get(key);
  if (a === undefined) return fallback;
  if (a.kind === 'float' || a.kind === 'int') return a.value;
  throw nodeError(n, `attribute ${key} is ${a.kind}, expected a float`, 'export the model again with torch.onnx.export');
}

export function intsAttr(n: Node, key: string): readonly number[] | undefined {
  const a = n.attrs.get(key);
  if (a === undefined) return undefined;
  if (a.kind !== 'ints') throw nodeError(n, `attribute ${key} is ${a.kind}, expected a list of ints`, 'export the model again with torch.onnx.export');
  return a.value;
}

export function stringAttr(n: Node, key: string, fallback: string): string {
  const a = n.attrs.get(key);
  if (a === undefined) return fallback;
  if (a.kind !== 'string') throw nodeError(n, `attribute ${key} is ${a.kind}, expected a string`, 'export the model again with torch.onnx.export');
  return a.value;
}

/** the nodes reading a value */
export const readersOf = (g: Graph, value: string): Node[] => g.nodes.filter((n) => n.inputs.includes(value));

/** replace every read of `from` by `to` (the graph output too) */
export function renameValue(g: Graph, from: string, to: string): void {
  g.nodes = g.nodes.map((n) => (n.inputs.includes(from) ? { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) } : n));
  if (g.output === from) g.output = to;
}

export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
