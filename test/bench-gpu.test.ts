// Smoke test of the WGSL benchmark (bench/gpu.ts) at quick size on the WebGPU adapter
// (lavapipe in CI): it runs, every op agreed with the reference before it was timed (the
// script refuses to time otherwise), and the report has its rows. No speed is asserted.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

const out = mkdtempSync(path.join(os.tmpdir(), 'convgen-bench-gpu-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench:gpu', () => {
  gpuIt('config A (both forwards, dx, dW) and the LeNet step at quick size', () => {
    const log = execFileSync(process.execPath, ['--import', 'tsx', 'bench/gpu.ts', '--quick', '--only', 'A,F', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(log).toMatch(/^adapter: /);
    const md = readFileSync(path.join(out, 'gpu-latest.md'), 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| A |'));
    expect(rows.map((r) => r.split(' | ')[1])).toEqual(['forward (gather)', 'gradInput', 'gradWeight', 'forward (tiled)']);
    for (const r of rows) {
      const cells = r.split(' | ');
      expect(Number(cells[2])).toBeGreaterThan(0); // ms
      expect(Number(cells[5])).toBeLessThan(1e-3); // max abs error against the reference
    }
    expect(md).toMatch(/\| wgsl trainStep \(resident batch, loss read back\) \| [\d.]+ \| \d+ \|/);
    expect(md).toMatch(/\| ts lossAndGrad \+ sgdStep \| [\d.]+ \| \d+ \|/);
    expect(md).toMatch(/tiled \/ gather forward/);
  }, 180_000);
});
