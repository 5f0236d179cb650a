// The app configurations the generated .ts must type-check under (test/generated-typecheck
// in the repository, test/package in an app that installed the tarball): strict and every
// flag that makes an app's tsc stricter, for bundler and nodenext resolution, each with the
// one setting that `.ts` import specifiers need.

import ts from 'typescript';

/** what every configuration checks: strict, and every flag that makes an app's tsc stricter about these files */
export const STRICT: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  // the `--emit js` .d.ts files come from oxc-transform's isolatedDeclaration: every export explicitly typed
  isolatedDeclarations: true,
  declaration: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  // Node's type stripping runs .ts files that use only erasable syntax
  erasableSyntaxOnly: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: [],
  skipLibCheck: true,
};

/** the one extra setting `.ts` specifiers need: either allow them (no emit) or rewrite them on emit */
export const ALLOW_TS: ts.CompilerOptions = { allowImportingTsExtensions: true, noEmit: true };
export const REWRITE_TS: ts.CompilerOptions = { rewriteRelativeImportExtensions: true };

export interface Config {
  readonly name: string;
  readonly options: ts.CompilerOptions;
  /** package.json files to write, by folder relative to the app root (nodenext reads "type" from them) */
  readonly packages: Readonly<Record<string, object>>;
}

export const BUNDLER = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
export const PRESERVE = { module: ts.ModuleKind.Preserve, moduleResolution: ts.ModuleResolutionKind.Bundler };
export const NODENEXT = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };

export const CONFIGS: Config[] = [
  { name: 'esnext + bundler, allowImportingTsExtensions', options: { ...BUNDLER, ...ALLOW_TS }, packages: {} },
  { name: 'preserve + bundler, rewriteRelativeImportExtensions', options: { ...PRESERVE, ...REWRITE_TS }, packages: {} },
  { name: 'nodenext, the app is type module, allowImportingTsExtensions', options: { ...NODENEXT, ...ALLOW_TS }, packages: { '.': { type: 'module' } } },
  {
    name: 'nodenext, a CommonJS app with type module on the generated folder, rewriteRelativeImportExtensions',
    options: { ...NODENEXT, ...REWRITE_TS },
    packages: { '.': { type: 'commonjs' }, generated: { type: 'module' } },
  },
];

