// convgen plan model.json [--json] [--strategy auto|direct|im2row] [--target ts|wgsl|wasm] [--limits FILE] [--inference] [--width N]:
// parse and plan, then print the plan as a table (or as JSON); with --target wgsl, the GPU
// schedule instead (src/gpu/schedule.ts: per kernel, its dispatches, workgroup size and
// count, workgroup memory and bindings, checked against the device limits). Errors are
// ConvgenErrors attributed to the file; main.ts prints them and exits 2.

import { ConvgenError, EXIT_OK } from '../errors.ts';
import { planModel, type PlanOptions } from '../plan/plan.ts';
import { formatPlanTable } from '../plan/table.ts';
import { wrapCell } from '../plan/fit.ts';
import { scheduleLinear, scheduleModel } from '../plan/schedule.ts';
import { formatConvSchedule, formatLinearSchedule } from '../plan/schedule-table.ts';
import { loadModelFile } from '../spec/parse.ts';
import type { LinearLayerPlan, ModelPlan } from '../plan/types.ts';
import { lowerModel } from '../kernels/index.ts';
import { loadLimitsFile, type GpuLimits } from '../gpu/limits.ts';
import { formatGpuSchedule, scheduleGpu, type GpuSchedule } from '../gpu/schedule.ts';
import { limitsNeedWgsl, parseFlags, STRATEGY_FLAG, type FlagSpec } from './flags.ts';
import { IMPORT_MODEL_FLAGS, onnxImportOptions } from './import.ts';
import { importOnnxFile, isOnnxPath } from '../onnx/file.ts';
import type { ImportOptions } from '../onnx/index.ts';

export const PLAN_HELP = `usage: convgen plan model.json... [--json] [--strategy auto|direct|im2row] [--target ts|wgsl|wasm] [--limits FILE] [--inference] [--width N]

Parse and plan each model file and print one row per layer: shapes per sample,
kernel/stride/padding/dilation, conv strategy, parameters, MFLOPs (forward, and backward =
grad-input + grad-weight), and activation KiB for the whole batch, with totals.

With --target ts, print the TS target's conv schedule after the table: one row per conv
kernel, with its algorithm (gather, im2row, reduce, sum), register block and unroll budget.
With --target wasm, the WebAssembly target's (the TS algorithms, but grad-weight by im2row + GEMM
where a group has 4 or more input channels).

With --target wgsl, print the WGSL target's schedule instead: its conv schedule (algorithm,
channels per invocation, tiles, split-K), then one row per dispatch, in run
order (forward, backward, loss, SGD), with its kernel, entry point, invocations (the
parallel loops mapped to them), workgroup size, workgroup counts (folded into 2D / 3D past
maxComputeWorkgroupsPerDimension), workgroup memory and bound buffers (KiB; :rw writable,
:u uniform). A linear weight or the parameter arena over one binding is split (blocks of
rows, several buffers, optimizer chunks: printed above the table); anything else the device
limits cannot hold is an error naming the layer and the limit.

The tables fit the terminal's width (or --width N; when the output is not a terminal,
$COLUMNS if set, else the full tables): columns that are 0 in every row are left out, then headers are abbreviated (a
legend says how), long cells wrap, long lists move to a line under their row, and the least
important columns are left out (a note names them); below that, one block per layer.

flags:
  --json                print the plan (or, with --target wgsl, the schedule) as JSON instead of the table
  --strategy <name>     force one conv strategy (direct or im2row) instead of the cost model's choice;
                        auto (the default): the model file's choice, else the cost model's
  --target ts|wgsl|wasm add the TS (or wasm) conv schedule to the plan, or print the WGSL schedule
  --limits FILE         WebGPU limits to schedule for (JSON, keys as in GPUSupportedLimits; missing
                        keys keep the spec defaults); needs --target wgsl
  --inference           plan the forward-only build (convgen build --inference): eval mode, no
                        backward (the bwd column shows -), batch norm accepts a batch of 1
  --width N             fit the tables to N columns (at least 20) instead of the terminal's
  --batch N, --name NAME  how a model.onnx given instead of a model.json is imported, as for
                        convgen import
  -h, --help            print this help
`;

interface PlanArgs {
  readonly files: string[];
  readonly json: boolean;
  readonly options: PlanOptions;
  /** --target: the schedule to print beside the plan (null: the plan table alone) */
  readonly target: 'ts' | 'wgsl' | 'wasm' | null;
  /** --limits: the file, read once the flags are parsed */
  readonly limitsFile?: string;
  /** --width: the tables' width; else the terminal's (defaultWidth) */
  readonly width?: number;
  /** --batch / --name: how an .onnx file is imported */
  readonly onnx: ImportOptions;
}

/**
 * the terminal's columns; when stdout is not a terminal (a pipe, a file, a test), $COLUMNS if
 * set, else no limit: the full tables, as a file or a pager wants them
 */
export function defaultWidth(stdout: { isTTY?: boolean; columns?: number } = process.stdout, env: Readonly<Record<string, string | undefined>> = process.env): number | undefined {
  if (stdout.isTTY && stdout.columns) return Math.max(20, stdout.columns);
  const columns = env['COLUMNS'];
  return columns !== undefined && /^\d+$/.test(columns) && Number(columns) >= 20 ? Number(columns) : undefined;
}

