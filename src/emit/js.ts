// `--emit js`: the TS flavour compiled to plain-JavaScript ESM plus `.d.ts`, through the
// TypeScript compiler API on an in-memory program (the files never touch the disk here).
// Relative `.ts` imports become `.js` (rewriteRelativeImportExtensions), so a Node app
// with no TypeScript toolchain can import index.js directly.

import ts from 'typescript';

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  rewriteRelativeImportExtensions: true,
  declaration: true,
  strict: true,
  skipLibCheck: true,
  // DOM for the timers and WebGPU globals the gpu.ts runtime uses (browsers and Node both have them)
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: [],
  newLine: ts.NewLineKind.LineFeed,
  removeComments: false,
};

const ROOT = '/__convgen__/';

/** compile every `.ts` file of `files` (relative paths); other files pass through unchanged */
export function toJsFlavour(files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const tsFiles = Object.keys(files).filter((p) => p.endsWith('.ts')).sort();
  for (const p of Object.keys(files)) if (!p.endsWith('.ts')) out[p] = files[p];
  if (tsFiles.length === 0) return out;
  const host = ts.createCompilerHost(OPTIONS);
  const readLib = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError) => {
    if (name.startsWith(ROOT)) {
      const text = files[name.slice(ROOT.length)];
      return text === undefined ? undefined : ts.createSourceFile(name, text, lang);
    }
    return readLib(name, lang, onError);
  };
  host.fileExists = (name) => (name.startsWith(ROOT) ? files[name.slice(ROOT.length)] !== undefined : ts.sys.fileExists(name));
  host.directoryExists = (name) => name.startsWith(ROOT.slice(0, -1)) || ts.sys.directoryExists(name);
  host.realpath = (name) => name;
  host.readFile = (name) => (name.startsWith(ROOT) ? files[name.slice(ROOT.length)] : ts.sys.readFile(name));
  host.writeFile = (name, text) => {
    if (!name.startsWith(ROOT)) throw new Error(`emit js: unexpected output path ${name}`);
    out[name.slice(ROOT.length)] = text;
  };
  const program = ts.createProgram(tsFiles.map((p) => ROOT + p), { ...OPTIONS, outDir: ROOT, rootDir: ROOT }, host);
  const diags = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  if (diags.length) {
    const text = ts.formatDiagnostics(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' });
    throw new Error(`emit js: the generated TypeScript does not type-check:\n${text}`);
  }
  const res = program.emit();
  if (res.emitSkipped) throw new Error('emit js: the TypeScript compiler skipped the emit');
  // declaration emit keeps the `.ts` specifiers: point them at the `.d.ts` next to each `.js`
  for (const p of Object.keys(out)) {
    if (p.endsWith('.d.ts')) out[p] = out[p].replace(/(from\s+['"]\.{1,2}\/[^'"]*)\.ts(['"])/g, '$1.js$2');
  }
  // .js is ESM only under a package.json that says so; the app's own may not
  out['package.json'] = '{\n  "type": "module"\n}\n';
  return out;
}
