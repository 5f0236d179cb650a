// write (WGSL): a ModelPlan and its lowered ModelProgram -> the WebGPU files of generated/<name>/:
//   gpu.ts              createGpuModel(device): buffers, pipelines and bind groups made once,
//                       forward / backward / lossAndGrad / the optimizer steps / trainStep as
//                       recorded command lists (data below), params in PyTorch layout in and out
//   wgsl/<kernel>.wgsl  every shader, for reading and diffing (gpu.ts embeds the same text)
//   runtime.ts          the helpers gpu.ts imports (safetensors in and out), as the TS target writes it
//
// Everything the runtime does is decided here and written as plain data: which device
// buffers exist, where each parameter lives in the arenas, and for each phase the list of
// (kernel, bound buffer ranges). The template holds only the loop that replays a list.

import type { LayerPlan, ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { KernelCall, ModelProgram } from '../kernels/types.ts';
import type { Kernel } from '../ir/types.ts';
import { lowerKernel } from '../ir/passes.ts';
import { lowerOptimizers } from '../kernels/index.ts';
import { renderKernelWgsl, type WgslKernel } from '../render/wgsl.ts';
import { DEFAULT_LIMITS, type GpuLimits } from '../gpu/limits.ts';
import { scheduleGpu, type GpuSchedule } from '../gpu/schedule.ts';
import { alignElements, arenaBuffer, layoutArena } from '../gpu/split.ts';
import { emitRuntime, fileHeader, safeKey, tensorKeys, trainingCalls } from './model-ts.ts';
import { renderTemplate } from './templates.ts';
import { stableJson } from './json.ts';

/** a device buffer of the model */
interface DeviceBuffer {
  readonly name: string;
  readonly type: 'f32' | 'i32';
  readonly elements: number;
}

/** one binding of a call: a range of a device buffer (bytes) */
interface Bind {
  readonly buffer: string;
  readonly offset: number;
  readonly size: number;
}

interface Call {
  readonly kernel: string;
  /** in the kernel's binding order (storage buffers, then the uniform when it has scalars) */
  readonly bind: readonly Bind[];
}

export interface GpuEmitOptions {
  readonly limits?: GpuLimits;
}

/** the files of the WGSL target: `gpu.ts` and `wgsl/<kernel>.wgsl` */
export function emitGpuFiles(plan: ModelPlan, program: ModelProgram, opts: GpuEmitOptions = {}): Record<string, string> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  // refuses layers a device with these limits cannot bind, naming the layer and the limit
  const rendered = new Map<Kernel, WgslKernel>();
  const schedule = scheduleGpu(plan, program, limits, rendered);
  // bind-group offsets must be multiples of minStorageBufferOffsetAlignment
  const OFFSET_ALIGN = alignElements(limits);
  const align = (n: number) => Math.ceil(n / OFFSET_ALIGN) * OFFSET_ALIGN;

  const L = plan.layers.length;
  const buffers: DeviceBuffer[] = [];
  const addBuffer = (name: string, elements: number, type: 'f32' | 'i32' = 'f32') => {
    buffers.push({ name, type, elements });
    return name;
  };

  // activations and their gradients, named and sized as in the TS module (graph.ts: a view
  // layer shares its input's activation, an add or a view passes its dy buffer as its inputs' gradient)
  const g = program.graph;
  g.act.forEach((a, v) => {
    if (v === 0 || !program.layers[v - 1].alias) addBuffer(a, numel(g.shapes[v]));
  });
  // an inference build (plan.inference) runs no backward: no dL/d(output), no gradients
  if (!plan.inference) addBuffer('dOut', numel(plan.outShape));
  for (let v = L - 1; v >= 0; v--) for (const d of g.gradBuffers[v]) addBuffer(d, numel(g.shapes[v]));

  // the parameter arenas: each tensor (each block of a split weight) at an aligned offset, so
  // it binds as its own range, in one GPU buffer or, past maxBufferSize, several (src/gpu/split.ts)
  const keys = tensorKeys(program);
  const arena = schedule.arena ?? layoutArena([], [], limits);
  const params = program.params.slots.map((s, i) => ({
    layer: s.layer,
    kind: s.kind,
    key: keys[i],
    // where the tensor lives: [arena buffer, element offset there, first element of the tensor, elements]
    parts: arena.parts[i].map((q) => [q.buffer, q.offset, q.start, q.length]),
    length: s.length,
    shape: s.shape,
    fanIn: s.fanIn,
    init: s.init,
  }));
  const arenas: Record<'params' | 'grads', string[]> = { params: [], grads: [] };
  if (params.length) {
    arena.buffers.forEach((n, i) => {
      arenas.params.push(addBuffer(arenaBuffer('params', i), n));
      if (!plan.inference) arenas.grads.push(addBuffer(arenaBuffer('grads', i), n));
    });
  }
  // batch norm's running stats: one arena, each at an aligned offset as the parameters are;
  // num_batches_tracked stays on the host (int64), and so does the dropout step
  // a layer's running_var follows its running_mean (the kernels bind both as one range)
  let stateLength = 0;
  const state = program.buffers.slots.map((s) => {
    const offset = s.kind === 'running_mean' ? align(stateLength) : stateLength;
    stateLength = offset + s.length;
    return { layer: s.layer, kind: s.kind, key: safeKey(s.key), offset, length: s.length, shape: s.shape, init: s.init };
  });
  stateLength = align(stateLength);
  if (state.length) addBuffer('state', stateLength);
  const counters = program.buffers.counters.map((c) => ({ layer: c.layer, key: safeKey(c.key), momentum: c.cumulative ? addBuffer(`mom_${c.layer}`, 1) : null }));
  if (program.dropout) addBuffer('rngState', 2, 'i32');
  const scratchName = (layer: string, s: string) => `s_${layer}_${s}`;
  plan.layers.forEach((l, i) => {
    for (const s of program.layers[i].scratch) addBuffer(scratchName(l.name, s.name), s.length, s.t);
  });
  // output_softmax: eval-mode forward's softmax of the logits, read back instead of them
  if (program.outputSoftmax) addBuffer('probs', numel(plan.outShape));
  const softmax = program.lossKind === 'softmax_cross_entropy';
  // what lossAndGrad / trainStep / uploadBatch take besides x: class labels, or a float target of the output's shape
  const target = !program.loss ? null : softmax ? addBuffer('labels', plan.batch, 'i32') : addBuffer('target', numel(plan.outShape));
  if (program.loss) addBuffer('loss', 1);
  const partials = program.loss?.buffers.find((b) => b.name === 'partials');
  if (partials) addBuffer('lossPartials', partials.length);

  const kernels = new Map<string, { k: Kernel; wk: WgslKernel }>();
  const useKernel = (k: Kernel) => {
    const seen = kernels.get(k.name);
    // every kernel of the program was rendered by the schedule; a second kernel under a name
    // already used must render to the same code
    const wk = rendered.get(k) ?? renderKernelWgsl(lowerKernel(k), limits);
    if (seen && seen.wk.code !== wk.code) throw new Error(`emit gpu: two different kernels are both named ${k.name}`);
    kernels.set(k.name, { k, wk });
    return wk;
  };
  const elementsOf = (name: string) => buffers.find((b) => b.name === name)!.elements;
  const whole = (name: string): Bind => ({ buffer: name, offset: 0, size: elementsOf(name) * 4 });
  /** `length` elements of a parameter (or its gradient) from element `at`: they lie in one part */
  const paramBind = (arenaName: 'params' | 'grads', layer: string, kind: 'weight' | 'bias', at: number, length: number): Bind => {
    const i = program.params.slots.findIndex((q) => q.layer === layer && q.kind === kind);
    if (i < 0) throw new Error(`emit gpu: layer ${layer} has no ${kind}`);
    const q = arena.parts[i].find((r) => r.start <= at && at + length <= r.start + r.length) ?? fail(`range ${at}+${length} of ${layer}.${kind} across two arena parts`);
    return { buffer: arenaBuffer(arenaName, q.buffer), offset: (q.offset + at - q.start) * 4, size: length * 4 };
  };
  const wholeAt = (name: string, at: number): Bind => (at === 0 ? whole(name) : fail(`range at ${at} of ${name}`));

  /** a call bound to model buffers by `resolve` (the bound name, the element offset and length of its range), checked for sizes and hazards */
  const bindCall = (c: KernelCall, resolve: (bound: string, at: number, length: number) => Bind): Call => {
    const wk = useKernel(c.kernel);
    const bind = c.kernel.buffers.map((b) => {
      const r = resolve(c.args[b.name], c.ranges?.[b.name] ?? 0, b.length);
      if (r.size !== b.length * 4) throw new Error(`emit gpu: ${c.kernel.name}.${b.name}: ${r.size / 4} elements bound, ${b.length} declared`);
      return r;
    });
    checkHazards(c.kernel, bind);
    if (wk.uniformBytes) throw new Error(`emit gpu: layer kernel ${c.kernel.name} takes runtime scalars`);
    return { kernel: c.kernel.name, bind };
  };

  const layerCall = (l: LayerPlan, i: number, c: KernelCall): Call =>
    bindCall(c, (bound, at, length) => {
      const whole = (name: string) => wholeAt(name, at);
      switch (bound) {
        case 'y':
          return whole(g.act[i + 1]);
        case 'dy':
          return whole(g.grad[i + 1]);
        case 'weight':
          return paramBind('params', l.name, 'weight', at, length);
        case 'bias':
          return paramBind('params', l.name, 'bias', at, length);
        case 'gradWeight':
          return paramBind('grads', l.name, 'weight', at, length);
        case 'gradBias':
          return paramBind('grads', l.name, 'bias', at, length);
        case 'running': {
          const t = state.find((q) => q.layer === l.name && q.kind === 'running_mean') ?? fail(`running stats of layer ${l.name}`);
          if (at !== 0) fail(`range at ${at} of running stats`);
          return { buffer: 'state', offset: t.offset * 4, size: 2 * t.length * 4 };
        }
        case 'momentum':
          return whole(`mom_${l.name}`);
        case 'rng':
          return whole('rngState');
      }
      // x / dx of a single-input layer, x<k> / dx<k> of a layer that reads several
      const ins = g.inputs[i];
      const io = /^(dx|x)(\d*)$/.exec(bound);
      if (io && (io[2] === '') === (ins.length === 1) && Number(io[2] || 0) < ins.length) {
        const k = Number(io[2] || 0);
        if (io[1] === 'x') return whole(g.act[ins[k]]);
        return whole(g.dx[i][k] ?? fail(`${l.name}: ${bound} with no buffer in the graph`));
      }
      if (!program.layers[i].scratch.some((s) => s.name === bound)) throw new Error(`emit gpu: layer ${l.name}: unknown buffer '${bound}'`);
      return whole(scratchName(l.name, bound));
    });
  /** a gradient sum's calls name model buffers directly */
  const sumCalls = (v: number): Call[] => (g.sums[v] ?? []).map((c) => bindCall(c, wholeAt));

  /** the call lists of one mode: eval takes a layer's eval-mode calls where it has them (the sums are the same in both) */
  const phasesOf = (mode: 'train' | 'eval') => {
    const lists = (i: number) => (mode === 'eval' && program.layers[i].eval) || program.layers[i];
    const forward: Call[] = [];
    const backward: Call[] = [];
    const train: Call[] = [];
    plan.layers.forEach((l, i) => {
      for (const c of lists(i).forward) forward.push(layerCall(l, i, c));
    });
    for (let i = L - 1; i >= 0; i--) {
      const l = plan.layers[i];
      backward.push(...sumCalls(i + 1));
      if (g.learns[i + 1]) train.push(...sumCalls(i + 1));
      for (const c of lists(i).backward) backward.push(layerCall(l, i, c));
      for (const c of trainingCalls({ ...program.layers[i], backward: lists(i).backward }, g.inputs[i].map((v) => g.learns[v]))) train.push(layerCall(l, i, c));
    }
    backward.push(...sumCalls(0));
    return { forward, backward, train };
  };
  const { forward, backward, train } = phasesOf('train');
  // eval mode's lists only where some layer computes differently there
  // (and with output_softmax, whose eval-mode forward ends with it)
  const evalPhases = program.layers.some((p) => p.eval) || program.outputSoftmax ? phasesOf('eval') : null;
  if (program.outputSoftmax && evalPhases) {
    const k = program.outputSoftmax;
    useKernel(k);
    evalPhases.forward.push({ kernel: k.name, bind: [whole(g.act[L]), whole('probs')] });
  }

  let loss: Call | null = null;
  if (program.loss) {
    const k = program.loss;
    useKernel(k);
    const by: Record<string, string> = softmax
      ? { logits: g.act[L], labels: 'labels', dlogits: 'dOut', loss: 'loss' }
      : { output: g.act[L], target: 'target', doutput: 'dOut', loss: 'loss', partials: 'lossPartials' };
    loss = { kernel: k.name, bind: k.buffers.map((b) => whole(by[b.name] ?? fail(`loss kernel buffer '${b.name}'`))) };
  }

  // the optimizers over the aligned arena (the padding stays 0: 0 grad, 0 decay, 0 moments of
  // a 0 param), one call per chunk of at most one binding (src/gpu/split.ts; one chunk when the
  // arena fits). Their state buffers, laid out as the arena, are created on the first step that
  // needs them (createGpuModel makes `buffers` up front, `optimizerState` on demand); one uniform
  // buffer holds the scalars of whichever step runs next, the same for every chunk.
  const optimizerState: DeviceBuffer[] = [];
  let optimizers: Record<string, Call[]> | null = null;
  const chunkKernels = new Map<number, ReturnType<typeof lowerOptimizers>>();
  const kernelsFor = (n: number) => chunkKernels.get(n) ?? chunkKernels.set(n, lowerOptimizers(n)).get(n)!;
  // the first chunk's kernels: every chunk's take the same scalars
  const optimizerKernels = params.length && !plan.inference ? kernelsFor(arena.chunks[0].length) : null;
  if (optimizerKernels) {
    const range = (name: string, c: (typeof arena.chunks)[number]): Bind => ({ buffer: arenaBuffer(name, c.buffer), offset: c.offset * 4, size: c.length * 4 });
    const state = (name: string, c: (typeof arena.chunks)[number]) => {
      const b = arenaBuffer(name, c.buffer);
      if (!optimizerState.some((q) => q.name === b)) optimizerState.push({ name: b, type: 'f32', elements: arena.buffers[c.buffer] });
      return range(name, c);
    };
    const call = (k: Kernel, bound: Record<string, Bind>): Call => {
      const wk = useKernel(k);
      const bind = k.buffers.map((b) => bound[b.name] ?? fail(`optimizer kernel ${k.name} buffer '${b.name}'`));
      return { kernel: k.name, bind: [...bind, { buffer: 'optimizerScalars', offset: 0, size: wk.uniformBytes }] };
    };
    const steps = (f: (ks: ReturnType<typeof lowerOptimizers>, c: (typeof arena.chunks)[number], base: Record<string, Bind>) => Call) =>
      arena.chunks.map((c) => f(kernelsFor(c.length), c, { param: range('params', c), grad: range('grads', c) }));
    const adam = (prefix: 'adam' | 'adamw', amsgrad: boolean) =>
      steps((ks, c, base) =>
        call(amsgrad ? ks.adamAmsgrad : ks.adam, {
          ...base,
          expAvg: state(`${prefix}ExpAvg`, c),
          expAvgSq: state(`${prefix}ExpAvgSq`, c),
          ...(amsgrad ? { maxExpAvgSq: state(`${prefix}MaxExpAvgSq`, c) } : {}),
        }),
      );
    optimizers = {
      sgd: steps((ks, _c, base) => call(ks.sgd, base)),
      sgdMomentum: steps((ks, c, base) => call(ks.sgdMomentum, { ...base, velocity: state('velocity', c) })),
      adam: adam('adam', false),
      adamAmsgrad: adam('adam', true),
      adamw: adam('adamw', false),
      adamwAmsgrad: adam('adamw', true),
    };
    const uniformBytes = Math.max(...Object.values(optimizers).flatMap((cs) => cs.map((c) => c.bind.at(-1)!.size)));
    addBuffer('optimizerScalars', uniformBytes / 4);
  }

  const files: Record<string, string> = {};
  const shaderData: Record<string, unknown> = {};
  const shaders: Record<string, string> = {};
  for (const [name, { wk }] of [...kernels.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    files[`wgsl/${name}.wgsl`] = `${fileHeader(plan, `WGSL kernel ${name}`, []).replace(/\n\/\/$/, '')}\n//\n${wk.code}`;
    shaders[name] = wk.code;
    shaderData[name] = {
      bindings: wk.bindings.map((b) => ({ type: b.type, bytes: b.bytes })),
      entries: wk.entries.map((e) => ({ name: e.name, workgroups: e.workgroups })),
    };
  }

  const vectorOut = plan.outShape.length === 2;
  const layersWithParams = plan.layers.filter((l) => params.some((p) => p.layer === l.name));
  const model = {
    name: plan.name,
    batch: plan.batch,
    inShape: plan.inShape,
    outShape: plan.outShape,
    classes: softmax ? plan.outShape[1] : 0,
    buffers: buffers.map((b) => ({ name: b.name, type: b.type, bytes: b.elements * 4 })),
    optimizerState: optimizerState.map((b) => ({ name: b.name, bytes: b.elements * 4 })),
    params,
    arenas,
    state,
    counters,
    dropout: program.dropout,
    io: {
      ...(plan.inference ? { input: g.act[0], output: g.act[L], dOut: null, dx: null, target } : { input: g.act[0], output: g.act[L], dOut: 'dOut', dx: g.grad[0], target }),
      ...(program.outputSoftmax ? { probs: 'probs' } : {}),
    },
    kernels: shaderData,
    forward,
    backward,
    train,
    eval: evalPhases,
    loss,
    optimizers,
  };
  const paramsType = layersWithParams.length
    ? `{\n${layersWithParams
        .map((l) => `  readonly ${l.name}: { ${params.filter((p) => p.layer === l.name).map((p) => `readonly ${p.kind}: Float32Array;`).join(' ')} };`)
        .join('\n')}\n}`
    : 'Record<string, never>';
  const buffersType = counters.length
    ? `{\n${counters
        .map((c) => `  readonly ${c.layer}: { ${[...state.filter((t) => t.layer === c.layer).map((t) => `readonly ${t.kind}: Float32Array;`), 'readonly num_batches_tracked: BigInt64Array;'].join(' ')} };`)
        .join('\n')}\n}`
    : 'Record<string, never>';
  const required = requiredLimits(schedule, [...buffers, ...optimizerState].map((b) => b.elements * 4));
  // the scalars of each optimizer kernel, in its uniform's order, from the record sgdScalars / adamScalars made
  const scalarList = (k: Kernel) => `[${k.scalars.map((s) => `s.${s.name}`).join(', ')}]`;
  if (optimizerKernels && scalarList(optimizerKernels.adam) !== scalarList(optimizerKernels.adamAmsgrad)) throw new Error('emit gpu: adam and adam_amsgrad take different scalars');
  const outDims = `[${plan.outShape.join('x')}]`;
  files['gpu.ts'] = renderTemplate('gpu.ts', {
    header: fileHeader(plan, plan.inference ? 'WebGPU runtime, forward only (an inference build): createGpuModel (shaders in wgsl/, embedded below)' : 'WebGPU runtime: createGpuModel (shaders in wgsl/, embedded below)', 'all'),
    requiredLimits: stableJson(required),
    requiredNote: Object.entries(required)
      .filter(([k, v]) => v > SPEC_DEFAULT_LIMITS[k as keyof typeof SPEC_DEFAULT_LIMITS])
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
    name: plan.name,
    inDims: plan.inShape.join('x'),
    outDims: plan.outShape.join('x'),
    inSize: numel(plan.inShape),
    outSize: numel(plan.outShape),
    hasLoss: program.loss !== null,
    vectorOut,
    hasParams: optimizerKernels !== null,
    runtimeImports: (plan.inference ? ['readSafetensors', 'writeSafetensors'] : ['adamScalars', ...(program.lossKind === 'bce_with_logits' ? ['checkUnitInterval'] : []), 'readSafetensors', 'sgdScalars', 'splitOptimizer', 'writeSafetensors']).join(', '),
    inference: plan.inference === true,
    sgdScalars: optimizerKernels ? scalarList(optimizerKernels.sgd) : '',
    sgdMomentumScalars: optimizerKernels ? scalarList(optimizerKernels.sgdMomentum) : '',
    adamScalars: optimizerKernels ? scalarList(optimizerKernels.adam) : '',
    floatTarget: target === 'target',
    bceTarget: program.lossKind === 'bce_with_logits',
    targetParam: target === 'target' ? 'target' : 'labels',
    targetType: target === 'target' ? 'Float32Array' : 'Int32Array',
    targetMissing:
      target === 'target'
        ? `target must be a Float32Array of ${numel(plan.outShape)} elements (${outDims}) (or pass a batch uploaded with a target)`
        : `labels must be an Int32Array of ${plan.batch} class indices (or pass a batch uploaded with labels)`,
    lossDoc:
      program.lossKind === 'mse'
        ? `forward, mean squared error against target (${outDims}), backward (only what the grads need); returns the loss`
        : program.lossKind === 'bce_with_logits'
          ? `forward, mean binary cross-entropy of sigmoid(output) against target (${outDims}, values in [0, 1]), backward (only what the grads need); returns the loss`
          : 'forward, mean softmax cross-entropy, backward (only what the grads need); returns the loss',
    paramsType,
    buffersType,
    hasDropout: program.dropout,
    outputSoftmax: program.outputSoftmax !== null,
    model: stableJson(model),
    shaders: stableJson(shaders),
  });
  files['runtime.ts'] = emitRuntime(plan);
  return files;
}

/** the WebGPU spec's defaults for the limits REQUIRED_LIMITS names (a device always has at least these; minStorageBufferOffsetAlignment is a most, not a least, so not here) */
const { minStorageBufferOffsetAlignment: _align, ...SPEC_DEFAULT_LIMITS } = DEFAULT_LIMITS;

/**
 * what the generated module asks of a device: per limit the most any kernel or buffer uses,
 * and never less than the spec default (so the record can be passed to requestDevice as
 * `requiredLimits` as it is)
 */
function requiredLimits(s: GpuSchedule, bufferBytes: readonly number[]): typeof SPEC_DEFAULT_LIMITS {
  const most = (xs: number[]) => Math.max(0, ...xs);
  const ks = s.kernels;
  const need = {
    maxComputeWorkgroupsPerDimension: most(ks.flatMap((k) => k.dispatches.flatMap((d) => [...d.workgroups]))),
    maxComputeInvocationsPerWorkgroup: most(ks.flatMap((k) => k.dispatches.map((d) => d.workgroupSize))),
    maxComputeWorkgroupStorageSize: most(ks.map((k) => k.workgroupBytes)),
    maxStorageBuffersPerShaderStage: most(ks.map((k) => k.bindings.filter((b) => b.type !== 'uniform').length)),
    maxStorageBufferBindingSize: most(ks.flatMap((k) => k.bindings.filter((b) => b.type !== 'uniform').map((b) => b.bytes))),
    // buffers are created rounded up to 16 bytes
    maxBufferSize: most(bufferBytes.map((b) => Math.max(16, Math.ceil(b / 16) * 16))),
  };
  const out = { ...SPEC_DEFAULT_LIMITS };
  for (const k of Object.keys(out) as (keyof typeof out)[]) out[k] = Math.max(out[k], need[k]);
  return out;
}

function fail(what: string): never {
  throw new Error(`emit gpu: unexpected ${what}`);
}

/**
 * WebGPU forbids one buffer bound both read-only and writable in a dispatch (its usage
 * scope); two writable bindings of one buffer are allowed, and here they must be disjoint
 * ranges (the gradient arena's weight and bias of one layer): refuse anything else at build time
 */
function checkHazards(k: Kernel, bind: readonly Bind[]) {
  for (let a = 0; a < bind.length; a++) {
    for (let b = a + 1; b < bind.length; b++) {
      if (bind[a].buffer !== bind[b].buffer) continue;
      const wa = k.buffers[a].access !== 'read';
      const wb = k.buffers[b].access !== 'read';
      const disjoint = bind[a].offset + bind[a].size <= bind[b].offset || bind[b].offset + bind[b].size <= bind[a].offset;
      if (wa && wb && disjoint) continue;
      if (wa || wb) throw new Error(`emit gpu: ${k.name} binds '${bind[a].buffer}' as both ${k.buffers[a].name} and ${k.buffers[b].name}, ${wa && wb ? 'overlapping ranges' : 'one of them writable'}`);
    }
  }
}
