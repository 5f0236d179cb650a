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
import { WASM_COLUMN_GATHER_W, WASM_GATHER_BLOCK, scheduleConv } from '../src/plan/schedule.ts';

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
        // the TS schedule's kernels and the wasm target's own (packed gathers, its GEMM blocks)
        const progs = (['ts', 'wasm'] as const).map((target) => lowerLayer(withStrategy(l, strategy), { target }));
        for (const c of progs.flatMap((prog) => [...prog.forward, ...prog.backward])) {
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
  it('packs once for the 3 kernel rows of the interior forward kernel', () => {
    const fwd = prog.forward.find((c) => c.kernel.name.endsWith('_fwd_direct'))!;
    const wat = printWat(kernelModule([fwd.kernel]));
    const packs = (wat.match(/;; f32x4: /g) ?? []).length;
    const loops = (wat.match(/f32x4 accumulators in loop \w+: [^\n]*\((\d+) loops\)/) ?? [])[1];
    // one loop over the input channels per kernel row, its 3 taps inside
    expect(Number(loops)).toBe(3);
    // one block of the 8 channels x 4 columns (the packed gather's: 2 vectors per column): its
    // vectors packed and unpacked once, not once per kernel row's loop
    const [bo, bw] = [Math.min(WASM_GATHER_BLOCK[0], 8), WASM_GATHER_BLOCK[1]];
    expect(packs).toBe((bo / 4) * bw);
    expect((wat.match(/f32x4\.extract_lane 0/g) ?? []).length).toBe((bo / 4) * bw);
  });
});

