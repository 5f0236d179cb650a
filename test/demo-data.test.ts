// The example apps' data and task code (no generated model needed): the MNIST split, the
// decoder task's packing and loss gradient, the SVG writers.

import { describe, expect, it } from 'vitest';
import { asciiDigit, loadAllDigits, loadMnist, PIXELS, TEST_SIZE } from '../examples/mnist/data.ts';
import { inflateSync } from 'node:zlib';
import { crc32, encodePng, imageGridPng } from '../examples/mnist/png.ts';
import { curvesSvg, imageGridSvg, linearTicks } from '../examples/mnist/svg.ts';
import { trainingCurvesSvg } from '../examples/mnist/report.ts';
import { Progress } from '../examples/mnist/progress.ts';
import { mseAndGrad, packedInput, target, thumbnail, THUMB, PACK, SIDE } from '../examples/decoder/task.ts';

describe('mnist split', () => {
  const { train, test } = loadMnist();

  it('is 8000 training and 2000 test digits, every class in both', () => {
    expect(loadAllDigits().count).toBe(10000);
    expect([train.count, test.count]).toEqual([8000, TEST_SIZE]);
    for (const d of [train, test]) {
      const counts = new Array(10).fill(0);
      for (const l of d.labels) counts[l]++;
      expect(Math.min(...counts)).toBeGreaterThan(d.count / 20);
      expect(d.images.length).toBe(d.count * PIXELS);
    }
  });

  it('is deterministic and the two sets share no digit', () => {
    const again = loadMnist();
    expect(again.test.labels).toEqual(test.labels);
    expect(again.train.images.subarray(0, 5 * PIXELS)).toEqual(train.images.subarray(0, 5 * PIXELS));
    // hash every image; the package's 10,000 digits are distinct, so the sets must be disjoint
    const key = (im: Float32Array, i: number) => im.subarray(i * PIXELS, (i + 1) * PIXELS).join(',');
    const seen = new Set<string>();
    for (let i = 0; i < train.count; i++) seen.add(key(train.images, i));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (seen.has(key(test.images, i))) shared++;
    expect(shared).toBe(0);
  });

  it('draws a digit as 14 rows of 28 characters', () => {
    const art = asciiDigit(test.images, 0);
    expect(art).toHaveLength(14);
    expect(art.every((r) => r.length === 28)).toBe(true);
    expect(art.join('')).toMatch(/[#%@]/);
  });
});

describe('decoder task', () => {
  const { test } = loadMnist();

  it('packs the thumbnail space-to-depth: channel dy*4+dx holds pixel (4i+dy, 4j+dx)', () => {
    const t = thumbnail(test, 3);
    const p = packedInput(test, 3);
    const n = THUMB / PACK;
    expect(p.length).toBe(16 * n * n);
    for (let y = 0; y < THUMB; y++) {
      for (let x = 0; x < THUMB; x++) {
        const c = (y % PACK) * PACK + (x % PACK);
        expect(p[(c * n + Math.floor(y / PACK)) * n + Math.floor(x / PACK)]).toBe(t[y * THUMB + x]);
      }
    }
  });

  it('targets are RGB planes in [0, 1]', () => {
    const y = target(test, 0);
    expect(y.length).toBe(3 * SIDE * SIDE);
    expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...y)).toBeLessThanOrEqual(1);
  });

  it('the mse gradient matches finite differences', () => {
    const out = Float32Array.from({ length: 6 }, (_, i) => Math.sin(i));
    const want = Float32Array.from({ length: 6 }, (_, i) => Math.cos(i));
    const g = new Float32Array(6);
    mseAndGrad(out, want, g);
    const scratch = new Float32Array(6);
    for (let k = 0; k < 6; k++) {
      const h = 1e-2;
      const up = Float32Array.from(out);
      const down = Float32Array.from(out);
      up[k] += h;
      down[k] -= h;
      const fd = (mseAndGrad(up, want, scratch) - mseAndGrad(down, want, scratch)) / (2 * h);
      expect(g[k]).toBeCloseTo(fd, 4);
    }
  });
});

