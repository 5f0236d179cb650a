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

export interface Manifest {
  /** the model's name: the generated folder's name */
  model: string;
  /** the model's static batch */
  batch: number;
  /** the generated WebGPU module, relative to the manifest */
  module: string;
  /** the folder holding digits.json, relative to the manifest */
  data: string;
}

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

/** `<build>/manifest.json` for a model file built into `<build>/generated/` */
export function writeManifest(build: string, modelFile: string): Manifest {
  const spec = JSON.parse(readFileSync(modelFile, 'utf8')) as { name?: unknown; batch?: unknown };
  if (typeof spec.name !== 'string' || typeof spec.batch !== 'number') throw new Error(`${modelFile}: expected "name" and "batch" (a model.json)`);
  const manifest: Manifest = { model: spec.name, batch: spec.batch, module: `generated/${spec.name}/gpu.js`, data: 'data/' };
  mkdirSync(build, { recursive: true });
  writeFileSync(join(build, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
