// The decoder's task, made from MNIST digits: from a 16x16 thumbnail, packed as 16 channels of
// 4x4 (space-to-depth: channel dy*4+dx holds pixel (4i+dy, 4j+dx)), paint the full 32x32 digit
// in colour. The network must unpack the channels, upsample 2x (sharper than interpolation)
// and apply the colours, all through conv_transpose2d, bilinear upsampling and a conv. The loss (mean squared error) is
// computed here, in the app, and its gradient handed to the generated backward.

import { IMAGE_SIZE, PIXELS, type Digits } from '../mnist/data.ts';

export const SIDE = 32; // the 28x28 digit, padded by 2 on each side
export const THUMB = 16; // 2x2 average pooled
export const PACK = 4; // space-to-depth factor: 16 channels of 4x4

/** the shapes the decoder must have for this task: input [16, 4, 4], output [3, 32, 32] */
export const TASK_IN = [PACK * PACK, THUMB / PACK, THUMB / PACK];
export const TASK_OUT = [3, SIDE, SIDE];

// gold strokes on navy: an affine colour map, so the decoder's capacity goes into the shapes
const BACKGROUND: [number, number, number] = [0.05, 0.08, 0.25];
const STROKE: [number, number, number] = [1, 0.8, 0.2];

/** the colour of a pixel of intensity v in [0, 1] */
export function colourise(v: number): [number, number, number] {
  return [0, 1, 2].map((k) => BACKGROUND[k] + v * (STROKE[k] - BACKGROUND[k])) as [number, number, number];
}

/** the 32x32 padded digit */
function padded(d: Digits, i: number): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  const off = (SIDE - IMAGE_SIZE) / 2;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) out[(y + off) * SIDE + x + off] = d.images[i * PIXELS + y * IMAGE_SIZE + x];
  }
  return out;
}

/** 16x16 thumbnail (2x2 means) of the padded digit */
export function thumbnail(d: Digits, i: number): Float32Array {
  const p = padded(d, i);
  const t = new Float32Array(THUMB * THUMB);
  for (let y = 0; y < THUMB; y++) {
    for (let x = 0; x < THUMB; x++) {
      t[y * THUMB + x] = (p[2 * y * SIDE + 2 * x] + p[2 * y * SIDE + 2 * x + 1] + p[(2 * y + 1) * SIDE + 2 * x] + p[(2 * y + 1) * SIDE + 2 * x + 1]) / 4;
    }
  }
  return t;
}

/** the network input of sample i: the thumbnail, space-to-depth packed, [16, 4, 4] */
export function packedInput(d: Digits, i: number): Float32Array {
  const t = thumbnail(d, i);
  const n = THUMB / PACK;
  const out = new Float32Array(PACK * PACK * n * n);
  for (let dy = 0; dy < PACK; dy++) {
    for (let dx = 0; dx < PACK; dx++) {
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) out[((dy * PACK + dx) * n + y) * n + x] = t[(PACK * y + dy) * THUMB + PACK * x + dx];
      }
    }
  }
  return out;
}

/** the target of sample i: the colourised 32x32 digit, [3, 32, 32] planes */
export function target(d: Digits, i: number): Float32Array {
  const p = padded(d, i);
  const out = new Float32Array(3 * SIDE * SIDE);
  for (let k = 0; k < SIDE * SIDE; k++) {
    const [r, g, b] = colourise(p[k]);
    out[k] = r;
    out[SIDE * SIDE + k] = g;
    out[2 * SIDE * SIDE + k] = b;
  }
  return out;
}

/** a baseline without learning: the thumbnail upsampled bilinearly (half-pixel centres), then colourised */
export function baseline(d: Digits, i: number): Float32Array {
  const t = thumbnail(d, i);
  const out = new Float32Array(3 * SIDE * SIDE);
  const at = (y: number, x: number) => t[Math.min(THUMB - 1, Math.max(0, y)) * THUMB + Math.min(THUMB - 1, Math.max(0, x))];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const sy = Math.max(0, (y + 0.5) / 2 - 0.5);
      const sx = Math.max(0, (x + 0.5) / 2 - 0.5);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
      const [r, g, b] = colourise(v);
      out[y * SIDE + x] = r;
      out[SIDE * SIDE + y * SIDE + x] = g;
      out[2 * SIDE * SIDE + y * SIDE + x] = b;
    }
  }
  return out;
}

/** mean squared error over all elements, and its gradient with respect to `out` */
export function mseAndGrad(out: Float32Array, want: Float32Array, grad: Float32Array): number {
  let s = 0;
  const n = out.length;
  for (let k = 0; k < n; k++) {
    const e = out[k] - want[k];
    s += e * e;
    grad[k] = (2 * e) / n;
  }
  return s / n;
}

export function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return s / a.length;
}
