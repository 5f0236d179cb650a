// @ts-check
// The browser example's logic, with no DOM: load the digits that serve.ts wrote, get a WebGPU
// device, and train the generated model (gpu.js's createGpuModel) with trainStep and momentum.
// page.js wires it to index.html; test/browser-app.test.ts runs it in Node on Dawn.
//
// Plain ESM JavaScript typed with JSDoc, loaded by the browser as it is (no build step).
// app.d.ts is tsc's declaration output for this file (the test checks it is current).

/**
 * @typedef {object} Digits
 * @property {Float32Array} images count x imageSize² pixels, row-major, in [0, 1]
 * @property {Int32Array} labels count class indices
 * @property {number} count
 */

/**
 * digits.json, written by serve.ts next to the binary files it names
 * @typedef {object} DigitsHeader
 * @property {string} format "convgen-digits/1"
 * @property {number} imageSize pixels per side (28)
 * @property {number} classes
 * @property {{ [set: string]: { count: number, images: string, labels: string } }} sets
 *   per set: images as count x imageSize² bytes (pixel = byte / 255), labels as count bytes
 */

export const DIGITS_FORMAT = 'convgen-digits/1';

/**
 * one set of digits from its two binary files, checked against the header
 * @param {DigitsHeader} header
 * @param {string} name the set's name in header.sets ("train", "test")
 * @param {ArrayBuffer} images
 * @param {ArrayBuffer} labels
 * @returns {Digits}
 */
export function decodeDigits(header, name, images, labels) {
  if (header.format !== DIGITS_FORMAT) throw new Error(`digits.json: format is ${JSON.stringify(header.format)}, expected "${DIGITS_FORMAT}" (rerun \`npm run browser\`)`);
  const set = header.sets[name];
  if (!set) throw new Error(`digits.json: no set "${name}"`);
  const pixels = header.imageSize * header.imageSize;
  if (images.byteLength !== set.count * pixels) throw new Error(`${set.images}: ${images.byteLength} bytes, expected ${set.count} x ${pixels}`);
  if (labels.byteLength !== set.count) throw new Error(`${set.labels}: ${labels.byteLength} bytes, expected ${set.count}`);
  const bytes = new Uint8Array(images);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  const l = Int32Array.from(new Uint8Array(labels));
  for (let i = 0; i < l.length; i++) {
    if (l[i] >= header.classes) throw new Error(`${set.labels}: label ${i} is ${l[i]}, expected a class index in [0, ${header.classes})`);
  }
  return { images: out, labels: l, count: set.count };
}

/**
 * fetch digits.json and the binary files of the train and test sets from `base` (a folder URL)
 * @param {string | URL} base
 * @param {{ fetch?: (url: URL) => Promise<Response> }} [options] fetch: the global one by default
 * @returns {Promise<{ header: DigitsHeader, train: Digits, test: Digits }>}
 */
export async function loadDigits(base, options = {}) {
  const get = options.fetch ?? ((url) => fetch(url));
  const folder = new URL(base);
  const fetchOk = async (/** @type {string} */ name) => {
    const res = await get(new URL(name, folder));
    if (!res.ok) throw new Error(`${new URL(name, folder)}: HTTP ${res.status} (did \`npm run browser\` write the data?)`);
    return res;
  };
  /** @type {DigitsHeader} */
  const header = await (await fetchOk('digits.json')).json();
  const set = async (/** @type {string} */ name) => {
    const s = header.sets[name];
    if (!s) throw new Error(`digits.json: no set "${name}"`);
    const [images, labels] = await Promise.all([fetchOk(s.images).then((r) => r.arrayBuffer()), fetchOk(s.labels).then((r) => r.arrayBuffer())]);
    return decodeDigits(header, name, images, labels);
  };
  const [train, test] = await Promise.all([set('train'), set('test')]);
  return { header, train, test };
}

/**
 * the first `n` digits of a set (a view, no copy)
 * @param {Digits} d
 * @param {number} n
 * @returns {Digits}
 */
export function firstDigits(d, n) {
  const count = Math.max(0, Math.min(d.count, Math.floor(n)));
  const pixels = d.images.length / Math.max(1, d.count);
  return { images: d.images.subarray(0, count * pixels), labels: d.labels.subarray(0, count), count };
}

