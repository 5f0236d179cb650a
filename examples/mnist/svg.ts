// Hand-written SVG, no dependency: the training curves and grids of small images.

import { logTicks } from '../browser/chart.js';
import { encodePng } from './png.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number): string => (Math.round(v * 10) / 10).toString();

export interface Series {
  label: string;
  color: string;
  /** [x, y] points, x in epochs */
  points: [number, number][];
  /** draw dots at the points (sparse series such as per-epoch accuracy) */
  dots?: boolean;
}

export interface Panel {
  title: string;
  series: Series[];
  /** y axis range; computed from the data when absent */
  yMin?: number;
  yMax?: number;
  /** format of the y tick labels */
  yFormat?: (v: number) => string;
  /** where the legend goes, away from the curves (default top) */
  legend?: 'top' | 'bottom';
  /** a log y axis (1-2-5 ticks): a loss that falls by decades stays readable after epoch 1 */
  log?: boolean;
  /** written in the panel, bold, on the side away from the legend (the final accuracy) */
  note?: string;
}

/** round ticks for a linear axis over [lo, hi]: steps of 1, 2, 2.5 or 5 x 10^k, about `count` of them, widened to cover the range */
export function linearTicks(lo: number, hi: number, count = 5): { ticks: number[]; lo: number; hi: number } {
  if (!(hi > lo)) [lo, hi] = [lo - 1, lo + 1];
  const raw = (hi - lo) / (count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw * (1 - 1e-9)) ?? 10 * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // via toPrecision: 0.30000000000000004 is 0.3
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return { ticks, lo: ticks[0]!, hi: ticks[ticks.length - 1]! };
}

/** a tick value as written: 0.05, 2, 97.5 */
const tickLabel = (v: number): string => String(Number(v.toPrecision(6)));

/** side-by-side line charts sharing the x axis (epochs) */
export function curvesSvg(panels: Panel[], xMax: number, title: string): string {
  const pw = 360;
  const ph = 240;
  const m = { left: 56, right: 16, top: 48, bottom: 44 };
  const width = panels.length * (pw + m.left + m.right);
  const height = ph + m.top + m.bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  panels.forEach((p, pi) => {
    const ox = pi * (pw + m.left + m.right) + m.left;
    const oy = m.top;
    const ys = p.series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && (!p.log || y > 0));
    const dataLo = p.yMin ?? (ys.length ? Math.min(...ys) : 0);
    const dataHi = p.yMax ?? (ys.length ? Math.max(...ys) : 1);
    const axis = p.log ? logTicks(Math.max(dataLo, 1e-12), Math.max(dataHi, dataLo, 1e-12)) : linearTicks(dataLo, dataHi);
    const { lo, hi } = axis;
    const fmt = p.yFormat ?? tickLabel;
    const sx = (x: number) => ox + (x / xMax) * pw;
    const frac = (y: number) => (p.log ? Math.log(y / lo) / Math.log(hi / lo) : (y - lo) / (hi - lo));
    const sy = (y: number) => oy + ph - frac(Math.min(hi, Math.max(lo, y))) * ph;
    parts.push(`<text x="${ox + pw / 2}" y="${oy - 10}" text-anchor="middle">${esc(p.title)}${p.log ? ' (log scale)' : ''}</text>`);
    parts.push(`<rect x="${ox}" y="${oy}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (const v of axis.ticks) {
      parts.push(`<line x1="${ox}" x2="${ox + pw}" y1="${num(sy(v))}" y2="${num(sy(v))}" stroke="#eee"/>`);
      parts.push(`<text x="${ox - 6}" y="${num(sy(v) + 4)}" text-anchor="end">${esc(fmt(v))}</text>`);
    }
    if (p.note) {
      const ny = p.legend === 'bottom' ? oy + 20 : oy + ph - 12;
      parts.push(`<text class="note" x="${ox + 10}" y="${ny}" font-size="14" font-weight="bold">${esc(p.note)}</text>`);
    }
    for (let e = 0; e <= xMax; e++) {
      parts.push(`<text x="${num(sx(e))}" y="${oy + ph + 16}" text-anchor="middle">${e}</text>`);
    }
    parts.push(`<text x="${ox + pw / 2}" y="${oy + ph + 34}" text-anchor="middle">epoch</text>`);
    p.series.forEach((s, si) => {
      const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${num(sx(x))},${num(sy(y))}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
      if (s.dots) for (const [x, y] of s.points) parts.push(`<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="3" fill="${s.color}"/>`);
      const ly = p.legend === 'bottom' ? oy + ph - 10 - (p.series.length - 1 - si) * 16 : oy + 16 + si * 16;
      parts.push(`<line x1="${ox + pw - 130}" x2="${ox + pw - 112}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
      parts.push(`<text x="${ox + pw - 106}" y="${ly}">${esc(s.label)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export interface ImageRow {
  label: string;
  /** every image of a row has the same size: `channels` planes of h x w values in [0, 1] */
  images: Float32Array[];
  h: number;
  w: number;
  /** 1: gray, 3: RGB planes */
  channels: 1 | 3;
}

/** one image as a small PNG (its own pixels, unscaled) */
function imagePng(img: Float32Array, h: number, w: number, channels: 1 | 3): Uint8Array {
  const rgb = new Uint8Array(h * w * 3);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let at = 0; at < h * w; at++) {
    for (let k = 0; k < 3; k++) rgb[at * 3 + k] = byte(channels === 1 ? img[at] : img[k * h * w + at]);
  }
  return encodePng(w, h, rgb);
}

/** rows of small images, each embedded as a PNG and scaled up without smoothing, one row label each */
export function imageGridSvg(rows: ImageRow[], title: string, cell = 96): string {
  const gap = 6;
  const labelW = 120;
  const cols = Math.max(...rows.map((r) => r.images.length));
  const width = labelW + cols * (cell + gap);
  const height = 30 + rows.length * (cell + gap);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  rows.forEach((row, r) => {
    const oy = 30 + r * (cell + gap);
    parts.push(`<text x="4" y="${oy + cell / 2 + 4}">${esc(row.label)}</text>`);
    row.images.forEach((img, c) => {
      const ox = labelW + c * (cell + gap);
      const data = Buffer.from(imagePng(img, row.h, row.w, row.channels)).toString('base64');
      parts.push(`<image x="${ox}" y="${oy}" width="${cell}" height="${cell}" style="image-rendering:pixelated" preserveAspectRatio="none" href="data:image/png;base64,${data}"/>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
