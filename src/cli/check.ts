// convgen check model.json... [--target ts|wgsl|wasm|all] [--seed N] [--strategy ...] [--limits FILE]:
// parses the flags, plans each file, runs the checker (src/check/) and prints one table per
// model; exits 1 when any result is outside its tolerance, or when no WebGPU adapter opens.

import { ConvgenError, EXIT_CHECK_FAILED, EXIT_OK } from '../errors.ts';
import type { PlanOptions } from '../plan/plan.ts';
import { loadLimitsFile } from '../gpu/limits.ts';
import { checkPlans, formatCheckReport, inferenceNotChecked, type CheckReport } from '../check/index.ts';
import { NoWebGpuError } from '../gpu/node-device.ts';
import { planFile } from './plan.ts';
import { limitsNeedWgsl, parseFlags, STRATEGY_FLAG, type FlagSpec } from './flags.ts';
import { IMPORT_MODEL_FLAGS, onnxImportOptions } from './import.ts';
import type { ImportOptions } from '../onnx/index.ts';

export const CHECK_HELP = `usage: convgen check model.json... [--target ts|wgsl|wasm|all] [--seed N] [--strategy direct|im2row|auto] [--limits limits.json]

Run every generated kernel of each model against the float64 reference interpreter on
seeded random data, then the whole generated module (forward, loss, every gradient).
Prints one row per kernel: layer | kernel | strategy | max abs error | max rel error |
tolerance | ok. Exits 1 when any result is outside its tolerance.

With --target wgsl the WGSL kernels and the generated WebGPU runtime (gpu.ts) run on a
WebGPU adapter through Dawn (the \`webgpu\` package: npm install webgpu). On a machine
without a GPU that needs Mesa's software Vulkan driver, lavapipe (Mesa >= 23: Debian/Ubuntu
packages mesa-vulkan-drivers and libvulkan1; on Debian bookworm from bookworm-backports);
in the convgen repository, scripts/install-webgpu-deps.sh installs it. No adapter: exit 1
with a message saying how to get one.

flags:
  --target ts|wgsl|wasm|all  the target to check (default ts); wasm: the WebAssembly kernels and wasm.ts;
                    all: ts, wasm and wgsl in turn (fails where no WebGPU adapter is found)
  --seed N          seed of the random inputs and parameters (default 1)
  --strategy NAME   direct, im2row or auto, as for convgen build (default auto); with --target
                    wgsl, im2row checks the forward as im2row + tiled GEMM
  --limits FILE     with --target wgsl: the WebGPU limits the kernels are built for, as for
                    convgen build --limits
  --batch N, --name NAME  how a model.onnx given instead of a model.json is imported, as for
                    convgen import (the check runs on seeded random weights, not the file's)
  -h, --help        print this help
`;

interface CheckArgs {
  files: string[];
  target: 'ts' | 'wgsl' | 'wasm' | 'all';
  seed: number;
  plan: PlanOptions;
  limitsFile?: string;
  /** --batch / --name: how an .onnx file is imported */
  onnx: ImportOptions;
}

const CHECK_FLAGS = {
  '--target': { kind: 'choice', values: ['ts', 'wgsl', 'wasm', 'all'] },
  '--seed': { kind: 'count', example: 1 },
  '--strategy': STRATEGY_FLAG,
  '--limits': { kind: 'path', what: 'a file', example: 'limits.json' },
  '--inference': { kind: 'bool' },
  ...IMPORT_MODEL_FLAGS,
} as const satisfies Record<string, FlagSpec>;

function parseArgs(args: string[]): CheckArgs | 'help' {
  const parsed = parseFlags('check', args, CHECK_FLAGS);
  if (parsed === 'help') return 'help';
  const f = parsed.flags;
  if (f['--inference']) throw inferenceNotChecked('--inference');
  const strategy = f['--strategy'];
  const out: CheckArgs = {
    files: parsed.files,
    target: f['--target'] ?? 'ts',
    seed: f['--seed'] ?? 1,
    plan: strategy && strategy !== 'auto' ? { strategy } : {},
    ...(f['--limits'] !== undefined ? { limitsFile: f['--limits'] } : {}),
    onnx: onnxImportOptions('check', parsed.files, f),
  };
  if (out.limitsFile !== undefined && out.target !== 'wgsl' && out.target !== 'all') throw limitsNeedWgsl();
  return out;
}

export async function checkCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    process.stdout.write(CHECK_HELP);
    return EXIT_OK;
  }
  const plans = parsed.files.map((f) => planFile(f, parsed.plan, parsed.onnx));
  const limits = parsed.limitsFile === undefined ? undefined : loadLimitsFile(parsed.limitsFile);
  const targets = parsed.target === 'all' ? (['ts', 'wasm', 'wgsl'] as const) : [parsed.target];
  let ok = true;
  for (const target of targets) {
    let reports: CheckReport[];
    try {
      reports = await checkPlans(plans, { target, seed: parsed.seed, limits });
    } catch (err) {
      if (!(err instanceof NoWebGpuError)) throw err;
      process.stderr.write(`convgen check: --target ${parsed.target}: ${err.message}\n`);
      ok = false;
      continue;
    }
    for (const r of reports) process.stdout.write(formatCheckReport(r) + '\n');
    ok &&= reports.every((r) => r.failures === 0);
  }
  return ok ? EXIT_OK : EXIT_CHECK_FAILED;
}
