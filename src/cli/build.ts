// convgen build model.json... [--out DIR] [--target ts|wgsl|wasm|all] [--strategy direct|im2row|auto]
//   [--emit ts|js] [--limits limits.json] [--inference] [--check] [--force] [--dump ir|plan|threads]
// Parse, plan, lower and render every model in memory first; then check every destination
// and write each generated/<name>/ atomically (src/emit/output.ts), or none. --check writes
// nothing and lists what would change or be refused; --dump prints a stage instead of writing.

import { ConvgenError, EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK } from '../errors.ts';
import type { PlanOptions } from '../plan/plan.ts';
import type { ModelPlan } from '../plan/types.ts';
import { planFile } from './plan.ts';
import { emitModel, type EmitFlavour, type Target } from '../emit/index.ts';
import { isClean } from '../emit/write.ts';
import { inspectOutputs, writeModelOutputs, MANIFEST_FILE, type ModelOutput } from '../emit/output.ts';
import { stableJson } from '../emit/json.ts';
import { loadLimitsFile, type GpuLimits } from '../gpu/limits.ts';
import { lowerModel } from '../kernels/index.ts';
import { lowerKernel, dumpKernel } from '../ir/passes.ts';
import { splitTable } from '../wasm/split.ts';
import { join } from 'node:path';
import { importOnnxFile, isOnnxPath } from '../onnx/file.ts';
import { planModel } from '../plan/plan.ts';
import { limitsNeedWgsl, parseFlags, STRATEGY_FLAG, type FlagSpec } from './flags.ts';
import { IMPORT_MODEL_FLAGS, onnxImportOptions } from './import.ts';

export const BUILD_HELP = `usage: convgen build model.json... [flags]

A model.onnx file (from torch.onnx.export) is imported in memory first, as convgen import does
(named after the file or --name, with --batch or its ONNX batch, else 1; docs/onnx.md), and its
weights are written into its output folder as <name>.safetensors.

Generate the model module for each model file into <out>/<name>/ (default generated/<name>/):
index.ts (plan, createModel, every kernel), layers/<layer>.ts, train.ts, runtime.ts (shared by
every target: init, argument checks, safetensors in and out), the WGSL target's files (gpu.ts
with createGpuModel, wgsl/*.wgsl), the WebAssembly target's files (wasm.ts with
createWasmModel, wasm/layers/*.wat, wasm/train.wat and their binaries in wasm/kernels.ts), and ${MANIFEST_FILE} (each file written, with its sha256). All files are rendered in memory, then
the folder is replaced atomically: a failed build leaves the previous output intact.

A build replaces only what convgen wrote. It refuses (exit 2, nothing written) when an output
folder has no ${MANIFEST_FILE} (convgen did not write it, or wrote it before the manifest),
holds files not in its manifest (added by hand) or files whose bytes differ from it (edited),
or when the output path exists and is not a folder. All folders are checked before any is
written. An empty folder is adopted.

flags:
  --out DIR             parent folder of the output (default: generated)
  --target ts|wgsl|wasm|all  which targets to generate (default: all)
  --strategy NAME       direct, im2row or auto (default auto: the model file's choice, else the cost model's)
  --emit ts|js          TypeScript sources (default), or plain-JavaScript ESM with .d.ts files
  --limits FILE         WebGPU limits the WGSL target plans for (JSON, keys as in GPUSupportedLimits,
                        e.g. a dump of device.limits; missing keys keep the spec defaults). A layer
                        the limits cannot hold stops the build with an error naming the layer and
                        the limit, and nothing is written
  --inference           forward only, in eval mode always: forward kernels (batch norm with its
                        running stats, dropout as the identity), parameters, batch norm's buffers
                        and safetensors in and out; no gradients, backward, loss, optimizers,
                        train() or eval() (see docs/generated-module.md). Its files differ from
                        the training build's, so build it into its own --out folder
  --check               write nothing; exit 1 and list the files that would be added, changed or
                        removed; exit 2 and say why for a folder a build would refuse
  --force               replace a refused folder anyway: its whole content (files added or edited
                        by hand, or a folder convgen did not write) is deleted and replaced by the
                        build's output; a path that is not a folder is still refused
  --dump ir|plan|threads  print the lowered kernel IR, the plan as JSON, or how the wasm target
                        cuts each kernel into chunks for threads (a table), instead of writing
  --batch N             an .onnx file's static batch (default: its input's batch when static, else 1)
  --name NAME           an .onnx file's model name (default: the file's name); one .onnx file only
  -h, --help            print this help
`;

