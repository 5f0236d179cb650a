// The browser example (examples/browser/) without a browser: its server (types, traversal),
// the digits it writes and app.js reads back over HTTP, and app.js's train() on a Node WebGPU
// device with the module `convgen build --emit js` writes. Only page.js's DOM wiring is not run.
// The training tests need an adapter (lavapipe in CI); see test/helpers/webgpu.ts for the rule.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuModel, decodeDigits, divergence, firstDigits, loadDigits, requestGpuDevice, train, type Digits, type DigitsHeader, type Progress } from '../examples/browser/app.js';
import { curveSvg, logTicks } from '../examples/browser/chart.js';
import { writeDigitFiles, writeManifest, type Manifest } from '../examples/browser/data.ts';
import { createStaticServer, resolveRequest } from '../examples/browser/server.ts';
import { loadMnist, PIXELS } from '../examples/mnist/data.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const page = join(repo, 'examples', 'browser');
const build = mkdtempSync(join(tmpdir(), 'convgen-browser-'));
afterAll(() => rmSync(build, { recursive: true, force: true }));

let server: Server;
let base: string;
let manifest: Manifest;
const mnist = loadMnist();

beforeAll(async () => {
  // what `npm run browser` does, into a temp folder: build the JS flavour, write data and manifest
  execFileSync(process.execPath, ['bin/convgen.js', 'build', 'examples/lenet.json', '--emit', 'js', '--out', join(build, 'generated')], { cwd: repo, encoding: 'utf8' });
  manifest = writeManifest(build, [join(repo, 'examples', 'lenet.json')]);
  writeDigitFiles(build, mnist);
  server = createStaticServer([
    { prefix: '/build/', dir: build },
    { prefix: '/', dir: page },
  ]);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** a request with the path sent as it is (fetch would normalise `..` away) */
function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve.ts server', () => {
  it.each([
    ['/', 'text/html', 'page.js'],
    ['/index.html', 'text/html', 'Start training'],
    ['/app.js', 'text/javascript', 'export async function train'],
    ['/page.js', 'text/javascript', "from './app.js'"],
    ['/build/manifest.json', 'application/json', '"gpu": "generated/lenet5/gpu.js"'],
    ['/build/generated/lenet5/gpu.js', 'text/javascript', 'export async function createGpuModel'],
    ['/build/generated/lenet5/index.js', 'text/javascript', 'export function createModel'],
    ['/build/manifest.json', 'application/json', '"wasm": "generated/lenet5/wasm.js"'],
    ['/build/generated/lenet5/wasm.js', 'text/javascript', 'export async function createWasmModelAsync'],
    ['/build/generated/lenet5/wasm/threads.js', 'text/javascript', 'URL.createObjectURL(new Blob([WORKER_SOURCE]'],
    ['/chart.js', 'text/javascript', 'export function curveSvg'],
    ['/build/data/digits.json', 'application/json', '"format": "convgen-digits/1"'],
  ])('GET %s is %s', async (path, type, contains) => {
    const r = await get(path);
    expect(r.status).toBe(200);
    expect(r.type.split(';')[0]).toBe(type);
    expect(r.body.toString('utf8')).toContain(contains);
  });

  it('serves the digits as bytes of the right length', async () => {
    const images = await get('/build/data/train-images.bin');
    expect(images.status).toBe(200);
    expect(images.type).toBe('application/octet-stream');
    expect(images.body.length).toBe(mnist.train.count * PIXELS);
    const head = await get('/build/data/test-labels.bin', 'HEAD');
    expect([head.status, head.body.length]).toEqual([200, 0]);
  });

  it.each([
    '/../package.json',
    '/build/../../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E%2Fpackage.json',
    '/build/..%2f..%2fpackage.json',
    '/build/generated/..%5c..%5c..%5cpackage.json',
    '/build/%2e%2e/%2e%2e/.gitignore',
    '/.hidden.json',
    '/app.js%00.html',
  ])('refuses the traversal %s with 403', async (path) => {
    const r = await get(path);
    expect(r.status).toBe(403);
    expect(r.body.toString('utf8')).not.toContain('"devDependencies"');
  });

  it.each([
    ['/serve.ts', 404],
    ['/README.md', 404],
    ['/missing.js', 404],
    ['/build/generated/lenet5/', 404],
    ['/%E0%A4%A.js', 400],
  ])('GET %s is %i', async (path, status) => {
    expect((await get(path)).status).toBe(status);
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    expect((await get('/index.html', 'POST')).status).toBe(405);
  });

  it('refuses a symbolic link that leads out of a served folder', () => {
    const outside = join(build, 'outside.json');
    writeFileSync(outside, '{}');
    const mounted = mkdtempSync(join(tmpdir(), 'convgen-mount-'));
    try {
      symlinkSync(outside, join(mounted, 'link.json'));
      expect(resolveRequest([{ prefix: '/', dir: mounted }], '/link.json')).toMatchObject({ status: 403 });
    } finally {
      rmSync(mounted, { recursive: true, force: true });
    }
  });
});

