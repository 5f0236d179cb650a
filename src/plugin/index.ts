// The bundler plugin (`convgen/vite`, `convgen/rollup`, `convgen/esbuild`; this unplugin object
// is `convgen/plugin`): importing a model file compiles it at build time, in memory, and serves
// the generated JavaScript as virtual modules. The import convention is in virtual.ts, the user
// guide in docs/plugin.md.
//
//   resolveId  `./lenet.json?convgen` -> `\0convgen:<abs>/lenet.json/ts/index.js`;
//              `./layers/c1.js` inside that folder -> its sibling virtual file
//   load       build(model, { emit: 'js', target }) once per model version, then one file of it.
//              Every generated module watches its model file (addWatchFile): a watch rebuild
//              redoes them, and Vite's dev server, which records the file as a dependency of each,
//              invalidates them all when it changes (and, as no module accepts the update: a
//              model holds state, reloads the page unless the app accepts it)

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createUnplugin, type UnpluginContext, type UnpluginInstance } from 'unplugin';
import { build, type BuildResult } from '../api.ts';
import { ConvgenError } from '../errors.ts';
import type { GpuLimits } from '../gpu/limits.ts';
import { ENTRY, modelPath, parseModelImport, parseVirtualId, resolveInFolder, virtualId, type ImportTarget } from './virtual.ts';

export interface ConvgenPluginOptions {
  /** what an import without `&target=` gets: `ts`, the CPU module with `createModel` (default), or `wgsl`, `gpu.js` with `createGpuModel` */
  readonly target?: ImportTarget;
  /** every conv's strategy: `direct`, `im2row`, or `auto` (default: the model file's choice, else the cost model's) */
  readonly strategy?: 'direct' | 'im2row' | 'auto';
  /** the WebGPU limits the WGSL target plans for: an object as GPUSupportedLimits, or a JSON file's path (from the working folder) */
  readonly limits?: Partial<GpuLimits> | string;
  /** what an import without `&inference` gets: the training build (default false) or the forward-only build, as `convgen build --inference` */
  readonly inference?: boolean;
}

const TARGETS: readonly string[] = Object.keys(ENTRY);

function checkTarget(target: string, where: string, file?: string): ImportTarget {
  if (TARGETS.includes(target)) return target as ImportTarget;
  throw new ConvgenError(where, `target must be ts or wgsl, got ${JSON.stringify(target)}`, 'import the CPU module (target=ts, the default) and the GPU runtime (target=wgsl) separately', file);
}

/** `&inference` (or `=true`) / `&inference=false` in an import's query */
function checkInference(value: string, where: string, file?: string): boolean {
  if (value === '' || value === 'true') return true;
  if (value === 'false') return false;
  throw new ConvgenError(where, `inference must be true or false, got ${JSON.stringify(value)}`, 'write &inference for the forward-only build, or leave it out', file);
}

/** a file's version for the build cache: a changed file gets a new stamp, a missing one never matches */
const stampOf = (path: string): string => {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return `missing:${Math.random()}`;
  }
};

/** report through the bundler (Vite's overlay names the model file); esbuild's `error` only records, so throw too */
function fail(ctx: UnpluginContext, err: unknown, id: string): never {
  if (err instanceof ConvgenError) ctx.error({ name: err.name, message: err.message, id, stack: err.stack, plugin: 'convgen' });
  throw err;
}

export const convgen: UnpluginInstance<ConvgenPluginOptions | undefined, false> = createUnplugin((options: ConvgenPluginOptions | undefined = {}) => {
  const defaultTarget = checkTarget(options.target ?? 'ts', 'plugin options.target');
  if (options.inference !== undefined && typeof options.inference !== 'boolean') throw new ConvgenError('plugin options.inference', `must be true or false, got ${JSON.stringify(options.inference)}`, 'pass inference: true for forward-only builds, or leave it out');
  const defaultInference = options.inference ?? false;
  const limitsFile = typeof options.limits === 'string' ? resolve(options.limits) : undefined;
  let root = process.cwd();

  // one build per (model, target, mode), reused by every file of it until the model file changes
  const builds = new Map<string, { stamp: string; result: Promise<BuildResult> }>();
  function buildOf(model: string, target: ImportTarget, inference: boolean): Promise<BuildResult> {
    const key = `${target}:${inference ? 'inference' : 'training'}:${model}`;
    const stamp = stampOf(model) + (target === 'wgsl' && limitsFile ? `|${stampOf(limitsFile)}` : '');
    const hit = builds.get(key);
    if (hit?.stamp === stamp) return hit.result;
    const limits = target === 'wgsl' ? (limitsFile ?? (options.limits as Partial<GpuLimits> | undefined)) : undefined;
    const result = build(model, { target, emit: 'js', strategy: options.strategy, limits, inference });
    const entry = { stamp, result };
    builds.set(key, entry);
    // a failed build is not kept: the next load tries again (and reports the error again)
    result.catch(() => builds.get(key) === entry && builds.delete(key));
    return result;
  }

  return {
    name: 'convgen',
    // before Vite's own resolver and JSON plugin, which would serve `x.json?convgen` as JSON
    enforce: 'pre',

    resolveId(source, importer) {
      const from = importer === undefined ? null : parseVirtualId(importer, root);
      if (from && (source.startsWith('./') || source.startsWith('../'))) {
        const file = resolveInFolder(from, source);
        if (file) return virtualId(file, root);
        fail(this, new ConvgenError(`import "${source}"`, 'leaves the generated folder', 'this is a bug in convgen: please report it with the model file', from.model), from.model);
      }
      const imp = parseModelImport(source);
      if (!imp) return null;
      try {
        const target = checkTarget(imp.target ?? defaultTarget, `import "${source}"`, importer);
        const inference = imp.inference === undefined ? defaultInference : checkInference(imp.inference, `import "${source}"`, importer);
        return virtualId({ model: modelPath(imp.path, importer, root), target, inference, file: ENTRY[target] }, root);
      } catch (err) {
        fail(this, err, importer ?? source);
      }
    },

    load: {
      filter: { id: /^\0convgen:/ },
      async handler(id) {
        const v = parseVirtualId(id, root);
        if (!v) return null;
        // every generated module, not just the entry: Vite's dev server then invalidates all of
        // them when the model changes (test/plugin-vite.test.ts pins this)
        this.addWatchFile(v.model);
        if (v.target === 'wgsl' && limitsFile) this.addWatchFile(limitsFile);
        let result: BuildResult;
        try {
          result = await buildOf(v.model, v.target, v.inference);
        } catch (err) {
          fail(this, err, v.model);
        }
        const text = result.files[v.file];
        if (text === undefined) fail(this, new ConvgenError(`import of ${v.file}`, `the ${v.target} build of this model has no such file`, `import the model itself ("?convgen&target=${v.target}")`, v.model), v.model);
        return text;
      },
    },

    esbuild: {
      config(o) {
        root = o.absWorkingDir ?? root;
      },
    },

    vite: {
      configResolved(config) {
        root = config.root;
      },
    },
  };
});

export default convgen;
