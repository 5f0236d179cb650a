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
export function wasmThreads(where: {
    crossOriginIsolated?: boolean;
    hardwareConcurrency?: number;
    requested?: number | null;
}): {
    threads: number;
    why: string;
};
/**
 * what this engine's WebAssembly offers the generated modules: SIMD (they need it: f32x4), and
 * relaxed SIMD (f32x4.relaxed_madd, which a build may use where it validates)
 * @param {{ validate(bytes: Uint8Array<ArrayBuffer>): boolean } | undefined} wasm globalThis.WebAssembly
 * @returns {{ wasm: boolean, simd: boolean, relaxedSimd: boolean }}
 */
export function wasmFeatures(wasm: {
    validate(bytes: Uint8Array<ArrayBuffer>): boolean;
} | undefined): {
    wasm: boolean;
    simd: boolean;
    relaxedSimd: boolean;
};
/**
 * which backend trains: `wanted` if it can, 'auto' picks WebGPU where there is an adapter, else
 * WebAssembly where it has SIMD, else the TypeScript kernels ('cpu'); `why` says what was
 * passed over and why (empty when nothing was)
 * @param {'auto' | 'webgpu' | 'wasm' | 'cpu'} wanted
 * @param {{ gpu: string | null, wasm: string | null }} missing why each is unavailable, or null where it is available
 * @returns {{ backend: 'webgpu' | 'wasm' | 'cpu', why: string }}
 */
export function chooseBackend(wanted: "auto" | "webgpu" | "wasm" | "cpu", missing: {
    gpu: string | null;
    wasm: string | null;
}): {
    backend: "webgpu" | "wasm" | "cpu";
    why: string;
};
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
export function cpuModel(createModel: (options?: {
    seed?: number;
}) => CpuModelLike | Promise<CpuModelLike>, options?: {
    yieldMs?: number;
}): (device: unknown, options?: {
    seed?: number;
}) => Promise<GpuModelLike<CpuBatch> & {
    chunksRun(): number[] | undefined;
}>;
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
export function divergence(losses: readonly number[], classes: number): string;
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
/** the WebAssembly threads a page gets at most without asking (`threads` in the URL asks) */
export const MAX_AUTO_THREADS: 4;
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
    eval?(): unknown;
    train?(mode?: boolean): unknown;
};
/**
 * the part of index.js's Model (the CPU TypeScript kernels) cpuModel uses
 */
export type CpuModelLike = {
    forward(x: Float32Array): Float32Array;
    lossAndGrad(x: Float32Array, labels: Int32Array): number;
    sgdStep(lr: number, options?: {
        momentum?: number;
        weightDecay?: number;
    }): void;
    eval?(): unknown;
    train?(mode?: boolean): unknown;
    dispose?(): void;
    chunksRun?(): number[];
};
/**
 * a batch held in memory by cpuModel (the CPU's uploadBatch)
 */
export type CpuBatch = {
    x: Float32Array;
    labels: Int32Array | undefined;
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
 * what train() reports as it goes: 'compile' once, while it creates the model (on WebGPU: its
 * shaders and pipelines); every training step ('train', with `warning` from divergence(), '' when
 * none); 'testing' as each epoch's test pass starts; 'test' with its result and the predicted
 * class of every test digit
 */
export type Progress = {
    phase: "compile";
    epochs: number;
} | {
    phase: "train";
    epoch: number;
    epochs: number;
    step: number;
    steps: number;
    samples: number;
    loss: number;
    meanLoss: number;
    samplesPerSecond: number;
    warning: string;
} | {
    phase: "testing";
    epoch: number;
    epochs: number;
} | {
    phase: "test";
    epoch: number;
    epochs: number;
    record: EpochRecord;
    predictions: Int32Array;
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
    /**
     * the model's classes, for divergence(); default 10
     */
    classes?: number | undefined;
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
