// max / average pools, local and global (the planner gives a global pool one window the
// size of the input, stride = window, no padding).
//
// forward: one output per (nc, oh, ow); small windows are unrolled at generation time and a
// tap gets a bounds check only when some output row/column can put it in the padding.
// max pool keeps, per output, the flat input index of the FIRST maximum in row-major window
// order (PyTorch's tie-break) in an i32 scratch that survives until backward.
//
// backward is a gather, so every dx element is written exactly once (no zeroing, no
// scatter races on a GPU): input row ih is seen by the windows oh with
// oh*s - p <= ih < oh*s - p + k, i.e. at most ceil(k/s) of them counting down from
// floor((ih + p) / s). Which of those candidate checks can fail is decided by enumerating
// every input row and column at generation time (exact, and cheap: sizes are small).

import type { PoolLayerPlan, PoolGeometry } from '../plan/types.ts';
import type { Expr, Stmt } from '../ir/types.ts';
import type { KernelCall, LayerProgram } from './types.ts';
import {
  accum, add, and, assign, buf, div, eq, f32, ge, i32, idiv, if_, kernel, le, let_, load, lt, max, min, mul, or, gt, parallel, store, sub, tof32, v, var_,
  type E,
} from '../ir/build.ts';
import { shapeTag } from './names.ts';
import { isConst } from '../ir/fold.ts';

/** windows up to this many taps are unrolled; larger ones (global pools) stay loops */
const UNROLL_TAPS = 25;

/** a parallel loop, or just the body at index 0 when the extent is 1 (1D pools have H = 1) */
function par(name: string, n: number, body: (iv: Expr) => readonly Stmt[]): Stmt[] {
  return n === 1 ? [...body(i32(0))] : [parallel(name, 0, n, body)];
}

function poolName(layer: PoolLayerPlan): string {
  const g = layer.geometry;
  const tag = shapeTag(layer.inShape);
  if (layer.type === 'global_maxpool' || layer.type === 'global_avgpool') return `${layer.type}_${tag}`;
  const oneD = layer.type === 'maxpool1d' || layer.type === 'avgpool1d';
  const avg = layer.type === 'avgpool1d' || layer.type === 'avgpool2d';
  const k = oneD ? `${g.kW}` : `${g.kH}x${g.kW}`;
  const s = oneD ? `${g.strideW}` : g.strideH === g.strideW ? `${g.strideH}` : `${g.strideH}x${g.strideW}`;
  const p = oneD ? `${g.padW}` : g.padH === g.padW ? `${g.padH}` : `${g.padH}x${g.padW}`;
  const base = `${avg ? 'avgpool' : 'maxpool'}${oneD ? '1d_k' : ''}`;
  return `${base}${k}_s${s}${p === '0' ? '' : `_p${p}`}${avg && !layer.countIncludePad ? '_nopadcount' : ''}_${tag}`;
}

const isMaxPool = (layer: PoolLayerPlan): boolean => layer.type === 'maxpool1d' || layer.type === 'maxpool2d' || layer.type === 'global_maxpool';

/** an inclusive range of output rows (or columns) that one copy of the code serves */
interface Span {
  lo: number;
  hi: number;
}

/** the static range of `o*s - p + t` over the outputs o of a span */
function tapRange(span: Span, s: number, p: number, t: number): [number, number] {
  return [span.lo * s - p + t, span.hi * s - p + t];
}

/**
 * the outputs whose whole window lies inside the input: there no tap needs a check.
 * null when there are none
 */
function interiorSpan(inN: number, outN: number, k: number, s: number, p: number): Span | null {
  const lo = Math.ceil(p / s);
  const hi = Math.min(outN - 1, Math.floor((inN - k + p) / s));
  return lo <= hi ? { lo, hi } : null;
}

interface Tap {
  kh: number;
  kw: number;
  /** bounds conditions this tap needs (none in the interior) */
  cond: Expr;
}

/**
 * the window's taps with their bounds checks, for an output at (h0, w0) = (oh*s - p, ow*s - p);
 * null when the window is too large to unroll (then `loopTaps` runs it)
 */