/**
 * a device from `gpu` (navigator.gpu in a page), or an Error whose message says why there is none
 * and what to do
 * @template D
 * @param {{ requestAdapter(): Promise<{ requestDevice(): Promise<D>, info?: { vendor?: string, architecture?: string, device?: string, description?: string } } | null> } | undefined} gpu
 * @param {{ secureContext?: boolean }} [where] secureContext: window.isSecureContext
 * @returns {Promise<{ device: D, adapter: string }>}
 */
export async function requestGpuDevice(gpu, where = {}) {
  if (!gpu) {
    // browsers hide navigator.gpu outside secure contexts (https, localhost, 127.0.0.1)
    if (where.secureContext === false) throw new Error('WebGPU is unavailable: this page is not a secure context. Open it as http://localhost:PORT/ (or over https), not by a network address.');
    throw new Error('WebGPU is unavailable in this browser (no navigator.gpu). Use Chrome or Edge 113+ (on Linux: enable chrome://flags/#enable-unsafe-webgpu), Safari 26+, or Firefox 141+ on Windows.');
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU is present but gave no adapter: the GPU or its driver may be blocklisted (see chrome://gpu), or hardware acceleration is off in the browser settings. On Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu (and Vulkan).');
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.device || info.description].filter((s) => s).join(' ') || 'unnamed adapter';
  return { device: await adapter.requestDevice(), adapter: name };
}

/** the WebAssembly threads a page gets at most without asking (`threads` in the URL asks) */
export const MAX_AUTO_THREADS = 4;

/**
 * how many threads the WebAssembly model gets, and why: its workers share one memory (a
 * SharedArrayBuffer), which browsers give only to a cross-origin isolated page (served with
 * COOP: same-origin and COEP: require-corp); there, one per logical core up to
 * MAX_AUTO_THREADS (each kernel is cut into at most 16 chunks, many of LeNet's into 2-8, so
 * more threads mostly wait), or `requested`; elsewhere 1
 * @param {{ crossOriginIsolated?: boolean, hardwareConcurrency?: number, requested?: number | null }} where
 *   crossOriginIsolated: self.crossOriginIsolated; hardwareConcurrency: navigator's;
 *   requested: the URL's `threads` (1 to 64), or null
 * @returns {{ threads: number, why: string }}
 */
export function wasmThreads(where) {
  const cores = Math.max(1, Math.floor(where.hardwareConcurrency ?? 1));
  const requested = where.requested ?? null;
  if (requested !== null && !(Number.isInteger(requested) && requested >= 1 && requested <= 64)) throw new RangeError(`threads must be an integer from 1 to 64, got ${requested}`);
  if (!where.crossOriginIsolated) {
    const asked = requested !== null && requested > 1 ? ` (${requested} asked)` : '';
    return { threads: 1, why: `1 thread${asked}: this page is not cross-origin isolated (its server sends no Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp headers), so it has no SharedArrayBuffer for the workers` };
  }
  if (requested !== null) return { threads: requested, why: `${requested} thread${requested === 1 ? '' : 's'}, as the URL asks (cross-origin isolated; ${cores} logical cores)` };
  const threads = Math.min(cores, MAX_AUTO_THREADS);
  const capped = cores > MAX_AUTO_THREADS ? `, at most ${MAX_AUTO_THREADS}` : '';
  return { threads, why: `${threads} thread${threads === 1 ? '' : 's'}: one per logical core${capped} (cross-origin isolated, ${cores} cores)` };
}

// (func (result v128) (v128.const i32x4 0 0 0 0)): valid where the engine has WebAssembly SIMD
const SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, ...new Array(16).fill(0), 11];
// (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd): valid where it has relaxed SIMD
const RELAXED_SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11];

/**
 * what this engine's WebAssembly offers the generated modules: SIMD (they need it: f32x4), and
 * relaxed SIMD (f32x4.relaxed_madd, which a build may use where it validates)
 * @param {{ validate(bytes: Uint8Array<ArrayBuffer>): boolean } | undefined} wasm globalThis.WebAssembly
 * @returns {{ wasm: boolean, simd: boolean, relaxedSimd: boolean }}
 */
