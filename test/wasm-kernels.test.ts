// The wasm target's kernels against the float64 reference on the shared case table: every
// layer of every case (conv layers with both CPU strategies, direct and im2row) run as
// WebAssembly through the checker's layer path (src/check/ts.ts checkLayer with the wasm
// runner), and the generated wasm.ts (createWasmModel) against the reference model on the
// multi-layer cases: forward, lossAndGrad's gradients, batch norm's buffers, eval mode, and
// every optimizer through optimizerStep.

import { describe, expect, it } from 'vitest';
import { CASES, planCase } from './cases.ts';
import { checkLayer, rng32, type CheckRow } from '../src/check/ts.ts';
import { checkWasmModel } from '../src/check/wasm.ts';
import { kernelModule, runKernelWasm } from '../src/wasm/run.ts';
import { lowerLayer, lowerModel } from '../src/kernels/index.ts';
import { emitWasmFiles } from '../src/emit/wasm.ts';
import { planModel } from '../src/plan/plan.ts';
import { parseModel } from '../src/spec/parse.ts';
import { printWat } from '../src/wasm/wat-text.ts';
import { rng32 as rng } from '../src/check/ts.ts';
import { withStrategy, type ConvPlan } from './helpers/conv-harness.ts';
import type { LayerPlan } from '../src/plan/types.ts';

const isConv = (l: LayerPlan): l is ConvPlan => l.type === 'conv1d' || l.type === 'conv2d' || l.type === 'conv_transpose1d' || l.type === 'conv_transpose2d';

function expectOk(rows: readonly CheckRow[]): void {
  const checked = rows.filter((r) => r.result);
  for (const r of checked) expect(r.result!.ok, `${r.layer} ${r.kernel}: abs err ${r.result!.maxAbs} > tol ${r.result!.tolerance}`).toBe(true);
}

describe('wasm kernels vs the reference: every layer of the case table', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const plan = planCase(c);
      const rng = rng32(3);
      let checked = 0;
      for (const l of plan.layers) {
        const variants = isConv(l) ? [withStrategy(l, 'direct'), withStrategy(l, 'im2row')] : [l];
        // lowered with the TS schedule (every algorithm) and the wasm target's own (its grad-weight choice)
        for (const v of variants) {
          for (const target of isConv(v) ? (['ts', 'wasm'] as const) : (['wasm'] as const)) {
            const rows = checkLayer(v, rng, (k, args) => runKernelWasm(k, args), target);
            expectOk(rows);
            checked += rows.filter((r) => r.result).length;
          }
        }
      }
      if (plan.layers.some((l) => l.type !== 'flatten')) expect(checked).toBeGreaterThan(0);
    });
  }
});

describe('wasm.ts (createWasmModel) vs the reference model', () => {
  const models = CASES.filter((c) => c.kinds.length > 2);
  it('has multi-layer cases', () => expect(models.length).toBeGreaterThan(5));
  for (const c of models) {
    it(c.name, async () => {
      const rows = await checkWasmModel(planCase(c), 5);
      expect(rows.length).toBeGreaterThan(3);
      expectOk(rows);
    }, 60_000);
  }
});

// layer modules are wasm/layers/<layer>.wat with identifiers layers_<layer>: layers named like
// the model-level modules (train, grads, output_softmax) once overwrote them and redeclared
// their constants in kernels.ts
describe('layers named like the model-level modules', () => {
  it('train, grads and output_softmax as layer names build and match the reference', async () => {
    const spec = {
      name: 'clash',
      batch: 2,
      input: [2, 6, 6],
      output_softmax: true,
      layers: [
        { type: 'conv2d', name: 'train', out_channels: 3, kernel: 3, padding: 1 },
        { type: 'relu', name: 'grads' },
        { type: 'conv2d', name: 'b', inputs: ['train'], out_channels: 3, kernel: 1 },
        { type: 'add', name: 'sum', inputs: ['grads', 'b'] },
        { type: 'flatten' },
        { type: 'linear', name: 'output_softmax', out_features: 4 },
      ],
      loss: 'softmax_cross_entropy',
    };
    const plan = planModel(parseModel(spec));
    const files = emitWasmFiles(plan, lowerModel(plan));
    expect(Object.keys(files).filter((f) => f.endsWith('.wat')).sort()).toEqual(['wasm/grads.wat', 'wasm/layers/b.wat', 'wasm/layers/grads.wat', 'wasm/layers/output_softmax.wat', 'wasm/layers/sum.wat', 'wasm/layers/train.wat', 'wasm/output_softmax.wat', 'wasm/train.wat']);
    const rows = await checkWasmModel(plan, 5);
    expect(rows.length).toBeGreaterThan(3);
    expectOk(rows);
  }, 60_000);
});

