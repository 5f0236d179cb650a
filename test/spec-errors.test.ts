// every documented model.json error: the exact one-paragraph message (where: problem; fix)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConvgenError } from '../src/errors.ts';
import { loadModelFile, parseModel, parseModelText } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';

const base = { name: 'm', batch: 2, input: [1, 8, 8] };
const withLayers = (...layers: unknown[]) => ({ ...base, layers });
const conv = (extra: Record<string, unknown>) => withLayers({ type: 'conv2d', out_channels: 2, kernel: 3, ...extra });
/** a named conv2d that keeps the size (8x8 -> 8x8 at padding 1) */
const c = (name: string, extra: Record<string, unknown> = {}) => ({ type: 'conv2d', name, out_channels: 2, kernel: 3, padding: 1, ...extra });

function errorOf(f: () => unknown): ConvgenError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConvgenError);
    return e as ConvgenError;
  }
  throw new Error('expected a ConvgenError, but nothing was thrown');
}

const KEYS = '"type", "name", "inputs", "torch_name", "in_channels", "out_channels", "kernel", "stride", "padding", "dilation", "groups", "bias", "strategy"';
const TYPES = '"conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "relu", "leaky_relu", "relu6", "elu", "gelu", "silu", "sigmoid", "tanh", "maxpool1d", "maxpool2d", "global_maxpool", "avgpool1d", "avgpool2d", "global_avgpool", "flatten", "linear", "upsample_nearest2d", "upsample_bilinear2d", "zero_pad1d", "zero_pad2d", "batchnorm1d", "batchnorm2d", "dropout", "add", "concat"';
const MODEL_KEYS = '"$schema", "comment", "name", "batch", "input", "layers", "loss", "output_softmax"';
const NAME_FIX = 'use ASCII letters, digits and _, not starting with a digit, for example';