function unrolledTaps(g: PoolGeometry, h0: Expr, w0: Expr, sh: Span, sw: Span): Tap[] | null {
  if (g.kH * g.kW > UNROLL_TAPS) return null;
  const taps: Tap[] = [];
  for (let kh = 0; kh < g.kH; kh++) {
    const [hLo, hHi] = tapRange(sh, g.strideH, g.padH, kh);
    for (let kw = 0; kw < g.kW; kw++) {
      const [wLo, wHi] = tapRange(sw, g.strideW, g.padW, kw);
      const checks: E[] = [];
      if (hLo < 0) checks.push(ge(add(h0, kh), 0));
      if (hHi >= g.inH) checks.push(lt(add(h0, kh), g.inH));
      if (wLo < 0) checks.push(ge(add(w0, kw), 0));
      if (wHi >= g.inW) checks.push(lt(add(w0, kw), g.inW));
      taps.push({ kh, kw, cond: and(...checks) });
    }
  }
  return taps;
}

/** the window count of an average: rows * cols, clamped only where some window needs it */
function avgDivisor(g: PoolGeometry, countIncludePad: boolean, h0: Expr, w0: Expr, sh: Span, sw: Span): Expr {
  const extent = (start: Expr, k: number, span: Span, s: number, p: number, inN: number): Expr => {
    const lo = span.lo * s - p;
    const hi = span.hi * s - p;
    const limit = countIncludePad ? inN + p : inN;
    const clampEnd = hi + k > limit;
    const clampBegin = !countIncludePad && lo < 0;
    // the interior: a full window
    if (!clampEnd && !clampBegin) return i32(k);
    const end = clampEnd ? min(add(start, k), limit) : add(start, k);
    const begin = clampBegin ? max(start, 0) : start;
    return sub(end, begin);
  };
  const rows = extent(h0, g.kH, sh, g.strideH, g.padH, g.inH);
  const cols = extent(w0, g.kW, sw, g.strideW, g.padW, g.inW);
  return tof32(mul(rows, cols));
}

/** one output of a max or average pool, with the checks that outputs in (sh, sw) need */
function forwardWindow(layer: PoolLayerPlan, isMax: boolean, nc: Expr, oh: Expr, ow: Expr, sh: Span, sw: Span): Stmt[] {
  const g = layer.geometry;
  const stmts: Stmt[] = [];
  // h0 / w0 stay expressions, so index math folds into `base + literal`
  const H0 = sub(mul(oh, g.strideH), g.padH);
  const W0 = sub(mul(ow, g.strideW), g.padW);
  // flat index of the window's top-left tap (it may lie in the padding)
  stmts.push(let_('base', add(mul(nc, g.inH * g.inW), add(mul(H0, g.inW), W0))));
  const at = (kh: E, kw: E): Expr => add(v('base'), add(mul(kh, g.inW), kw));
  const o = add(mul(nc, g.outH * g.outW), add(mul(oh, g.outW), ow));
  const taps = unrolledTaps(g, H0, W0, sh, sw);
  if (isMax) {
    // a first tap that is always real seeds the running maximum
    const seeded = taps !== null && isConst(taps[0].cond, 1);
    stmts.push(var_('best', seeded ? load('x', at(0, 0)) : f32(0)), var_('arg', seeded ? at(0, 0) : i32(-1), 'i32'));
    const visit = (idx: Expr, cond: Expr, first: boolean): Stmt[] => {
      if (first) return [];
      // strictly greater: a later equal value never takes over (ties go to the first)
      const better = seeded ? gt(load('x', idx), v('best')) : or(lt(v('arg'), 0), gt(load('x', idx), v('best')));
      return [if_(and(cond, better), [assign('best', load('x', idx)), assign('arg', idx)])];
    };
    if (taps) taps.forEach((t, i) => stmts.push(...visit(at(t.kh, t.kw), t.cond, seeded && i === 0)));
    else stmts.push(loopTaps(g, H0, W0, sh, sw, (kh, kw, cond) => visit(at(kh, kw), cond, false)));
    stmts.push(store('y', o, v('best')), store('argmax', o, v('arg')));
  } else {
    stmts.push(var_('acc', f32(0)));
    if (taps) for (const t of taps) stmts.push(if_(t.cond, [accum('acc', load('x', at(t.kh, t.kw)))]));
    else stmts.push(loopTaps(g, H0, W0, sh, sw, (kh, kw, cond) => [if_(cond, [accum('acc', load('x', at(kh, kw)))])]));
    stmts.push(store('y', o, div(v('acc'), avgDivisor(g, layer.countIncludePad, H0, W0, sh, sw))));
  }
  return stmts;
}

