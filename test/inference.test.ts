// Forward-only builds (`convgen build --inference`, build(model, { inference: true })): the
// files hold the eval-mode forward kernels and nothing of training; the module type-checks in
// any app, with no training member in its types; its forward is the training build's
// eval-mode forward, bit for bit, on both targets (the GPU on a real adapter); it loads what
// the training build saves; batch norm on one value per channel plans only for inference.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { CASES, mulberry32, planCase, randomArray } from './cases.ts';
import { buildAndImport, cleanupBuilds, type GeneratedModel } from './helpers/build-module.ts';
import { CONFIGS, STRICT, type Config } from './helpers/tsconfigs.ts';
import { runCaptured } from './helpers/cli.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';
import { planFile } from '../src/cli/plan.ts';
import { buildCommand } from '../src/cli/build.ts';
import { checkCommand } from '../src/cli/check.ts';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { numel } from '../src/plan/types.ts';
import { formatPlanTable } from '../src/plan/table.ts';
import { emitModel } from '../src/emit/index.ts';
import { emitGpuFiles } from '../src/emit/gpu.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { MANIFEST_FILE } from '../src/emit/output.ts';
import { build, check } from '../src/api.ts';
import { ConvgenError } from '../src/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'convgen-inference-'));
afterAll(() => {
  cleanupBuilds();
  rmSync(root, { recursive: true, force: true });
});

