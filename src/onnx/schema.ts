// The ONNX messages convgen reads, as a protobufjs descriptor written from the ONNX spec
// (onnx/onnx.proto3: message and field names and numbers are the spec's). Only what the import
// needs is declared: protobufjs skips the fields it does not know, as any protobuf reader does.
// Decoding is protobufjs's; this file only says what the bytes mean.

import protobuf from 'protobufjs';

const rep = 'repeated' as const;

const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            opset_import: { rule: rep, type: 'OperatorSetIdProto', id: 8 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            model_version: { type: 'int64', id: 5 },
            doc_string: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: rep, type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: rep, type: 'TensorProto', id: 5 },
            doc_string: { type: 'string', id: 10 },
            input: { rule: rep, type: 'ValueInfoProto', id: 11 },
            output: { rule: rep, type: 'ValueInfoProto', id: 12 },
            value_info: { rule: rep, type: 'ValueInfoProto', id: 13 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: rep, type: 'string', id: 1 },
            output: { rule: rep, type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: rep, type: 'AttributeProto', id: 5 },
            doc_string: { type: 'string', id: 6 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            ref_attr_name: { type: 'string', id: 21 },
            doc_string: { type: 'string', id: 13 },
            type: { type: 'AttributeType', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: { rule: rep, type: 'float', id: 7 },
            ints: { rule: rep, type: 'int64', id: 8 },
            strings: { rule: rep, type: 'bytes', id: 9 },
            tensors: { rule: rep, type: 'TensorProto', id: 10 },
            graphs: { rule: rep, type: 'GraphProto', id: 11 },
          },
          nested: {
            AttributeType: {
              values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14 },
            },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: rep, type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            float_data: { rule: rep, type: 'float', id: 4, options: { packed: true } },
            int32_data: { rule: rep, type: 'int32', id: 5, options: { packed: true } },
            string_data: { rule: rep, type: 'bytes', id: 6 },
            int64_data: { rule: rep, type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            doc_string: { type: 'string', id: 12 },
            raw_data: { type: 'bytes', id: 9 },
            external_data: { rule: rep, type: 'StringStringEntryProto', id: 13 },
            data_location: { type: 'int32', id: 14 },
            double_data: { rule: rep, type: 'double', id: 10, options: { packed: true } },
            uint64_data: { rule: rep, type: 'uint64', id: 11, options: { packed: true } },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            doc_string: { type: 'string', id: 3 },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: {
            tensor_type: { type: 'Tensor', id: 1 },
            denotation: { type: 'string', id: 6 },
          },
          nested: {
            Tensor: {
              fields: {
                elem_type: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: rep, type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: {
                dim_value: { type: 'int64', id: 1 },
                dim_param: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              },
            },
          },
        },
      },
    },
  },
};

/** an int64 as protobufjs gives it: a number, or a Long when the `long` package is present */
export type Int64 = number | { toNumber(): number; toString(): string };

export interface OperatorSetIdProto { domain: string; version: Int64 }
export interface TensorProto {
  dims: Int64[];
  data_type: number;
  float_data: number[];
  int32_data: number[];
  string_data: Uint8Array[];
  int64_data: Int64[];
  name: string;
  raw_data: Uint8Array;
  external_data: { key: string; value: string }[];
  data_location: number;
  double_data: number[];
  uint64_data: Int64[];
}
export interface AttributeProto {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: TensorProto | null;
  g?: GraphProto | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}
export interface NodeProto { input: string[]; output: string[]; name: string; op_type: string; domain: string; attribute: AttributeProto[] }
export interface Dimension { dim_value?: Int64 | null; dim_param?: string | null }
export interface ValueInfoProto { name: string; type?: { tensor_type?: { elem_type: number; shape?: { dim: Dimension[] } | null } | null } | null }
export interface GraphProto { node: NodeProto[]; name: string; initializer: TensorProto[]; input: ValueInfoProto[]; output: ValueInfoProto[]; value_info: ValueInfoProto[] }
export interface ModelProto { ir_version: Int64; opset_import: OperatorSetIdProto[]; producer_name: string; producer_version: string; graph?: GraphProto | null }

/** TensorProto.DataType, the values the import reads */
export const DATA_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

export const DATA_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL',
  10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
};

/** AttributeProto.AttributeType */
export const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

const root = protobuf.Root.fromJSON(DESCRIPTOR);
export const ModelProtoType = root.lookupType('onnx.ModelProto');

/** protobufjs's decode of a ModelProto (throws on bytes that are not one) */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return ModelProtoType.decode(bytes) as unknown as ModelProto;
}

export const int64 = (v: Int64 | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());
