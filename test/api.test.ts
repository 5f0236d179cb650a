// The package API (src/api.ts): plan, build and check take a path or a parsed model and
// throw the CLI's ConvgenErrors with the CLI's messages.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, check, ConvgenError, formatCheckReport, formatPlanTable, plan } from '../src/index.ts';
import { buildCommand } from '../src/cli/build.ts';
import { runCaptured } from './helpers/cli.ts';

const SEED = 'examples/seed.json';
const seedJson = (): Record<string, unknown> => JSON.parse(readFileSync(SEED, 'utf8')) as Record<string, unknown>;

describe('plan', () => {
  it('gives the same plan from a path and from the parsed object', () => {
    const a = plan(SEED);
    expect(plan(seedJson())).toEqual(a);
    expect(a.name).toBe('seed_problem');
    expect(a.layers.map((l) => l.type)).toEqual(['conv2d', 'relu', 'maxpool2d', 'flatten', 'linear']);
    expect(formatPlanTable(a)).toContain('| conv ');
  });

  it('strategy forces every conv', () => {
    const p = plan('examples/lenet.json', { strategy: 'im2row' });
    const convs = p.layers.flatMap((l) => (l.type === 'conv2d' ? [l] : []));
    expect(convs.length).toBe(2);
    for (const l of convs) expect(l.schedule).toEqual({ forward: 'im2row', gradInput: 'im2row', gradWeight: 'im2row' });
  });

  it('a bad model object throws the CLI message, without a file name', () => {
    const bad = { ...seedJson(), layers: [{ type: 'conv2d', name: 'conv', out_channels: 2, kernel: 9 }] };
    let err: unknown;
    try {
      plan(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConvgenError);
    expect((err as ConvgenError).where).toMatch(/^layers\[0\]/);
    expect((err as ConvgenError).file).toBeUndefined();
  });

  it('a bad file throws the same error as the CLI prints, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-api-'));
    const f = join(dir, 'm.json');
    writeFileSync(f, JSON.stringify({ ...seedJson(), batch: 0 }));
    let err: ConvgenError | undefined;
    try {
      plan(f);
    } catch (e) {
      err = e as ConvgenError;
    }
    expect(err).toBeInstanceOf(ConvgenError);
    expect(err!.file).toBe(f);
    const cli = await runCaptured(buildCommand, [f]).catch((e: unknown) => e);
    expect((cli as Error).message).toBe(err!.message);
  });

  it('takes a file URL, as import.meta.url gives', () => {
    expect(plan(pathToFileURL(SEED) as never).name).toBe('seed_problem');
    expect(() => plan(new URL('https://example.com/m.json') as never)).toThrow(/only file: URLs name a model file/);
    expect(() => plan(new Map() as never)).toThrow(/got a Map object/);
  });

  it('refuses what is not a model', () => {
    expect(() => plan([] as never)).toThrow(/must be a model.json path or its parsed JSON object, got an array/);
    expect(() => plan('no/such/model.json')).toThrow(/no\/such\/model.json: no such file/);
  });
});

describe('build', () => {
  it('returns the files in memory, the same the CLI writes, and writes nothing without out', async () => {
    const r = await build(SEED, { target: 'ts' });
    expect(r.name).toBe('seed_problem');
    expect(r.dir).toBeUndefined();
    expect(Object.keys(r.files)).toContain('index.ts');
    expect(r.files['index.ts']).toBe(readFileSync('generated/seed_problem/index.ts', 'utf8'));
  });

  it('writes <out>/<name>/ when asked, and the JS flavour imports in plain Node', async () => {
    const out = mkdtempSync(join(tmpdir(), 'convgen-api-'));
    const r = await build(seedJson(), { target: 'ts', emit: 'js', out });
    expect(r.dir).toBe(join(out, 'seed_problem'));
    for (const [p, text] of Object.entries(r.files)) expect(readFileSync(join(r.dir!, p), 'utf8')).toBe(text);
    expect(Object.keys(r.files)).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'package.json', 'runtime.js']));
    const mod = (await import(pathToFileURL(join(r.dir!, 'index.js')).href)) as { createModel: (o: { seed: number }) => { forward(x: Float32Array): Float32Array } };
    const y = mod.createModel({ seed: 1 }).forward(new Float32Array(16).fill(1));
    expect(y.length).toBe(2);
  });

  it('never replaces a folder it did not write, unless forced', async () => {
    const out = mkdtempSync(join(tmpdir(), 'convgen-api-'));
    mkdirSync(join(out, 'seed_problem'));
    writeFileSync(join(out, 'seed_problem', 'app.ts'), 'mine');
    await expect(build(SEED, { out })).rejects.toThrow(/seed_problem: the folder exists and has no convgen-manifest.json.*it holds app.ts/);
    expect(readFileSync(join(out, 'seed_problem', 'app.ts'), 'utf8')).toBe('mine');
    const r = await build(SEED, { out, force: true, target: 'ts' });
    expect(r.forced).toMatch(/app.ts/);
    expect(existsSync(join(out, 'seed_problem', 'app.ts'))).toBe(false);
    expect(existsSync(join(out, 'seed_problem', 'convgen-manifest.json'))).toBe(true);
    // its own output it replaces freely
    expect((await build(SEED, { out, target: 'ts' })).forced).toBeUndefined();
  });

  it('a limits breach throws a ConvgenError naming the file and the layer', async () => {
    await expect(build('examples/lenet.json', { target: 'wgsl', limits: { maxStorageBufferBindingSize: 1024 } })).rejects.toThrow(/examples\/lenet.json: .*layers\[\d+\].*maxStorageBufferBindingSize/);
  });
});

describe('options from JavaScript are checked as the CLI checks its flags', () => {
  it('a misspelled value is an error, not a default (a typo wrote an empty output folder)', async () => {
    await expect(build(SEED, { target: 'wgls' as never })).rejects.toThrow(/^target: must be one of "ts", "wgsl", "wasm", "all", got "wgls"/);
    await expect(build(SEED, { emit: 'JS' as never })).rejects.toThrow(/^emit: must be one of "ts", "js", got "JS"/);
    await expect(build(SEED, null as never)).rejects.toThrow(/^options: must be an object, got null/);
    await expect(build(SEED, { out: '' })).rejects.toThrow(/^out: must be a folder path/);
    await expect(check(SEED, { target: 'gpu' as never })).rejects.toThrow(/^target: must be one of "ts", "wgsl", "wasm", got "gpu"/);
    await expect(check(SEED, { seed: -1 })).rejects.toThrow(/^seed: must be a non-negative integer/);
    expect(() => plan(SEED, { strategy: 'fast' as never })).toThrow(/^strategy: must be one of "direct", "im2row", "auto", got "fast"/);
  });
});

describe('check', () => {
  it('returns a report with every row within tolerance', async () => {
    const r = await check(seedJson());
    expect(r.model).toBe('seed_problem');
    expect(r.target).toBe('ts');
    expect(r.failures).toBe(0);
    expect(r.rows.filter((row) => row.result).length).toBeGreaterThan(8);
    expect(formatCheckReport(r)).toMatch(/^model seed_problem \(target ts, seed 1\): all within tolerance/);
  });

  it('refuses limits for the TS target, as the CLI does', async () => {
    await expect(check(SEED, { limits: {} })).rejects.toThrow(/limits: applies to the WGSL target only/);
  });
});
