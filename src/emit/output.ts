// A model's output folder, and what a build may replace. Every write leaves beside the files a
// manifest, convgen-manifest.json: the model's name and each path it wrote with the sha256 of
// its bytes (sorted, no time, no absolute path: generated/ is committed and diffed byte for byte).
// The next write replaces the folder only when the folder still holds what the manifest says,
// so a build never deletes what it did not write. It refuses, naming the folder and the files:
//   - a path that is not a folder (a file, a symbolic link) or lies under a file: never
//     replaced, even with force;
//   - a folder with no manifest: convgen did not write it, or wrote it before the manifest;
//   - a manifest of another model, or one that is not convgen's;
//   - files not in the manifest (added by hand) or whose bytes differ from it (edited since).
// `force` replaces all but the first. An empty folder is adopted; a generated file deleted by
// hand is simply written again. The manifest is visible (not a dotfile) on purpose: it is the
// folder's sign that convgen owns it, seen by whoever opens the folder to add a file.
// Callers (the CLI, the programmatic API) check every destination before writing any.

import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConvgenError } from '../errors.ts';
import { stableJson } from './json.ts';
import { diffOutput, listFiles, liveOutput, writeOutputAtomic, type FileContent, type OutputDiff } from './write.ts';

export const MANIFEST_FILE = 'convgen-manifest.json';
const MANIFEST_FORMAT = 1;
const ABOUT = 'written by convgen build: every file it wrote here, with the sha256 of its bytes. The next build replaces this folder only if these files are unchanged and no file was added (--force replaces anyway); see convgen build --help';

/** one model's output: where, which model, and every file as relative path -> text */
export interface ModelOutput {
  readonly dir: string;
  readonly model: string;
  readonly files: Readonly<Record<string, FileContent>>;
  /** a forward-only build (`--inference`): the manifest says so */
  readonly inference?: boolean;
}

export interface OutputOptions {
  /** replace a folder the check refuses (no manifest, another model's, files added or edited); never a path that is not a folder */
  readonly force?: boolean;
}

/** why convgen will not replace a folder */
export interface Refusal {
  /** what is wrong, naming the files at stake */
  readonly problem: string;
  /** what to do */
  readonly fix: string;
  /** whether force replaces it anyway */
  readonly forceable: boolean;
}

export interface OutputReport {
  /** the folder, as the caller named it */
  readonly dir: string;
  /** why a write would not replace the folder; undefined when it may */
  readonly refusal?: Refusal;
  /** a refusal that force overrides: the write goes ahead and deletes what the refusal names */
  readonly forced?: Refusal;
  /** how the folder differs from what the write leaves there (manifest included) */
  readonly diff: OutputDiff;
}