export function wasmFeatures(wasm) {
  if (!wasm) return { wasm: false, simd: false, relaxedSimd: false };
  return { wasm: true, simd: wasm.validate(Uint8Array.from(SIMD_PROBE)), relaxedSimd: wasm.validate(Uint8Array.from(RELAXED_SIMD_PROBE)) };
}

/**
 * which backend trains: `wanted` if it can, 'auto' picks WebGPU where there is an adapter, else
 * WebAssembly where it has SIMD, else the TypeScript kernels ('cpu'); `why` says what was
 * passed over and why (empty when nothing was)
 * @param {'auto' | 'webgpu' | 'wasm' | 'cpu'} wanted
 * @param {{ gpu: string | null, wasm: string | null }} missing why each is unavailable, or null where it is available
 * @returns {{ backend: 'webgpu' | 'wasm' | 'cpu', why: string }}
 */
export function chooseBackend(wanted, missing) {
  if (wanted === 'webgpu' || wanted === 'wasm') {
    const why = wanted === 'webgpu' ? missing.gpu : missing.wasm;
    if (why !== null) throw new Error(`${wanted === 'webgpu' ? 'WebGPU' : 'WebAssembly'} was chosen, but ${why}`);
    return { backend: wanted, why: '' };
  }
  if (wanted === 'cpu') return { backend: 'cpu', why: '' };
  if (missing.gpu === null) return { backend: 'webgpu', why: '' };
  if (missing.wasm === null) return { backend: 'wasm', why: `No WebGPU: ${missing.gpu}` };
  return { backend: 'cpu', why: `No WebGPU: ${missing.gpu} No WebAssembly SIMD: ${missing.wasm}` };
}

