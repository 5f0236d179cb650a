// The generated .ts must type-check in any app, under the strictest settings an app may use
// (it failed with noUncheckedIndexedAccess: every typed-array read was `number | undefined`).
// Every example, every target, built as `convgen build` builds it, checked with one
// ts.Program per configuration: a bundler app and a Node ESM app, each with the one setting
// that `.ts` import specifiers need.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { planFile } from '../src/cli/plan.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { emitModel } from '../src/emit/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { CONFIGS, STRICT, type Config } from './helpers/tsconfigs.ts';

const EXAMPLES = ['lenet', 'decoder', 'signal1d', 'seed', 'vgg', 'seed_branches'];
// batch norm (momentum null too), dropout and their buffers, which no example has
const FIXTURES = ['test/fixtures/torch/bn_model.json'];
/** examples with another loss, so each loss's lossAndGrad / trainStep / uploadBatch is checked too */
const LOSS_VARIANTS = [
  { example: 'decoder', loss: 'mse', name: 'decoder_mse' },
  { example: 'seed', loss: 'bce_with_logits', name: 'seed_bce' },
] as const;
/** output_softmax: softmax.ts, and the eval forward's readback of gpu.ts; a training and an inference build */
const SOFTMAX_VARIANTS = [
  { example: 'lenet', name: 'lenet_softmax', inference: false },
  { example: 'lenet', name: 'lenet_softmax_inf', inference: true },
] as const;

let root: string;
/** the generated .ts files, relative to an app root (generated/<model>/...) */
const files: Record<string, string> = {};
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'convgen-typecheck-'));
  const plans = [...EXAMPLES.map((e) => `examples/${e}.json`), ...FIXTURES].map((m) => planFile(m));
  for (const v of LOSS_VARIANTS) {
    const spec = JSON.parse(readFileSync(`examples/${v.example}.json`, 'utf8'));
    plans.push(planModel(parseModel({ ...spec, name: v.name, loss: v.loss })));
  }
  for (const v of SOFTMAX_VARIANTS) {
    const spec = JSON.parse(readFileSync(`examples/${v.example}.json`, 'utf8'));
    plans.push(planModel(parseModel({ ...spec, name: v.name, output_softmax: true }), { inference: v.inference }));
  }
  for (const plan of plans) {
    for (const [p, text] of Object.entries(await emitModel(plan, { target: 'all' }))) {
      if (p.endsWith('.ts')) files[`generated/${plan.name}/${p}`] = text;
    }
  }
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

// lib.dom.d.ts alone is ~2 MB: parse the default libraries once for every program
const libCache = new Map<string, ts.SourceFile | undefined>();
const libDir = dirname(ts.getDefaultLibFilePath({}));

function check(c: Config, app: Record<string, string>, libs: readonly string[] = []): string[] {
  const dir = join(root, c.name.replace(/[^a-z0-9]+/gi, '-'));
  for (const [p, text] of Object.entries(app)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  for (const [folder, pkg] of Object.entries(c.packages)) writeFileSync(join(dir, folder, 'package.json'), JSON.stringify(pkg));
  const options = { ...STRICT, ...c.options };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    if (!name.startsWith(libDir)) return getSourceFile(name, lang, onError, create);
    const key = `${name}\0${JSON.stringify(lang)}`;
    if (!libCache.has(key)) libCache.set(key, getSourceFile(name, lang, onError, create));
    return libCache.get(key);
  };
  const program = ts.createProgram([...Object.keys(app).map((p) => join(dir, p)), ...libs], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const where = d.file ? `${d.file.fileName.slice(dir.length + 1)}${at ? `:${at.line + 1}:${at.character + 1}` : ''}: ` : '';
    return `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('the generated TypeScript type-checks in any app', () => {
  it('covers every file kind of every example', () => {
    const kinds = new Set(Object.keys(files).map((p) => p.split('/').slice(2).join('/').replace(/^layers\/.*/, 'layers/*')));
    expect([...kinds].sort()).toEqual(['gpu.ts', 'grads.ts', 'index.ts', 'layers/*', 'runtime.ts', 'softmax.ts', 'train.ts', 'wasm.ts', 'wasm/kernels.ts', 'wasm/runtime.ts', 'wasm/threads.ts']);
    expect(new Set(Object.keys(files).map((p) => p.split('/')[1])).size).toBe(EXAMPLES.length + FIXTURES.length + LOSS_VARIANTS.length + SOFTMAX_VARIANTS.length);
  });

  for (const c of CONFIGS) {
    it(c.name, () => {
      const problems = check(c, files);
      // the first few say what broke; the count says how widely
      expect(problems.slice(0, 10), `${problems.length} diagnostics`).toEqual([]);
    }, 60_000);
  }

  // gpu.ts types the device structurally (no dependency); an app that has @webgpu/types passes its GPUDevice as it is
  it('takes a GPUDevice of @webgpu/types with no cast', () => {
    const require = createRequire(import.meta.url);
    const webgpuTypes = join(dirname(require.resolve('@webgpu/types/package.json')), 'dist/index.d.ts');
    const app = [
      "import { createGpuModel, REQUIRED_LIMITS } from './generated/lenet5/gpu.ts';",
      "import { createGpuModel as createDecoder } from './generated/dcgan_decoder/gpu.ts';",
      "import { createGpuModel as createMse } from './generated/decoder_mse/gpu.ts';",
      "import { createModel, type Optimizer } from './generated/decoder_mse/index.ts';",
      '',
      'const adapter = await navigator.gpu.requestAdapter();',
      "if (!adapter) throw new Error('no adapter');",
      'const device: GPUDevice = await adapter.requestDevice({ requiredLimits: REQUIRED_LIMITS });',
      'const model = await createGpuModel(device, { seed: 1 });',
      'const loss: number = await model.trainStep(new Float32Array(32 * 784), new Int32Array(32), 0.1, { momentum: 0.9 });',
      "const optimizer: Optimizer = { type: 'adamw', lr: 1e-3, weightDecay: 0.05, amsgrad: true };",
      'await model.trainStep(model.uploadBatch(new Float32Array(32 * 784), new Int32Array(32)), undefined, optimizer);',
      'model.adamStep();',
      "model.optimizerStep({ type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true });",
      'model.resetOptimizer();',
      'const params = await model.readParams();',
      'model.writeParams({ c1: { weight: params.c1.weight } });',
      'await createDecoder(device);',
      'const mse = await createMse(device);',
      'await mse.trainStep(mse.uploadBatch(new Float32Array(4 * 16 * 4 * 4), new Float32Array(4 * 3 * 32 * 32)), undefined, { type: "adam" });',
      'const cpu = createModel();',
      'cpu.adamwStep(1e-3, { beta1: 0.9, amsgrad: true });',
      "cpu.optimizerStep({ type: 'adam', lr: 1e-3 });",
      'const l: number = cpu.lossAndGrad(new Float32Array(4 * 16 * 4 * 4), new Float32Array(4 * 3 * 32 * 32));',
      'export { loss, l };',
      '',
    ].join('\n');
    const used = Object.fromEntries(Object.entries(files).filter(([p]) => /^generated\/(lenet5|dcgan_decoder|decoder_mse)\//.test(p)));
    const problems = check({ ...CONFIGS[0]!, name: 'an app with @webgpu/types' }, { ...used, 'app.ts': app }, [webgpuTypes]);
    expect(problems.slice(0, 10), `${problems.length} diagnostics`).toEqual([]);
  }, 60_000);
});
