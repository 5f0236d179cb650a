// The first training step against a steady one (issue 13: the first at most 3x a steady step),
// per model and target, each in a fresh process (nothing compiled or warmed by another row):
// import of the generated module, createModel / createWasmModel, then steps of lossAndGrad +
// sgdStep, each timed on its own; steady is the median of the last half.
//   npx tsx bench/first-step.ts [--steps N] [--models lenet5,resnet_small] [--targets ts,wasm] [--node-flags "..."] [--warm-up]
// A row's child is `node --import tsx bench/first-step.ts --child <model> <ts|wasm>`.

import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface StepModel {
  lossAndGrad(x: Float32Array, labels: Int32Array): number;
  sgdStep(lr: number): void;
}

interface Result {
  importMs: number;
  createMs: number;
  steps: number[];
}

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function child(model: string, target: 'ts' | 'wasm', steps: number): Promise<Result> {
  let t = performance.now();
  const file = resolve('generated', model, target === 'ts' ? 'index.ts' : 'wasm.ts');
  const mod = (await import(pathToFileURL(file).href)) as Record<string, (o: { seed: number }) => StepModel> & { plan: { inShape: number[]; outShape: number[] } };
  const importMs = performance.now() - t;
  const [batch, ...rest] = mod.plan.inShape;
  const classes = mod.plan.outShape[1]!;
  const x = Float32Array.from({ length: batch! * rest.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: batch! }, (_, i) => i % classes);
  t = performance.now();
  const m = mod[target === 'ts' ? 'createModel' : 'createWasmModel']!({ seed: 1 });
  // --warm-up: what a warm-up pass at creation would do (one lossAndGrad on zeros, counted in
  // create; a real one would also have to restore batch norm's running stats)
  if (process.argv.includes('--warm-up')) m.lossAndGrad(new Float32Array(x.length), new Int32Array(labels.length));
  const createMs = performance.now() - t;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    t = performance.now();
    m.lossAndGrad(x, labels);
    m.sgdStep(0.01);
    times.push(performance.now() - t);
  }
  return { importMs, createMs, steps: times };
}

if (process.argv[2] === '--child') {
  const r = await child(process.argv[3]!, process.argv[4] as 'ts' | 'wasm', Number(process.argv[5]));
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  const steps = Number(arg('--steps', '40'));
  const models = arg('--models', 'lenet5,resnet_small').split(',');
  const flags = arg('--node-flags', '').split(' ').filter(Boolean);
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`node ${process.version}${flags.length ? ` ${flags.join(' ')}` : ''}, ${steps} steps per fresh process, load average ${load()}\n`);
  console.log('| model | target | import ms | create ms | step 1 ms | step 2 ms | steady ms | step 1 / steady | create + step 1 / steady |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const model of models) {
    for (const target of arg('--targets', 'ts,wasm').split(',') as ('ts' | 'wasm')[]) {
      const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', 'bench/first-step.ts', '--child', model, target, String(steps), ...(process.argv.includes('--warm-up') ? ['--warm-up'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const r = JSON.parse(out.trim().split('\n').pop()!) as Result;
      const steady = median(r.steps.slice(Math.floor(r.steps.length / 2)));
      const f = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
      console.log(`| ${model} | ${target} | ${f(r.importMs)} | ${f(r.createMs)} | ${f(r.steps[0]!)} | ${f(r.steps[1]!)} | ${f(steady)} | ${(r.steps[0]! / steady).toFixed(1)}x | ${((r.createMs + r.steps[0]!) / steady).toFixed(1)}x |`);
    }
  }
  console.log(`\nload average after: ${load()}`);
}
