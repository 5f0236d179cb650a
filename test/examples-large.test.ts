// The real-size examples (examples/large/: VGG-16 and AlexNet at 3x224x224): their tensors are
// torchvision's state_dict, names and shapes, so torchvision weights load as saved. The table
// below was written by PyTorch 1.13 from torchvision's layouts (CI has no torch). They are not
// in examples/*.json: CI builds them for both targets with --check (see .ci/run) and checks
// nothing numeric on them (the float64 reference at this size takes minutes per step, lavapipe
// far longer); the kernels they use are the case table's, the split ones wgsl-split.test.ts's.

import { describe, expect, it } from 'vitest';
import { loadModelFile } from '../src/spec/parse.ts';
import { planModel } from '../src/plan/plan.ts';
import { scheduleGpu } from '../src/gpu/schedule.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { DEFAULT_LIMITS } from '../src/gpu/limits.ts';
import { emitGpuFiles } from '../src/emit/gpu.ts';

const gpuProgram = (plan: Parameters<typeof lowerModel>[0]) => lowerModel(plan, { target: 'wgsl' });
const conv = (o: number, i: number, k: number) => [[o, i, k, k], [o]];
const fc = (o: number, i: number) => [[o, i], [o]];
const vgg = [[0, 64, 3], [2, 64, 64], [5, 128, 64], [7, 128, 128], [10, 256, 128], [12, 256, 256], [14, 256, 256], [17, 512, 256], [19, 512, 512], [21, 512, 512], [24, 512, 512], [26, 512, 512], [28, 512, 512]] as const;
const TORCHVISION: Record<string, { total: number; tensors: [string, number[][]][] }> = {
  vgg16: {
    total: 138357544,
    tensors: [...vgg.map(([i, o, c]) => [`features.${i}`, conv(o, c, 3)] as [string, number[][]]), ['classifier.0', fc(4096, 25088)], ['classifier.3', fc(4096, 4096)], ['classifier.6', fc(1000, 4096)]],
  },
  alexnet: {
    total: 61100840,
    tensors: [
      ['features.0', conv(64, 3, 11)], ['features.3', conv(192, 64, 5)], ['features.6', conv(384, 192, 3)], ['features.8', conv(256, 384, 3)], ['features.10', conv(256, 256, 3)],
      ['classifier.1', fc(4096, 9216)], ['classifier.4', fc(4096, 4096)], ['classifier.6', fc(1000, 4096)],
    ],
  },
};

describe('examples/large: torchvision VGG-16 and AlexNet', () => {
  for (const [name, want] of Object.entries(TORCHVISION)) {
    const plan = planModel(loadModelFile(new URL(`../examples/large/${name}.json`, import.meta.url).pathname));
    it(`${name}: the state_dict names and shapes are torchvision's`, () => {
      const got = plan.layers.filter((l) => l.weightShape).map((l) => [l.torchName ?? l.name, [l.weightShape, l.biasShape]]);
      expect(got).toEqual(want.tensors);
      expect(plan.totals.params).toBe(want.total);
      expect(plan.inShape).toEqual([1, 3, 224, 224]);
      expect(plan.outShape).toEqual([1, 1000]);
    });
    it(`${name}: the WGSL target at the default limits splits fc6 over bindings (it refused it before) and asks the device for no more than the defaults`, () => {
      const s = scheduleGpu(plan, gpuProgram(plan));
      // fc6: 9216 x 4096 (151 MB) in 2 blocks, 25088 x 4096 (411 MB) in 4
      expect(s.splits.map((q) => [q.layer, q.blocks.length])).toEqual([['fc6', name === 'alexnet' ? 2 : 4]]);
      for (const k of s.kernels) for (const b of k.bindings) expect(b.bytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
      // VGG-16's 553 MB of parameters: 3 buffers
      expect(s.arena!.buffers.length).toBe(name === 'alexnet' ? 1 : 3);
      for (const n of s.arena!.buffers) expect(n * 4).toBeLessThanOrEqual(DEFAULT_LIMITS.maxBufferSize);
      const gpu = emitGpuFiles(plan, gpuProgram(plan))['gpu.ts']!;
      const required = /REQUIRED_LIMITS = (\{[^}]*\})/.exec(gpu)![1]!;
      const { minStorageBufferOffsetAlignment: _, ...defaults } = DEFAULT_LIMITS;
      expect(JSON.parse(required)).toEqual(defaults);
    });
  }
});
