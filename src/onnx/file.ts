// ONNX files on disk: read one and import it (errors attributed to the file), and write an
// import's two files, model.json and its weights, the way builds write: everything is
// computed first, an existing file is refused unless forced, and each file lands through a
// temporary file renamed into place (an existing one kept aside until both are in place), so
// an error writes nothing: both files are replaced or neither.

import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync, type Stats } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { ConvgenError } from '../errors.ts';
import { nameProblem } from '../spec/names.ts';
import { importOnnx, lowerOnnx, type ImportOptions, type ImportResult } from './index.ts';
import type { Graph } from './graph.ts';
import { identifierOf } from './names.ts';

export const isOnnxPath = (path: string): boolean => extname(path).toLowerCase() === '.onnx';

/** the model name a file gives by default: `nets/resnet-18.onnx` -> `resnet_18` */
export function defaultModelName(path: string): string {
  const name = identifierOf(basename(path, extname(path)));
  return name !== '' && nameProblem(name) === null ? name : 'model';
}

/** a file's bytes, or a ConvgenError saying why not */
function readBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder, not a file' : `cannot read it (${code ?? String(err)})`;
    throw new ConvgenError(path, why, 'pass the path of an .onnx file torch.onnx.export wrote');
  }
}

/** import the ONNX file at path (name: the file's, unless given) */
export function importOnnxFile(path: string, options: ImportOptions = {}): ImportResult {
  const bytes = readBytes(path);
  try {
    return importOnnx(bytes, { ...options, name: options.name ?? defaultModelName(path) });
  } catch (err) {
    if (err instanceof ConvgenError) throw err.inFile(path);
    throw err;
  }
}

/** a JSON value on one line, with a space after each comma and inside an object's braces */
function inline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(', ')} }`;
  return JSON.stringify(v);
}

/** the ONNX file at path after the import's graph passes (for --dump graph) */
export function lowerOnnxFile(path: string, batch?: number): Graph {
  const bytes = readBytes(path);
  try {
    return lowerOnnx(bytes, batch);
  } catch (err) {
    if (err instanceof ConvgenError) throw err.inFile(path);
    throw err;
  }
}

/** model.json as a person writes it: one key per line, one layer per line */
export function formatModelJson(model: Readonly<Record<string, unknown>>): string {
  const lines = Object.entries(model).map(([k, v]) =>
    k === 'layers' && Array.isArray(v) ? `  "layers": [\n${v.map((l) => `    ${inline(l)}`).join(',\n')}\n  ]` : `  ${JSON.stringify(k)}: ${inline(v)}`,
  );
  return `{\n${lines.join(',\n')}\n}\n`;
}

/** the file operations writeImport uses (tests pass failing ones) */
export interface ImportFs {
  readonly writeFileSync: (path: string, data: string | Uint8Array) => void;
  readonly renameSync: (from: string, to: string) => void;
  readonly rmSync: (path: string, options: { force: boolean }) => void;
}
const NODE_FS: ImportFs = { writeFileSync, renameSync, rmSync };

export interface WriteImportOptions {
  /** replace existing files */
  readonly force?: boolean;
  /** the file operations (default node:fs) */
  readonly fs?: ImportFs;
}

const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);

/** lstat of path (undefined when nothing is there), any other fs error a ConvgenError naming the path */
function statOf(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw new ConvgenError(path, `cannot be checked (${codeOf(err)}): a part of the path is not a folder, or is not readable`, 'choose another --out folder');
  }
}

/** write `<dir>/<name>.json` and `<dir>/<name>.safetensors`; refuses to replace either unless forced */
export function writeImport(result: ImportResult, dir: string, options: WriteImportOptions = {}): { json: string; weights: string } {
  const name = result.model.name as string;
  const files: [string, string | Uint8Array][] = [
    [join(dir, `${name}.json`), formatModelJson(result.model)],
    [join(dir, `${name}.safetensors`), result.safetensors],
  ];
  // the folder first: under a file, every lstat of dir/<name> fails with ENOTDIR
  const dirStat = statOf(dir);
  if (dirStat !== undefined && !dirStat.isDirectory()) throw new ConvgenError(dir, 'exists and is not a folder', 'choose another --out folder (a folder, or a path that does not exist yet)');
  const existing = new Set<string>();
  for (const [path] of files) {
    const stat = statOf(path);
    if (stat === undefined) continue;
    existing.add(path);
    if (!stat.isFile()) throw new ConvgenError(path, 'exists and is not a file', 'remove it or choose another --out folder');
    if (!options.force) throw new ConvgenError(path, 'exists; convgen import does not replace files', 'choose another --out folder or --name, or pass --force to replace it');
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ConvgenError(dir, `cannot create the folder (${codeOf(err)})`, 'choose another --out folder, or check its parent is a writable folder');
  }
  const fs = options.fs ?? NODE_FS;
  const tmpOf = (path: string) => `${path}.convgen-tmp-${process.pid}`;
  const oldOf = (path: string) => `${path}.convgen-old-${process.pid}`;
  // 1. every file to a temporary file beside it; on a failure, remove those written so far
  const written: string[] = [];
  for (const [path, content] of files) {
    try {
      written.push(tmpOf(path));
      fs.writeFileSync(tmpOf(path), content);
    } catch (err) {
      for (const tmp of written) fs.rmSync(tmp, { force: true });
      throw new ConvgenError(path, `cannot write it (${codeOf(err)})`, 'check the folder is writable');
    }
  }
  // 2. rename each into place, an existing file first moved aside; on a failure, put back the
  // old files and remove the new ones, so both files are replaced or neither is
  const placed: string[] = [];
  const asideDone: string[] = [];
  try {
    for (const [path] of files) {
      if (existing.has(path)) {
        fs.renameSync(path, oldOf(path));
        asideDone.push(path);
      }
      fs.renameSync(tmpOf(path), path);
      placed.push(path);
    }
  } catch (err) {
    for (const path of placed) fs.rmSync(path, { force: true });
    for (const path of asideDone) fs.renameSync(oldOf(path), path);
    for (const tmp of written) fs.rmSync(tmp, { force: true });
    throw new ConvgenError(files[placed.length]![0], `cannot replace it (${codeOf(err)}); nothing was changed`, 'check the folder is writable');
  }
  for (const path of asideDone) fs.rmSync(oldOf(path), { force: true });
  return { json: files[0]![0], weights: files[1]![0] };
}