const cases: [string, unknown, string][] = [
  // unknown keys and layer types, with the nearest valid name
  ['typo in a key', conv({ kernal: 3 }), `layers[0].kernal: unknown key "kernal" in a conv2d layer; did you mean "kernel"? (a conv2d layer takes ${KEYS})`],
  ['PyTorch kernel_size', withLayers({ type: 'maxpool2d', kernel_size: 2 }), 'layers[0].kernel_size: unknown key "kernel_size" in a maxpool2d layer; did you mean "kernel"? (a maxpool2d layer takes "type", "name", "inputs", "kernel", "stride", "padding")'],
  ['unknown key far from all', conv({ zzzzzzzz: 1 }), `layers[0].zzzzzzzz: unknown key "zzzzzzzz" in a conv2d layer; remove it; a conv2d layer takes ${KEYS}`],
  ['a key of another layer kind', conv({ output_padding: 1 }), `layers[0].output_padding: unknown key "output_padding" in a conv2d layer; remove it ("output_padding" belongs to conv_transpose1d, conv_transpose2d); a conv2d layer takes ${KEYS}`],
  ['a key of many layer kinds', withLayers({ type: 'avgpool2d', kernel: 2, dilation: 2 }), 'layers[0].dilation: unknown key "dilation" in an avgpool2d layer; remove it ("dilation" belongs to conv1d, conv2d, conv_transpose1d, ...); an avgpool2d layer takes "type", "name", "inputs", "kernel", "stride", "padding", "count_include_pad"'],
  ['comment not a string', { ...withLayers({ type: 'relu' }), comment: 3 }, 'comment: must be a string, got 3; write a string'],
  ['unknown top-level key', { ...withLayers({ type: 'relu' }), bacth: 3 }, `bacth: unknown key "bacth" in the model; did you mean "batch"? (the model takes ${MODEL_KEYS})`],
  ['odd key is quoted in the path', { ...withLayers({ type: 'relu' }), 'a b"\u202e': 1 }, `["a b\\"\\u202e"]: unknown key "a b\\"\\u202e" in the model; remove it; the model takes ${MODEL_KEYS}`],
  ['unknown layer type', withLayers({ type: 'Conv2D' }), `layers[0].type: unknown layer type "Conv2D"; did you mean "conv2d"? the layer types are ${TYPES}`],
  ['unknown layer type, no suggestion', withLayers({ type: 'lstm' }), `layers[0].type: unknown layer type "lstm"; the layer types are ${TYPES}`],
  ['unknown strategy key', conv({ strategy: { forwrd: 'direct' } }), 'layers[0].strategy.forwrd: unknown key "forwrd" in a strategy; did you mean "forward"? (a strategy takes "forward", "gradInput", "gradWeight")'],
  ['unknown enum value', conv({ strategy: 'im2col' }), 'layers[0].strategy: must be one of "auto", "direct", "im2row", got "im2col"; did you mean "im2row"?'],
  ['unknown loss', { ...withLayers({ type: 'relu' }), loss: 'mse_loss' }, 'loss: must be one of "softmax_cross_entropy", "mse", "bce_with_logits", got "mse_loss"; use one of "softmax_cross_entropy", "mse", "bce_with_logits"'],
  // missing keys
  ['missing type', withLayers({ out_channels: 2 }), `layers[0]: a layer needs a "type"; add "type": one of ${TYPES}`],
  ['missing out_channels', withLayers({ type: 'conv2d', kernel: 3 }), 'layers[0]: a conv2d layer needs "out_channels" (output channels); add "out_channels": an integer >= 1'],
  ['missing kernel', withLayers({ type: 'maxpool1d' }), 'layers[0]: a maxpool1d layer needs "kernel" (window size, PyTorch\'s kernel_size); add "kernel": an integer >= 1, or a list of 1 integer >= 1 [length]'],
  ['missing batch', { name: 'm', input: [1, 8, 8], layers: [{ type: 'relu' }] }, '(top level): the model needs "batch" (static batch size); add "batch": an integer >= 1'],
  ['missing layers', { ...base }, '(top level): the model needs "layers" (the layers, in order); add "layers": a list of 1 to 1000 layer objects'],
  // wrong types
  ['not an object', [], `(top level): must be an object with keys ${MODEL_KEYS}, got an empty list; write an object with keys ${MODEL_KEYS}`],
  ['layer not an object', withLayers('relu'), 'layers[0]: must be a layer object, got "relu" (a string); write a layer object'],
  ['quoted number', conv({ out_channels: '2' }), 'layers[0].out_channels: must be an integer >= 1, got "2" (a string); write 2 without quotes'],
  ['quoted boolean', conv({ bias: 'false' }), 'layers[0].bias: must be true or false, got "false" (a string); write false without quotes'],
  ['null size', conv({ stride: null }), 'layers[0].stride: must be an integer >= 1, or a list of 2 integers >= 1 [height, width], got null; write an integer >= 1, or a list of 2 integers >= 1 [height, width]'],
  ['type is not a string', withLayers({ type: 3 }), `layers[0].type: must be a string naming the layer kind, got 3; use one of ${TYPES}`],
  ['padding is an object', conv({ padding: {} }), 'layers[0].padding: must be an integer >= 0, or a list of 2 integers >= 0 [height, width], or one of "same", "valid", got an object; write an integer >= 0, or a list of 2 integers >= 0 [height, width], or one of "same", "valid"'],
  ['padding string', conv({ padding: 'full' }), 'layers[0].padding: must be one of "same", "valid", got "full"; use one of "same", "valid"'],
  ['"same" on conv_transpose2d', withLayers({ type: 'conv_transpose2d', out_channels: 2, kernel: 3, padding: 'same' }), 'layers[0].padding: must be an integer >= 0, or a list of 2 integers >= 0 [height, width], got "same" (a string) (conv_transpose2d has no "same" or "valid": PyTorch\'s ConvTranspose2d takes explicit padding only); write an integer >= 0, or a list of 2 integers >= 0 [height, width]'],
  ['"same" on a pool', withLayers({ type: 'maxpool2d', kernel: 2, padding: 'same' }), 'layers[0].padding: must be an integer >= 0, or a list of 2 integers >= 0 [height, width], got "same" (a string); write an integer >= 0, or a list of 2 integers >= 0 [height, width]'],
  // the activations' constants: any finite number (as PyTorch), approximate by name
  ['negative_slope not a number', withLayers({ type: 'leaky_relu', negative_slope: 'steep' }), 'layers[0].negative_slope: must be a number, got "steep" (a string); write a number'],
  ['negative_slope quoted', withLayers({ type: 'leaky_relu', negative_slope: '0.2' }), 'layers[0].negative_slope: must be a number, got "0.2" (a string); write 0.2 without quotes'],
  ['negative_slope a list', withLayers({ type: 'leaky_relu', negative_slope: [0.1] }), 'layers[0].negative_slope: must be a number, got a list of 1 entry; write a number'],
  ['negative_slope Infinity (1e400 in JSON)', withLayers({ type: 'leaky_relu', negative_slope: Infinity }), 'layers[0].negative_slope: is Infinity, outside the float32 range (at most 3.4028234663852886e+38 in size: the kernels compute in float32); use a smaller value'],
  ['alpha beyond float32', withLayers({ type: 'elu', alpha: -1e39 }), 'layers[0].alpha: is -1e+39, outside the float32 range (at most 3.4028234663852886e+38 in size: the kernels compute in float32); use a smaller value'],
  ['alpha NaN from an API caller', withLayers({ type: 'elu', alpha: NaN }), 'layers[0].alpha: must be a number, got NaN; write a finite number'],
  ['alpha null', withLayers({ type: 'elu', alpha: null }), 'layers[0].alpha: must be a number, got null; write a number'],
  ['approximate not none/tanh', withLayers({ type: 'gelu', approximate: 'erf' }), 'layers[0].approximate: must be one of "none", "tanh", got "erf"; use one of "none", "tanh"'],
  ['approximate letter case', withLayers({ type: 'gelu', approximate: 'Tanh' }), 'layers[0].approximate: must be one of "none", "tanh", got "Tanh"; did you mean "tanh"?'],
  ['approximate as a boolean', withLayers({ type: 'gelu', approximate: true }), 'layers[0].approximate: must be one of "none", "tanh", got true; write one of "none", "tanh"'],
  ['a key of another activation', withLayers({ type: 'elu', negative_slope: 0.1 }), 'layers[0].negative_slope: unknown key "negative_slope" in an elu layer; remove it ("negative_slope" belongs to leaky_relu); an elu layer takes "type", "name", "inputs", "alpha"'],
  ['PyTorch inplace', withLayers({ type: 'silu', inplace: true }), 'layers[0].inplace: unknown key "inplace" in a silu layer; remove it; a silu layer takes "type", "name", "inputs"'],
  // upsample_nearest2d: integer scale factors only
  ['scale_factor 0', withLayers({ type: 'upsample_nearest2d', scale_factor: 0 }), 'layers[0].scale_factor: must be at least 1, got 0; use 1 or more'],
  ['scale_factor 1.5', withLayers({ type: 'upsample_nearest2d', scale_factor: 1.5 }), 'layers[0].scale_factor: must be a whole number, got 1.5; use 1 or 2'],
  ['scale_factor entry 0.5', withLayers({ type: 'upsample_nearest2d', scale_factor: [2, 0.5] }), 'layers[0].scale_factor[1]: must be a whole number, got 0.5; use 1'],
  ['scale_factor missing', withLayers({ type: 'upsample_nearest2d' }), 'layers[0]: an upsample_nearest2d layer needs "scale_factor" (integer scale factor, one for both dims or [height, width]); add "scale_factor": an integer >= 1, or a list of 2 integers >= 1 [height, width]'],
  ['nearest has no align_corners', withLayers({ type: 'upsample_nearest2d', scale_factor: 2, align_corners: false }), 'layers[0].align_corners: unknown key "align_corners" in an upsample_nearest2d layer; remove it ("align_corners" belongs to upsample_bilinear2d); an upsample_nearest2d layer takes "type", "name", "inputs", "scale_factor"'],
  // zero_pad1d / zero_pad2d: counts >= 0 in PyTorch's side order (a negative pad, PyTorch's crop, is refused)
  ['zero_pad2d negative side', withLayers({ type: 'zero_pad2d', padding: [1, 0, -1, 0] }), 'layers[0].padding[2]: must be at least 0, got -1; use 0 or more'],
  ['zero_pad2d two sides', withLayers({ type: 'zero_pad2d', padding: [1, 0] }), 'layers[0].padding: has 2 entries, but must have 4 [left, right, top, bottom]; write a list of 4 integers >= 0 [left, right, top, bottom]'],
  ['zero_pad1d four sides', { ...base, input: [1, 8], layers: [{ type: 'zero_pad1d', padding: [1, 0, 1, 0] }] }, 'layers[0].padding: has 4 entries, but must have 2 [left, right]; write a list of 2 integers >= 0 [left, right]'],
  ['zero_pad2d missing padding', withLayers({ type: 'zero_pad2d' }), 'layers[0]: a zero_pad2d layer needs "padding" (zeros on every side, or one count per side in PyTorch\'s order ([left, right, top, bottom]); negative padding (PyTorch\'s crop) is refused); add "padding": an integer >= 0, or a list of 4 integers >= 0 [left, right, top, bottom]'],
  // the 1D layers take one entry per list
  ['conv_transpose1d pair', { ...base, input: [1, 8], layers: [{ type: 'conv_transpose1d', out_channels: 1, kernel: 3, output_padding: [1, 1] }] }, 'layers[0].output_padding: has 2 entries, but must have 1 [length]; write a list of 1 integer >= 0 [length]'],
  ['"same" on conv_transpose1d', { ...base, input: [1, 8], layers: [{ type: 'conv_transpose1d', out_channels: 1, kernel: 3, padding: 'same' }] }, 'layers[0].padding: must be an integer >= 0, or a list of 1 integer >= 0 [length], got "same" (a string) (conv_transpose1d has no "same" or "valid": PyTorch\'s ConvTranspose1d takes explicit padding only); write an integer >= 0, or a list of 1 integer >= 0 [length]'],
  ['avgpool1d negative padding', { ...base, input: [1, 8], layers: [{ type: 'avgpool1d', kernel: 2, padding: -1 }] }, 'layers[0].padding: must be at least 0, got -1; use 0 or more'],
  ['align_corners true', withLayers({ type: 'upsample_bilinear2d', scale_factor: 2, align_corners: true }), 'layers[0].align_corners: is true, but only align_corners = false (PyTorch\'s default) is supported; set it to false or remove it'],
  // sizes: non-integer, zero, negative, too large, wrong list length
  ['non-integer', conv({ out_channels: 2.5 }), 'layers[0].out_channels: must be a whole number, got 2.5; use 2 or 3'],
  ['non-integer below 1', conv({ kernel: 0.5 }), 'layers[0].kernel: must be a whole number, got 0.5; use 1'],
  ['zero kernel entry', conv({ kernel: [3, 0] }), 'layers[0].kernel[1]: must be at least 1, got 0; use 1 or more'],
  ['negative padding', conv({ padding: -1 }), 'layers[0].padding: must be at least 0, got -1; use 0 or more'],
  ['zero groups', conv({ groups: 0 }), 'layers[0].groups: must be at least 1, got 0; use 1 or more'],
  ['zero batch', { ...withLayers({ type: 'relu' }), batch: 0 }, 'batch: must be at least 1, got 0; use 1 or more'],
  ['too large', { ...withLayers({ type: 'relu' }), batch: 2 ** 31 }, 'batch: is 2147483648, more than the limit of 2147483647 (2^31 - 1: buffers are indexed with 32-bit integers); use a smaller value'],
  ['Infinity (1e400 in JSON)', conv({ kernel: Infinity }), 'layers[0].kernel: is Infinity, more than the limit of 2147483647 (2^31 - 1: buffers are indexed with 32-bit integers); use a smaller value'],
  ['-Infinity', conv({ padding: -Infinity }), 'layers[0].padding: must be at least 0, got -Infinity; use 0 or more'],
  ['NaN from an API caller', conv({ out_channels: NaN }), 'layers[0].out_channels: must be an integer >= 1, got NaN; write an integer >= 1'],
  ['three kernel entries', conv({ kernel: [3, 3, 3] }), 'layers[0].kernel: has 3 entries, but must have 2 [height, width]; write a list of 2 integers >= 1 [height, width]'],
  ['conv1d pair', { ...base, input: [1, 8], layers: [{ type: 'conv1d', out_channels: 1, kernel: [3, 3] }] }, 'layers[0].kernel: has 2 entries, but must have 1 [length]; write a list of 1 integer >= 1 [length]'],
  ['input rank', { ...withLayers({ type: 'relu' }), input: [8] }, 'input: has 1 entry, but must have at least 2 [C, L] or [C, H, W] per sample, without the batch; write a list of 2 to 3 integers >= 1 [C, L] or [C, H, W] per sample, without the batch'],
  ['input with the batch', { ...withLayers({ type: 'relu' }), input: [32, 1, 28, 28] }, 'input: has 4 entries, but must have at most 3 [C, L] or [C, H, W] per sample, without the batch; write a list of 2 to 3 integers >= 1 [C, L] or [C, H, W] per sample, without the batch'],
  ['no layers', { ...base, layers: [] }, 'layers: has 0 entries, but must have at least 1; write a list of 1 to 1000 layer objects'],
  ['too many layers', { ...base, layers: Array.from({ length: 1001 }, () => ({ type: 'relu' })) }, 'layers: has 1001 entries, but must have at most 1000; write a list of 1 to 1000 layer objects'],
  // names are not code
  ['code in a name', withLayers({ type: 'relu', name: 'x"; require(\'child_process\').exec(\'rm\')' }), `layers[0].name: "x\\"; require('child_process').exec('rm')" is not a safe name: it contains characters other than ASCII letters, digits and _ (names become identifiers and file names in the generated code); ${NAME_FIX} "x_require_child_process_exec_rm"`],
  ['path in a name', withLayers({ type: 'relu', name: '../../etc' }), `layers[0].name: "../../etc" is not a safe name: it contains characters other than ASCII letters, digits and _ (names become identifiers and file names in the generated code); ${NAME_FIX} "etc"`],
  ['__proto__', withLayers({ type: 'relu', name: '__proto__' }), `layers[0].name: "__proto__" is not a safe name: it starts with two underscores, which WGSL reserves (names become identifiers and file names in the generated code); ${NAME_FIX} "proto"`],
  ['constructor', withLayers({ type: 'relu', name: 'constructor' }), `layers[0].name: "constructor" is not a safe name: it is a property every JavaScript object has (it would shadow Object.prototype) (names become identifiers and file names in the generated code); ${NAME_FIX} "constructor_1"`],
  ['JS reserved', withLayers({ type: 'relu', name: 'class' }), `layers[0].name: "class" is not a safe name: it is a JavaScript reserved word (names become identifiers and file names in the generated code); ${NAME_FIX} "class_1"`],
  ['WGSL reserved', withLayers({ type: 'relu', name: 'fn' }), `layers[0].name: "fn" is not a safe name: it is a WGSL keyword, reserved word or type name (names become identifiers and file names in the generated code); ${NAME_FIX} "fn_1"`],
  ['Windows device', { ...withLayers({ type: 'relu' }), name: 'Con' }, `name: "Con" is not a safe name: it is a device name that Windows refuses as a file name (names become identifiers and file names in the generated code); ${NAME_FIX} "Con_1"`],
  ['leading digit', withLayers({ type: 'relu', name: '1x1' }), `layers[0].name: "1x1" is not a safe name: it starts with a digit (names become identifiers and file names in the generated code); ${NAME_FIX} "n1x1"`],
  ['empty name', { ...withLayers({ type: 'relu' }), name: '' }, `name: "" is not a safe name: it is empty (names become identifiers and file names in the generated code); ${NAME_FIX} "layer_1"`],
  ['unicode name', withLayers({ type: 'relu', name: 'conv\u00e9' }), `layers[0].name: "conv\\u00e9" is not a safe name: it contains characters other than ASCII letters, digits and _ (names become identifiers and file names in the generated code); ${NAME_FIX} "conv"`],
  ['long name', withLayers({ type: 'relu', name: 'a'.repeat(65) }), `layers[0].name: "${'a'.repeat(40)}..." (65 characters) is not a safe name: it is 65 characters long, more than the limit of 64 (names become identifiers and file names in the generated code); ${NAME_FIX} "${'a'.repeat(62)}"`],
  // duplicate names, explicit, defaulted, and by letter case
  ['duplicate names', withLayers({ type: 'relu', name: 'a' }, { type: 'relu', name: 'a' }), 'layers[1].name: the name "a" is already used by layers[0]; give each layer a unique name'],
  ['default name collides', withLayers({ type: 'relu', name: 'relu1' }, { type: 'relu' }), 'layers[1]: the default name "relu1" is already used by layers[0]; give layers[1] or layers[0] an explicit, unique "name"'],
  ['names differ by case', withLayers({ type: 'relu', name: 'Abc' }, { type: 'relu', name: 'abc' }), 'layers[1].name: the name "abc" differs only in letter case from "Abc", used by layers[0] (generated file names must not collide on case-insensitive file systems); give each layer a unique name'],
  // torch_name: a PyTorch module path, unique across the layers with parameters
  ['torch_name with a space', conv({ torch_name: 'features 0' }), 'layers[0].torch_name: "features 0" is not a PyTorch module path: it contains characters other than ASCII letters, digits, _ and the "." between segments; write the module path as a PyTorch state_dict key starts, without the tensor name, for example "features.0" for features.0.weight'],
  ['torch_name with an empty segment', conv({ torch_name: 'features..0' }), 'layers[0].torch_name: "features..0" is not a PyTorch module path: it has an empty segment (a leading, trailing or doubled "."); write the module path as a PyTorch state_dict key starts, without the tensor name, for example "features.0" for features.0.weight'],
  ['torch_name naming the tensor', conv({ torch_name: 'features.0.weight' }), 'layers[0].torch_name: "features.0.weight" is not a PyTorch module path: it ends in "weight" or "bias", which name the tensors, not the module (convgen appends .weight and .bias); write the module path as a PyTorch state_dict key starts, without the tensor name, for example "features.0" for features.0.weight'],
  ['empty torch_name', conv({ torch_name: '' }), 'layers[0].torch_name: "" is not a PyTorch module path: it is empty; write the module path as a PyTorch state_dict key starts, without the tensor name, for example "features.0" for features.0.weight'],
  ['torch_name not a string', conv({ torch_name: 0 }), 'layers[0].torch_name: must be a PyTorch module path ("features.0"), got 0; write a PyTorch module path ("features.0")'],
  ['torch_name on a layer without parameters', withLayers({ type: 'relu', torch_name: 'features.1' }), 'layers[0].torch_name: unknown key "torch_name" in a relu layer; remove it ("torch_name" belongs to conv1d, conv2d, conv_transpose1d, ...); a relu layer takes "type", "name", "inputs"'],
  ['duplicate torch_name', withLayers({ type: 'conv2d', out_channels: 2, kernel: 3, torch_name: 'f.0' }, { type: 'relu' }, { type: 'conv2d', out_channels: 2, kernel: 3, torch_name: 'f.0' }), 'layers[2].torch_name: the torch_name "f.0" is already the PyTorch name of layers[0], so both layers\' tensors would be named "f.0.weight"; give each layer with parameters a unique torch_name'],
  ['torch_name equal to a layer name', withLayers({ type: 'conv2d', name: 'a', out_channels: 2, kernel: 3 }, { type: 'conv2d', out_channels: 2, kernel: 3, torch_name: 'a' }), 'layers[1].torch_name: the torch_name "a" is already the PyTorch name of layers[0] (its layer name), so both layers\' tensors would be named "a.weight"; give each layer with parameters a unique torch_name'],
  ['a layer name equal to a torch_name', withLayers({ type: 'conv2d', out_channels: 2, kernel: 3, torch_name: 'b' }, { type: 'conv2d', name: 'b', out_channels: 2, kernel: 3 }), 'layers[1]: the default torch_name "b" (the layer name) is already the PyTorch name of layers[0], so both layers\' tensors would be named "b.weight"; give each layer with parameters a unique torch_name'],
  // batch norm and dropout: PyTorch's keys, numbers in range, momentum null
  ['dropout p out of range', withLayers({ type: 'dropout', p: 1.5 }), 'layers[0].p: must be a number in [0, 1], got 1.5; use a number in [0, 1]'],
  ['dropout negative p', withLayers({ type: 'dropout', p: -0.1 }), 'layers[0].p: must be a number in [0, 1], got -0.1; use a number in [0, 1]'],
  ['dropout p quoted', withLayers({ type: 'dropout', p: '0.5' }), 'layers[0].p: must be a number in [0, 1], got "0.5" (a string); write 0.5 without quotes'],
  ['dropout p null', withLayers({ type: 'dropout', p: null }), 'layers[0].p: must be a number in [0, 1], got null; write a number in [0, 1]'],
  ['dropout p NaN from an API caller', withLayers({ type: 'dropout', p: NaN }), 'layers[0].p: must be a number in [0, 1], got NaN; use a number in [0, 1]'],
  ['dropout inplace', withLayers({ type: 'dropout', inplace: true }), 'layers[0].inplace: unknown key "inplace" in a dropout layer; remove it; a dropout layer takes "type", "name", "inputs", "p"'],
  ['batch norm eps 0', withLayers({ type: 'batchnorm2d', eps: 0 }), 'layers[0].eps: must be a number in (0, 1], got 0; use a number in (0, 1]'],
  ['batch norm momentum too large', withLayers({ type: 'batchnorm2d', momentum: 2 }), 'layers[0].momentum: must be a number in [0, 1], got 2; use a number in [0, 1]'],
  ['batch norm momentum a string', withLayers({ type: 'batchnorm2d', momentum: 'none' }), 'layers[0].momentum: must be a number in [0, 1], or null (a cumulative average), got "none" (a string); write a number in [0, 1], or null (a cumulative average)'],
  ['batch norm PyTorch key', withLayers({ type: 'batchnorm2d', num_feature: 1 }), 'layers[0].num_feature: unknown key "num_feature" in a batchnorm2d layer; did you mean "num_features"? (a batchnorm2d layer takes "type", "name", "inputs", "torch_name", "num_features", "eps", "momentum", "affine", "track_running_stats")'],
  ['batch norm affine quoted', withLayers({ type: 'batchnorm1d', affine: 'true' }), 'layers[0].affine: must be true or false, got "true" (a string); write true without quotes'],
  ['batch norm duplicate torch_name', withLayers({ type: 'conv2d', out_channels: 2, kernel: 3, torch_name: 'f.0' }, { type: 'batchnorm2d', torch_name: 'f.0' }), 'layers[1].torch_name: the torch_name "f.0" is already the PyTorch name of layers[0], so both layers\' tensors would be named "f.0.weight"; give each layer with parameters a unique torch_name'],
  // graphs: what a layer reads (inputs), checked before any shape
  ['unknown input, with a suggestion', withLayers(c('conv1'), c('conv2'), { type: 'add', inputs: ['conv1', 'Conv2'] }), 'layers[2].inputs[1]: no layer above it is named "Conv2"; did you mean "conv2"? name one of "input", "conv1", "conv2" (the layers above it; "input" is the model\'s input)'],
  ['unknown input', withLayers(c('a'), { type: 'relu', inputs: ['zzz'] }), 'layers[1].inputs[0]: no layer above it is named "zzz"; name one of "input", "a" (the layers above it; "input" is the model\'s input)'],
  ['forward reference', withLayers(c('a', { inputs: ['b'] }), c('b')), 'layers[0].inputs[0]: "b" is layers[1], below this layer: a layer reads only the model\'s input and the layers above it (a model is computed top to bottom, so it can have no cycles); move layers[1] above layers[0], or name one of "input"'],
  ['reads itself', withLayers(c('a'), { type: 'relu', name: 'r', inputs: ['r'] }), 'layers[1].inputs[0]: "r" is this layer itself: a layer cannot read its own output; name a layer above it: "input", "a"'],
  ['a layer named input', withLayers({ type: 'relu', name: 'input' }), 'layers[0].name: "input" is reserved: in a layer\'s "inputs" it names the model\'s input; give the layer another name, for example "input_1"'],
  ['two inputs to a one-input layer', withLayers(c('a'), c('b', { inputs: ['input'] }), { type: 'relu', inputs: ['a', 'b'] }), 'layers[2].inputs: has 2 entries, but must have 1 [a layer name or "input"]; name the one layer relu reads (or "input"); to read several, join them with an add or a concat layer first and name that'],
  ['no inputs', withLayers({ type: 'relu', inputs: [] }), 'layers[0].inputs: has 0 entries, but must have 1 [a layer name or "input"]; name the one layer relu reads (or "input"); to read several, join them with an add or a concat layer first and name that'],
  ['inputs not a list', withLayers({ type: 'relu', inputs: 'input' }), 'layers[0].inputs: must be a list of 1 entry [a layer name or "input"], got "input" (a string); write a list of 1 entry [a layer name or "input"]'],
  ['an add with one input', withLayers(c('a'), { type: 'add', inputs: ['a'] }), 'layers[1].inputs: has 1 entry, but must have at least 2 [a layer name or "input" each]; add needs two or more inputs: name another layer above it, or "input"'],
  ['an add without inputs', withLayers(c('a'), { type: 'add' }), 'layers[1]: an add layer needs "inputs" (the layers whose outputs it sums, by name, in order ("input": the model\'s input); each must be above it in the file, and may appear more than once); add "inputs": a list of 2 to 1000 entries [a layer name or "input" each]'],
  ['a concat with one input', withLayers(c('a'), { type: 'concat', inputs: ['a'] }), 'layers[1].inputs: has 1 entry, but must have at least 2 [a layer name or "input" each]; concat needs two or more inputs: name another layer above it, or "input"'],
  ['an output never used', withLayers(c('a'), c('b', { inputs: ['input'] }), { type: 'relu' }), 'layers[0]: the output of layers[0] (conv2d "a") is never used: no later layer reads it (layers[1] names its own "inputs"), and only the last layer\'s output is the model\'s; name "a" in a later layer\'s "inputs" (an add or a concat joins branches), or remove the layer'],
];

