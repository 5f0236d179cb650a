// The batch-norm example nets, examples/resnet.json (residual blocks, a projection shortcut)
// and examples/mobilenet.json (depthwise-separable and inverted-residual blocks), as an app uses
// their generated modules: a few Adam steps on one fixed batch of digits in training mode,
// eval mode (batch norm's running stats) against training mode, and the state_dict, running
// stats included, through safetensors. Kernel numerics are convgen check's (CI runs it on both
// examples on both targets); this pins the module-level behaviour the demo relies on.

import { beforeAll, describe, expect, it } from 'vitest';
import { runCaptured } from './helpers/cli.ts';
import { buildCommand } from '../src/cli/build.ts';
import { decodeSafetensors } from '../src/io/safetensors.ts';
import * as resnet from '../generated/resnet_small/index.ts';
import * as mobilenet from '../generated/mobilenet_small/index.ts';
import { loadMnist, PIXELS, subset } from '../examples/mnist/data.ts';

interface Net {
  plan: { batch: number; layers: readonly { name: string; type: string }[] };
  createModel(o: { seed: number }): {
    forward(x: Float32Array): Float32Array;
    lossAndGrad(x: Float32Array, labels: Int32Array): number;
    adamStep(lr?: number): void;
    train(mode?: boolean): unknown;
    eval(): unknown;
    readonly training: boolean;
    readonly buffers: Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>;
    loadSafetensors(bytes: Uint8Array): unknown;
    saveSafetensors(metadata?: Record<string, string>): Uint8Array;
  };
}

const NETS: [string, string, Net][] = [
  ['examples/resnet.json', 'resnet_small', resnet as unknown as Net],
  ['examples/mobilenet.json', 'mobilenet_small', mobilenet as unknown as Net],
];

beforeAll(async () => {
  // the modules imported above are what the model files build to now
  const r = await runCaptured(buildCommand, [...NETS.map(([file]) => file), '--check']);
  expect(r.code, r.out + r.err).toBe(0);
}, 30_000);

const { train } = loadMnist();

describe.each(NETS)('%s (generated/%s)', (_file, _name, net) => {
  const batch = net.plan.batch;
  const digits = subset(train, Array.from({ length: batch }, (_, i) => i));
  const x = digits.images.subarray(0, batch * PIXELS);
  const bnLayers = net.plan.layers.filter((l) => l.type === 'batchnorm2d').map((l) => l.name);
  const copy = (a: Float32Array) => Float32Array.from(a);

  it('has batch norm layers and their running stats', () => {
    const model = net.createModel({ seed: 1 });
    expect(bnLayers.length).toBeGreaterThanOrEqual(5);
    expect(Object.keys(model.buffers).sort()).toEqual([...bnLayers].sort());
  });

  it('Adam steps in training mode on one fixed batch: the loss falls', () => {
    const model = net.createModel({ seed: 1 });
    expect(model.training).toBe(true);
    const losses: number[] = [];
    for (let s = 0; s < 12; s++) {
      losses.push(model.lossAndGrad(x, digits.labels));
      model.adamStep(3e-3);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[0]).toBeGreaterThan(1.8); // about ln 10 at the start
    expect(losses[losses.length - 1]).toBeLessThan(0.6 * losses[0]);
    // every training-mode forward moved each batch norm's count
    for (const name of bnLayers) expect(model.buffers[name].num_batches_tracked[0]).toBe(12n);
  }, 30_000);

  it('eval mode: deterministic, leaves the running stats alone, and differs from training mode', () => {
    const model = net.createModel({ seed: 1 });
    for (let s = 0; s < 3; s++) {
      model.lossAndGrad(x, digits.labels);
      model.adamStep(3e-3);
    }
    const stats = (m: ReturnType<Net['createModel']>) => bnLayers.map((n) => [copy(m.buffers[n].running_mean), copy(m.buffers[n].running_var), m.buffers[n].num_batches_tracked[0]]);
    model.eval();
    expect(model.training).toBe(false);
    const before = stats(model);
    const a = copy(model.forward(x));
    const b = copy(model.forward(x));
    expect(b).toEqual(a);
    expect(stats(model)).toEqual(before);
    // one sample's eval output does not depend on the rest of the batch
    const other = copy(x);
    other.fill(0.5, PIXELS);
    expect(copy(model.forward(other)).subarray(0, 10)).toEqual(a.subarray(0, 10));

    model.train();
    const t = copy(model.forward(x));
    let gap = 0;
    for (let i = 0; i < t.length; i++) gap = Math.max(gap, Math.abs(t[i] - a[i]));
    expect(gap).toBeGreaterThan(1e-3);
    expect(stats(model)).not.toEqual(before);
  }, 30_000);

  it('saveSafetensors / loadSafetensors carry the parameters and the running stats', () => {
    const model = net.createModel({ seed: 1 });
    for (let s = 0; s < 3; s++) {
      model.lossAndGrad(x, digits.labels);
      model.adamStep(3e-3);
    }
    const bytes = model.saveSafetensors({ format: 'pt' });
    const names = Object.keys(decodeSafetensors(bytes).tensors);
    for (const n of bnLayers) expect(names).toEqual(expect.arrayContaining([`${n}.weight`, `${n}.bias`, `${n}.running_mean`, `${n}.running_var`, `${n}.num_batches_tracked`]));

    const fresh = net.createModel({ seed: 2 });
    model.eval();
    fresh.eval();
    const want = copy(model.forward(x));
    expect(copy(fresh.forward(x))).not.toEqual(want);
    fresh.loadSafetensors(bytes);
    for (const n of bnLayers) {
      expect(fresh.buffers[n].running_mean).toEqual(model.buffers[n].running_mean);
      expect(fresh.buffers[n].running_var).toEqual(model.buffers[n].running_var);
      expect(fresh.buffers[n].num_batches_tracked[0]).toBe(3n);
    }
    expect(copy(fresh.forward(x))).toEqual(want);
    expect(fresh.saveSafetensors({ format: 'pt' })).toEqual(bytes);
  }, 30_000);
});
