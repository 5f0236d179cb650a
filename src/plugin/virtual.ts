// How the plugin names things: which imports it takes, and the virtual folder each model's
// generated files are served from.
//
//   import { createModel } from './lenet.json?convgen'               -> <folder>/index.js
//   import { createGpuModel } from './lenet.json?convgen&target=wgsl' -> <folder>/gpu.js
//   import { createModel } from './lenet.convgen.json'               -> the same, by file name
//   import { createModel } from './lenet.json?convgen&inference'     -> the forward-only build's index.js
//
// A model's folder is `\0convgen:<model path>/<target>/` (`<target>-inference/` for an inference build): the generated files import each other
// with relative specifiers (`./layers/c1.js`, `../runtime.js`), resolved inside that folder. The
// `\0` prefix is the Rollup convention for a module that is not on disk: other plugins (Vite's
// JSON plugin among them) leave such ids alone. The id never ends in `.json` or holds a `?`.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';

export const PREFIX = '\0convgen:';

/** the targets one import can name: the CPU module or the WebGPU runtime */
export type ImportTarget = 'ts' | 'wgsl';

/** the module an import of each target gets, among the files `build` returns */
export const ENTRY: Readonly<Record<ImportTarget, string>> = { ts: 'index.js', wgsl: 'gpu.js' };

/** a model import, parsed: the model file and the target its query asks for (if any) */
export interface ModelImport {
  /** the specifier's path part, as written (`./lenet.json`) */
  readonly path: string;
  /** `target=` in the query; absent when the query names none */
  readonly target?: string;
  /** `inference` in the query (`&inference` or `&inference=true`: true, `&inference=false`: false); absent when the query names none */
  readonly inference?: string;
}

/** the model import a specifier asks for, or null when it is not one of ours */
export function parseModelImport(source: string): ModelImport | null {
  const q = source.indexOf('?');
  const path = q < 0 ? source : source.slice(0, q);
  if (!path.endsWith('.json')) return null;
  const query = new URLSearchParams(q < 0 ? '' : source.slice(q + 1));
  // the file-name convention holds only for a plain import: `x.convgen.json?raw` stays raw
  const ours = query.has('convgen') || (q < 0 && path.endsWith('.convgen.json'));
  if (!ours) return null;
  const target = query.get('target');
  const inference = query.get('inference');
  return { path, ...(target === null ? {} : { target }), ...(inference === null ? {} : { inference }) };
}

/** a virtual file: the model it was generated from, the target, and its path in the build */
export interface VirtualFile {
  readonly model: string;
  readonly target: ImportTarget;
  /** the forward-only build's files (`build(model, { inference: true })`) */
  readonly inference: boolean;
  /** relative path among the generated files: `index.js`, `layers/c1.js` */
  readonly file: string;
}

/**
 * the id of a virtual file; with `root`, the model's path in it is relative to root ('/'-separated),
 * so a bundle's module comments carry no machine's absolute path and builds are reproducible
 */
export const virtualId = (v: VirtualFile, root?: string): string => {
  const model = root === undefined ? v.model : relative(root, v.model).split(sep).join('/');
  return `${PREFIX}${model}/${v.target}${v.inference ? '-inference' : ''}/${v.file}`;
};

// greedy up to the last `.json/<target>/`: generated file names hold no `.json/`
const ID = /^\0convgen:(.*\.json)\/(ts|wgsl)(-inference)?\/(.+)$/s;

/** the virtual file an id names (a relative model path taken from `root`), or null when the id is not ours */
export function parseVirtualId(id: string, root?: string): VirtualFile | null {
  const m = ID.exec(id);
  if (!m) return null;
  const model = root === undefined || isAbsolute(m[1]!) ? m[1]! : resolve(root, m[1]!);
  return { model, target: m[2] as ImportTarget, inference: m[3] !== undefined, file: m[4]! };
}

/** a relative import inside a generated folder, or null when it leaves the folder */
export function resolveInFolder(importer: VirtualFile, source: string): VirtualFile | null {
  const file = posix.normalize(posix.join(posix.dirname(importer.file), source));
  if (file.startsWith('../') || posix.isAbsolute(file)) return null;
  return { ...importer, file };
}

/**
 * the model file's absolute path: relative to the importer's folder (or `root` for an entry), a
 * bare specifier from the package it names (`mymodels/net.json`, through node_modules);
 * an absolute path that is no file is taken from `root`, as Vite reads `/models/x.json`
 */
export function modelPath(path: string, importer: string | undefined, root: string): string {
  if (isAbsolute(path)) return existsSync(path) ? resolve(path) : join(root, path);
  const from = importer && !importer.startsWith('\0') ? dirname(importer.split('?')[0]!) : root;
  // a bare specifier (`mymodels/net.json`) names a file in a package, found as Node finds it
  if (!path.startsWith('./') && !path.startsWith('../')) {
    try {
      return createRequire(join(from, 'noop.js')).resolve(path);
    } catch {
      // not a package's file: read it as a path from the importer, as before
    }
  }
  return resolve(from, path);
}
