// PyTorch weights both ways through the generated modules' loadSafetensors / saveSafetensors.
// The fixture (test/fixtures/torch/, made once by make.py with PyTorch) is LeNet-5 as an
// nn.Sequential: its state_dict (features.0.weight, ..., classifier.4.bias), an input batch and
// PyTorch's output for it. model.json there maps each layer to its PyTorch name (torch_name).
// Checked here: PyTorch's weights give PyTorch's output (TS and JS flavours, the WebGPU model);
// a saved file has exactly the state_dict's keys and shapes and round-trips byte for byte;
// load_state_dict's strict rules and their messages; the name map; F64/F16/BF16 files; the
// file helpers of src/io/model-safetensors.ts.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModel } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import type { ModelPlan } from '../src/plan/types.ts';
import { emitModel } from '../src/emit/index.ts';
import { writeOutputAtomic } from '../src/emit/write.ts';
import { createReferenceModel } from '../src/reference/index.ts';
import { decodeSafetensors, encodeModelParams, encodeSafetensors, toFloat32, type Tensor } from '../src/io/safetensors.ts';
import { loadSafetensorsFile, saveSafetensorsFile } from '../src/io/model-safetensors.ts';
import { NO_ADAPTER, numericDeviceOrSkip } from './helpers/webgpu.ts';

