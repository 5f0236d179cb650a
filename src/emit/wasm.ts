// The wasm target's files: per layer a readable wasm/layers/<layer>.wat (its kernels, one
// exported function each; a kernel shared by repeated layers lives in the first layer's module),
// wasm/grads.wat and wasm/train.wat for the gradient sums, the loss and the optimizers (layer
// modules live in their own folder and their own identifiers, `layers_<layer>`, as layers/*.ts
// do on the TS target, so a layer named `train` or `grads` is no clash);
// wasm/kernels.ts with each module's binary (our encoder's bytes of the same instruction lists
// the .wat prints) embedded as base64 and typed wrappers that pass buffers as byte offsets;
// wasm/runtime.ts (the heap); and wasm.ts with createWasmModel.
//
// Binaries are embedded rather than written as .wasm files: generated files are text (the
// manifest and `build --check` diff text), and a module that imports its bytes needs no fetch
// path or file system in any bundler or runtime.
//
// wasm.ts reuses the TS module's orchestration instead of a third copy: it is index.ts's text
// (emitModelTs) with the kernel imports replaced by the wasm wrappers and every buffer
// allocation (`new Float32Array(n)`) taken from the one wasm memory (`heap.f32(n)`), whose size
// is the sum of those allocations, counted here.

import type { ModelPlan } from '../plan/types.ts';
import { numel } from '../plan/types.ts';
import type { Kernel } from '../ir/types.ts';
import type { ModelProgram } from '../kernels/types.ts';
import { emitModelTs, emitRuntime, fileHeader } from './model-ts.ts';
import { renderTemplate } from './templates.ts';
import { kernelModule } from '../wasm/run.ts';
import { DEFAULT_WASM_SCHEDULE, type WasmSchedule } from '../render/wat.ts';
import { printWat } from '../wasm/wat-text.ts';
import { encodeModule } from '../wasm/encode.ts';
import { relaxSites } from '../wasm/relax.ts';

const watHeader = (tsHeader: string): string[] => tsHeader.split('\n').map((l) => l.replace(/^\/\/ ?/, ''));

/** `schedule`: the wasm schedule (default: f32x4 register blocks; the bench builds a scalar one to compare) */
export function emitWasmFiles(plan: ModelPlan, program: ModelProgram, schedule: WasmSchedule = DEFAULT_WASM_SCHEDULE): Record<string, string> {
  const files: Record<string, string> = {};
  const owner = new Map<string, string>();
  /** each module: its file (under wasm/), its identifier in kernels.ts, its kernels */
  const modules: { file: string; id: string; kernels: Kernel[]; header: string }[] = [];
  const add = (file: string, id: string, kernels: readonly Kernel[], header: string) => {
    const own = kernels.filter((k) => !owner.has(k.name) && owner.set(k.name, id));
    if (own.length) modules.push({ file, id, kernels: own, header });
  };
  plan.layers.forEach((layer, i) => {
    const prog = program.layers[i]!;
    if (prog.alias) return;
    const ks = [...prog.forward, ...prog.backward, ...(prog.eval?.forward ?? []), ...(prog.eval?.backward ?? [])].map((c) => c.kernel);
    add(`layers/${layer.name}`, `layers_${layer.name}`, ks, fileHeader(plan, `layer ${layer.name}: its kernels in WebAssembly (buffers are byte offsets into the model's memory)`, [i]));
  });
  add('grads', 'grads', program.graph.sums.flatMap((calls) => (calls ?? []).map((c) => c.kernel)), fileHeader(plan, 'gradient sums in WebAssembly: an output several layers read gets the sum of their gradients', []));
  add('output_softmax', 'output_softmax', program.outputSoftmax ? [program.outputSoftmax] : [], fileHeader(plan, "the output's softmax over the classes in WebAssembly, which eval-mode forward returns (output_softmax)", []));
  add('train', 'train', [program.loss, ...Object.values(program.optimizers ?? {})].filter((k): k is Kernel => k !== null), fileHeader(plan, 'model-level kernels in WebAssembly: the loss with its gradient, and the optimizer steps', []));

  const consts: string[] = [];
  const iface: string[] = [];
  const wrappers: string[] = [];
  const insts: string[] = [];
  for (const m of modules) {
    const def = kernelModule(m.kernels, [...watHeader(m.header), '', 'assembled by convgen\'s own encoder into wasm/kernels.ts (the same instruction lists); wabt assembles this text to the same bytes'], { ...schedule, fma: false });
    files[`wasm/${m.file}.wat`] = printWat(def);
    const bytes = encodeModule(def);
    // the relaxed-SIMD variant is this binary with its multiply-adds rewritten (src/wasm/relax.ts): their offsets
    const sites = schedule.simd ? relaxSites(bytes, encodeModule(kernelModule(m.kernels, [], { ...schedule, fma: true }))) : [];
    consts.push(`/** wasm/${m.file}.wat, ${bytes.length} bytes */\nconst ${m.id}_wasm = '${Buffer.from(bytes).toString('base64')}';`);
    if (sites.length) consts.push(`/** where its f32x4 multiply-adds start (rewritten to relaxed_madd where relaxed SIMD validates) */\nconst ${m.id}_fma = [${sites.join(', ')}];`);
    insts.push(`  const mod_${m.id} = instantiate('${m.file}', ${m.id}_wasm, heap${sites.length ? `, ${m.id}_fma` : ''});`);
    for (const k of m.kernels) {
      const sig = [...k.buffers.map((b) => `${b.name}: ${b.t === 'f32' ? 'Float32Array' : 'Int32Array'}`), ...k.scalars.map((s) => `${s.name}: number`)].join(', ');
      iface.push(`  ${k.name}(${sig}): void;`);
      const args = [...k.buffers.map((b) => `heap.${b.access === 'read' ? 'read' : 'write'}(${b.name})`), ...k.scalars.map((s) => s.name)].join(', ');
      wrappers.push(`    ${k.name}(${sig}): void {\n      heap.begin();\n      mod_${m.id}.${k.name}!(${args});\n    },`);
    }
  }
  files['wasm/kernels.ts'] = [
    fileHeader(plan, 'the WebAssembly kernels: every module of wasm/ (layers/*.wat, grads.wat, train.wat, ...) as its binary, and typed wrappers that call them on views of the model memory', 'all'),
    '',
    "import { instantiate, type WasmHeap } from './runtime.ts';",
    '',
    ...consts.flatMap((c) => [c, '']),
    '/** every kernel, taking typed arrays as the TS kernels do (buffers in the heap are passed by offset, others staged) */',
    'export interface Kernels {',
    ...iface,
    '}',
    '',
    '/** instantiate every module over the heap\'s memory */',
    'export function wasmKernels(heap: WasmHeap): Kernels {',
    ...insts,
    '  return {',
    ...wrappers,
    '  };',
    '}',
    '',
  ].join('\n');
  files['wasm/runtime.ts'] = renderTemplate('wasm-runtime.ts', { header: fileHeader(plan, 'the WebAssembly runtime: the model memory (heap), staging, instantiation', []) });
  // the helpers wasm.ts shares with index.ts and gpu.ts (the same text whichever target writes it)
  files['runtime.ts'] = emitRuntime(plan);
  files['wasm.ts'] = wasmModelText(plan, program, [...owner.keys()]);
  return files;
}

