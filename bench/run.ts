// `npm run bench` (tsx bench/run.ts): every config, cross-checked then timed, in one
// process; writes bench/results/latest.{json,md} and chart.svg, prints the targets.
//
//   --quick        tiny sizes and budgets (seconds; what the CI smoke test runs)
//   --only B,F     only these configs (A..F); repeatable
//   --no-compiler  skip timing `convgen build` of the examples
//   --out DIR      write the results there (default bench/results; --quick defaults to .tmp/bench)

import { readdirSync } from 'node:fs';
import { runSuite } from './suite.ts';
import { writeReport } from './report.ts';
import { formatTargets } from './targets.ts';

const ALL = ['A', 'B', 'C', 'D', 'E', 'F'];

interface Args {
  quick: boolean;
  only: string[] | null;
  compiler: boolean;
  out: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, only: null, compiler: true, out: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`bench: ${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') a.quick = true;
    else if (arg === '--no-compiler') a.compiler = false;
    else if (arg.startsWith('--only')) {
      const ids = value().toUpperCase().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = ids.filter((id) => !ALL.includes(id));
      if (bad.length) throw new Error(`bench: unknown config ${bad.join(', ')} (configs: ${ALL.join(', ')})`);
      a.only = [...(a.only ?? []), ...ids];
    } else if (arg.startsWith('--out')) a.out = value();
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: tsx bench/run.ts [--quick] [--only A,B,...] [--no-compiler] [--out DIR]\n');
      process.exit(0);
    } else throw new Error(`bench: unknown argument ${arg} (see --help)`);
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
const examples = args.compiler ? readdirSync('examples').filter((f) => f.endsWith('.json')).sort().map((f) => `examples/${f}`) : [];
const report = await runSuite({ quick: args.quick, only: args.only, examples, log: (line) => process.stdout.write(line + '\n') });
const out = args.out ?? (args.quick ? '.tmp/bench' : 'bench/results');
const files = writeReport(report, out);
process.stdout.write(`\n${formatTargets(report.targets)}\n\nwrote ${files.join(', ')} (${report.wallSeconds.toFixed(0)} s, peak RSS ${report.peakRssMiB.toFixed(0)} MiB)\n`);
