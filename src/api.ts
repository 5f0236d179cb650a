// The package's programmatic API: what the CLI does, as typed functions an app or a build
// tool calls. Each takes a model as a path to a model.json file or as the parsed JSON value,
// and throws the same ConvgenErrors (same messages) the CLI prints.
//
//   plan(model)            -> the ModelPlan (shapes, strategies, buffers) as plain data
//   build(model, options)  -> every generated file in memory; with `out`, also written
//   check(model, options)  -> every generated kernel and the whole module against the reference
//   importOnnx(file, opts) -> an ONNX file (path or bytes) as a model.json value + safetensors bytes;
//                             with `out`, also written (as `convgen import`). build() takes an
//                             .onnx path too, and puts the weights in its output

import { ConvgenError } from './errors.ts';
import { planModel, type PlanOptions } from './plan/plan.ts';
import type { ModelPlan } from './plan/types.ts';
import { loadModelFile, parseModel } from './spec/parse.ts';
import type { ModelSpec } from './spec/types.ts';
import { emitModel, type EmitFlavour, type Target } from './emit/index.ts';
import { writeModelOutput } from './emit/output.ts';
import { loadLimitsFile, parseLimits, type GpuLimits } from './gpu/limits.ts';
import { checkPlans, inferenceNotChecked, type CheckReport } from './check/index.ts';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOnnx as importOnnxBytes, type ImportResult } from './onnx/index.ts';
import { importOnnxFile, isOnnxPath, writeImport } from './onnx/file.ts';

/** a model: the path of a model.json file (a file URL works too), or its already-parsed JSON value */
export type ModelSource = string | Readonly<Record<string, unknown>>;

export interface PlanApiOptions {
  /** every conv's strategy: `direct`, `im2row`, or `auto` (default: the model file's choice, else the cost model's) */
  readonly strategy?: 'direct' | 'im2row' | 'auto';
  /** a forward-only build, in eval mode always (as `--inference`): no gradients, loss or optimizers; default false */
  readonly inference?: boolean;
}

export interface BuildOptions extends PlanApiOptions {
  /** which targets: `ts`, `wgsl`, `wasm` or `all` (default) */
  readonly target?: Target;
  /** `ts`: TypeScript sources (default); `js`: plain-JavaScript ESM with `.d.ts` files */
  readonly emit?: EmitFlavour;
  /** the WebGPU limits the WGSL target plans for: keys as in GPUSupportedLimits (e.g. `device.limits`; missing keys keep the spec defaults), or a JSON file's path */
  readonly limits?: Partial<GpuLimits> | string;
  /**
   * when given, the files are also written to `<out>/<model name>/`, atomically, with the
   * manifest of what convgen wrote; a folder convgen did not write, or one with files added or
   * edited by hand, is refused with a ConvgenError and nothing is touched (as `convgen build`)
   */
  readonly out?: string;
  /** replace such a folder anyway, deleting what the refusal names (as `--force`) */
  readonly force?: boolean;
}

export interface BuildResult {
  /** the model's name (its output folder's name) */
  readonly name: string;
  readonly plan: ModelPlan;
  /** every generated file, relative path -> text, sorted by path */
  readonly files: Readonly<Record<string, string>>;
  /** an .onnx model's imported weights (written beside the files as `<name>.safetensors`) */
  readonly weights?: Uint8Array;
  /** the folder written (absent when `out` was not given) */
  readonly dir?: string;
  /** with `force`: what the replaced folder held that a build would have refused to delete */
  readonly forced?: string;
}

export interface CheckOptions extends PlanApiOptions {
  /** `ts` (default), `wgsl` (needs a WebGPU adapter in Node: the `webgpu` package) or `wasm` */
  readonly target?: 'ts' | 'wgsl' | 'wasm';
  /** seed of the random parameters and inputs (default 1) */
  readonly seed?: number;
  /** WGSL only: the limits the kernels are built for, as for build */
  readonly limits?: Partial<GpuLimits> | string;
}

export type { ModelPlan, CheckReport, GpuLimits, ModelSpec, Target, EmitFlavour };

/** a file URL (`new URL('./model.json', import.meta.url)`) as a path; anything else as given */
const asPath = (model: unknown): unknown => (model instanceof URL ? (model.protocol === 'file:' ? fileURLToPath(model) : model) : model);

