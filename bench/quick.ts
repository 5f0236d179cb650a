// What the quick, single-purpose bench scripts (bench/wasm-fwd.ts, wasm-dw.ts, wasm-linear.ts:
// seconds each, for iterating on one kernel family) share: a `--name value` flag, the median,
// and timed samples. The main bench (bench/run.ts) times with tinybench (timing.ts) instead.

/** the value after `--name` on the command line, or the fallback */
export const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ms per call of `fn` for about `ms` milliseconds, at least 3 calls (after one warm-up call) */
export function samples(fn: () => void, ms: number): number[] {
  fn();
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end || out.length < 3) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}
