// Writing generated/<name>/ so that nothing is ever half-written: every file is rendered in
// memory first, written into a temporary folder beside the destination, and the folder is
// swapped in with renames. A failed or killed build leaves the previous output as it was
// (at worst a hidden `.<name>.convgen-*` folder beside it, removed by the next build).
// `diffOutput` is what `convgen build --check` reports.
// This is the swap alone: it replaces whatever dir holds. A model's output folder is written
// through ./output.ts, which first checks that convgen wrote what it is about to replace.

import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

export interface OutputDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** every file under dir, as sorted '/'-separated relative paths */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** a generated file: text, or bytes (the weights an ONNX import writes beside the module) */
export type FileContent = string | Uint8Array;

const sameContent = (path: string, content: FileContent): boolean =>
  typeof content === 'string' ? readFileSync(path, 'utf8') === content : readFileSync(path).equals(content);

export function diffOutput(dir: string, files: Readonly<Record<string, FileContent>>): OutputDiff {
  const existing = new Set(listFiles(dir));
  const diff: OutputDiff = { added: [], changed: [], removed: [] };
  for (const [p, text] of Object.entries(files)) {
    if (!existing.has(p)) diff.added.push(p);
    else if (!sameContent(join(dir, p), text)) diff.changed.push(p);
  }
  for (const p of existing) if (!(p in files)) diff.removed.push(p);
  return diff;
}

export const isClean = (d: OutputDiff): boolean => d.added.length + d.changed.length + d.removed.length === 0;

/** a relative path that stays inside its folder: no absolute paths, no `..`, no empty parts */
function checkRelative(p: string): void {
  const parts = p.split('/');
  if (p.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
    throw new Error(`write: refusing the output path ${JSON.stringify(p)}`);
  }
}

/** leftovers of killed builds beside dir: `.<name>.convgen-tmp-<pid>` and `.<name>.convgen-old-<pid>` */
function leftoversOf(dest: string): string[] {
  const parent = dirname(dest);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) return [];
  return readdirSync(parent).filter((e) => e.startsWith(`.${basename(dest)}.convgen-`)).map((e) => join(parent, e));
}

const exists = (p: string): boolean => lstatSync(p, { throwIfNoEntry: false }) !== undefined;

/**
 * the path a write to dir replaces: dir itself when it exists (folder or not); else, when a build
 * was killed between its two renames, the previous output it left as `-old-` (the next write puts
 * it back first); else undefined. Reads only.
 */
export function liveOutput(dir: string): string | undefined {
  const dest = resolve(dir);
  if (exists(dest)) return dest;
  return leftoversOf(dest).find((p) => basename(p).startsWith(`.${basename(dest)}.convgen-old-`));
}

/** replace dir's whole content by files, atomically as far as the file system allows */
export function writeOutputAtomic(dir: string, files: Readonly<Record<string, FileContent>>): void {
  const dest = resolve(dir);
  const parent = dirname(dest);
  const base = basename(dest);
  for (const p of Object.keys(files)) checkRelative(p);
  mkdirSync(parent, { recursive: true });
  // leftovers of a build that was killed. Killed between its two renames, it left the previous
  // output only as `-old-`: put that back first; everything else is a partial new output.
  const live = liveOutput(dest);
  if (live !== undefined && live !== dest) renameSync(live, dest);
  for (const e of leftoversOf(dest)) rmSync(e, { recursive: true, force: true });
  const tmp = join(parent, `.${base}.convgen-tmp-${process.pid}`);
  const old = join(parent, `.${base}.convgen-old-${process.pid}`);
  try {
    for (const [p, text] of Object.entries(files)) {
      const f = join(tmp, ...p.split('/'));
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, text);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const hadOld = existsSync(dest);
  if (hadOld && !statSync(dest).isDirectory()) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`write: ${dest} exists and is not a folder`);
  }
  if (hadOld) renameSync(dest, old);
  try {
    renameSync(tmp, dest);
  } catch (err) {
    if (hadOld) renameSync(old, dest);
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (hadOld) rmSync(old, { recursive: true, force: true });
}
