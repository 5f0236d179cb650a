// What train.ts writes next to the weights: the loss / accuracy curves as SVG.

import { curvesSvg } from './svg.ts';

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  /** the mean loss of each tenth of the epoch, to draw a curve finer than one point per epoch */
  lossTenths: number[];
  testAccuracy: number;
  seconds: number;
  samplesPerSecond: number;
}

/** mean loss of each tenth of a list of batch losses */
export function tenths(losses: number[]): number[] {
  const out: number[] = [];
  for (let t = 0; t < 10; t++) {
    const a = Math.floor((t * losses.length) / 10);
    const b = Math.max(a + 1, Math.floor(((t + 1) * losses.length) / 10));
    const part = losses.slice(a, b);
    if (part.length) out.push(part.reduce((s, v) => s + v, 0) / part.length);
  }
  return out;
}

export function trainingCurvesSvg(history: EpochRecord[], title: string): string {
  const loss: [number, number][] = history.flatMap((h) => h.lossTenths.map((l, t): [number, number] => [h.epoch - 1 + (t + 1) / h.lossTenths.length, l]));
  const acc: [number, number][] = history.map((h) => [h.epoch, 100 * h.testAccuracy]);
  const lo = Math.min(90, ...acc.map(([, a]) => Math.floor(a)));
  const last = history.at(-1);
  return curvesSvg(
    [
      // log: the loss falls by decades, and a linear axis squashes everything after epoch 1 flat
      { title: 'training loss (mean softmax cross-entropy)', series: [{ label: 'train loss', color: '#d62728', points: loss }], log: true },
      {
        title: 'test accuracy',
        series: [{ label: 'test accuracy %', color: '#1f77b4', points: acc, dots: true }],
        yMin: lo,
        yMax: 100,
        yFormat: (v) => `${Number(v.toPrecision(6))}%`,
        legend: 'bottom',
        ...(last ? { note: `final: ${(100 * last.testAccuracy).toFixed(2)}% after epoch ${last.epoch}` } : {}),
      },
    ],
    history.length,
    title,
  );
}
