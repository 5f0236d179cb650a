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
import { relaxSites, relaxedModule } from '../wasm/relax.ts';
import { split, type KernelSplit } from '../wasm/split.ts';

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
  /** the kernels the split pass cut into chunks for threads, by name */
  const splits = new Map<string, KernelSplit>();
  const splitTable: string[] = [];
  /** MODULES' entries: each module's binary and its multiply-add sites, by identifier */
  const moduleList: string[] = [];
  const cut = (k: Kernel): Kernel => {
    const r = split(k);
    if (r.split) splits.set(k.name, r.split);
    return r.kernel;
  };
  for (const m of modules) {
    const def = kernelModule(m.kernels, [...watHeader(m.header), '', 'assembled by convgen\'s own encoder into wasm/kernels.ts (the same instruction lists); wabt assembles this text to the same bytes'], { ...schedule, fma: false }, cut);
    files[`wasm/${m.file}.wat`] = printWat(def);
    const bytes = encodeModule(def);
    // the relaxed-SIMD variant is this binary with its multiply-adds rewritten (src/wasm/relax.ts): their offsets
    const sites = schedule.simd ? relaxSites(bytes, encodeModule(relaxedModule(def))) : [];
    consts.push(`/** wasm/${m.file}.wat, ${bytes.length} bytes */\nconst ${m.id}_wasm = '${Buffer.from(bytes).toString('base64')}';`);
    if (sites.length) consts.push(`/** where its f32x4 multiply-adds start (rewritten to relaxed_madd where relaxed SIMD validates) */\nconst ${m.id}_fma = [${sites.join(', ')}];`);
    insts.push(`  const mod_${m.id} = instantiate('${m.id}', ${m.id}_wasm, heap${sites.length ? `, ${m.id}_fma` : ''});`);
    moduleList.push(`  ${m.id}: [${m.id}_wasm, ${sites.length ? `${m.id}_fma` : '[]'}],`);
    for (const k of m.kernels) {
      const sig = [...k.buffers.map((b) => `${b.name}: ${b.t === 'f32' ? 'Float32Array' : 'Int32Array'}`), ...k.scalars.map((s) => `${s.name}: number`)].join(', ');
      iface.push(`  ${k.name}(${sig}): void;`);
      const args = [...k.buffers.map((b) => `heap.${b.access === 'read' ? 'read' : 'write'}(${b.name})`), ...k.scalars.map((s) => s.name)].join(', ');
      const s = splits.get(k.name);
      if (s) {
        const phases = `[${s.phases.map((p) => `[${p.from}, ${p.to}, ${p.chunks}]`).join(', ')}]`;
        wrappers.push(`    ${k.name}(${sig}): void {\n      heap.begin();\n      runSplit(pool, ${splitTable.length}, mod_${m.id}.${k.name}!, [${args}], SPLIT_KERNELS[${splitTable.length}]![2]);\n    },`);
        splitTable.push(`  ['${m.id}', '${k.name}', ${phases}],`);
      } else wrappers.push(`    ${k.name}(${sig}): void {\n      heap.begin();\n      mod_${m.id}.${k.name}!(${args});\n    },`);
    }
  }
  files['wasm/kernels.ts'] = [
    fileHeader(plan, 'the WebAssembly kernels: every module of wasm/ (layers/*.wat, grads.wat, train.wat, ...) as its binary, and typed wrappers that call them on views of the model memory', 'all'),
    '',
    "import { instantiate, type ModuleBinary, type WasmHeap } from './runtime.ts';",
    "import { runSplit, type SplitKernel, type WasmPool } from './threads.ts';",
    '',
    ...consts.flatMap((c) => [c, '']),
    '/** every module\'s binary and multiply-add sites by identifier (the worker threads instantiate them too) */',
    'export const MODULES: Readonly<Record<string, ModuleBinary>> = {',
    ...moduleList,
    '};',
    '',
    '/**',
    ' * the kernels cut into chunks along their outer parallel loops (src/wasm/split.ts), which the',
    ' * threads share: [module, function, phases: [loop from, loop to, chunks (1: whole on the caller)]];',
    ' * a kernel\'s index is its id',
    ' */',
    'export const SPLIT_KERNELS: readonly SplitKernel[] = [',
    ...splitTable,
    '];',
    '',
    '/** every kernel, taking typed arrays as the TS kernels do (buffers in the heap are passed by offset, others staged) */',
    'export interface Kernels {',
    ...iface,
    '}',
    '',
    '/** instantiate every module over the heap\'s memory; the split kernels run on the pool\'s threads (without one, whole) */',
    'export function wasmKernels(heap: WasmHeap, pool: WasmPool | null = null): Kernels {',
    ...insts,
    '  return {',
    ...wrappers,
    '  };',
    '}',
    '',
  ].join('\n');
  files['wasm/runtime.ts'] = renderTemplate('wasm-runtime.ts', { header: fileHeader(plan, 'the WebAssembly runtime: the model memory (heap), staging, instantiation', []) });
  files['wasm/threads.ts'] = renderTemplate('wasm-threads.ts', { header: fileHeader(plan, 'the WebAssembly worker threads: split kernels run in chunks on every thread over one shared memory', []) });
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
  let sawModel = false;
  const names = new Set(kernelNames);
  for (const line of lines) {
    const imp = /^import \{ (.*) \} from '\.\/(layers\/\w+|grads|train|softmax)\.ts';$/.exec(line);
    if (imp) {
      for (const n of imp[1]!.split(', ')) if (!names.has(n)) throw new Error(`emit wasm: index.ts imports ${n}, which no wasm module defines`);
      if (!sawImports) out.push("import { MODULES, SPLIT_KERNELS, wasmKernels } from './wasm/kernels.ts';", "import { compileModules, createHeap } from './wasm/runtime.ts';", "import { MAX_THREADS, createPool } from './wasm/threads.ts';");
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
      out.push(...WASM_MODEL_TYPES);
      out.push('/** whether a model on `threads` threads starts workers: only where some kernel is cut into chunks (a model of small kernels runs them all whole on the calling thread) */');
      out.push('const startsWorkers = (threads: number): boolean => threads > 1 && SPLIT_KERNELS.length > 0;');
      out.push('');
      out.push('export function createWasmModel(options: WasmModelOptions = {}): WasmModel {');
      out.push('  const threads = options.threads ?? 1;');
      out.push(`  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new RangeError(\`${plan.name}.createWasmModel: options.threads must be an integer from 1 to \${MAX_THREADS}, got \${typeof threads === 'string' ? JSON.stringify(threads) : String(threads)}\`);`);
      out.push('  const workers = startsWorkers(threads);');
      out.push('  // every buffer below lives in one WebAssembly memory, planned for all of them (shared with the worker threads, if any)');
      out.push('  const heap = createHeap(HEAP_BYTES, STAGE_BYTES, workers);');
      out.push('  const pool = workers ? createPool(heap, threads, MODULES, SPLIT_KERNELS) : null;');
      out.push(`  const { ${kernelNames.join(', ')} } = wasmKernels(heap, pool);`);
      continue;
    }
    if (line === '  const model: Model = Object.freeze({') {
      sawModel = true;
      out.push('  const model: WasmModel = Object.freeze({');
      out.push('    threads: pool ? threads : 1,');
      out.push('    ready: pool ? pool.ready : Promise.resolve(),');
      out.push('    chunksRun: () => (pool ? pool.chunksRun() : []),');
      out.push('    dispose: () => pool?.dispose(),');
      continue;
    }
    out.push(line);
  }
  if (!sawFn || !sawModel || (kernelNames.length && (!sawImports || !sawExport))) throw new Error('emit wasm: index.ts does not have the shape wasm.ts is made from');
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
  text = head + body.replace('createHeap(HEAP_BYTES, STAGE_BYTES, ', `createHeap(${bytes}, ${stage}, `);
  text = text.replace(/^\/\/ generated by convgen.*\n\/\/ .*\n/, (h) => h.split('\n')[0] + '\n// the WebAssembly model module: createWasmModel, the TS module\'s API on kernels in WebAssembly (wasm/layers/*.wat, wasm/*.wat)\n');
  text = text.replace(/'(\w+)\.createModel'/g, "'$1.createWasmModel'");
  return text + WASM_MODEL_ASYNC;
}

