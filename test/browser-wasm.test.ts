// The browser example's page on its WebAssembly backend in Debian's headless Chromium at phone
// width: LeNet trains a short run on 2 threads in a cross-origin isolated page (the headers of
// serve.ts), and on 1 thread when the server sends no such headers (auto picks WebAssembly
// there: headless Chromium has no WebGPU adapter). The test reads what the page shows: the
// backend line (threads and why, SIMD), the chunks each thread ran (the worker took some), the
// phase line's accuracy. Same pattern and budget as browser-page.test.ts (which runs the
// TypeScript backend); screenshots go to .tmp/test-output/ (ignored).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend, cpuModel, MAX_AUTO_THREADS, wasmFeatures, wasmThreads, type CpuModelLike } from '../examples/browser/app.js';
import { writeDigitFiles, writeManifest } from '../examples/browser/data.ts';
import { CROSS_ORIGIN_ISOLATION, createStaticServer } from '../examples/browser/server.ts';
import { loadMnist } from '../examples/mnist/data.ts';
import { haveChromium, launchChromium } from './helpers/chromium.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(repo, '.tmp', 'test-output');
const build = mkdtempSync(join(tmpdir(), 'convgen-page-wasm-'));
afterAll(() => rmSync(build, { recursive: true, force: true }));

const browserIt = haveChromium() ? it : it.skip;
const mnist = loadMnist();

beforeAll(() => {
  // what `npm run browser` writes (LeNet only: the page's choice is not under test here)
  const models = [join(repo, 'examples', 'lenet.json')];
  execFileSync(process.execPath, ['bin/convgen.js', 'build', ...models, '--emit', 'js', '--out', join(build, 'generated')], { cwd: repo, encoding: 'utf8' });
  writeManifest(build, models);
  writeDigitFiles(build, { train: mnist.train, test: mnist.test });
}, 60_000);

