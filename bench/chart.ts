// The SVG bar chart, by hand: GFLOP/s (log scale: the peers span four decades) per config
// and op, one bar per implementation, the calibration GEMM as a dashed line. "no kernel"
// is written where a bar would be, never drawn as zero.

import type { Impl, Op, Report, Row } from './types.ts';
import { describeConfig, LAYER_CONFIGS, quickConfig, STEP_CONFIGS } from './configs.ts';

const OP_SHORT: Record<Op, string> = { forward: 'fwd', gradInput: 'dx', gradWeight: 'dW', step: 'step' };

/** bars per group, in order; auto is the planner's pick (a copy of one strategy's row for A..E) */
const SERIES: { impl: Impl; label: string; color: string }[] = [
  { impl: 'convgen auto', label: 'convgen (planner\'s pick)', color: '#1b7837' },
  { impl: 'convgen direct', label: 'convgen direct', color: '#7fbf7b' },
  { impl: 'convgen im2row', label: 'convgen im2row', color: '#c2e699' },
  { impl: 'convgen wasm', label: 'convgen wasm (SIMD, planner\'s pick)', color: '#762a83' },
  { impl: 'reference', label: 'reference (float64)', color: '#bababa' },
  { impl: 'tfjs-cpu', label: 'tfjs-cpu (NHWC kernel)', color: '#2166ac' },
  { impl: 'tfjs-wasm', label: 'tfjs-wasm (NHWC kernel; dW: best route)', color: '#b2182b' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** what each config id is, for the key under the chart */
export function configKey(quick: boolean): { id: string; text: string }[] {
  return [
    ...LAYER_CONFIGS.map((c) => ({ id: c.id, text: describeConfig(quick ? quickConfig(c) : c) })),
    ...STEP_CONFIGS.map((s) => ({ id: s.id, text: `${s.title} training step (${s.example}, batch ${s.batch}): forward, loss, backward, SGD` })),
  ];
}

/**
 * tfjs-wasm (its kernel, or its best route for dW) over convgen's wasm target, the like-for-like
 * pair (both WebAssembly SIMD; the TS target's pick where a group has no wasm row): above 1,
 * convgen is faster
 */
function versusWasm(rows: (Row | undefined)[]): number | undefined {
  const wasmRow = rows[SERIES.findIndex((s) => s.impl === 'convgen wasm')];
  const ours = wasmRow?.medianMs ? wasmRow : rows[0];
  const wasm = rows[SERIES.findIndex((s) => s.impl === 'tfjs-wasm')];
  if (!ours?.medianMs || !wasm?.medianMs || ours.status !== 'ok' || wasm.status !== 'ok') return undefined;
  return wasm.medianMs / ours.medianMs;
}

export function renderChart(report: Report): string {
  const groups: { config: string; op: Op; rows: (Row | undefined)[] }[] = [];
  const keys = [...new Set(report.rows.map((r) => `${r.config} ${r.op}`))];
  for (const key of keys) {
    const [config, op] = key.split(' ') as [string, Op];
    const find = (impl: Impl) => report.rows.find((r) => r.config === config && r.op === op && r.impl === impl);
    groups.push({
      config,
      op,
      // tfjs-wasm's grad-weight has no kernel: its bar is the best route it offers
      rows: SERIES.map((s) => (s.impl === 'tfjs-wasm' && find('tfjs-wasm')?.status === 'no kernel' ? find('tfjs-wasm route') ?? find('tfjs-wasm') : find(s.impl))),
    });
  }
  const values = report.rows.flatMap((r) => (r.gflops ? [r.gflops] : [])).concat(report.calibration.map((c) => c.gflops));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(Math.min(...values, 1), 1e-4))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 1))));
  const bar = 9;
  const gap = 14;
  const groupW = SERIES.length * bar + gap;
  const left = 56;
  const top = 40;
  const plotH = 260;
  const width = left + groups.length * groupW + 20;
  // under the plot: op, config, convgen's pick over tfjs-wasm; then the legend, the peers, the key
  const legendY = top + plotH + 70;
  const key = configKey(report.meta.quick).filter((k) => groups.some((g) => g.config === k.id));
  const peersY = legendY + Math.ceil(SERIES.length / 3) * 18 + 6;
  const keyY = peersY + 40;
  const height = keyY + key.length * 16 + 10;
  const y = (v: number) => top + plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  s.push(`<text x="${left}" y="18" font-size="14" font-weight="bold">convgen: GFLOP/s per config and op, single thread${report.meta.quick ? ' (quick run: tiny sizes)' : ''}</text>`);
  s.push(`<text x="${left}" y="32" fill="#555">log scale · dashed line: calibration GEMM (plain-JS ceiling) · ${esc(report.meta.date.slice(0, 16))} UTC</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    s.push(`<line x1="${left}" x2="${width - 20}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="#e0e0e0"/>`);
    s.push(`<text x="${left - 6}" y="${(y(d) + 4).toFixed(1)}" text-anchor="end">${d >= 1 ? d.toFixed(0) : String(Number(d.toPrecision(1)))}</text>`);
  }
  s.push(`<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">GFLOP/s</text>`);
  s.push(`<text x="${left - 6}" y="${top + plotH + 50}" text-anchor="end" font-size="9" fill="#555">vs wasm</text>`);
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + gap / 2;
    const cal = report.calibration.find((c) => c.config === g.config && c.op === g.op);
    if (cal) s.push(`<line x1="${x0 - 3}" x2="${x0 + SERIES.length * bar + 3}" y1="${y(cal.gflops).toFixed(1)}" y2="${y(cal.gflops).toFixed(1)}" stroke="#000" stroke-dasharray="3 2"/>`);
    g.rows.forEach((r, i) => {
      const x = x0 + i * bar;
      if (!r) return;
      if (r.gflops && r.status === 'ok') {
        const yy = y(r.gflops);
        s.push(`<rect x="${x}" y="${yy.toFixed(1)}" width="${bar - 1}" height="${(top + plotH - yy).toFixed(1)}" fill="${SERIES[i].color}"><title>${esc(`${g.config} ${g.op} ${r.impl}: ${r.gflops.toFixed(3)} GFLOP/s, ${r.medianMs?.toFixed(3)} ms`)}</title></rect>`);
      } else {
        const label = r.status === 'no kernel' ? 'no kernel' : r.status;
        s.push(`<text transform="translate(${x + bar / 2 + 3} ${top + plotH - 4}) rotate(-90)" font-size="9" fill="${SERIES[i].color}">${esc(label)}</text>`);
      }
    });
    s.push(`<text x="${x0 + (SERIES.length * bar) / 2}" y="${top + plotH + 14}" text-anchor="middle">${esc(OP_SHORT[g.op])}</text>`);
    // tfjs-wasm over convgen's wasm target, red where tfjs-wasm is faster
    const vs = versusWasm(g.rows);
    // F: tfjs-wasm cannot run the training step (tf.grads needs the dW kernel it lacks)
    const vsText = vs === undefined ? 'no kernel' : `${vs >= 10 ? vs.toFixed(0) : vs.toFixed(2)}x`;
    s.push(`<text class="vs-wasm" x="${x0 + (SERIES.length * bar) / 2}" y="${top + plotH + 50}" text-anchor="middle" font-size="10" fill="${vs === undefined ? '#777' : vs < 1 ? '#b2182b' : '#1b7837'}">${vsText}</text>`);
    if (gi === 0 || groups[gi - 1].config !== g.config) {
      const n = groups.filter((x) => x.config === g.config).length;
      s.push(`<text x="${x0 - gap / 2 + (n * groupW) / 2}" y="${top + plotH + 30}" font-weight="bold" text-anchor="middle">${esc(g.config)}</text>`);
      if (gi > 0) s.push(`<line x1="${x0 - gap / 2}" x2="${x0 - gap / 2}" y1="${top}" y2="${top + plotH + 34}" stroke="#999"/>`);
    }
  });
  SERIES.forEach((ser, i) => {
    const lx = left + (i % 3) * 250;
    const ly = legendY + Math.floor(i / 3) * 18;
    s.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${ser.color}"/>`);
    s.push(`<text x="${lx + 14}" y="${ly}">${esc(ser.label)}</text>`);
  });
  s.push(`<text x="${left}" y="${peersY}" fill="#333">peers: TensorFlow.js 4.22, tfjs-cpu (plain JS kernels) and tfjs-wasm (XNNPACK, SIMD), one thread; reference: convgen's float64 interpreter.</text>`);
  s.push(`<text x="${left}" y="${peersY + 16}" fill="#333">vs wasm: tfjs-wasm's time over convgen's wasm target (above 1: convgen is faster; red: tfjs-wasm is faster). tfjs-wasm has no dW kernel: its bar is its best route.</text>`);
  key.forEach((k, i) => s.push(`<text class="config-key" x="${left}" y="${keyY + i * 16}"><tspan font-weight="bold">${esc(k.id)}</tspan>: ${esc(k.text)}</text>`));
  s.push('</svg>');
  return s.join('\n') + '\n';
}