describe('model.json errors', () => {
  it.each(cases)('%s', (_, input, message) => {
    expect(errorOf(() => parseModel(input)).message).toBe(message);
  });

  it('reads only own keys: "__proto__" and "constructor" keys are unknown keys, not prototype lookups', () => {
    const json = '{"name":"m","batch":1,"input":[1,4],"layers":[{"type":"relu","constructor":1}]}';
    expect(errorOf(() => parseModelText(json)).message).toBe('layers[0].constructor: unknown key "constructor" in a relu layer; remove it; a relu layer takes "type", "name", "inputs"');
    const proto = '{"name":"m","batch":1,"input":[1,4],"layers":[{"type":"relu"}],"__proto__":{"loss":"x"}}';
    expect(errorOf(() => parseModelText(proto)).where).toBe('__proto__');
  });
});

// graphs: shapes that do not join, found by the planner (the path names the layer and its inputs)
const shapeCases: [string, unknown, string][] = [
  ['add of two shapes', withLayers(c('a'), c('b', { inputs: ['input'], padding: 0 }), { type: 'add', inputs: ['a', 'b'] }), 'layers[2] (add "add2").inputs: add sums inputs of one shape, but "a" gives [2, 8, 8] and "b" gives [2, 6, 6] (per sample); make the branches agree (a 1x1 conv2d changes the channels, a stride or a pool the size), or join channels with concat'],
  ['add of a layer and the input', withLayers(c('a'), { type: 'add', inputs: ['a', 'input'] }), 'layers[1] (add "add1").inputs: add sums inputs of one shape, but "a" gives [2, 8, 8] and the model\'s input gives [1, 8, 8] (per sample); make the branches agree (a 1x1 conv2d changes the channels, a stride or a pool the size), or join channels with concat'],
  ['concat of two sizes', withLayers(c('a'), c('b', { inputs: ['input'], padding: 0 }), { type: 'concat', inputs: ['a', 'b'] }), 'layers[2] (concat "concat2").inputs: concat joins along the channels (dim 1, as torch.cat(dim=1)), so every other dimension must agree, but "a" gives [2, 8, 8] and "b" gives [2, 6, 6] (per sample); make the spatial sizes agree (pool, stride or upsample a branch), or flatten the inputs first'],
  ['in_channels against what the layer reads', withLayers(c('a'), c('b', { inputs: ['input'], in_channels: 2 }), { type: 'add', inputs: ['a', 'b'] }), 'layers[1] (conv2d "b").in_channels: in_channels is 2, but the model\'s input gives 1 channels; set "in_channels": 1 or remove the key (it is inferred)'],
  ['in_features against what the layer reads', withLayers(c('a'), { type: 'flatten', name: 'f' }, { type: 'linear', in_features: 64, out_features: 2 }), 'layers[2] (linear "linear2").in_features: in_features is 64, but "f" gives 128 features; set "in_features": 128 or remove the key (it is inferred)'],
  ['concat of two ranks', withLayers(c('a'), { type: 'flatten', name: 'f' }, { type: 'concat', inputs: ['a', 'f'] }), 'layers[2] (concat "concat2").inputs: concat joins inputs of one rank along the channels, but "a" gives [2, 8, 8] and "f" gives [128] (per sample); flatten every input or none of them'],
];

