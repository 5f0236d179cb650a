// The import's graph after its passes, as a table (`convgen import model.onnx --dump graph`):
// what toLayers will map, one row per node, with each activation's shape. Constants are listed
// by name only: the weights and the folded shape arithmetic.

import type { Graph } from './graph.ts';

export function formatGraph(g: Graph): string {
  const value = (v: string): string => (v === '' ? '-' : g.consts.has(v) ? `${v} (const [${g.consts.get(v)!.dims.join(', ')}])` : v);
  const rows = [
    ['node', 'op', 'inputs', 'output shape'],
    ...g.nodes.map((n) => [n.name, n.op, n.inputs.map(value).join(', '), `[${(g.shapes.get(n.outputs[0] ?? '') ?? []).join(', ')}]`]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const head = `opset ${g.opset}, input ${g.input.name} [${(g.shapes.get(g.input.name) ?? g.input.shape).join(', ')}], output ${g.output}${g.softmax ? ' (a trailing Softmax taken out: output_softmax)' : ''}`;
  return [head, '', line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n') + '\n';
}
