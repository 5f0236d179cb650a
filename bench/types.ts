// The benchmark report: plain JSON data (bench/results/latest.json), from which the Markdown
// table, the SVG chart and the target verdicts are all derived.

export type Op = 'forward' | 'gradInput' | 'gradWeight' | 'step';

/** implementations, in table order; `convgen auto` is the strategy the planner picks */
export type Impl =
  | 'convgen auto'
  | 'convgen direct'
  | 'convgen im2row'
  | 'convgen wasm'
  | 'convgen wasm direct'
  | 'convgen wasm im2row'
  | 'convgen wasm scalar'
  | 'reference'
  | 'tfjs-cpu'
  | 'tfjs-wasm'
  | 'tfjs-wasm route';

/** the peers every row is compared with (speedup = peer time / row time) */
export const PEERS = ['reference', 'tfjs-cpu', 'tfjs-wasm'] as const;
export type Peer = (typeof PEERS)[number];

export interface Row {
  /** config id: A..G */
  readonly config: string;
  readonly op: Op;
  readonly impl: Impl;
  /**
   * ok: timed after agreeing with the reference; no kernel: the implementation has none for
   * this op (not zero, not timed); mismatch: it disagreed with the reference, so not timed;
   * error: it threw (message in `detail`)
   */
  readonly status: 'ok' | 'no kernel' | 'mismatch' | 'error';
  /** what ran: kernel names, tfjs kernels or route, the strategy auto picked */
  readonly detail: string;
  readonly flops: number;
  readonly medianMs: number | null;
  readonly samples: number;
  readonly gflops: number | null;
  /** tfjs only: the NCHW <-> NHWC transposes an NCHW user adds, timed on their own, ms */
  readonly layoutMs: number | null;
  /**
   * convgen rows: the calls (and their time) until the speed settled, before the samples;
   * V8 compiles big unrolled kernels in the background, so the first calls run slower
   */
  readonly warmup: { readonly calls: number; readonly ms: number } | null;
  /** against the float64 reference, before timing */
  readonly maxAbsErr: number | null;
  readonly maxRelErr: number | null;
  /** GFLOP/s over the GFLOP/s of the calibration GEMM measured just before this config and op */
  readonly vsGemm: number | null;
  /** GFLOP/s over the WASM-SIMD calibration GEMM's, timed in the same rounds */
  readonly vsWasmGemm: number | null;
  /** peer median / this median: > 1 means this row is faster; tfjs-wasm grad-weight uses its route */
  readonly speedup: Partial<Record<Peer, number | null>>;
  /** process RSS high-water mark after this row, MiB */
  readonly peakRssMiB: number;
}

export interface Calibration {
  /** measured just before this config's rows for this op */
  readonly config: string;
  readonly op: Op;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly medianMs: number;
  readonly gflops: number;
  /** the WASM-SIMD calibration GEMM (bench/wasm-gemm.ts), same size, same rounds */
  readonly wasmMedianMs: number;
  readonly wasmGflops: number;
}

export interface CompilerRow {
  /** build: one example; startup: `convgen --help`, the node + tsx start-up every build pays */
  readonly kind: 'build' | 'startup';
  readonly example: string;
  readonly ok: boolean;
  /** wall time of `node bin/convgen.js build <example> --out <tmp>`, process start included */
  readonly buildMs: number | null;
  /** parse + plan + lower + render (emitModel) in the bench process, warm, ms: the work without start-up */
  readonly inProcessMs: number | null;
  readonly files: number;
  /** bytes of everything the build wrote */
  readonly bytes: number;
  readonly detail: string;
}

export interface Target {
  readonly name: string;
  /** null: not measured in this run (filtered out, or a row missing) */
  readonly holds: boolean | null;
  /** the measured value against the threshold, e.g. `0.91x GEMM (>= 0.85)` */
  readonly measured: string;
}

export interface Report {
  readonly meta: {
    readonly date: string;
    readonly node: string;
    readonly cpu: string;
    readonly quick: boolean;
    readonly only: string[] | null;
    readonly commit: string | null;
    readonly notes: string[];
  };
  readonly calibration: Calibration[];
  readonly rows: Row[];
  readonly compiler: CompilerRow[];
  readonly targets: Target[];
  readonly peakRssMiB: number;
  readonly wallSeconds: number;
}
