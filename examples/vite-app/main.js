// Trains the model in shapes.json, compiled by convgen's Vite plugin, on synthetic images of
// four shapes (a horizontal bar, a vertical bar and the two diagonals, at random places, with
// noise), and shows the loss of each SGD step. A test reads the final line's data- attributes.
import { createModel, plan } from './shapes.json?convgen';

const STEPS = 30;
const LR = 0.05;
const MOMENTUM = 0.9;
const SHAPES = ['horizontal bar', 'vertical bar', 'diagonal \\', 'diagonal /'];

const [batch, , height, width] = plan.inShape;
const classes = plan.outShape[1];

/** mulberry32: a small seeded generator, so every run sees the same images */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** one batch: images (NCHW) with a shape drawn on noise, and the shape's class per image */
function makeBatch(random) {
  const images = new Float32Array(batch * height * width);
  const labels = new Int32Array(batch);
  for (let n = 0; n < batch; n++) {
    const label = Math.floor(random() * classes);
    const img = images.subarray(n * height * width, (n + 1) * height * width);
    for (let i = 0; i < img.length; i++) img[i] = 0.2 * random();
    const at = 2 + Math.floor(random() * (height - 4));
    for (let i = 1; i < height - 1; i++) {
      const [y, x] = [[at, i], [i, at], [i, i], [i, width - 1 - i]][label];
      img[y * width + x] = 1;
    }
    labels[n] = label;
  }
  return { images, labels };
}

function drawChart(svg, losses) {
  const w = svg.width.baseVal.value;
  const h = svg.height.baseVal.value;
  const top = Math.max(...losses);
  const x = (i) => (40 + (i * (w - 60)) / (STEPS - 1)).toFixed(1);
  const y = (l) => (h - 24 - ((h - 40) * l) / top).toFixed(1);
  const pts = losses.map((l, i) => `${x(i)},${y(l)}`);
  svg.innerHTML = `
    <text x="4" y="${y(top)}" dy="4" font-size="11" fill="#555d6e">${top.toFixed(2)}</text>
    <text x="4" y="${y(0)}" dy="4" font-size="11" fill="#555d6e">0</text>
    <text x="${x(0)}" y="${h - 6}" font-size="11" fill="#555d6e">step 1</text>
    <text x="${x(STEPS - 1)}" y="${h - 6}" font-size="11" fill="#555d6e" text-anchor="end">step ${STEPS}</text>
    <text x="${w - 20}" y="16" font-size="12" fill="#1d2330" text-anchor="end">training loss</text>
    <line x1="36" y1="${y(0)}" x2="${w - 20}" y2="${y(0)}" stroke="#c5ccd8"/>
    <polyline fill="none" stroke="#2f6fdd" stroke-width="2" points="${pts.join(' ')}"/>`;
}

async function main() {
  const model = createModel({ seed: 1 });
  document.getElementById('model').textContent =
    `model "${plan.name}": ${plan.layers.length} layers, ${plan.totals.params} parameters, batch ${batch} of ${plan.inShape.slice(1).join('x')} → ${classes} classes (${SHAPES.join(', ')})`;
  const list = document.getElementById('losses');
  const chart = document.getElementById('chart');
  const result = document.getElementById('result');
  const random = rng(7);
  const losses = [];
  const t0 = performance.now();
  for (let step = 1; step <= STEPS; step++) {
    const { images, labels } = makeBatch(random);
    const loss = model.lossAndGrad(images, labels);
    model.sgdStep(LR, { momentum: MOMENTUM });
    losses.push(loss);
    const item = document.createElement('li');
    item.textContent = loss.toFixed(4);
    item.dataset.loss = String(loss);
    list.append(item);
    drawChart(chart, losses);
    // let the page paint between steps
    await new Promise((r) => setTimeout(r, 0));
  }
  const ms = performance.now() - t0;

  // accuracy on a batch it has not seen
  const test = makeBatch(rng(99));
  const logits = model.forward(test.images);
  let correct = 0;
  for (let n = 0; n < batch; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    if (row.indexOf(Math.max(...row)) === test.labels[n]) correct++;
  }

  Object.assign(result.dataset, {
    status: 'done',
    steps: String(STEPS),
    firstLoss: String(losses[0]),
    lastLoss: String(losses[losses.length - 1]),
    accuracy: String(correct / batch),
  });
  result.textContent = `${STEPS} steps in ${ms.toFixed(0)} ms: loss ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)}; ${correct}/${batch} of a new batch classified right`;
}

main().catch((err) => {
  const result = document.getElementById('result');
  result.dataset.status = 'failed';
  result.dataset.error = String(err?.stack ?? err);
  result.textContent = `failed: ${err}`;
});
