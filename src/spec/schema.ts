// The one description of model.json, as data. The validator (validate.ts) interprets it,
// toJsonSchema() turns it into schema/model.schema.json, and docs/model-json.md is
// written against it; a test holds the committed schema equal to the generated one.

import { LAYER_TYPES, type LayerType } from './types.ts';
import { NAME_PATTERN, RESERVED_ANY_CASE, RESERVED_NAMES, TORCH_NAME_PATTERN, TORCH_TENSOR_SUFFIX } from './names.ts';

/** the largest size any key may hold: buffers are indexed with 32-bit integers */
export const MAX_SIZE = 2 ** 31 - 1;
/** the most layers a model may have (each becomes generated code) */
export const MAX_LAYERS = 1000;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export type Node =
  | { kind: 'integer'; min: number; max: number }
  /** any finite JSON number in [min, max] (an end is open when its `exclusive` flag is set) */
  | { kind: 'number'; min: number; max: number; exclusiveMin?: boolean; exclusiveMax?: boolean }
  /** JSON null, where a key takes it as a value (PyTorch's None); `doc` says what it means */
  | { kind: 'null'; doc: string }
  | { kind: 'boolean' }
  /** a single allowed JSON value (e.g. `align_corners: false`) */
  | { kind: 'const'; value: boolean | string; why: string }
  | { kind: 'enum'; values: readonly string[] }
  /** a safe identifier (names.ts) */
  | { kind: 'name' }
  /** a PyTorch module path, dotted (names.ts) */
  | { kind: 'torchName' }
  | { kind: 'string' }
  /** a list of `items`; `labels` names the entries when the length is fixed */
  | { kind: 'list'; items: Node; minItems: number; maxItems: number; labels?: string }
  /** alternatives told apart by JSON type (a number or a list, a string or an object) */
  | { kind: 'oneOf'; options: readonly Node[]; note?: string }
  | ObjectNode
  /** an object whose `type` key picks one of several object shapes */
  | { kind: 'layer'; variants: readonly LayerVariant[] };

export interface Field {
  key: string;
  node: Node;
  required?: boolean;
  /** the value used when the key is absent (also published in the JSON Schema) */
  default?: Json;
  /** how the default is described when it is not a constant ("kernel") */
  defaultDoc?: string;
  doc: string;
}

export interface ObjectNode {
  kind: 'object';
  /** what the object is, for messages: "the model", "a conv2d layer" */
  what: string;
  fields: readonly Field[];
}

export interface LayerVariant {
  type: LayerType;
  doc: string;
  fields: readonly Field[];
}

// ---- building blocks ------------------------------------------------------------------

const int = (min: number): Node => ({ kind: 'integer', min, max: MAX_SIZE });
/** an int for every spatial dim, or one per dim */
const perDimOptions = (min: number, dims: 1 | 2): Node[] => [
  int(min),
  { kind: 'list', items: int(min), minItems: dims, maxItems: dims, labels: dims === 1 ? '[length]' : '[height, width]' },
];
const perDim = (min: number, dims: 1 | 2): Node => ({ kind: 'oneOf', options: perDimOptions(min, dims) });

export const STRATEGIES = ['auto', 'direct', 'im2row'] as const;
const strategyName: Node = { kind: 'enum', values: STRATEGIES };
const strategyNode: Node = {
  kind: 'oneOf',
  options: [
    strategyName,
    {
      kind: 'object',
      what: 'a strategy',
      fields: [
        { key: 'forward', node: strategyName, default: 'auto', doc: 'strategy of the forward kernel' },
        { key: 'gradInput', node: strategyName, default: 'auto', doc: 'strategy of the input-gradient kernel' },
        { key: 'gradWeight', node: strategyName, default: 'auto', doc: 'strategy of the weight-gradient kernel' },
      ],
    },
  ],
};

const nameField = (type: string): Field => ({
  key: 'name',
  node: { kind: 'name' },
  defaultDoc: `"${type}<index>"`,
  doc: 'unique layer name; it names the parameters and the generated kernels',
});

/** on the layers that have parameters: what a PyTorch state_dict calls them */
const torchNameField: Field = {
  key: 'torch_name',
  node: { kind: 'torchName' },
  defaultDoc: 'the layer name',
  doc: 'names this layer\'s tensors in a PyTorch state_dict (safetensors files): <torch_name>.weight and <torch_name>.bias',
};

