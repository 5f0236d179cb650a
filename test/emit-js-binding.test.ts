// Regression: with oxc-transform's native binding missing (npm skips optional platform
// packages when the lock file came from another system), `--emit js` and every bundler-plugin
// import crashed with "Cannot find native binding" and a stack trace; now it is a ConvgenError
// that says what to reinstall (the mock throws on import, as a missing binding does).

import { expect, it, vi } from 'vitest';

vi.mock('oxc-transform', () => {
  throw new Error('Cannot find native binding. npm has a bug related to optional dependencies');
});

it('--emit js without the native binding is a ConvgenError naming the platform and the fix', async () => {
  const { build, ConvgenError } = await import('../src/index.ts');
  const err = await build('examples/seed.json', { emit: 'js', target: 'ts' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConvgenError);
  expect((err as Error).message).toMatch(new RegExp(`^examples/seed.json: --emit js: needs oxc-transform's native binding for ${process.platform}-${process.arch}, which did not load \\(.+\\); reinstall`));
  // the TypeScript flavour needs no binding
  expect(Object.keys((await build('examples/seed.json', { target: 'ts' })).files)).toContain('index.ts');
});
