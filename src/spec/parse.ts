// parse: model.json -> ModelSpec. validate() checks the raw value against the one
// description in schema.ts; normalize() then expands shorthands (an int for a pair,
// a strategy name for all three kernels) and fills every default, so later stages
// never see an optional size. Checks that need shapes belong to the planner.

import { readFileSync, statSync } from 'node:fs';
import { ConvgenError } from '../errors.ts';
import { parseJsonText } from './json.ts';
import { MODEL, fieldOf } from './schema.ts';
import type {
  LayerSpec,
  LayerType,
  ModelSpec,
  PaddingSpec,
  StrategyChoice,
  StrategySpec,
} from './types.ts';
import { hasKey, nearest, quote, validate } from './validate.ts';
import { MODEL_INPUT } from './names.ts';

type Raw = Record<string, unknown>;

/** the value of `key`, or the default the description declares for it */
function get<T>(raw: Raw, type: LayerType, key: string): T {
  if (hasKey(raw, key)) return raw[key] as T;
  const f = fieldOf(type, key);
  if (f.default === undefined) throw new Error(`internal: ${type}.${key} has no default`);
  return f.default as T;
}

/** an int or a per-dim list -> a per-dim list */
function perDim(v: number | number[], dims: number): number[] {
  // JSON's -0 is a valid padding of 0; keep it from reaching generated code as "-0"
  return typeof v === 'number' ? Array<number>(dims).fill(v + 0) : v.map((x) => x + 0);
}

function strategy(v: string | Raw): StrategySpec {
  if (typeof v === 'string') {
    const s = v as StrategyChoice;
    return { forward: s, gradInput: s, gradWeight: s };
  }
  const pick = (k: string): StrategyChoice => (hasKey(v, k) ? (v[k] as StrategyChoice) : 'auto');
  return { forward: pick('forward'), gradInput: pick('gradInput'), gradWeight: pick('gradWeight') };
}

function padding(v: number | number[] | string, dims: number): PaddingSpec {
  if (v === 'same') return { mode: 'same' };
  if (v === 'valid') return { mode: 'valid' };
  return { mode: 'explicit', amounts: perDim(v as number | number[], dims) };
}

function optionalInt(raw: Raw, key: string): { [k: string]: number } {
  return hasKey(raw, key) ? { [key]: raw[key] as number } : {};
}

/** the name layers[index] gets: its own, else `<type><index>` */
function layerName(raw: Raw, index: number): string {
  return hasKey(raw, 'name') ? (raw.name as string) : `${raw.type as string}${index}`;
}