describe('graph shape errors (planner)', () => {
  it.each(shapeCases)('%s', (_, input, message) => {
    expect(errorOf(() => planModel(parseModel(input))).message).toBe(message);
  });
});

// what the planner refuses for the new layer kinds: PyTorch's rules, with the arithmetic
describe('plan errors of the 1D and decoder layers', () => {
  const plan = (input: number[], ...layers: unknown[]) => () => planModel(parseModel({ ...base, input, layers }));
  it.each([
    ['conv_transpose1d output_padding >= stride', plan([2, 5], { type: 'conv_transpose1d', out_channels: 2, kernel: 3, stride: 2, output_padding: 2 }), 'layers[0] (conv_transpose1d "conv_transpose1d0").output_padding: output_padding = 2 must be smaller than max(stride, dilation) = 2 (PyTorch\'s rule); use an output_padding below 2'],
    ['conv_transpose1d output_padding >= dilation', plan([2, 5], { type: 'conv_transpose1d', out_channels: 2, kernel: 3, dilation: 3, output_padding: 3 }), 'layers[0] (conv_transpose1d "conv_transpose1d0").output_padding: output_padding = 3 must be smaller than max(stride, dilation) = 3 (PyTorch\'s rule); use an output_padding below 3'],
    ['conv_transpose1d padding crops everything', plan([2, 1], { type: 'conv_transpose1d', out_channels: 2, kernel: 2, padding: 1 }), 'layers[0] (conv_transpose1d "conv_transpose1d0"): output length = (1 - 1)*1 - 2*1 + 1*(2-1) + 0 + 1 = 0 <= 0: the padding (1) crops away the whole output; use less padding'],
    ['conv_transpose1d on a 2D input', plan([2, 4, 4], { type: 'conv_transpose1d', out_channels: 2, kernel: 3 }), 'layers[0] (conv_transpose1d "conv_transpose1d0"): conv_transpose1d needs a [channels, length] input per sample, but its input is [2, 4, 4]; use the 2D layer (conv_transpose2d) or make the model\'s input [C, L]'],
    ['conv_transpose2d on a 1D input', plan([2, 4], { type: 'conv_transpose2d', out_channels: 2, kernel: 3 }), 'layers[0] (conv_transpose2d "conv_transpose2d0"): conv_transpose2d needs a [channels, height, width] input per sample, but its input is [2, 4]; use conv_transpose1d for a [C, L] input, or make the model\'s input [C, H, W]'],
    ['avgpool1d padding over half the window', plan([2, 8], { type: 'avgpool1d', kernel: 2, padding: 2 }), 'layers[0] (avgpool1d "avgpool1d0").padding: padding 2 is more than half the kernel (2) in length (PyTorch\'s rule: padding <= kernel / 2); use padding <= 1'],
    ['avgpool2d on a 1D input', plan([2, 8], { type: 'avgpool2d', kernel: 2 }), 'layers[0] (avgpool2d "avgpool2d0"): avgpool2d needs a [channels, height, width] input per sample, but its input is [2, 8]; use avgpool1d for a [C, L] input, or make the model\'s input [C, H, W]'],
    ['zero_pad2d on a 1D input', plan([2, 8], { type: 'zero_pad2d', padding: 1 }), 'layers[0] (zero_pad2d "zero_pad2d0"): zero_pad2d needs a [channels, height, width] input per sample, but its input is [2, 8]; use zero_pad1d for a [C, L] input, or make the model\'s input [C, H, W]'],
    ['zero_pad1d on a 2D input', plan([2, 8, 8], { type: 'zero_pad1d', padding: 1 }), 'layers[0] (zero_pad1d "zero_pad1d0"): zero_pad1d needs a [channels, length] input per sample, but its input is [2, 8, 8]; use the 2D layer (zero_pad2d) or make the model\'s input [C, L]'],
    ['upsample_nearest2d on a 1D input', plan([2, 8], { type: 'upsample_nearest2d', scale_factor: 2 }), 'layers[0] (upsample_nearest2d "upsample_nearest2d0"): upsample_nearest2d needs a [channels, height, width] input per sample, but its input is [2, 8]; upsample_nearest2d has no 1D form: make the model\'s input [C, H, W]'],
  ])('%s', (_, f, message) => {
    expect(errorOf(f).message).toBe(message);
  });
  it('accepts what PyTorch accepts: any finite slope and alpha, vectors into activations', () => {
    const p = planModel(parseModel({ ...base, input: [2, 3], layers: [{ type: 'leaky_relu', negative_slope: -3 }, { type: 'elu', alpha: 0 }, { type: 'elu', alpha: -1 }, { type: 'flatten' }, { type: 'gelu' }, { type: 'relu6' }] }));
    expect(p.layers.map((l) => l.type)).toEqual(['leaky_relu', 'elu', 'elu', 'flatten', 'gelu', 'relu6']);
    expect(p.layers[0]).toMatchObject({ negativeSlope: -3 });
    expect(p.layers[2]).toMatchObject({ alpha: -1 });
    expect(p.layers[4]).toMatchObject({ approximate: 'none', outShape: [2, 6] });
  });
});

