/**
 * round ticks for a log axis over [lo, hi]: the 1-2-5 values of each decade inside it, widened to
 * the nearest such values outside so the data never touches the frame; only 1 x 10^k when the
 * range spans more than two decades
 * @param {number} lo > 0
 * @param {number} hi >= lo
 * @returns {{ ticks: number[], lo: number, hi: number }} lo and hi: the axis' ends (first and last tick)
 */
export function logTicks(lo: number, hi: number): {
    ticks: number[];
    lo: number;
    hi: number;
};
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
export function curveSvg(c: Curve): string;
export type Curve = {
    /**
     * every training step's loss so far (non-finite ones are left out)
     */
    losses: readonly number[];
    /**
     * steps of the whole run (the x axis' end)
     */
    totalSteps: number;
    stepsPerEpoch: number;
    /**
     * test accuracy (fraction) after each epoch so far
     */
    accuracies: readonly {
        epoch: number;
        accuracy: number;
    }[];
    /**
     * written above the plot, centred (the final accuracy when done)
     */
    note?: string | undefined;
    /**
     * default 640
     */
    width?: number | undefined;
    /**
     * default 260
     */
    height?: number | undefined;
    /**
     * loss points at most (bucket means); default 300
     */
    maxPoints?: number | undefined;
};
