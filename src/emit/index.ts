// write: ModelPlan -> every generated file of generated/<name>/, as relative path -> text.
// Emitters are plain functions (plan, program) -> files, so each target plugs in the same
// way: the TS module here, the WebGPU runtime and shaders from ./gpu.ts when it exists.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModelPlan } from '../plan/types.ts';
import type { ModelProgram } from '../kernels/types.ts';
import { lowerModel } from '../kernels/index.ts';
import { emitModelTs } from './model-ts.ts';
import { toJsFlavour } from './js.ts';
import { NAME_PATTERN } from '../spec/names.ts';

export type Target = 'ts' | 'wgsl' | 'all';
export type EmitFlavour = 'ts' | 'js';
export type FileEmitter = (plan: ModelPlan, program: ModelProgram) => Record<string, string>;

export interface EmitOptions {
  /** which targets: the TS module, the WGSL one, or both (default: all when the WGSL emitter exists) */
  target?: Target;
  /** TypeScript sources, or plain-JavaScript ESM + .d.ts */
  emit?: EmitFlavour;
}

/** the WGSL emitter (src/emit/gpu.ts exports `emitGpuFiles: FileEmitter`), or null while it does not exist */
export async function loadGpuEmitter(): Promise<FileEmitter | null> {
  // a computed specifier: the module is optional, so the type checker must not require it
  const url = new URL('./gpu.ts', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null;
  try {
    const mod = (await import(url.href)) as { emitGpuFiles?: FileEmitter };
    if (typeof mod.emitGpuFiles !== 'function') throw new Error('it does not export emitGpuFiles(plan, program)');
    return mod.emitGpuFiles;
  } catch (err) {
    throw new Error(`emit: src/emit/gpu.ts exists but failed to load: ${(err as Error).message}`);
  }
}

/** every file of one model's output folder, sorted by path */
export async function emitModel(plan: ModelPlan, opts: EmitOptions = {}): Promise<Record<string, string>> {
  // names become identifiers, file and folder names: whatever built this plan, refuse the unsafe
  for (const n of [plan.name, ...plan.layers.map((l) => l.name)]) {
    if (!NAME_PATTERN.test(n)) throw new Error(`emit: ${JSON.stringify(n)} is not a safe identifier (model and layer names must match ${NAME_PATTERN})`);
  }
  const gpu = await loadGpuEmitter();
  const target = opts.target ?? (gpu ? 'all' : 'ts');
  const program = lowerModel(plan);
  let files: Record<string, string> = {};
  if (target === 'ts' || target === 'all') Object.assign(files, emitModelTs(plan, program));
  if (target === 'wgsl' || target === 'all') {
    if (!gpu) throw new Error('the WGSL target is not available in this build of convgen');
    for (const [path, text] of Object.entries(gpu(plan, program))) {
      if (path in files) throw new Error(`emit: two emitters both write ${path}`);
      files[path] = text;
    }
  }
  if (opts.emit === 'js') files = toJsFlavour(files);
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
