// The one description of model.json, as data. The validator (validate.ts) interprets it,
// toJsonSchema() turns it into schema/model.schema.json, and docs/model-json.md is
// written against it; a test holds the committed schema equal to the generated one.

import { LAYER_TYPES, LOSS_KINDS, type LayerType } from './types.ts';
import { MODEL_INPUT, NAME_PATTERN, RESERVED_ANY_CASE, RESERVED_NAMES, TORCH_NAME_PATTERN, TORCH_TENSOR_SUFFIX } from './names.ts';

/** the largest size any key may hold: buffers are indexed with 32-bit integers */
export const MAX_SIZE = 2 ** 31 - 1;
/** the most layers a model may have (each becomes generated code) */
export const MAX_LAYERS = 1000;
/** the largest finite float32: a number key becomes a float32 constant in the kernels */
export const MAX_F32 = 3.4028234663852886e38;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export type Node =
  | { kind: 'integer'; min: number; max: number }
  /**
   * any finite JSON number a float32 holds; with min and max, only [min, max] (an end is open when
   * its `exclusive` flag is set). Without them, the whole float32 range (an activation's constant:
   * negative_slope, alpha)
   */
  | { kind: 'number'; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }
  /** JSON null, where a key takes it as a value (PyTorch's None); `doc` says what it means */
  | { kind: 'null'; doc: string }
  | { kind: 'boolean' }
  /** a single allowed JSON value (e.g. `align_corners: false`) */
  | { kind: 'const'; value: boolean | string; why: string }
  | { kind: 'enum'; values: readonly string[] }
  /** a safe identifier (names.ts) */
  | { kind: 'name' }
  /** a layer's name: a safe identifier other than "input", which `inputs` reserves for the model's input */
  | { kind: 'layerName' }
  /** a PyTorch module path, dotted (names.ts) */
  | { kind: 'torchName' }
  | { kind: 'string' }
  /**
   * a list of `items`; `labels` names the entries when the length is fixed; `countFix`, when
   * given, is the fix an error about the number of entries suggests
   */
  | { kind: 'list'; items: Node; minItems: number; maxItems: number; labels?: string; countFix?: string }
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
  node: { kind: 'layerName' },
  defaultDoc: `"${type}<index>"`,
  doc: `unique layer name; it names the parameters and the generated kernels ("${MODEL_INPUT}" is reserved: it names the model's input in inputs)`,
});

/** the layer kinds that read two or more inputs */
export type MergeType = 'add' | 'concat';

/** every layer's `inputs`: one producer for most layers, two or more for add and concat */
function inputsField(type: string, merge: boolean): Field {
  const ref = `a layer name or "${MODEL_INPUT}"`;
  if (merge) {
    return {
      key: 'inputs',
      node: { kind: 'list', items: { kind: 'string' }, minItems: 2, maxItems: MAX_LAYERS, labels: `[${ref} each]`, countFix: `${type} needs two or more inputs: name another layer above it, or "${MODEL_INPUT}"` },
      required: true,
      doc: `the layers whose outputs it ${type === 'add' ? 'sums' : 'joins'}, by name, in order ("${MODEL_INPUT}": the model's input); each must be above it in the file, and may appear more than once`,
    };
  }
  return {
    key: 'inputs',
    node: { kind: 'list', items: { kind: 'string' }, minItems: 1, maxItems: 1, labels: `[${ref}]`, countFix: `name the one layer ${type} reads (or "${MODEL_INPUT}"); to read several, join them with an add or a concat layer first and name that` },
    defaultDoc: 'the previous layer',
    doc: `the layer whose output it reads, by name ("${MODEL_INPUT}": the model's input); it must be above it in the file. Absent: the previous layer (the first layer reads the input)`,
  };
}

/** on the layers that have parameters: what a PyTorch state_dict calls them */
const torchNameField: Field = {
  key: 'torch_name',
  node: { kind: 'torchName' },
  defaultDoc: 'the layer name',
  doc: 'names this layer\'s tensors in a PyTorch state_dict (safetensors files): <torch_name>.weight and <torch_name>.bias',
};