describe('the loss against the output shape (planModel)', () => {
  const image = { ...base, layers: [{ type: 'conv2d', out_channels: 1, kernel: 3, padding: 1 }] };
  it('softmax_cross_entropy needs a vector per sample, and says which losses take any shape', () => {
    expect(errorOf(() => planModel(parseModel({ ...image, loss: 'softmax_cross_entropy' }))).message).toBe(
      'loss: softmax_cross_entropy needs a vector of class scores per sample, but the model\'s output is [1, 8, 8] per sample; end the model with flatten + linear, use "mse" or "bce_with_logits" for a loss over every output element, or remove "loss"',
    );
  });
  it('output_softmax needs a vector per sample too, and says how to get one', () => {
    expect(errorOf(() => planModel(parseModel({ ...image, output_softmax: true }))).message).toBe(
      'output_softmax: output_softmax needs a vector of class scores per sample, but the model\'s output is [1, 8, 8] per sample; end the model with flatten + linear (or global pooling and flatten), or remove "output_softmax"',
    );
    expect(errorOf(() => parseModel({ ...image, output_softmax: 1 })).message).toMatch(/^output_softmax: must be true or false/);
  });
  it('mse and bce_with_logits take any output shape, a vector included', () => {
    for (const loss of ['mse', 'bce_with_logits'] as const) {
      expect(planModel(parseModel({ ...image, loss })).loss).toBe(loss);
      expect(planModel(parseModel({ ...base, input: [1, 4], layers: [{ type: 'flatten' }, { type: 'linear', out_features: 1 }], loss })).loss).toBe(loss);
    }
  });
});

