// The safetensors file format, read and write, no dependencies:
//
//   [8 bytes: N, u64 little-endian] [N bytes: JSON header, padded with spaces] [tensor bytes]
//
// The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets
// into the tensor bytes), plus an optional "__metadata__" map of strings. We write keys
// sorted, tensors laid out in that same order, and pad the header so the tensor bytes start
// 8-byte aligned; a reader accepts any order but, as the spec asks, no holes or overlaps.
// Weights saved from a generated model (`<layer>.weight` / `<layer>.bias`, F32, PyTorch
// layouts) load with `safetensors.torch.load_file` into the same PyTorch architecture.

import { readFileSync, writeFileSync } from 'node:fs';

/** F16 and BF16 tensors hold their raw 16-bit patterns (toFloat32 widens them); I64 is PyTorch's int64 (num_batches_tracked) */
export type Dtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';

export type TensorData = Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

export interface Tensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export interface Safetensors {
  /** by name, in file order */
  readonly tensors: Record<string, Tensor>;
  readonly metadata: Record<string, string>;
}

const DTYPES: Record<Dtype, { bytes: number; make: (b: ArrayBuffer) => TensorData; is: (d: TensorData) => boolean }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b), is: (d) => d instanceof Float32Array },
  F64: { bytes: 8, make: (b) => new Float64Array(b), is: (d) => d instanceof Float64Array },
  F16: { bytes: 2, make: (b) => new Uint16Array(b), is: (d) => d instanceof Uint16Array },
  BF16: { bytes: 2, make: (b) => new Uint16Array(b), is: (d) => d instanceof Uint16Array },
  I32: { bytes: 4, make: (b) => new Int32Array(b), is: (d) => d instanceof Int32Array },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b), is: (d) => d instanceof BigInt64Array },
  U8: { bytes: 1, make: (b) => new Uint8Array(b), is: (d) => d instanceof Uint8Array },
};

// the format is little-endian; typed arrays use the host's order, so refuse a big-endian host
// rather than silently swapping bytes
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// a sane bound on the header (the reference implementation uses 100 MB)
const MAX_HEADER = 100_000_000;

function fail(problem: string): never {
  throw new Error(`safetensors: ${problem}`);
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** serializes tensors (written in sorted name order) and string metadata */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  if (!LITTLE_ENDIAN) fail('this host is big-endian; the format is little-endian');
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) {
    const meta: Record<string, string> = {};
    for (const k of metaKeys) {
      if (typeof metadata[k] !== 'string') fail(`metadata "${k}" is not a string`);
      meta[k] = metadata[k];
    }
    header.__metadata__ = meta;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') fail('"__metadata__" is reserved and cannot name a tensor');
    const t = tensors[name];
    const info = DTYPES[t.dtype];
    if (!info) fail(`tensor "${name}": unsupported dtype "${t.dtype}" (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!info.is(t.data)) fail(`tensor "${name}": dtype ${t.dtype} does not match its ${t.data.constructor.name}`);
    for (const d of t.shape) if (!Number.isInteger(d) || d < 0) fail(`tensor "${name}": bad dimension ${d} in shape [${t.shape.join(', ')}]`);
    if (numel(t.shape) !== t.data.length) {
      fail(`tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel(t.shape)} elements, the data has ${t.data.length}`);
    }
    const size = t.data.length * info.bytes;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // pad with spaces so that 8 + N is a multiple of 8
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** parses a safetensors buffer; tensor data is copied (aligned, independent of `bytes`) */
export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  if (!LITTLE_ENDIAN) fail('this host is big-endian; the format is little-endian');
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) fail(`header length ${n64} does not fit in a ${bytes.length}-byte file`);
  const n = Number(n64);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  if (!text.startsWith('{')) fail('the header does not start with "{"');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  const body = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`metadata "${k}" is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype as Dtype;
    if (typeof e.dtype !== 'string' || !DTYPES[dtype]) fail(`tensor "${name}": unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}": bad shape ${JSON.stringify(shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor "${name}": bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as number[];
    if (end - begin !== numel(shape) * DTYPES[dtype].bytes) {
      fail(`tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${dtype} [${shape.join(', ')}] needs ${numel(shape) * DTYPES[dtype].bytes}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  // the tensors must tile the byte buffer exactly: no holes, no overlaps
  const byBegin = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of byBegin) {
    if (e.begin !== covered) fail(`tensor "${e.name}" starts at byte ${e.begin}, expected ${covered} (a hole or an overlap)`);
    covered = e.end;
  }
  if (covered !== body.length) fail(`the tensors cover ${covered} bytes, the data section has ${body.length}`);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const copy = body.slice(e.begin, e.end);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: DTYPES[e.dtype].make(copy.buffer) };
  }
  return { tensors, metadata };
}

