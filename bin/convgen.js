#!/usr/bin/env node
// runs the TypeScript sources directly (through tsx), so a clone needs no build step
import { register } from 'tsx/esm/api';

// `convgen plan model.json | head` closes our stdout early: that is not an error
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
