// @ts-check
// The browser example's training curve as inline SVG markup, with no DOM and no chart library:
// the loss of every step on a log axis (bucket means, so a long run stays a few hundred points)
// and each epoch's test accuracy on a 0-100% axis. page.js puts the string into the page; the
// test reads it in Node too.

/**
 * round ticks for a log axis over [lo, hi]: the 1-2-5 values of each decade inside it, widened to
 * the nearest such values outside so the data never touches the frame; only 1 x 10^k when the
 * range spans more than two decades
 * @param {number} lo > 0
 * @param {number} hi >= lo
 * @returns {{ ticks: number[], lo: number, hi: number }} lo and hi: the axis' ends (first and last tick)
 */
export function logTicks(lo, hi) {
  if (!(lo > 0) || !(hi >= lo)) throw new RangeError(`logTicks: expected 0 < lo <= hi, got ${lo}, ${hi}`);
  const mantissas = Math.log10(hi / lo) > 2 ? [1] : [1, 2, 5];
  /** @type {number[]} */
  const all = [];
  for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)) + 1; k++) {
    // via toPrecision: 2e-1 is 0.2, not 0.20000000000000004
    for (const m of mantissas) all.push(Number((m * 10 ** k).toPrecision(1)));
  }
  const below = all.filter((t) => t <= lo * (1 + 1e-9));
  const above = all.filter((t) => t >= hi * (1 - 1e-9));
  const start = below[below.length - 1];
  const end = above.find((t) => t > start) ?? above[0];
  return { ticks: all.filter((t) => t >= start && t <= end), lo: start, hi: end };
}

/** a number as a tick label: 0.05, 0.5, 2, 10 */
function label(/** @type {number} */ v) {
  return String(Number(v.toPrecision(3)));
}

/**
 * @typedef {object} Curve
 * @property {readonly number[]} losses every training step's loss so far (non-finite ones are left out)
 * @property {number} totalSteps steps of the whole run (the x axis' end)
 * @property {number} stepsPerEpoch
 * @property {readonly { epoch: number, accuracy: number }[]} accuracies test accuracy (fraction) after each epoch so far
 * @property {string} [note] written above the plot, centred (the final accuracy when done)
 * @property {number} [width] default 640
 * @property {number} [height] default 260
 * @property {number} [maxPoints] loss points at most (bucket means); default 300
 */

/**
 * the curve as an <svg> element's markup: a viewBox of width x height that scales to its box
 * (width: 100% in the page); classes "loss" (a polyline), "acc" (circles, one per epoch),
 * "grid", "tick", "note"; data-points on the polyline says how many points it has
 * @param {Curve} c
 * @returns {string}
 */
export function curveSvg(c) {
  const W = c.width ?? 640;
  const H = c.height ?? 260;
  const maxPoints = c.maxPoints ?? 300;
  // the top margin holds two lines: the axis titles, then the note
  const m = { left: 46, right: 44, top: 42, bottom: 34 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const steps = Math.max(1, c.totalSteps);
  const x = (/** @type {number} */ step) => m.left + (pw * step) / steps;

  // bucket means of the finite losses, at each bucket's last step
  const per = Math.max(1, Math.ceil(c.losses.length / maxPoints));
  /** @type {[number, number][]} */
  const points = [];
  for (let at = 0; at < c.losses.length; at += per) {
    const chunk = c.losses.slice(at, at + per).filter((l) => Number.isFinite(l) && l > 0);
    if (chunk.length) points.push([at + Math.min(per, c.losses.length - at), chunk.reduce((s, v) => s + v, 0) / chunk.length]);
  }
  const values = points.map((p) => p[1]);
  const axis = logTicks(values.length ? Math.min(...values) : 0.1, values.length ? Math.max(...values) : 3);
  const ly = (/** @type {number} */ v) => m.top + ph * (1 - Math.log(v / axis.lo) / Math.log(axis.hi / axis.lo));
  const ay = (/** @type {number} */ a) => m.top + ph * (1 - a);
  const f = (/** @type {number} */ v) => v.toFixed(1);

  const out = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="training loss and test accuracy">`];
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
  // loss axis (left, log)
  for (const t of axis.ticks) {
    out.push(`<line class="grid" x1="${m.left}" x2="${m.left + pw}" y1="${f(ly(t))}" y2="${f(ly(t))}" stroke="#eee"/>`);
    out.push(`<text class="tick" x="${m.left - 5}" y="${f(ly(t) + 4)}" text-anchor="end" font-size="11" fill="#1f5fbf">${label(t)}</text>`);
  }
  // accuracy axis (right, linear)
  for (const a of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<text class="tick" x="${m.left + pw + 5}" y="${f(ay(a) + 4)}" font-size="11" fill="#c0392b">${a * 100}%</text>`);
  }
  // step axis: epoch boundaries
  const epochs = Math.max(1, Math.round(steps / Math.max(1, c.stepsPerEpoch)));
  const every = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 0; e <= epochs; e += every) {
    const sx = f(x(Math.min(steps, e * c.stepsPerEpoch)));
    if (e > 0 && e < epochs) out.push(`<line class="grid" x1="${sx}" x2="${sx}" y1="${m.top}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text class="tick" x="${sx}" y="${m.top + ph + 14}" text-anchor="middle" font-size="11" fill="#555">${e}</text>`);
  }
  out.push(`<text x="${m.left + pw / 2}" y="${H - 4}" text-anchor="middle" font-size="11" fill="#555">epoch (${c.stepsPerEpoch} steps each)</text>`);
  out.push(`<text x="${m.left}" y="14" font-size="12" fill="#1f5fbf">train loss (log)</text>`);
  out.push(`<text x="${m.left + pw}" y="14" text-anchor="end" font-size="12" fill="#c0392b">test accuracy</text>`);
  if (points.length) {
    out.push(`<polyline class="loss" data-points="${points.length}" fill="none" stroke="#1f5fbf" stroke-width="1.5" points="${points.map(([s, v]) => `${f(x(s))},${f(ly(v))}`).join(' ')}"/>`);
  }
  if (c.accuracies.length > 1) {
    out.push(`<polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="${c.accuracies.map((a) => `${f(x(a.epoch * c.stepsPerEpoch))},${f(ay(a.accuracy))}`).join(' ')}"/>`);
  }
  for (const a of c.accuracies) {
    const cx = f(x(a.epoch * c.stepsPerEpoch));
    out.push(`<circle class="acc" cx="${cx}" cy="${f(ay(a.accuracy))}" r="3.5" fill="#c0392b"><title>epoch ${a.epoch}: ${(100 * a.accuracy).toFixed(2)}%</title></circle>`);
  }
  if (c.note) out.push(`<text class="note" x="${m.left + pw / 2}" y="${m.top - 10}" text-anchor="middle" font-size="13" font-weight="600" fill="#222">${escapeXml(c.note)}</text>`);
  out.push('</svg>');
  return out.join('');
}

/** @param {string} s */
function escapeXml(s) {
  return s.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch] ?? ch);
}
