// inference: a ModelProgram cut down to what a forward-only build runs (`convgen build
// --inference`). Such a build is in eval mode always, so each layer's forward is its eval-mode
// forward (batch norm normalizes with its running stats, dropout is the identity) and the
// training-mode kernels (batch statistics, dropout masks) are dropped with every backward
// kernel, the gradient buffers and sums, the loss and the optimizers. Scratch only a dropped
// kernel used goes too. Parameters and batch norm's buffers (the state_dict) stay as they are,
// so a file saved by the training build loads into the inference build and back.

import type { ModelGraph } from './graph.ts';
import type { LayerProgram, ModelProgram } from './types.ts';

/** a layer's eval-mode forward and the scratch it binds; no backward, no modes */
function forwardLayer(p: LayerProgram): LayerProgram {
  const forward = p.eval?.forward ?? p.forward;
  const bound = new Set(forward.flatMap((c) => Object.values(c.args)));
  // nothing survives from forward to a backward that never runs
  const scratch = p.scratch.filter((s) => bound.has(s.name)).map((s) => (s.keep ? { ...s, keep: false } : s));
  return { layer: p.layer, scratch, forward, backward: [], alias: p.alias };
}

/** the graph's activations as they are; no gradient buffers, partials or sums, and nothing learns */
function forwardGraph(g: ModelGraph): ModelGraph {
  return {
    inputs: g.inputs,
    shapes: g.shapes,
    act: g.act,
    grad: g.grad.map(() => ''),
    gradBuffers: g.gradBuffers.map(() => []),
    dx: g.dx.map((ins) => ins.map(() => null)),
    sums: g.sums.map(() => null),
    learns: g.learns.map(() => false),
  };
}

/** the forward-only program of a training program */
export function inferenceProgram(program: ModelProgram): ModelProgram {
  return {
    layers: program.layers.map(forwardLayer),
    graph: forwardGraph(program.graph),
    params: program.params,
    // num_batches_tracked stays in the state_dict, never counted: no training-mode forward runs
    buffers: { ...program.buffers, counters: program.buffers.counters.map((c) => ({ ...c, cumulative: false })) },
    // eval-mode dropout reads no random stream
    dropout: false,
    loss: null,
    lossKind: null,
    // eval mode always: the output's softmax, when asked for, runs on every forward
    outputSoftmax: program.outputSoftmax,
    optimizers: null,
  };
}
