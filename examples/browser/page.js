// @ts-check
// The browser example's page: wires index.html to app.js (training, no DOM) and chart.js (the
// curve as SVG markup). It reads the inputs, writes the phase line, the warning, the curve, the
// digit grid and the epoch table. test/browser-page.test.ts runs it in headless Chromium.
//
// URL parameters, for a quick or scripted run:
//   ?model=lenet5&epochs=1&lr=0.05&train=2000&test=500&grid=48&backend=wasm&threads=2&autostart=1
// (backend: auto, webgpu, wasm or cpu (the TypeScript kernels; ts too); threads: the WebAssembly
// threads, 1 to 64, where the page is cross-origin isolated)

import { chooseBackend, cpuModel, firstDigits, loadDigits, requestGpuDevice, train, wasmFeatures, wasmThreads } from './app.js';
import { curveSvg } from './chart.js';

/** @param {string} id */
const el = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const phase = el('phase');
const backendLine = el('backend');
const warning = el('warning');
const bar = /** @type {HTMLProgressElement} */ (el('bar'));
const button = /** @type {HTMLButtonElement} */ (el('start'));
const modelSelect = /** @type {HTMLSelectElement} */ (el('model'));
const backendSelect = /** @type {HTMLSelectElement} */ (el('backend-choice'));
const table = /** @type {HTMLTableSectionElement} */ (el('epochs-table'));
const curve = el('curve');
const grid = el('digits');
const gridSummary = el('digits-summary');
const params = new URLSearchParams(location.search);

/**
 * one model of manifest.json (written by data.ts)
 * @typedef {{ name: string, title: string, batch: number, classes: number, gpu: string, cpu: string, wasm: string }} ModelEntry
 */

/**
 * the phase line: what the page is doing now (loading, ready, compiling, training, testing, done, error)
 * @param {string} name data-phase, for scripted runs
 * @param {string} text
 */
function setPhase(name, text) {
  phase.textContent = text;
  phase.dataset.phase = name;
  phase.className = name === 'error' ? 'error' : '';
  // scripted runs (headless browsers) read the console
  (name === 'error' ? console.error : console.log)(`[convgen] ${text}`);
}

/** @param {string} text '' hides it */
function setWarning(text) {
  if (warning.textContent === text) return;
  warning.textContent = text;
  warning.hidden = !text;
  if (text) console.warn(`[convgen] ${text}`);
}

/** @param {string} id */
function numberInput(id) {
  const input = /** @type {HTMLInputElement} */ (el(id));
  const fromUrl = params.get(id);
  if (fromUrl !== null) input.value = fromUrl;
  return () => {
    const v = Number(input.value);
    if (!Number.isFinite(v) || v < Number(input.min) || v > Number(input.max)) throw new Error(`${id} must be a number in [${input.min}, ${input.max}]`);
    return v;
  };
}
const epochsOf = numberInput('epochs');
const lrOf = numberInput('lr');
const momentumOf = numberInput('momentum');

/**
 * the digit grid: one figure per digit, its pixels drawn on a 28x28 canvas (scaled by CSS)
 * @param {import('./app.js').Digits} digits
 * @param {number} size pixels per side
 * @returns {HTMLElement[]} the captions, in order
 */
function drawDigits(digits, size) {
  const pixels = size * size;
  /** @type {HTMLElement[]} */
  const captions = [];
  const figures = [];
  for (let i = 0; i < digits.count; i++) {
    const figure = document.createElement('figure');
    figure.className = 'pending';
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    const image = ctx.createImageData(size, size);
    for (let p = 0; p < pixels; p++) {
      // ink dark on white
      const v = 255 - Math.round(255 * digits.images[i * pixels + p]);
      image.data.set([v, v, v, 255], 4 * p);
    }
    ctx.putImageData(image, 0, 0);
    canvas.setAttribute('aria-label', `test digit ${i + 1}`);
    const caption = document.createElement('figcaption');
    caption.textContent = '?';
    figure.append(canvas, caption);
    figures.push(figure);
    captions.push(caption);
  }
  grid.replaceChildren(...figures);
  return captions;
}

