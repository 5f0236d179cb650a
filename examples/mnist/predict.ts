// Loads the weights train.ts saved into a freshly created model and classifies the test digits.
//
//   npx tsx examples/mnist/predict.ts [--target ts|wgsl] [--weights examples/mnist/out/lenet5.safetensors] [--show 6]
//   npx tsx examples/mnist/predict.ts --model examples/resnet.json    # examples/mnist/out/resnet_small.safetensors
//
// The file goes straight into the target's model with its loadSafetensors (strict, as PyTorch's
// load_state_dict): with --target wgsl into the generated WebGPU model, whose WGSL kernels then
// classify the digits; the file is the same either way. The model classifies in eval mode (batch
// norm's running stats, which the file carries).

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors } from '../../src/io/safetensors.ts';
import { parseArgs } from './args.ts';
import { asciiDigit, loadMnist } from './data.ts';
import { accuracy, predict } from './loop.ts';
import { DEFAULT_MODEL, modelName, startModel, TARGETS, type Target } from './targets.ts';

const USAGE = `usage: tsx examples/mnist/predict.ts [--model FILE] [--target ts|wgsl] [--weights FILE] [--show N] [--from I]
  --model     the model file the weights are for (default ${DEFAULT_MODEL}); --weights defaults to examples/mnist/out/<its name>.safetensors`;
const opts = parseArgs(process.argv.slice(2), { model: DEFAULT_MODEL, target: process.env.CONVGEN_TARGET ?? 'ts', weights: '', show: 6, from: 0 }, USAGE);
const name = modelName(opts.model);
opts.weights ||= fileURLToPath(new URL(`./out/${name}.safetensors`, import.meta.url));
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

// the model's own random init is overwritten by the file's parameters
const running = await startModel(name, opts.target as Target, 12345);
await running.loadSafetensors(bytes);
// train.ts records how it did in the file's metadata
const meta = decodeSafetensors(bytes).metadata;
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