describe('app.js data', () => {
  it('loads the split of examples/mnist/data.ts over HTTP, pixels within half a byte step', async () => {
    const { header, train: tr, test: te } = await loadDigits(`${base}/build/data/`);
    expect(header.imageSize).toBe(28);
    for (const [got, want] of [
      [tr, mnist.train],
      [te, mnist.test],
    ] as [Digits, Digits][]) {
      expect(got.count).toBe(want.count);
      expect(Array.from(got.labels)).toEqual(Array.from(want.labels));
      let worst = 0;
      for (let i = 0; i < got.images.length; i++) worst = Math.max(worst, Math.abs(got.images[i] - want.images[i]));
      expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    }
  });

  it('says which file is short, and what it expected', () => {
    const header: DigitsHeader = { format: 'convgen-digits/1', imageSize: 28, classes: 10, sets: { test: { count: 2, images: 'test-images.bin', labels: 'test-labels.bin' } } };
    expect(() => decodeDigits(header, 'test', new ArrayBuffer(784), new ArrayBuffer(2))).toThrow('test-images.bin: 784 bytes, expected 2 x 784');
    expect(() => decodeDigits(header, 'test', new ArrayBuffer(2 * 784), new Uint8Array([3, 10]).buffer)).toThrow('label 1 is 10, expected a class index in [0, 10)');
    expect(() => decodeDigits({ ...header, format: 'v0' }, 'test', new ArrayBuffer(0), new ArrayBuffer(0))).toThrow('rerun `npm run browser`');
  });

  it('a missing data folder names the URL and the fix', async () => {
    await expect(loadDigits(`${base}/build/nodata/`)).rejects.toThrow(/nodata\/digits\.json: HTTP 404 \(did `npm run browser` write the data\?\)/);
  });
});

describe('app.js WebGPU messages', () => {
  it('without navigator.gpu, names browsers that have it, or the secure-context rule', async () => {
    await expect(requestGpuDevice(undefined)).rejects.toThrow(/no navigator\.gpu.*Chrome or Edge 113/);
    await expect(requestGpuDevice(undefined, { secureContext: false })).rejects.toThrow(/not a secure context.*localhost/);
  });

  it('without an adapter, says where to look', async () => {
    await expect(requestGpuDevice({ requestAdapter: async () => null })).rejects.toThrow(/gave no adapter.*chrome:\/\/gpu/);
  });
});

