// The README's "use it in your app" blocks, each marked `<!-- readme-test: NAME -->` on the
// line above its fence: the tests that install the packed package run them as written.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** NAME -> the block's text, for every marked block of README.md */
export function readmeBlocks(): Record<string, string> {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<!-- readme-test: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)) out[m[1]!] = m[2]! + '\n';
  return out;
}

/** the block named `name`; a missing block fails the test that needs it */
export function readmeBlock(name: string): string {
  const block = readmeBlocks()[name];
  if (block === undefined) throw new Error(`README.md has no block marked <!-- readme-test: ${name} -->`);
  return block;
}