describe('svg', () => {
  it('curves: one path per series and a dot per accuracy point', () => {
    const svg = curvesSvg(
      [
        { title: 'loss', series: [{ label: 'l', color: 'red', points: [[0.5, 2], [1, 1], [2, 0.5]] }] },
        { title: 'acc <%>', series: [{ label: 'a', color: 'blue', points: [[1, 90], [2, 95]], dots: true }] },
      ],
      2,
      'a & b',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('a &amp; b');
    expect(svg).toContain('acc &lt;%&gt;');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('curves: a log loss axis with 1-2-5 ticks, round accuracy ticks, the final accuracy written on it', () => {
    const history = [1, 2, 3].map((epoch) => ({ epoch, lr: 0.05, trainLoss: 0, lossTenths: Array.from({ length: 10 }, (_, t) => 2 * Math.exp(-(epoch - 1 + t / 10) * 1.5)), testAccuracy: 0.9 + epoch / 50, seconds: 1, samplesPerSecond: 1 }));
    const svg = trainingCurvesSvg(history, 't');
    const ticks = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]+)<\/text>/g)].map((m) => m[1]);
    // loss 0.026..2 on 1-2-5 ticks (log), then accuracy 90..100 in steps of 2.5
    expect(ticks).toEqual(['0.02', '0.05', '0.1', '0.2', '0.5', '1', '2', '90%', '92.5%', '95%', '97.5%', '100%']);
    expect(svg).toContain('training loss (mean softmax cross-entropy) (log scale)');
    expect(svg).toMatch(/<text class="note" [^>]*>final: 96\.00% after epoch 3<\/text>/);
    expect(linearTicks(0.3, 2.31)).toEqual({ ticks: [0, 1, 2, 3], lo: 0, hi: 3 });
    expect(linearTicks(0.1, 0.7).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });

  it('image grid: one embedded PNG per image, holding its pixels', () => {
    const img = new Float32Array([0, 1, 0.5, 0]);
    const svg = imageGridSvg([{ label: 'x <1>', images: [img, img], h: 2, w: 2, channels: 1 }], 't');
    const pngs = [...svg.matchAll(/href="data:image\/png;base64,([^"]+)"/g)].map((m) => Buffer.from(m[1], 'base64'));
    expect(pngs).toHaveLength(2);
    expect(svg).toContain('x &lt;1&gt;');
    // the PNG's IDAT, inflated: per row a filter byte then RGB
    const png = pngs[0];
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const idat = png.indexOf('IDAT');
    const len = png.readUInt32BE(idat - 4);
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + len));
    expect([...raw]).toEqual([0, 0, 0, 0, 255, 255, 255, 0, 128, 128, 128, 0, 0, 0]);
  });

  it('image grid PNG: labelled as the SVG is, the title above and each row\'s label on its left', () => {
    /** the RGB pixels of a PNG that encodePng wrote (filter 0 on every row) */
    const pixels = (png: Uint8Array) => {
      const view = new DataView(png.buffer, png.byteOffset);
      const [w, h] = [view.getUint32(16), view.getUint32(20)];
      const idat = png.subarray(41, 41 + view.getUint32(33));
      const raw = inflateSync(idat);
      const dark = (x0: number, y0: number, x1: number, y1: number) => {
        let n = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (raw[y * (1 + 3 * w) + 1 + 3 * x]! < 128) n++;
        return n;
      };
      return { w, h, dark };
    };
    const img = new Float32Array(4).fill(1);
    const rows = [{ label: 'decoder output', images: [img, img], h: 2, w: 2, channels: 1 as const }, { label: 'target', images: [img, img], h: 2, w: 2, channels: 1 as const }];
    const labelled = pixels(imageGridPng(rows, { title: 'decoder: mse 0.01', cell: 40 }));
    // labels: 4 + 14 characters of 8 px + 8; 2 cells of 40 + 6; 30 px of title, 2 rows of 40 + 6
    expect([labelled.w, labelled.h]).toEqual([124 + 2 * 46, 30 + 2 * 46]);
    expect(labelled.dark(0, 0, labelled.w, 30)).toBeGreaterThan(100);
    expect(labelled.dark(0, 30, 124, 76)).toBeGreaterThan(100);
    expect(labelled.dark(0, 76, 124, 122)).toBeGreaterThan(40);
    // white images: nothing dark where they are
    expect(labelled.dark(124, 30, labelled.w, labelled.h)).toBe(0);
    const bare = pixels(imageGridPng(rows.map(({ label: _, ...r }) => r), { cell: 40 }));
    expect(bare.dark(0, 0, bare.w, bare.h)).toBe(0);
  });

  it('png chunks carry correct CRCs', () => {
    // the CRC-32 check value from the PNG spec's reference implementation
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const png = Buffer.from(encodePng(1, 1, new Uint8Array([1, 2, 3])));
    for (const type of ['IHDR', 'IDAT', 'IEND']) {
      const at = png.indexOf(type);
      const len = png.readUInt32BE(at - 4);
      expect(png.readUInt32BE(at + 4 + len)).toBe(crc32(png.subarray(at, at + 4 + len)));
    }
  });
});

describe('progress', () => {
  const sink = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, write: (s: string) => (chunks.push(s), true) } };
  };

  it('off a terminal: one plain line per quarter', () => {
    const { chunks, stream } = sink(false);
    const p = new Progress('epoch 1/2', 100, stream);
    for (let done = 10; done <= 100; done += 10) p.update(done, 'loss 1.0');
    p.finish();
    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
    expect(chunks[3]).toMatch(/^epoch 1\/2 100\/100  loss 1\.0  \d+ samples\/s\n$/);
  });

  it('on a terminal: redraws one line with a bar, and ends it', () => {
    const { chunks, stream } = sink(true);
    const p = new Progress('e', 4, stream);
    p.update(4, 'x');
    p.finish();
    expect(chunks[0]).toMatch(/^\r\x1b\[2Ke \[=+\] 4\/4  x  \d+ samples\/s$/);
    expect(chunks[chunks.length - 1]).toBe('\n');
  });
});
