// The bundler plugin on src/ (no package, no browser): which imports it takes, what each one
// gets, and errors that name the model file, through esbuild and a Vite build.
// test/plugin-vite.test.ts runs the packed package in a real app and browser.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { build as viteBuild } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { ConvgenError } from '../src/errors.ts';
import convgenEsbuild from '../src/plugin/esbuild.ts';
import convgenVite from '../src/plugin/vite.ts';
import { parseModelImport, parseVirtualId, resolveInFolder } from '../src/plugin/virtual.ts';

const dir = mkdtempSync(join(tmpdir(), 'convgen-plugin-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = { name: 'tiny', batch: 2, input: [1, 6, 6], layers: [{ type: 'conv2d', name: 'c1', out_channels: 3, kernel: 3 }, { type: 'flatten' }, { type: 'linear', name: 'out', out_features: 2 }], loss: 'softmax_cross_entropy' };
writeFileSync(join(dir, 'tiny.json'), JSON.stringify(TINY));
writeFileSync(join(dir, 'tiny.convgen.json'), JSON.stringify(TINY));
// a conv whose 9x9 kernel is larger than the 6x6 input
writeFileSync(join(dir, 'broken.json'), JSON.stringify({ ...TINY, layers: [{ type: 'conv2d', name: 'c1', out_channels: 3, kernel: 9 }] }));

describe('the import convention', () => {
  it.each([
    ['./m.json?convgen', { path: './m.json' }],
    ['./m.json?convgen&target=wgsl', { path: './m.json', target: 'wgsl' }],
    ['../models/m.convgen.json', { path: '../models/m.convgen.json' }],
    ['./m.convgen.json?convgen&target=ts', { path: './m.convgen.json', target: 'ts' }],
    ['./m.json?convgen&inference', { path: './m.json', inference: '' }],
    ['./m.json?convgen&target=wgsl&inference=false', { path: './m.json', target: 'wgsl', inference: 'false' }],
    ['./m.json', null], // ordinary JSON imports are untouched
    ['./m.convgen.json?raw', null], // another plugin's query wins over the file name
    ['./m.js?convgen', null],
  ])('%s', (source, expected) => {
    expect(parseModelImport(source)).toEqual(expected);
  });

  it('generated files resolve inside their model\'s virtual folder, never outside it', () => {
    const layer = parseVirtualId('\0convgen:/a/b.json/x/m.json/ts/layers/c1.js')!;
    expect(layer).toEqual({ model: '/a/b.json/x/m.json', target: 'ts', inference: false, file: 'layers/c1.js' });
    // an inference build's files live in a folder of their own
    expect(parseVirtualId('\0convgen:/a/m.json/wgsl-inference/gpu.js')).toEqual({ model: '/a/m.json', target: 'wgsl', inference: true, file: 'gpu.js' });
    expect(resolveInFolder(layer, '../runtime.js')).toEqual({ ...layer, file: 'runtime.js' });
    expect(resolveInFolder(layer, '../../escape.js')).toBeNull();
  });
});

/** bundle `entry` (source text) for Node with the plugin; the bundle's exports, or esbuild's error texts */
async function bundle(name: string, entry: string, options?: Parameters<typeof convgenEsbuild>[0]): Promise<Record<string, unknown>> {
  writeFileSync(join(dir, `${name}.js`), entry);
  const outfile = join(dir, 'out', `${name}.mjs`);
  mkdirSync(join(dir, 'out'), { recursive: true });
  await esbuild.build({ absWorkingDir: dir, entryPoints: [`${name}.js`], bundle: true, format: 'esm', platform: 'node', outfile, plugins: [convgenEsbuild(options)], logLevel: 'silent' });
  return import(pathToFileURL(outfile).href);
}

const errorsOf = async (p: Promise<unknown>): Promise<string[]> => {
  try {
    await p;
  } catch (err) {
    return (err as esbuild.BuildFailure).errors.map((e) => e.text);
  }
  throw new Error('expected the build to fail');
};

describe('through esbuild', () => {
  it('?convgen is the CPU module, &target=wgsl the GPU runtime, *.convgen.json the CPU module, plain JSON stays JSON', async () => {
    const m = await bundle('targets', [
      "export * as cpu from './tiny.json?convgen';",
      "export * as gpu from './tiny.json?convgen&target=wgsl';",
      "export * as byName from './tiny.convgen.json';",
      "export { default as json } from './tiny.json';",
    ].join('\n'));
    const [cpu, gpu, byName] = [m.cpu, m.gpu, m.byName] as Record<string, unknown>[];
    expect([typeof cpu!.createModel, typeof gpu!.createGpuModel, typeof byName!.createModel]).toEqual(['function', 'function', 'function']);
    expect(typeof gpu!.REQUIRED_LIMITS).toBe('object');
    expect(m.json).toEqual(TINY);
  });

  // found in review: `mymodels/net.json?convgen` was read as a path next to the importer
  it('a bare specifier names a model file in a package, found through node_modules', async () => {
    const pkg = join(dir, 'node_modules', 'mymodels');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'mymodels', version: '1.0.0' }));
    writeFileSync(join(pkg, 'net.json'), JSON.stringify({ ...TINY, name: 'from_package' }));
    const m = await bundle('bare', "export * from 'mymodels/net.json?convgen';");
    expect((m.plan as { name: string }).name).toBe('from_package');
  });

  // found in review: the virtual modules' ids held the model's absolute path, which unminified
  // bundles print in their module comments, so two machines built different bundles
  it("a bundle carries no machine's absolute path: the ids are relative to the project root", async () => {
    await bundle('reproducible', "export * from './tiny.json?convgen';");
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(dir, 'out', 'reproducible.mjs'), 'utf8');
    expect(text).toContain('convgen:tiny.json/ts/index.js');
    expect(text.includes(dir)).toBe(false);
  });

  it('the plugin option target picks what a bare ?convgen import gets', async () => {
    const m = await bundle('default-wgsl', "export * from './tiny.json?convgen';", { target: 'wgsl' });
    expect(typeof m.createGpuModel).toBe('function');
  });

  it('&inference (or the plugin option inference) is the forward-only build; &inference=false the training build', async () => {
    const m = await bundle('inference', [
      "export * as cpu from './tiny.json?convgen&inference';",
      "export * as gpu from './tiny.json?convgen&target=wgsl&inference';",
      "export * as training from './tiny.json?convgen';",
    ].join('\n'));
    const [cpu, gpu, training] = [m.cpu, m.gpu, m.training] as Record<string, { inference?: boolean } & ((o?: object) => Record<string, unknown>)>[];
    expect((cpu!.plan as { inference?: boolean }).inference).toBe(true);
    const model = cpu!.createModel!();
    expect(model.training).toBe(false);
    expect([typeof model.forward, 'lossAndGrad' in model, 'grads' in model]).toEqual(['function', false, false]);
    expect(typeof gpu!.createGpuModel).toBe('function');
    expect('lossAndGrad' in training!.createModel!()).toBe(true);
    const byOption = await bundle('inference-option', "export * from './tiny.json?convgen'; export { plan as trainingPlan } from './tiny.json?convgen&inference=false';", { inference: true });
    expect([(byOption.plan as { inference?: boolean }).inference, (byOption.trainingPlan as { inference?: boolean }).inference]).toEqual([true, undefined]);
    const [text] = await errorsOf(bundle('bad-inference', "import './tiny.json?convgen&inference=yes';"));
    expect(text).toContain('inference must be true or false, got "yes"');
    expect(() => convgenEsbuild({ inference: 'yes' as unknown as boolean })).toThrow(ConvgenError);
  });

  it('an invalid model file is an error naming the file and the layer', async () => {
    const [text, ...rest] = await errorsOf(bundle('broken', "import './broken.json?convgen';"));
    expect(rest).toEqual([]);
    expect(text).toMatch(new RegExp(`^${join(dir, 'broken.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: layers\\[0\\]`));
  });

  it('a target other than ts or wgsl is an error naming the import', async () => {
    const [text] = await errorsOf(bundle('bad-target', "import './tiny.json?convgen&target=all';"));
    expect(text).toContain('import "./tiny.json?convgen&target=all": target must be ts or wgsl, got "all"');
  });

  it('a bad plugin option is a ConvgenError when the plugin is created', () => {
    expect(() => convgenEsbuild({ target: 'all' as 'ts' })).toThrow(ConvgenError);
  });
});

describe('through a Vite build', () => {
  it('an invalid model file fails the build with an error naming the file', async () => {
    writeFileSync(join(dir, 'index.html'), '<script type="module" src="./vite-main.js"></script>');
    writeFileSync(join(dir, 'vite-main.js'), "import { createModel } from './broken.json?convgen';\nconsole.log(createModel);\n");
    const failure = await viteBuild({ root: dir, configFile: false, logLevel: 'silent', plugins: [convgenVite()], build: { write: false } }).then(
      () => null,
      (err: Error) => err,
    );
    expect(failure?.message).toContain(`${join(dir, 'broken.json')}: layers[0]`);
  });
});
