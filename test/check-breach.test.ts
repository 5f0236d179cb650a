// Regression guard: convgen check must exit 1 and print FAIL when a kernel is wrong, on
// either target. A relu that forgets to clamp (y = x) is swapped in for the real one.

import { expect, it, vi } from 'vitest';
import { runCaptured } from './helpers/cli.ts';
import type { LayerPlan } from '../src/plan/types.ts';
import type { LowerOptions } from '../src/kernels/index.ts';
import { numericDeviceOrSkip } from './helpers/webgpu.ts';

vi.mock('../src/kernels/index.ts', async (orig) => {
  const real = await orig<typeof import('../src/kernels/index.ts')>();
  const build = await import('../src/ir/build.ts');
  return {
    ...real,
    lowerLayer(l: LayerPlan, opts?: LowerOptions) {
      const p = real.lowerLayer(l, opts);
      if (l.type !== 'relu') return p;
      const n = p.forward[0].kernel.buffers[0].length;
      const broken = build.kernel({
        name: p.forward[0].kernel.name,
        buffers: p.forward[0].kernel.buffers,
        body: [build.parallel('i', 0, n, (i) => [build.store('y', i, build.load('x', i))])],
      });
      return { ...p, forward: [{ ...p.forward[0], kernel: broken }] };
    },
  };
});

const check = async (args: string[]) => runCaptured((await import('../src/cli/check.ts')).checkCommand, args);

it('exits 1 and marks the broken kernel FAIL', async () => {
  const { code, out } = await check(['examples/seed.json']);
  expect(code).toBe(1);
  expect(out).toMatch(/\| relu1 +\| relu_2x2x2_fwd +\|.*\| FAIL \|/);
  expect(out).toMatch(/model seed_problem .*: [1-9]\d* FAILED/);
}, 60_000);

// an adapter is needed: a failure in CI without one, a skip elsewhere (test/helpers/webgpu.ts)
const device = await numericDeviceOrSkip();

it.skipIf(!device)('--target wgsl: exits 1 and marks the broken WGSL kernel FAIL', async () => {
  const { code, out } = await check(['examples/seed.json', '--target', 'wgsl']);
  expect(code).toBe(1);
  expect(out).toMatch(/\| relu1 +\| relu_2x2x2_fwd +\|.*\| FAIL \|/);
  expect(out).toMatch(/model seed_problem \(target wgsl .*: [1-9]\d* FAILED/);
}, 60_000);
