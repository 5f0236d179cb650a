// The WGSL target on imported models: build gpu.ts for a fixture, load the imported weights
// with the GPU model's loadSafetensors, and compare its eval-mode forward with PyTorch's
// output (test/fixtures/onnx/). Runs on a real adapter (lavapipe in CI); see
// test/helpers/webgpu.ts for the skip rule. Every fixture runs (about 30 s on lavapipe, most of
// it the first compile of each shader): between them they reach every layer kind the importer
// makes, zero_pad2d's unequal pads and output_softmax included. bn_train was exported in
// training mode: its output uses the batch's statistics, so it is compared in training mode.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../src/onnx/index.ts';
import { planModel } from '../src/plan/plan.ts';
import { emitModel } from '../src/emit/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

const root = mkdtempSync(join(tmpdir(), 'convgen-onnx-wgsl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface GpuModel {
  loadSafetensors(bytes: Uint8Array): Promise<{ missingKeys: string[]; unexpectedKeys: string[] }>;
  eval(): GpuModel;
  train(mode?: boolean): GpuModel;
  forward(x: Float32Array): Promise<Float32Array>;
  destroy(): void;
}

const FIXTURES = ['lenet_view', 'resnet_small_fused', 'resnet_small_bn', 'unet_tiny', 'mobilenet_tiny', 'conv1d_net', 'gelu_dropout', 'bn_train', 'zeropad_conv', 'zeropad_asym', 'softmax_clf'];
/** exported with training=TrainingMode.TRAINING (test/onnx-fixtures.test.ts compares it the same way) */
const TRAINING = new Set(['bn_train']);

interface Fixture { shape: number[]; data: number[] }
const read = (name: string, file: string): Fixture => JSON.parse(readFileSync(new URL(`./fixtures/onnx/${name}/${file}`, import.meta.url), 'utf8')) as Fixture;

describe('imported models on WebGPU', () => {
  for (const name of FIXTURES) {
    const mode = TRAINING.has(name) ? 'training' : 'eval';
    gpuIt(`${name}: ${mode} forward matches PyTorch`, async () => {
      const imported = importOnnx(new Uint8Array(readFileSync(new URL(`./fixtures/onnx/${name}/model.onnx`, import.meta.url))), { name });
      const plan = planModel(imported.spec, {});
      const dir = join(root, name);
      writeOutputAtomic(dir, await emitModel(plan, { target: 'all' }));
      const { createGpuModel } = (await import(pathToFileURL(join(dir, 'gpu.ts')).href)) as { createGpuModel: (d: GPUDevice) => Promise<GpuModel> };
      const model = await createGpuModel(device!);
      expect(await model.loadSafetensors(imported.safetensors)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      const x = read(name, 'input.json');
      const ref = read(name, 'output.json');
      // a trailing Softmax is output_softmax: eval-mode forward returns the probabilities itself
      const y = await (mode === 'training' ? model.train() : model.eval()).forward(Float32Array.from(x.data));
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref.data[i]!));
      const big = Math.max(1, ...ref.data.map(Math.abs));
      console.log(`WGSL ${name} (${mode}): max|y - torch| ${worst.toExponential(2)}`);
      expect(y.length).toBe(ref.data.length);
      expect(worst).toBeLessThanOrEqual(1e-4 * big);
      model.destroy();
    }, 240_000);
  }
});