/** the page served with `headers`, opened at `query`, run until done or error; then `check(page)` */
async function runPage(headers: Readonly<Record<string, string>>, query: string, screenshot: string, check: (page: Page) => Promise<void>): Promise<void> {
  const server: Server = createStaticServer(
    [
      { prefix: '/build/', dir: build },
      { prefix: '/', dir: join(repo, 'examples', 'browser') },
    ],
    headers,
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?${query}`);
    const phase = page.locator('#phase');
    await page.locator('#phase[data-phase="done"], #phase[data-phase="error"]').waitFor({ timeout: 25_000 });
    mkdirSync(output, { recursive: true });
    await page.screenshot({ path: join(output, screenshot), fullPage: true });
    expect(await phase.getAttribute('data-phase'), (await phase.textContent()) ?? '').toBe('done');
    expect(problems).toEqual([]);
    // a sane accuracy after 48 steps of LeNet (chance is 10%; the TS backend gets ~0.6-0.8)
    expect(Number(await phase.getAttribute('data-accuracy'))).toBeGreaterThan(0.3);
    expect(await page.locator('#backend').getAttribute('data-backend')).toBe('wasm');
    expect(await page.locator('#backend').textContent()).toContain('Training on WebAssembly on the CPU (wasm.js): SIMD (f32x4)');
    // phone width: the backend choice wraps with its label like the other inputs
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const labels = await page.locator('fieldset label').evaluateAll((ls) => ls.map((l) => { const [a, b] = [l.getBoundingClientRect(), l.querySelector('input, select')!.getBoundingClientRect()]; return { right: a.right, sameLine: Math.abs(a.top + a.height / 2 - (b.top + b.height / 2)) < 4 }; }));
    expect(labels.every((l) => l.sameLine && l.right <= 390)).toBe(true);
    await check(page);
  } finally {
    await browser.close();
    await new Promise((done) => server.close(done));
  }
}

const SHORT_RUN = 'model=lenet5&epochs=1&train=1536&test=256&grid=40&autostart=1';

describe('app.js: the WebAssembly backend, without a browser', () => {
  it('wasmThreads: one per core up to MAX_AUTO_THREADS where cross-origin isolated, the count the URL asks there, else 1 and why', () => {
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 2 })).toEqual({ threads: 2, why: '2 threads: one per logical core (cross-origin isolated, 2 cores)' });
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 16 }).threads).toBe(MAX_AUTO_THREADS);
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 16 }).why).toContain(`at most ${MAX_AUTO_THREADS}`);
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 1 }).threads).toBe(1);
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 2, requested: 3 }).threads).toBe(3);
    const alone = wasmThreads({ crossOriginIsolated: false, hardwareConcurrency: 8, requested: 2 });
    expect(alone.threads).toBe(1);
    expect(alone.why).toMatch(/^1 thread \(2 asked\): this page is not cross-origin isolated .*Cross-Origin-Embedder-Policy: require-corp/);
    expect(() => wasmThreads({ crossOriginIsolated: true, requested: 0 })).toThrow('threads must be an integer from 1 to 64, got 0');
    expect(() => wasmThreads({ crossOriginIsolated: true, requested: 1.5 })).toThrow(RangeError);
  });

  it('chooseBackend: auto is WebGPU, else WebAssembly, else TypeScript; a chosen one that is missing says why', () => {
    expect(chooseBackend('auto', { gpu: null, wasm: null })).toEqual({ backend: 'webgpu', why: '' });
    expect(chooseBackend('auto', { gpu: 'no adapter.', wasm: null })).toEqual({ backend: 'wasm', why: 'No WebGPU: no adapter.' });
    expect(chooseBackend('auto', { gpu: 'no adapter.', wasm: 'no SIMD.' })).toEqual({ backend: 'cpu', why: 'No WebGPU: no adapter. No WebAssembly SIMD: no SIMD.' });
    expect(chooseBackend('cpu', { gpu: null, wasm: null }).backend).toBe('cpu');
    expect(chooseBackend('wasm', { gpu: null, wasm: null }).backend).toBe('wasm');
    expect(() => chooseBackend('wasm', { gpu: null, wasm: 'no SIMD.' })).toThrow('WebAssembly was chosen, but no SIMD.');
    expect(() => chooseBackend('webgpu', { gpu: 'no adapter.', wasm: null })).toThrow('WebGPU was chosen, but no adapter.');
  });

  it('wasmFeatures: the SIMD probe validates here (Node 20 has SIMD), relaxed SIMD only with its flag', () => {
    expect(wasmFeatures(WebAssembly)).toEqual({ wasm: true, simd: true, relaxedSimd: process.execArgv.includes('--experimental-wasm-relaxed-simd') || Number(process.versions.node.split('.')[0]) >= 22 });
    expect(wasmFeatures(undefined)).toEqual({ wasm: false, simd: false, relaxedSimd: false });
    expect(wasmFeatures({ validate: () => false })).toEqual({ wasm: true, simd: false, relaxedSimd: false });
  });

  it('cpuModel over createWasmModelAsync (2 threads, Node workers): trains, counts chunks, and destroy ends the workers', async () => {
    const mod = (await import(pathToFileURL(join(build, 'generated', 'lenet5', 'wasm.js')).href)) as { createWasmModelAsync(o: { seed?: number; threads?: number }): Promise<CpuModelLike> };
    const model = await cpuModel((o) => mod.createWasmModelAsync({ ...o, threads: 2 }))(undefined, { seed: 3 });
    const x = mnist.train.images.subarray(0, 32 * 784);
    const first = await model.trainStep(x, mnist.train.labels.subarray(0, 32), 0.05);
    let last = first;
    for (let i = 0; i < 8; i++) last = await model.trainStep(x, mnist.train.labels.subarray(0, 32), 0.05);
    expect(last).toBeLessThan(first);
    const chunks = model.chunksRun() ?? [];
    expect(chunks).toHaveLength(2);
    expect(chunks[0]! + chunks[1]!).toBeGreaterThan(0);
    model.destroy();
    // after dispose the model goes on, on the calling thread alone: no chunk is counted any more
    await model.trainStep(x, mnist.train.labels.subarray(0, 32), 0.05);
    expect(model.chunksRun()).toEqual(chunks);
  }, 60_000);
});

describe('examples/browser on WebAssembly in headless Chromium at 390 px', () => {
  browserIt('cross-origin isolated (serve.ts headers): trains LeNet on 2 threads, and the worker runs chunks', async () => {
    await runPage(CROSS_ORIGIN_ISOLATION, `${SHORT_RUN}&backend=wasm&threads=2`, 'browser-wasm-2-threads.png', async (page) => {
      const backend = page.locator('#backend');
      expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
      expect(await backend.getAttribute('data-isolated')).toBe('true');
      expect(await backend.getAttribute('data-threads')).toBe('2');
      expect(await backend.textContent()).toContain('2 threads, as the URL asks (cross-origin isolated');
      expect(await page.locator('#phase').textContent()).toMatch(/\(WebAssembly, 2 threads\)\.$/);
      // relaxed SIMD as the generated runtime decides it (where it validates: Chromium has it)
      const relaxed = await page.evaluate(`import('/build/generated/lenet5/wasm/runtime.js').then((m) => m.RELAXED_SIMD)`);
      expect(await backend.textContent()).toContain(relaxed === true ? 'SIMD (f32x4), relaxed SIMD (f32x4.relaxed_madd);' : relaxed === false ? 'SIMD (f32x4), no relaxed SIMD (this browser lacks it);' : 'SIMD (f32x4), no relaxed SIMD (this build has none');
      // both threads ran kernel chunks: the page's thread and worker 1 (48 steps: thousands each)
      const chunks = ((await backend.getAttribute('data-chunks')) ?? '').split(',').map(Number);
      expect(chunks).toHaveLength(2);
      expect(chunks.every((n) => n > 0)).toBe(true);
      expect(await backend.textContent()).toContain(`Kernel chunks run: ${chunks[0]} by the page, ${chunks[1]} by worker 1.`);
      // Start again: the backend choice is locked while it runs, a new pool (the last one was
      // disposed) trains to the same end, its own chunks counted from zero
      await page.locator('#start').click();
      expect(await page.locator('#backend-choice').isDisabled()).toBe(true);
      await page.locator('#phase[data-phase="done"], #phase[data-phase="error"]').waitFor({ timeout: 25_000 });
      expect(await page.locator('#phase').getAttribute('data-phase'), (await page.locator('#phase').textContent()) ?? '').toBe('done');
      expect(await page.locator('#backend-choice').isDisabled()).toBe(false);
      const again = ((await backend.getAttribute('data-chunks')) ?? '').split(',').map(Number);
      expect(again.reduce((a, b) => a + b, 0)).toBe(chunks.reduce((a, b) => a + b, 0));
      expect(again[1]).toBeGreaterThan(0);
      // the same bits on 1 and 2 threads in the browser too: 6 steps' losses and the weights
      const bits = (await page.evaluate(`import('/build/generated/lenet5/wasm.js').then(async (m) => {
        const run = async (threads) => {
          const model = await m.createWasmModelAsync({ seed: 5, threads });
          const x = Float32Array.from({ length: 32 * 784 }, (_, i) => ((i * 7919) % 256) / 255);
          const y = Int32Array.from({ length: 32 }, (_, i) => (i * 3) % 10);
          const losses = [];
          for (let s = 0; s < 6; s++) { losses.push(model.lossAndGrad(x, y)); model.sgdStep(0.05, { momentum: 0.9 }); }
          const w = Array.from(new Uint32Array(model.params.c3.weight.slice().buffer));
          const chunks = model.chunksRun();
          model.dispose();
          return { losses, w, chunks };
        };
        return [await run(1), await run(2)];
      })`)) as { losses: number[]; w: number[]; chunks: number[] }[];
      expect(bits[1]!.losses).toEqual(bits[0]!.losses);
      expect(bits[1]!.w).toEqual(bits[0]!.w);
      expect(bits[0]!.losses[5]).toBeLessThan(bits[0]!.losses[0]!);
      expect(bits[1]!.chunks[1]).toBeGreaterThan(0);
    });
  }, 60_000);

  browserIt('not isolated (no COOP/COEP headers): auto picks WebAssembly, on 1 thread, and says why', async () => {
    await runPage({}, `${SHORT_RUN}&threads=2`, 'browser-wasm-1-thread.png', async (page) => {
      const backend = page.locator('#backend');
      expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(false);
      expect(await page.locator('#backend-choice').inputValue()).toBe('auto');
      expect(await backend.getAttribute('data-threads')).toBe('1');
      const text = (await backend.textContent()) ?? '';
      expect(text).toContain('1 thread (2 asked): this page is not cross-origin isolated');
      expect(text).toContain('No WebGPU: ');
      expect(await page.locator('#phase').textContent()).toMatch(/\(WebAssembly, 1 thread\)\.$/);
      expect(await backend.getAttribute('data-chunks')).toBeNull();
      // the generated module itself, asked for threads here: an error that names the headers
      // (it was a DataCloneError from postMessage, after a worker had started)
      // (a string: vitest would rewrite a function's import())
      const refused = await page.evaluate(`import('/build/generated/lenet5/wasm.js').then((m) => m.createWasmModelAsync({ threads: 2 })).then(() => 'made', (e) => e.message)`);
      // WebGPU chosen where headless Chromium has no adapter: the backend line says why
      await page.locator('#backend-choice').selectOption('webgpu');
      await expect.poll(() => backend.getAttribute('data-backend')).toBe('none');
      expect(await backend.textContent()).toMatch(/^WebGPU was chosen, but WebGPU is/);
      expect(refused).toMatch(/^wasm threads: this page is not cross-origin isolated, .*Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or use threads: 1$/);
    });
  }, 60_000);
});
