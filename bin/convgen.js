#!/usr/bin/env node
// convgen's command line. Installed from the package, it runs the compiled JavaScript in
// dist/ (no TypeScript loader at run time); in a clone of the repository, where src/ is
// present, it runs the sources through tsx (a devDependency), so a clone needs no build step.
import { existsSync } from 'node:fs';

// `convgen plan model.json | head` closes our stdout early: that is not an error
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