const EXAMPLES = ['lenet', 'vgg', 'unet', 'signal1d', 'decoder', 'seed_branches'];
const BN_FIXTURE = 'test/fixtures/torch/bn_model.json';
/** batch norm on one value per channel: PyTorch refuses it in training mode, eval mode takes it */
const BN_BATCH1 = {
  name: 'bn_batch1',
  batch: 1,
  input: [3, 1, 1],
  layers: [
    { type: 'flatten', name: 'flat' },
    { type: 'linear', name: 'fc', out_features: 4 },
    { type: 'batchnorm1d', name: 'bn' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', name: 'out', out_features: 2 },
  ],
  loss: 'softmax_cross_entropy',
};
const inferencePlan = (json: object): ModelPlan => planModel(parseModel(json as Record<string, unknown>), { inference: true });
/** the shared cases with batch norm or dropout: their eval-mode kernels differ from training mode's */
const MODAL = CASES.filter((c) => c.kinds.some((k) => k === 'batchnorm1d' || k === 'batchnorm2d' || k === 'dropout') && c.kinds.length > 2);

/** the kernels a build defines: `export function <name>(` in its .ts files (runtime.ts holds helpers, no kernel) and the wgsl/<name>.wgsl files */
function kernelNames(files: Record<string, string>): string[] {
  const names = Object.entries(files).flatMap(([p, text]) => (p.endsWith('.ts') && p !== 'runtime.ts' ? [...text.matchAll(/^export function (\w+)\(/gm)].map((m) => m[1]!) : []));
  const wgsl = Object.keys(files).flatMap((p) => /^wgsl\/(\w+)\.wgsl$/.exec(p)?.[1] ?? []);
  return [...names, ...wgsl];
}
const TRAINING_KERNEL = /_dx|_dw|_db|_bwd|sgd|adam|cross_entropy|mse|bce|_sum\d|_train/;

describe('what an inference build emits', () => {
  it('forward kernels only: no gradient, loss or optimizer kernel, no grads.ts or train.ts (the training build has them)', async () => {
    for (const plan of [...EXAMPLES.map((e) => planFile(`examples/${e}.json`)), planFile(BN_FIXTURE), ...MODAL.map((c) => planCase(c))]) {
      const training = await emitModel(plan);
      const inference = await emitModel({ ...plan, inference: true });
      // the pattern finds the training kernels (so the assertion below can fail)
      expect(kernelNames(training).filter((k) => TRAINING_KERNEL.test(k)).length, plan.name).toBeGreaterThan(0);
      const names = kernelNames(inference);
      expect(names.length, plan.name).toBeGreaterThan(0);
      expect(names.filter((k) => TRAINING_KERNEL.test(k)), plan.name).toEqual([]);
      expect(Object.keys(inference).filter((p) => p === 'grads.ts' || p === 'train.ts'), plan.name).toEqual([]);
      // every kernel it runs is one of the training build's (its eval-mode forward), the same text
      for (const p of Object.keys(inference).filter((q) => q.startsWith('wgsl/'))) expect(training[p]?.split('\n').slice(-5), `${plan.name} ${p}`).toEqual(inference[p]!.split('\n').slice(-5));
      expect(Object.keys(inference).length, plan.name).toBeLessThan(Object.keys(training).length);
    }
  }, 120_000);

  it('eval-mode kernels: batch norm normalizes with running stats, dropout draws no mask', async () => {
    const files = await emitModel(planFile(BN_FIXTURE).inference ? planFile(BN_FIXTURE) : { ...planFile(BN_FIXTURE), inference: true });
    const names = kernelNames(files);
    expect(names.filter((k) => k.startsWith('bn') || k.startsWith('dropout')).every((k) => k.endsWith('_fwd_eval'))).toBe(true);
    expect(files['index.ts']).not.toMatch(/rngState|num_batches_tracked\[0\] =|training = /);
  });
});

describe('the plan of an inference build', () => {
  it('says so in the title, shows no backward MFLOPs, and its JSON carries inference: true (a training plan has no key)', () => {
    const plan = inferencePlan(BN_BATCH1);
    expect(formatPlanTable(plan)).toMatchInlineSnapshot(`
      "model bn_batch1: batch 1, input 3x1x1, output 2, inference (forward only)

      | layer    | op          | in    | out | k/s/p/d | strategy | params | MFLOP fwd | MFLOP bwd | act KiB |
      |----------|-------------|-------|-----|---------|----------|-------:|----------:|----------:|--------:|
      | flat     | flatten     | 3x1x1 | 3   | -       | -        |      0 |     0.000 |         - |     0.0 |
      | fc       | linear      | 3     | 4   | -       | -        |     16 |     0.000 |         - |     0.0 |
      | bn       | batchnorm1d | 4     | 4   | -       | -        |      8 |     0.000 |         - |     0.0 |
      | dropout3 | dropout     | 4     | 4   | p=0.5   | -        |      0 |     0.000 |         - |     0.0 |
      | out      | linear      | 4     | 2   | -       | -        |     10 |     0.000 |         - |     0.0 |
      | total    |             | 3x1x1 | 2   |         |          |     34 |     0.000 |         - |     0.1 |
      "
    `);
    expect(plan.inference).toBe(true);
    expect('inference' in planFile('examples/lenet.json')).toBe(false);
  });

  it('convgen plan --inference prints it, --json carries it', async () => {
    const { planCommand } = await import('../src/cli/plan.ts');
    const table = await runCaptured(planCommand, ['examples/lenet.json', '--inference', '--width', '200']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toBe('model lenet5: batch 32, input 1x28x28, output 10, inference (forward only)');
    expect(table.out).toContain('|         - |');
    const json = await runCaptured(planCommand, ['examples/lenet.json', '--inference', '--json']);
    expect(JSON.parse(json.out).inference).toBe(true);
  });

  it('the generated files open with that table', async () => {
    const files = await emitModel(inferencePlan(BN_BATCH1));
    for (const p of ['index.ts', 'gpu.ts', 'layers/bn.ts', 'wgsl/bn1d_4_fwd_eval.wgsl']) expect(files[p], p).toContain('// model bn_batch1: batch 1, input 3x1x1, output 2, inference (forward only)');
  });

  it('batch norm on one value per channel: an inference build takes it, a training build refuses it', async () => {
    expect(() => planModel(parseModel(BN_BATCH1))).toThrow(/needs more than 1 value per channel[\s\S]*--inference/);
    const mod = await buildAndImport(inferencePlan(BN_BATCH1));
    const y = mod.createModel({ seed: 3 }).forward(new Float32Array([1, -2, 0.5]));
    expect(y.length).toBe(2);
    expect([...y].every(Number.isFinite)).toBe(true);
    // without running stats eval mode uses the batch's too: still refused
    const noStats = { ...BN_BATCH1, layers: BN_BATCH1.layers.map((l) => (l.type === 'batchnorm1d' ? { ...l, track_running_stats: false } : l)) };
    expect(() => inferencePlan(noStats)).toThrow(/more than 1 value per channel/);
  });
});

/** some training steps, so the parameters and running stats are not their initial values */
function trainSome(plan: ModelPlan, model: GeneratedModel, rng: () => number): void {
  for (let step = 0; step < 2; step++) {
    const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
    if (plan.outShape.length === 2) model.lossAndGrad(x, Int32Array.from({ length: plan.batch }, () => Math.floor(rng() * plan.outShape[1]!)));
    else {
      model.forward(x);
      model.backward(Float32Array.from(randomArray(numel(plan.outShape), rng)));
    }
    model.sgdStep(0.05);
  }
}

interface InferenceModel {
  readonly training: boolean;
  forward(x: Float32Array): Float32Array;
  loadSafetensors(bytes: Uint8Array): unknown;
  saveSafetensors(): Uint8Array;
  readonly params: Record<string, { weight?: Float32Array }>;
}

describe('the TS module of an inference build', () => {
  const models: [string, () => ModelPlan][] = [
    ['bn fixture', () => planFile(BN_FIXTURE)],
    ['seed_branches', () => planFile('examples/seed_branches.json')],
    ['signal1d', () => planFile('examples/signal1d.json')],
    ...MODAL.map((c): [string, () => ModelPlan] => [c.name, () => planCase(c)]),
  ];
  for (const [name, planOf] of models) {
    it(`${name}: forward is the training build's eval-mode forward, bit for bit, from the same seed and after loading what it saved`, async () => {
      const plan = planOf();
      const trainingModule = await buildAndImport(plan);
      const inferenceModule = await buildAndImport({ ...plan, inference: true });
      const trained = trainingModule.createModel({ seed: 5 });
      const inference = inferenceModule.createModel({ seed: 5 }) as unknown as InferenceModel;
      expect(inference.training).toBe(false);
      for (const member of ['grads', 'backward', 'lossAndGrad', 'sgdStep', 'adamStep', 'train', 'eval']) expect(member in inference, member).toBe(false);
      const rng = mulberry32(11);
      const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
      // the same init for the same seed
      trained.eval();
      expect(Float32Array.from(inference.forward(x))).toEqual(Float32Array.from(trained.forward(x)));
      // trained weights and running stats, through safetensors
      trained.train();
      trainSome(plan, trained, rng);
      trained.eval();
      const want = Float32Array.from(trained.forward(x));
      expect(Float32Array.from(inference.forward(x))).not.toEqual(want);
      inference.loadSafetensors((trained as unknown as InferenceModel).saveSafetensors());
      expect(Float32Array.from(inference.forward(x))).toEqual(want);
      // and back: the inference build saves the same state_dict
      expect(inference.saveSafetensors()).toEqual((trained as unknown as InferenceModel).saveSafetensors());
    }, 60_000);
  }
});

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

interface GpuModel {
  readonly training: boolean;
  forward(x: Float32Array): Promise<Float32Array>;
  lossAndGrad(x: Float32Array, labels?: Int32Array): Promise<number>;
  sgdStep(lr: number): void;
  eval(): GpuModel;
  loadSafetensors(bytes: Uint8Array): Promise<unknown>;
  saveSafetensors(): Promise<Uint8Array>;
  destroy(): void;
}

async function gpuModule(plan: ModelPlan, tag: string): Promise<(device: GPUDevice, o?: { seed?: number }) => Promise<GpuModel>> {
  const dir = join(root, `${tag}-${plan.name}`);
  writeOutputAtomic(dir, emitGpuFiles(plan, lowerModel(plan, { target: 'wgsl' })));
  return ((await import(pathToFileURL(join(dir, 'gpu.ts')).href)) as { createGpuModel: never }).createGpuModel;
}

describe('the WebGPU module of an inference build', () => {
  for (const [name, planOf] of [['bn fixture', () => planFile(BN_FIXTURE)], ...MODAL.slice(0, 2).map((c): [string, () => ModelPlan] => [c.name, () => planCase(c)])] as [string, () => ModelPlan][]) {
    gpuIt(`${name}: forward is the training build's eval-mode forward, bit for bit, after loading what it saved`, async () => {
      const plan = planOf();
      const trained = await (await gpuModule(plan, 'training'))(device!, { seed: 2 });
      const inference = await (await gpuModule({ ...plan, inference: true }, 'inference'))(device!, { seed: 2 });
      try {
        expect(inference.training).toBe(false);
        for (const member of ['backward', 'lossAndGrad', 'trainStep', 'sgdStep', 'readGrads', 'train', 'eval']) expect(member in inference, member).toBe(false);
        const rng = mulberry32(7);
        const x = Float32Array.from(randomArray(numel(plan.inShape), rng));
        trained.eval();
        expect(await inference.forward(x)).toEqual(await trained.forward(x));
        (trained as unknown as { train(): void }).train();
        await trained.lossAndGrad(x, Int32Array.from({ length: plan.batch }, (_, n) => n % plan.outShape[1]!));
        trained.sgdStep(0.05);
        trained.eval();
        const want = await trained.forward(x);
        await inference.loadSafetensors(await trained.saveSafetensors());
        expect(await inference.forward(x)).toEqual(want);
      } finally {
        trained.destroy();
        inference.destroy();
      }
    }, 120_000);
  }
});

// ---- types: the strict app configurations ----------------------------------------------

const libCache = new Map<string, ts.SourceFile | undefined>();
function typecheck(c: Config, app: Record<string, string>): string[] {
  const dir = join(root, 'typecheck', c.name.replace(/[^a-z0-9]+/gi, '-'));
  for (const [p, text] of Object.entries(app)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  for (const [folder, pkg] of Object.entries(c.packages)) writeFileSync(join(dir, folder, 'package.json'), JSON.stringify(pkg));
  const options = { ...STRICT, ...c.options };
  const host = ts.createCompilerHost(options);
  const get = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    const key = `${name}\0${JSON.stringify(lang)}`;
    if (!name.includes('/typescript/lib/')) return get(name, lang, onError, create);
    if (!libCache.has(key)) libCache.set(key, get(name, lang, onError, create));
    return libCache.get(key);
  };
  const program = ts.createProgram(Object.keys(app).map((p) => join(dir, p)), options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? d.file.fileName.slice(dir.length + 1) : ''}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

describe('an inference build type-checks in any app, and its types have no training member', async () => {
  const files: Record<string, string> = {};
  for (const plan of [...['lenet', 'vgg', 'unet', 'decoder', 'seed_branches'].map((e) => planFile(`examples/${e}.json`, { inference: true })), planFile(BN_FIXTURE, { inference: true }), inferencePlan(BN_BATCH1)]) {
    for (const [p, text] of Object.entries(await emitModel(plan))) if (p.endsWith('.ts')) files[`generated/${plan.name}/${p}`] = text;
  }
  // each @ts-expect-error fails the check when the line type-checks (the member exists)
  files['app.ts'] = [
    "import { createModel, type Model } from './generated/bn_torch/index.ts';",
    "import { createGpuModel, type GpuModel } from './generated/bn_torch/gpu.ts';",
    'const model: Model = createModel({ seed: 1 });',
    'const y: Float32Array = model.forward(new Float32Array(4 * 2 * 5 * 5));',
    'const off: false = model.training;',
    'model.loadSafetensors(model.saveSafetensors());',
    'const v: Float32Array = model.buffers.bn1.running_mean;',
    '// @ts-expect-error an inference build has no lossAndGrad',
    'model.lossAndGrad(new Float32Array(4 * 2 * 5 * 5), new Int32Array(4));',
    '// @ts-expect-error no backward',
    'model.backward(y);',
    '// @ts-expect-error no grads',
    'void model.grads;',
    '// @ts-expect-error no optimizer steps',
    'model.sgdStep(0.1);',
    '// @ts-expect-error no modes',
    'model.eval();',
    '// @ts-expect-error no checkFinite (no loss)',
    'createModel({ checkFinite: true });',
    'export async function gpu(device: Parameters<typeof createGpuModel>[0]): Promise<Float32Array> {',
    '  const m: GpuModel = await createGpuModel(device);',
    '  // @ts-expect-error no lossAndGrad on the GPU either',
    '  await m.lossAndGrad(new Float32Array(200), new Int32Array(4));',
    '  // @ts-expect-error no readGrads',
    '  await m.readGrads();',
    '  // @ts-expect-error no trainStep',
    '  await m.trainStep(new Float32Array(200), new Int32Array(4), 0.1);',
    '  return m.forward(new Float32Array(4 * 2 * 5 * 5));',
    '}',
    'export { y, off, v };',
    '',
  ].join('\n');
  for (const c of CONFIGS) {
    it(c.name, () => {
      // a CommonJS app cannot import an ES module's top level: there the generated files alone
      const commonjs = (c.packages['.'] as { type?: string } | undefined)?.type === 'commonjs';
      const problems = typecheck(c, commonjs ? Object.fromEntries(Object.entries(files).filter(([p]) => p !== 'app.ts')) : files);
      expect(problems.slice(0, 10), `${problems.length} diagnostics`).toEqual([]);
    }, 120_000);
  }
});

// ---- the CLI and the API -------------------------------------------------------------

describe('convgen build --inference and build(model, { inference: true })', () => {
  it('writes the forward-only files, recorded in the manifest; --check is clean after; a training build would change them', async () => {
    const out = join(root, 'cli');
    const r = await runCaptured(buildCommand, [BN_FIXTURE, '--inference', '--out', out]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'bn_torch', MANIFEST_FILE), 'utf8'));
    expect(manifest.inference).toBe(true);
    expect(Object.keys(manifest.files)).not.toContain('train.ts');
    expect((await runCaptured(buildCommand, [BN_FIXTURE, '--inference', '--out', out, '--check'])).code).toBe(0);
    const stale = await runCaptured(buildCommand, [BN_FIXTURE, '--out', out, '--check']);
    expect(stale.code).toBe(1);
    expect(stale.out).toContain(`would add     ${join(out, 'bn_torch')}/train.ts`);
    expect(stale.out).toContain(`would change  ${join(out, 'bn_torch')}/index.ts`);
    expect(stale.out).toContain(`would change  ${join(out, 'bn_torch')}/${MANIFEST_FILE}`);
    // a training build's manifest has no such key
    await runCaptured(buildCommand, [BN_FIXTURE, '--out', out]);
    expect('inference' in JSON.parse(readFileSync(join(out, 'bn_torch', MANIFEST_FILE), 'utf8'))).toBe(false);
  });

  it('the API option gives the same files; a non-boolean is a ConvgenError', async () => {
    const api = await build(BN_FIXTURE, { inference: true });
    expect(api.plan.inference).toBe(true);
    expect(api.files).toEqual(await emitModel(planFile(BN_FIXTURE, { inference: true })));
    expect((await build(BN_FIXTURE)).files).not.toEqual(api.files);
    await expect(build(BN_FIXTURE, { inference: 'yes' as unknown as boolean })).rejects.toThrow(/inference: must be true or false/);
  });

  it('convgen check refuses --inference, saying the training build\'s check covers its kernels', async () => {
    await expect(runCaptured(checkCommand, [BN_FIXTURE, '--inference'])).rejects.toThrow(ConvgenError);
    await expect(runCaptured(checkCommand, [BN_FIXTURE, '--inference'])).rejects.toThrow(/checks the training build, whose kernels include every kernel an inference build runs/);
    await expect(check(BN_FIXTURE, { inference: true })).rejects.toThrow(/drop it: run convgen check model\.json/);
  });

  it('--help documents the flag', async () => {
    const r = await runCaptured(buildCommand, ['--help']);
    expect(r.out).toMatch(/--inference +forward only, in eval mode always/);
  });
});