function convFields(type: 'conv1d' | 'conv2d' | 'conv_transpose2d'): Field[] {
  const dims = type === 'conv1d' ? 1 : 2;
  const transposed = type === 'conv_transpose2d';
  const padding: Node = transposed
    ? { kind: 'oneOf', options: perDimOptions(0, 2), note: 'conv_transpose2d has no "same" or "valid": PyTorch\'s ConvTranspose2d takes explicit padding only' }
    : { kind: 'oneOf', options: [...perDimOptions(0, dims), { kind: 'enum', values: ['same', 'valid'] }] };
  const fields: Field[] = [
    nameField(type),
    torchNameField,
    { key: 'in_channels', node: int(1), defaultDoc: 'inferred', doc: 'input channels; inferred from the previous layer, checked when given' },
    { key: 'out_channels', node: int(1), required: true, doc: 'output channels' },
    { key: 'kernel', node: perDim(1, dims), required: true, doc: 'kernel size, PyTorch\'s kernel_size' },
    { key: 'stride', node: perDim(1, dims), default: 1, doc: 'stride' },
    {
      key: 'padding',
      node: padding,
      default: 0,
      doc: transposed
        ? 'rows/columns cropped from each side of the full output (PyTorch semantics)'
        : 'zero padding per side; "same" keeps the size at stride 1 (the extra pad of an even kernel goes at the end), "valid" means 0',
    },
  ];
  if (transposed) fields.push({ key: 'output_padding', node: perDim(0, 2), default: 0, doc: 'extra rows/columns added at the bottom/right of the output; less than max(stride, dilation)' });
  fields.push(
    { key: 'dilation', node: perDim(1, dims), default: 1, doc: 'spacing between kernel taps' },
    { key: 'groups', node: int(1), default: 1, doc: 'channel groups; must divide in and out channels (groups = in_channels is depthwise)' },
    { key: 'bias', node: { kind: 'boolean' }, default: true, doc: 'add a learned bias per output channel' },
    { key: 'strategy', node: strategyNode, default: 'auto', doc: 'kernel strategy: "auto" (cost model), "direct" or "im2row", or an object per kernel {forward, gradInput, gradWeight}' },
  );
  return fields;
}

function poolFields(type: 'maxpool1d' | 'maxpool2d' | 'avgpool2d'): Field[] {
  const dims = type === 'maxpool1d' ? 1 : 2;
  const fields: Field[] = [
    nameField(type),
    { key: 'kernel', node: perDim(1, dims), required: true, doc: 'window size, PyTorch\'s kernel_size' },
    { key: 'stride', node: perDim(1, dims), defaultDoc: 'the kernel', doc: 'window step; defaults to the window size, as in PyTorch' },
    { key: 'padding', node: perDim(0, dims), default: 0, doc: `implicit padding per side (${type === 'avgpool2d' ? 'zeros' : '-infinity'}); at most half the window` },
  ];
  if (type === 'avgpool2d') fields.push({ key: 'count_include_pad', node: { kind: 'boolean' }, default: true, doc: 'count padded zeros in the divisor' });
  return fields;
}

/** batchnorm1d / batchnorm2d: PyTorch's keys and defaults */
function batchNormFields(type: 'batchnorm1d' | 'batchnorm2d'): Field[] {
  return [
    nameField(type),
    {
      key: 'torch_name',
      node: { kind: 'torchName' },
      defaultDoc: 'the layer name',
      doc: 'names this layer\'s tensors in a PyTorch state_dict (safetensors files): <torch_name>.weight, .bias, .running_mean, .running_var, .num_batches_tracked',
    },
    { key: 'num_features', node: int(1), defaultDoc: 'inferred', doc: 'channels C (PyTorch\'s num_features); inferred from the previous layer, checked when given' },
    { key: 'eps', node: { kind: 'number', min: 0, max: 1, exclusiveMin: true }, default: 1e-5, doc: 'added to the variance before the square root' },
    {
      key: 'momentum',
      node: { kind: 'oneOf', options: [{ kind: 'number', min: 0, max: 1 }, { kind: 'null', doc: 'a cumulative average' }] },
      default: 0.1,
      doc: 'running-stat update: running = (1 - momentum) * running + momentum * batch; null: a cumulative average (PyTorch\'s momentum=None)',
    },
    { key: 'affine', node: { kind: 'boolean' }, default: true, doc: 'learn a per-channel weight (init 1) and bias (init 0)' },
    { key: 'track_running_stats', node: { kind: 'boolean' }, default: true, doc: 'keep running_mean / running_var for eval mode; false: eval mode normalizes with the batch\'s statistics too' },
  ];
}

const SIMPLE_DOCS = {
  relu: 'max(x, 0), elementwise',
  global_maxpool: 'maximum over all spatial positions (PyTorch AdaptiveMaxPool to size 1); keeps the spatial dims as 1s',
  global_avgpool: 'mean over all spatial positions (PyTorch AdaptiveAvgPool to size 1); keeps the spatial dims as 1s',
  flatten: 'reshape each sample to a vector (PyTorch Flatten, start_dim 1)',
} as const;

