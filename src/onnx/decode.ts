// decode: ONNX bytes -> Graph. protobufjs reads the protobuf (src/onnx/schema.ts); this pass
// checks what the rest of the import relies on (one float32 input and output, the default
// domain at opsets 11 to 18, tensors whose data matches their dims) and converts tensors and
// attributes into plain values. Nothing here interprets an operator.

import { ConvgenError } from '../errors.ts';
import { ATTR_TYPE, DATA_TYPE, DATA_TYPE_NAMES, decodeModelProto, int64, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from './schema.ts';
import type { AttrValue, Const, Graph, Node } from './graph.ts';

export const MIN_OPSET = 11;
export const MAX_OPSET = 18;
/** a bound on any one tensor: the generated code indexes with 32-bit integers */
const MAX_ELEMENTS = 2 ** 31 - 1;

const REEXPORT = 'export the model again with torch.onnx.export (see docs/onnx.md)';

const utf8 = new TextDecoder('utf-8');

function bad(where: string, problem: string, fix = REEXPORT): ConvgenError {
  return new ConvgenError(where, problem, fix);
}

/** protobufjs's decode, its errors (a truncated or corrupted file) as a ConvgenError */
function protobufOf(bytes: Uint8Array): ModelProto {
  try {
    return decodeModelProto(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw bad('model', `is not an ONNX model file: the protobuf decoder stopped (${why}); the file is truncated or not ONNX`, 'check the file is the whole .onnx file torch.onnx.export wrote');
  }
}

/** a tensor's dims, each a non-negative integer, and its element count */
function dimsOf(t: TensorProto, where: string): number[] {
  const dims = t.dims.map(int64);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(where, `has dims [${dims.join(', ')}]: a dim must be an integer >= 0`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS) throw bad(where, `has ${n} elements, more than convgen's limit of 2^31 - 1`, 'use a smaller model');
  return dims;
}

/** a raw_data byte string as a typed array of `bytes`-sized elements (copied: protobufjs's view may be unaligned) */
function raw(t: TensorProto, n: number, bytes: number, where: string): ArrayBuffer | undefined {
  if (!t.raw_data || t.raw_data.length === 0) return undefined;
  if (t.raw_data.length !== n * bytes) throw bad(where, `holds ${t.raw_data.length} bytes of raw data, but its dims need ${n} x ${bytes} = ${n * bytes}`);
  // a copy: protobufjs gives a view into the file (a Node Buffer, possibly unaligned)
  return Uint8Array.from(t.raw_data).buffer;
}

function counted<T>(values: readonly T[], n: number, where: string): readonly T[] {
  if (values.length !== n) throw bad(where, `holds ${values.length} values, but its dims need ${n}`);
  return values;
}

/** an ONNX TensorProto as a Const: floating types as float32, integer types as numbers */
export function constOf(t: TensorProto, where: string): Const {
  if (t.data_location === 1 || t.external_data.length > 0) throw bad(where, 'keeps its data in an external file, which convgen does not read', 'export without external data (models under 2 GB are written inline by torch.onnx.export)');
  const dims = dimsOf(t, where);
  const n = dims.reduce((a, b) => a * b, 1);
  const type = t.data_type;
  if (type === DATA_TYPE.FLOAT) {
    const buf = raw(t, n, 4, where);
    return { dims, kind: 'float', data: buf ? new Float32Array(buf) : Float32Array.from(counted(t.float_data, n, where)) };
  }
  if (type === DATA_TYPE.DOUBLE) {
    const buf = raw(t, n, 8, where);
    return { dims, kind: 'float', data: Float32Array.from(buf ? new Float64Array(buf) : counted(t.double_data, n, where)) };
  }
  if (type === DATA_TYPE.INT64) {
    const buf = raw(t, n, 8, where);
    const values = buf ? Array.from(new BigInt64Array(buf), (v) => Number(v)) : counted(t.int64_data, n, where).map(int64);
    return { dims, kind: 'int', data: values };
  }
  if (type === DATA_TYPE.INT32 || type === DATA_TYPE.INT8 || type === DATA_TYPE.UINT8 || type === DATA_TYPE.BOOL) {
    const size = type === DATA_TYPE.INT32 ? 4 : 1;
    const buf = raw(t, n, size, where);
    const values = buf ? Array.from(type === DATA_TYPE.INT32 ? new Int32Array(buf) : type === DATA_TYPE.INT8 ? new Int8Array(buf) : new Uint8Array(buf)) : [...counted(t.int32_data, n, where)];
    return { dims, kind: 'int', data: values };
  }
  throw bad(where, `has data type ${DATA_TYPE_NAMES[type] ?? type}; convgen reads FLOAT, DOUBLE and integer tensors`, 'export a float32 model (model.float() before torch.onnx.export)');
}

function attrOf(a: AttributeProto, where: string): AttrValue {
  switch (a.type) {
    case ATTR_TYPE.FLOAT:
      return { kind: 'float', value: a.f };
    case ATTR_TYPE.INT:
      return { kind: 'int', value: int64(a.i) };
    case ATTR_TYPE.STRING:
      return { kind: 'string', value: utf8.decode(a.s) };
    case ATTR_TYPE.FLOATS:
      return { kind: 'floats', value: [...a.floats] };
    case ATTR_TYPE.INTS:
      return { kind: 'ints', value: a.ints.map(int64) };
    case ATTR_TYPE.TENSOR:
      if (!a.t) throw bad(where, 'is a tensor attribute without a tensor');
      return { kind: 'tensor', value: constOf(a.t, where) };
    default:
      return { kind: 'other', value: `attribute type ${a.type}` };
  }
}

function nodeOf(p: NodeProto, index: number): Node {
  const name = p.name || `${p.op_type || 'node'}_${index}`;
  const where = `node ${JSON.stringify(name)} (${p.op_type})`;
  if (!p.op_type) throw bad(`node ${JSON.stringify(name)}`, 'has no op_type');
  if (p.domain && p.domain !== 'ai.onnx') throw bad(where, `is in the operator domain "${p.domain}", which convgen does not know`, 'export with the default ONNX operators only (no custom or contrib ops)');
  const attrs = new Map<string, AttrValue>();
  for (const a of p.attribute) attrs.set(a.name, attrOf(a, `${where}.${a.name}`));
  return { name, op: p.op_type, inputs: [...p.input], outputs: [...p.output], attrs };
}

/** decode and check an ONNX file's bytes: the graph the passes work on */
export function decode(bytes: Uint8Array): Graph {
  const model = protobufOf(bytes);
  const g = model.graph;
  if (!g) throw bad('model', 'has no graph: this is not an ONNX model file (or an empty one)', 'check the file is the .onnx file torch.onnx.export wrote');
  const opsets = model.opset_import.filter((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (opsets.length === 0) throw bad('model.opset_import', 'names no default-domain opset', REEXPORT);
  const opset = int64(opsets[0]!.version);
  if (opset < MIN_OPSET || opset > MAX_OPSET) throw bad('model.opset_import', `is opset ${opset}; convgen imports opsets ${MIN_OPSET} to ${MAX_OPSET}`, `export with opset_version=13 (any of ${MIN_OPSET} to ${MAX_OPSET})`);

  const consts = new Map<string, Const>();
  for (const t of g.initializer) {
    if (!t.name) throw bad('graph.initializer', 'has a tensor without a name');
    consts.set(t.name, constOf(t, `initializer ${JSON.stringify(t.name)}`));
  }
  const inputs = g.input.filter((i) => !consts.has(i.name));
  if (inputs.length !== 1) throw bad('graph.input', `has ${inputs.length} inputs (besides the weights): ${inputs.map((i) => JSON.stringify(i.name)).join(', ') || 'none'}; a convgen model reads one tensor`, 'export a module whose forward takes one tensor');
  const input = inputs[0]!;
  const tt = input.type?.tensor_type;
  const inWhere = `graph input ${JSON.stringify(input.name)}`;
  if (!tt) throw bad(inWhere, 'is not a tensor');
  if (tt.elem_type !== DATA_TYPE.FLOAT) throw bad(inWhere, `is ${DATA_TYPE_NAMES[tt.elem_type] ?? tt.elem_type}, not FLOAT (float32)`, 'export a float32 model with a float32 example input');
  const dims = tt.shape?.dim ?? [];
  const shape = dims.map((d) => (d.dim_param ? d.dim_param : d.dim_value !== null && d.dim_value !== undefined ? int64(d.dim_value) : '?'));
  if (shape.length !== 3 && shape.length !== 4) throw bad(inWhere, `has shape [${shape.join(', ')}]; convgen takes [N, C, L] (1D) or [N, C, H, W] (2D)`, 'export with an example input of that shape');
  for (const [i, d] of shape.entries()) {
    if (i > 0 && (typeof d !== 'number' || d < 1)) throw bad(inWhere, `has shape [${shape.join(', ')}]: dim ${i} is dynamic (${JSON.stringify(d)}), but a convgen model has static sizes; only the batch may be dynamic`, 'export without dynamic_axes on the channel and spatial dims');
  }
  if (g.output.length !== 1) throw bad('graph.output', `has ${g.output.length} outputs; a convgen model has one`, 'export a module whose forward returns one tensor');
  const nodes = g.node.map(nodeOf);
  return {
    opset,
    input: { name: input.name, shape },
    output: g.output[0]!.name,
    nodes,
    consts,
    initializers: new Set(consts.keys()),
    shapes: new Map(),
    notes: [],
    softmax: false,
  };
}
