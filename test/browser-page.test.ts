// The browser example's page (examples/browser/index.html + page.js) in Debian's Chromium at
// phone width (390 px): it trains LeNet for a short run on the CPU kernels (backend=cpu: the same
// on every machine; headless Chromium here has no WebGPU adapter anyway) and the test reads what
// the page shows: the phase line, the digit grid with a prediction under each, the curve's points,
// the final accuracy, no horizontal overflow. Then a second run with lr 1: the old "done" line goes
// at once, and the divergence warning shows. Screenshots go to .tmp/test-output/ (ignored).
// The browser test needs /usr/bin/chromium; see test/helpers/chromium.ts for the CI rule.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDigitFiles, writeManifest } from '../examples/browser/data.ts';
import { createStaticServer } from '../examples/browser/server.ts';
import { loadMnist } from '../examples/mnist/data.ts';
import { haveChromium, launchChromium } from './helpers/chromium.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(repo, '.tmp', 'test-output');
const build = mkdtempSync(join(tmpdir(), 'convgen-page-'));
afterAll(() => rmSync(build, { recursive: true, force: true }));

const browserIt = haveChromium() ? it : it.skip;

describe('examples/browser in headless Chromium at 390 px', () => {
  browserIt('trains a short run and shows the digits with predictions, the curve and the accuracy; lr 1 warns', async () => {
    // what `npm run browser` writes, into a temp folder (both models: the page offers a choice)
    const models = ['lenet.json', 'resnet.json'].map((f) => join(repo, 'examples', f));
    execFileSync(process.execPath, ['bin/convgen.js', 'build', ...models, '--emit', 'js', '--out', join(build, 'generated')], { cwd: repo, encoding: 'utf8' });
    writeManifest(build, models);
    const mnist = loadMnist();
    writeDigitFiles(build, { train: mnist.train, test: mnist.test });
    const server: Server = createStaticServer([
      { prefix: '/build/', dir: build },
      { prefix: '/', dir: join(repo, 'examples', 'browser') },
    ]);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
      // 1536 digits: 48 steps of 32, enough for the divergence check (40 steps) in the second run
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?model=lenet5&epochs=1&train=1536&test=256&grid=40&backend=cpu&autostart=1`);
      const phase = page.locator('#phase');
      await page.locator('#phase[data-phase="done"], #phase[data-phase="error"]').waitFor({ timeout: 25_000 });
      mkdirSync(output, { recursive: true });
      await page.screenshot({ path: join(output, 'browser-page-390.png'), fullPage: true });

      expect(await phase.getAttribute('data-phase'), (await phase.textContent()) ?? '').toBe('done');
      expect(problems).toEqual([]);
      expect(await page.locator('#model option').allTextContents()).toEqual([expect.stringMatching(/^LeNet-5/), expect.stringMatching(/^ResNet-small/)]);
      expect(await page.locator('#backend').getAttribute('data-backend')).toBe('cpu');
      expect(await page.locator('#backend').textContent()).toContain('trains on the CPU with the generated TypeScript kernels');
      // the final accuracy: in the phase line, on the curve, in the table
      const accuracy = Number(await phase.getAttribute('data-accuracy'));
      expect(accuracy).toBeGreaterThan(0.3);
      const percent = `${(100 * accuracy).toFixed(2)}%`;
      expect(await phase.textContent()).toContain(`Done: test accuracy ${percent} on 256 digits after 1 epoch`);
      expect(await page.locator('#curve svg .note').textContent()).toBe(`test accuracy ${percent}`);
      expect(await page.locator('#epochs-table tr td:nth-child(4)').allTextContents()).toEqual([percent]);
      // the curve: a loss point per step (48 < 300 buckets), one accuracy point
      expect(Number(await page.locator('#curve svg polyline.loss').getAttribute('data-points'))).toBe(48);
      expect(await page.locator('#curve svg circle.acc').count()).toBe(1);
      // the grid: 40 digits drawn, each with a prediction; the wrong ones marked with the true label
      const cells = await page.locator('#digits figure').evaluateAll((figs) =>
        figs.map((f) => ({ cls: f.className, predicted: (f as HTMLElement).dataset.predicted, label: (f as HTMLElement).dataset.label, caption: f.querySelector('figcaption')?.textContent ?? '', canvas: f.querySelector('canvas')?.width })),
      );
      expect(cells).toHaveLength(40);
      expect(cells.map((c) => c.label)).toEqual(Array.from(mnist.test.labels.subarray(0, 40), String));
      for (const c of cells) {
        expect(c.canvas).toBe(28);
        expect(c.cls).toBe(c.predicted === c.label ? 'right' : 'wrong');
        expect(c.caption).toBe(c.cls === 'right' ? c.label : `${c.predicted} ✗${c.label}`);
      }
      expect(cells.filter((c) => c.cls === 'right').length).toBeGreaterThan(10);
      // phone width: nothing wider than the viewport, and each label on one line with its input
      const wide = await page.evaluate(() => Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > 390).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`));
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `wider than 390 px: ${wide.join(', ')}`).toBeLessThanOrEqual(390);
      const labels = await page.locator('fieldset label').evaluateAll((ls) => ls.map((l) => { const [a, b] = [l.getBoundingClientRect(), l.querySelector('input, select')!.getBoundingClientRect()]; return { right: a.right, sameLine: Math.abs(a.top + a.height / 2 - (b.top + b.height / 2)) < 4 }; }));
      expect(labels.every((l) => l.sameLine && l.right <= 390)).toBe(true);

      // a second run with lr 1: the last run's "done" goes at once, and it diverges
      await page.locator('#lr').fill('1');
      await page.locator('#start').click();
      expect(await phase.getAttribute('data-phase')).not.toBe('done');
      expect(await page.locator('#digits figure.pending').count()).toBe(40);
      await page.locator('#warning:not([hidden])').waitFor({ timeout: 15_000 });
      expect(await page.locator('#warning').textContent()).toMatch(/^training diverged: .*lower the learning rate$/);
      await page.locator('#phase[data-phase="done"], #phase[data-phase="error"]').waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(output, 'browser-page-390-lr1.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await new Promise((done) => server.close(done));
    }
  }, 60_000);
});
