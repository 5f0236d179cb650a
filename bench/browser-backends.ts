// The browser example's page (examples/browser/) in headless Chromium, one backend against
// another: samples/s of training on the TypeScript kernels, on WebAssembly with 1 thread and
// with 2 threads, as the page's epoch table shows them (training time only, without the test
// pass). Each run is a fresh page (so each pays its own compile and JIT warm-up) training 2
// epochs: epoch 1 is what a visitor sees first, epoch 2 the steady state. The backends run in
// alternating rounds so a change of load hits all of them; the load average is printed beside.
//
//   npx tsx bench/browser-backends.ts [--rounds 3] [--train 1024] [--model lenet5|resnet_small|both]
//
// Needs Debian's chromium (test/helpers/chromium.ts). Builds into a temp folder, as the test does.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDigitFiles, writeManifest } from '../examples/browser/data.ts';
import { CROSS_ORIGIN_ISOLATION, createStaticServer } from '../examples/browser/server.ts';
import { loadMnist } from '../examples/mnist/data.ts';
import { launchChromium } from '../test/helpers/chromium.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const rounds = Number(arg('rounds', '3'));
const trainCount = Number(arg('train', '1024'));
const modelArg = arg('model', 'both');
const models = modelArg === 'both' ? ['lenet5', 'resnet_small'] : [modelArg];

/** the backends compared, as URL parameters of the page */
const BACKENDS = [
  { name: 'TypeScript', query: 'backend=cpu' },
  { name: 'wasm, 1 thread', query: 'backend=wasm&threads=1' },
  { name: 'wasm, 2 threads', query: 'backend=wasm&threads=2' },
];

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = mkdtempSync(join(tmpdir(), 'convgen-bench-page-'));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

try {
  const files = ['lenet.json', 'resnet.json'].map((f) => join(repo, 'examples', f));
  execFileSync(process.execPath, ['bin/convgen.js', 'build', ...files, '--emit', 'js', '--out', join(build, 'generated')], { cwd: repo, encoding: 'utf8' });
  writeManifest(build, files);
  const mnist = loadMnist();
  writeDigitFiles(build, { train: mnist.train, test: mnist.test });
  const server = createStaticServer(
    [
      { prefix: '/build/', dir: build },
      { prefix: '/', dir: join(repo, 'examples', 'browser') },
    ],
    CROSS_ORIGIN_ISOLATION,
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const browser = await launchChromium();
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  console.log(`headless Chromium, ${cpus().length} logical cores; ${trainCount} training digits x 2 epochs per run, ${rounds} rounds; load average at the start ${load()}`);
  /** samples/s of [epoch 1, epoch 2] per model and backend, over the rounds */
  const results = new Map<string, number[][]>();
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const model of models) {
        for (const b of BACKENDS) {
          const page = await browser.context.newPage();
          await page.goto(`${base}?model=${model}&epochs=2&train=${trainCount}&test=64&grid=8&autostart=1&${b.query}`);
          await page.locator('#phase[data-phase="done"], #phase[data-phase="error"]').waitFor({ timeout: 300_000 });
          if ((await page.locator('#phase').getAttribute('data-phase')) !== 'done') throw new Error(`${model}, ${b.name}: ${await page.locator('#phase').textContent()}`);
          const perEpoch = (await page.locator('#epochs-table tr td:nth-child(6)').allTextContents()).map(Number);
          const key = `${model} | ${b.name}`;
          results.set(key, [...(results.get(key) ?? []), perEpoch]);
          console.log(`round ${r}: ${key}: ${perEpoch.join(', ')} samples/s (epochs 1, 2); load ${load()}`);
          await page.close();
        }
      }
    }
  } finally {
    await browser.close();
    await new Promise((done) => server.close(done));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nmedians over ${rounds} rounds (load average at the end ${load()}):\n`);
  console.log('| model | backend | samples/s, epoch 1 | samples/s, epoch 2 | epoch 2 / TypeScript |');
  console.log('|---|---|---:|---:|---:|');
  for (const model of models) {
    const ts = median(results.get(`${model} | TypeScript`)!.map((e) => e[1]!));
    for (const b of BACKENDS) {
      const runs = results.get(`${model} | ${b.name}`)!;
      const e1 = median(runs.map((e) => e[0]!));
      const e2 = median(runs.map((e) => e[1]!));
      console.log(`| ${model} | ${b.name} | ${e1} | ${e2} | ${(e2 / ts).toFixed(1)}x |`);
    }
  }
} finally {
  rmSync(build, { recursive: true, force: true });
}
