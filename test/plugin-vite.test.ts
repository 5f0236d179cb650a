// The bundler plugin as an app gets it: `npm pack` (prepack builds dist/), a fresh copy of
// examples/vite-app/ with the tarball and Vite installed, `vite build`, and the built page
// opened in Debian's Chromium, where it trains the model it imported and the losses must fall.
// The same install bundles a model through `convgen/esbuild` and runs it in Node. Then Vite's
// dev server (on src/ through the API): a changed model file reaches every generated module.
// The browser test needs /usr/bin/chromium; see test/helpers/chromium.ts for the CI rule.

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer } from '../examples/browser/server.ts';
import convgenVite from '../src/plugin/vite.ts';
import { haveChromium, launchChromium } from './helpers/chromium.ts';
import { appEnv, packTarball } from './helpers/pack.ts';
import { readmeBlock } from './helpers/readme.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'convgen-plugin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const app = join(work, 'app');
const output = join(repo, '.tmp', 'test-output');

const run = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, env: appEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** the version of a package this repository has installed: the app installs that one, from the cache */
const installed = (name: string): string => JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;

describe('the packed package in a fresh Vite app (examples/vite-app/)', () => {
  beforeAll(() => {
    const tarball = packTarball();
    // the app's own files only: not what a local `npm install` or `vite build` left there
    const local = new Set(['node_modules', 'dist', 'package-lock.json']);
    cpSync(join(repo, 'examples', 'vite-app'), app, { recursive: true, filter: (src) => !local.has(basename(src)) });
    // the README's vite.config.js, as a user copies it
    writeFileSync(join(app, 'vite.config.js'), readmeBlock('vite.config.js'));
    run('npm', ['install', tarball, `vite@${installed('vite')}`, '--prefer-offline', '--no-audit', '--no-fund'], app);
    run(process.execPath, [join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], app);
  }, 180_000);

  it('exports the plugin for Vite, Rollup and esbuild, and the unplugin object, each with types', async () => {
    const require = createRequire(join(app, 'package.json'));
    for (const sub of ['vite', 'rollup', 'esbuild', 'plugin']) {
      const file = require.resolve(`convgen/${sub}`);
      expect(existsSync(file.replace(/\.js$/, '.d.ts')), `convgen/${sub} types`).toBe(true);
      const mod = await import(pathToFileURL(file).href);
      expect(typeof (sub === 'plugin' ? mod.convgen.vite : mod.default), `convgen/${sub}`).toBe('function');
    }
  });

  it("the plugin entries' types resolve in the app: the Vite plugin is Vite's Plugin type, not any", { timeout: 60_000 }, () => {
    writeFileSync(
      join(app, 'types-check.mts'),
      `import type { Plugin } from 'vite';
import vite from 'convgen/vite';
import rollup from 'convgen/rollup';
import esbuild from 'convgen/esbuild';
import { convgen, type ConvgenPluginOptions } from 'convgen/plugin';
type IsAny<T> = 0 extends 1 & T ? true : false;
const options: ConvgenPluginOptions = { target: 'wgsl', strategy: 'im2row', limits: { maxStorageBufferBindingSize: 1 << 28 } };
const p = vite(options);
export const notAny: IsAny<typeof p> = false;
export const plugins: Plugin | Plugin[] = p;
export const others = [rollup(), esbuild({ target: 'ts' }), convgen.vite()];
`,
    );
    const program = ts.createProgram([join(app, 'types-check.mts')], {
      strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    });
    const diags = ts.getPreEmitDiagnostics(program);
    expect(ts.formatDiagnostics(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => app, getNewLine: () => '\n' })).toBe('');
  });

  it('vite build compiled the imported model into the bundle', () => {
    const assets = join(app, 'dist', 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js).toHaveLength(1);
    const code = readFileSync(join(assets, js[0]!), 'utf8');
    // minified: the kernels' names are gone, the plan's data stays; and shapes.json was not
    // bundled as JSON (out_channels is a key of the model file, not of the plan)
    const has = (s: string): boolean => code.includes(s);
    expect({ plan: has('name:`shapes`'), inShape: has('inShape:[16,1,12,12]'), params: has('params:2276'), json: has('out_channels') }).toEqual({ plan: true, inShape: true, params: true, json: false });
  });

  const browserIt = haveChromium() ? it : it.skip;

  browserIt('the built page trains the model in Chromium: the losses fall', async () => {
    const server: Server = createStaticServer([{ prefix: '/', dir: join(app, 'dist') }]);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const result = page.locator('#result:not([data-status="running"])');
      await result.waitFor({ timeout: 30_000 });
      const data = await result.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
      const losses = await page.locator('#losses li').evaluateAll((items) => items.map((li) => Number((li as HTMLElement).dataset.loss)));
      mkdirSync(output, { recursive: true });
      await page.screenshot({ path: join(output, 'vite-app.png'), fullPage: true });

      expect(data.status, data.error).toBe('done');
      expect(problems).toEqual([]);
      expect(losses).toHaveLength(Number(data.steps));
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(Number(data.firstLoss)).toBe(losses[0]);
      expect(Number(data.lastLoss)).toBe(losses.at(-1));
      // 4 classes: the first loss is near ln 4; 30 steps of SGD with momentum take it well below
      expect(losses[0]).toBeGreaterThan(1.2);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! / 2);
    } finally {
      await browser.close();
      await new Promise((done) => server.close(done));
    }
  }, 60_000);

  it('convgen/esbuild bundles a model for Node, and a forward pass gives the output size', async () => {
    const require = createRequire(join(app, 'package.json'));
    const { default: convgen } = await import(pathToFileURL(require.resolve('convgen/esbuild')).href);
    writeFileSync(join(app, 'node-entry.js'), [
      "import { createModel, plan } from './shapes.json?convgen';",
      'const model = createModel({ seed: 1 });',
      'const y = model.forward(new Float32Array(plan.inShape.reduce((a, b) => a * b)).fill(0.5));',
      'console.log(JSON.stringify({ name: plan.name, outShape: plan.outShape, length: y.length, finite: y.every(Number.isFinite) }));',
    ].join('\n'));
    const out = join(app, 'node-bundle.mjs');
    await esbuild.build({ absWorkingDir: app, entryPoints: ['node-entry.js'], bundle: true, format: 'esm', platform: 'node', outfile: out, plugins: [convgen()], logLevel: 'silent' });
    expect(JSON.parse(run(process.execPath, [out], app))).toEqual({ name: 'shapes', outShape: [16, 4], length: 64, finite: true });
  }, 30_000);
});