const FIXTURE = new URL('./fixtures/torch/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURE));
const modelJson = JSON.parse(fixture('model.json').toString('utf8')) as { layers: Record<string, unknown>[] };
const torchWeights = new Uint8Array(fixture('weights.safetensors'));
const io = decodeSafetensors(new Uint8Array(fixture('io.safetensors'))).tensors;
const x = io.x.data as Float32Array;
const yTorch = io.y.data as Float32Array;
const stateDict = (JSON.parse(fixture('state_dict.json').toString('utf8')) as { keys: [string, number[]][] }).keys;

type Params = Record<string, { weight?: Float32Array; bias?: Float32Array }>;
interface LoadResult {
  missingKeys: readonly string[];
  unexpectedKeys: readonly string[];
}
interface CpuModel {
  readonly params: Params;
  forward(x: Float32Array): Float32Array;
  loadSafetensors(bytes: Uint8Array, options?: { names?: Record<string, string>; strict?: boolean }): LoadResult;
  saveSafetensors(metadata?: Record<string, string>): Uint8Array;
}
interface GpuModel {
  forward(x: Float32Array): Promise<Float32Array>;
  readParams(): Promise<Params>;
  loadSafetensors(bytes: Uint8Array, options?: { names?: Record<string, string>; strict?: boolean }): Promise<LoadResult>;
  saveSafetensors(metadata?: Record<string, string>): Promise<Uint8Array>;
  destroy(): void;
}
interface Built {
  plan: ModelPlan;
  createModel(o?: { seed?: number }): CpuModel;
  createGpuModel: (device: GPUDevice, o?: { seed?: number }) => Promise<GpuModel>;
}

const root = mkdtempSync(join(tmpdir(), 'convgen-st-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** what `convgen build` writes for the model, in a temporary folder, imported (index and gpu) */
async function build(json: unknown, emit: 'ts' | 'js' = 'ts', dirName: string = emit): Promise<Built> {
  const plan = planModel(parseModel(json));
  const dir = join(root, dirName, plan.name);
  writeOutputAtomic(dir, await emitModel(plan, { target: 'all', emit }));
  const ext = emit === 'ts' ? 'ts' : 'js';
  const index = await import(pathToFileURL(join(dir, `index.${ext}`)).href);
  const gpu = await import(pathToFileURL(join(dir, `gpu.${ext}`)).href);
  return { plan, createModel: index.createModel, createGpuModel: gpu.createGpuModel };
}

/** |got - want| <= 1e-4 * max |want|, the whole output */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  expect(got.length, what).toBe(want.length);
  let max = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    max = Math.max(max, Math.abs(want[i]));
    const e = Math.abs(got[i] - want[i]);
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  expect(worst, `${what}: max abs error ${worst}, max |PyTorch| ${max}`).toBeLessThanOrEqual(1e-4 * max);
}

/** the torch file's tensors, edited: a safetensors file in memory */
function edited(edit: (t: Record<string, Tensor>) => void): Uint8Array {
  const { tensors } = decodeSafetensors(torchWeights);
  edit(tensors);
  return encodeSafetensors(tensors);
}

function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** a copy of every parameter, to show that a failed load changed nothing */
const snapshot = (p: Params) => JSON.stringify(Object.entries(p).map(([k, t]) => [k, [...(t.weight ?? [])], [...(t.bias ?? [])]]));

const ts = await build(modelJson);

describe('PyTorch weights -> convgen', () => {
  it("PyTorch's state_dict gives PyTorch's output (TS flavour, and the float64 reference on the same params)", () => {
    const model = ts.createModel({ seed: 5 });
    expect(model.loadSafetensors(torchWeights)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expectClose(model.forward(x), yTorch, 'generated TS');
    const ref = createReferenceModel(ts.plan, model.params);
    expectClose(ref.forward(x), yTorch, 'float64 reference');
  });

  it('the JS flavour (types stripped) loads and saves the same', async () => {
    const js = await build(modelJson, 'js');
    const model = js.createModel({ seed: 5 });
    model.loadSafetensors(torchWeights);
    expectClose(model.forward(x), yTorch, 'generated JS');
    const other = ts.createModel({ seed: 9 });
    other.loadSafetensors(torchWeights);
    expect(Buffer.from(model.saveSafetensors()).equals(Buffer.from(other.saveSafetensors()))).toBe(true);
  }, 60_000);

  it('F64, F16 and BF16 files load converted to float32 (F64 of float32 values exactly)', () => {
    const model = ts.createModel();
    const f32 = decodeSafetensors(torchWeights).tensors;
    const as = (dtype: 'F64' | 'F16' | 'BF16') =>
      edited((t) => {
        for (const [k, v] of Object.entries(t)) {
          const d = v.data as Float32Array;
          if (dtype === 'F64') t[k] = { dtype, shape: v.shape, data: Float64Array.from(d) };
          // F16 / BF16 by truncation: any bit patterns will do, the reader must widen them as src/io does
          else if (dtype === 'BF16') t[k] = { dtype, shape: v.shape, data: Uint16Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length), (b) => b >>> 16) };
          else t[k] = { dtype, shape: v.shape, data: Uint16Array.from(d, (_, i) => (i * 7919) & 0xffff) };
        }
      });
    model.loadSafetensors(as('F64'));
    expect(model.params.c1.weight).toEqual(f32['features.0.weight'].data);
    expectClose(model.forward(x), yTorch, 'F64 file');
    for (const dtype of ['F16', 'BF16'] as const) {
      const file = as(dtype);
      model.loadSafetensors(file);
      const want = toFloat32(decodeSafetensors(file).tensors['classifier.2.weight']);
      expect(model.params.f6.weight).toEqual(want);
    }
  });
});

describe('convgen -> PyTorch', () => {
  it("saveSafetensors writes exactly the state_dict's keys and shapes, F32, names sorted", () => {
    const bytes = ts.createModel({ seed: 1 }).saveSafetensors();
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({});
    expect(Object.keys(tensors)).toEqual(stateDict.map(([k]) => k).sort());
    for (const [key, shape] of stateDict) {
      expect(tensors[key].shape, key).toEqual(shape);
      expect(tensors[key].dtype, key).toBe('F32');
    }
  });

  it('the PyTorch values come back out bit for bit, and save -> load -> save is byte-identical', () => {
    const a = ts.createModel({ seed: 1 });
    a.loadSafetensors(torchWeights);
    const saved = a.saveSafetensors({ format: 'pt' });
    const torch = decodeSafetensors(torchWeights);
    const mine = decodeSafetensors(saved);
    expect(mine.metadata).toEqual({ format: 'pt' });
    for (const [key] of stateDict) expect(mine.tensors[key].data, key).toEqual(torch.tensors[key].data);
    const b = ts.createModel({ seed: 2 });
    b.loadSafetensors(saved);
    expect(Buffer.from(b.saveSafetensors({ format: 'pt' })).equals(Buffer.from(saved))).toBe(true);
  });

  it("without torch_name the names are <layer>.weight / <layer>.bias, the same bytes src/io's encodeModelParams writes", async () => {
    const plain = await build({ ...modelJson, name: 'lenet_plain', layers: modelJson.layers.map(({ torch_name: _, ...l }) => l) });
    const model = plain.createModel({ seed: 3 });
    expect(Buffer.from(model.saveSafetensors()).equals(Buffer.from(encodeModelParams(plain.plan, model.params)))).toBe(true);
  });
});

describe("load_state_dict's rules", () => {
  const where = 'lenet_torch.loadSafetensors: error(s) loading the state_dict, no parameter was changed:';
  const hint = '  (strict: false loads only the tensors that match; names: { fileName: modelName } renames file tensors)';

  it('strict: missing and unexpected tensors are errors listing them, and nothing changes', () => {
    const model = ts.createModel({ seed: 4 });
    const before = snapshot(model.params);
    const file = edited((t) => {
      delete t['classifier.4.bias'];
      delete t['features.3.weight'];
      t['features.1.num_batches_tracked'] = { dtype: 'I32', shape: [], data: new Int32Array([3]) };
    });
    expect(errorOf(() => model.loadSafetensors(file)).message).toBe(
      [where, '  missing tensors: "features.3.weight", "classifier.4.bias"', '  unexpected tensors: "features.1.num_batches_tracked"', hint].join('\n'),
    );
    expect(snapshot(model.params)).toBe(before);
  });

  it('strict: false loads what matches and reports the rest, as PyTorch returns them', () => {
    const model = ts.createModel({ seed: 4 });
    const kept = Float32Array.from(model.params.out.bias!);
    const file = edited((t) => {
      delete t['classifier.4.bias'];
      t['extra.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
    });
    expect(model.loadSafetensors(file, { strict: false })).toEqual({ missingKeys: ['classifier.4.bias'], unexpectedKeys: ['extra.weight'] });
    expect(model.params.out.bias).toEqual(kept);
    expect(model.params.c1.weight).toEqual(decodeSafetensors(torchWeights).tensors['features.0.weight'].data);
  });

  it('a shape mismatch is an error in PyTorch\'s words, strict or not', () => {
    const model = ts.createModel();
    const before = snapshot(model.params);
    const file = edited((t) => {
      t['features.0.weight'] = { dtype: 'F32', shape: [6, 1, 3, 3], data: new Float32Array(54) };
    });
    const msg = '  size mismatch for features.0.weight: copying a param with shape [6, 1, 3, 3] from checkpoint, the shape in current model is [6, 1, 5, 5]';
    expect(errorOf(() => model.loadSafetensors(file)).message).toBe(`${where}\n${msg}`);
    expect(errorOf(() => model.loadSafetensors(file, { strict: false })).message).toBe(`${where}\n${msg}`);
    expect(snapshot(model.params)).toBe(before);
  });

  it('a non-float dtype for a parameter is an error', () => {
    const file = edited((t) => {
      t['classifier.4.bias'] = { dtype: 'I32', shape: [10], data: new Int32Array(10) };
    });
    expect(errorOf(() => ts.createModel().loadSafetensors(file)).message).toBe(
      `${where}\n  classifier.4.bias is I32 in the file; the model's float32 tensors load from F32, F64, F16 or BF16`,
    );
  });

  it.each([
    ['a truncated file', () => torchWeights.subarray(0, torchWeights.length - 100), 'the tensors need 246824 bytes of data after the header, the file has 246724 (truncated)'],
    ['a file cut inside its header', () => torchWeights.subarray(0, 200), 'the header length 840 does not fit in the 200-byte file (truncated, or not a safetensors file)'],
    ['an empty file', () => new Uint8Array(0), 'it has 0 bytes, fewer than the 8 of the header length'],
    ['a header that is not JSON', () => {
      const b = Uint8Array.from(torchWeights);
      b[8] = 0x5b; // '{' -> '['
      return b;
    }, /^the 840-byte header is not UTF-8 JSON \(/],
    ['a header that is a JSON list', () => {
      const h = new TextEncoder().encode('[1]     ');
      return Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, ...h]);
    }, 'the header is not a JSON object'],
    ['an unknown dtype', () => {
      const h = new TextEncoder().encode('{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}');
      return Uint8Array.from([h.length, 0, 0, 0, 0, 0, 0, 0, ...h, 0]);
    }, 'tensor "a" has an unknown dtype "Q7"'],
    ['overlapping tensors', () => {
      const h = new TextEncoder().encode('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}');
      return Uint8Array.from([h.length, 0, 0, 0, 0, 0, 0, 0, ...h, 0, 0, 0]);
    }, 'tensor "b" starts at data byte 1, expected 2 (a hole or an overlap)'],
    ['trailing bytes', () => Uint8Array.from([...torchWeights, 0]), '1 bytes follow the last tensor'],
  ])('%s is a clear error, never a crash', (_, bytes, problem) => {
    const model = ts.createModel();
    const before = snapshot(model.params);
    const msg = errorOf(() => model.loadSafetensors(bytes())).message;
    const prefix = 'lenet_torch.loadSafetensors: not a valid safetensors file: ';
    expect(msg.startsWith(prefix), msg).toBe(true);
    if (typeof problem === 'string') expect(msg.slice(prefix.length)).toBe(problem);
    else expect(msg.slice(prefix.length)).toMatch(problem);
    expect(snapshot(model.params)).toBe(before);
  });

  it('bad arguments are TypeErrors', () => {
    const model = ts.createModel();
    expect(() => model.loadSafetensors(torchWeights.buffer as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => model.loadSafetensors(torchWeights, { strict: 'yes' as unknown as boolean })).toThrow('options.strict must be true or false');
    expect(() => model.saveSafetensors({ n: 1 as unknown as string })).toThrow('metadata values must be strings, "n" is number');
  });
});

describe('the name map: file tensor name -> model tensor name', () => {
  // the same net without torch_name: its tensors are c1.weight, ..., out.bias
  const plainJson = { ...modelJson, name: 'lenet_names', layers: modelJson.layers.map(({ torch_name: _, ...l }) => l) };
  const layerOf: Record<string, string> = { 'features.0': 'c1', 'features.3': 'c3', 'classifier.0': 'f5', 'classifier.2': 'f6', 'classifier.4': 'out' };
  const names = Object.fromEntries(stateDict.map(([k]) => [k, k.replace(/^(.*)\.(weight|bias)$/, (_, m: string, p: string) => `${layerOf[m]}.${p}`)]));

  it('loads a PyTorch file into a model with other names', async () => {
    const plain = await build(plainJson);
    const model = plain.createModel();
    expect(model.loadSafetensors(torchWeights, { names })).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expectClose(model.forward(x), yTorch, 'renamed');
    // unmapped names pass through: a partial map plus the model's own names
    const { 'classifier.4.weight': _, ...partial } = names;
    const file = edited((t) => {
      t['out.weight'] = t['classifier.4.weight'];
      delete t['classifier.4.weight'];
    });
    model.loadSafetensors(file, { names: partial });
    expectClose(model.forward(x), yTorch, 'partly renamed');
  });

  it('a map to a name the model lacks, or two file tensors into one, is an error', async () => {
    const plain = await build(plainJson, 'ts', 'names2');
    const model = plain.createModel();
    expect(errorOf(() => model.loadSafetensors(torchWeights, { names: { 'features.0.weight': 'c1.wieght' } })).message).toBe(
      'lenet_names.loadSafetensors: options.names maps "features.0.weight" to "c1.wieght", which is not a tensor of this model (its tensors: "c1.weight", "c1.bias", "c3.weight", "c3.bias", "f5.weight", "f5.bias", "f6.weight", "f6.bias", "out.weight", "out.bias")',
    );
    const twice = edited((t) => {
      t['c1.weight'] = t['features.0.weight'];
    });
    expect(errorOf(() => model.loadSafetensors(twice, { names })).message).toContain('file tensors "c1.weight" and "features.0.weight" both load into c1.weight');
  });

  it("a size mismatch names the file's tensor too", async () => {
    const plain = await build(plainJson, 'ts', 'names3');
    const file = edited((t) => {
      t['classifier.0.bias'] = { dtype: 'F32', shape: [12], data: new Float32Array(12) };
    });
    expect(errorOf(() => plain.createModel().loadSafetensors(file, { names })).message).toContain(
      'size mismatch for f5.bias (file tensor "classifier.0.bias"): copying a param with shape [12] from checkpoint, the shape in current model is [120]',
    );
  });
});

describe('src/io/model-safetensors.ts: files', () => {
  it('saveSafetensorsFile / loadSafetensorsFile round-trip, and errors name the file', async () => {
    const dir = mkdtempSync(join(root, 'files-'));
    const path = join(dir, 'lenet.safetensors');
    writeFileSync(join(dir, 'torch.safetensors'), torchWeights);
    const a = ts.createModel({ seed: 1 });
    expect(await loadSafetensorsFile(a, join(dir, 'torch.safetensors'))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    await saveSafetensorsFile(a, path, { format: 'pt' });
    expect(readFileSync(path).equals(Buffer.from(a.saveSafetensors({ format: 'pt' })))).toBe(true);
    const b = ts.createModel({ seed: 2 });
    await loadSafetensorsFile(b, path);
    expectClose(b.forward(x), yTorch, 'through files');
    await expect(loadSafetensorsFile(b, join(dir, 'nope.safetensors'))).rejects.toThrow(`${join(dir, 'nope.safetensors')}: no such file`);
    writeFileSync(join(dir, 'short.safetensors'), torchWeights.subarray(0, 300));
    await expect(loadSafetensorsFile(b, join(dir, 'short.safetensors'))).rejects.toThrow(`${join(dir, 'short.safetensors')}: lenet_torch.loadSafetensors: not a valid safetensors file`);
    await expect(saveSafetensorsFile(b, join(dir, 'no-such-dir', 'x.safetensors'))).rejects.toThrow(/no-such-dir\/x\.safetensors: cannot write it \(ENOENT\)/);
  });
});

const device = await numericDeviceOrSkip();
const gpuIt = device ? it : it.skip;
if (!device) describe.skip(NO_ADAPTER, () => it('needs an adapter', () => {}));

describe('the WebGPU model (gpu.ts): the same through writeParams / readParams', () => {
  gpuIt("PyTorch's weights give PyTorch's output; saved bytes equal the CPU model's; errors reject and change nothing", async () => {
    const gpu = await ts.createGpuModel(device!, { seed: 8 });
    try {
      expect(await gpu.loadSafetensors(torchWeights)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      expectClose(await gpu.forward(x), yTorch, 'generated WGSL');
      const cpu = ts.createModel({ seed: 3 });
      cpu.loadSafetensors(torchWeights);
      const saved = await gpu.saveSafetensors({ format: 'pt' });
      expect(Buffer.from(saved).equals(Buffer.from(cpu.saveSafetensors({ format: 'pt' })))).toBe(true);
      // save -> load -> save on the device
      const other = await ts.createGpuModel(device!, { seed: 9 });
      await other.loadSafetensors(saved);
      expect(Buffer.from(await other.saveSafetensors({ format: 'pt' })).equals(Buffer.from(saved))).toBe(true);
      other.destroy();
      const before = snapshot(await gpu.readParams());
      const bad = edited((t) => {
        delete t['features.0.bias'];
      });
      await expect(gpu.loadSafetensors(bad)).rejects.toThrow('missing tensors: "features.0.bias"');
      await expect(gpu.loadSafetensors(torchWeights.subarray(0, 100))).rejects.toThrow('not a valid safetensors file');
      expect(snapshot(await gpu.readParams())).toBe(before);
      expect(await gpu.loadSafetensors(bad, { strict: false })).toEqual({ missingKeys: ['features.0.bias'], unexpectedKeys: [] });
    } finally {
      gpu.destroy();
    }
  }, 300_000);
});