/** wasm.ts's own options and model type, before createWasmModel */
const WASM_MODEL_TYPES = [
  "/** createWasmModel's options: createModel's, and the threads */",
  'export interface WasmModelOptions extends ModelOptions {',
  '  /**',
  '   * threads running the kernels, the calling one included (1 to 64; default 1): worker threads over one shared',
  "   * memory (in browsers that needs cross-origin isolation). The results are the same bits for any count",
  '   */',
  '  threads?: number;',
  '}',
  '',
  '/** the model on WebAssembly kernels: createModel\'s API, and its threads */',
  'export interface WasmModel extends Model {',
  '  /** threads running the kernels, the calling one included (1 where no kernel of the model is cut into chunks, whatever options.threads said) */',
  '  readonly threads: number;',
  '  /** resolves once every worker thread has started (until then the started ones share the work), or once dispose() ended them */',
  '  readonly ready: Promise<void>;',
  '  /** chunks of split kernels each thread has run (0: the calling thread; empty without worker threads) */',
  '  chunksRun(): number[];',
  '  /** end the worker threads (kernels then run whole on the calling thread; the model stays usable) */',
  '  dispose(): void;',
  '}',
  '',
];

/** the asynchronous constructor, after createWasmModel */
const WASM_MODEL_ASYNC = `
/**
 * createWasmModel, with the modules compiled asynchronously first (a browser's main thread may not
 * compile large modules synchronously), resolved once the worker threads are ready
 */
export async function createWasmModelAsync(options: WasmModelOptions = {}): Promise<WasmModel> {
  // the variant createWasmModel instantiates: shared memory imports where it starts workers
  await compileModules(MODULES, startsWorkers(options.threads ?? 1));
  const model = createWasmModel(options);
  try {
    await model.ready;
  } catch (e) {
    // a worker failed to start: end the others
    model.dispose();
    throw e;
  }
  return model;
}
`;