export const LAYER_VARIANTS: readonly LayerVariant[] = LAYER_TYPES.map((type): LayerVariant => {
  switch (type) {
    case 'conv1d':
      return { type, doc: '1D convolution over [C, L] (PyTorch Conv1d)', fields: convFields(type) };
    case 'conv2d':
      return { type, doc: '2D convolution over [C, H, W] (PyTorch Conv2d)', fields: convFields(type) };
    case 'conv_transpose2d':
      return { type, doc: '2D transposed convolution (PyTorch ConvTranspose2d)', fields: convFields(type) };
    case 'maxpool1d':
      return { type, doc: '1D max pooling (PyTorch MaxPool1d); ties go to the first maximum', fields: poolFields(type) };
    case 'maxpool2d':
      return { type, doc: '2D max pooling (PyTorch MaxPool2d); ties go to the first maximum in row-major order', fields: poolFields(type) };
    case 'avgpool2d':
      return { type, doc: '2D average pooling (PyTorch AvgPool2d)', fields: poolFields(type) };
    case 'linear':
      return {
        type,
        doc: 'fully connected layer y = x W^T + b over a vector per sample (PyTorch Linear)',
        fields: [
          nameField(type),
          torchNameField,
          { key: 'in_features', node: int(1), defaultDoc: 'inferred', doc: 'input features; inferred from the previous layer, checked when given' },
          { key: 'out_features', node: int(1), required: true, doc: 'output features' },
          { key: 'bias', node: { kind: 'boolean' }, default: true, doc: 'add a learned bias' },
        ],
      };
    case 'upsample_bilinear2d':
      return {
        type,
        doc: 'bilinear upsampling by an integer factor (PyTorch Upsample mode="bilinear", align_corners=False)',
        fields: [
          nameField(type),
          { key: 'scale_factor', node: perDim(1, 2), required: true, doc: 'integer scale factor, one for both dims or [height, width]' },
          { key: 'align_corners', node: { kind: 'const', value: false, why: 'only align_corners = false (PyTorch\'s default) is supported' }, default: false, doc: 'must be false (PyTorch\'s default)' },
        ],
      };
    case 'batchnorm1d':
      return { type, doc: 'batch normalization over [C] or [C, L] per sample, per channel (PyTorch BatchNorm1d); batch statistics in training mode, running statistics in eval mode', fields: batchNormFields(type) };
    case 'batchnorm2d':
      return { type, doc: 'batch normalization over [C, H, W] per sample, per channel (PyTorch BatchNorm2d); batch statistics in training mode, running statistics in eval mode', fields: batchNormFields(type) };
    case 'dropout':
      return {
        type,
        doc: 'in training mode zeroes each element with probability p (a mask from the model\'s seeded stream) and scales the rest by 1/(1-p); the identity in eval mode (PyTorch Dropout)',
        fields: [
          nameField(type),
          { key: 'p', node: { kind: 'number', min: 0, max: 1 }, default: 0.5, doc: 'probability of zeroing an element; 1 zeroes everything, as PyTorch allows' },
        ],
      };
    case 'relu':
    case 'global_maxpool':
    case 'global_avgpool':
    case 'flatten':
      return { type, doc: SIMPLE_DOCS[type], fields: [nameField(type)] };
  }
});

export const MODEL: ObjectNode = {
  kind: 'object',
  what: 'the model',
  fields: [
    { key: '$schema', node: { kind: 'string' }, doc: 'path or URL of schema/model.schema.json, for editor completion; ignored by convgen' },
    { key: 'name', node: { kind: 'name' }, required: true, doc: 'model name: the folder generated/<name>/ and the generated module\'s name' },
    { key: 'batch', node: int(1), required: true, doc: 'static batch size' },
    { key: 'input', node: { kind: 'list', items: int(1), minItems: 2, maxItems: 3, labels: '[C, L] or [C, H, W] per sample, without the batch' }, required: true, doc: 'per-sample input shape: [C, L] for 1D, [C, H, W] for 2D' },
    { key: 'layers', node: { kind: 'list', items: { kind: 'layer', variants: LAYER_VARIANTS }, minItems: 1, maxItems: MAX_LAYERS }, required: true, doc: 'the layers, in order' },
    { key: 'loss', node: { kind: 'enum', values: ['softmax_cross_entropy'] }, doc: 'mean softmax cross-entropy over the batch; needs a vector of class scores per sample' },
  ],
};

export function variantOf(type: string): LayerVariant | undefined {
  return LAYER_VARIANTS.find((v) => v.type === type);
}