describe('app.js types', () => {
  it('type-checks (JSDoc, strict) and app.d.ts, chart.d.ts are what tsc declares', () => {
    const files = ['app.js', 'page.js', 'chart.js'].map((f) => join(page, f));
    const options: ts.CompilerOptions = {
      allowJs: true,
      checkJs: true,
      strict: true,
      declaration: true,
      emitDeclarationOnly: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      // in memory only (the writeFile callback below); not next to app.d.ts, which is an input
      outDir: join(build, 'dts'),
    };
    const program = ts.createProgram(files, options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
    const fix = 'regenerate: npx tsc --allowJs --checkJs --declaration --emitDeclarationOnly --strict --target ES2022 --module ESNext --moduleResolution Bundler --lib ES2022,DOM --skipLibCheck --outDir .tmp/dts examples/browser/app.js examples/browser/chart.js && cp .tmp/dts/app.d.ts .tmp/dts/chart.d.ts examples/browser/';
    for (const file of ['app', 'chart']) {
      let declared = '';
      program.emit(program.getSourceFile(join(page, `${file}.js`)), (name, text) => {
        if (name.endsWith(`${file}.d.ts`)) declared = text;
      });
      expect(readFileSync(join(page, `${file}.d.ts`), 'utf8'), fix).toBe(declared);
    }
  }, 30_000);
});

describe('app.js train() on the CPU kernels (index.js, cpuModel)', () => {
  const createModel = async () => {
    const mod = (await import(pathToFileURL(join(build, manifest.models[0]!.cpu)).href)) as { createModel: Parameters<typeof cpuModel>[0] };
    return cpuModel(mod.createModel);
  };

  // the numbers of the WebGPU test below, on the CPU: 64 steps (~3 s here) reach ~76% on 320 digits
  it('one short epoch on 2048 digits: phases in order, the loss falls, predictions of every test digit', async () => {
    const seen: Progress[] = [];
    const test = firstDigits(mnist.test, 320);
    const result = await train({ device: null, createGpuModel: await createModel(), data: { train: firstDigits(mnist.train, 2048), test }, epochs: 1, batch: 32, onProgress: (p) => seen.push(p) });
    const phases = seen.map((p) => p.phase);
    expect([phases[0], phases.filter((p) => p === 'train').length, ...phases.slice(-2)]).toEqual(['compile', 64, 'testing', 'test']);
    const losses = result.epochs[0]!.batchLosses;
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    expect(result.testAccuracy).toBeGreaterThan(0.4);
    const last = seen.at(-1)!;
    if (last.phase !== 'test') throw new Error('expected the test pass last');
    expect(last.predictions).toHaveLength(320);
    const right = last.predictions.filter((c, i) => c === test.labels[i]).length;
    expect(right / 320).toBe(result.testAccuracy);
    expect(seen.some((p) => p.phase === 'train' && p.warning)).toBe(false);
  }, 30_000);

  it('lr 1 diverges, and the steps say so with a warning that names the fix', async () => {
    const warnings: string[] = [];
    await train({
      device: null, createGpuModel: await createModel(), data: { train: firstDigits(mnist.train, 2048), test: firstDigits(mnist.test, 32) }, epochs: 1, batch: 32, lr: 1,
      onProgress: (p) => p.phase === 'train' && p.warning && warnings.push(p.warning),
    }).catch((err: Error) => warnings.push(err.message));
    expect(warnings[0]).toMatch(/^training diverged: .*lower the learning rate$/);
  }, 30_000);
});

describe('app.js divergence()', () => {
  const at = (n: number, v: number) => Array.from({ length: n }, () => v);
  it.each([
    ['falling', [...at(20, 2.3), ...at(20, 1.0)], ''],
    ['slow (lr too small), never jumped', [...at(39, 2.3), 2.31], ''],
    ['too few steps to say', [2.3, 5, 2.3], ''],
    ['NaN', [2.3, NaN], 'training diverged: loss NaN, lower the learning rate'],
    ['growing', [...at(20, 2.3), ...at(20, 4)], /loss growing \(4\.00 over the last 20 steps/],
    ['jumped, then stuck at chance', [...at(20, 2.3), 3.6, ...at(19, 2.3)], /loss jumped to 3\.60 and stays at chance/],
  ])('%s', (_, losses, want) => {
    if (typeof want === 'string') expect(divergence(losses, 10)).toBe(want);
    else expect(divergence(losses, 10)).toMatch(want);
  });
});

describe('chart.js', () => {
  it('log ticks are round 1-2-5 values, widened to cover the data', () => {
    expect(logTicks(0.05, 2.4)).toEqual({ ticks: [0.05, 0.1, 0.2, 0.5, 1, 2, 5], lo: 0.05, hi: 5 });
    expect(logTicks(0.3, 2.31)).toEqual({ ticks: [0.2, 0.5, 1, 2, 5], lo: 0.2, hi: 5 });
    expect(logTicks(0.001, 3).ticks).toEqual([0.001, 0.01, 0.1, 1, 10]);
  });

  it('the curve: bucket means of the losses, a point per epoch, the note', () => {
    const losses = Array.from({ length: 1000 }, (_, i) => 2.3 * Math.exp(-i / 200));
    const svg = curveSvg({ losses, totalSteps: 1000, stepsPerEpoch: 500, accuracies: [{ epoch: 1, accuracy: 0.9 }, { epoch: 2, accuracy: 0.95 }], note: 'test accuracy 95.00%', maxPoints: 100 });
    expect(svg).toContain('class="loss" data-points="100"');
    expect(svg.match(/class="acc"/g)).toHaveLength(2);
    expect(svg).toContain('>test accuracy 95.00%</text>');
    // 0.015 to 2.2 spans more than two decades: the ticks are the powers of 10
    expect([...svg.matchAll(/fill="#1f5fbf">([^<]+)</g)].map((m) => m[1])).toEqual(['0.01', '0.1', '1', '10', 'train loss (log)']);
  });
});

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

describe('app.js train() on WebGPU (Dawn in Node)', () => {
  const createGpuModel = async (d: unknown, o?: { seed?: number }) => {
    const mod = (await import(pathToFileURL(join(build, manifest.models[0]!.gpu)).href)) as { createGpuModel(d: unknown, o?: { seed?: number }): Promise<never> };
    return mod.createGpuModel(d, o);
  };

  // LeNet from PyTorch's init sits near ln 10 for its first ~30 steps (measured on lavapipe),
  // so a few hundred digits show nothing: 64 steps (~8 s on lavapipe) end at 61-78% on 320 test
  // digits over the seeds and rates tried, with the last losses about half the first
  gpuIt('one short epoch on 2048 digits: the loss falls and test accuracy is far above chance', async () => {
    const { train: tr, test: te } = await loadDigits(`${base}/build/data/`);
    const seen: Progress[] = [];
    const result = await train({
      device,
      createGpuModel,
      data: { train: firstDigits(tr, 2048), test: firstDigits(te, 320) },
      epochs: 1,
      batch: manifest.models[0]!.batch,
      inflight: 3,
      onProgress: (p) => seen.push(p),
    });
    const [epoch] = result.epochs;
    const losses = epoch.batchLosses;
    expect(losses).toHaveLength(64);
    // a fresh net predicts about uniformly: ln 10
    expect(losses[0]).toBeGreaterThan(2.0);
    expect(losses[0]).toBeLessThan(2.6);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    // chance is 10%
    expect(result.testAccuracy).toBeGreaterThan(0.4);
    expect(seen.filter((p) => p.phase === 'train').map((p) => (p.phase === 'train' ? p.step : 0))).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(seen[seen.length - 1]).toMatchObject({ phase: 'test', epoch: 1, record: { testAccuracy: result.testAccuracy } });
    expect(epoch.samplesPerSecond).toBeGreaterThan(0);
  }, 60_000);

  gpuIt('steps in flight give the same losses as one step at a time (the queue keeps their order)', async () => {
    const data = { train: firstDigits(mnist.train, 4 * manifest.models[0]!.batch), test: firstDigits(mnist.test, manifest.models[0]!.batch) };
    const run = (inflight: number) => train({ device, createGpuModel, data, epochs: 1, batch: manifest.models[0]!.batch, inflight, seed: 7 });
    const one = await run(1);
    const four = await run(4);
    expect(four.epochs[0].batchLosses).toEqual(one.epochs[0].batchLosses);
    expect(four.testAccuracy).toBe(one.testAccuracy);
  }, 60_000);
});
