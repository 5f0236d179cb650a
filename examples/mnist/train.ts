// Trains a digit classifier on MNIST digits with kernels compiled by convgen, in plain Node.
//
//   node bin/convgen.js build examples/lenet.json    # writes generated/lenet5/
//   npx tsx examples/mnist/train.ts [--epochs 6] [--lr 0.05] [--seed 1]
//   npx tsx examples/mnist/train.ts --model examples/resnet.json    # generated/resnet_small/, Adam
//
// Imports the generated module exactly as an app would, trains it with the generated
// lossAndGrad + sgdStep (momentum; LeNet's default) or adamStep (through optimizerStep; the
// default for other models) in training mode, tests it in eval mode (batch norm's running
// stats), and saves the state_dict as safetensors (`<layer>.weight`, `<layer>.bias`, batch
// norm's running stats; PyTorch names and layouts) plus the training curves as SVG in
// examples/mnist/out/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './args.ts';
import { loadMnist, PIXELS } from './data.ts';
import { accuracy, OPTIMIZERS, predict, trainEpoch, type OptimizerName } from './loop.ts';
import { Progress } from './progress.ts';
import { tenths, trainingCurvesSvg, type EpochRecord } from './report.ts';
import { DEFAULT_MODEL, modelName, startModel, TARGETS, type Target } from './targets.ts';

const USAGE = `usage: tsx examples/mnist/train.ts [--model FILE] [--target ts|wgsl] [--optimizer sgd|adam|adamw] [--epochs N] [--lr X] [--momentum X] [--weight-decay X] [--seed N] [--limit N] [--out DIR]
  --model     a model file built with \`convgen build\` (generated/<name>/), input 1x28x28, 10 classes;
              default ${DEFAULT_MODEL} (LeNet-5)
  --target    ts: the generated TypeScript kernels (default); wgsl: the generated WGSL kernels on
              a WebGPU adapter (Dawn, the \`webgpu\` package). The CONVGEN_TARGET variable sets the default.
  --optimizer sgd (momentum) or adam / adamw; the defaults of --optimizer, --lr and --epochs are
              LeNet's (sgd, 0.05, 6) for LeNet and (adam, 0.003, 6) for any other model
  --limit N   train on the first N training digits only (a quick try)`;

/** --optimizer, --lr and --epochs when not given: LeNet's settings, and Adam's for the rest (tuned on examples/resnet.json) */
const MODEL_DEFAULTS: Record<string, { optimizer: OptimizerName; lr: number; epochs: number }> = {
  lenet5: { optimizer: 'sgd', lr: 0.05, epochs: 6 },
};
const OTHER_DEFAULTS = { optimizer: 'adam' as OptimizerName, lr: 0.003, epochs: 6 };

const started = performance.now();
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const opts = parseArgs(
  process.argv.slice(2),
  {
    model: DEFAULT_MODEL,
    optimizer: '',
    epochs: 0,
    lr: 0,
    momentum: 0.9,
    weightDecay: 0,
    seed: 1,
    limit: 0,
    out: fileURLToPath(new URL('./out/', import.meta.url)),
    target: process.env.CONVGEN_TARGET ?? 'ts',
  },
  USAGE,
);