/** forward of a max or average pool */
function poolForward(layer: PoolLayerPlan, name: string): KernelCall {
  const g = layer.geometry;
  const isMax = isMaxPool(layer);
  const NC = g.batch * g.channels;
  const nIn = NC * g.inH * g.inW;
  const nOut = NC * g.outH * g.outW;
  const body = par('nc', NC, (nc) =>
    par('oh', g.outH, (oh) =>
      par('ow', g.outW, (ow) => {
        const window = (sh: Span, sw: Span): Stmt[] => forwardWindow(layer, isMax, nc, oh, ow, sh, sw);
        const full = window({ lo: 0, hi: g.outH - 1 }, { lo: 0, hi: g.outW - 1 });
        const ih = interiorSpan(g.inH, g.outH, g.kH, g.strideH, g.padH);
        const iw = interiorSpan(g.inW, g.outW, g.kW, g.strideW, g.padW);
        if (!ih || !iw) return full;
        const cond: E[] = [];
        if (ih.lo > 0) cond.push(ge(oh, ih.lo));
        if (ih.hi < g.outH - 1) cond.push(le(oh, ih.hi));
        if (iw.lo > 0) cond.push(ge(ow, iw.lo));
        if (iw.hi < g.outW - 1) cond.push(le(ow, iw.hi));
        if (cond.length === 0) return full;
        // windows wholly inside the input run a copy with no checks at all
        return [if_(and(...cond), window(ih, iw), full)];
      }),
    ),
  );
  const buffers = [buf('x', nIn, 'read'), buf('y', nOut, 'write')];
  if (isMax) buffers.push(buf('argmax', nOut, 'write', 'i32'));
  const k = kernel({
    name: `${name}_fwd`,
    doc: [
      `${layer.type} [${layer.inShape.join(', ')}] -> [${layer.outShape.join(', ')}] k=${g.kH}x${g.kW} s=${g.strideH}x${g.strideW} p=${g.padH}x${g.padW}`,
      isMax ? 'argmax keeps the flat input index of the first maximum (row-major window order)' : `divisor: ${layer.countIncludePad ? 'the whole window, padding included' : 'real input cells only'}`,
    ],
    buffers,
    body,
  });
  return { kernel: k, args: isMax ? { x: 'x', y: 'y', argmax: 'argmax' } : { x: 'x', y: 'y' } };
}

/** a large window as two loops with the checks the whole range needs */
function loopTaps(g: PoolGeometry, h0: Expr, w0: Expr, sh: Span, sw: Span, visit: (kh: Expr, kw: Expr, cond: Expr) => Stmt[]): Stmt {
  const hLo = sh.lo * g.strideH - g.padH;
  const hHi = sh.hi * g.strideH - g.padH + g.kH - 1;
  const wLo = sw.lo * g.strideW - g.padW;
  const wHi = sw.hi * g.strideW - g.padW + g.kW - 1;
  return {
    k: 'for', v: 'kh', from: i32(0), to: i32(g.kH), step: 1, parallel: false, unroll: false,
    body: [{
      k: 'for', v: 'kw', from: i32(0), to: i32(g.kW), step: 1, parallel: false, unroll: false,
      body: (() => {
        const kh: Expr = v('kh');
        const kw: Expr = v('kw');
        const checks: E[] = [];
        if (hLo < 0) checks.push(ge(add(h0, kh), 0));
        if (hHi >= g.inH) checks.push(lt(add(h0, kh), g.inH));
        if (wLo < 0) checks.push(ge(add(w0, kw), 0));
        if (wHi >= g.inW) checks.push(lt(add(w0, kw), g.inW));
        return visit(kh, kw, and(...checks));
      })(),
    }],
  };
}

