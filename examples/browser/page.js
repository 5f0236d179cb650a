// @ts-check
// index.html's DOM: load the manifest, the generated module and the digits, get a WebGPU
// device, and run app.js's train() when the button is pressed. All the logic is in app.js
// (checked in Node by test/browser-app.test.ts); this file only reads inputs and writes text.
//
// URL parameters, for a quick or scripted run: ?epochs=1&train=2000&test=500&autostart=1

import { firstDigits, loadDigits, requestGpuDevice, train } from './app.js';

/** @param {string} id */
const el = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const status = el('status');
const bar = /** @type {HTMLProgressElement} */ (el('bar'));
const button = /** @type {HTMLButtonElement} */ (el('start'));
const table = /** @type {HTMLTableSectionElement} */ (el('epochs-table'));
const params = new URLSearchParams(location.search);

/** @param {string} text @param {boolean} [error] */
function say(text, error = false) {
  status.textContent = text;
  status.className = error ? 'error' : '';
  // scripted runs (headless browsers) read the console
  (error ? console.error : console.log)(`[convgen] ${text}`);
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

async function main() {
  const build = new URL('build/', location.href);
  const res = await fetch(new URL('manifest.json', build));
  if (!res.ok) throw new Error(`build/manifest.json: HTTP ${res.status}; start this page with \`npm run browser\`, which writes it`);
  const manifest = await res.json();
  const [{ createGpuModel }, data, gpu] = await Promise.all([
    import(new URL(manifest.module, build).href),
    loadDigits(new URL(manifest.data, build)),
    requestGpuDevice(/** @type {any} */ (navigator).gpu, { secureContext: window.isSecureContext }),
  ]);
  const device = gpu.device;
  device.lost.then((/** @type {{ message: string }} */ info) => say(`the WebGPU device was lost: ${info.message}`, true));
  device.addEventListener('uncapturederror', (/** @type {any} */ e) => say(`WebGPU error: ${e.error.message}`, true));

  const trainSet = params.has('train') ? firstDigits(data.train, Number(params.get('train'))) : data.train;
  const testSet = params.has('test') ? firstDigits(data.test, Number(params.get('test'))) : data.test;
  say(`Ready: ${manifest.model} (batch ${manifest.batch}) on ${gpu.adapter}; ${trainSet.count} training and ${testSet.count} test digits.`);

  const run = async () => {
    button.disabled = true;
    table.replaceChildren();
    try {
      const epochs = epochsOf();
      const started = performance.now();
      const result = await train({
        device,
        createGpuModel,
        data: { train: trainSet, test: testSet },
        epochs,
        batch: manifest.batch,
        lr: lrOf(),
        momentum: momentumOf(),
        onProgress: (p) => {
          if (p.phase === 'train') {
            // a status line every few steps is plenty; the bar moves every step
            bar.value = (p.epoch - 1 + p.step / p.steps) / p.epochs;
            if (p.step % 10 === 0 || p.step === p.steps) {
              say(`epoch ${p.epoch}/${p.epochs}: step ${p.step}/${p.steps}, loss ${p.meanLoss.toFixed(4)}, ${Math.round(p.samplesPerSecond)} samples/s`);
            }
          } else {
            const r = p.record;
            const row = table.insertRow();
            for (const text of [`${r.epoch}/${p.epochs}`, r.lr.toFixed(4), r.trainLoss.toFixed(4), `${(100 * r.testAccuracy).toFixed(2)}%`, `${r.seconds.toFixed(1)} s`, String(Math.round(r.samplesPerSecond))]) {
              row.insertCell().textContent = text;
            }
            console.log(`[convgen] epoch ${r.epoch}/${p.epochs}: train loss ${r.trainLoss.toFixed(4)}, test accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ${Math.round(r.samplesPerSecond)} samples/s`);
          }
        },
      });
      const seconds = (performance.now() - started) / 1000;
      say(`Done: test accuracy ${(100 * result.testAccuracy).toFixed(2)}% on ${testSet.count} digits after ${epochs} epoch${epochs === 1 ? '' : 's'}, ${seconds.toFixed(1)} s.`);
    } catch (err) {
      say(err instanceof Error ? err.message : String(err), true);
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener('click', run);
  button.disabled = false;
  if (params.get('autostart') === '1') run();
}

main().catch((err) => say(err instanceof Error ? err.message : String(err), true));
