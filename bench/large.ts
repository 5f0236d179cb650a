// How a user meets a real-size model on the TS target: import and createModel time and memory,
// eval forward, then a few training steps (lossAndGrad, then SGD with momentum), each timed on
// its own: the first calls run V8's unoptimized tiers over the unrolled kernels.
//   npx tsx bench/large.ts generated/vgg16/index.ts 3
// The model's input must be 3x224x224 with batch 1 (examples/large/*.json).

import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [path, stepsArg] = process.argv.slice(2);
if (!path) throw new Error('usage: tsx bench/large.ts generated/<model>/index.ts [steps]');
const steps = Number(stepsArg ?? 3);
const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MB`;
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const rss0 = process.memoryUsage().rss;
let t = performance.now();
const mod = (await import(pathToFileURL(resolve(path)).href)) as typeof import('../generated/vgg16/index.ts');
const tImport = performance.now() - t;
t = performance.now();
const model = mod.createModel({ seed: 0 });
const tCreate = performance.now() - t;
console.log(`import ${sec(tImport)}; createModel ${sec(tCreate)}; rss ${mb(rss0)} before, ${mb(process.memoryUsage().rss)} after createModel`);

const x = new Float32Array(3 * 224 * 224);
let s = 1;
for (let i = 0; i < x.length; i++) {
  s = (s * 1103515245 + 12345) % 2147483648;
  x[i] = s / 2147483648 - 0.5;
}
const labels = new Int32Array([7]);
model.eval();
for (let i = 0; i < 2; i++) {
  t = performance.now();
  model.forward(x);
  console.log(`eval forward ${i + 1}: ${sec(performance.now() - t)}`);
}
model.train();
for (let i = 0; i < steps; i++) {
  t = performance.now();
  const loss = model.lossAndGrad(x, labels);
  const tg = performance.now() - t;
  t = performance.now();
  model.sgdStep(1e-3, { momentum: 0.9 });
  console.log(`step ${i + 1}: lossAndGrad ${sec(tg)}, sgdStep ${sec(performance.now() - t)}, loss ${loss.toFixed(4)}, rss ${mb(process.memoryUsage().rss)}`);
}
console.log(`peak rss ${mb(process.resourceUsage().maxRSS * 1024)}`);
