// The package as an app gets it: `npm pack` (prepack compiles dist/) into .tmp/pack/<hash>/,
// where <hash> covers everything that goes into the tarball, so the test files that install
// it (package, plugin) pack once per change of the sources, not once each.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * the environment for npm and node in an app folder: npm's user settings but none of the
 * variables `npm test` sets for this package (npm_config_local_prefix would send an app's
 * `npm install` into the repository)
 */
const KEEP = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry', 'npm_config_cafile']);
export const appEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || KEEP.has(k.toLowerCase()))),
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};
const PACKED = ['package.json', 'bin', 'src', 'templates', 'schema', 'docs', 'README.md', 'tsconfig.json', 'tsconfig.build.json'];

function contentHash(): string {
  const h = createHash('sha256');
  const add = (p: string): void => {
    const full = join(ROOT, p);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const e of readdirSync(full).sort()) add(join(p, e));
    } else {
      h.update(relative(ROOT, full)).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  for (const p of PACKED) add(p);
  return h.digest('hex').slice(0, 16);
}

/** the path of a tarball of the current sources (built on first use) */
export function packTarball(): string {
  const dir = join(ROOT, '.tmp', 'pack', contentHash());
  const find = (): string | undefined => (existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.tgz')) : undefined);
  const have = find();
  if (have) return join(dir, have);
  mkdirSync(join(ROOT, '.tmp', 'pack'), { recursive: true });
  const tmp = mkdtempSync(join(ROOT, '.tmp', 'pack', 'tmp-'));
  execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: appEnv });
  try {
    renameSync(tmp, dir);
  } catch {
    // another test file packed the same sources meanwhile: use theirs
    rmSync(tmp, { recursive: true, force: true });
  }
  const packed = find();
  if (!packed) throw new Error(`npm pack left no tarball in ${dir}`);
  return join(dir, packed);
}