// the packed gather (schedule `packed`): weights copied to [g][r][kh][kw][o], f32x4 over 4
// output channels, so a stride-2 conv vectorizes too (its input columns are 2 apart); each
// step splats an input value once for all the block's vectors and loads each weight vector once
describe('simd: the packed gather vectorizes over output channels', () => {
  const plan = planModel(parseModel({ name: 'packed', batch: 2, input: [8, 20, 20], layers: [{ type: 'conv2d', name: 'c', out_channels: 16, kernel: 3, stride: 2, padding: 1 }] }), { strategy: 'direct' });
  const layer = plan.layers[0]!;
  const prog = lowerLayer(layer, { target: 'wasm' });
  const watOf = (suffix: string) => printWat(kernelModule([[...prog.forward, ...prog.backward].find((c) => c.kernel.name.endsWith(suffix))!.kernel]));
  it('packs the weights before the forward gather and the grad-input gather', () => {
    expect(prog.forward[0]!.kernel.name).toMatch(/_fwd_pack$/);
    expect(prog.backward.some((c) => /_dx_pack$/.test(c.kernel.name))).toBe(true);
  });
  it('forward at stride 2: f32x4 accumulators, one splat per input value and one load per weight vector', () => {
    const wat = watOf('_fwd_direct');
    expect(wat).toMatch(/simd: f32x4 accumulators in loop r/);
    const step = wat.slice(wat.indexOf('loop $r'));
    const body = step.slice(0, step.indexOf('(br_if $r'));
    // a kernel row's 3 taps x 4 columns x 16 channels: the 9 input columns they read (0..8,
    // stride 2) splatted once each, straight from memory (v128.load32_splat, no f32.load),
    // 4 weight vectors per tap, 48 vector multiply-adds
    expect(WASM_GATHER_BLOCK).toEqual([16, 4]);
    expect((body.match(/v128\.load32_splat/g) ?? []).length).toBe(9);
    expect((body.match(/f32x4\.splat|f32\.load/g) ?? []).length).toBe(0);
    expect((body.match(/v128\.load(?!32_splat)/g) ?? []).length).toBe(12);
    expect((body.match(/f32x4\.mul/g) ?? []).length).toBe(48);
  });
  it('reads the input at one address per step, the columns in offset immediates', () => {
    // the leftmost tap reads column -1 under padding: the step's base xb is its read, and
    // each column's constant (0..8 floats) goes into the load's offset, not an address add
    const wat = watOf('_fwd_direct');
    const step = wat.slice(wat.indexOf('loop $r'));
    const body = step.slice(0, step.indexOf('(br_if $r'));
    const splats = body.match(/v128\.load32_splat[^(]*\(i32\.add \(local\.get \$x_at\) \(i32\.shl \(local\.get \$xb\) \(i32\.const 2\)\)\)/g) ?? [];
    expect(splats.length).toBe(9);
    expect(new Set(splats.map((t) => /offset=(\d+)/.exec(t)?.[1] ?? '0'))).toEqual(new Set(['0', '4', '8', '12', '16', '20', '24', '28', '32']));
  });
});

// the packed gather's evenWidth: 15 interior columns (D's forward) run as 3 blocks of 5
// columns, not 3 of 4 and a tail block of 3
describe('packed gather: 5 columns per block where 5 divides the interior columns and 4 does not', () => {
  const lowered = (w: number) => {
    const plan = planModel(parseModel({ name: 'even', batch: 1, input: [4, 8, w], layers: [{ type: 'conv2d', name: 'c', out_channels: 8, kernel: 3, stride: 2, padding: 1 }] }), { strategy: 'direct' });
    const prog = lowerLayer(plan.layers[0]!, { target: 'wasm' });
    return (suffix: string) => printWat(kernelModule([prog.forward.find((c) => c.kernel.name.endsWith(suffix))!.kernel]));
  };
  it('15 interior columns: blocks of 5, the cols kernel only the padding-side column', () => {
    const wat = lowered(32);
    expect(wat('_fwd_direct')).toMatch(/\$acc0_4\b/);
    expect(wat('_fwd_direct')).not.toMatch(/\$acc0_5\b/);
    expect(wat('_fwd_direct_cols')).not.toMatch(/\$t_acc/);
  });
  it('16 interior columns: blocks of 4', () => {
    const wat = lowered(34);
    expect(wat('_fwd_direct')).toMatch(/\$acc0_3\b/);
    expect(wat('_fwd_direct')).not.toMatch(/\$acc0_4\b/);
  });
});

// a kernel row's taps in one loop step update the same accumulators several times (the
// packed gather; the column-vector gather of 1-2 channels, A's grad-input): one f32x4 per 4
// accumulators, one vector update per tap, each lane adding in the scalar order
describe('simd: accumulators updated by several taps in one loop step', () => {
  const plan = planModel(parseModel({ name: 'taps', batch: 2, input: [1, 12, 12], layers: [{ type: 'conv2d', name: 'c', out_channels: 8, kernel: 5, padding: 2 }, { type: 'relu' }] }), { strategy: 'direct' });
  const prog = lowerLayer(plan.layers[0]!, { target: 'wasm' });
  it('grad-input over 1 channel (column vectors, 5 taps per kernel row) is vectorized', () => {
    const dx = prog.backward.find((c) => c.kernel.name.endsWith('_dx_direct'))!;
    const wat = printWat(kernelModule([dx.kernel]));
    expect(wat).toMatch(/simd: f32x4 accumulators in loop r/);
    const step = wat.slice(wat.indexOf('loop $r'));
    const body = step.slice(0, step.indexOf('(br_if $r'));
    // 1 channel x 8 columns (WASM_COLUMN_GATHER_W): two vectors, 5 taps -> 10 updates, no scalar multiply left
    expect((body.match(/f32x4\.mul/g) ?? []).length).toBe(5 * (WASM_COLUMN_GATHER_W / 4));
    expect(body).not.toMatch(/f32\.mul/);
  });
  it('forward from 1 input channel: one loop over the kernel rows (its one-step channel loops would stay scalar), vectorized', () => {
    const fwd = prog.forward.find((c) => c.kernel.name.endsWith('_fwd_direct'))!;
    const wat = printWat(kernelModule([fwd.kernel]));
    expect(wat).toMatch(/simd: f32x4 accumulators in loop q/);
    const step = wat.slice(wat.indexOf('loop $q'));
    const body = step.slice(0, step.indexOf('(br_if $q'));
    // 5 taps x 4 columns x 8 channels per kernel row
    expect((body.match(/f32x4\.mul/g) ?? []).length).toBe(5 * 4 * 2);
    expect(body).not.toMatch(/f32\.mul/);
    expectOk(checkLayer(plan.layers[0]!, rng32(9), (k, args) => runKernelWasm(k, args), 'wasm'));
  });
  it('forward from 3 input channels: one loop over (kernel row, channel) pairs, the scalar module\'s bits', () => {
    const rgb = planModel(parseModel({ name: 'rgb', batch: 2, input: [3, 10, 11], layers: [{ type: 'conv2d', name: 'c', out_channels: 8, kernel: 3, padding: 1 }] }), { strategy: 'direct' }).layers[0]!;
    const fwd = lowerLayer(rgb, { target: 'wasm' }).forward.find((c) => c.kernel.name.endsWith('_fwd_direct'))!;
    expect(printWat(kernelModule([fwd.kernel]))).toMatch(/simd: f32x4 accumulators in loop q/);
    const r = rng(13);
    const a = fwd.kernel.buffers.map((b) => Float32Array.from({ length: b.length }, () => r() * 2 - 1));
    const b = a.map((x) => x.slice());
    runKernelWasm(fwd.kernel, a, [], { simd: true });
    runKernelWasm(fwd.kernel, b, [], { simd: false });
    a.forEach((x, i) => expect(new Uint32Array(x.buffer)).toEqual(new Uint32Array(b[i]!.buffer)));
    expectOk(checkLayer(rgb, rng32(9), (k, args) => runKernelWasm(k, args), 'wasm'));
  });
});

// a block of 6 output channels: the packed weights are zero-padded to 8 channels, so the block
// runs as two f32x4 (the 2 padding channels computed, never stored) instead of one and 2 scalar lanes
describe('simd: packed channel blocks padded to the lanes', () => {
  const plan = planModel(parseModel({ name: 'pad6', batch: 2, input: [4, 12, 12], layers: [{ type: 'conv2d', name: 'c', out_channels: 6, kernel: 3, padding: 1 }] }), { strategy: 'direct' });
  const layer = plan.layers[0]!;
  const prog = lowerLayer(layer, { target: 'wasm' });
  it('6 channels: the interior loop is all f32x4, and the kernels match the reference', () => {
    const fwd = prog.forward.find((c) => c.kernel.name.endsWith('_fwd_direct'))!;
    const wat = printWat(kernelModule([fwd.kernel]));
    const step = wat.slice(wat.indexOf('loop $r'));
    const body = step.slice(0, step.indexOf('(br_if $r'));
    // 3 taps x 5 columns (evenWidth: 5 divides the 10 interior columns) x 2 vectors
    expect((body.match(/f32x4\.mul/g) ?? []).length).toBe(3 * 5 * 2);
    expect(body).not.toMatch(/f32\.mul/);
    expectOk(checkLayer(layer, rng32(5), (k, args) => runKernelWasm(k, args), 'wasm'));
  });
});

// the packed grad-weight (schedule dyPacked, kernels/conv-dw-packed.ts): dy copied with output
// channels innermost, x zero-padded, then per block one loop over every pixel of the batch with
// f32x4 accumulators over output channels: each step splats a tap's input value once for the
// block's vectors and loads each dy vector once for all taps. 20 channels = a block of 16 and a
// remainder of 4, over 6 input channels; a kernel row's 5 taps as 3 + 2; stride 2 and padding
describe('simd: the packed grad-weight vectorizes over output channels', () => {
  const plan = planModel(parseModel({ name: 'dwpacked', batch: 2, input: [6, 9, 8], layers: [{ type: 'conv2d', name: 'c', out_channels: 20, kernel: [2, 5], stride: 2, padding: 1 }] }), { strategy: 'direct' });
  const layer = plan.layers[0]! as ConvPlan;
  const prog = lowerLayer(layer, { target: 'wasm' });
  const dw = prog.backward.filter((c) => c.kernel.name.includes('_dw_'));
  it('packs dy, pads x, then reduces', () => {
    expect(scheduleConv(layer, 'wasm').kernels.find((k) => k.role === 'gradWeight')).toMatchObject({ algorithm: 'reduce', block: [16, 1, 3], dyPacked: true });
    expect(dw.map((c) => c.kernel.name.replace(/^.*_dw_/, ''))).toEqual(['dypack', 'xpad', 'packed']);
  });
  it('every block\'s pixel loop is f32x4: 3 taps x 4 vectors in the full block, no scalar multiply', () => {
    const wat = printWat(kernelModule([dw[2]!.kernel]));
    const bodies = wat.split('loop $p').slice(1).map((b) => b.slice(0, b.indexOf('(br_if $p')));
    // per input channel: 16 channels x (3 taps, then 2); then the 4-channel remainder block's
    const count = (re: RegExp) => bodies.map((b) => (b.match(re) ?? []).length);
    expect(count(/f32x4\.mul/g)).toEqual([12, 8, 3, 2]);
    // each tap's input value splatted straight from memory (v128.load32_splat, the packed gathers' form too)
    expect(count(/v128\.load32_splat/g)).toEqual([3, 2, 3, 2]);
    expect(count(/f32x4\.splat/g)).toEqual([0, 0, 0, 0]);
    expect(count(/v128\.load\b(?!32)/g)).toEqual([4, 4, 1, 1]);
    for (const b of bodies) expect(b).not.toMatch(/f32\.mul/);
  });
  it('matches the reference, and the scalar module bit for bit', () => {
    expectOk(checkLayer(layer, rng32(17), (k, args) => runKernelWasm(k, args), 'wasm'));
    const r = rng(19);
    for (const c of dw) {
      const a = c.kernel.buffers.map((b) => (b.t === 'f32' ? Float32Array.from({ length: b.length }, () => r() * 2 - 1) : Int32Array.from({ length: b.length }, (_, i) => i)));
      const b = a.map((x) => x.slice());
      runKernelWasm(c.kernel, a, [], { simd: true });
      runKernelWasm(c.kernel, b, [], { simd: false });
      a.forEach((x, i) => expect(new Uint32Array(x.buffer), `${c.kernel.name} ${c.kernel.buffers[i]!.name}`).toEqual(new Uint32Array(b[i]!.buffer)));
    }
  });
});

// grad-weight's im2row rows padded to an odd number of cache lines (K = 32 floats, two lines:
// rows 48 floats apart), the GEMM reading the padded rows: still the reference's gradient
// (3 output channels: 4 or more take the packed reduction)
describe('wasm grad-weight: im2row rows padded apart', () => {
  const plan = planModel(parseModel({ name: 'padrows', batch: 2, input: [8, 6, 7], layers: [{ type: 'conv2d', name: 'c', out_channels: 3, kernel: 2, stride: [1, 2], padding: 1 }] }), { strategy: 'direct' });
  const layer = plan.layers[0]! as ConvPlan;
  it('K = 32: rows 48 floats apart, and the kernels match the reference', () => {
    const schedule = scheduleConv(layer, 'wasm');
    expect(schedule.kernels.find((k) => k.role === 'gradWeight')).toMatchObject({ algorithm: 'im2row', colsStride: 48 });
    const prog = lowerLayer(layer, { target: 'wasm' });
    expect(prog.scratch.find((s) => s.name === 'dwCols')!.length).toBe(2 * 7 * 4 * 48); // batch x 7x4 pixels x 48
    expectOk(checkLayer(layer, rng32(21), (k, args) => runKernelWasm(k, args), 'wasm'));
  });
});

// x64 V8 compiles an f32 select to a branch, which relu and max pools mispredict on real data
// (LeNet's step on random inputs: 7.4 -> 6.0 ms): an f32 select is the i32 select of its bits,
// and a select whose loads read at a loop counter inside their buffer is a select, not an `if`
describe('wasm: branchless f32 selects', () => {
  const plan = planModel(parseModel({ name: 'sel', batch: 2, input: [3, 6, 6], layers: [{ type: 'relu' }] }));
  const prog = lowerLayer(plan.layers[0]!, { target: 'wasm' });
  it('relu forward and grad-input: i32 selects of the bits, no branch', () => {
    for (const c of [...prog.forward, ...prog.backward]) {
      const wat = printWat(kernelModule([c.kernel]));
      expect(wat, c.kernel.name).toMatch(/f32\.reinterpret_i32 \(select \(i32\.reinterpret_f32/);
      expect(wat, c.kernel.name).not.toMatch(/\bif\b/);
      expectOk(checkLayer(plan.layers[0]!, rng32(3), (k, args) => runKernelWasm(k, args), 'wasm'));
    }
  });
});
