// The demo's --target wgsl path: the generated WebGPU model behind the training loop's
// interface, started from the same seed as the TypeScript model, gives the same outputs.
// Needs a WebGPU adapter (lavapipe in CI): in CI its absence fails, elsewhere it skips.

import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist, PIXELS } from '../examples/mnist/data.ts';
import { startLenet, type RunningModel } from '../examples/mnist/targets.ts';

let gpu: RunningModel | null = null;
let missing = '';
async function gpuModel(): Promise<RunningModel | null> {
  if (gpu || missing) return gpu;
  try {
    gpu = await startLenet('wgsl', 3);
  } catch (e) {
    if (process.env.CI === 'true' || !/no WebGPU adapter/.test((e as Error).message)) throw e;
    missing = (e as Error).message;
    console.warn(missing);
  }
  return gpu;
}

afterAll(() => gpu?.close());

// LeNet's full GPU model compiles every pipeline up front, and lavapipe takes minutes on
// its first compile of the big unrolled backward shaders (54 s for c3's dW, > 6 min for
// c3's dx with a cold shader cache), so this runs when asked: CONVGEN_WGSL_DEMO=1.
// The kernels themselves are checked on lavapipe in wgsl-kernels and gpu-model.
const wanted = process.env.CONVGEN_WGSL_DEMO === '1';

describe.runIf(wanted)('mnist demo on the wgsl target', () => {
  it('same seed, same parameters and logits as the ts target', async (ctx) => {
    const g = await gpuModel();
    if (!g) return ctx.skip();
    const ts = await startLenet('ts', 3);
    const [pg, pt] = [await g.params(), await ts.params()];
    expect(Object.keys(pg).sort()).toEqual(Object.keys(pt).sort());
    for (const layer of Object.keys(pt)) {
      expect(pg[layer].weight).toEqual(pt[layer].weight);
      expect(pg[layer].bias).toEqual(pt[layer].bias);
    }
    const { test } = loadMnist();
    const x = test.images.slice(0, ts.model.plan.batch * PIXELS);
    const a = await g.model.forward(x);
    const b = Float32Array.from(await ts.model.forward(x));
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);
});
