// `npm run bench` (tsx bench/run.ts): every config, cross-checked then timed, in one
// process; writes bench/results/latest.{json,md} and chart.svg, prints the targets.
//
//   --quick        tiny sizes and budgets (seconds; what the CI smoke test runs)
//   --only B,F     only these configs (A..G); repeatable
//   --no-compiler  skip timing `convgen build` of the examples
//   --out DIR      write the results there (default bench/results; --quick defaults to .tmp/bench)

import { readdirSync } from 'node:fs';
import { runSuite } from './suite.ts';
import { writeReport } from './report.ts';
import { formatTargets } from './targets.ts';
import { parseBenchArgs } from './args.ts';

const ALL = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];

const args = parseBenchArgs(process.argv.slice(2), 'bench', ALL, 'usage: tsx bench/run.ts [--quick] [--only A,B,...] [--no-compiler] [--out DIR]', ['no-compiler']);
const examples = !args.switches.has('no-compiler') ? readdirSync('examples').filter((f) => f.endsWith('.json')).sort().map((f) => `examples/${f}`) : [];
const report = await runSuite({ quick: args.quick, only: args.only, examples, log: (line) => process.stdout.write(line + '\n') });
const out = args.out ?? (args.quick ? '.tmp/bench' : 'bench/results');
const files = writeReport(report, out);
process.stdout.write(`\n${formatTargets(report.targets)}\n\nwrote ${files.join(', ')} (${report.wallSeconds.toFixed(0)} s, peak RSS ${report.peakRssMiB.toFixed(0)} MiB)\n`);
