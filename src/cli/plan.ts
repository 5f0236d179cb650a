// convgen plan model.json [--json] [--strategy direct|im2row]: parse and plan, then print
// the plan as a table (or as JSON). Errors are ConvgenErrors attributed to the file;
// main.ts prints them and exits 2.

import { ConvgenError, EXIT_OK } from '../errors.ts';
import { planModel, type PlanOptions } from '../plan/plan.ts';
import { formatPlanTable } from '../plan/table.ts';
import { loadModelFile } from '../spec/parse.ts';
import type { ModelPlan } from '../plan/types.ts';

export const PLAN_HELP = `usage: convgen plan model.json... [--json] [--strategy direct|im2row]

Parse and plan each model file and print one row per layer: shapes per sample,
kernel/stride/padding/dilation, conv strategy, parameters, MFLOPs (forward, and backward =
grad-input + grad-weight), and activation KiB for the whole batch, with totals.

flags:
  --json                print the plan as JSON instead of the table
  --strategy <name>     force one conv strategy (direct or im2row) instead of the cost model's choice
  -h, --help            print this help
`;

interface PlanArgs {
  files: string[];
  json: boolean;
  options: PlanOptions;
}

function parseArgs(args: string[]): PlanArgs | 'help' {
  const out: PlanArgs = { files: [], json: false, options: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h' || a === '--help') return 'help';
    if (a === '--json') out.json = true;
    else if (a === '--strategy' || a.startsWith('--strategy=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (v !== 'direct' && v !== 'im2row') {
        throw new ConvgenError('--strategy', `must be "direct" or "im2row", got ${v === undefined ? 'nothing' : JSON.stringify(v)}`, 'write --strategy direct or --strategy im2row, or leave it out for the cost model');
      }
      out.options.strategy = v;
    } else if (a.startsWith('-') && a !== '-') {
      throw new ConvgenError(a, 'unknown flag', 'see convgen plan --help');
    } else out.files.push(a);
  }
  if (out.files.length === 0) throw new ConvgenError('arguments', 'no model file given', 'run convgen plan model.json');
  return out;
}

/** parse and plan one file; every error names the file */
export function planFile(path: string, options: PlanOptions = {}): ModelPlan {
  const spec = loadModelFile(path);
  try {
    return planModel(spec, options);
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
  // plan every file before printing, so a bad file prints nothing but its error
  const plans = parsed.files.map((f) => planFile(f, parsed.options));
  if (parsed.json) {
    process.stdout.write(JSON.stringify(plans.length === 1 ? plans[0] : plans, null, 2) + '\n');
  } else {
    process.stdout.write(plans.map(formatPlanTable).join('\n'));
  }
  return EXIT_OK;
}