/** mulberry32: a tiny seeded generator, uniform in [0, 1) (the same as examples/mnist/data.ts) */
function rng(/** @type {number} */ seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a seeded Fisher-Yates permutation of 0..n-1 */
function permutation(/** @type {number} */ n, /** @type {() => number} */ random) {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * the part of gpu.js's GpuModel this app uses (method syntax: the generated types are assignable)
 * @template B a batch resident on the device (GpuBatch)
 * @typedef {{
 *   forward(x: Float32Array | B): Promise<Float32Array>,
 *   trainStep(x: Float32Array | B, labels: Int32Array | undefined, lr: number, options?: { momentum?: number, weightDecay?: number }): Promise<number>,
 *   uploadBatch(x: Float32Array, labels?: Int32Array): B,
 *   destroy(): void,
 *   eval?(): unknown,
 *   train?(mode?: boolean): unknown,
 * }} GpuModelLike
 */

/**
 * the part of index.js's Model (the CPU TypeScript kernels) cpuModel uses
 * @typedef {{
 *   forward(x: Float32Array): Float32Array,
 *   lossAndGrad(x: Float32Array, labels: Int32Array): number,
 *   sgdStep(lr: number, options?: { momentum?: number, weightDecay?: number }): void,
 *   eval?(): unknown,
 *   train?(mode?: boolean): unknown,
 *   dispose?(): void,
 *   chunksRun?(): number[],
 * }} CpuModelLike
 */

/**
 * a batch held in memory by cpuModel (the CPU's uploadBatch)
 * @typedef {{ x: Float32Array, labels: Int32Array | undefined, destroy(): void }} CpuBatch
 */

/**
 * createModel from index.js (the CPU kernels), or wasm.js's createWasmModelAsync (the
 * WebAssembly kernels: async, as a browser's main thread compiles large modules only that way),
 * behind the interface train() uses for createGpuModel, for browsers without WebGPU: trainStep is
 * lossAndGrad then sgdStep. The kernels run on the page's thread (with WebAssembly threads, the
 * page's thread takes chunks too and spins for the workers'), so a step yields to the event loop
 * (a macrotask) whenever `yieldMs` have passed since the last yield: the page paints its progress
 * while it trains. destroy() calls the model's dispose() (it ends the WebAssembly workers).
 * @param {(options?: { seed?: number }) => CpuModelLike | Promise<CpuModelLike>} createModel
 * @param {{ yieldMs?: number }} [options] default 40 ms
 * @returns {(device: unknown, options?: { seed?: number }) => Promise<GpuModelLike<CpuBatch> & { chunksRun(): number[] | undefined }>}
 */
export function cpuModel(createModel, options = {}) {
  const yieldMs = options.yieldMs ?? 40;
  return async (_device, modelOptions = {}) => {
    const model = await createModel(modelOptions);
    let last = performance.now();
    const breathe = async () => {
      if (performance.now() - last < yieldMs) return;
      await new Promise((done) => setTimeout(done, 0));
      last = performance.now();
    };
    // calls run one after another in the order made, as a GPU queue runs submissions
    /** @type {Promise<unknown>} */
    let queue = Promise.resolve();
    /** @template T @param {() => T} work @returns {Promise<T>} */
    const inOrder = (work) => {
      const done = queue.then(breathe).then(work);
      queue = done.catch(() => {});
      return done;
    };
    /** @param {Float32Array | CpuBatch} x */
    const pixels = (x) => (x instanceof Float32Array ? x : x.x);
    return {
      // a copy: the next forward reuses the model's output buffer
      forward: (x) => inOrder(() => model.forward(pixels(x)).slice()),
      trainStep: (x, labels, lr, stepOptions) =>
        inOrder(() => {
          const y = labels ?? (x instanceof Float32Array ? undefined : x.labels);
          if (!y) throw new Error('trainStep: no labels (pass them, or a batch uploaded with labels)');
          const loss = model.lossAndGrad(pixels(x), y);
          // no update from a NaN or infinite loss (train() stops there)
          if (Number.isFinite(loss)) model.sgdStep(lr, stepOptions);
          return loss;
        }),
      uploadBatch: (x, y) => ({ x, labels: y, destroy() {} }),
      destroy: () => model.dispose?.(),
      eval: () => model.eval?.(),
      train: (mode) => model.train?.(mode),
      // the WebAssembly model's chunks per thread (0: the page's), to show the workers worked
      chunksRun: () => model.chunksRun?.(),
    };
  };
}

/**
 * why the losses so far look like a diverging run, or '' when they do not: a loss that is NaN or
 * infinite; or, after 40 steps, the last 20 steps' mean above 1.5 ln(classes) (a fresh net starts
 * near ln(classes), the loss of a uniform guess: the loss grew), or still at chance (0.95
 * ln(classes) or more) after a step jumped above 1.3 ln(classes). Measured on LeNet, 64 steps:
 * lr 0.3 and 1 jump to 3.2-3.7 and stay near 2.3 (10% test accuracy); lr 0.01 stays near 2.3 with
 * no jump (slow, not diverging); lr 0.05 and 0.1 fall below 1.
 * @param {readonly number[]} losses every training step's loss so far, in order
 * @param {number} classes
 * @returns {string}
 */
export function divergence(losses, classes) {
  const bad = losses.find((l) => !Number.isFinite(l));
  if (bad !== undefined) return `training diverged: loss ${bad}, lower the learning rate`;
  const window = 20;
  if (losses.length < 2 * window) return '';
  const chance = Math.log(classes);
  const recent = losses.slice(-window).reduce((s, v) => s + v, 0) / window;
  const peak = Math.max(...losses);
  if (recent > 1.5 * chance) return `training diverged: loss growing (${recent.toFixed(2)} over the last ${window} steps, ${chance.toFixed(2)} at the start), lower the learning rate`;
  if (recent >= 0.95 * chance && peak > 1.3 * chance) return `training diverged: loss jumped to ${peak.toFixed(2)} and stays at chance (${recent.toFixed(2)}, ln ${classes} = ${chance.toFixed(2)}), lower the learning rate`;
  return '';
}

/**
 * `data` as resident batches of `batch` samples in the given order, uploaded once (uploadBatch);
 * the last partial batch is padded with zeros and label 0, and `valid` says how many count
 * @template B
 * @param {GpuModelLike<B>} model
 * @param {Digits} data
 * @param {number} batch
 * @param {ArrayLike<number>} order
 * @returns {{ batch: B & { destroy(): void }, valid: number }[]}
 */
function uploadBatches(model, data, batch, order) {
  const pixels = data.images.length / data.count;
  const out = [];
  for (let at = 0; at < order.length; at += batch) {
    const x = new Float32Array(batch * pixels);
    const y = new Int32Array(batch);
    const valid = Math.min(batch, order.length - at);
    for (let i = 0; i < valid; i++) {
      const k = order[at + i];
      x.set(data.images.subarray(k * pixels, (k + 1) * pixels), i * pixels);
      y[i] = data.labels[k];
    }
    const b = /** @type {B & { destroy(): void }} */ (model.uploadBatch(x, y));
    out.push({ batch: b, valid });
  }
  return out;
}

/**
 * resolves each promise of `make(i)` for i in 0..n-1 in order, with at most `window` of them
 * pending: the queue runs submissions in order, so the next step can be recorded while the
 * last one's loss is still on its way back
 * @template T
 * @param {number} n
 * @param {number} window
 * @param {(i: number) => Promise<T>} make
 * @param {(value: T, i: number) => void} take
 */
async function pipelined(n, window, make, take) {
  /** @type {Promise<T>[]} */
  const pending = [];
  let next = 0;
  try {
    for (let i = 0; i < n; i++) {
      while (next < n && pending.length < window) pending.push(make(next++));
      take(await /** @type {Promise<T>} */ (pending.shift()), i);
    }
  } finally {
    // after a failure, the steps still in flight settle unobserved
    for (const p of pending) p.catch(() => {});
  }
}

/**
 * @typedef {object} EpochRecord
 * @property {number} epoch 1-based
 * @property {number} lr this epoch's learning rate (cosine decay)
 * @property {number[]} batchLosses the loss of every training step, in order
 * @property {number} trainLoss the mean of batchLosses
 * @property {number} testAccuracy fraction of the test digits classified right
 * @property {number} seconds training time of the epoch (without the test pass)
 * @property {number} samplesPerSecond training samples per second
 */

/**
 * what train() reports as it goes: 'compile' once, while it creates the model (on WebGPU: its
 * shaders and pipelines); every training step ('train', with `warning` from divergence(), '' when
 * none); 'testing' as each epoch's test pass starts; 'test' with its result and the predicted
 * class of every test digit
 * @typedef {{ phase: 'compile', epochs: number }
 *   | { phase: 'train', epoch: number, epochs: number, step: number, steps: number, samples: number, loss: number, meanLoss: number, samplesPerSecond: number, warning: string }
 *   | { phase: 'testing', epoch: number, epochs: number }
 *   | { phase: 'test', epoch: number, epochs: number, record: EpochRecord, predictions: Int32Array }} Progress
 */

/**
 * @typedef {object} TrainOptions
 * @property {number} [epochs] default 3
 * @property {number} [batch] the model's static batch (model.json's "batch"); default 32
 * @property {number} [lr] the first epoch's learning rate, cosine-decayed per epoch; default 0.05
 * @property {number} [momentum] default 0.9
 * @property {number} [weightDecay] default 0
 * @property {number} [seed] parameter init and shuffles; default 1
 * @property {number} [inflight] training steps submitted ahead of the loss readback; default 2
 * @property {number} [classes] the model's classes, for divergence(); default 10
 * @property {(p: Progress) => void} [onProgress]
 */

/**
 * train a freshly created model on `data.train` and test it on `data.test` after every epoch.
 *
 * Both sets are uploaded to the device once, as resident batches (uploadBatch): the training
 * batches are made from one seeded shuffle, and each epoch visits them in a new seeded order,
 * so no pixel crosses to the GPU after the start. Each step is one trainStep (forward, loss,
 * backward and the SGD update in one submission, PyTorch's momentum).
 *
 * @template D, B
 * @param {TrainOptions & {
 *   device: D,
 *   createGpuModel: (device: D, options?: { seed?: number }) => Promise<GpuModelLike<B>>,
 *   data: { train: Digits, test: Digits },
 * }} options
 * @returns {Promise<{ epochs: EpochRecord[], testAccuracy: number }>}
 */
export async function train(options) {
  const { device, createGpuModel, data } = options;
  const epochs = options.epochs ?? 3;
  const batch = options.batch ?? 32;
  const lr0 = options.lr ?? 0.05;
  const momentum = options.momentum ?? 0.9;
  const weightDecay = options.weightDecay ?? 0;
  const seed = options.seed ?? 1;
  const inflight = Math.max(1, Math.floor(options.inflight ?? 2));
  const classes = options.classes ?? 10;
  const report = options.onProgress ?? (() => {});
  const steps = Math.floor(data.train.count / batch);
  if (steps < 1) throw new RangeError(`train: ${data.train.count} training digits are less than one batch of ${batch}`);
  if (data.test.count < 1) throw new RangeError('train: no test digits');

  report({ phase: 'compile', epochs });
  const model = await createGpuModel(device, { seed });
  /** @type {{ batch: B & { destroy(): void }, valid: number }[]} */
  let trainBatches = [];
  /** @type {{ batch: B & { destroy(): void }, valid: number }[]} */
  let testBatches = [];
  try {
    const order = permutation(data.train.count, rng(seed));
    // the last partial batch is dropped: every step sees a full batch of real digits
    trainBatches = uploadBatches(model, data.train, batch, order.subarray(0, steps * batch));
    // with labels, though forward needs none: gpu.js's forward refuses a resident batch without them
    testBatches = uploadBatches(model, data.test, batch, Int32Array.from({ length: data.test.count }, (_, i) => i));
    /** @type {EpochRecord[]} */
    const records = [];
    /** @type {number[]} every step's loss, over the epochs */
    const allLosses = [];
    const predictions = new Int32Array(data.test.count);
    for (let e = 1; e <= epochs; e++) {
      // cosine decay, one value per epoch, as examples/mnist/train.ts
      const lr = (lr0 * (1 + Math.cos((Math.PI * (e - 1)) / epochs))) / 2;
      const visit = permutation(steps, rng(seed * 1000 + e));
      /** @type {number[]} */
      const batchLosses = [];
      let sum = 0;
      const start = performance.now();
      await pipelined(
        steps,
        inflight,
        (s) => model.trainStep(trainBatches[visit[s]].batch, undefined, lr, { momentum, weightDecay }),
        (loss, s) => {
          if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${e}, step ${s + 1}, lower the learning rate`);
          batchLosses.push(loss);
          allLosses.push(loss);
          sum += loss;
          const seconds = (performance.now() - start) / 1000;
          report({ phase: 'train', epoch: e, epochs, step: s + 1, steps, samples: (s + 1) * batch, loss, meanLoss: sum / (s + 1), samplesPerSecond: ((s + 1) * batch) / Math.max(seconds, 1e-9), warning: divergence(allLosses, classes) });
        },
      );
      const seconds = (performance.now() - start) / 1000;
      report({ phase: 'testing', epoch: e, epochs });
      const testAccuracy = await evaluate(model, testBatches, data.test.labels, batch, inflight, predictions);
      const record = { epoch: e, lr, batchLosses, trainLoss: sum / steps, testAccuracy, seconds, samplesPerSecond: (steps * batch) / Math.max(seconds, 1e-9) };
      records.push(record);
      report({ phase: 'test', epoch: e, epochs, record, predictions: predictions.slice() });
    }
    return { epochs: records, testAccuracy: records.length ? records[records.length - 1].testAccuracy : await evaluate(model, testBatches, data.test.labels, batch, inflight, predictions) };
  } finally {
    for (const b of [...trainBatches, ...testBatches]) b.batch.destroy();
    model.destroy();
  }
}

/**
 * fraction of `labels` that the model's argmax gets right, over resident batches of `batch`
 * samples in order (the padding of the last one is ignored)
 * @template B
 * @param {GpuModelLike<B>} model
 * @param {{ batch: B, valid: number }[]} batches
 * @param {Int32Array} labels
 * @param {number} batch
 * @param {number} inflight
 * @param {Int32Array} predictions filled with the predicted class of each sample
 */
async function evaluate(model, batches, labels, batch, inflight, predictions) {
  let right = 0;
  // eval mode (batch norm's running stats, no dropout) for the test pass, then back to training
  model.eval?.();
  try {
    await pipelined(
      batches.length,
      inflight,
      (i) => model.forward(batches[i].batch),
      (logits, i) => {
        const classes = logits.length / batch;
        for (let n = 0; n < batches[i].valid; n++) {
          let best = 0;
          for (let c = 1; c < classes; c++) if (logits[n * classes + c] > logits[n * classes + best]) best = c;
          predictions[i * batch + n] = best;
          if (best === labels[i * batch + n]) right++;
        }
      },
    );
  } finally {
    model.train?.(true);
  }
  return right / labels.length;
}
