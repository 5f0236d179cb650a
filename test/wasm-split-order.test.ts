// The split pass's promise, checked deterministically (no threads, no scheduling): every kernel
// it cuts, in every example model, gives the same bits run as one call over each phase's whole
// range and run chunk by chunk in reversed and interleaved orders (what worker threads may do).
// A cut loop whose iterations wrote each other's outputs, or read what another chunk writes,
// gives different bits in some order. test/wasm-threads.test.ts runs real threads on two models.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerModel } from '../src/kernels/index.ts';
import type { Kernel } from '../src/ir/types.ts';
import { planModel } from '../src/plan/plan.ts';
import { parseModel } from '../src/spec/parse.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { instantiate, kernelModule } from '../src/wasm/run.ts';
import { split, type KernelSplit } from '../src/wasm/split.ts';
import { lowerKernelWasm } from '../src/wasm/lower.ts';
import { rng32 } from '../src/check/ts.ts';
import { accum, add, buf, f32, kernel, load, loop, mod, mul, parallel, store, v, var_ } from '../src/ir/build.ts';

const EXAMPLES = ['lenet', 'resnet', 'mobilenet', 'unet', 'decoder', 'signal1d', 'signal1d_decoder', 'seed_branches'];

/** every distinct kernel of a model's program (layers both modes, gradient sums, loss, optimizers) */
function kernelsOf(example: string): Kernel[] {
  const plan = planModel(parseModel(JSON.parse(readFileSync(`examples/${example}.json`, 'utf8'))));
  const prog = lowerModel(plan);
  const all = [
    ...prog.layers.flatMap((l) => [...l.forward, ...l.backward, ...(l.eval?.forward ?? []), ...(l.eval?.backward ?? [])].map((c) => c.kernel)),
    ...prog.graph.sums.flatMap((calls) => (calls ?? []).map((c) => c.kernel)),
  ];
  const seen = new Set<string>();
  return all.filter((k) => !seen.has(k.name) && seen.add(k.name));
}

const chunkStart = (from: number, to: number, chunks: number, c: number) => from + Math.floor((c * (to - from)) / chunks);

/** the kernel cut, run over fresh random buffers with each phase's chunks in `order(chunks)`; the written buffers' bits */
function runCut(k: Kernel, bytes: Uint8Array<ArrayBuffer>, s: KernelSplit, order: (chunks: number) => number[]): Uint32Array[] {
  const r = rng32(17);
  const bufs = k.buffers.map((b) => (b.t === 'f32' ? Float32Array.from({ length: b.length }, () => r() * 2 - 1) : new Int32Array(b.length)));
  const offsets: number[] = [];
  let at = 0;
  for (const b of bufs) {
    offsets.push(at);
    at += Math.ceil(b.byteLength / 16) * 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(at / 65536)) });
  const heap = new Uint8Array(memory.buffer);
  bufs.forEach((b, i) => heap.set(new Uint8Array(b.buffer), offsets[i]));
  const fn = instantiate(bytes, memory)[k.name]!;
  const scalars = k.scalars.map((sc) => (sc.t === 'f32' ? 0.5 : 1));
  s.phases.forEach((p, j) => {
    const args = s.phases.length > 1 ? [...offsets, ...scalars, j] : [...offsets, ...scalars];
    for (const c of order(p.chunks)) fn(...args, chunkStart(p.from, p.to, p.chunks, c), chunkStart(p.from, p.to, p.chunks, c + 1));
  });
  return k.buffers.flatMap((b, i) => (b.access === 'read' ? [] : [new Uint32Array(memory.buffer.slice(offsets[i]!, offsets[i]! + bufs[i]!.byteLength))]));
}

const whole = () => [0];
const reversed = (n: number) => Array.from({ length: n }, (_, c) => n - 1 - c);
const interleaved = (n: number) => [...Array.from({ length: n }, (_, c) => c).filter((c) => c % 2 === 1), ...Array.from({ length: n }, (_, c) => c).filter((c) => c % 2 === 0)];

describe('split kernels: the same bits in one call and in chunks, in any order', () => {
  let cut = 0;
  for (const example of EXAMPLES) {
    it(example, () => {
      for (const k of kernelsOf(example)) {
        const s = split(lowerKernelWasm(k)).split;
        if (!s || s.phases.every((p) => p.chunks === 1)) continue;
        cut++;
        // one call per phase over its whole range: the unsplit kernel's arithmetic
        const bytes = encodeModule(kernelModule([k], [], undefined, (l) => split(l).kernel));
        const one = runCut(k, bytes, { ...s, phases: s.phases.map((p) => ({ ...p, chunks: 1 })) }, whole);
        for (const order of [reversed, interleaved]) {
          const many = runCut(k, bytes, s, order);
          many.forEach((b, i) => expect(b, `${k.name} output ${i}, chunks ${order.name}`).toEqual(one[i]));
        }
      }
    }, 120_000);
  }
  it('cuts kernels (the check above ran)', () => expect(cut).toBeGreaterThan(50));

  // the harness sees an order-dependent cut: a loop marked parallel whose iterations write one
  // element (y[i % 2]; the split pass trusts the flag, see src/wasm/split.ts) gives other bits
  it('and would see a cut loop whose chunks write the same elements', () => {
    const k = kernel({
      name: 'last_writer_wins',
      buffers: [buf('x', 4096, 'read'), buf('y', 2, 'write')],
      body: [parallel('i', 0, 4096, (i) => [var_('acc', f32(0)), loop('j', 0, 64, () => [accum('acc', mul(load('x', i), v('acc')))]), store('y', mod(i, 2), add(v('acc'), load('x', i)))])],
    });
    const s = split(lowerKernelWasm(k)).split!;
    expect(s.phases[0]!.chunks).toBeGreaterThan(1);
    const bytes = encodeModule(kernelModule([k], [], undefined, (l) => split(l).kernel));
    const one = runCut(k, bytes, { ...s, phases: s.phases.map((p) => ({ ...p, chunks: 1 })) }, whole);
    expect(runCut(k, bytes, s, reversed)[0]).not.toEqual(one[0]);
  });
});
