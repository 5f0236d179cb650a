// Weights files for any generated model: the CPU one (createModel in generated/<name>/index.ts)
// or the WebGPU one (createGpuModel in gpu.ts). Both carry loadSafetensors / saveSafetensors,
// which do the work (PyTorch state_dict names, load_state_dict's strict rules, shape checks;
// see docs/generated-module.md); this module only moves the bytes to and from a file in Node
// and says which file an error is about.
//
//   await loadSafetensorsFile(model, 'lenet.safetensors');            // strict, as PyTorch
//   await loadSafetensorsFile(model, 'ckpt.safetensors', { strict: false, names: { 'net.0.weight': 'c1.weight' } });
//   await saveSafetensorsFile(model, 'out.safetensors', { epochs: '6' });

import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/** the options of a generated model's loadSafetensors (runtime.ts declares the same) */
export interface LoadSafetensorsOptions {
  /** file tensor name -> model tensor name, for a file whose names differ from the model's (names not listed are used as they are) */
  names?: Record<string, string>;
  /** PyTorch's strict: a missing or an unexpected tensor is an error (default true); false loads the tensors that match */
  strict?: boolean;
}

/** what was not loaded, as PyTorch's load_state_dict reports it (both empty under strict) */
export interface LoadSafetensorsResult {
  readonly missingKeys: readonly string[];
  readonly unexpectedKeys: readonly string[];
}

/** what every generated model offers: createModel's synchronously, createGpuModel's as promises */
export interface SafetensorsModel {
  loadSafetensors(bytes: Uint8Array, options?: LoadSafetensorsOptions): LoadSafetensorsResult | Promise<LoadSafetensorsResult>;
  saveSafetensors(metadata?: Record<string, string>): Uint8Array | Promise<Uint8Array>;
}

/** the same kind of error, its message prefixed with the file it is about */
function inFile(path: string, err: unknown): Error {
  if (!(err instanceof Error)) return new Error(`${path}: ${String(err)}`);
  const Kind = err instanceof TypeError ? TypeError : err instanceof RangeError ? RangeError : Error;
  return new Kind(`${path}: ${err.message}`, { cause: err });
}

function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder, not a file';
  if (code === 'EACCES') return 'permission denied';
  return `cannot read it (${code ?? (err instanceof Error ? err.message : String(err))})`;
}

/** reads a .safetensors file into the model's parameters (model.loadSafetensors: strict unless told otherwise) */
export async function loadSafetensorsFile(model: SafetensorsModel, path: string, options?: LoadSafetensorsOptions): Promise<LoadSafetensorsResult> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new Error(`${path}: ${readProblem(err)}`, { cause: err });
  }
  try {
    return await model.loadSafetensors(bytes, options);
  } catch (err) {
    throw inFile(path, err);
  }
}

/**
 * writes the model's parameters to a .safetensors file (model.saveSafetensors: F32, PyTorch
 * names and shapes), through a temporary file renamed into place, so a failed write never
 * leaves half a file at `path`
 */
export async function saveSafetensorsFile(model: SafetensorsModel, path: string, metadata?: Record<string, string>): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await model.saveSafetensors(metadata);
  } catch (err) {
    throw inFile(path, err);
  }
  const tmp = `${path}.convgen-tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`${path}: cannot write it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}