/**
 * @param {HTMLElement[]} captions
 * @param {Int32Array} predictions
 * @param {Int32Array} labels
 */
function showPredictions(captions, predictions, labels) {
  let wrong = 0;
  captions.forEach((caption, i) => {
    const ok = predictions[i] === labels[i];
    if (!ok) wrong++;
    caption.textContent = ok ? String(predictions[i]) : `${predictions[i]} ✗${labels[i]}`;
    caption.title = ok ? `predicted ${predictions[i]}, right` : `predicted ${predictions[i]}, the digit is ${labels[i]}`;
    const figure = /** @type {HTMLElement} */ (caption.parentElement);
    figure.className = ok ? 'right' : 'wrong';
    figure.dataset.predicted = String(predictions[i]);
    figure.dataset.label = String(labels[i]);
  });
  gridSummary.textContent = `${captions.length - wrong} of these ${captions.length} right, ${wrong} wrong (red: the prediction, then ✗ and the true label).`;
}

async function main() {
  const build = new URL('build/', location.href);
  const res = await fetch(new URL('manifest.json', build));
  if (!res.ok) throw new Error(`build/manifest.json: HTTP ${res.status}; start this page with \`npm run browser\`, which writes it`);
  /** @type {{ data: string, models: ModelEntry[] }} */
  const manifest = await res.json();
  for (const m of manifest.models) modelSelect.add(new Option(m.title, m.name));
  const wanted = params.get('model');
  if (wanted && manifest.models.some((m) => m.name === wanted)) modelSelect.value = wanted;

  // the backend: the choice (the URL's `backend`; ts is cpu), auto = WebGPU where there is an
  // adapter, else WebAssembly (SIMD), else the TypeScript kernels; the page says which and why
  const fromUrl = params.get('backend') === 'ts' ? 'cpu' : params.get('backend');
  if (fromUrl && Array.from(backendSelect.options).some((o) => o.value === fromUrl)) backendSelect.value = fromUrl;
  /** @type {Promise<{ device: any, adapter: string } | string> | null} the device, or why there is none; asked once */
  let gpuAsked = null;
  const gpuOrWhy = () => {
    gpuAsked ??= requestGpuDevice(/** @type {any} */ (navigator).gpu, { secureContext: window.isSecureContext }).then((gpu) => {
      gpu.device.lost.then((/** @type {{ message: string }} */ info) => setPhase('error', `the WebGPU device was lost: ${info.message}`));
      gpu.device.addEventListener('uncapturederror', (/** @type {any} */ e) => setPhase('error', `WebGPU error: ${e.error.message}`));
      return gpu;
    }, (/** @type {Error} */ err) => err.message);
    return gpuAsked;
  };
  const features = wasmFeatures(globalThis.WebAssembly);
  const wasmWhyNot = features.simd ? null : features.wasm ? 'this browser\'s WebAssembly has no SIMD (Chrome 91+, Firefox 89+, Safari 16.4+ have it).' : 'this browser has no WebAssembly.';
  const threadsWanted = params.has('threads') ? Number(params.get('threads')) : null;
  /**
   * the chosen backend, set up: the WebGPU device, or the WebAssembly threads; and the backend line's text
   * @param {ModelEntry} entry
   */
  const resolveBackend = async (entry) => {
    const wanted = /** @type {'auto' | 'webgpu' | 'wasm' | 'cpu'} */ (backendSelect.value);
    const gpuResult = wanted === 'auto' || wanted === 'webgpu' ? await gpuOrWhy() : 'not asked.';
    const gpu = typeof gpuResult === 'string' ? null : gpuResult;
    const { backend, why } = chooseBackend(wanted, { gpu: gpu ? null : /** @type {string} */ (gpuResult), wasm: wasmWhyNot });
    const passedOver = why ? ` ${why}` : '';
    if (backend === 'webgpu' && gpu) return { backend, gpu, threads: 0, text: `Training on WebGPU: ${gpu.adapter}.` };
    if (backend === 'cpu') {
      const text = why ? `No WebGPU and no WebAssembly SIMD here, so this page trains on the CPU with the generated TypeScript kernels (index.js), slower.${passedOver}` : 'This page trains on the CPU with the generated TypeScript kernels (index.js), as chosen.';
      return { backend, gpu: null, threads: 0, text };
    }
    const t = wasmThreads({ crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency, requested: threadsWanted });
    // a build with relaxed SIMD says so in its runtime (RELAXED_SIMD: whether it validates here)
    const runtime = await import(new URL('wasm/runtime.js', new URL(entry.wasm, build)).href);
    const relaxed = 'RELAXED_SIMD' in runtime
      ? runtime.RELAXED_SIMD ? 'relaxed SIMD (f32x4.relaxed_madd)' : 'no relaxed SIMD (this browser lacks it)'
      : `no relaxed SIMD (this build has none${features.relaxedSimd ? '; the browser has it' : ''})`;
    const text = `Training on WebAssembly on the CPU (wasm.js): SIMD (f32x4), ${relaxed}; ${t.why}.${passedOver}`;
    return { backend, gpu: null, threads: t.threads, text };
  };
  /** @param {ModelEntry} entry */
  const showBackend = async (entry) => {
    const b = await resolveBackend(entry);
    backendLine.textContent = b.text;
    backendLine.dataset.backend = b.backend;
    backendLine.dataset.threads = String(b.threads);
    backendLine.dataset.isolated = String(self.crossOriginIsolated);
    delete backendLine.dataset.chunks;
    return b;
  };
  const currentEntry = () => /** @type {ModelEntry} */ (manifest.models.find((m) => m.name === modelSelect.value));
  const showChoice = () => showBackend(currentEntry()).catch((/** @type {Error} */ err) => {
    backendLine.textContent = err.message;
    backendLine.dataset.backend = 'none';
  });
  backendSelect.addEventListener('change', showChoice);
  const [data] = await Promise.all([loadDigits(new URL(manifest.data, build)), showChoice()]);

  const trainSet = params.has('train') ? firstDigits(data.train, Number(params.get('train'))) : data.train;
  const testSet = params.has('test') ? firstDigits(data.test, Number(params.get('test'))) : data.test;
  const shown = firstDigits(testSet, params.has('grid') ? Number(params.get('grid')) : 48);
  const captions = drawDigits(shown, data.header.imageSize);
  setPhase('ready', `Ready: ${trainSet.count} training and ${testSet.count} test digits. Press Start training.`);

  const run = async () => {
    // everything from the last run goes at once, before anything slow; the backend line
    // describes this run until it ends
    button.disabled = true;
    backendSelect.disabled = true;
    setPhase('compiling', 'Starting…');
    setWarning('');
    table.replaceChildren();
    bar.value = 0;
    curve.replaceChildren();
    for (const c of captions) {
      c.textContent = '?';
      /** @type {HTMLElement} */ (c.parentElement).className = 'pending';
    }
    const entry = currentEntry();
    try {
      const epochs = epochsOf();
      const { backend, gpu, threads } = await showBackend(entry);
      const lr = lrOf();
      const momentum = momentumOf();
      const steps = Math.floor(trainSet.count / entry.batch);
      /** @type {number[]} */
      const losses = [];
      /** @type {{ epoch: number, accuracy: number }[]} */
      const accuracies = [];
      let note = '';
      // the curve is redrawn at most once a frame
      let queued = false;
      const redraw = () => {
        if (queued) return;
        queued = true;
        requestAnimationFrame(() => {
          queued = false;
          // drawn at the box's own width, so the text stays readable on a phone
          const width = Math.max(300, Math.round(curve.clientWidth || 640));
          const height = Math.round(Math.min(300, Math.max(200, width * 0.5)));
          curve.innerHTML = curveSvg({ losses, totalSteps: epochs * steps, stepsPerEpoch: steps, accuracies, note, width, height });
        });
      };
      const what = { webgpu: 'WGSL shaders and pipelines', wasm: `WebAssembly modules, ${threads} thread${threads === 1 ? '' : 's'}`, cpu: 'TypeScript CPU kernels' }[backend];
      setPhase('compiling', `Compiling ${entry.title}: ${what}…`);
      const module = await import(new URL({ webgpu: entry.gpu, wasm: entry.wasm, cpu: entry.cpu }[backend], build).href);
      /** @type {{ chunksRun(): number[] | undefined } | null} */
      let cpu = null;
      const createGpuModel = gpu
        ? module.createGpuModel
        : async (/** @type {unknown} */ device, /** @type {{ seed?: number }} */ options) => {
            const make = backend === 'wasm' ? (/** @type {{ seed?: number }} */ o) => module.createWasmModelAsync({ ...o, threads }) : module.createModel;
            const m = await cpuModel(make)(device, options);
            cpu = m;
            return m;
          };
      const started = performance.now();
      const result = await train({
        device: gpu?.device,
        createGpuModel,
        data: { train: trainSet, test: testSet },
        epochs,
        batch: entry.batch,
        classes: entry.classes,
        lr,
        momentum,
        onProgress: (p) => {
          if (p.phase === 'train') {
            losses.push(p.loss);
            bar.value = (p.epoch - 1 + p.step / p.steps) / p.epochs;
            setWarning(p.warning);
            // a phase line every few steps is plenty; the bar moves every step
            if (p.step % 5 === 0 || p.step === p.steps || p.step === 1) {
              setPhase('training', `Training: epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${p.meanLoss.toFixed(4)}, ${Math.round(p.samplesPerSecond)} samples/s`);
              redraw();
            }
          } else if (p.phase === 'testing') {
            setPhase('testing', `Testing: epoch ${p.epoch}/${p.epochs} on ${testSet.count} test digits…`);
          } else if (p.phase === 'test') {
            const r = p.record;
            accuracies.push({ epoch: r.epoch, accuracy: r.testAccuracy });
            showPredictions(captions, p.predictions, shown.labels);
            redraw();
            const row = table.insertRow();
            for (const text of [`${r.epoch}/${p.epochs}`, r.lr.toFixed(4), r.trainLoss.toFixed(4), `${(100 * r.testAccuracy).toFixed(2)}%`, `${r.seconds.toFixed(1)} s`, String(Math.round(r.samplesPerSecond))]) {
              row.insertCell().textContent = text;
            }
            console.log(`[convgen] epoch ${r.epoch}/${p.epochs}: train loss ${r.trainLoss.toFixed(4)}, test accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ${Math.round(r.samplesPerSecond)} samples/s`);
          }
        },
      });
      const seconds = (performance.now() - started) / 1000;
      const accuracy = `${(100 * result.testAccuracy).toFixed(2)}%`;
      note = `test accuracy ${accuracy}`;
      redraw();
      phase.dataset.accuracy = String(result.testAccuracy);
      // the chunks each thread ran: the workers' share shows the threads worked
      const chunks = /** @type {{ chunksRun(): number[] | undefined } | null} */ (cpu)?.chunksRun();
      if (chunks && chunks.length > 1) {
        backendLine.dataset.chunks = chunks.join(',');
        backendLine.append(` Kernel chunks run: ${chunks.map((n, i) => `${n} by ${i ? `worker ${i}` : 'the page'}`).join(', ')}.`);
      }
      const where = { webgpu: 'WebGPU', wasm: `WebAssembly, ${threads} thread${threads === 1 ? '' : 's'}`, cpu: 'TypeScript on the CPU' }[backend];
      setPhase('done', `Done: test accuracy ${accuracy} on ${testSet.count} digits after ${epochs} epoch${epochs === 1 ? '' : 's'}, ${seconds.toFixed(1)} s (${where}).`);
    } catch (err) {
      setPhase('error', err instanceof Error ? err.message : String(err));
    } finally {
      button.disabled = false;
      backendSelect.disabled = false;
    }
  };
  button.addEventListener('click', run);
  button.disabled = false;
  if (params.get('autostart') === '1') run();
}

main().catch((err) => setPhase('error', err instanceof Error ? err.message : String(err)));
