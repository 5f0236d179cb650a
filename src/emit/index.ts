// write: ModelPlan -> every generated file of generated/<name>/, as relative path -> text.
// Emitters are plain functions (plan, program) -> files, so each target plugs in the same
// way: the TS module (./model-ts.ts) and the WebGPU runtime and shaders (./gpu.ts).

import type { ModelPlan } from '../plan/types.ts';
import type { ModelProgram } from '../kernels/types.ts';
import { lowerModel } from '../kernels/index.ts';
import { emitModelTs } from './model-ts.ts';
import { emitGpuFiles } from './gpu.ts';
import { emitWasmFiles } from './wasm.ts';
import { NAME_PATTERN } from '../spec/names.ts';
import type { GpuLimits } from '../gpu/limits.ts';
import { ConvgenError } from '../errors.ts';

export type Target = 'ts' | 'wgsl' | 'wasm' | 'all';
export type EmitFlavour = 'ts' | 'js';
export type FileEmitter = (plan: ModelPlan, program: ModelProgram) => Record<string, string>;

export interface EmitOptions {
  /** which targets: the TS module, the WGSL one, the WebAssembly one, or all (default all) */
  target?: Target;
  /** TypeScript sources, or plain-JavaScript ESM + .d.ts */
  emit?: EmitFlavour;
  /** the device limits the WGSL target plans for (default: the WebGPU spec's defaults); a breach throws a ConvgenError naming the layer */
  limits?: GpuLimits;
}

/** every file of one model's output folder, sorted by path (async: callers need not change if an emitter becomes async) */
export async function emitModel(plan: ModelPlan, opts: EmitOptions = {}): Promise<Record<string, string>> {
  // names become identifiers, file and folder names: whatever built this plan, refuse the unsafe
  for (const n of [plan.name, ...plan.layers.map((l) => l.name)]) {
    if (!NAME_PATTERN.test(n)) throw new Error(`emit: ${JSON.stringify(n)} is not a safe identifier (model and layer names must match ${NAME_PATTERN})`);
  }
  const target = opts.target ?? 'all';
  if (target !== 'ts' && target !== 'wgsl' && target !== 'wasm' && target !== 'all') throw new Error(`emit: unknown target ${JSON.stringify(target)}`);
  let files: Record<string, string> = {};
  if (target === 'ts' || target === 'all') Object.assign(files, emitModelTs(plan, lowerModel(plan)));
  if (target === 'wgsl' || target === 'all') {
    // the GPU's kernels are shaped for it (its schedule, src/plan/schedule.ts), on the same buffers
    for (const [path, text] of Object.entries(emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl', limits: opts.limits }), { limits: opts.limits }))) {
      // runtime.ts is shared: each target's files are complete on their own
      if (path in files && files[path] !== text) throw new Error(`emit: two emitters both write ${path}, differently`);
      files[path] = text;
    }
  }
  if (target === 'wasm' || target === 'all') {
    // the CPU kernels (the TS target's lowering), rendered to WebAssembly (src/render/wat.ts)
    for (const [path, text] of Object.entries(emitWasmFiles(plan, lowerModel(plan, { target: 'wasm' })))) {
      if (path in files && files[path] !== text) throw new Error(`emit: two emitters both write ${path}, differently`);
      files[path] = text;
    }
  }
  // the TypeScript compiler costs ~0.3 s to load: only the JS flavour needs it
  if (opts.emit === 'js') files = (await loadJsFlavour())(files);
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * the JS flavour's transformer, loaded on demand; oxc-transform is a native binding installed
 * per platform (an optional dependency), so a missing one is the app's install, not a bug
 */
async function loadJsFlavour(): Promise<(files: Record<string, string>) => Record<string, string>> {
  try {
    return (await import('./js.ts')).toJsFlavour;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConvgenError('--emit js', `needs oxc-transform's native binding for ${process.platform}-${process.arch}, which did not load (${why})`, 'reinstall (rm -rf node_modules package-lock.json && npm install: npm can skip optional platform packages when the lock file was made on another system), or build the TypeScript sources with --emit ts');
  }
}