/** every line of the output at most `width` long: the tables fit already; titles and notes wrap at spaces */
function fitLines(text: string, width: number | undefined): string {
  if (width === undefined) return text;
  return text
    .split('\n')
    .flatMap((line) => (line.length <= width ? [line] : wrapCell(line, width, ' ')))
    .join('\n');
}

const PLAN_FLAGS = {
  '--json': { kind: 'bool' },
  '--inference': { kind: 'bool' },
  '--strategy': STRATEGY_FLAG,
  '--target': { kind: 'choice', values: ['ts', 'wgsl', 'wasm'] },
  '--limits': { kind: 'path', what: 'a file', example: 'limits.json' },
  ...IMPORT_MODEL_FLAGS,
  '--width': { kind: 'count', example: 100, min: 20, means: 'a whole number of columns, 20 or more', fix: "write --width 100, or leave it out for the terminal's width" },
} as const satisfies Record<string, FlagSpec>;

function parseArgs(args: string[]): PlanArgs | 'help' {
  const parsed = parseFlags('plan', args, PLAN_FLAGS);
  if (parsed === 'help') return 'help';
  const f = parsed.flags;
  const strategy = f['--strategy'];
  const out: PlanArgs = {
    files: parsed.files,
    json: f['--json'] === true,
    options: { ...(strategy && strategy !== 'auto' ? { strategy } : {}), ...(f['--inference'] ? { inference: true } : {}) },
    target: f['--target'] ?? null,
    ...(f['--limits'] !== undefined ? { limitsFile: f['--limits'] } : {}),
    ...(f['--width'] !== undefined ? { width: f['--width'] } : {}),
    onnx: onnxImportOptions('plan', parsed.files, f),
  };
  if (out.limitsFile !== undefined && out.target !== 'wgsl') throw limitsNeedWgsl();
  return out;
}

/** parse and plan one file (an .onnx file is imported in memory first); every error names the file */
export function planFile(path: string, options: PlanOptions = {}, onnx: ImportOptions = {}): ModelPlan {
  const spec = isOnnxPath(path) ? importOnnxFile(path, onnx).spec : loadModelFile(path);
  try {
    return planModel(spec, options);
  } catch (err) {
    if (err instanceof ConvgenError) throw err.inFile(path);
    throw err;
  }
}

/** the WGSL target's schedule of one planned file; a limit breach names the file and the layer */
export function scheduleFile(plan: ModelPlan, path: string, limits?: GpuLimits): GpuSchedule {
  try {
    return scheduleGpu(plan, lowerModel(plan, { target: 'wgsl', limits }), limits);
  } catch (err) {
    if (err instanceof ConvgenError) throw err.inFile(path);
    throw err;
  }
}

export async function planCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    process.stdout.write(PLAN_HELP);
    return EXIT_OK;
  }
  const limits = parsed.limitsFile === undefined ? undefined : loadLimitsFile(parsed.limitsFile);
  const width = parsed.width ?? defaultWidth();
  // plan every file before printing, so a bad file prints nothing but its error
  const plans = parsed.files.map((f) => planFile(f, parsed.options, parsed.onnx));
  if (parsed.target === 'wgsl') {
    const schedules = plans.map((p, i) => ({ plan: p, conv: scheduleModel(p, 'wgsl'), schedule: scheduleFile(p, parsed.files[i], limits) }));
    if (parsed.json) {
      const data = schedules.map((s) => ({ model: s.plan.name, conv: s.conv.layers, ...s.schedule }));
      process.stdout.write(JSON.stringify(data.length === 1 ? data[0] : data, null, 2) + '\n');
    } else {
      process.stdout.write(fitLines(schedules.map((s) => `model ${s.plan.name} (target wgsl)\n${formatConvSchedule(s.conv, { width })}\n${formatGpuSchedule(s.schedule, { width })}`).join('\n'), width));
    }
    return EXIT_OK;
  }
  if (parsed.target === 'ts' || parsed.target === 'wasm') {
    const target = parsed.target;
    const schedules = plans.map((p) => scheduleModel(p, target));
    if (parsed.json) {
      const data = plans.map((p, i) => ({ plan: p, conv: schedules[i]!.layers }));
      process.stdout.write(JSON.stringify(data.length === 1 ? data[0] : data, null, 2) + '\n');
    } else {
      // wasm: the linear layers' schedule too (an inference build: their forwards only)
      const linear = (p: ModelPlan) => (target === 'wasm' ? `\n${formatLinearSchedule(p.layers.filter((l): l is LinearLayerPlan => l.type === 'linear').map((l) => scheduleLinear(l, 'wasm')), { width, inference: p.inference })}` : '');
      process.stdout.write(fitLines(plans.map((p, i) => `${formatPlanTable(p, { width })}\n${formatConvSchedule(schedules[i]!, { width })}${linear(p)}`).join('\n'), width));
    }
    return EXIT_OK;
  }
  if (parsed.json) {
    process.stdout.write(JSON.stringify(plans.length === 1 ? plans[0] : plans, null, 2) + '\n');
  } else {
    process.stdout.write(fitLines(plans.map((p) => formatPlanTable(p, { width })).join('\n'), width));
  }
  return EXIT_OK;
}
