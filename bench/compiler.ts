// The compiler itself: wall time of `node bin/convgen.js build <example> --out <tmp>` as a
// user runs it (node and tsx start-up included; the start-up alone is measured too, as
// `convgen --help`), the compiler's own work measured in this process (emitModel after
// parse and plan, warm), and the size of what it writes.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { emitModel } from '../src/emit/index.ts';
import type { CompilerRow } from './types.ts';

/** parse, plan, lower, render in this process: the compiler's own work, median of 3 warm calls */
async function inProcessMs(example: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    await emitModel(planModel(loadModelFile(example)));
    times.push(performance.now() - t0);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  return warm[1];
}

function sizeOf(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const s = sizeOf(p);
      files += s.files;
      bytes += s.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += statSync(p).size;
    }
  }
  return { files, bytes };
}

function timeCli(args: string[]): { ms: number; status: number | null; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/convgen.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { ms: performance.now() - t0, status: r.status, stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

export async function measureCompiler(examples: readonly string[], log: (line: string) => void): Promise<CompilerRow[]> {
  if (examples.length === 0) return [];
  const rows: CompilerRow[] = [];
  const startup = timeCli(['--help']);
  rows.push({ kind: 'startup', example: 'convgen --help', ok: startup.status === 0, buildMs: startup.ms, inProcessMs: null, files: 0, bytes: 0, detail: 'node + tsx start-up, no build' });
  log(`compiler: start-up ${startup.ms.toFixed(0)} ms`);
  // as an app runs it once installed: the compiled CLI in dist/ (npm run build), no TypeScript loader
  const built = spawnSync('npm', ['run', '--silent', 'build'], { encoding: 'utf8' });
  if (built.status === 0) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const { main } = await import('./dist/cli/main.js'); process.exitCode = await main(['--help']);"], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    rows.push({ kind: 'startup', example: 'convgen --help (installed)', ok: r.status === 0, buildMs: ms, inProcessMs: null, files: 0, bytes: 0, detail: 'node + the compiled CLI (dist/), as the installed package runs it' });
    log(`compiler: start-up of the compiled CLI ${ms.toFixed(0)} ms`);
  }
  for (const example of examples) {
    const out = mkdtempSync(path.join(os.tmpdir(), 'convgen-bench-'));
    try {
      const r = timeCli(['build', example, '--out', out]);
      if (r.status !== 0) {
        const why = r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
        rows.push({ kind: 'build', example, ok: false, buildMs: null, inProcessMs: null, files: 0, bytes: 0, detail: `exit ${r.status}: ${why}` });
        log(`compiler: ${example} FAILED (${why})`);
        continue;
      }
      const s = sizeOf(out);
      const work = await inProcessMs(example);
      rows.push({ kind: 'build', example, ok: true, buildMs: r.ms, inProcessMs: work, files: s.files, bytes: s.bytes, detail: '' });
      log(`compiler: ${example} ${r.ms.toFixed(0)} ms (in-process parse+plan+lower+render ${work.toFixed(0)} ms), ${s.files} files, ${(s.bytes / 1024).toFixed(1)} KiB`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return rows;
}