/** index.ts's text, turned into createWasmModel (see the file comment) */
function wasmModelText(plan: ModelPlan, program: ModelProgram, kernelNames: readonly string[]): string {
  const ts = emitModelTs(plan, program)['index.ts']!;
  const lines = ts.split('\n');
  const out: string[] = [];
  let sawImports = false;
  let sawFn = false;
  let sawExport = false;
  const names = new Set(kernelNames);
  for (const line of lines) {
    const imp = /^import \{ (.*) \} from '\.\/(layers\/\w+|grads|train|softmax)\.ts';$/.exec(line);
    if (imp) {
      for (const n of imp[1]!.split(', ')) if (!names.has(n)) throw new Error(`emit wasm: index.ts imports ${n}, which no wasm module defines`);
      if (!sawImports) out.push("import { wasmKernels } from './wasm/kernels.ts';", "import { createHeap } from './wasm/runtime.ts';");
      sawImports = true;
      continue;
    }
    // index.ts re-exports its TS kernels; wasm.ts has none of its own
    if (line.startsWith('export { ') && line.split(', ').some((n) => names.has(n.replace(/^export \{ /, '').replace(/ \};$/, '')))) {
      const kept = line.replace(/^export \{ /, '').replace(/ \};$/, '').split(', ').filter((n) => !names.has(n));
      sawExport = true;
      if (kept.length) out.push(`export { ${kept.join(', ')} };`);
      continue;
    }
    if (line === 'export function createModel(options: ModelOptions = {}): Model {') {
      sawFn = true;
      out.push('export function createWasmModel(options: ModelOptions = {}): Model {');
      out.push('  // every buffer below lives in one WebAssembly memory, planned for all of them');
      out.push('  const heap = createHeap(HEAP_BYTES, STAGE_BYTES);');
      out.push(`  const { ${kernelNames.join(', ')} } = wasmKernels(heap);`);
      continue;
    }
    out.push(line);
  }
  if (!sawFn || (kernelNames.length && (!sawImports || !sawExport))) throw new Error('emit wasm: index.ts does not have the shape wasm.ts is made from');
  let text = out.join('\n');
  const start = text.indexOf('export function createWasmModel');
  const head = text.slice(0, start);
  let body = text.slice(start);
  let bytes = 0;
  body = body.replace(/new (Float32Array|Int32Array)\(([^)]*)\)/g, (all, T: string, n: string, at: number) => {
    if (!/^\d+$/.test(n)) throw new Error(`emit wasm: createModel allocates ${all}, whose size is not a constant`);
    // Adam and AdamW each keep a set of moments, allocated by the one line in runAdam
    const lineStart = body.lastIndexOf('\n', at);
    const times = body.slice(lineStart, at).includes('moments.') ? 2 : 1;
    bytes += times * (Math.ceil((4 * Number(n)) / 16) * 16);
    return `heap.${T === 'Float32Array' ? 'f32' : 'i32'}(${n})`;
  });
  // a caller's array read by a kernel (dOut, labels, a target) is staged for that call (one per call)
  const stage = 4 * Math.max(numel(plan.outShape), plan.batch);
  text = head + body.replace('createHeap(HEAP_BYTES, STAGE_BYTES)', `createHeap(${bytes}, ${stage})`);
  text = text.replace(/^\/\/ generated by convgen.*\n\/\/ .*\n/, (h) => h.split('\n')[0] + '\n// the WebAssembly model module: createWasmModel, the TS module\'s API on kernels in WebAssembly (wasm/layers/*.wat, wasm/*.wat)\n');
  text = text.replace(/'(\w+)\.createModel'/g, "'$1.createWasmModel'");
  return text;
}
