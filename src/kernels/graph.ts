// graph: the model's dataflow lowered to buffers, for both model emitters (the TS module and
// the WebGPU runtime name and size their buffers from it, so they agree).
//
// Values: 0 is the model's input, j + 1 is layer j's output; layer j reads the values its
// `inputs` name. The layers are in topological order (the parser allows a layer to read only
// layers above it), so forward runs them in file order and backward in reverse: when
// backward reaches layer j, every reader of its output has run.
//
// Buffers: one activation buffer per value, `a<v>` (a view layer's output is its input's
// buffer), and one gradient buffer per value, dL/d(value): `dOut` for the model's output,
// else `d<v>`, or, when the value's only reader passes dy through (add, a view), that
// reader's own gradient buffer, with no copy.
//
// Gradient accumulation, for a value several layers read (or one layer twice): every dx
// kernel writes its whole output and never accumulates, so each reader that computes a
// contribution writes it to a partial buffer of its own, `d<v>_<reader>`; a reader that
// passes dy through contributes its dy buffer as it is. Before backward reaches the value's
// producer, one sum kernel (add.ts's, in readers' file order, left to right) writes
// d<v> = the sum of the contributions. So no dx kernel needs an accumulating variant, no
// buffer is written twice, nothing is zeroed per call, and the result is the same bits on
// every run and both targets (no atomics). The cost: one buffer per contribution a kernel
// writes, and one elementwise pass per such value.

import type { ModelPlan, Shape } from '../plan/types.ts';
import type { KernelCall, LayerProgram, ModelGraph } from './types.ts';
import { sumCalls } from './add.ts';
import { shapeTag } from './names.ts';

/** the graph's buffers (declared in types.ts, beside the program that holds them) */
export type { ModelGraph } from './types.ts';

/** the value that `inputs` name `name` means: 0 for the model's input, j + 1 for layer j */
function valueOf(plan: ModelPlan, name: string): number {
  if (name === 'input') return 0;
  const j = plan.layers.findIndex((l) => l.name === name);
  if (j < 0) throw new Error(`graph: no layer is named "${name}"`);
  return j + 1;
}

/** a layer whose backward hands dy to its inputs unchanged (add, views): its contributions are its dy buffer */
export const passesGrad = (p: LayerProgram): boolean => p.alias || p.passGrad === true;

export function lowerGraph(plan: ModelPlan, layers: readonly LayerProgram[]): ModelGraph {
  const L = plan.layers.length;
  const inputs = plan.layers.map((l, j) => {
    const vs = l.inputs.map((name) => valueOf(plan, name));
    if (vs.some((v) => v > j)) throw new Error(`graph: layer ${l.name} reads a layer below it`);
    return vs;
  });
  const shapes: Shape[] = [plan.inShape, ...plan.layers.map((l) => l.outShape)];

  const act = ['a0'];
  plan.layers.forEach((_, j) => act.push(layers[j].alias ? act[inputs[j][0]] : `a${j + 1}`));

  const learns = [false];
  plan.layers.forEach((l, j) => learns.push(l.weightShape !== null || l.biasShape !== null || inputs[j].some((v) => learns[v])));

  // contributions to each value's gradient, pushed as backward reaches each reader
  type Contribution = { layer: number; slot: number; passed: string | null };
  const contributions: Contribution[][] = shapes.map(() => []);
  const grad: string[] = new Array(L + 1);
  const gradBuffers: string[][] = shapes.map(() => []);
  const sums: (KernelCall[] | null)[] = shapes.map(() => null);
  const dx: (string | null)[][] = inputs.map((vs) => vs.map(() => null));

  const finish = (v: number): void => {
    if (v === L) {
      grad[v] = 'dOut';
      return;
    }
    // readers in file order, each input in order
    const cs = contributions[v].slice().sort((a, b) => a.layer - b.layer || a.slot - b.slot);
    if (cs.length === 0) throw new Error(`graph: value ${v} (${v === 0 ? 'the input' : plan.layers[v - 1].name}) is never read`);
    if (cs.length === 1) {
      const c = cs[0];
      if (c.passed !== null) grad[v] = c.passed;
      else {
        grad[v] = `d${v}`;
        gradBuffers[v].push(grad[v]);
        dx[c.layer][c.slot] = grad[v];
      }
      return;
    }
    grad[v] = `d${v}`;
    gradBuffers[v].push(grad[v]);
    const terms = cs.map((c) => {
      if (c.passed !== null) return c.passed;
      const reader = plan.layers[c.layer];
      const twice = cs.filter((o) => o.layer === c.layer && o.passed === null).length > 1;
      const partial = `d${v}_${reader.name}${twice ? `_${c.slot}` : ''}`;
      gradBuffers[v].push(partial);
      dx[c.layer][c.slot] = partial;
      return partial;
    });
    const tag = shapeTag(shapes[v]);
    sums[v] = sumCalls(terms, grad[v], shapes[v], (m, acc) => `gradsum${m}_${tag}${acc ? '_acc' : ''}`);
  };

  for (let j = L - 1; j >= 0; j--) {
    finish(j + 1);
    const passed = passesGrad(layers[j]) ? grad[j + 1] : null;
    inputs[j].forEach((v, slot) => contributions[v].push({ layer: j, slot, passed }));
  }
  finish(0);
  return { inputs, shapes, act, grad, gradBuffers, dx, sums, learns };
}