/** the field `key` of a layer type (it must exist: callers pass literal keys) */
export function fieldOf(type: LayerType, key: string): Field {
  const f = variantOf(type)?.fields.find((x) => x.key === key);
  if (!f) throw new Error(`internal: ${type} has no field ${key}`);
  return f;
}

// ---- JSON Schema ----------------------------------------------------------------------

type JsonObject = { [k: string]: Json };

/** a letter-case-blind regex alternative for one word: con -> [Cc][Oo][Nn] */
function anyCase(word: string): string {
  return [...word].map((c) => (/[a-z]/.test(c) ? `[${c.toUpperCase()}${c}]` : c)).join('');
}

function nodeSchema(node: Node): JsonObject {
  switch (node.kind) {
    case 'integer':
      return { type: 'integer', minimum: node.min, maximum: node.max };
    case 'number':
      return {
        type: 'number',
        ...(node.exclusiveMin ? { exclusiveMinimum: node.min } : { minimum: node.min }),
        ...(node.exclusiveMax ? { exclusiveMaximum: node.max } : { maximum: node.max }),
      };
    case 'null':
      return { type: 'null' };
    case 'boolean':
      return { type: 'boolean' };
    case 'const':
      return { const: node.value };
    case 'enum':
      return { type: 'string', enum: [...node.values] };
    case 'string':
      return { type: 'string' };
    case 'name':
      return { $ref: '#/definitions/name' };
    case 'torchName':
      return { $ref: '#/definitions/torch_name' };
    case 'list': {
      const s: JsonObject = { type: 'array', items: nodeSchema(node.items), minItems: node.minItems, maxItems: node.maxItems };
      return s;
    }
    case 'oneOf':
      return { oneOf: node.options.map(nodeSchema) };
    case 'object':
      return objectSchema(node.fields);
    case 'layer':
      return { $ref: '#/definitions/layer' };
  }
}

function objectSchema(fields: readonly Field[], extra: JsonObject = {}): JsonObject {
  const properties: JsonObject = {};
  for (const f of fields) {
    const node = nodeSchema(f.node);
    // draft-07 ignores the siblings of a $ref, so a described reference goes through allOf
    const s: JsonObject = { description: f.doc + (f.defaultDoc ? ` (default: ${f.defaultDoc})` : ''), ...('$ref' in node ? { allOf: [node] } : node) };
    if (f.default !== undefined) s.default = f.default;
    properties[f.key] = s;
  }
  const required = fields.filter((f) => f.required).map((f) => f.key);
  return {
    type: 'object',
    ...(required.length ? { required } : {}),
    properties: { ...(extra.properties as JsonObject | undefined), ...properties },
    additionalProperties: false,
  };
}

/** schema/model.schema.json, generated from MODEL (draft-07: what editors support best) */
export function toJsonSchema(): JsonObject {
  const definitions: JsonObject = {};
  definitions.name = {
    type: 'string',
    description: 'a safe identifier: ASCII letters, digits and _, not starting with a digit or __, at most 64 characters, not a JavaScript or WGSL reserved word',
    pattern: `^(?!__)${NAME_PATTERN.source.slice(1)}`,
    not: {
      anyOf: [
        { enum: [...RESERVED_NAMES.keys()].sort() },
        { pattern: `^(${RESERVED_ANY_CASE.map(anyCase).join('|')})$` },
      ],
    },
  };
  definitions.torch_name = {
    type: 'string',
    description: 'a PyTorch module path: segments of ASCII letters, digits and _ joined by ".", at most 200 characters, not ending in "weight" or "bias"',
    pattern: TORCH_NAME_PATTERN.source,
    not: { pattern: TORCH_TENSOR_SUFFIX.source },
  };
  const typeEnum = LAYER_VARIANTS.map((v) => v.type);
  definitions.layer = {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: typeEnum, description: 'layer kind' } },
    allOf: LAYER_VARIANTS.map((v) => ({
      if: { properties: { type: { const: v.type } }, required: ['type'] },
      then: { $ref: `#/definitions/${v.type}` },
    })),
  };
  for (const v of LAYER_VARIANTS) {
    definitions[v.type] = {
      description: v.doc,
      ...objectSchema(v.fields, { properties: { type: { const: v.type } } }),
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'convgen model.json',
    description: 'A static conv net for convgen to compile. Generated from src/spec/schema.ts: do not edit by hand (npx tsx src/spec/write-schema.ts).',
    ...objectSchema(MODEL.fields),
    definitions,
  };
}

/** the committed file's exact text */
export function jsonSchemaText(): string {
  return JSON.stringify(toJsonSchema(), null, 2) + '\n';
}
