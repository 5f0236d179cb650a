// Writes examples/mnist/font.ts: printable ASCII in DejaVu Sans Mono 12px as 8x14 alpha maps, drawn
// by Debian's Chromium (playwright-core, dev only), so png.ts can label image grids with no
// dependency at run time. Run once when the font should change:
//
//   npx tsx examples/mnist/make-font.ts

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../../test/helpers/chromium.ts';

const W = 8;
const H = 14;
const chars = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage();
const glyphs = await page.evaluate(
  ({ chars, W, H }) => {
    const canvas = document.createElement('canvas');
    canvas.width = W * chars.length;
    canvas.height = H;
    const ctx = canvas.getContext('2d')!;
    ctx.font = '12px "DejaVu Sans Mono"';
    ctx.textBaseline = 'alphabetic';
    ctx.fillStyle = '#000';
    for (let i = 0; i < chars.length; i++) ctx.fillText(chars[i]!, i * W, 11);
    const data = ctx.getImageData(0, 0, canvas.width, H).data;
    // one hex digit (alpha / 17) per pixel, row-major per glyph
    return Array.from(chars, (_, i) => {
      let s = '';
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) s += Math.round(data[(y * canvas.width + i * W + x) * 4 + 3]! / 17).toString(16);
      return s;
    });
  },
  { chars, W, H },
);
await browser.close();
const lines = glyphs.map((g, i) => `  ${JSON.stringify(g)}, // ${JSON.stringify(chars[i])}`);
writeFileSync(
  join(import.meta.dirname, 'font.ts'),
  `// Printable ASCII (32..126) in DejaVu Sans Mono 12px: per glyph ${W}x${H} pixels, row-major, one hex
// digit of coverage (0 to f) each. Written by make-font.ts (do not edit); used by png.ts.

export const GLYPH_W = ${W};
export const GLYPH_H = ${H};
export const GLYPHS: readonly string[] = [
${lines.join('\n')}
];
`,
);
console.log(`wrote examples/mnist/font.ts (${glyphs.length} glyphs)`);