function convFields(type: 'conv1d' | 'conv2d' | 'conv_transpose1d' | 'conv_transpose2d'): Field[] {
  const dims = type === 'conv1d' || type === 'conv_transpose1d' ? 1 : 2;
  const transposed = type === 'conv_transpose1d' || type === 'conv_transpose2d';
  const torchType = type === 'conv_transpose1d' ? 'ConvTranspose1d' : 'ConvTranspose2d';
  const padding: Node = transposed
    ? { kind: 'oneOf', options: perDimOptions(0, dims), note: `${type} has no "same" or "valid": PyTorch's ${torchType} takes explicit padding only` }
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
        ? `${dims === 1 ? 'elements' : 'rows/columns'} cropped from each side of the full output (PyTorch semantics)`
        : 'zero padding per side; "same" keeps the size at stride 1 (the extra pad of an even kernel goes at the end), "valid" means 0',
    },
  ];
  if (transposed) fields.push({ key: 'output_padding', node: perDim(0, dims), default: 0, doc: `extra ${dims === 1 ? 'elements added at the end' : 'rows/columns added at the bottom/right'} of the output; less than max(stride, dilation)` });
  fields.push(
    { key: 'dilation', node: perDim(1, dims), default: 1, doc: 'spacing between kernel taps' },
    { key: 'groups', node: int(1), default: 1, doc: 'channel groups; must divide in and out channels (groups = in_channels is depthwise)' },
    { key: 'bias', node: { kind: 'boolean' }, default: true, doc: 'add a learned bias per output channel' },
    { key: 'strategy', node: strategyNode, default: 'auto', doc: 'kernel strategy: "auto" (cost model), "direct" or "im2row", or an object per kernel {forward, gradInput, gradWeight}' },
  );
  return fields;
}

function poolFields(type: 'maxpool1d' | 'maxpool2d' | 'avgpool1d' | 'avgpool2d'): Field[] {
  const dims = type === 'maxpool1d' || type === 'avgpool1d' ? 1 : 2;
  const avg = type === 'avgpool1d' || type === 'avgpool2d';
  const fields: Field[] = [
    nameField(type),
    { key: 'kernel', node: perDim(1, dims), required: true, doc: 'window size, PyTorch\'s kernel_size' },
    { key: 'stride', node: perDim(1, dims), defaultDoc: 'the kernel', doc: 'window step; defaults to the window size, as in PyTorch' },
    { key: 'padding', node: perDim(0, dims), default: 0, doc: `implicit padding per side (${avg ? 'zeros' : '-infinity'}); at most half the window` },
  ];
  if (avg) fields.push({ key: 'count_include_pad', node: { kind: 'boolean' }, default: true, doc: 'count padded zeros in the divisor' });
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
  relu: 'max(x, 0), elementwise (PyTorch ReLU; NaN stays NaN)',
  relu6: 'min(max(x, 0), 6), elementwise (PyTorch ReLU6; NaN stays NaN)',
  silu: 'x * sigmoid(x), elementwise (PyTorch SiLU)',
  sigmoid: '1 / (1 + exp(-x)), elementwise (PyTorch Sigmoid), computed without overflow',
  tanh: 'tanh(x), elementwise (PyTorch Tanh), computed without overflow',
  global_maxpool: 'maximum over all spatial positions (PyTorch AdaptiveMaxPool to size 1); keeps the spatial dims as 1s',
  global_avgpool: 'mean over all spatial positions (PyTorch AdaptiveAvgPool to size 1); keeps the spatial dims as 1s',
  flatten: 'reshape each sample to a vector (PyTorch Flatten, start_dim 1)',
} as const;

export const LAYER_VARIANTS: readonly LayerVariant[] = LAYER_TYPES.map((type): LayerVariant => {
  const v = variant(type);
  // every layer says what it reads, right after its name
  const fields = [...v.fields];
  fields.splice(fields[0]?.key === 'name' ? 1 : 0, 0, inputsField(type, type === 'add' || type === 'concat'));
  return { ...v, fields };
});

