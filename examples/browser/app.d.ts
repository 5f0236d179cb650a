/**
 * one set of digits from its two binary files, checked against the header
 * @param {DigitsHeader} header
 * @param {string} name the set's name in header.sets ("train", "test")
 * @param {ArrayBuffer} images
 * @param {ArrayBuffer} labels
 * @returns {Digits}
 */
export function decodeDigits(header: DigitsHeader, name: string, images: ArrayBuffer, labels: ArrayBuffer): Digits;
/**
 * fetch digits.json and the binary files of the train and test sets from `base` (a folder URL)
 * @param {string | URL} base
 * @param {{ fetch?: (url: URL) => Promise<Response> }} [options] fetch: the global one by default
 * @returns {Promise<{ header: DigitsHeader, train: Digits, test: Digits }>}
 */
export function loadDigits(base: string | URL, options?: {
    fetch?: (url: URL) => Promise<Response>;
}): Promise<{
    header: DigitsHeader;
    train: Digits;
    test: Digits;
}>;
/**
 * the first `n` digits of a set (a view, no copy)
 * @param {Digits} d
 * @param {number} n
 * @returns {Digits}
 */
export function firstDigits(d: Digits, n: number): Digits;
/**
 * a device from `gpu` (navigator.gpu in a page), or an Error whose message says why there is none
 * and what to do
 * @template D
 * @param {{ requestAdapter(): Promise<{ requestDevice(): Promise<D>, info?: { vendor?: string, architecture?: string, device?: string, description?: string } } | null> } | undefined} gpu
 * @param {{ secureContext?: boolean }} [where] secureContext: window.isSecureContext
 * @returns {Promise<{ device: D, adapter: string }>}
 */
export function requestGpuDevice<D>(gpu: {
    requestAdapter(): Promise<{
        requestDevice(): Promise<D>;
        info?: {
            vendor?: string;
            architecture?: string;
            device?: string;
            description?: string;
        };
    } | null>;
} | undefined, where?: {
    secureContext?: boolean;
}): Promise<{
    device: D;
    adapter: string;
}>;
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
 * what train() reports as it goes: every training step, then each epoch's test pass
 * @typedef {{ phase: 'train', epoch: number, epochs: number, step: number, steps: number, samples: number, loss: number, meanLoss: number, samplesPerSecond: number }
 *   | { phase: 'test', epoch: number, epochs: number, record: EpochRecord }} Progress
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
export function train<D, B>(options: TrainOptions & {
    device: D;
    createGpuModel: (device: D, options?: {
        seed?: number;
    }) => Promise<GpuModelLike<B>>;
    data: {
        train: Digits;
        test: Digits;
    };
}): Promise<{
    epochs: EpochRecord[];
    testAccuracy: number;
}>;
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
export const DIGITS_FORMAT: "convgen-digits/1";
/**
 * the part of gpu.js's GpuModel this app uses (method syntax: the generated types are assignable)
 */
export type GpuModelLike<B> = {
    forward(x: Float32Array | B): Promise<Float32Array>;
    trainStep(x: Float32Array | B, labels: Int32Array | undefined, lr: number, options?: {
        momentum?: number;
        weightDecay?: number;
    }): Promise<number>;
    uploadBatch(x: Float32Array, labels?: Int32Array): B;
    destroy(): void;
};
export type EpochRecord = {
    /**
     * 1-based
     */
    epoch: number;
    /**
     * this epoch's learning rate (cosine decay)
     */
    lr: number;
    /**
     * the loss of every training step, in order
     */
    batchLosses: number[];
    /**
     * the mean of batchLosses
     */
    trainLoss: number;
    /**
     * fraction of the test digits classified right
     */
    testAccuracy: number;
    /**
     * training time of the epoch (without the test pass)
     */
    seconds: number;
    /**
     * training samples per second
     */
    samplesPerSecond: number;
};
/**
 * what train() reports as it goes: every training step, then each epoch's test pass
 */
export type Progress = {
    phase: "train";
    epoch: number;
    epochs: number;
    step: number;
    steps: number;
    samples: number;
    loss: number;
    meanLoss: number;
    samplesPerSecond: number;
} | {
    phase: "test";
    epoch: number;
    epochs: number;
    record: EpochRecord;
};
export type TrainOptions = {
    /**
     * default 3
     */
    epochs?: number | undefined;
    /**
     * the model's static batch (model.json's "batch"); default 32
     */
    batch?: number | undefined;
    /**
     * the first epoch's learning rate, cosine-decayed per epoch; default 0.05
     */
    lr?: number | undefined;
    /**
     * default 0.9
     */
    momentum?: number | undefined;
    /**
     * default 0
     */
    weightDecay?: number | undefined;
    /**
     * parameter init and shuffles; default 1
     */
    seed?: number | undefined;
    /**
     * training steps submitted ahead of the loss readback; default 2
     */
    inflight?: number | undefined;
    onProgress?: ((p: Progress) => void) | undefined;
};
export type Digits = {
    /**
     * count x imageSize² pixels, row-major, in [0, 1]
     */
    images: Float32Array;
    /**
     * count class indices
     */
    labels: Int32Array;
    count: number;
};
/**
 * digits.json, written by serve.ts next to the binary files it names
 */
export type DigitsHeader = {
    /**
     * "convgen-digits/1"
     */
    format: string;
    /**
     * pixels per side (28)
     */
    imageSize: number;
    classes: number;
    /**
     *   per set: images as count x imageSize² bytes (pixel = byte / 255), labels as count bytes
     */
    sets: {
        [set: string]: {
            count: number;
            images: string;
            labels: string;
        };
    };
};