/** one validated layer object -> its LayerSpec, defaults filled; `previous`: what it reads by default */
function normalizeLayer(raw: Raw, index: number, previous: string): LayerSpec {
  const type = raw.type as LayerType;
  const name = layerName(raw, index);
  const inputs = hasKey(raw, 'inputs') ? [...(raw.inputs as string[])] : [previous];
  const common = { name, index, torch_name: hasKey(raw, 'torch_name') ? (raw.torch_name as string) : name, inputs };
  switch (type) {
    case 'conv1d':
    case 'conv2d': {
      const dims = type === 'conv1d' ? 1 : 2;
      return {
        type,
        ...common,
        ...optionalInt(raw, 'in_channels'),
        out_channels: raw.out_channels as number,
        kernel: perDim(raw.kernel as number | number[], dims),
        stride: perDim(get(raw, type, 'stride'), dims),
        padding: padding(get(raw, type, 'padding'), dims),
        dilation: perDim(get(raw, type, 'dilation'), dims),
        groups: get(raw, type, 'groups'),
        bias: get(raw, type, 'bias'),
        strategy: strategy(get(raw, type, 'strategy')),
      };
    }
    case 'conv_transpose1d':
    case 'conv_transpose2d': {
      const dims = type === 'conv_transpose1d' ? 1 : 2;
      return {
        type,
        ...common,
        ...optionalInt(raw, 'in_channels'),
        out_channels: raw.out_channels as number,
        kernel: perDim(raw.kernel as number | number[], dims),
        stride: perDim(get(raw, type, 'stride'), dims),
        padding: perDim(get(raw, type, 'padding'), dims),
        output_padding: perDim(get(raw, type, 'output_padding'), dims),
        dilation: perDim(get(raw, type, 'dilation'), dims),
        groups: get(raw, type, 'groups'),
        bias: get(raw, type, 'bias'),
        strategy: strategy(get(raw, type, 'strategy')),
      };
    }
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d': {
      const dims = type === 'maxpool1d' || type === 'avgpool1d' ? 1 : 2;
      const kernel = perDim(raw.kernel as number | number[], dims);
      // PyTorch: the stride of a pool defaults to its kernel
      const stride = hasKey(raw, 'stride') ? perDim(raw.stride as number | number[], dims) : [...kernel];
      const pad = perDim(get(raw, type, 'padding'), dims);
      if (type === 'avgpool1d' || type === 'avgpool2d') {
        return { type, ...common, kernel, stride, padding: pad, count_include_pad: get(raw, type, 'count_include_pad') };
      }
      return { type, ...common, kernel, stride, padding: pad };
    }
    case 'linear':
      return { type, ...common, ...optionalInt(raw, 'in_features'), out_features: raw.out_features as number, bias: get(raw, type, 'bias') };
    case 'upsample_nearest2d':
    case 'upsample_bilinear2d':
      return { type, ...common, scale_factor: perDim(raw.scale_factor as number | number[], 2) };
    case 'zero_pad1d':
    case 'zero_pad2d': {
      // PyTorch: one int pads every side
      const sides = type === 'zero_pad1d' ? 2 : 4;
      const p = raw.padding as number | number[];
      return { type, ...common, padding: typeof p === 'number' ? Array<number>(sides).fill(p) : [...p] };
    }
    case 'batchnorm1d':
    case 'batchnorm2d':
      return {
        type,
        ...common,
        ...optionalInt(raw, 'num_features'),
        eps: get(raw, type, 'eps'),
        // JSON's -0 is a momentum of 0: keep it from reaching generated code as "-0"
        momentum: hasKey(raw, 'momentum') && raw.momentum === null ? null : get<number>(raw, type, 'momentum') + 0,
        affine: get(raw, type, 'affine'),
        track_running_stats: get(raw, type, 'track_running_stats'),
      };
    case 'dropout':
      return { type, ...common, p: get<number>(raw, type, 'p') + 0 };
    // JSON's -0 is a slope of 0; keep it from reaching generated code as "-0"
    case 'leaky_relu':
      return { type, ...common, negative_slope: get<number>(raw, type, 'negative_slope') + 0 };
    case 'elu':
      return { type, ...common, alpha: get<number>(raw, type, 'alpha') + 0 };
    case 'gelu':
      return { type, ...common, approximate: get(raw, type, 'approximate') };
    case 'relu':
    case 'relu6':
    case 'silu':
    case 'sigmoid':
    case 'tanh':
    case 'flatten':
    case 'global_maxpool':
    case 'global_avgpool':
    case 'add':
    case 'concat':
      return { type, ...common };
  }
}

