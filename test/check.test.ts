// convgen check: the table, exit 0 on a healthy model, and the comparison it relies on.

import { describe, expect, it, vi } from 'vitest';
import { runCaptured } from './helpers/cli.ts';
import { checkCommand } from '../src/cli/check.ts';
import { compare, kernelTolerance, modelTolerance } from '../src/check/ts.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CASES } from './cases.ts';

/** run the command, capturing what it prints on stdout */
const run = async (args: string[]) => {
  const { code, out } = await runCaptured(checkCommand, args);
  return { code, out };
};

describe('convgen check', () => {
  it('--target wasm: the WebAssembly kernels and wasm.ts, exit 0 on the seed model', async () => {
    const { code, out } = await run(['examples/seed.json', '--target', 'wasm']);
    expect(code).toBe(0);
    expect(out).toContain('model seed_problem (target wasm, seed 1): all within tolerance');
    expect(out).toMatch(/\| conv3x3_1x4x4_to_2_nobias_fwd_direct\w* +\| \S+ +\| [0-9.e+-]+ +\| [0-9.e+-]+ +\| [0-9.e+-]+ +\| ok +\|/);
    expect(out).toContain('lossAndGrad: grads.conv.weight');
    expect(out).toContain('optimizerStep x3');
    expect(out).not.toContain('FAIL');
  });

  it('prints one row per kernel plus the whole-model rows, and exits 0 on the seed model', async () => {
    const { code, out } = await run(['examples/seed.json']);
    expect(code).toBe(0);
    expect(out).toContain('model seed_problem (target ts, seed 1): all within tolerance');
    expect(out).toMatch(/\| layer +\| kernel +\| strategy \| max abs error \| max rel error \| tolerance \| ok \|/);
    for (const k of ['relu_2x2x2_fwd', 'relu_2x2x2_dx', 'maxpool2x2_s2_2x2x2_fwd', 'maxpool2x2_s2_2x2x2_dx', 'linear_2_to_2_nobias_dw', 'conv3x3_1x4x4_to_2_nobias_fwd_direct\\w*']) {
      expect(out).toMatch(new RegExp(`\\| ${k} +\\| \\S+ +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| ok +\\|`));
    }
    expect(out).toMatch(/\| softmax_xent_1x2 \(dlogits\) +\| - +\| \S+ +\| \S+ +\| \S+ +\| ok +\|/);
    expect(out).toContain('lossAndGrad: grads.conv.weight');
    expect(out).toContain('lossAndGrad: grads.fc.weight');
    expect(out).not.toContain('FAIL');
  }, 60_000);

  it('checks a model without a loss through backward', async () => {
    const { code, out } = await run(['examples/decoder.json', '--seed', '4']);
    expect(code).toBe(0);
    expect(out).toContain('backward: dx');
    expect(out).toContain('backward: grads.up1.weight');
  }, 60_000);

  it('checks batch norm and dropout in both modes, their running stats, and the whole module in both modes with its buffers', async () => {
    const { code, out } = await run(['test/fixtures/torch/bn_model.json']);
    expect(code).toBe(0);
    expect(out).toContain('model bn_torch (target ts, seed 1): all within tolerance');
    for (const k of ['bn2d_4x5x5_fwd_train \\(running\\)', 'bn2d_4x5x5_fwd_train \\(y\\)', 'bn2d_4x5x5_dwb_train \\(gradWeight\\)', 'bn2d_4x5x5_dx_train', 'bn2d_4x5x5_fwd_eval', 'bn2d_4x5x5_dwb_eval \\(gradBias\\)', 'bn2d_4x5x5_dx_eval', 'bn1d_6_mcum_fwd_train \\(running\\)', 'dropout_p0p2_l6_6_fwd_train', 'dropout_p0p2_l6_6_dx_train', 'dropout_6_fwd_eval']) {
      expect(out).toMatch(new RegExp(`\\| ${k} +\\| - +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| ok +\\|`));
    }
    for (const row of ['forward: output', 'lossAndGrad: grads.bn1.weight', 'buffers.bn2.running_var', 'buffers.bn2.num_batches_tracked', 'eval: forward: output', 'eval: lossAndGrad: grads.bn2.bias']) {
      expect(out).toMatch(new RegExp(`\\| ${row} +\\| - +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| ok +\\|`));
    }
    expect(out).not.toContain('FAIL');
  }, 120_000);

  it('checks batch norm and dropout inside graphs: on a branch of an add or a concat, in both modes, with the gradient sums', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-check-graph-bn-'));
    for (const c of CASES.filter((c) => /^(bn_residual_block|dropout_branch|bn_dropout_on_input) /.test(c.name))) {
      const file = join(dir, `${c.model.name}.json`);
      writeFileSync(file, JSON.stringify(c.model));
      const r = await run([file, '--seed', '3']);
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toContain('FAIL');
      const ok = (row: string) => expect(r.out).toMatch(new RegExp(`\\| ${row} +\\| - +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| [0-9.e+-]+ +\\| ok +\\|`));
      const pass = c.model.loss ? 'lossAndGrad' : 'backward';
      // the whole module in training mode, then in eval mode, through the same graph buffers
      for (const mode of ['', 'eval: ']) {
        ok(`${mode}forward: output`);
        ok(c.model.loss ? `${mode}lossAndGrad: loss` : `${mode}backward: dx`);
      }
      if (c.name.startsWith('bn_residual_block')) {
        for (const g of ['conv_a.weight', 'bn_a.weight', 'bn_b.bias', 'stem.bias']) for (const mode of ['', 'eval: ']) ok(`${mode}${pass}: grads.${g}`);
        for (const b of ['bn_a.running_mean', 'bn_b.running_var', 'bn_b.num_batches_tracked']) ok(`buffers.${b}`);
      }
      if (c.name.startsWith('bn_dropout_on_input')) ok('buffers.bn.running_var');
    }
  }, 120_000);

  it('checks models that branch: every add and concat kernel, the gradient sums through the whole model', async () => {
    const seed = await run(['examples/seed_branches.json']);
    expect(seed.code, seed.out).toBe(0);
    expect(seed.out).toMatch(/\| cat +\| concat_c1_c1_1x1_fwd0 +\| - +\| \S+ +\| \S+ +\| \S+ +\| ok +\|/);
    expect(seed.out).toMatch(/\| cat +\| concat_c1_c1_1x1_dx1 +\| - +\| \S+ +\| \S+ +\| \S+ +\| ok +\|/);
    for (const g of ['conv1', 'conv2', 'fc']) expect(seed.out).toContain(`lossAndGrad: grads.${g}.weight`);
    // no loss: backward's dx is the sum over every reader of the input, through an add's dy and a concat
    const dir = mkdtempSync(join(tmpdir(), 'convgen-check-graph-'));
    for (const c of CASES.filter((c) => c.name.startsWith('concat_branches') || c.name.startsWith('read_three_times'))) {
      const file = join(dir, `${c.model.name}.json`);
      writeFileSync(file, JSON.stringify(c.model));
      const r = await run([file, '--seed', '2']);
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toContain('FAIL');
      expect(r.out).toMatch(c.model.loss ? /lossAndGrad: grads\.c3\.weight/ : /backward: dx/);
    }
  }, 60_000);

  it('refuses targets it does not know; --help names all four', async () => {
    await expect(run(['examples/seed.json', '--target', 'cuda'])).rejects.toThrow(/--target: must be one of ts, wgsl, wasm, all, got "cuda"/);
    await expect(run(['examples/seed.json', '--target'])).rejects.toThrow(/--target: must be one of ts, wgsl, wasm, all, got nothing/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--target ts|wgsl|wasm|all');
    expect(help.out).toContain('in the convgen repository, scripts/install-webgpu-deps.sh');
    expect(help.out).toContain('mesa-vulkan-drivers');
  });
});

describe('compare', () => {
  it('passes within the tolerance, fails past it, and fails on NaN or a length mismatch', () => {
    const ref = [1, -2, 3];
    expect(compare([1, -2, 3 + 1e-7], ref, kernelTolerance(1)).ok).toBe(true);
    expect(compare([1, -2, 3.01], ref, kernelTolerance(1)).ok).toBe(false);
    expect(compare([1, NaN, 3], ref, kernelTolerance(1)).ok).toBe(false);
    expect(compare([1, -2], ref, kernelTolerance(1)).ok).toBe(false);
    const c = compare([1, -2, 3.003], ref, modelTolerance);
    expect(c.maxAbs).toBeCloseTo(0.003, 9);
    expect(c.maxRel).toBeCloseTo(0.001, 9);
    expect(c.ok).toBe(false);
  });
  it('scales the kernel tolerance with the reduction length', () => {
    expect(kernelTolerance(1000)(1)).toBeGreaterThan(100 * kernelTolerance(1)(1));
    expect(kernelTolerance(9)(10)).toBeCloseTo(10 * kernelTolerance(9)(1), 15);
  });
});
