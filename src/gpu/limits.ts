// The device limits the WGSL target plans for. Defaults are the WebGPU spec's default
// limits, which every adapter meets, so generated shaders run anywhere unless a user asks
// for more (`--limits limits.json`, keys named as in GPUSupportedLimits, so a dump of
// `device.limits` works as is).

import { readFileSync, statSync } from 'node:fs';
import { ConvgenError } from '../errors.ts';

export interface GpuLimits {
  /** workgroups per dispatch dimension: larger dispatches fold into 2D / 3D */
  readonly maxComputeWorkgroupsPerDimension: number;
  /** invocations per workgroup (caps the workgroup size) */
  readonly maxComputeInvocationsPerWorkgroup: number;
  /** bytes of workgroup memory per workgroup */
  readonly maxComputeWorkgroupStorageSize: number;
  /** storage buffers one shader stage may bind */
  readonly maxStorageBuffersPerShaderStage: number;
  /** bytes of one storage buffer binding: a larger linear weight or arena is split (src/gpu/split.ts), anything else refused */
  readonly maxStorageBufferBindingSize: number;
  /** bytes of one GPU buffer: a larger parameter arena becomes several buffers */
  readonly maxBufferSize: number;
  /** a binding's offset is a multiple of this (bytes, a power of two) */
  readonly minStorageBufferOffsetAlignment: number;
}

export const DEFAULT_LIMITS: GpuLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 8,
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  minStorageBufferOffsetAlignment: 256,
};

/** invocations per workgroup the renderer aims for (a common wave-friendly size), capped by the limit */
export const PREFERRED_WORKGROUP_SIZE = 64;

/**
 * limits from a JSON object (a limits.json file): every key optional, unknown keys ignored
 * (a full `device.limits` dump carries many the WGSL target does not use)
 */
export function parseLimits(json: unknown, where = 'limits'): GpuLimits {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConvgenError(where, 'expected a JSON object of WebGPU limits', `write e.g. {"maxStorageBufferBindingSize": 268435456}`);
  }
  const o = json as Record<string, unknown>;
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS)) {
    if (!(key in o)) continue;
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new ConvgenError(`${where}.${key}`, `expected a positive integer, got ${JSON.stringify(v)}`, `use the value from the device's GPUSupportedLimits`);
    }
    if (key === 'minStorageBufferOffsetAlignment' && (v & (v - 1)) !== 0) {
      throw new ConvgenError(`${where}.${key}`, `expected a power of two, got ${v}`, `use the value from the device's GPUSupportedLimits (256 on most devices)`);
    }
    out[key] = v;
  }
  return out as unknown as GpuLimits;
}

/** a limits.json is a few hundred bytes (a full `device.limits` dump included) */
const MAX_LIMITS_FILE_BYTES = 1 << 20;

const LIMITS_FIX = 'pass --limits a JSON file of WebGPU limits (keys as in GPUSupportedLimits, e.g. {"maxStorageBufferBindingSize": 268435456}), or leave --limits out for the WebGPU defaults';

/** `--limits limits.json`: read and parse the file; every error names the file and the fix */
export function loadLimitsFile(path: string): GpuLimits {
  let text: string;
  try {
    // a device or a pipe would be read forever
    const st = statSync(path);
    if (!st.isFile()) throw new ConvgenError(path, st.isDirectory() ? 'it is a folder, not a limits file' : 'is not a regular file', LIMITS_FIX);
    if (st.size > MAX_LIMITS_FILE_BYTES) throw new ConvgenError(path, `is ${st.size} bytes, too large for a limits file`, LIMITS_FIX);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConvgenError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read it (${code ?? 'unknown error'})`;
    throw new ConvgenError(path, why, LIMITS_FIX);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConvgenError(path, `not valid JSON (${(err as Error).message})`, LIMITS_FIX);
  }
  return parseLimits(json, path);
}
