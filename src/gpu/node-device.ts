// A WebGPU device in Node, from Dawn (the `webgpu` npm package, a devDependency: imported
// only when asked for, so `convgen build` and the TS target never load it).
//
// - `openNodeDevice('null')`: Dawn's null backend, which validates WGSL and pipelines fully
//   with no driver at all (nothing runs);
// - `openNodeDevice('default')`: a real adapter (Mesa's lavapipe on a machine without a GPU)
//   that runs shaders.
// A missing package or adapter is a NoWebGpuError whose message says how to get one.
//
// The GPU objects `create()` returns are kept in module variables on purpose, for the life
// of the process: if one is garbage-collected while a device is in use, Dawn crashes or
// hangs (docs/wgsl.md, notes/webgpu-on-cpu.md pitfall 2).

export type NodeBackend = 'default' | 'null';

/**
 * how to get a WebGPU adapter. Shown to users of the installed package too (convgen check
 * --target wgsl), so it names packages, not paths of the convgen checkout.
 */
export const HOW_TO_GET_AN_ADAPTER =
  'install the `webgpu` package (Dawn for Node: `npm install webgpu`) and a Vulkan driver; without a GPU, ' +
  "Mesa's software driver lavapipe, Mesa >= 23 (Debian/Ubuntu packages mesa-vulkan-drivers and libvulkan1; " +
  'on Debian bookworm from bookworm-backports, as stock bookworm Mesa gives no adapter). ' +
  "In the convgen repository, scripts/install-webgpu-deps.sh does this; see convgen's docs/wgsl.md";

/** no WebGPU here: the package is missing or Dawn found no adapter */
export class NoWebGpuError extends Error {
  constructor(what: string) {
    super(`no WebGPU adapter: ${what}; ${HOW_TO_GET_AN_ADAPTER}`);
    this.name = 'NoWebGpuError';
  }
}

// one GPU object per backend, never released (see above)
const gpus = new Map<NodeBackend, GPU>();

async function nodeGpu(backend: NodeBackend): Promise<GPU> {
  const seen = gpus.get(backend);
  if (seen) return seen;
  // lavapipe runs compute on a pool of worker threads; on a loaded 2-core machine waits on
  // that pool were seen to stall single submissions for seconds. Inline execution (0
  // threads) was as fast on a quiet machine and keeps runs predictable. Read when the
  // driver loads (the first create).
  process.env.LP_NUM_THREADS ??= '0';
  let mod: { create(options: string[]): GPU; globals: object };
  try {
    mod = (await import('webgpu')) as typeof mod;
  } catch (err) {
    throw new NoWebGpuError(`the \`webgpu\` package did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  // GPUBufferUsage, GPUShaderStage, GPUMapMode and the classes, as a browser has them
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create(backend === 'null' ? ['backend=null'] : []);
  gpus.set(backend, gpu);
  return gpu;
}

/** the limits a device asks its adapter for (shaders plan for the spec defaults, which every adapter meets; bigger buffers need more) */
const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

export interface NodeDevice {
  readonly device: GPUDevice;
  /** `vendor architecture device`, as the adapter reports it (`mesa software llvmpipe ...`) */
  readonly adapter: string;
}

/** a new device on the given backend; throws NoWebGpuError when there is none */
export async function openNodeDevice(backend: NodeBackend = 'default'): Promise<NodeDevice> {
  const gpu = await nodeGpu(backend);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new NoWebGpuError(`Dawn's ${backend} backend found no adapter`);
  const requiredLimits: Record<string, number> = {};
  for (const k of REQUESTED_LIMITS) requiredLimits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  const device = await adapter.requestDevice({ requiredLimits });
  const info = adapter.info;
  return { device, adapter: [info.vendor, info.architecture, info.device].filter((s) => s).join(' ') || 'unknown adapter' };
}
