// A minimal PNG writer (8-bit RGB, no filtering, zlib from node): enough to look at image grids.

import { deflateSync } from 'node:zlib';

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

/** rows of images on white, each scaled (nearest neighbour) to `cell` pixels; no labels (the SVG has them) */
export function imageGridPng(rows: PixelRow[], cell = 96, gap = 6): Uint8Array {
  const cols = Math.max(...rows.map((r) => r.images.length));
  const width = gap + cols * (cell + gap);
  const height = gap + rows.length * (cell + gap);
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  rows.forEach((row, r) => {
    row.images.forEach((img, c) => {
      const ox = gap + c * (cell + gap);
      const oy = gap + r * (cell + gap);
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
