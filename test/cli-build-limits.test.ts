// convgen build --limits limits.json: the WGSL target planned for a device's limits. A
// breach stops the build naming the file, the layer and the limit, and writes nothing (an
// earlier output stays byte-identical); --check compares against output built for the same
// limits; a bad limits file names the file and the fix.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCaptured } from './helpers/cli.ts';
import { buildCommand } from '../src/cli/build.ts';
import { listFiles } from '../src/emit/write.ts';
import { ConvgenError } from '../src/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'convgen-build-limits-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** run the command, capturing what it prints on stdout */
const run = async (args: string[]) => {
  const { code, out } = await runCaptured(buildCommand, args);
  return { code, out };
};

const read = (dir: string) => Object.fromEntries(listFiles(dir).map((p) => [p, readFileSync(join(dir, p), 'utf8')]));
const limitsFile = (name: string, limits: unknown) => {
  const f = join(root, name);
  writeFileSync(f, typeof limits === 'string' ? limits : JSON.stringify(limits));
  return f;
};

describe('convgen build --limits', () => {
  it('a breach names the file, the layer and the limit, and writes nothing', async () => {
    const out = join(root, 'breach');
    expect((await run(['examples/seed.json', '--out', out])).code).toBe(0);
    const before = read(out);
    // the seed's input is 16 floats = 64 bytes
    const tiny = limitsFile('tiny.json', { maxStorageBufferBindingSize: 32 });
    const err = await run(['examples/seed.json', '--out', out, '--limits', tiny]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvgenError);
    expect((err as Error).message).toMatch(/^examples\/seed\.json: layers\[0\] \(conv2d "conv"\): kernel \w+ binds buffer 'x' of 64 bytes \(16 elements\), over maxStorageBufferBindingSize = 32; /);
    expect(read(out)).toEqual(before);
    // two models, the second over the limit: the first is not written either
    const fresh = join(root, 'fresh');
    const big = limitsFile('100k.json', { maxStorageBufferBindingSize: 100_000 });
    await expect(run(['examples/seed.json', 'examples/lenet.json', '--out', fresh, '--limits', big])).rejects.toThrow(/^examples\/lenet\.json: layers\[0\] \(conv2d "c1"\).*maxStorageBufferBindingSize = 100000/);
    expect(existsSync(fresh)).toBe(false);
    // --check refuses the same way
    await expect(run(['examples/seed.json', '--out', out, '--check', '--limits', tiny])).rejects.toThrow(/maxStorageBufferBindingSize = 32/);
  });

  it('shapes the WGSL output for the limits, leaves the TS output alone, and --check honours them', async () => {
    const out = join(root, 'small-wg');
    const deflt = join(root, 'default');
    const small = limitsFile('wg32.json', { maxComputeInvocationsPerWorkgroup: 32, maxTextureDimension2D: 8192 });
    expect((await run(['examples/lenet.json', '--out', out, '--limits', small])).code).toBe(0);
    expect((await run(['examples/lenet.json', '--out', deflt])).code).toBe(0);
    const a = read(join(out, 'lenet5'));
    const b = read(join(deflt, 'lenet5'));
    const wgsl = Object.keys(a).filter((p) => p.startsWith('wgsl/'));
    expect(wgsl.length).toBeGreaterThan(10);
    for (const p of wgsl) for (const m of a[p].matchAll(/@workgroup_size\((\d+)/g)) expect(Number(m[1]), p).toBeLessThanOrEqual(32);
    expect(wgsl.some((p) => /@workgroup_size\(64/.test(b[p]))).toBe(true);
    expect(a['index.ts']).toBe(b['index.ts']);
    expect(a['gpu.ts']).not.toBe(b['gpu.ts']);
    // --check against the same limits: up to date; without them: the WGSL files would change
    const same = await run(['examples/lenet.json', '--out', out, '--check', '--limits', small]);
    expect(same).toEqual({ code: 0, out: '1 output folder(s) up to date\n' });
    const other = await run(['examples/lenet.json', '--out', out, '--check']);
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/would change +\S+\/lenet5\/wgsl\/\S+\.wgsl/);
    expect(other.out).not.toMatch(/index\.ts/);
    // and the stale message repeats the flags, --limits included
    const stale = await run(['examples/lenet.json', '--out', deflt, '--check', '--limits', small]);
    expect(stale.code).toBe(1);
    expect(stale.out).toContain(`out of date: run convgen build examples/lenet.json --out ${deflt} --limits ${small}\n`);
  });

  it('a missing or unreadable limits file: exit 2 through the CLI, naming the file and the fix, nothing written', () => {
    const out = join(root, 'bad-file');
    for (const [f, why] of [
      [join(root, 'none.json'), 'no such file'],
      [limitsFile('broken.json', '{"maxStorageBufferBindingSize": 1'), 'not valid JSON'],
    ]) {
      const r = spawnSync(process.execPath, ['bin/convgen.js', 'build', 'examples/seed.json', '--out', out, '--limits', f], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^convgen build: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${why}.*; pass --limits a JSON file of WebGPU limits .*or leave --limits out for the WebGPU defaults\\n$`));
    }
    expect(existsSync(out)).toBe(false);
  });

  it('--help describes --limits; the flag needs a value', async () => {
    expect((await run(['--help'])).out).toMatch(/--limits FILE +WebGPU limits the WGSL target plans for/);
    await expect(run(['examples/seed.json', '--limits'])).rejects.toThrow('--limits: needs a file; write --limits limits.json');
  });
});