function variant(type: LayerType): LayerVariant {
  switch (type) {
    case 'conv1d':
      return { type, doc: '1D convolution over [C, L] (PyTorch Conv1d)', fields: convFields(type) };
    case 'conv2d':
      return { type, doc: '2D convolution over [C, H, W] (PyTorch Conv2d)', fields: convFields(type) };
    case 'conv_transpose1d':
      return { type, doc: '1D transposed convolution over [C, L] (PyTorch ConvTranspose1d)', fields: convFields(type) };
    case 'conv_transpose2d':
      return { type, doc: '2D transposed convolution (PyTorch ConvTranspose2d)', fields: convFields(type) };
    case 'maxpool1d':
      return { type, doc: '1D max pooling (PyTorch MaxPool1d); ties go to the first maximum', fields: poolFields(type) };
    case 'maxpool2d':
      return { type, doc: '2D max pooling (PyTorch MaxPool2d); ties go to the first maximum in row-major order', fields: poolFields(type) };
    case 'avgpool1d':
      return { type, doc: '1D average pooling (PyTorch AvgPool1d, ceil_mode=False)', fields: poolFields(type) };
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
    case 'upsample_nearest2d':
      return {
        type,
        doc: 'nearest-neighbour upsampling by an integer factor: each pixel becomes a block (PyTorch Upsample mode="nearest")',
        fields: [
          nameField(type),
          { key: 'scale_factor', node: perDim(1, 2), required: true, doc: 'integer scale factor, one for both dims or [height, width]' },
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
    case 'zero_pad1d':
    case 'zero_pad2d': {
      const oneD = type === 'zero_pad1d';
      const sides = oneD ? 2 : 4;
      return {
        type,
        doc: oneD
          ? 'pads [C, L] with zeros, a number of columns on each side (PyTorch ZeroPad1d); backward crops the gradient'
          : 'pads [C, H, W] with zeros, a number of rows or columns on each side (PyTorch ZeroPad2d); backward crops the gradient',
        fields: [
          nameField(type),
          {
            key: 'padding',
            node: { kind: 'oneOf', options: [int(0), { kind: 'list', items: int(0), minItems: sides, maxItems: sides, labels: oneD ? '[left, right]' : '[left, right, top, bottom]' }] },
            required: true,
            doc: `zeros on every side, or one count per side in PyTorch's order (${oneD ? '[left, right]' : '[left, right, top, bottom]'}); negative padding (PyTorch's crop) is refused`,
          },
        ],
      };
    }
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
    case 'leaky_relu':
      return {
        type,
        doc: 'x for x > 0, negative_slope * x otherwise, elementwise (PyTorch LeakyReLU)',
        fields: [nameField(type), { key: 'negative_slope', node: { kind: 'number' }, default: 0.01, doc: 'the slope for x <= 0; any number, as in PyTorch' }],
      };
    case 'elu':
      return {
        type,
        doc: 'x for x > 0, alpha * (exp(x) - 1) otherwise, elementwise (PyTorch ELU)',
        fields: [nameField(type), { key: 'alpha', node: { kind: 'number' }, default: 1, doc: 'the scale of the negative part; any number, as in PyTorch' }],
      };
    case 'gelu':
      return {
        type,
        doc: 'x * Phi(x), Phi the standard normal CDF, elementwise (PyTorch GELU)',
        fields: [
          nameField(type),
          { key: 'approximate', node: { kind: 'enum', values: ['none', 'tanh'] }, default: 'none', doc: '"none": the exact CDF, 0.5 * (1 + erf(x / sqrt(2))); "tanh": 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))' },
        ],
      };
    case 'relu':
    case 'relu6':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
    case 'global_maxpool':
    case 'global_avgpool':
    case 'flatten':
      return { type, doc: SIMPLE_DOCS[type], fields: [nameField(type)] };
    case 'add':
      return { type, doc: 'elementwise sum of two or more inputs of identical shape (a residual connection: x + f(x))', fields: [nameField(type)] };
    case 'concat':
      return { type, doc: 'joins two or more inputs along the channel dimension (torch.cat(dim=1)); every other dimension must agree', fields: [nameField(type)] };
  }
}

export const MODEL: ObjectNode = {
  kind: 'object',
  what: 'the model',
  fields: [
    { key: '$schema', node: { kind: 'string' }, doc: 'path or URL of schema/model.schema.json, for editor completion; ignored by convgen' },
    { key: 'comment', node: { kind: 'string' }, doc: 'a note for people reading the file (convgen import writes what it changed, such as a trailing softmax kept as output_softmax); ignored by convgen' },
    { key: 'name', node: { kind: 'name' }, required: true, doc: 'model name: the folder generated/<name>/ and the generated module\'s name' },
    { key: 'batch', node: int(1), required: true, doc: 'static batch size' },
    { key: 'input', node: { kind: 'list', items: int(1), minItems: 2, maxItems: 3, labels: '[C, L] or [C, H, W] per sample, without the batch' }, required: true, doc: 'per-sample input shape: [C, L] for 1D, [C, H, W] for 2D' },
    { key: 'layers', node: { kind: 'list', items: { kind: 'layer', variants: LAYER_VARIANTS }, minItems: 1, maxItems: MAX_LAYERS }, required: true, doc: 'the layers, in order' },
    {
      key: 'loss',
      node: { kind: 'enum', values: LOSS_KINDS },
      doc: 'what lossAndGrad computes: mean softmax cross-entropy over the batch against integer labels (needs a vector of class scores per sample), or, over every output element against a float target of the output\'s shape, mean squared error or mean binary cross-entropy of sigmoid(output) (targets in [0, 1])',
    },
    {
      key: 'output_softmax',
      node: { kind: 'boolean' },
      default: false,
      doc: 'in eval mode (and in --inference builds) forward returns softmax over the output\'s classes (torch.softmax(logits, dim=1); the output must be a vector per sample); in training mode forward returns the logits and the loss takes them as always',
    },
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
    case 'number': {
      const min = node.min ?? -MAX_F32;
      const max = node.max ?? MAX_F32;
      return {
        type: 'number',
        ...(node.exclusiveMin ? { exclusiveMinimum: min } : { minimum: min }),
        ...(node.exclusiveMax ? { exclusiveMaximum: max } : { maximum: max }),
      };
    }
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
    case 'layerName':
      return { $ref: '#/definitions/layer_name' };
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
  definitions.layer_name = {
    description: `a layer name: a safe identifier other than "${MODEL_INPUT}" (layers' inputs call the model's input that)`,
    allOf: [{ $ref: '#/definitions/name' }],
    not: { const: MODEL_INPUT },
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