interface BuildArgs {
  files: string[];
  out: string;
  target?: Target;
  emit: EmitFlavour;
  check: boolean;
  /** --force: replace folders convgen would refuse */
  force: boolean;
  dump?: 'ir' | 'plan' | 'threads';
  plan: PlanOptions;
  /** --limits: the file, read once the flags are parsed */
  limitsFile?: string;
  /** --batch / --name: how an .onnx file is imported */
  onnx: { batch?: number; name?: string };
}

const BUILD_FLAGS = {
  '--out': { kind: 'path', what: 'a folder', example: 'generated' },
  '--target': { kind: 'choice', values: ['ts', 'wgsl', 'wasm', 'all'] },
  '--strategy': STRATEGY_FLAG,
  '--emit': { kind: 'choice', values: ['ts', 'js'] },
  '--limits': { kind: 'path', what: 'a file', example: 'limits.json' },
  '--inference': { kind: 'bool' },
  '--check': { kind: 'bool' },
  '--force': { kind: 'bool' },
  '--dump': { kind: 'choice', values: ['ir', 'plan', 'threads'] },
  ...IMPORT_MODEL_FLAGS,
} as const satisfies Record<string, FlagSpec>;

function parseArgs(args: string[]): BuildArgs | 'help' {
  const parsed = parseFlags('build', args, BUILD_FLAGS);
  if (parsed === 'help') return 'help';
  const f = parsed.flags;
  const strategy = f['--strategy'];
  const onnx = onnxImportOptions('build', parsed.files, f);
  if (f['--limits'] !== undefined && (f['--target'] === 'ts' || f['--target'] === 'wasm')) throw limitsNeedWgsl();
  return {
    files: parsed.files,
    out: f['--out'] ?? 'generated',
    ...(f['--target'] !== undefined ? { target: f['--target'] } : {}),
    emit: f['--emit'] ?? 'ts',
    check: f['--check'] === true,
    force: f['--force'] === true,
    ...(f['--dump'] !== undefined ? { dump: f['--dump'] } : {}),
    plan: { ...(strategy && strategy !== 'auto' ? { strategy } : {}), ...(f['--inference'] ? { inference: true } : {}) },
    ...(f['--limits'] !== undefined ? { limitsFile: f['--limits'] } : {}),
    onnx,
  };
}

function dump(plans: ModelPlan[], what: 'ir' | 'plan' | 'threads'): string {
  if (what === 'plan') return plans.map((p) => stableJson(p) + '\n').join('');
  if (what === 'threads') {
    return plans
      .map((plan) => {
        const p = lowerModel(plan, { target: 'wasm' });
        const kernels = [...p.layers.flatMap((l) => [...l.forward, ...l.backward, ...(l.eval?.forward ?? []), ...(l.eval?.backward ?? [])].map((c) => c.kernel)), ...p.graph.sums.flatMap((cs) => (cs ?? []).map((c) => c.kernel)), ...(p.outputSoftmax ? [p.outputSoftmax] : []), ...[p.loss, ...Object.values(p.optimizers ?? {})].filter((k): k is NonNullable<typeof k> => k !== null)];
        return `model ${plan.name}: the wasm kernels cut into chunks for createWasmModel({ threads }) (src/wasm/split.ts)\n\n${splitTable(kernels)}`;
      })
      .join('\n');
  }
  const out: string[] = [];
  for (const plan of plans) {
    const program = lowerModel(plan);
    out.push(`// model ${plan.name}`);
    for (const l of program.layers) {
      out.push(`// layer ${l.layer}${l.alias ? ' (a view: no kernels)' : ''}`);
      for (const s of l.scratch) out.push(`//   scratch ${s.name}: ${s.t}[${s.length}]${s.keep ? ' kept for backward' : ''}`);
      for (const c of [...l.forward, ...l.backward]) {
        out.push(`//   ${c.kernel.name}(${c.kernel.buffers.map((b) => `${b.name}=${c.args[b.name]}`).join(', ')})`);
        out.push(dumpKernel(lowerKernel(c.kernel)));
      }
    }
    for (const k of [program.loss, ...Object.values(program.optimizers ?? {})]) if (k) out.push(dumpKernel(lowerKernel(k)));
  }
  return out.join('\n');
}

