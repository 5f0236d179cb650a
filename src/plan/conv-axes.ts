// How one spatial axis of a conv-like gather maps output positions to input positions.
// Forward conv and each stride phase of conv's gradInput are both "for output position t,
// read input t*inStep + off for each tap", so one register-blocked engine serves both.
//
// Interval arithmetic lives here: for each tap, the range of t whose read falls inside
// the input. Their intersection is the interior (no checks at all); outside it, only taps
// whose own range does not cover the border need a check.

import type { ConvGeometry } from './types.ts';

export interface Tap {
  /** kernel index along this axis */
  readonly k: number;
  /** input coordinate = t * inStep + off */
  readonly off: number;
  /** the t range [lo, hi) whose read is inside the input */
  readonly lo: number;
  readonly hi: number;
}

export interface Axis {
  /** output positions computed along this axis */
  readonly T: number;
  /** real output coordinate = outStart + t * outStep (a stride phase of dx uses outStep = stride) */
  readonly outStart: number;
  readonly outStep: number;
  /** extent of the real output along this axis (for flat indices) */
  readonly outSize: number;
  readonly inSize: number;
  readonly inStep: number;
  /** taps that read inside the input for at least one t (the others contribute nothing) */
  readonly taps: readonly Tap[];
  /** [lo, hi): t where every tap reads inside the input */
  readonly lo: number;
  readonly hi: number;
}

function axis(T: number, outStart: number, outStep: number, outSize: number, inSize: number, inStep: number, raw: { k: number; off: number }[]): Axis {
  const taps: Tap[] = [];
  for (const { k, off } of raw) {
    // t * inStep + off >= 0  and  t * inStep + off <= inSize - 1
    const lo = Math.max(0, Math.ceil(-off / inStep));
    const hi = Math.min(T, Math.floor((inSize - 1 - off) / inStep) + 1);
    if (hi > lo) taps.push({ k, off, lo, hi });
  }
  return { T, outStart, outStep, outSize, inSize, inStep, taps, ...interiorOf(T, taps) };
}

/** the intersection of the taps' valid ranges (everything when there are no taps) */
function interiorOf(T: number, taps: readonly Tap[]): { lo: number; hi: number } {
  if (taps.length === 0) return { lo: 0, hi: T };
  // a loop, not Math.max(...taps): a kernel of 2^20 taps overflows the stack as arguments
  let lo = 0;
  let hi = T;
  for (const t of taps) {
    lo = Math.max(lo, t.lo);
    hi = Math.min(hi, t.hi);
  }
  lo = Math.min(T, lo);
  return { lo, hi: Math.max(lo, hi) };
}

/**
 * the same axis with only some of its taps (one pass of a window split across kernels).
 * The interior [lo, hi) stays the full window's: every pass must split the output the same
 * way (each part's region is written by its first pass and added to by the later ones),
 * and the full window's interior lies inside every one of its taps' ranges.
 */
export function withTaps(a: Axis, taps: readonly Tap[]): Axis {
  return { ...a, taps };
}

/**
 * split the taps of a 2D window into n groups of whole kernel rows where possible (each
 * group a pair of axes), else into pieces of rows; fewer groups when there are fewer taps
 */
export function splitTaps(h: Axis, w: Axis, n: number): [Axis, Axis][] {
  if (n <= 1 || h.taps.length * w.taps.length <= 1) return [[h, w]];
  const parts = <T>(xs: readonly T[], k: number): T[][] => {
    const size = Math.ceil(xs.length / k);
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
    return out;
  };
  if (n <= h.taps.length) return parts(h.taps, n).map((ht) => [withTaps(h, ht), w]);
  const perRow = Math.ceil(n / h.taps.length);
  return h.taps.flatMap((ht) => parts(w.taps, perRow).map((wt): [Axis, Axis] => [withTaps(h, [ht]), withTaps(w, wt)]));
}

/** C.fwd's two axes, rows (h) and columns (w) */
export function convForwardAxes(c: ConvGeometry): { h: Axis; w: Axis } {
  return {
    h: forwardAxis(c.outH, c.inH, c.kH, c.strideH, c.dilationH, c.pad.top),
    w: forwardAxis(c.outW, c.inW, c.kW, c.strideW, c.dilationW, c.pad.left),
  };
}

/** C.dx's axes: the stride phases of the rows (hs) and of the columns (ws) */
export function convGradInputAxes(c: ConvGeometry): { hs: Axis[]; ws: Axis[] } {
  return {
    hs: gradInputAxes(c.inH, c.outH, c.kH, c.strideH, c.dilationH, c.pad.top),
    ws: gradInputAxes(c.inW, c.outW, c.kW, c.strideW, c.dilationW, c.pad.left),
  };
}

/** forward conv along one axis: out t reads in[t*stride + k*dilation - padFront] */
export function forwardAxis(outSize: number, inSize: number, k: number, stride: number, dilation: number, padFront: number): Axis {
  const raw = Array.from({ length: k }, (_, i) => ({ k: i, off: i * dilation - padFront }));
  return axis(outSize, 0, 1, outSize, inSize, stride, raw);
}

const posMod = (a: number, m: number) => ((a % m) + m) % m;

/**
 * conv's gradInput along one axis, split by stride phase: the input positions
 * i = phase + t*stride receive exactly the taps with (phase + pad - k*dilation) % stride == 0,
 * from output o = t + (phase + pad - k*dilation) / stride. Static taps per phase: no
 * zero-dilated buffer and no wasted taps.
 */
export function gradInputAxes(inSize: number, outSize: number, k: number, stride: number, dilation: number, padFront: number): Axis[] {
  const phases: Axis[] = [];
  for (let phase = 0; phase < Math.min(stride, inSize); phase++) {
    const T = Math.ceil((inSize - phase) / stride);
    const raw: { k: number; off: number }[] = [];
    for (let i = 0; i < k; i++) {
      const num = phase + padFront - i * dilation;
      if (posMod(num, stride) === 0) raw.push({ k: i, off: num / stride });
    }
    phases.push(axis(T, phase, stride, inSize, outSize, 1, raw));
  }
  return phases;
}
