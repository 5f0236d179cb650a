// `--emit js`: the TS flavour as plain-JavaScript ESM plus `.d.ts`, file by file in memory.
// oxc-transform strips the types (relative `.ts` imports become `.js`) and writes each
// declaration file from the source alone (isolated declarations: every export of the
// generated code carries its type). A Node app needs no TypeScript toolchain to run or
// build it, and neither does convgen.

import { isolatedDeclarationSync, transformSync } from 'oxc-transform';

/** `from './x.ts'` -> `from './x.js'` in relative specifiers (declarations keep the `.ts`) */
const toJsSpecifiers = (text: string): string => text.replace(/(from\s+['"]\.{1,2}\/[^'"]*)\.ts(['"])/g, '$1.js$2');

/** the generated header (the comment lines above the first statement), kept on both outputs */
function header(text: string): string {
  const lines = text.split('\n');
  const n = lines.findIndex((l) => !l.startsWith('//'));
  return n <= 0 ? '' : lines.slice(0, n).join('\n') + '\n';
}

function fail(path: string, what: string, errors: readonly { message: string }[]): never {
  throw new Error(`emit js: ${what} of the generated ${path} failed:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
}

/** strip every `.ts` file of `files` (relative paths) to `.js` + `.d.ts`; other files pass through */
export function toJsFlavour(files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, text] of Object.entries(files)) {
    if (!path.endsWith('.ts')) {
      out[path] = text;
      continue;
    }
    const base = path.slice(0, -'.ts'.length);
    const js = transformSync(path, text, { lang: 'ts', sourceType: 'module', target: 'es2022', typescript: { rewriteImportExtensions: 'rewrite' } });
    if (js.errors.length) fail(path, 'type stripping', js.errors);
    const dts = isolatedDeclarationSync(path, text, { stripInternal: false });
    if (dts.errors.length) fail(path, 'declaration emit', dts.errors);
    // oxc keeps JSDoc but drops the line comments that open every generated file
    out[`${base}.js`] = js.code.startsWith('//') ? js.code : header(text) + js.code;
    out[`${base}.d.ts`] = header(text) + toJsSpecifiers(dts.code);
  }
  // .js is ESM only under a package.json that says so; the app's own may not
  out['package.json'] = '{\n  "type": "module"\n}\n';
  return out;
}