if (!TARGETS.includes(opts.target as Target)) {
  process.stderr.write(`--target must be one of ${TARGETS.join(', ')}, got "${opts.target}"\n`);
  process.exit(2);
}
const name = modelName(opts.model);
const defaults = MODEL_DEFAULTS[name] ?? OTHER_DEFAULTS;
opts.optimizer ||= defaults.optimizer;
opts.lr ||= defaults.lr;
opts.epochs ||= defaults.epochs;
if (!OPTIMIZERS.includes(opts.optimizer as OptimizerName)) {
  process.stderr.write(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got "${opts.optimizer}"\n`);
  process.exit(2);
}
const optimizer = opts.optimizer as OptimizerName;
if (!Number.isInteger(opts.epochs) || opts.epochs < 1) {
  process.stderr.write(`--epochs must be a whole number >= 1, got ${opts.epochs}\n`);
  process.exit(2);
}

const split = loadMnist();
const limit = opts.limit > 0 ? Math.min(opts.limit, split.train.count) : split.train.count;
const train = { images: split.train.images.subarray(0, limit * PIXELS), labels: split.train.labels.subarray(0, limit), count: limit };
const test = split.test;

const running = await startModel(name, opts.target as Target, opts.seed);
const { model } = running;
const plan = model.plan;
if (train.count < plan.batch) {
  process.stderr.write(`--limit ${opts.limit} is less than one batch of ${plan.batch}\n`);
  process.exit(2);
}
const paramCount = Object.values(await running.params()).reduce((s, p) => s + (p.weight?.length ?? 0) + (p.bias?.length ?? 0), 0);
console.log(`model ${plan.name}: ${plan.layers.length} layers, ${paramCount} parameters, batch ${plan.batch} (${running.description})`);
console.log(`data: ${train.count} training digits, ${test.count} test digits (the mnist package, a fixed seeded split), pixels in [0, 1]`);
const schedule = `${plural(opts.epochs, 'epoch')}, seed ${opts.seed}`;
if (optimizer === 'sgd') console.log(`sgd: lr ${opts.lr} (cosine decay per epoch), momentum ${opts.momentum}, weight decay ${opts.weightDecay}, ${schedule}`);
else console.log(`${optimizer}: lr ${opts.lr} (cosine decay per epoch), weight decay ${opts.weightDecay}, ${schedule}; training mode for the steps, eval mode for the tests`);

const history: EpochRecord[] = [];
let trainSeconds = 0;
for (let e = 1; e <= opts.epochs; e++) {
  // cosine decay, one value per epoch: full rate first, small at the end
  const lr = (opts.lr * (1 + Math.cos((Math.PI * (e - 1)) / opts.epochs))) / 2;
  const bar = new Progress(`epoch ${e}/${opts.epochs}`, Math.floor(train.count / plan.batch) * plan.batch);
  const r = await trainEpoch(model, train, {
    lr,
    momentum: opts.momentum,
    weightDecay: opts.weightDecay,
    optimizer,
    seed: opts.seed * 1000 + e,
    onBatch: (done, _total, loss) => bar.update(done, `loss ${loss.toFixed(4)}`),
  });
  bar.finish();
  trainSeconds += r.seconds;
  const acc = accuracy(await predict(model, test), test.labels);
  const rec: EpochRecord = { epoch: e, lr, trainLoss: r.meanLoss, lossTenths: tenths(r.batchLosses), testAccuracy: acc, seconds: r.seconds, samplesPerSecond: r.samples / r.seconds };
  history.push(rec);
  console.log(
    `epoch ${e}/${opts.epochs}: train loss ${r.meanLoss.toFixed(4)}, test accuracy ${(100 * acc).toFixed(2)}%, ` +
      `${r.seconds.toFixed(1)} s, ${Math.round(rec.samplesPerSecond)} samples/s, lr ${lr.toFixed(4)}`,
  );
}

const final = history[history.length - 1];
mkdirSync(opts.out, { recursive: true });
const weightsPath = join(opts.out, `${plan.name}.safetensors`);
writeFileSync(
  weightsPath,
  await running.saveSafetensors({
    format: 'pt',
    model: plan.name,
    input: 'pixels in [0, 1], [batch, 1, 28, 28]',
    epochs: String(opts.epochs),
    ...(optimizer === 'sgd' ? {} : { optimizer }),
    test_accuracy: final.testAccuracy.toFixed(4),
    target: opts.target,
  }),
);
running.close();
const curvesPath = join(opts.out, `${plan.name}-curves.svg`);
writeFileSync(curvesPath, trainingCurvesSvg(history, `${plan.name} on MNIST: ${train.count} training digits, batch ${plan.batch}, ${opts.target === 'ts' ? 'TypeScript' : 'WGSL'} kernels`));
writeFileSync(join(opts.out, `${plan.name}-history.json`), JSON.stringify({ options: opts, history }, null, 2) + '\n');

const right = Math.round(final.testAccuracy * test.count);
const show = (p: string) => relative(process.cwd(), p) || p;
console.log(`saved ${show(weightsPath)} and ${show(curvesPath)}`);
console.log(
  `final test accuracy ${(100 * final.testAccuracy).toFixed(2)}% (${right}/${test.count}) after ${plural(opts.epochs, 'epoch')}; ` +
    `training ${trainSeconds.toFixed(1)} s, total ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
