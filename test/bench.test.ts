// Smoke test of the benchmark harness (bench/): one tiny config through the whole suite.
// It asserts that every implementation agreed with the reference before it was timed and
// that the report has its shape; it asserts no speed (CI machines vary).

import { describe, expect, it } from 'vitest';
import { runSuite } from '../bench/suite.ts';
import { renderMarkdown, writeReport } from '../bench/report.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderChart } from '../bench/chart.ts';
import { agreement } from '../bench/data.ts';
import { callsFor } from '../bench/ours.ts';
import type { KernelCall } from '../src/kernels/types.ts';
import type { Kernel } from '../src/ir/types.ts';

describe('bench chart of the stored results (bench/results/)', () => {
  const results = path.join(import.meta.dirname, '..', 'bench', 'results');
  const svg = renderChart(JSON.parse(readFileSync(path.join(results, 'latest.json'), 'utf8')));

  it('names its configs A-G and its peers, and gives tfjs-wasm over convgen\'s wasm target under each group', () => {
    const key = [...svg.matchAll(/<text class="config-key"[^>]*><tspan font-weight="bold">(\w)<\/tspan>: ([^<]+)</g)].map((m) => `${m[1]}: ${m[2]}`);
    expect(key).toEqual([
      'A: conv2d 1x28x28 -&gt; 8 k5 s1 p2, batch 8',
      'B: conv2d 16x32x32 -&gt; 32 k3 s1 p1, batch 8',
      'C: conv2d 64x56x56 -&gt; 64 k3 s1 p1, batch 1',
      'D: conv2d 32x32x32 -&gt; 64 k3 s2 p1, batch 8',
      'E: conv_transpose2d 64x16x16 -&gt; 32 k4 s2 p1, batch 8',
      'F: LeNet-5 training step (examples/lenet.json, batch 32): forward, loss, backward, SGD',
      'G: ResNet (resnet_small) training step (examples/resnet.json, batch 32): forward, loss, backward, SGD',
    ]);
    expect(svg).toContain('peers: TensorFlow.js 4.22, tfjs-cpu (plain JS kernels) and tfjs-wasm (XNNPACK, SIMD), one thread');
    // the "x tfjs-wasm" column of latest.md for convgen wasm, op by op (F, G: tfjs-wasm has no kernel)
    const vs = [...svg.matchAll(/class="vs-wasm"[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(vs).toEqual(['2.14x', '8.97x', '4.55x', '1.02x', '12x', '2.38x', '0.96x', '10x', '2.68x', '0.93x', '11x', '1.96x', '11x', '1.01x', '1.09x', 'no kernel', 'no kernel']);
  });

  it('chart.svg is current (npx tsx bench/rechart.ts re-renders it from latest.json)', () => {
    expect(readFileSync(path.join(results, 'chart.svg'), 'utf8')).toBe(svg);
  });
});

describe('bench harness', () => {
  // G: the ResNet's training step beside LeNet's, its wasm-vs-TS target evaluated (issue 13)
  it('runs config G (the ResNet step) at quick size: TS, wasm and the reference agree, and the wasm target is checked', async () => {
    const report = await runSuite({ quick: true, only: ['G'], examples: [], log: () => {} });
    expect(report.rows.map((r) => r.impl).sort()).toEqual(['convgen auto', 'convgen wasm', 'convgen wasm scalar', 'reference']);
    for (const r of report.rows) {
      expect(r.config).toBe('G');
      expect(r.status, `${r.impl}: ${r.detail}`).toBe('ok');
      expect(r.maxRelErr!).toBeLessThan(1e-5);
    }
    const target = report.targets.find((t) => t.name.startsWith('G '));
    expect(target?.name).toBe('G ResNet (resnet_small) training step, wasm vs the TS target');
    expect(target?.holds).not.toBeNull();
  }, 60_000);

  it('runs config A at quick size: all agree with the reference, wasm grad-weight is "no kernel", the report is complete', async () => {
    const lines: string[] = [];
    const report = await runSuite({ quick: true, only: ['A'], examples: [], log: (l) => lines.push(l) });
    const rows = report.rows;
    expect(new Set(rows.map((r) => r.config))).toEqual(new Set(['A']));
    for (const op of ['forward', 'gradInput', 'gradWeight'] as const) {
      const impls = rows.filter((r) => r.op === op).map((r) => r.impl).sort();
      expect(impls).toEqual(['convgen auto', 'convgen direct', 'convgen im2row', 'convgen wasm', 'convgen wasm direct', 'convgen wasm im2row', 'convgen wasm scalar', 'reference', 'tfjs-cpu', 'tfjs-wasm', ...(op === 'gradWeight' ? ['tfjs-wasm route'] : [])].sort());
    }
    for (const r of rows) {
      if (r.impl === 'tfjs-wasm' && r.op === 'gradWeight') {
        // no kernel is reported as such, never as a zero time
        expect(r.status).toBe('no kernel');
        expect(r.medianMs).toBeNull();
        continue;
      }
      expect(r.status, `${r.impl} ${r.op}: ${r.detail}`).toBe('ok');
      expect(r.maxRelErr!).toBeLessThan(1e-5);
      expect(r.medianMs!).toBeGreaterThan(0);
      expect(r.gflops!).toBeCloseTo(r.flops / (r.medianMs! * 1e6), 6);
      expect(r.vsGemm!).toBeGreaterThan(0);
      expect(r.vsWasmGemm!).toBeCloseTo((r.vsGemm! * report.calibration.find((c) => c.op === r.op)!.gflops) / report.calibration.find((c) => c.op === r.op)!.wasmGflops, 6);
      expect(r.speedup['reference']!).toBeGreaterThan(0);
      expect(r.speedup['tfjs-cpu']!).toBeGreaterThan(0);
      expect(r.speedup['tfjs-wasm']!).toBeGreaterThan(0);
    }
    // auto reuses the row of the strategy the planner picked; so does the wasm target's pick
    for (const [pick, prefix] of [['convgen auto', 'convgen'], ['convgen wasm', 'convgen wasm']] as const) {
      for (const r of rows.filter((x) => x.impl === pick)) {
        const picked = /^picks (\w+)/.exec(r.detail)?.[1];
        const same = rows.find((x) => x.op === r.op && x.impl === `${prefix} ${picked}`);
        expect(same?.medianMs).toBe(r.medianMs);
      }
    }
    expect(report.calibration.map((c) => c.op)).toEqual(['forward', 'gradInput', 'gradWeight']);
    expect(report.calibration.every((c) => c.gflops > 0 && c.wasmGflops > 0)).toBe(true);
    // targets: A has the four tfjs ratios; B..D's GEMM targets were not run
    expect(report.targets.map((t) => t.name)).toEqual([
      'A forward vs tfjs-cpu',
      'A grad-input vs tfjs-cpu',
      'A grad-weight vs tfjs-cpu',
      'A grad-weight vs tfjs-wasm (best route)',
      'A grad-input, wasm vs tfjs-wasm',
      'A grad-weight, wasm vs tfjs-wasm (best route)',
      'A forward, wasm vs WASM-SIMD GEMM',
      'A grad-input, wasm vs WASM-SIMD GEMM',
      'A grad-weight, wasm vs WASM-SIMD GEMM',
    ]);
    expect(report.targets.every((t) => typeof t.holds === 'boolean')).toBe(true);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);

    const md = renderMarkdown(report);
    expect(md).toContain('### A: conv2d 1x8x8 -> 4 k5 s1 p2, batch 2');
    expect(md).toContain('**no kernel**');
    expect(md.split('\n').filter((l) => l.startsWith('| grad-weight |')).length).toBe(11);
    expect(md).toContain('| % GEMM | % WASM GEMM |');
    const svg = renderChart(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // one bar per op and series (wasm's dW bar is its best route), plus 7 legend swatches
    expect((svg.match(/<rect x=/g) ?? []).length).toBe(3 * 7 + 7);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'convgen-bench-test-'));
    try {
      const files = writeReport(report, dir).map((f) => path.basename(f));
      expect(files).toEqual(['latest.json', 'latest.md', 'chart.svg']);
      expect(JSON.parse(readFileSync(path.join(dir, 'latest.json'), 'utf8'))).toEqual(report);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('agreement: a NaN or a length mismatch fails, float32 rounding passes', () => {
    expect(agreement([1, NaN], [1, 2]).ok).toBe(false);
    expect(agreement([1], [1, 2]).ok).toBe(false);
    expect(agreement(Float32Array.of(0.1, 0.2), [0.1, 0.2]).ok).toBe(true);
    expect(agreement([1.01, 2], [1, 2]).ok).toBe(false);
  });

  it('callsFor picks every producer of a buffer, partial writers included, and skips writers of values already consumed', () => {
    const k = (name: string, bufs: [string, 'read' | 'write' | 'read_write'][]): Kernel => ({
      name,
      doc: [],
      scalars: [],
      body: [],
      buffers: bufs.map(([n, access]) => ({ name: n, t: 'f32', length: 1, access })),
    });
    const call = (kernel: Kernel, args: Record<string, string>): KernelCall => ({ kernel, args });
    const backward = [
      call(k('cols', [['x', 'read'], ['c', 'write']]), { x: 'x', c: 'cols' }),
      call(k('dw', [['c', 'read'], ['dy', 'read'], ['dw', 'write']]), { c: 'cols', dy: 'dy', dw: 'gradWeight' }),
      call(k('dcols', [['dy', 'read'], ['c', 'write']]), { dy: 'dy', c: 'cols' }),
      call(k('col2im', [['c', 'read'], ['dx', 'write']]), { c: 'cols', dx: 'dx' }),
    ];
    expect(callsFor(backward, 'dx').map((c) => c.kernel.name)).toEqual(['dcols', 'col2im']);
    expect(callsFor(backward, 'gradWeight').map((c) => c.kernel.name)).toEqual(['cols', 'dw']);
    // direct: interior, border rows and border columns each write part of dx
    const direct = [
      call(k('dw', [['x', 'read'], ['dy', 'read'], ['dw', 'write']]), { x: 'x', dy: 'dy', dw: 'gradWeight' }),
      call(k('dx', [['dy', 'read'], ['dx', 'write']]), { dy: 'dy', dx: 'dx' }),
      call(k('dx_rows', [['dy', 'read'], ['dx', 'write']]), { dy: 'dy', dx: 'dx' }),
      call(k('dx_cols', [['dy', 'read'], ['dx', 'write']]), { dy: 'dy', dx: 'dx' }),
    ];
    expect(callsFor(direct, 'dx').map((c) => c.kernel.name)).toEqual(['dx', 'dx_rows', 'dx_cols']);
    expect(callsFor(direct, 'gradWeight').map((c) => c.kernel.name)).toEqual(['dw']);
  });
});
