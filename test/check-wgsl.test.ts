// convgen check --target wgsl: the TS check's table (same columns, same data, same
// tolerances) for the WGSL kernels and the generated WebGPU runtime, on a real adapter
// (lavapipe in CI). No adapter: a failure in CI, a skip with instructions elsewhere
// (test/helpers/webgpu.ts). The seed problem keeps it short: every shader compiles on
// lavapipe's LLVM, seconds per example on a cold shader cache.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCaptured } from './helpers/cli.ts';
import { checkCommand } from '../src/cli/check.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';
import { CASES } from './cases.ts';

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

/** run the command, capturing what it prints on stdout */
const run = async (args: string[]) => {
  const { code, out } = await runCaptured(checkCommand, args);
  return { code, out };
};

// --target all: ts, wasm and wgsl in turn, one report each, exit 0 only when all pass
describe('convgen check --target all', () => {
  gpuIt('checks the three targets of the seed model', async () => {
    const { code, out } = await run(['examples/seed.json', '--target', 'all']);
    expect(out).toContain('model seed_problem (target ts, seed 1): all within tolerance');
    expect(out).toContain('model seed_problem (target wasm');
    expect(out).toMatch(/model seed_problem \(target wgsl on [^)]*, seed 1\): all within tolerance/);
    expect(out).not.toContain('FAIL');
    expect(code).toBe(0);
  }, 120_000);
});

interface Row {
  layer: string;
  kernel: string;
  strategy: string;
  tolerance: string;
  ok: string;
}

/** the table's rows (after the header and the rule) */
function rows(out: string): Row[] {
  const lines = out.split('\n').filter((l) => l.startsWith('| '));
  return lines.slice(1).map((l) => {
    const c = l.slice(2, -2).split(' | ').map((s) => s.trim());
    return { layer: c[0], kernel: c[1], strategy: c[2], tolerance: c[5], ok: c[6] };
  });
}

