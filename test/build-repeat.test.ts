// Regression: a model with two conv layers of the same configuration failed to build
// ("emit: two different kernels are both named conv3x3_p1_8x12x12_to_8_fwd_direct": the
// layer's name was in the shared kernel's doc comment). Repeated layers share one kernel,
// defined in the first layer's file and re-exported by the others.

import { describe, expect, it } from 'vitest';
import { build, check } from '../src/index.ts';

const twin = {
  name: 'twin',
  batch: 2,
  input: [8, 12, 12],
  layers: [
    { type: 'conv2d', name: 'a', out_channels: 8, kernel: 3, padding: 1 },
    { type: 'relu' },
    { type: 'conv2d', name: 'b', out_channels: 8, kernel: 3, padding: 1 },
    { type: 'relu' },
    { type: 'conv2d', name: 'c', out_channels: 8, kernel: 3, padding: 1 },
    { type: 'flatten' },
    { type: 'linear', name: 'fc', out_features: 10 },
  ],
  loss: 'softmax_cross_entropy',
};

describe('layers of one configuration', () => {
  it('share one kernel: defined once, re-exported by the later layers', async () => {
    const { files } = await build(twin, { target: 'all' });
    const fwd = 'conv3x3_p1_8x12x12_to_8_fwd_direct';
    const definitions = Object.entries(files).filter(([, t]) => t.includes(`export function ${fwd}(`));
    expect(definitions.map(([p]) => p)).toEqual(['layers/a.ts']);
    for (const later of ['b', 'c']) {
      expect(files[`layers/${later}.ts`]).toMatch(new RegExp(`export \\{ ${fwd}, [^}]*\\} from './a.ts';`));
      expect(files[`layers/${later}.ts`]).toContain('// the same configuration as layer a');
    }
    // the WGSL target writes each shader once
    expect(Object.keys(files).filter((p) => p.startsWith('wgsl/conv3x3_p1_8x12x12_to_8_fwd')).length).toBe(1);
  });

  it('and the model checks against the reference', async () => {
    const r = await check(twin);
    expect(r.failures).toBe(0);
    expect(r.rows.filter((row) => row.layer === 'c' && row.result).length).toBeGreaterThan(0);
  });
});
