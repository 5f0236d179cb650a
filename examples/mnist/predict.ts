// Loads the weights train.ts saved into a freshly created model and classifies the test digits.
//
//   npx tsx examples/mnist/predict.ts [--target ts|wgsl] [--weights examples/mnist/out/lenet5.safetensors] [--show 6]
//
// With --target wgsl the weights go to the generated WebGPU model (writeParams) and the digits
// are classified by the WGSL kernels; the file is the same either way.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../generated/lenet5/index.ts';
import { decodeModelParams } from '../../src/io/safetensors.ts';
import { parseArgs } from './args.ts';
import { asciiDigit, loadMnist } from './data.ts';
import { accuracy, predict } from './loop.ts';
import { startLenet, TARGETS, type Target } from './targets.ts';
import type { CompiledModel } from './model.ts';

const USAGE = 'usage: tsx examples/mnist/predict.ts [--target ts|wgsl] [--weights FILE] [--show N] [--from I]';
const opts = parseArgs(
  process.argv.slice(2),
  { target: process.env.CONVGEN_TARGET ?? 'ts', weights: fileURLToPath(new URL('./out/lenet5.safetensors', import.meta.url)), show: 6, from: 0 },
  USAGE,
);
if (!TARGETS.includes(opts.target as Target)) {
  process.stderr.write(`--target must be one of ${TARGETS.join(', ')}, got "${opts.target}"\n`);
  process.exit(2);
}

let bytes: Uint8Array;
try {
  bytes = new Uint8Array(readFileSync(opts.weights));
} catch {
  process.stderr.write(`no weights at ${opts.weights}: run examples/mnist/train.ts first\n`);
  process.exit(1);
}

// the file is read into a fresh TS model's parameters (its own random init overwritten), then
// handed to the target's model
const host: CompiledModel = createModel({ seed: 12345 });
const meta = decodeModelParams(host.plan, host.params, bytes);
const running = await startLenet(opts.target as Target, 12345);
running.writeParams(host.params);
const { test } = loadMnist();
const predicted = await predict(running.model, test);
running.close();

const COLUMN = 36;

/** digits side by side, three to a row, each with its prediction and label */
function showDigits(indices: number[]): void {
  for (let at = 0; at < indices.length; at += 3) {
    const group = indices.slice(at, at + 3);
    const arts = group.map((i) => asciiDigit(test.images, i));
    const heads = group.map((i) => `#${i}: predicted ${predicted[i]}, label ${test.labels[i]}${predicted[i] === test.labels[i] ? '' : ' (wrong)'}`.padEnd(COLUMN));
    console.log(heads.join('  '));
    for (let r = 0; r < arts[0].length; r++) console.log(arts.map((a) => a[r].padEnd(COLUMN)).join('  '));
  }
}

showDigits(Array.from({ length: Math.max(0, Math.min(opts.show, test.count - opts.from)) }, (_, i) => opts.from + i));
const wrong = Array.from({ length: test.count }, (_, i) => i).filter((i) => predicted[i] !== test.labels[i]);
if (wrong.length > 0) {
  console.log(`\nthe first ${Math.min(3, wrong.length)} of ${wrong.length} misclassified test digits:`);
  showDigits(wrong.slice(0, 3));
}

const acc = accuracy(predicted, test.labels);
const right = Math.round(acc * test.count);
console.log(`model: ${running.description}`);
console.log(`weights: ${relative(process.cwd(), opts.weights) || opts.weights}${meta.test_accuracy ? ` (saved with test accuracy ${(100 * Number(meta.test_accuracy)).toFixed(2)}%)` : ''}`);
console.log(`test accuracy ${(100 * acc).toFixed(2)}% (${right}/${test.count})`);