describe('Vite dev server: a changed model file reaches every generated module', () => {
  const dir = join(work, 'dev');
  const model = (batch: number, channels: number) =>
    JSON.stringify({ name: 'tiny', batch, input: [1, 6, 6], layers: [{ type: 'conv2d', name: 'c1', out_channels: channels, kernel: 3 }, { type: 'flatten' }, { type: 'linear', name: 'out', out_features: 2 }], loss: 'softmax_cross_entropy' });
  let server: ViteDevServer;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tiny.json'), model(2, 3));
    writeFileSync(join(dir, 'main.js'), "import { createModel } from './tiny.json?convgen';\nconsole.log(createModel);\n");
    server = await createServer({ root: dir, configFile: false, logLevel: 'silent', plugins: [convgenVite()], server: { middlewareMode: true } });
  });
  afterAll(() => server?.close());

  /** a module the way the browser asks for it: `/@id/__x00__...` is a virtual id's URL */
  const get = async (url: string): Promise<string> => (await server.transformRequest(url.replace('/@id/__x00__', '\0')))!.code;
  const importOf = (code: string, file: string): string => new RegExp(`from "([^"]*/${file})"`).exec(code)![1]!;

  it('rebuilds the entry and its layer files, and tells the page to reload', async () => {
    const entry = importOf(await get('/main.js'), 'index.js');
    const layer = importOf(await get(entry), 'layers/c1.js');
    expect(await get(entry)).toContain('// model tiny: batch 2,');
    expect(await get(layer)).toContain('export function conv3x3_1x6x6_to_3_fwd_direct(');

    const sent: unknown[] = [];
    const hot = server.environments.client.hot;
    const send = hot.send.bind(hot) as (...a: unknown[]) => void;
    hot.send = ((...a: unknown[]) => (sent.push(a[0]), send(...a))) as typeof hot.send;
    writeFileSync(join(dir, 'tiny.json'), model(4, 5));
    for (let waited = 0; sent.length === 0 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));

    expect(sent).toContainEqual(expect.objectContaining({ type: 'full-reload' }));
    expect(await get(entry)).toContain('// model tiny: batch 4,');
    expect(await get(layer)).toContain('export function conv3x3_1x6x6_to_5_fwd_direct(');
  }, 30_000);
});
