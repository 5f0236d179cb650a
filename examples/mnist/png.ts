// A minimal PNG writer (8-bit RGB, no filtering, zlib from node): enough to look at image grids.

import { deflateSync } from 'node:zlib';
import { GLYPH_H, GLYPH_W, GLYPHS } from './font.ts';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** rgb: width * height * 3 bytes, row-major */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error(`png: ${rgb.length} bytes for ${width}x${height} RGB`);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, no filter method, no interlace
  // every scanline starts with filter type 0 (none)
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface PixelRow {
  /** each image: `channels` planes of h x w values in [0, 1] */
  images: Float32Array[];
  h: number;
  w: number;
  channels: 1 | 3;
}

/**
 * `text` in black on `rgb` (width pixels wide) with its top left at (x, y), in DejaVu Sans Mono
 * 12px (font.ts: 8x14 pixels a character, printable ASCII; others show as "?"), blended by coverage
 */
export function drawText(rgb: Uint8Array, width: number, x: number, y: number, text: string): void {
  const height = rgb.length / (3 * width);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const glyph = GLYPHS[code >= 32 && code <= 126 ? code - 32 : '?'.charCodeAt(0) - 32]!;
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        const px = x + i * GLYPH_W + gx;
        const py = y + gy;
        const cover = parseInt(glyph[gy * GLYPH_W + gx]!, 16) / 15;
        if (!cover || px < 0 || py < 0 || px >= width || py >= height) continue;
        const o = (py * width + px) * 3;
        for (let k = 0; k < 3; k++) rgb[o + k] = Math.round(rgb[o + k]! * (1 - cover));
      }
    }
  }
}

/**
 * rows of images on white, each scaled (nearest neighbour) to `cell` pixels, laid out as
 * imageGridSvg does: the title above, each row's label on its left
 */
export function imageGridPng(rows: (PixelRow & { label?: string })[], options: { title?: string; cell?: number; gap?: number } = {}): Uint8Array {
  const cell = options.cell ?? 96;
  const gap = options.gap ?? 6;
  // 4 px before a label, at least 8 after it
  const labelW = rows.some((r) => r.label) ? Math.max(120, 12 + Math.max(...rows.map((r) => (r.label ?? '').length)) * GLYPH_W) : gap;
  const top = options.title ? 30 : gap;
  const cols = Math.max(...rows.map((r) => r.images.length));
  const width = Math.max(labelW + cols * (cell + gap), options.title ? options.title.length * GLYPH_W + 16 : 0);
  const height = top + rows.length * (cell + gap);
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  if (options.title) drawText(rgb, width, Math.round((width - options.title.length * GLYPH_W) / 2), 8, options.title);
  rows.forEach((row, r) => {
    const oy = top + r * (cell + gap);
    if (row.label) drawText(rgb, width, 4, oy + Math.round((cell - GLYPH_H) / 2), row.label);
    row.images.forEach((img, c) => {
      const ox = labelW + c * (cell + gap);
      for (let py = 0; py < cell; py++) {
        const y = Math.floor((py * row.h) / cell);
        for (let px = 0; px < cell; px++) {
          const x = Math.floor((px * row.w) / cell);
          const at = y * row.w + x;
          const o = ((oy + py) * width + ox + px) * 3;
          for (let k = 0; k < 3; k++) rgb[o + k] = byte(row.channels === 1 ? img[at] : img[k * row.h * row.w + at]);
        }
      }
    });
  });
  return encodePng(width, height, rgb);
}
