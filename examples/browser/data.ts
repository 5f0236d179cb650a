// What the page loads besides the generated module: the digits as compact binary files and a
// manifest naming the model, written under the build folder (.tmp/browser by default).
//
//   <build>/manifest.json         model name, batch, module path, data folder
//   <build>/data/digits.json      sizes and file names (app.js's DigitsHeader)
//   <build>/data/<set>-images.bin count x 784 bytes, pixel = byte / 255
//   <build>/data/<set>-labels.bin count bytes
//
// Bytes, not float32: 7.8 MB instead of 31 MB. The mnist package's pixels are not exact
// multiples of 1/255; rounding them moves none by more than 0.0005 (measured).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLASSES, IMAGE_SIZE, loadMnist, type Digits } from '../mnist/data.ts';

/** app.js's DIGITS_FORMAT */
export const DIGITS_FORMAT = 'convgen-digits/1';

/** one model the page offers (page.js's ModelEntry) */
export interface ManifestModel {
  /** the model's name: the generated folder's name */
  name: string;
  /** what the page's model choice shows */
  title: string;
  /** the model's static batch */
  batch: number;
  /** classes of its output (the digits': 10) */
  classes: number;
  /** the generated WebGPU module (createGpuModel), relative to the manifest */
  gpu: string;
  /** the generated CPU module (createModel, the TypeScript kernels as JS), relative to the manifest */
  cpu: string;
  /** the generated WebAssembly module (createWasmModelAsync: the SIMD kernels, worker threads), relative to the manifest */
  wasm: string;
}

export interface Manifest {
  /** the folder holding digits.json, relative to the manifest */
  data: string;
  /** in the order of the page's model choice; the first is the default */
  models: ManifestModel[];
}

/** the page's names for the example models; any other model shows its own name */
const TITLES: Readonly<Record<string, string>> = {
  lenet5: 'LeNet-5 (62k parameters)',
  resnet_small: 'ResNet-small (38k parameters, batch norm, 6x the FLOPs)',
};

function pixelBytes(images: Float32Array): Uint8Array {
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, images[i])) * 255);
  return out;
}

/** the train/test split of examples/mnist/data.ts as binary files in `<build>/data` */
export function writeDigitFiles(build: string, sets: { train: Digits; test: Digits } = loadMnist()): { bytes: number } {
  const dir = join(build, 'data');
  mkdirSync(dir, { recursive: true });
  const header = { format: DIGITS_FORMAT, imageSize: IMAGE_SIZE, classes: CLASSES, sets: {} as Record<string, { count: number; images: string; labels: string }> };
  let bytes = 0;
  for (const [name, d] of Object.entries(sets)) {
    const images = pixelBytes(d.images);
    const labels = Uint8Array.from(d.labels);
    writeFileSync(join(dir, `${name}-images.bin`), images);
    writeFileSync(join(dir, `${name}-labels.bin`), labels);
    header.sets[name] = { count: d.count, images: `${name}-images.bin`, labels: `${name}-labels.bin` };
    bytes += images.length + labels.length;
  }
  writeFileSync(join(dir, 'digits.json'), JSON.stringify(header, null, 2) + '\n');
  return { bytes };
}

/** `<build>/manifest.json` for model files built into `<build>/generated/` (every target, --emit js) */
export function writeManifest(build: string, modelFiles: readonly string[]): Manifest {
  const models = modelFiles.map((file): ManifestModel => {
    const spec = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; batch?: unknown };
    if (typeof spec.name !== 'string' || typeof spec.batch !== 'number') throw new Error(`${file}: expected "name" and "batch" (a model.json)`);
    const name = spec.name;
    return { name, title: TITLES[name] ?? name, batch: spec.batch, classes: CLASSES, gpu: `generated/${name}/gpu.js`, cpu: `generated/${name}/index.js`, wasm: `generated/${name}/wasm.js` };
  });
  const manifest: Manifest = { data: 'data/', models };
  mkdirSync(build, { recursive: true });
  writeFileSync(join(build, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
