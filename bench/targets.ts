// The targets of issues 5 and 13, checked against one report. Every target is a ratio within the
// run; `holds: null` means the run did not measure it (filtered out or a row failed).

import type { Op, Peer, Report, Row, Target } from './types.ts';
import { STEP_CONFIGS } from './configs.ts';

const OP_LABEL: Record<Op, string> = { forward: 'forward', gradInput: 'grad-input', gradWeight: 'grad-weight', step: 'training step' };

function pickedRow(rows: readonly Row[], config: string, op: Op): Row | undefined {
  return rows.find((r) => r.config === config && r.op === op && r.impl === 'convgen auto');
}

function ratioTarget(name: string, value: number | null | undefined, min: number, unit: string, row?: Row): Target {
  if (row && row.status !== 'ok') return { name, holds: null, measured: `not timed: the picked kernel's row is "${row.status}"` };
  if (value === null || value === undefined || !Number.isFinite(value)) return { name, holds: null, measured: 'not measured' };
  return { name, holds: value >= min, measured: `${value.toFixed(value < 10 ? 2 : 0)}${unit} (>= ${min}${unit})` };
}

const CONV_CONFIGS = ['A', 'B', 'C', 'D', 'E'];
const GEMM_CONFIGS = ['B', 'C', 'D'];
const WASM_FORWARD_CONFIGS = ['B', 'C', 'D'];
const PEER_TARGETS: { op: Op; peer: Peer; min: number }[] = [
  { op: 'forward', peer: 'tfjs-cpu', min: 4 },
  { op: 'gradInput', peer: 'tfjs-cpu', min: 3 },
  { op: 'gradWeight', peer: 'tfjs-cpu', min: 200 },
  { op: 'gradWeight', peer: 'tfjs-wasm', min: 2 },
];

export function evaluateTargets(report: Report): Target[] {
  const out: Target[] = [];
  const ran = new Set(report.rows.map((r) => r.config));
  for (const c of GEMM_CONFIGS.filter((id) => ran.has(id))) {
    for (const op of ['forward', 'gradInput', 'gradWeight'] as const) {
      const row = pickedRow(report.rows, c, op);
      out.push(ratioTarget(`${c} ${OP_LABEL[op]} (picked strategy) vs calibration GEMM`, row?.vsGemm, 0.85, 'x', row));
    }
  }
  for (const c of CONV_CONFIGS.filter((id) => ran.has(id))) {
    for (const t of PEER_TARGETS) {
      const peer = t.peer === 'tfjs-wasm' ? 'tfjs-wasm (best route)' : t.peer;
      const row = pickedRow(report.rows, c, t.op);
      out.push(ratioTarget(`${c} ${OP_LABEL[t.op]} vs ${peer}`, row?.speedup[t.peer], t.min, 'x', row));
    }
  }
  if (ran.has('F')) {
    const row = pickedRow(report.rows, 'F', 'step');
    out.push(ratioTarget('F LeNet training step vs tfjs-cpu (tf.grads)', row?.speedup['tfjs-cpu'], 5, 'x', row));
  }
  // issue 13: the wasm target (SIMD, single thread) against tfjs-wasm, the WASM-SIMD GEMM and the TS target
  const wasmRow = (config: string, op: Op) => report.rows.find((r) => r.config === config && r.op === op && r.impl === 'convgen wasm');
  for (const c of WASM_FORWARD_CONFIGS.filter((id) => ran.has(id))) {
    const row = wasmRow(c, 'forward');
    out.push(ratioTarget(`${c} forward, wasm vs tfjs-wasm`, row?.speedup['tfjs-wasm'], 1, 'x', row));
  }
  for (const c of CONV_CONFIGS.filter((id) => ran.has(id))) {
    const gi = wasmRow(c, 'gradInput');
    out.push(ratioTarget(`${c} grad-input, wasm vs tfjs-wasm`, gi?.speedup['tfjs-wasm'], 5, 'x', gi));
    const gw = wasmRow(c, 'gradWeight');
    out.push(ratioTarget(`${c} grad-weight, wasm vs tfjs-wasm (best route)`, gw?.speedup['tfjs-wasm'], 2, 'x', gw));
    for (const op of ['forward', 'gradInput', 'gradWeight'] as const) {
      const row = wasmRow(c, op);
      out.push(ratioTarget(`${c} ${OP_LABEL[op]}, wasm vs WASM-SIMD GEMM`, row?.vsWasmGemm, 0.7, 'x', row));
    }
  }
  for (const s of STEP_CONFIGS.filter((x) => ran.has(x.id))) {
    const row = wasmRow(s.id, 'step');
    const ts = pickedRow(report.rows, s.id, 'step');
    const ratio = row?.medianMs && ts?.medianMs && ts.status === 'ok' ? ts.medianMs / row.medianMs : null;
    out.push(ratioTarget(`${s.id} ${s.short} training step, wasm vs the TS target`, ratio, 5, 'x', row));
  }
  for (const c of report.compiler.filter((r) => r.kind === 'build')) {
    const name = `convgen build ${c.example} < 2 s`;
    out.push(c.buildMs === null ? { name, holds: null, measured: `build failed: ${c.detail}` } : { name, holds: c.buildMs < 2000, measured: `${(c.buildMs / 1000).toFixed(2)} s (< 2 s)` });
  }
  // issue 11: the installed CLI starts in well under half a second of its own time
  const installed = report.compiler.find((r) => r.kind === 'startup' && r.example === 'convgen --help (installed)');
  if (installed) {
    const name = 'installed convgen --help < 0.25 s';
    out.push(installed.buildMs === null ? { name, holds: null, measured: 'did not run' } : { name, holds: installed.ok && installed.buildMs < 250, measured: `${(installed.buildMs / 1000).toFixed(2)} s (< 0.25 s)` });
  }
  return out;
}

/** `HOLDS  B forward ... 0.91x (>= 0.85x)` lines, misses first */
export function formatTargets(targets: readonly Target[]): string {
  const mark = (t: Target) => (t.holds === null ? 'n/a   ' : t.holds ? 'holds ' : 'MISSED');
  const order = (t: Target) => (t.holds === false ? 0 : t.holds === null ? 2 : 1);
  const sorted = [...targets].sort((a, b) => order(a) - order(b));
  const held = targets.filter((t) => t.holds === true).length;
  const missed = targets.filter((t) => t.holds === false).length;
  return [`targets: ${held} hold, ${missed} missed, ${targets.length - held - missed} not measured`, ...sorted.map((t) => `  ${mark(t)} ${t.name}: ${t.measured}`)].join('\n');
}