export async function buildCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    process.stdout.write(BUILD_HELP);
    return EXIT_OK;
  }
  const limits: GpuLimits | undefined = parsed.limitsFile === undefined ? undefined : loadLimitsFile(parsed.limitsFile);
  // plan every file before writing anything: a bad file stops the build with nothing written.
  // An .onnx file is imported in memory (src/onnx/); its weights go into its output folder
  const imports = parsed.files.map((f) => (isOnnxPath(f) ? importOnnxFile(f, parsed.onnx) : undefined));
  const plans = parsed.files.map((f, i) => {
    const imported = imports[i];
    if (!imported) return planFile(f, parsed.plan);
    try {
      return planModel(imported.spec, parsed.plan);
    } catch (err) {
      throw err instanceof ConvgenError ? err.inFile(f) : err;
    }
  });
  const names = new Map<string, string>();
  for (const [i, p] of plans.entries()) {
    const other = names.get(p.name);
    if (other) throw new ConvgenError('name', `models ${other} and ${parsed.files[i]} are both named "${p.name}" and would write the same folder`, 'rename one of them');
    names.set(p.name, parsed.files[i]);
  }
  if (parsed.dump) {
    process.stdout.write(dump(plans, parsed.dump));
    return EXIT_OK;
  }
  // render every model before writing any: a limit breach in the last model writes nothing
  const outputs: ModelOutput[] = [];
  for (const [i, plan] of plans.entries()) {
    try {
      const files = await emitModel(plan, { target: parsed.target, emit: parsed.emit, limits });
      const weights = imports[i]?.safetensors;
      outputs.push({ dir: join(parsed.out, plan.name), model: plan.name, files: weights ? { ...files, [`${plan.name}.safetensors`]: weights } : files, inference: plan.inference === true });
    } catch (err) {
      if (err instanceof ConvgenError) throw err.inFile(parsed.files[i]);
      throw err;
    }
  }
  if (parsed.check) return check(outputs, parsed.force, args);
  const reports = writeModelOutputs(outputs, { force: parsed.force });
  for (const [i, { dir, files }] of outputs.entries()) {
    const forced = reports[i].forced;
    if (forced) process.stderr.write(`convgen build: --force replaced ${dir}, which a build refuses: ${forced.problem}\n`);
    for (const note of imports[i]?.notes ?? []) process.stderr.write(`convgen build: ${parsed.files[i]}: note: ${note}\n`);
    process.stdout.write(`wrote ${dir}/ (${Object.keys(files).length} files)\n`);
  }
  return EXIT_OK;
}

/** --check: what a build would do to each folder; exit 2 if it would refuse one, 1 if one is out of date */
function check(outputs: readonly ModelOutput[], force: boolean, args: string[]): number {
  const reports = inspectOutputs(outputs, { force });
  let refused = 0;
  let stale = 0;
  for (const { dir, refusal, diff } of reports) {
    if (refusal) {
      refused++;
      process.stdout.write(`would refuse  ${dir}: ${refusal.problem}; ${refusal.fix}\n`);
      continue;
    }
    if (isClean(diff)) continue;
    stale++;
    for (const p of diff.added) process.stdout.write(`would add     ${dir}/${p}\n`);
    for (const p of diff.changed) process.stdout.write(`would change  ${dir}/${p}\n`);
    for (const p of diff.removed) process.stdout.write(`would remove  ${dir}/${p}\n`);
  }
  const rebuild = `convgen build ${args.filter((a) => a !== '--check').join(' ')}`;
  if (refused) {
    process.stdout.write(`${refused} of ${outputs.length} output folder(s) a build would refuse to replace (see above)${stale ? `, ${stale} out of date` : ''}\n`);
    return EXIT_BAD_INPUT;
  }
  if (stale) {
    process.stdout.write(`${stale} of ${outputs.length} output folder(s) out of date: run ${rebuild}\n`);
    return EXIT_CHECK_FAILED;
  }
  process.stdout.write(`${outputs.length} output folder(s) up to date\n`);
  return EXIT_OK;
}