/**
 * the candidate windows of one input coordinate, for the gather: window q - (T-1) + t for
 * t = 0..T-1 (ascending, so sums run in the reference's order), where q = floor((i + p) / s).
 * Each entry says which checks can fail for some input coordinate (found by enumeration).
 */
interface Candidates {
  T: number;
  /** q when it is the same for every input coordinate served (global pools, H = 1), else null */
  constQ: number | null;
  needLo: boolean[];
  needHi: boolean[];
  /** the window really covers the input (fails only when stride > kernel leaves gaps) */
  needK: boolean[];
  /** the windows that can contribute, for the average divisor's clamps */
  windows: Span;
}

/** the candidates' checks over the given input coordinates */
function candidates(coords: readonly number[], outN: number, k: number, s: number, p: number): Candidates {
  const T = Math.ceil(k / s);
  const qs = new Set<number>();
  const needLo = new Array<boolean>(T).fill(false);
  const needHi = new Array<boolean>(T).fill(false);
  const needK = new Array<boolean>(T).fill(false);
  const windows = { lo: outN - 1, hi: 0 };
  for (const i of coords) {
    const q = Math.floor((i + p) / s);
    qs.add(q);
    for (let t = 0; t < T; t++) {
      const o = q - (T - 1) + t;
      if (o < 0) needLo[t] = true;
      if (o >= outN) needHi[t] = true;
      if (i + p - o * s >= k) needK[t] = true;
      if (o >= 0 && o < outN && i + p - o * s < k) {
        windows.lo = Math.min(windows.lo, o);
        windows.hi = Math.max(windows.hi, o);
      }
    }
  }
  return { T, constQ: qs.size === 1 ? [...qs][0] : null, needLo, needHi, needK, windows };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * the input coordinates whose every candidate window exists (no range check): a contiguous
 * run in the middle, or null when that is all of them or none
 */
function interiorCoords(inN: number, outN: number, k: number, s: number, p: number): Span | null {
  const T = Math.ceil(k / s);
  const clean = range(inN).filter((i) => {
    const q = Math.floor((i + p) / s);
    return q - (T - 1) >= 0 && q < outN;
  });
  if (clean.length === 0 || clean.length === inN) return null;
  const lo = clean[0];
  const hi = clean[clean.length - 1];
  return hi - lo + 1 === clean.length ? { lo, hi } : null;
}

/** dx of one input from the candidate windows, with the checks the coordinates in (rh, rw) need */
function gatherInput(layer: PoolLayerPlan, isMax: boolean, nc: Expr, ih: Expr, iw: Expr, rh: Span, rw: Span): Stmt[] {
  const g = layer.geometry;
  const coords = (r: Span) => range(r.hi - r.lo + 1).map((i) => r.lo + i);
  const ch = candidates(coords(rh), g.outH, g.kH, g.strideH, g.padH);
  const cw = candidates(coords(rw), g.outW, g.kW, g.strideW, g.padW);
  const stmts: Stmt[] = [];
  const i = add(mul(nc, g.inH * g.inW), add(mul(ih, g.inW), iw));
  if (isMax) stmts.push(let_('i', i));
  const qh: Expr = ch.constQ !== null ? i32(ch.constQ) : v('qh');
  const qw: Expr = cw.constQ !== null ? i32(cw.constQ) : v('qw');
  if (ch.constQ === null) stmts.push(let_('qh', idiv(add(ih, g.padH), g.strideH)));
  if (cw.constQ === null) stmts.push(let_('qw', idiv(add(iw, g.padW), g.strideW)));
  stmts.push(var_('acc', f32(0)));
  for (let th = 0; th < ch.T; th++) {
    const oh = add(qh, th - (ch.T - 1));
    const hc: E[] = [];
    if (ch.needLo[th]) hc.push(ge(oh, 0));
    if (ch.needHi[th]) hc.push(lt(oh, g.outH));
    if (ch.needK[th]) hc.push(lt(sub(add(ih, g.padH), mul(oh, g.strideH)), g.kH));
    for (let tw = 0; tw < cw.T; tw++) {
      const ow = add(qw, tw - (cw.T - 1));
      const wc: E[] = [];
      if (cw.needLo[tw]) wc.push(ge(ow, 0));
      if (cw.needHi[tw]) wc.push(lt(ow, g.outW));
      if (cw.needK[tw]) wc.push(lt(sub(add(iw, g.padW), mul(ow, g.strideW)), g.kW));
      const o = add(mul(nc, g.outH * g.outW), add(mul(oh, g.outW), ow));
      if (isMax) {
        stmts.push(if_(and(...hc, ...wc, eq(load('argmax', o), v('i'))), [accum('acc', load('dy', o))]));
      } else {
        const h0 = sub(mul(oh, g.strideH), g.padH);
        const w0 = sub(mul(ow, g.strideW), g.padW);
        const divisor = avgDivisor(g, layer.countIncludePad, h0, w0, ch.windows, cw.windows);
        stmts.push(if_(and(...hc, ...wc), [accum('acc', div(load('dy', o), divisor))]));
      }
    }
  }
  stmts.push(store('dx', i, v('acc')));
  return stmts;
}

/** backward of a max or average pool, as a gather over the windows that saw each input */
function poolBackward(layer: PoolLayerPlan, name: string): KernelCall {
  const g = layer.geometry;
  const isMax = isMaxPool(layer);
  const NC = g.batch * g.channels;
  const nIn = NC * g.inH * g.inW;
  const nOut = NC * g.outH * g.outW;
  const T = [Math.ceil(g.kH / g.strideH), Math.ceil(g.kW / g.strideW)];
  const body = par('nc', NC, (nc) =>
    par('ih', g.inH, (ih) =>
      par('iw', g.inW, (iw) => {
        const fullH = { lo: 0, hi: g.inH - 1 };
        const fullW = { lo: 0, hi: g.inW - 1 };
        const full = gatherInput(layer, isMax, nc, ih, iw, fullH, fullW);
        const rh = interiorCoords(g.inH, g.outH, g.kH, g.strideH, g.padH);
        const rw = interiorCoords(g.inW, g.outW, g.kW, g.strideW, g.padW);
        if (!rh && !rw) return full;
        // inputs whose candidate windows all exist run a copy without the range checks
        const cond: E[] = [];
        if (rh && rh.lo > 0) cond.push(ge(ih, rh.lo));
        if (rh && rh.hi < g.inH - 1) cond.push(le(ih, rh.hi));
        if (rw && rw.lo > 0) cond.push(ge(iw, rw.lo));
        if (rw && rw.hi < g.inW - 1) cond.push(le(iw, rw.hi));
        return [if_(and(...cond), gatherInput(layer, isMax, nc, ih, iw, rh ?? fullH, rw ?? fullW), full)];
      }),
    ),
  );
  const buffers = [buf('dy', nOut, 'read')];
  if (isMax) buffers.push(buf('argmax', nOut, 'read', 'i32'));
  buffers.push(buf('dx', nIn, 'write'));
  const k = kernel({
    name: `${name}_dx`,
    doc: [
      `${layer.type} backward [${layer.outShape.join(', ')}] -> [${layer.inShape.join(', ')}]`,
      `a gather: each input sums over the <= ${T[0]}x${T[1]} windows that can contain it`,
      isMax ? 'a window contributes only where its argmax is this input' : 'each window contributes dy / its divisor',
    ],
    buffers,
    body,
  });
  return { kernel: k, args: isMax ? { dy: 'dy', argmax: 'argmax', dx: 'dx' } : { dy: 'dy', dx: 'dx' } };
}

export function lowerPool(layer: PoolLayerPlan): LayerProgram {
  const name = poolName(layer);
  const isMax = isMaxPool(layer);
  const nOut = layer.geometry.batch * layer.geometry.channels * layer.geometry.outH * layer.geometry.outW;
  return {
    layer: layer.name,
    scratch: isMax ? [{ name: 'argmax', t: 'i32', length: nOut, keep: true }] : [],
    forward: [poolForward(layer, name)],
    backward: [poolBackward(layer, name)],
    alias: false,
  };
}
