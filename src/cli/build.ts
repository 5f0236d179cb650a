// convgen build model.json... [--out DIR] [--target ts|wgsl|wasm|all] [--strategy direct|im2row|auto]
//   [--emit ts|js] [--limits limits.json] [--inference] [--check] [--force] [--dump ir|plan]
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
import { join } from 'node:path';

export const BUILD_HELP = `usage: convgen build model.json... [flags]

Generate the model module for each model file into <out>/<name>/ (default generated/<name>/):
index.ts (plan, createModel, every kernel), layers/<layer>.ts, train.ts, runtime.ts (shared by
both targets: init, argument checks, safetensors in and out), the WGSL target's files, and
${MANIFEST_FILE} (each file written, with its sha256). All files are rendered in memory, then
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
  --dump ir|plan        print the lowered kernel IR or the plan as JSON instead of writing
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
  dump?: 'ir' | 'plan';
  plan: PlanOptions;
  /** --limits: the file, read once the flags are parsed */
  limitsFile?: string;
}

function choice<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T {
  if (v === undefined || !(allowed as readonly string[]).includes(v)) {
    throw new ConvgenError(flag, `must be one of ${allowed.join(', ')}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`, `write ${flag} ${allowed[0]}`);
  }
  return v as T;
}

function parseArgs(args: string[]): BuildArgs | 'help' {
  const out: BuildArgs = { files: [], out: 'generated', emit: 'ts', check: false, force: false, plan: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : args[++i]);
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--out': {
        const v = value();
        if (!v) throw new ConvgenError('--out', 'needs a folder', 'write --out generated');
        out.out = v;
        break;
      }
      case '--target':
        out.target = choice('--target', value(), ['ts', 'wgsl', 'wasm', 'all'] as const);
        break;
      case '--strategy': {
        const s = choice('--strategy', value(), ['direct', 'im2row', 'auto'] as const);
        if (s !== 'auto') out.plan.strategy = s;
        break;
      }
      case '--emit':
        out.emit = choice('--emit', value(), ['ts', 'js'] as const);
        break;
      case '--limits': {
        const v = value();
        if (!v) throw new ConvgenError('--limits', 'needs a file', 'write --limits limits.json');
        out.limitsFile = v;
        break;
      }
      case '--inference':
        out.plan.inference = true;
        break;
      case '--check':
        out.check = true;
        break;
      case '--force':
        out.force = true;
        break;
      case '--dump':
        out.dump = choice('--dump', value(), ['ir', 'plan'] as const);
        break;
      default:
        if (a.startsWith('-')) throw new ConvgenError(a, 'unknown flag', 'see convgen build --help');
        out.files.push(a);
    }
  }
  if (out.files.length === 0) throw new ConvgenError('arguments', 'no model file given', 'run convgen build model.json');
  return out;
}

function dump(plans: ModelPlan[], what: 'ir' | 'plan'): string {
  if (what === 'plan') return plans.map((p) => stableJson(p) + '\n').join('');
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
  // plan every file before writing anything: a bad file stops the build with nothing written
  const plans = parsed.files.map((f) => planFile(f, parsed.plan));
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
      outputs.push({ dir: join(parsed.out, plan.name), model: plan.name, files: await emitModel(plan, { target: parsed.target, emit: parsed.emit, limits }), inference: plan.inference === true });
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