describe('invalid JSON names line and column', () => {
  const fix = 'fix the JSON syntax there (a model file is plain JSON: no comments, no trailing commas, double-quoted keys)';
  it.each([
    ['trailing comma', '{\n  "name": "m",\n}', 'line 3, column 1: invalid JSON: expected another key after the comma (JSON allows no trailing comma), found "}"'],
    ['single quotes', "{\n  'name': 1}", 'line 2, column 3: invalid JSON: expected a key in double quotes, found "\'"'],
    ['bad literal', '{"a": tru}', 'line 1, column 10: invalid JSON: expected "true", found "}"'],
    ['comment', '{\n  // hi\n  "a": 1}', 'line 2, column 3: invalid JSON: expected a key in double quotes, found "/"'],
    ['missing comma', '{"a": [1 2]}', 'line 1, column 10: invalid JSON: expected "," or "]", found "2"'],
    ['empty file', '', 'line 1, column 1: invalid JSON: expected a value, found the end of the file'],
    ['truncated', '{"a": [1, 2', 'line 1, column 12: invalid JSON: expected "," or "]", found the end of the file'],
    ['raw newline in a string', '{"a": "x\ny"}', 'line 1, column 9: invalid JSON: expected no raw control characters or line breaks inside a string (write \\n), found "\\n"'],
    ['garbage after', '{} x', 'line 1, column 4: invalid JSON: expected the end of the file after the top-level value, found "x"'],
  ])('%s', (_, text, message) => {
    expect(errorOf(() => parseModelText(text)).message).toBe(`${message}; ${fix}`);
  });

  it('duplicate keys are errors, not "last one wins"', () => {
    const text = '{"name": "m", "batch": 1, "input": [1, 4],\n "layers": [{"type": "conv1d", "kernel": 3,\n   "out_channels": 2, "kernel": 5}]}';
    expect(errorOf(() => parseModelText(text)).message).toBe('line 3, column 23: duplicate key "kernel" (first at line 2, column 32); JSON would silently keep only the last; remove one of them');
  });

  it('accepts a byte order mark', () => {
    expect(parseModelText('\ufeff' + JSON.stringify(withLayers({ type: 'relu' }))).name).toBe('m');
  });
});