const sha256 = (bytes: string | Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * the manifest of files (its own text): the model's name and every path's sha256, keys sorted;
 * `"inference": true` for a forward-only build (absent otherwise: training builds' manifests are unchanged)
 */
export function renderManifest(model: string, files: Readonly<Record<string, FileContent>>, inference = false): string {
  const hashes = Object.fromEntries(Object.entries(files).map(([p, text]) => [p, sha256(text)]));
  return stableJson({ about: ABOUT, format: MANIFEST_FORMAT, model, files: hashes, ...(inference ? { inference: true } : {}) }) + '\n';
}

/** what the folder holds after the write: files and their manifest */
export function withManifest(model: string, files: Readonly<Record<string, FileContent>>, inference = false): Record<string, FileContent> {
  if (MANIFEST_FILE in files) throw new Error(`write: ${MANIFEST_FILE} is convgen's own record; an emitter may not write it`);
  const all: Record<string, FileContent> = { ...files, [MANIFEST_FILE]: renderManifest(model, files, inference) };
  return Object.fromEntries(Object.keys(all).sort().map((p) => [p, all[p]]));
}

/** the manifest in dir, or why it is not one convgen wrote */
function readManifest(dir: string): { model: string; files: Record<string, string> } | string {
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (err) {
    return `it does not parse (${(err as Error).message})`;
  }
  const r = m as { format?: unknown; model?: unknown; files?: unknown };
  if (typeof m !== 'object' || m === null || r.format !== MANIFEST_FORMAT) return `its format is not ${MANIFEST_FORMAT}`;
  if (typeof r.model !== 'string') return 'it names no model';
  if (typeof r.files !== 'object' || r.files === null || !Object.values(r.files).every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) return 'its files are not path -> sha256';
  return { model: r.model, files: r.files as Record<string, string> };
}

/** `a.ts, b.ts and 3 more` */
function names(paths: readonly string[], most = 8): string {
  const shown = paths.slice(0, most).join(', ');
  return paths.length > most ? `${shown} and ${paths.length - most} more` : shown;
}

/**
 * whether a file holds what convgen wrote (its manifest's sha256); false when it cannot be read.
 * A checkout with Windows line ends (git's core.autocrlf) holds the same text with CRLF: the
 * generated files are text, so CRLF counts as LF. A binary file (an imported model's weights)
 * matches its bytes as they are.
 */
function unchanged(path: string, hash: string | undefined): boolean {
  try {
    const bytes = readFileSync(path);
    return sha256(bytes) === hash || (bytes.includes(13) && sha256(bytes.toString('utf8').replace(/\r\n/g, '\n')) === hash);
  } catch {
    return false;
  }
}

/** what file managers leave in any folder they show: not the user's work, deleted with the folder */
const SYSTEM_FILES = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);
const isSystemFile = (p: string): boolean => SYSTEM_FILES.has(p.slice(p.lastIndexOf('/') + 1));

/** why the folder at live (an existing path) may not be replaced by model's output, undefined when it may; reads only */
function refusalOf(live: string, model: string): Refusal | undefined {
  const stat = lstatSync(live);
  if (!stat.isDirectory()) {
    const what = stat.isSymbolicLink() ? 'a symbolic link' : 'a file';
    return { problem: `exists and is ${what}, not a folder`, fix: 'remove or rename it, or choose another output folder (--out); --force does not replace it', forceable: false };
  }
  const present = listFiles(live).filter((p) => !isSystemFile(p));
  if (present.length === 0) return undefined;
  const force = (deletes: string) => `pass --force to replace it (${deletes})`;
  if (!present.includes(MANIFEST_FILE)) {
    return {
      problem: `the folder exists and has no ${MANIFEST_FILE}, so convgen did not write it (or wrote it before convgen kept a manifest); it holds ${names(present)}`,
      fix: `move it away or choose another output folder (--out); if it is an older convgen output, ${force('deleting everything in it')}`,
      forceable: true,
    };
  }
  const manifest = readManifest(live);
  if (typeof manifest === 'string') {
    return { problem: `its ${MANIFEST_FILE} is not one convgen wrote: ${manifest}`, fix: `move the folder away, or ${force('deleting everything in it')}`, forceable: true };
  }
  if (manifest.model !== model) {
    return { problem: `the folder holds convgen's output for model "${manifest.model}", not "${model}"`, fix: `write each model to its own folder, or ${force(`deleting ${manifest.model}'s output`)}`, forceable: true };
  }
  const added = present.filter((p) => p !== MANIFEST_FILE && !(p in manifest.files));
  const edited = present.filter((p) => p in manifest.files && !unchanged(join(live, p), manifest.files[p]));
  if (added.length + edited.length === 0) return undefined;
  const parts = [added.length ? `added by hand: ${names(added)}` : '', edited.length ? `edited since convgen wrote them: ${names(edited)}` : ''];
  return {
    problem: `replacing it would delete files convgen did not write (${parts.filter(Boolean).join('; ')})`,
    fix: `move them out of the folder (convgen rewrites it whole on every build), or ${force('deleting them')}`,
    forceable: true,
  };
}

/** the nearest folder above dir that exists and is not a folder (a file where --out should be), if any */
function fileAbove(dir: string): string | undefined {
  const above: string[] = [];
  for (let d = dirname(resolve(dir)); dirname(d) !== d; d = dirname(d)) above.unshift(d);
  for (const d of above) {
    const stat = statSync(d, { throwIfNoEntry: false });
    if (stat === undefined) return undefined;
    if (!stat.isDirectory()) return d;
  }
  return undefined;
}

/** what a write of out would do to its folder, and whether it may; reads only */
export function inspectOutput(out: ModelOutput, opts: OutputOptions = {}): OutputReport {
  const expected = withManifest(out.model, out.files, out.inference);
  const blocker = fileAbove(out.dir);
  if (blocker !== undefined) {
    const refusal = { problem: `${blocker} is a file, so the folder cannot be made`, fix: 'remove or rename that file, or choose another output folder (--out)', forceable: false };
    return { dir: out.dir, refusal, diff: { added: Object.keys(expected), changed: [], removed: [] } };
  }
  const live = liveOutput(out.dir);
  if (live === undefined) return { dir: out.dir, diff: diffOutput(out.dir, expected) };
  const refusal = refusalOf(live, out.model);
  const notFolder = refusal !== undefined && !refusal.forceable;
  const diff = notFolder ? { added: Object.keys(expected), changed: [], removed: [] } : diffOutput(live, expected);
  if (refusal === undefined) return { dir: out.dir, diff };
  return refusal.forceable && opts.force ? { dir: out.dir, forced: refusal, diff } : { dir: out.dir, refusal, diff };
}

/** inspectOutput for each output; two outputs into one folder are a programming error */
export function inspectOutputs(outputs: readonly ModelOutput[], opts: OutputOptions = {}): OutputReport[] {
  const seen = new Set<string>();
  for (const o of outputs) {
    const d = resolve(o.dir);
    if (seen.has(d)) throw new Error(`write: two outputs both write ${o.dir}`);
    seen.add(d);
  }
  return outputs.map((o) => inspectOutput(o, opts));
}

/** the one error for the folders a write refuses (one or several) */
export function refusalError(refused: readonly OutputReport[]): ConvgenError {
  const rs = refused.filter((r) => r.refusal);
  if (rs.length === 1) return new ConvgenError(rs[0].dir, `${rs[0].refusal!.problem} (nothing was written)`, rs[0].refusal!.fix);
  const lines = rs.map((r) => `\n  ${r.dir}: ${r.refusal!.problem}; ${r.refusal!.fix}`);
  return new ConvgenError(`${rs.length} output folders`, `convgen will not replace them, so nothing was written:${lines.join('')}`, '');
}

/**
 * write every output folder (files plus the manifest), each swapped in atomically, after checking
 * all of them: one folder refused (see the header) throws a ConvgenError naming every refused
 * folder, and nothing is written. Returns the reports (`forced`: what force replaced).
 */
export function writeModelOutputs(outputs: readonly ModelOutput[], opts: OutputOptions = {}): OutputReport[] {
  // another build of the same folder (parallel npm scripts, test workers) waits for this one:
  // checking and swapping are one step per folder, and no build removes another's temporary folder
  // a first look outside the locks may catch another build mid-swap (a manifest and files of two
  // builds, or a file listed and gone before it is read): its refusal only stands when the locks
  // cannot be taken, and a file gone under it is no refusal at all; the check under them decides
  let first: OutputReport[] = [];
  try {
    first = inspectOutputs(outputs, opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
  const locks: (() => void)[] = [];
  try {
    try {
      for (const d of [...new Set(outputs.map((o) => resolve(o.dir)))].sort()) locks.push(lockOutput(d));
    } catch (err) {
      if (first.some((r) => r.refusal)) throw refusalError(first);
      throw err;
    }
    // again under the locks: another build may have written meanwhile
    const reports = inspectOutputs(outputs, opts);
    if (reports.some((r) => r.refusal)) throw refusalError(reports);
    for (const o of outputs) {
      try {
        writeOutputAtomic(o.dir, withManifest(o.model, o.files, o.inference));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (typeof code !== 'string') throw err;
        throw new ConvgenError(o.dir, `cannot write it (${code}: ${(err as Error).message})`, 'check that the output folder (--out) can be created and written, and that the disk is not full');
      }
    }
    return reports;
  } finally {
    for (const release of locks) release();
  }
}

/** how long a build waits for another build of the same folder before giving up */
const LOCK_WAIT_MS = 60_000;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * hold `.<name>.convgenlock` beside dir (it holds the holder's pid) until the returned release is
 * called; a lock whose process is gone is taken over. Its name does not start with
 * `.<name>.convgen-`, so it is never mistaken for a killed build's leftover.
 */
function lockOutput(dir: string): () => void {
  const parent = dirname(dir);
  const lock = join(parent, `.${basename(dir)}.convgenlock`);
  const cannot = (err: unknown): ConvgenError => {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return new ConvgenError(dir, `cannot write beside it (${code}: ${(err as Error).message})`, 'check that the output folder (--out) can be created and written');
  };
  try {
    mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw cannot(err);
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(err);
    }
    let held = '';
    try {
      held = readFileSync(lock, 'utf8');
    } catch (err) {
      // released meanwhile: try again; anything else (not a file) is not a lock we can wait for
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw cannot(err);
      continue;
    }
    const holder = Number.parseInt(held.trim() || 'NaN', 10);
    if (Number.isInteger(holder) && !alive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new ConvgenError(dir, `another convgen build (pid ${Number.isInteger(holder) ? holder : '?'}) has been writing it for over ${LOCK_WAIT_MS / 1000} s`, `wait for it to finish; if no convgen runs, remove ${lock}`);
    }
    // sleep 20 ms without spinning the CPU
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

/** writeModelOutputs for one model */
export function writeModelOutput(out: ModelOutput, opts: OutputOptions = {}): OutputReport {
  return writeModelOutputs([out], opts)[0];
}
