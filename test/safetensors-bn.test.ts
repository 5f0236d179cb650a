// Batch norm's state_dict through the generated modules' loadSafetensors / saveSafetensors.
// The fixture (test/fixtures/torch/bn.safetensors, made by make_bn.py) is a PyTorch net with a
// BatchNorm2d and a BatchNorm1d(momentum=None) after two training steps: float32 tensors and
// num_batches_tracked as I64, as PyTorch's state_dict holds it, plus an input "x" and the
// net's eval-mode output "y". Checked here: that file loads (I64 counts included) and gives
// PyTorch's eval output; a saved file has PyTorch's keys, dtypes (I64 for the counts, shape [])
// and shapes and round-trips byte for byte; strict loading of a file without the running stats
// fails as load_state_dict(strict=True) does, and changes nothing; I32 counts load, float ones
// do not. (PyTorch loading convgen's file with strict=True: reverse_bn.py, run by hand.)

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { emitModel } from '../src/emit/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../src/io/safetensors.ts';

const FIXTURE = new URL('./fixtures/torch/', import.meta.url);
const torchFile = new Uint8Array(readFileSync(new URL('bn.safetensors', FIXTURE)));
const torch = decodeSafetensors(torchFile).tensors;
const x = torch.x.data as Float32Array;
const yTorch = torch.y.data as Float32Array;
/** the state_dict alone, as PyTorch saves it: without the fixture's x and y */
const stateDict = (() => {
  const t = { ...torch };
  delete t.x;
  delete t.y;
  return t;
})();
const plan = planModel(parseModel(JSON.parse(readFileSync(new URL('bn_model.json', FIXTURE), 'utf8'))));

type Buffers = Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>;
interface CpuModel {
  readonly params: Record<string, { weight?: Float32Array; bias?: Float32Array }>;
  readonly buffers: Buffers;
  eval(): CpuModel;
  forward(x: Float32Array): Float32Array;
  loadSafetensors(bytes: Uint8Array, options?: { strict?: boolean }): { missingKeys: readonly string[]; unexpectedKeys: readonly string[] };
  saveSafetensors(): Uint8Array;
}

const root = mkdtempSync(join(tmpdir(), 'convgen-st-bn-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, plan.name);
writeOutputAtomic(dir, await emitModel(plan, { target: 'ts' }));
const { createModel } = (await import(pathToFileURL(join(dir, 'index.ts')).href)) as { createModel(o?: { seed?: number }): CpuModel };

function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

describe('batch norm state_dicts', () => {
  it("PyTorch's file (num_batches_tracked as I64) loads strictly and gives PyTorch's eval-mode output", () => {
    const m = createModel({ seed: 1 });
    expect(m.loadSafetensors(encodeSafetensors(stateDict))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(m.buffers.bn1.num_batches_tracked[0]).toBe(2n);
    expect(m.buffers.bn2.num_batches_tracked[0]).toBe(2n);
    expect(Array.from(m.buffers.bn1.running_var)).toEqual(Array.from(stateDict['features.1.running_var'].data as Float32Array));
    expect(maxError(m.eval().forward(x), yTorch)).toBeLessThan(1e-5);
  });

  it("a saved file has PyTorch's keys, dtypes and shapes (I64 counts of shape []), and round-trips byte for byte", () => {
    const m = createModel({ seed: 2 });
    m.loadSafetensors(encodeSafetensors(stateDict));
    const file = m.saveSafetensors();
    const back = decodeSafetensors(file).tensors;
    const summary = (t: Record<string, Tensor>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, [v.dtype, [...v.shape]]]));
    expect(summary(back)).toEqual(summary(stateDict));
    expect(back['head.1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data: BigInt64Array.of(2n) });
    const again = createModel({ seed: 3 });
    again.loadSafetensors(file);
    expect(again.saveSafetensors()).toEqual(file);
  });

  it('a file without the running stats fails a strict load, naming them, and changes nothing', () => {
    const m = createModel({ seed: 4 });
    const before = m.saveSafetensors();
    const partial = { ...stateDict };
    for (const k of ['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked']) delete partial[k];
    expect(errorOf(() => m.loadSafetensors(encodeSafetensors(partial))).message).toBe(
      'bn_torch.loadSafetensors: error(s) loading the state_dict, no parameter was changed:\n' +
        '  missing tensors: "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"\n' +
        '  (strict: false loads only the tensors that match; names: { fileName: modelName } renames file tensors)',
    );
    expect(m.saveSafetensors()).toEqual(before);
    // strict: false loads the rest and reports the missing buffers, as PyTorch's missing_keys
    expect(m.loadSafetensors(encodeSafetensors(partial), { strict: false }).missingKeys).toEqual(['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked']);
    expect(m.buffers.bn2.num_batches_tracked[0]).toBe(2n);
  });

  it('num_batches_tracked loads from I32 too; a float count is an error', () => {
    const m = createModel({ seed: 5 });
    m.loadSafetensors(encodeSafetensors({ ...stateDict, 'head.1.num_batches_tracked': { dtype: 'I32', shape: [], data: Int32Array.of(7) } }));
    expect(m.buffers.bn2.num_batches_tracked[0]).toBe(7n);
    const float = encodeSafetensors({ ...stateDict, 'head.1.num_batches_tracked': { dtype: 'F32', shape: [], data: Float32Array.of(7) } });
    expect(errorOf(() => m.loadSafetensors(float)).message).toContain("head.1.num_batches_tracked is F32 in the file; the model's int64 counter loads from I64 or I32");
    const shaped = encodeSafetensors({ ...stateDict, 'head.1.num_batches_tracked': { dtype: 'I64', shape: [1], data: BigInt64Array.of(7n) } });
    expect(errorOf(() => m.loadSafetensors(shaped)).message).toContain('size mismatch for head.1.num_batches_tracked: copying a param with shape [1] from checkpoint, the shape in current model is []');
  });
});
