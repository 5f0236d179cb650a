import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeModelParams,
  decodeSafetensors,
  encodeModelParams,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  toFloat32,
  type Tensor,
  type TensorData,
} from '../src/io/safetensors.ts';

function u64le(n: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return [...b];
}

function bytesOf(a: TensorData): number[] {
  return [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];
}

describe('safetensors encode', () => {
  it('matches a hand-built file byte for byte (sorted keys, space padding, packed data)', () => {
    const w = new Float32Array([1, -2.5, 3, 0.125, 7, 8]);
    const b = new Float32Array([0.5, -0.5]);
    // given out of order on purpose: the file is sorted by name
    const bytes = encodeSafetensors({
      'fc.weight': { dtype: 'F32', shape: [2, 3], data: w },
      'fc.bias': { dtype: 'F32', shape: [2], data: b },
    });
    const json =
      '{"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    expect(padded.length % 8).toBe(0);
    const expected = [...u64le(padded.length), ...new TextEncoder().encode(padded), ...bytesOf(b), ...bytesOf(w)];
    expect([...bytes]).toEqual(expected);
  });

  it('writes metadata first as a string map', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) } }, { format: 'pt', b: 'c' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.trimEnd()).toBe('{"__metadata__":{"b":"c","format":"pt"},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}');
    expect((8 + n) % 8).toBe(0);
    expect([...bytes.subarray(8 + n)]).toEqual([1, 2, 3]);
  });

  it('rejects a shape that does not match the data, and a dtype that does not match the array', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/holds 4 elements, the data has 3/);
    expect(() => encodeSafetensors({ a: { dtype: 'F64', shape: [2], data: new Float32Array(2) } })).toThrow(/does not match/);
  });
});