export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): Safetensors {
  return decodeSafetensors(new Uint8Array(readFileSync(path)));
}

/** IEEE half-precision bits -> number (subnormals, infinities and NaN included) */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** a floating-point tensor's values as float32 (F64 rounds; F16 and BF16 widen exactly) */
export function toFloat32(t: Tensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return Float32Array.from(t.data as Float32Array);
    case 'F64':
      return Float32Array.from(t.data as Float64Array);
    case 'F16':
      return Float32Array.from(t.data as Uint16Array, halfToNumber);
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const bits = new Uint32Array(t.data.length);
      (t.data as Uint16Array).forEach((h, i) => (bits[i] = h << 16));
      return new Float32Array(bits.buffer);
    }
    default:
      fail(`a ${t.dtype} tensor is not floating point`);
  }
}

// --- model parameters: `<layer>.weight` / `<layer>.bias`, F32 -------------------------------

/** what a generated model (or any model) exposes: the plan's layer shapes, parameters by layer */
export interface ParamLayout {
  readonly layers: readonly { readonly name: string; readonly weightShape: readonly number[] | null; readonly biasShape: readonly number[] | null }[];
}
export type ModelParams = Record<string, { weight?: Float32Array; bias?: Float32Array }>;

function paramSlots(plan: ParamLayout): { key: string; layer: string; part: 'weight' | 'bias'; shape: readonly number[] }[] {
  const slots: { key: string; layer: string; part: 'weight' | 'bias'; shape: readonly number[] }[] = [];
  for (const l of plan.layers) {
    if (l.weightShape) slots.push({ key: `${l.name}.weight`, layer: l.name, part: 'weight', shape: l.weightShape });
    if (l.biasShape) slots.push({ key: `${l.name}.bias`, layer: l.name, part: 'bias', shape: l.biasShape });
  }
  return slots;
}

/** the model's parameters as safetensors bytes, named `<layer>.weight` / `<layer>.bias` */
export function encodeModelParams(plan: ParamLayout, params: ModelParams, metadata: Record<string, string> = {}): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const s of paramSlots(plan)) {
    const data = params[s.layer]?.[s.part];
    if (!data) fail(`the model has no ${s.key}`);
    tensors[s.key] = { dtype: 'F32', shape: s.shape, data };
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * copies `<layer>.weight` / `<layer>.bias` from safetensors bytes into the model's parameter
 * arrays, in place; every parameter must be present with the plan's shape, and no extra tensor.
 * F64, F16 and BF16 files (a PyTorch model saved in another precision) are converted to float32.
 */
export function decodeModelParams(plan: ParamLayout, params: ModelParams, bytes: Uint8Array): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const slots = paramSlots(plan);
  const expected = new Set(slots.map((s) => s.key));
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name)) fail(`unexpected tensor "${name}": the model's parameters are ${[...expected].join(', ')}`);
  }
  for (const s of slots) {
    const t = tensors[s.key];
    if (!t) fail(`missing tensor "${s.key}"`);
    if (t.dtype === 'I32' || t.dtype === 'I64' || t.dtype === 'U8') fail(`tensor "${s.key}" is ${t.dtype}, expected a floating-point dtype (F32, F64, F16, BF16)`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      fail(`tensor "${s.key}" has shape [${t.shape.join(', ')}], the model expects [${s.shape.join(', ')}]`);
    }
    const dst = params[s.layer]?.[s.part];
    if (!dst) fail(`the model has no ${s.key}`);
    dst.set(t.dtype === 'F32' ? (t.data as Float32Array) : toFloat32(t));
  }
  return metadata;
}