describe('loadModelFile attributes errors to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convgen-spec-'));
  it('a validation error', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify(conv({ kernel: 0 })));
    const e = errorOf(() => loadModelFile(f));
    expect(e.file).toBe(f);
    expect(e.message).toBe(`${f}: layers[0].kernel: must be at least 1, got 0; use 1 or more`);
  });
  it('invalid JSON', () => {
    const f = join(dir, 'syntax.json');
    writeFileSync(f, '{\n"a": 1,,\n}');
    expect(errorOf(() => loadModelFile(f)).message).toBe(`${f}: line 2, column 8: invalid JSON: expected a key in double quotes, found ","; fix the JSON syntax there (a model file is plain JSON: no comments, no trailing commas, double-quoted keys)`);
  });
  it('a device and a file too large are refused before reading', () => {
    expect(errorOf(() => loadModelFile('/dev/zero')).message).toBe('/dev/zero: is not a regular file; pass the path of a model.json file');
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(16 * 2 ** 20 + 1, 32));
    expect(errorOf(() => loadModelFile(big)).message).toBe(`${big}: is 16777217 bytes, more than the 16 MiB a model file may have; pass a model.json file (a few KiB of JSON describing the layers)`);
  });

  it('a missing file and a folder', () => {
    expect(errorOf(() => loadModelFile(join(dir, 'nope.json'))).message).toBe(`${join(dir, 'nope.json')}: no such file; pass the path of a model.json file`);
    expect(errorOf(() => loadModelFile(dir)).message).toBe(`${dir}: it is a folder, not a file; pass the path of a model.json file`);
  });
});
