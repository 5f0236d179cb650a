// The report as files: latest.json (the data), latest.md (tables), chart.svg (the bars).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeConfig, LAYER_CONFIGS, quickConfig, STEP_CONFIGS } from './configs.ts';
import { renderChart } from './chart.ts';
import { formatTargets } from './targets.ts';
import { PEERS, type Op, type Report, type Row } from './types.ts';

export const OP_NAMES: Record<Op, string> = { forward: 'forward', gradInput: 'grad-input', gradWeight: 'grad-weight', step: 'train step' };

const num = (v: number | null | undefined, digits: number) => (v === null || v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));
/** 3 significant-ish digits for ratios that range from 0.01 to 1000 */
const ratio = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ms = (v: number | null) => (v === null ? '' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

function statusCell(r: Row): string {
  if (r.status === 'ok') return '';
  if (r.status === 'no kernel') return '**no kernel**';
  return `**${r.status}**`;
}

function configTitle(report: Report, id: string): string {
  const c = LAYER_CONFIGS.find((x) => x.id === id);
  const step = STEP_CONFIGS.find((x) => x.id === id);
  if (!c) return `${id}: ${step?.title ?? 'a'} training step (${step?.example ?? '?'}: forward + loss + backward + SGD)`;
  return `${id}: ${describeConfig(report.meta.quick ? quickConfig(c) : c)}`;
}

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  const m = report.meta;
  out.push(`# convgen benchmark${m.quick ? ' (quick: tiny sizes, not meaningful)' : ''}`, '');
  out.push(`${m.date} · node ${m.node} · ${m.cpu}${m.commit ? ` · commit ${m.commit}` : ''} · ${report.wallSeconds.toFixed(0)} s · peak RSS ${report.peakRssMiB.toFixed(0)} MiB`, '');
  for (const n of m.notes) out.push(`- ${n}`);
  out.push('', '## Calibration GEMM (the plain-JS ceiling)', '');
  out.push('Timed with each config and op, interleaved with its rows, so that "% GEMM" compares two things timed under the same load.', '');
  out.push('One sample runs the product 8 times (about 25 ms, as long as a kernel call).', '');
  out.push('The WASM-SIMD GEMM (bench/wasm-gemm.ts: f32x4 mul + add, 4x16 register tile) is timed in the same rounds: "% WASM GEMM" divides by it.', '');
  out.push('| with | size | median ms (8 products) | GFLOP/s | WASM-SIMD median ms | WASM-SIMD GFLOP/s |', '|---|---|---:|---:|---:|---:|');
  for (const c of report.calibration) out.push(`| ${c.config} ${OP_NAMES[c.op]} | ${c.m}x${c.k} * ${c.k}x${c.n} | ${ms(c.medianMs)} | ${num(c.gflops, 2)} | ${ms(c.wasmMedianMs ?? null)} | ${num(c.wasmGflops, 2)} |`);
  out.push('', '## Targets', '', '```', formatTargets(report.targets), '```', '');
  out.push('## Results', '');
  out.push('Speedup columns: the peer\'s median over this row\'s (above 1: this row is faster). tfjs ms is the kernel on NHWC inputs; "+layout" adds the NCHW transposes an NCHW user pays. JIT warmup: calls (and their time) before a convgen row\'s speed settled; samples start after it.', '');
  const configs = [...new Set(report.rows.map((r) => r.config))];
  for (const id of configs) {
    out.push(`### ${configTitle(report, id)}`, '');
    out.push(`| op | implementation | median ms | +layout ms | GFLOP/s | % GEMM | % WASM GEMM | ${PEERS.map((p) => `x ${p}`).join(' | ')} | max rel err | JIT warmup | peak RSS MiB | what ran |`);
    out.push(`|---|---|---:|---:|---:|---:|---:|${PEERS.map(() => '---:').join('|')}|---:|---:|---:|---|`);
    for (const r of report.rows.filter((x) => x.config === id)) {
      const cells = [
        OP_NAMES[r.op],
        r.impl === 'convgen auto' || r.impl === 'convgen wasm' ? `**${r.impl}**` : r.impl,
        statusCell(r) || ms(r.medianMs),
        r.layoutMs === null || r.medianMs === null ? '' : ms(r.medianMs + r.layoutMs),
        num(r.gflops, 3),
        r.vsGemm === null ? '' : `${(r.vsGemm * 100).toFixed(0)}%`,
        r.vsWasmGemm === null || r.vsWasmGemm === undefined ? '' : `${(r.vsWasmGemm * 100).toFixed(0)}%`,
        ...PEERS.map((p) => ratio(r.speedup[p])),
        r.maxRelErr === null ? '' : r.maxRelErr.toExponential(1),
        r.warmup ? `${r.warmup.calls} calls, ${(r.warmup.ms / 1000).toFixed(1)} s` : '',
        num(r.peakRssMiB, 0),
        r.detail.replace(/\|/g, '\\|'),
      ];
      out.push(`| ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  if (report.compiler.length) {
    out.push('## The compiler: `node bin/convgen.js build <example> --out <tmp>`', '');
    out.push('Wall time as a user waits (node + tsx start-up included: the `convgen --help` row is the start-up alone); in-process: parse + plan + lower + render (`emitModel`) in the bench process, warm.', '');
    out.push('| example | wall ms | in-process ms | files | generated KiB | note |', '|---|---:|---:|---:|---:|---|');
    for (const c of report.compiler) out.push(`| ${c.example} | ${c.buildMs === null ? '**failed**' : c.buildMs.toFixed(0)} | ${c.inProcessMs === null ? '' : c.inProcessMs.toFixed(0)} | ${c.files || ''} | ${c.bytes ? (c.bytes / 1024).toFixed(1) : ''} | ${c.detail.replace(/\|/g, '\\|')} |`);
    out.push('');
  }
  return out.join('\n');
}

export function writeReport(report: Report, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = {
    'latest.json': JSON.stringify(report, null, 2) + '\n',
    'latest.md': renderMarkdown(report),
    'chart.svg': renderChart(report),
  };
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    written.push(p);
  }
  return written;
}
