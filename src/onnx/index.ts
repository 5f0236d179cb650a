// ONNX import: an exported PyTorch conv net -> model.json + its weights (safetensors).
//
//   decode (protobufjs -> Graph) -> checkOps -> fold (constants, shape chains, shapes)
//     -> dropIdentities -> fusePads -> fuseGelu -> fuseSilu -> fuseMatMulAdd -> dropSoftmax
//     -> toLayers (model.json layers + tensors by state_dict name) -> validate (parse + plan)
//
// Every refusal is a ConvgenError naming the node (its name and op type) and why.

import { ConvgenError } from '../errors.ts';
import { encodeSafetensors } from '../io/safetensors.ts';
import { planModel } from '../plan/plan.ts';
import { parseModel } from '../spec/parse.ts';
import { nameProblem } from '../spec/names.ts';
import type { ModelSpec } from '../spec/types.ts';
import type { Graph } from './graph.ts';
import { decode } from './decode.ts';
import { checkOps } from './ops.ts';
import { fold } from './fold.ts';
import { dropIdentities, dropSoftmax, fuseGelu, fuseMatMulAdd, fusePads, fuseSilu } from './patterns.ts';
import { toLayers, type Imported } from './layers.ts';

export { SUPPORTED_OPS } from './ops.ts';

export interface ImportOptions {
  /** the model's name (default "model") */
  readonly name?: string;
  /** the static batch: default the ONNX input's batch when static, else 1 */
  readonly batch?: number;
}

export interface ImportResult {
  /** the model.json value */
  readonly model: Readonly<Record<string, unknown>>;
  /** the parsed and validated model */
  readonly spec: ModelSpec;
  /** the weights file's bytes: every tensor the model loads, under its PyTorch state_dict name */
  readonly safetensors: Uint8Array;
  /** what the import dropped or changed, for the user (a trailing Softmax) */
  readonly notes: readonly string[];
  /** a trailing Softmax was taken out of the graph and kept as the spec's output_softmax: eval-mode forward() gives the ONNX model's probabilities, training mode the logits */
  readonly softmax: boolean;
}

/** the graph passes after decode, in order: each takes the graph and returns it rewritten */
const PATTERN_PASSES: readonly ((g: Graph) => Graph)[] = [dropIdentities, fusePads, fuseGelu, fuseSilu, fuseMatMulAdd, dropSoftmax];

function checkOptions(o: ImportOptions): { name: string; batch?: number } {
  const name = o.name ?? 'model';
  const problem = typeof name === 'string' ? nameProblem(name) : 'is not a string';
  if (problem) throw new ConvgenError('name', `${JSON.stringify(name)} ${problem}`, 'use ASCII letters, digits and _, not starting with a digit (--name mynet)');
  if (o.batch !== undefined && (!Number.isSafeInteger(o.batch) || o.batch < 1 || o.batch > 2 ** 31 - 1)) throw new ConvgenError('batch', `must be an integer >= 1, got ${JSON.stringify(o.batch)}`, 'pass e.g. --batch 1');
  return { name, ...(o.batch !== undefined ? { batch: o.batch } : {}) };
}

/** the graph after every pass, ready to map to layers (exported for tests and --dump) */
export function lowerOnnx(bytes: Uint8Array, batch?: number): Graph {
  let g = checkOps(decode(bytes));
  const onnxBatch = g.input.shape[0];
  g = fold(g, typeof onnxBatch === 'number' && onnxBatch >= 1 ? onnxBatch : batch ?? 1);
  for (const pass of PATTERN_PASSES) g = pass(g);
  return g;
}

/** import an ONNX file's bytes: the model.json value, the validated spec and the weights */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportResult {
  const o = checkOptions(options);
  if (!(bytes instanceof Uint8Array)) throw new ConvgenError('model', 'must be the bytes of an .onnx file', 'pass a Uint8Array (fs.readFileSync gives a Buffer, which is one)');
  const g = lowerOnnx(bytes, o.batch);
  const onnxBatch = g.input.shape[0];
  const batch = o.batch ?? (typeof onnxBatch === 'number' && onnxBatch >= 1 ? onnxBatch : 1);
  const imported: Imported = toLayers(g, { name: o.name, batch });
  // the result must be a model convgen builds: parse and plan it now, so a problem is the import's error
  const spec = parseModel(imported.model);
  planModel(spec, {});
  return {
    model: imported.model,
    spec,
    safetensors: encodeSafetensors(imported.tensors, { format: 'pt', source: 'convgen import' }),
    notes: imported.notes,
    softmax: g.softmax,
  };
}