// the f32x4 accumulators do each lane's scalar operations in the same order: the SIMD module's
// outputs equal the scalar module's bit for bit (and the vectorizer does fire on these kernels)
describe('simd: the same bits as the scalar module', () => {
  const convs = CASES.flatMap((c) => planCase(c).layers.filter(isConv).map((l) => ({ title: `${c.name} [${l.name}]`, l })));
  let vectorized = 0;
  for (const { title, l } of convs) {
    for (const strategy of ['direct', 'im2row'] as const) {
      it(`${title} ${strategy}`, () => {
        const prog = lowerLayer(withStrategy(l, strategy));
        for (const c of [...prog.forward, ...prog.backward]) {
          const r = rng(7);
          const make = () => c.kernel.buffers.map((b) => (b.t === 'f32' ? Float32Array.from({ length: b.length }, () => r() * 2 - 1) : new Int32Array(b.length)));
          const a = make();
          const b = a.map((x) => x.slice());
          runKernelWasm(c.kernel, a, [], { simd: true });
          runKernelWasm(c.kernel, b, [], { simd: false });
          a.forEach((x, i) => expect(new Uint32Array(x.buffer), `${c.kernel.name} ${c.kernel.buffers[i]!.name}`).toEqual(new Uint32Array(b[i]!.buffer)));
          if (kernelModule([c.kernel]).funcs[0]!.doc.some((d) => d.startsWith('simd: f32x4'))) vectorized++;
        }
      });
    }
  }
  it('vectorizes the register blocks of the conv kernels', () => expect(vectorized).toBeGreaterThan(50));
});

// the direct conv's taps are one channel loop each, back to back: the f32x4 accumulators stay
// packed from one to the next (packed before the first, unpacked after the last), still the
// scalar module's bits. The case table's convs have too few channels for a vectorized loop.
describe('simd: accumulators carried across the taps\' loops', () => {
  const plan = planModel(parseModel({ name: 'carry', batch: 2, input: [8, 10, 10], layers: [{ type: 'conv2d', name: 'c', out_channels: 8, kernel: 3, padding: 1 }] }), { strategy: 'direct' });
  const layer = plan.layers[0]!;
  const prog = lowerLayer(layer, { target: 'wasm' });
  for (const c of [...prog.forward, ...prog.backward]) {
    it(c.kernel.name, () => {
      const r = rng(11);
      const make = () => c.kernel.buffers.map((b) => (b.t === 'f32' ? Float32Array.from({ length: b.length }, () => r() * 2 - 1) : new Int32Array(b.length)));
      const a = make();
      const b = a.map((x) => x.slice());
      runKernelWasm(c.kernel, a, [], { simd: true });
      runKernelWasm(c.kernel, b, [], { simd: false });
      a.forEach((x, i) => expect(new Uint32Array(x.buffer), `${c.kernel.name} ${c.kernel.buffers[i]!.name}`).toEqual(new Uint32Array(b[i]!.buffer)));
    });
  }
  it('packs once for the 9 taps of the interior forward kernel', () => {
    const fwd = prog.forward.find((c) => c.kernel.name.endsWith('_fwd_direct'))!;
    const wat = printWat(kernelModule([fwd.kernel]));
    const packs = (wat.match(/;; f32x4: /g) ?? []).length;
    const loops = (wat.match(/f32x4 accumulators in loop \w+: [^\n]*\((\d+) loops\)/) ?? [])[1];
    expect(Number(loops)).toBe(9);
    // one block of 4 channels x 4 columns: its 4 vectors packed and unpacked once, not once per tap loop
    expect(packs).toBe(4);
    expect((wat.match(/f32x4\.extract_lane 0/g) ?? []).length).toBe(4);
  });
});