/** per layer, the distinct tolerances of its compared rows */
function tolerancesByLayer(rs: Row[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const r of rs) if (r.tolerance) (out[r.layer] ??= new Set()).add(r.tolerance);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

describe('convgen check --target wgsl', () => {
  gpuIt('seed problem: every WGSL kernel, the loss and the generated gpu.ts within the TS check tolerances, on the same data', async () => {
    const ts = await run(['examples/seed.json', '--seed', '3']);
    const wgsl = await run(['examples/seed.json', '--target', 'wgsl', '--seed', '3']);
    expect(wgsl.code, wgsl.out).toBe(0);
    expect(wgsl.out).toMatch(/^model seed_problem \(target wgsl on .+, seed 3\): all within tolerance\n/);
    expect(wgsl.out).not.toContain('FAIL');
    // the same columns
    const header = (s: string) => s.split('\n').find((l) => l.startsWith('| layer'))!.split('|').map((c) => c.trim());
    expect(header(wgsl.out)).toEqual(header(ts.out));
    const w = rows(wgsl.out);
    const t = rows(ts.out);
    // the GPU-shaped conv kernels, named and labelled by their shape
    expect(w.filter((r) => r.layer === 'conv').map((r) => [r.kernel, r.strategy])).toEqual([
      ['conv3x3_1x4x4_to_2_nobias_fwd_gpu', 'gpu'],
      ['conv3x3_1x4x4_to_2_nobias_dw_splitk', 'splitk'],
      ['conv3x3_1x4x4_to_2_dx_gpu', 'gpu'],
    ]);
    for (const r of w) if (r.tolerance) expect(r.ok, `${r.layer} ${r.kernel}`).toBe('ok');
    // the same data and tolerances: each layer's outputs get the TS rows' tolerances
    expect(tolerancesByLayer(w)).toEqual(tolerancesByLayer(t));
    // the loss kernel and the whole-model rows match the TS rows one for one (same init for a seed)
    const tail = (rs: Row[]) => rs.filter((r) => r.layer === '(loss)' || r.layer === '(model)').map((r) => [r.layer, r.kernel, r.tolerance]);
    expect(tail(w)).toEqual(tail(t));
    expect(tail(w).map((r) => r[1])).toEqual(expect.arrayContaining(['lossAndGrad: loss', 'lossAndGrad: grads.conv.weight', 'lossAndGrad: grads.fc.weight']));
  }, 120_000);

  gpuIt('batch norm and dropout: both modes, running stats, the generated gpu.ts in both modes with its buffers, on the TS check\'s data and tolerances', async () => {
    const ts = await run(['test/fixtures/torch/bn_model.json']);
    const wgsl = await run(['test/fixtures/torch/bn_model.json', '--target', 'wgsl']);
    expect(wgsl.code, wgsl.out).toBe(0);
    expect(wgsl.out).not.toContain('FAIL');
    const w = rows(wgsl.out);
    const t = rows(ts.out);
    // every batch-norm and dropout row the TS check has, the WGSL check has too, with its tolerance
    const norm = (rs: Row[]) => rs.filter((r) => /^(bn|dropout)/.test(r.layer)).map((r) => [r.layer, r.kernel, r.tolerance]);
    expect(norm(w)).toEqual(norm(t));
    expect(norm(w).map((r) => r[1])).toEqual(expect.arrayContaining(['bn2d_4x5x5_fwd_train (running)', 'bn2d_4x5x5_dx_eval', 'dropout_p0p2_l6_6_fwd_train']));
    const tail = (rs: Row[]) => rs.filter((r) => r.layer === '(model)').map((r) => r.kernel);
    expect(tail(w)).toEqual(tail(t));
    expect(tail(w)).toEqual(expect.arrayContaining(['buffers.bn1.running_mean', 'eval: forward: output', 'eval: lossAndGrad: grads.bn2.weight']));
  }, 120_000);

  gpuIt("batch norm and dropout inside graphs: the WGSL kernels and gpu.ts in both modes, on the TS check's data and tolerances", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-check-wgsl-graph-bn-'));
    try {
      for (const c of CASES.filter((c) => /^(bn_residual_block|dropout_branch|bn_dropout_on_input) /.test(c.name))) {
        const file = join(dir, `${c.model.name}.json`);
        writeFileSync(file, JSON.stringify(c.model));
        const ts = await run([file, '--seed', '3']);
        const wgsl = await run([file, '--target', 'wgsl', '--seed', '3']);
        expect(wgsl.code, wgsl.out).toBe(0);
        expect(wgsl.out).not.toContain('FAIL');
        const w = rows(wgsl.out);
        const t = rows(ts.out);
        expect(tolerancesByLayer(w)).toEqual(tolerancesByLayer(t));
        // the whole-model rows one for one: training mode, buffers, eval mode, the optimizers
        const tail = (rs: Row[]) => rs.filter((r) => r.layer === '(model)').map((r) => [r.kernel, r.tolerance]);
        expect(tail(w)).toEqual(tail(t));
        expect(tail(w).map((r) => r[0])).toEqual(expect.arrayContaining(['forward: output', 'eval: forward: output']));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  gpuIt("the seed's branching problem: concat kernels and the gradient sums of gpu.ts, on the TS check's data and tolerances", async () => {
    const ts = await run(['examples/seed_branches.json', '--seed', '5']);
    const wgsl = await run(['examples/seed_branches.json', '--target', 'wgsl', '--seed', '5']);
    expect(wgsl.code, wgsl.out).toBe(0);
    expect(wgsl.out).not.toContain('FAIL');
    const w = rows(wgsl.out);
    expect(w.filter((r) => r.layer === 'cat').map((r) => r.kernel)).toEqual(['concat_c1_c1_1x1_fwd0', 'concat_c1_c1_1x1_fwd1', 'concat_c1_c1_1x1_dx0', 'concat_c1_c1_1x1_dx1']);
    expect(tolerancesByLayer(w)).toEqual(tolerancesByLayer(rows(ts.out)));
    // then one optimizerStep row per optimizer, as for every model with parameters
    expect(w.filter((r) => r.layer === '(model)' && !r.kernel.startsWith('optimizerStep')).map((r) => r.kernel)).toEqual(['forward: output', 'lossAndGrad: loss', 'lossAndGrad: grads.conv1.weight', 'lossAndGrad: grads.conv2.weight', 'lossAndGrad: grads.fc.weight']);
  }, 120_000);

  gpuIt('--strategy im2row checks the tiled GEMM forward; --limits builds the kernels for a device', async () => {
    const tiled = await run(['examples/seed.json', '--target', 'wgsl', '--strategy', 'im2row']);
    expect(tiled.code, tiled.out).toBe(0);
    const conv = rows(tiled.out).filter((r) => r.layer === 'conv');
    expect(conv.map((r) => [r.kernel, r.strategy])).toEqual([
      ['conv3x3_1x4x4_to_2_nobias_fwd_cols_gpu', '-'],
      ['conv3x3_1x4x4_to_2_nobias_fwd_gemm_tiled', 'gemm_tiled'],
      ['conv3x3_1x4x4_to_2_nobias_dw_splitk', 'splitk'],
      ['conv3x3_1x4x4_to_2_dx_gpu', 'gpu'],
    ]);
    expect(conv[1].ok).toBe('ok');
    // two workgroups per dimension at most: every dispatch folds into 2D/3D and still checks out
    const dir = mkdtempSync(join(tmpdir(), 'convgen-check-limits-'));
    try {
      writeFileSync(join(dir, 'limits.json'), JSON.stringify({ maxComputeWorkgroupsPerDimension: 2 }));
      const folded = await run(['examples/seed.json', '--target', 'wgsl', '--limits', join(dir, 'limits.json')]);
      expect(folded.code, folded.out).toBe(0);
      expect(folded.out).not.toContain('FAIL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('convgen check flags', () => {
  it('--limits needs --target wgsl; --strategy takes direct, im2row or auto', async () => {
    await expect(run(['examples/seed.json', '--limits', 'limits.json'])).rejects.toThrow(/--limits: WebGPU limits apply to the WGSL target only; add --target wgsl/);
    await expect(run(['examples/seed.json', '--strategy', 'fast'])).rejects.toThrow(/--strategy: must be one of auto, direct, im2row, got "fast"/);
  });
});
