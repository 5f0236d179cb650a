// Small ONNX models written in the tests, encoded with the import's own protobuf schema
// (src/onnx/schema.ts), for operators and attributes the PyTorch fixtures do not cover and for
// the import's refusals. onnxruntime-node runs the same bytes as the outside oracle.

import { ModelProtoType } from '../../src/onnx/schema.ts';
import { mulberry32 } from '../cases.ts';

export type AttrIn = number | string | number[] | { floats: number[] };

export interface NodeIn {
  op: string;
  inputs: string[];
  outputs?: string[];
  name?: string;
  attrs?: Record<string, AttrIn>;
}

export interface GraphIn {
  /** the input's shape, batch included (a string is a dynamic dim) */
  input: (number | string)[];
  nodes: NodeIn[];
  /** float initializers: dims, and data (default: seeded uniform in [-0.5, 0.5)) */
  inits?: Record<string, { dims: number[]; data?: number[] }>;
  /** int64 initializers: a list (1-D), or dims and data (`{ dims: [], data: [0] }`: a scalar) */
  ints?: Record<string, number[] | { dims: number[]; data: number[] }>;
  /** the graph output (default: the last node's first output) */
  output?: string;
  opset?: number;
  seed?: number;
}

function attrOf(name: string, v: AttrIn): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if (typeof v === 'object') return { name, type: 6, floats: v.floats };
  return Number.isInteger(v) && !name.match(/alpha|beta|epsilon|momentum|^f$/) ? { name, type: 2, i: v } : { name, type: 1, f: v };
}

/** the bytes of an ONNX model for the graph, opset 13 unless told */
export function onnxModel(g: GraphIn): Uint8Array {
  const rand = mulberry32(g.seed ?? 3);
  const nodes = g.nodes.map((n, i) => ({
    name: n.name ?? `/${n.op}_${i}`,
    op_type: n.op,
    input: n.inputs,
    output: n.outputs ?? [`v${i}`],
    attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrOf(k, v)),
  }));
  const initializer = [
    ...Object.entries(g.inits ?? {}).map(([name, t]) => {
      const n = t.dims.reduce((a, b) => a * b, 1);
      const data = t.data ?? Array.from({ length: n }, () => rand() - 0.5);
      return { name, dims: t.dims, data_type: 1, raw_data: new Uint8Array(Float32Array.from(data).buffer) };
    }),
    ...Object.entries(g.ints ?? {}).map(([name, v]) => {
      const { dims, data } = Array.isArray(v) ? { dims: [v.length], data: v } : v;
      return { name, dims, data_type: 7, raw_data: new Uint8Array(BigInt64Array.from(data.map(BigInt)).buffer) };
    }),
  ];
  const dims = (shape: (number | string)[]) => shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  const out = g.output ?? nodes.at(-1)!.output[0]!;
  const model = {
    ir_version: 8,
    producer_name: 'convgen-test',
    opset_import: [{ domain: '', version: g.opset ?? 13 }],
    graph: {
      name: 'g',
      node: nodes,
      initializer,
      input: [{ name: 'input', type: { tensor_type: { elem_type: 1, shape: { dim: dims(g.input) } } } }],
      output: [{ name: out, type: { tensor_type: { elem_type: 1 } } }],
    },
  };
  const err = ModelProtoType.verify(model);
  if (err) throw new Error(`onnx-build: ${err}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
}