/** `"a", "b", "c"`, or the first `max` and how many more */
function nameList(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * every entry of every `inputs` names the model's input or a layer above it, so the model is
 * a DAG in file order by construction; and every layer's output is read by a later layer,
 * except the last one's, which is the model's output
 */
function checkInputs(layers: readonly LayerSpec[], raws: readonly Raw[]): void {
  const index = new Map(layers.map((l) => [l.name, l.index]));
  const used = new Set<string>();
  for (const l of layers) {
    const above = [MODEL_INPUT, ...layers.slice(0, l.index).map((p) => p.name)];
    l.inputs.forEach((ref, k) => {
      const at = `layers[${l.index}].inputs[${k}]`;
      const j = index.get(ref);
      if (ref === MODEL_INPUT || (j !== undefined && j < l.index)) {
        used.add(ref);
        return;
      }
      if (j === l.index) throw new ConvgenError(at, `${quote(ref)} is this layer itself: a layer cannot read its own output`, `name a layer above it: ${nameList(above)}`);
      if (j !== undefined) {
        throw new ConvgenError(at, `${quote(ref)} is layers[${j}], below this layer: a layer reads only the model's input and the layers above it (a model is computed top to bottom, so it can have no cycles)`, `move layers[${j}] above layers[${l.index}], or name one of ${nameList(above)}`);
      }
      const near = nearest(ref, above);
      throw new ConvgenError(at, `no layer above it is named ${quote(ref)}`, `${near ? `did you mean "${near}"? ` : ''}name one of ${nameList(above)} (the layers above it; "${MODEL_INPUT}" is the model's input)`);
    });
  }
  for (const l of layers.slice(0, -1)) {
    if (used.has(l.name)) continue;
    const explicit = layers.filter((c) => c.index > l.index && hasKey(raws[c.index], 'inputs')).map((c) => c.index);
    throw new ConvgenError(
      `layers[${l.index}]`,
      `the output of layers[${l.index}] (${l.type} "${l.name}") is never used: no later layer reads it${explicit.includes(l.index + 1) ? ` (layers[${l.index + 1}] names its own "inputs")` : ''}, and only the last layer's output is the model's`,
      `name "${l.name}" in a later layer's "inputs" (an add or a concat joins branches), or remove the layer`,
    );
  }
}

/**
 * names must be unique, also after defaults (a layer named "relu1" and the second layer,
 * an unnamed relu, collide) and also ignoring case (generated file names meet
 * case-insensitive file systems)
 */
function checkUniqueNames(layers: readonly LayerSpec[], raws: readonly Raw[]): void {
  const seen = new Map<string, LayerSpec>();
  for (const l of layers) {
    const key = l.name.toLowerCase();
    const first = seen.get(key);
    if (first) {
      const explicit = hasKey(raws[l.index], 'name');
      const same = first.name === l.name;
      throw new ConvgenError(
        explicit ? `layers[${l.index}].name` : `layers[${l.index}]`,
        `${explicit ? 'the name' : 'the default name'} ${quote(l.name)} ${same ? 'is already used' : `differs only in letter case from ${quote(first.name)}, used`} by layers[${first.index}]${same ? '' : ' (generated file names must not collide on case-insensitive file systems)'}`,
        explicit ? 'give each layer a unique name' : `give layers[${l.index}] or layers[${first.index}] an explicit, unique "name"`,
      );
    }
    seen.set(key, l);
  }
}

/**
 * the tensors of two layers must not share a state_dict name: a torch_name may not repeat,
 * nor equal the name of a layer with parameters that has no torch_name (its default)
 */
function checkUniqueTorchNames(layers: readonly LayerSpec[], raws: readonly Raw[]): void {
  const seen = new Map<string, LayerSpec>();
  for (const l of layers) {
    if (!hasParams(l)) continue;
    const first = seen.get(l.torch_name);
    if (first) {
      const explicit = hasKey(raws[l.index], 'torch_name');
      const firstExplicit = hasKey(raws[first.index], 'torch_name');
      const q = quote(l.torch_name);
      throw new ConvgenError(
        explicit ? `layers[${l.index}].torch_name` : `layers[${l.index}]`,
        `${explicit ? `the torch_name ${q}` : `the default torch_name ${q} (the layer name)`} is already the PyTorch name of layers[${first.index}]${firstExplicit ? '' : ' (its layer name)'}, so both layers' tensors would be named ${quote(`${l.torch_name}.weight`)}`,
        'give each layer with parameters a unique torch_name',
      );
    }
    seen.set(l.torch_name, l);
  }
}

/** the layers with tensors in a state_dict: a weight (and maybe a bias), or batch norm's parameters and running stats */
function hasParams(l: LayerSpec): boolean {
  if (l.type === 'batchnorm1d' || l.type === 'batchnorm2d') return l.affine || l.track_running_stats;
  return l.type === 'conv1d' || l.type === 'conv2d' || l.type === 'conv_transpose1d' || l.type === 'conv_transpose2d' || l.type === 'linear';
}

/** validate an already-parsed model.json value and normalize it to a ModelSpec */
export function parseModel(json: unknown): ModelSpec {
  validate(json, MODEL, '');
  const raw = json as Raw;
  const rawLayers = raw.layers as Raw[];
  const layers = rawLayers.map((l, i) => normalizeLayer(l, i, i === 0 ? MODEL_INPUT : layerName(rawLayers[i - 1], i - 1)));
  checkUniqueNames(layers, rawLayers);
  checkUniqueTorchNames(layers, rawLayers);
  checkInputs(layers, rawLayers);
  const spec: ModelSpec = {
    name: raw.name as string,
    batch: raw.batch as number,
    input: [...(raw.input as number[])],
    layers,
  };
  if (hasKey(raw, 'loss')) spec.loss = raw.loss as ModelSpec['loss'];
  if (hasKey(raw, 'output_softmax')) spec.output_softmax = raw.output_softmax as boolean;
  return spec;
}

/** parse JSON text (a syntax error gives line and column) and then the model */
export function parseModelText(text: string): ModelSpec {
  return parseModel(parseJsonText(text));
}

/** model files are small; anything larger is the wrong file */
export const MAX_MODEL_FILE_BYTES = 16 * 2 ** 20;

/** read, parse and validate a model file; every error is attributed to `path` */
export function loadModelFile(path: string): ModelSpec {
  let text: string;
  try {
    // a device or a pipe (/dev/zero) would be read forever, a huge file would exhaust memory
    const st = statSync(path);
    if (st.isDirectory()) throw new ConvgenError(path, 'it is a folder, not a file', 'pass the path of a model.json file');
    if (!st.isFile()) throw new ConvgenError(path, 'is not a regular file', 'pass the path of a model.json file');
    if (st.size > MAX_MODEL_FILE_BYTES) {
      throw new ConvgenError(path, `is ${st.size} bytes, more than the ${MAX_MODEL_FILE_BYTES / 2 ** 20} MiB a model file may have`, 'pass a model.json file (a few KiB of JSON describing the layers)');
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConvgenError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read it (${code ?? 'unknown error'})`;
    throw new ConvgenError(path, why, 'pass the path of a model.json file');
  }
  try {
    return parseModelText(text);
  } catch (err) {
    if (err instanceof ConvgenError) throw err.inFile(path);
    throw err;
  }
}