const where = (model: ModelSource): string => {
  const m = asPath(model);
  return typeof m === 'string' ? m : '';
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** parse and validate a model, from a file (a path or a file URL) or a JSON value */
export function loadModel(model: ModelSource): ModelSpec {
  const m = asPath(model);
  if (typeof m === 'string') return isOnnxPath(m) ? importOnnxFile(m).spec : loadModelFile(m);
  if (!isPlainObject(m)) {
    const got = m === null ? 'null' : Array.isArray(m) ? 'an array' : m instanceof URL ? `the URL ${m.href} (only file: URLs name a model file)` : typeof m === 'object' ? `a ${m.constructor?.name ?? 'non-plain'} object` : typeof m;
    throw new ConvgenError('model', `must be a model.json path or its parsed JSON object, got ${got}`, 'pass a path such as "model.json" (or a file URL) or the object JSON.parse gives for it');
  }
  return parseModel(m);
}

/** an option a JavaScript caller may have misspelled: one of `allowed`, or a ConvgenError naming it */
function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new ConvgenError(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v) ?? String(v)}`, `leave it out for ${JSON.stringify(fallback)}`);
}

/** the options object itself: undefined means none; anything but an object is a caller's mistake */
function optionsOf<T extends object>(o: T | undefined | null): T {
  if (o === undefined) return {} as T;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ConvgenError('options', `must be an object, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`, 'pass { ... } or leave it out');
  return o;
}

function planOptions(o: PlanApiOptions): PlanOptions {
  const s = oneOf('strategy', o.strategy, ['direct', 'im2row', 'auto'] as const, 'auto');
  if (o.inference !== undefined && typeof o.inference !== 'boolean') throw new ConvgenError('inference', `must be true or false, got ${JSON.stringify(o.inference) ?? String(o.inference)}`, 'pass inference: true for a forward-only build, or leave it out');
  return { ...(s === 'auto' ? {} : { strategy: s }), ...(o.inference ? { inference: true } : {}) };
}

/** the plan of a model: shapes, pads, strategies, FLOPs and buffers, as plain data */
export function plan(model: ModelSource, options?: PlanApiOptions): ModelPlan {
  const opts = planOptions(optionsOf(options));
  const spec = loadModel(model);
  try {
    return planModel(spec, opts);
  } catch (err) {
    const file = where(model);
    if (err instanceof ConvgenError && file) throw err.inFile(file);
    throw err;
  }
}

const limitsOf = (l: Partial<GpuLimits> | string | undefined): GpuLimits | undefined => (l === undefined ? undefined : typeof l === 'string' ? loadLimitsFile(l) : parseLimits(l));

/** generate a model's files in memory; with `out`, write them to `<out>/<name>/` as `convgen build` does */
export async function build(model: ModelSource, buildOptions?: BuildOptions): Promise<BuildResult> {
  const options = optionsOf(buildOptions);
  const target = oneOf('target', options.target, ['ts', 'wgsl', 'wasm', 'all'] as const, 'all');
  const emit = oneOf('emit', options.emit, ['ts', 'js'] as const, 'ts');
  if (options.out !== undefined && (typeof options.out !== 'string' || options.out === '')) throw new ConvgenError('out', `must be a folder path, got ${JSON.stringify(options.out)}`, 'pass e.g. out: "generated", or leave it out to get the files in memory only');
  const p = plan(model, options);
  let files: Record<string, string>;
  try {
    files = await emitModel(p, { target, emit, limits: limitsOf(options.limits) });
  } catch (err) {
    const file = where(model);
    if (err instanceof ConvgenError && file) throw err.inFile(file);
    throw err;
  }
  const source = asPath(model);
  // an .onnx model's weights go with its module (imported again: plan() kept only the spec)
  const weights = typeof source === 'string' && isOnnxPath(source) ? { weights: importOnnxFile(source).safetensors } : {};
  if (options.out === undefined) return { name: p.name, plan: p, files, ...weights };
  const dir = join(options.out, p.name);
  const written = weights.weights ? { ...files, [`${p.name}.safetensors`]: weights.weights } : files;
  const report = writeModelOutput({ dir, model: p.name, files: written, inference: p.inference === true }, { force: options.force ?? false });
  return { name: p.name, plan: p, files, ...weights, dir, ...(report.forced ? { forced: report.forced.problem } : {}) };
}

/** run every generated kernel and the whole generated module against the reference interpreter */
export async function check(model: ModelSource, checkOptions?: CheckOptions): Promise<CheckReport> {
  const options = optionsOf(checkOptions);
  const target = oneOf('target', options.target, ['ts', 'wgsl', 'wasm'] as const, 'ts');
  if (options.inference) throw inferenceNotChecked('inference');
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) throw new ConvgenError('seed', `must be a non-negative integer, got ${JSON.stringify(seed)}`, 'pass e.g. seed: 1');
  const p = plan(model, options);
  const limits = limitsOf(options.limits);
  if (limits !== undefined && target !== 'wgsl') throw new ConvgenError('limits', 'applies to the WGSL target only', 'add target: "wgsl", or drop limits');
  const [report] = await checkPlans([p], { target, seed, limits });
  return report!;
}

export interface ImportApiOptions {
  /** the model's name (default: the file's name, or "model" for bytes) */
  readonly name?: string;
  /** the static batch (default: the ONNX input's batch when static, else 1) */
  readonly batch?: number;
  /** when given, write `<out>/<name>.json` and `<out>/<name>.safetensors` (refusing to replace files unless `force`) */
  readonly out?: string;
  readonly force?: boolean;
}

export type { ImportResult };

/**
 * import an ONNX file from torch.onnx.export (its path or its bytes; a file URL works too):
 * model.json value, spec and weights. (No `URL` in the signature: an app's TypeScript may have
 * neither the DOM nor Node's types, as for ModelSource.)
 */
export function importOnnx(file: string | Uint8Array, importOptions?: ImportApiOptions): ImportResult {
  const options = optionsOf(importOptions);
  const f = asPath(file);
  const opts = { ...(options.name !== undefined ? { name: options.name } : {}), ...(options.batch !== undefined ? { batch: options.batch } : {}) };
  let result: ImportResult;
  if (f instanceof Uint8Array) result = importOnnxBytes(f, opts);
  else if (typeof f === 'string') result = importOnnxFile(f, opts);
  else throw new ConvgenError('file', `must be an .onnx file's path, file URL or bytes, got ${f === null ? 'null' : typeof f}`, 'pass e.g. "model.onnx" or fs.readFileSync("model.onnx")');
  if (options.out !== undefined) writeImport(result, options.out, { force: options.force ?? false });
  return result;
}