describe('safetensors round trip', () => {
  it('gives back identical dtypes, shapes, values and bytes', () => {
    const tensors: Record<string, Tensor> = {
      'c1.weight': { dtype: 'F32', shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => Math.sin(i) * 1e-3) },
      'c1.bias': { dtype: 'F32', shape: [2], data: new Float32Array([Number.MIN_VALUE, -0]) },
      odd: { dtype: 'U8', shape: [5], data: new Uint8Array([9, 8, 7, 6, 5]) },
      // lands after a 5-byte tensor, so its bytes are not 8-aligned in the file
      'z.f64': { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
      'z.i32': { dtype: 'I32', shape: [1, 2], data: new Int32Array([-7, 2 ** 31 - 1]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensors(tensors, { note: 'hi' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hi' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const r = back.tensors[name];
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(r.data.constructor).toBe(t.data.constructor);
      expect(bytesOf(r.data)).toEqual(bytesOf(t.data));
    }
    expect(Object.is(back.tensors['c1.bias'].data[1], -0)).toBe(true);
    // re-encoding what we read is byte-identical
    expect([...encodeSafetensors(back.tensors, back.metadata)]).toEqual([...bytes]);
  });

  it('saves to and loads from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-st-'));
    try {
      const path = join(dir, 'm.safetensors');
      saveSafetensors(path, { a: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
      expect(readFileSync(path).length % 8).toBe(4); // 8 + padded header + 12 bytes of data
      expect([...loadSafetensors(path).tensors.a.data]).toEqual([1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a header written in another order, with tensors laid out unsorted', () => {
    // as another writer might: names not sorted, data not in name order
    const json = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}';
    const h = new TextEncoder().encode(json);
    const body = [...bytesOf(new Float32Array([2.5])), ...bytesOf(new Int32Array([3, -4]))];
    const file = new Uint8Array([...u64le(h.length), ...h, ...body]);
    const r = decodeSafetensors(file);
    expect([...r.tensors.b.data]).toEqual([2.5]);
    expect([...r.tensors.a.data]).toEqual([3, -4]);
  });
});

describe('half precision', () => {
  it('widens F16 bit patterns exactly: normals, the largest, a subnormal, infinity, -0 and NaN', () => {
    // patterns checked against numpy's float16
    const bits = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0x8000, 0x3555, 0x7e00]);
    const v = toFloat32({ dtype: 'F16', shape: [9], data: bits });
    expect([...v.subarray(0, 8)]).toEqual([1, -2, 0.5, 65504, 2 ** -24, Infinity, -0, 0.333251953125]);
    expect(Number.isNaN(v[8])).toBe(true);
  });

  it('widens BF16 as the top half of a float32', () => {
    const v = toFloat32({ dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc020, 0x4049]) });
    expect([...v]).toEqual([1, -2.5, 3.140625]);
  });

  it('model parameters load from an F16 file, converted to float32', () => {
    const plan = { layers: [{ name: 'fc', weightShape: [2], biasShape: null }] };
    const bytes = encodeSafetensors({ 'fc.weight': { dtype: 'F16', shape: [2], data: new Uint16Array([0x3800, 0xc000]) } });
    const dst = { fc: { weight: new Float32Array(2) } };
    decodeModelParams(plan, dst, bytes);
    expect([...dst.fc.weight]).toEqual([0.5, -2]);
    const ints = encodeSafetensors({ 'fc.weight': { dtype: 'I32', shape: [2], data: new Int32Array(2) } });
    expect(() => decodeModelParams(plan, dst, ints)).toThrow(/expected a floating-point dtype/);
  });
});

describe('safetensors rejects malformed files', () => {
  function file(json: string, body: number[]): Uint8Array {
    const h = new TextEncoder().encode(json);
    return new Uint8Array([...u64le(h.length), ...h, ...body]);
  }
  it.each([
    ['a too-short file', new Uint8Array(4), /too short/],
    ['a header longer than the file', new Uint8Array([...u64le(100), 123, 125]), /does not fit/],
    ['a header that is not JSON', file('{"a":', []), /not valid JSON/],
    ['an unknown dtype', file('{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}', [0]), /unsupported dtype/],
    ['offsets that disagree with the shape', file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /needs 8/],
    ['a hole between tensors', file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', [0, 0]), /hole or an overlap/],
    ['trailing bytes', file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [0, 0]), /cover 1 bytes, the data section has 2/],
  ])('%s', (_, bytes, message) => {
    expect(() => decodeSafetensors(bytes)).toThrow(message);
  });
});

describe('model parameters', () => {
  const plan = {
    layers: [
      { name: 'conv1', weightShape: [2, 1, 2, 2], biasShape: [2] },
      { name: 'relu1', weightShape: null, biasShape: null },
      { name: 'fc', weightShape: [3, 8], biasShape: null },
    ],
  };
  const params = () => ({
    conv1: { weight: Float32Array.from({ length: 8 }, (_, i) => i / 7), bias: new Float32Array([0.1, 0.2]) },
    fc: { weight: Float32Array.from({ length: 24 }, (_, i) => -i) },
  });

  it('names tensors <layer>.weight / <layer>.bias and copies them back in place', () => {
    const src = params();
    const bytes = encodeModelParams(plan, src, { format: 'pt' });
    expect(Object.keys(decodeSafetensors(bytes).tensors)).toEqual(['conv1.bias', 'conv1.weight', 'fc.weight']);
    const dst = { conv1: { weight: new Float32Array(8), bias: new Float32Array(2) }, fc: { weight: new Float32Array(24) } };
    const w = dst.conv1.weight;
    expect(decodeModelParams(plan, dst, bytes)).toEqual({ format: 'pt' });
    expect(dst.conv1.weight).toBe(w);
    expect(dst).toEqual(src);
  });

  it('refuses a file whose shapes or names do not fit the model', () => {
    const other = { layers: [{ name: 'conv1', weightShape: [2, 1, 2, 2], biasShape: [2] }, { name: 'fc', weightShape: [4, 6], biasShape: null }] };
    const bytes = encodeModelParams(plan, params());
    expect(() => decodeModelParams(other, { conv1: params().conv1, fc: { weight: new Float32Array(24) } }, bytes)).toThrow(
      /"fc.weight" has shape \[3, 8\], the model expects \[4, 6\]/,
    );
    const fewer = { layers: [plan.layers[0]] };
    expect(() => decodeModelParams(fewer, params(), bytes)).toThrow(/unexpected tensor "fc.weight"/);
  });
});
