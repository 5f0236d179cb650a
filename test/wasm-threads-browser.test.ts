// createWasmModelAsync({ threads }) in Debian's Chromium: the browser path of the wasm threads
// (Blob-URL workers, WebAssembly.compile, the caller spinning where the main thread may not
// block) on LeNet built with --emit js, in a page served with the cross-origin isolation headers
// of examples/browser/server.ts. Two training steps with 1 and with 2 threads give the same bits,
// and the worker ran chunks. Without the headers a page may not send a shared memory to a worker,
// and a threaded model says which headers it needs. Needs /usr/bin/chromium (test/helpers/chromium.ts: CI fails without it).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CROSS_ORIGIN_ISOLATION, createStaticServer } from '../examples/browser/server.ts';
import { haveChromium, launchChromium } from './helpers/chromium.ts';
import { buf, f32, if_, kernel, loop, parallel, store, eq } from '../src/ir/build.ts';
import { lowerKernelWasm } from '../src/wasm/lower.ts';
import { splitKernel } from '../src/wasm/split.ts';
import { kernelModule } from '../src/wasm/run.ts';
import { encodeModule } from '../src/wasm/encode.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = mkdtempSync(join(tmpdir(), 'convgen-threads-page-'));
afterAll(() => rmSync(build, { recursive: true, force: true }));

const browserIt = haveChromium() ? it : it.skip;

// the page: two steps of LeNet with `threads` threads, the loss and a hash of every parameter's bits
const PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="module">
import { createWasmModelAsync, plan } from './lenet5/wasm.js';
import { createHeap, instantiate } from './lenet5/wasm/runtime.js';
import { createPool } from './lenet5/wasm/threads.js';
import { SPIN } from './spin.js';
const hash = (a) => {
  let h = 0;
  for (const v of new Uint32Array(a.buffer, a.byteOffset, a.length)) h = (Math.imul(h, 31) + v) | 0;
  return h;
};
async function run(threads) {
  const m = await createWasmModelAsync({ seed: 3, threads });
  const x = Float32Array.from({ length: plan.inShape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: plan.batch }, (_, i) => i % 10);
  const losses = [];
  for (let s = 0; s < 2; s++) {
    losses.push(m.lossAndGrad(x, labels));
    m.sgdStep(0.05, { momentum: 0.9 });
  }
  const params = Object.entries(m.params).flatMap(([l, ts]) => Object.entries(ts).map(([n, a]) => l + '.' + n + ':' + hash(a)));
  const out = hash(m.forward(x));
  const chunks = m.chunksRun();
  m.dispose();
  return { losses, params, out, chunks };
}
// the main thread spins for the last chunk (it may not block): every chunk is done when run returns
async function spinWait() {
  const heap = createHeap(64, 0, true);
  const pool = createPool(heap, 2, { spin: [SPIN, []] }, [['spin', 'spin', [[0, 8, 8]]]]);
  await pool.ready;
  const own = instantiate('spin', SPIN, heap).spin;
  const y = new Float32Array(heap.memory.buffer, 0, 8);
  let unfinished = 0;
  // a loaded machine may run the worker late for a few jobs (the caller then claims every chunk): more until it has run some
  for (let r = 0; r < 5 || (r < 500 && pool.chunksRun()[1] === 0); r++) {
    y.fill(0);
    pool.run(0, own, [0], 0, 8, 8);
    unfinished += y.filter((v) => v !== 1).length;
  }
  const chunks = pool.chunksRun();
  pool.dispose();
  return { unfinished, chunks };
}
try {
  const spin = self.crossOriginIsolated ? await spinWait() : null;
  const one = await run(1);
  let two = null;
  let error = null;
  try {
    two = await run(2);
  } catch (e) {
    error = String(e);
  }
  window.result = { isolated: self.crossOriginIsolated, spin, one, two, error };
} catch (e) {
  window.result = { failed: String(e && e.stack ? e.stack : e) };
}
</script>`;

async function open(headers: Record<string, string>): Promise<Record<string, unknown>> {
  const server: Server = createStaticServer([{ prefix: '/', dir: build }], headers);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/threads.html`);
    await page.waitForFunction(() => 'result' in window, undefined, { timeout: 60_000 });
    const result = (await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result)) as Record<string, unknown>;
    expect(problems).toEqual([]);
    return result;
  } finally {
    await browser.close();
    await new Promise<void>((done) => server.close(() => done()));
  }
}

describe('wasm threads in headless Chromium', () => {
  browserIt('a cross-origin isolated page: the same bits with 1 and 2 threads, the worker ran chunks', async () => {
    execFileSync(process.execPath, ['bin/convgen.js', 'build', 'examples/lenet.json', '--target', 'wasm', '--emit', 'js', '--out', build], { cwd: repo, encoding: 'utf8' });
    writeFileSync(join(build, 'threads.html'), PAGE);
    // a kernel of 8 chunks that each spin a while (their store in a loop) before the store that marks them done
    const spin = kernel({
      name: 'spin',
      buffers: [buf('y', 8, 'write')],
      body: [parallel('i', 0, 8, (i) => [loop('j', 0, 300000, (j) => [if_(eq(j, -1), [store('y', i, f32(2))])]), store('y', i, f32(1))])],
    });
    const cut = splitKernel(lowerKernelWasm(spin), { phases: [{ loop: 'i', from: 0, to: 8, chunks: 8, work: 0 }], work: 0 });
    writeFileSync(join(build, 'spin.js'), `export const SPIN = '${Buffer.from(encodeModule(kernelModule([cut]))).toString('base64')}';\n`);
    const r = await open(CROSS_ORIGIN_ISOLATION);
    expect(r.failed).toBeUndefined();
    expect(r.isolated).toBe(true);
    expect(r.error).toBeNull();
    // every chunk done when run returned; the worker ran some
    const spinWait = r.spin as { unfinished: number; chunks: number[] };
    expect(spinWait.unfinished).toBe(0);
    expect(spinWait.chunks[1]).toBeGreaterThan(0);
    const one = r.one as { losses: number[]; params: string[]; out: number; chunks: number[] };
    const two = r.two as typeof one;
    expect(one.params.length).toBe(10);
    expect(two.losses).toEqual(one.losses);
    expect(two.params).toEqual(one.params);
    expect(two.out).toBe(one.out);
    expect(one.chunks).toEqual([]);
    expect(two.chunks).toHaveLength(2);
    expect(two.chunks[1]).toBeGreaterThan(0);

    // without the headers: no shared memory for the workers; one thread still works
    const plain = await open({});
    expect(plain.isolated).toBe(false);
    expect((plain.one as typeof one).losses).toEqual(one.losses);
    expect(plain.error).toMatch(/^Error: wasm threads: this page is not cross-origin isolated, which a shared memory needs: serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
  }, 180_000);
});
