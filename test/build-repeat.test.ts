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

  // regression: a twin without a bias failed the same way ("two different kernels are both named
  // conv3x3_p1_3x4x6_to_3_fwd_direct"): the forward adds the bias, so its name now says when there is none
  it('a twin without a bias gets forward kernels of its own; the backward kernels stay shared', async () => {
    const layers = [
      { type: 'conv2d', name: 'a', out_channels: 3, kernel: 3, padding: 1 },
      { type: 'conv2d', name: 'b', out_channels: 3, kernel: 3, padding: 1, bias: false },
    ];
    const { files } = await build({ name: 'twin_nobias', batch: 1, input: [3, 4, 6], layers }, { target: 'all' });
    expect(files['layers/a.ts']).toContain('export function conv3x3_p1_3x4x6_to_3_fwd_direct(');
    expect(files['layers/b.ts']).toContain('export function conv3x3_p1_3x4x6_to_3_nobias_fwd_direct(');
    expect(files['layers/b.ts']).toMatch(/export \{ conv3x3_p1_3x4x6_to_3_dw_direct, conv3x3_p1_3x4x6_to_3_dx_direct[\w, ]* \} from '\.\/a\.ts';/);
    // on the GPU the split-K gradWeight of a conv with a bias sums the bias gradient too
    expect(Object.keys(files).filter((p) => p.startsWith('wgsl/conv3x3_p1_3x4x6_to_3_')).sort()).toEqual([
      'wgsl/conv3x3_p1_3x4x6_to_3_dw_splitk.wgsl', 'wgsl/conv3x3_p1_3x4x6_to_3_dx_gpu.wgsl', 'wgsl/conv3x3_p1_3x4x6_to_3_fwd_gpu.wgsl',
      'wgsl/conv3x3_p1_3x4x6_to_3_nobias_dw_splitk.wgsl', 'wgsl/conv3x3_p1_3x4x6_to_3_nobias_fwd_gpu.wgsl',
    ]);
    const r = await check({ name: 'twin_nobias', batch: 1, input: [3, 4, 6], layers });
    expect(r.failures).toBe(0);
  });

  it('and the model checks against the reference', async () => {
    const r = await check(twin);
    expect(r.failures).toBe(0);
    expect(r.rows.filter((row) => row.layer === 'c' && row.result).length).toBeGreaterThan(0);
  });
});
