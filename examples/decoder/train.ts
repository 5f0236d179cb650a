// Trains the DCGAN-style decoder (examples/decoder.json: conv_transpose2d upsampling) with
// kernels compiled by convgen, on a task made from MNIST digits (see task.ts): paint the full
// 32x32 digit in colour from a 16x16 thumbnail packed as 16 channels of 4x4.
//
//   node bin/convgen.js build examples/decoder.json   # writes generated/dcgan_decoder/
//   npx tsx examples/decoder/train.ts [--epochs 6] [--lr 0.2]
//
// The model has no built-in loss: the app computes the mean squared error, hands dL/doutput to
// the generated backward, and steps with the generated sgdStep. Writes a grid of inputs /
// outputs / targets as SVG, and the weights as safetensors, to examples/decoder/out/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../generated/dcgan_decoder/index.ts';
import { parseArgs } from '../mnist/args.ts';
import { loadMnist, permutation, rng, type Digits } from '../mnist/data.ts';
import type { CompiledModel } from '../mnist/model.ts';
import { Progress } from '../mnist/progress.ts';
import { imageGridPng } from '../mnist/png.ts';
import { imageGridSvg, type ImageRow } from '../mnist/svg.ts';
import { SIDE, TASK_IN, TASK_OUT, THUMB, baseline, mse, mseAndGrad, packedInput, target, thumbnail } from './task.ts';

const USAGE = 'usage: tsx examples/decoder/train.ts [--epochs N] [--lr X] [--momentum X] [--train N] [--test N] [--seed N] [--out DIR]';
const started = performance.now();
const opts = parseArgs(
  process.argv.slice(2),
  { epochs: 6, lr: 0.2, momentum: 0.9, train: 4000, test: 400, seed: 1, out: fileURLToPath(new URL('./out/', import.meta.url)) },
  USAGE,
);

const generated = createModel({ seed: opts.seed });
const model: CompiledModel = generated;
const { plan } = model;
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
if (!same(plan.inShape.slice(1), TASK_IN) || !same(plan.outShape.slice(1), TASK_OUT)) {
  process.stderr.write(
    `the decoder task needs input [${TASK_IN}] and output [${TASK_OUT}]; ${plan.name} has [${plan.inShape.slice(1)}] -> [${plan.outShape.slice(1)}]\n`,
  );
  process.exit(1);
}
const B = plan.batch;
const inSize = TASK_IN.reduce((a, b) => a * b);
const outSize = TASK_OUT.reduce((a, b) => a * b);

// inputs and targets are computed once
const { train: allTrain, test: allTest } = loadMnist();
interface Pairs {
  x: Float32Array[];
  y: Float32Array[];
  count: number;
}
const pairs = (d: Digits, n: number): Pairs => {
  const count = Math.min(n, d.count);
  return { x: Array.from({ length: count }, (_, i) => packedInput(d, i)), y: Array.from({ length: count }, (_, i) => target(d, i)), count };
};
const train = pairs(allTrain, opts.train);
const test = pairs(allTest, opts.test);
const baselineMse = test.y.reduce((s, y, i) => s + mse(baseline(allTest, i), y), 0) / test.count;

console.log(`model ${plan.name}: [${plan.inShape.slice(1)}] -> [${plan.outShape.slice(1)}], batch ${B}, ${plan.layers.map((l) => l.type).join(' -> ')}`);
console.log(`task: colour 32x32 digits from packed 16x16 thumbnails; ${train.count} training digits, ${test.count} test digits`);

/** decoder outputs for the first `n` test pairs (the last batch padded) */
function outputs(n: number): Float32Array[] {
  const x = new Float32Array(B * inSize);
  const res: Float32Array[] = [];
  for (let at = 0; at < n; at += B) {
    x.fill(0);
    for (let i = 0; i < B && at + i < n; i++) x.set(test.x[at + i], i * inSize);
    const out = model.forward(x);
    for (let i = 0; i < B && at + i < n; i++) res.push(out.slice(i * outSize, (i + 1) * outSize));
  }
  return res;
}

const x = new Float32Array(B * inSize);
const y = new Float32Array(B * outSize);
const dOut = new Float32Array(B * outSize);
let testMse = NaN;
for (let e = 1; e <= opts.epochs; e++) {
  const lr = (opts.lr * (1 + Math.cos((Math.PI * (e - 1)) / opts.epochs))) / 2;
  const order = permutation(train.count, rng(opts.seed * 1000 + e));
  const steps = Math.floor(train.count / B);
  const bar = new Progress(`epoch ${e}/${opts.epochs}`, steps * B);
  const t0 = performance.now();
  let sum = 0;
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < B; i++) {
      x.set(train.x[order[s * B + i]], i * inSize);
      y.set(train.y[order[s * B + i]], i * outSize);
    }
    const out = model.forward(x);
    const loss = mseAndGrad(out, y, dOut);
    model.backward(dOut);
    model.sgdStep(lr, { momentum: opts.momentum });
    sum += loss;
    bar.update((s + 1) * B, `mse ${(sum / (s + 1)).toFixed(5)}`);
  }
  bar.finish();
  const outs = outputs(test.count);
  testMse = outs.reduce((s, o, i) => s + mse(o, test.y[i]), 0) / test.count;
  const sec = (performance.now() - t0) / 1000;
  console.log(
    `epoch ${e}/${opts.epochs}: train mse ${(sum / steps).toFixed(5)}, test mse ${testMse.toFixed(5)} ` +
      `(bilinear baseline ${baselineMse.toFixed(5)}), ${sec.toFixed(1)} s, ${Math.round((steps * B) / sec)} samples/s`,
  );
}

mkdirSync(opts.out, { recursive: true });
const show = Math.min(8, test.count);
const outs = outputs(show);
const rows: ImageRow[] = [
  { label: 'input (16x16)', images: Array.from({ length: show }, (_, i) => thumbnail(allTest, i)), h: THUMB, w: THUMB, channels: 1 },
  { label: 'bilinear x2', images: Array.from({ length: show }, (_, i) => baseline(allTest, i)), h: SIDE, w: SIDE, channels: 3 },
  { label: 'decoder output', images: outs, h: SIDE, w: SIDE, channels: 3 },
  { label: 'target', images: test.y.slice(0, show), h: SIDE, w: SIDE, channels: 3 },
];
const gridPath = join(opts.out, `${plan.name}-grid.svg`);
const gridTitle = `${plan.name}: test digits, mse ${testMse.toFixed(4)} (bilinear baseline ${baselineMse.toFixed(4)})`;
writeFileSync(gridPath, imageGridSvg(rows, gridTitle));
// the same grid as a PNG, labelled the same: the title, and input, bilinear, decoder output, target
const pngPath = join(opts.out, `${plan.name}-grid.png`);
writeFileSync(pngPath, imageGridPng(rows, { title: gridTitle }));
const weightsPath = join(opts.out, `${plan.name}.safetensors`);
writeFileSync(weightsPath, generated.saveSafetensors({ format: 'pt', model: plan.name }));
const rel = (p: string) => relative(process.cwd(), p) || p;
console.log(`saved ${rel(gridPath)}, ${rel(pngPath)} and ${rel(weightsPath)}`);
console.log(`final test mse ${testMse.toFixed(5)} vs bilinear baseline ${baselineMse.toFixed(5)}; total ${((performance.now() - started) / 1000).toFixed(1)} s`);
