// Timing with tinybench, sized per task: one probe call (which also warms the JIT) decides
// how many samples fit the budget, so a 10 s tfjs-cpu kernel gets one or two samples and a
// 1 ms kernel gets hundreds. The median is what every ratio uses.

import { Bench } from 'tinybench';

export interface Timing {
  /** median latency, ms */
  readonly medianMs: number;
  readonly meanMs: number;
  readonly minMs: number;
  /** timed calls (the probe and warmup calls not included) */
  readonly samples: number;
  /** process RSS high-water after this task, MiB */
  readonly peakRssMiB: number;
}

export interface TimingBudget {
  /** time budget per task, ms (tinybench keeps sampling until it is spent) */
  readonly timeMs: number;
  /** samples wanted when the task is fast enough */
  readonly minSamples: number;
  /** a slow task gets fewer samples, so that it stays below this, ms */
  readonly maxTaskMs: number;
  /** warmup budget of a fast task, ms: enough calls for V8 to tier the kernel up */
  readonly warmupMs: number;
}

export const FULL_BUDGET: TimingBudget = { timeMs: 1000, minSamples: 5, maxTaskMs: 4000, warmupMs: 250 };
export const QUICK_BUDGET: TimingBudget = { timeMs: 20, minSamples: 2, maxTaskMs: 500, warmupMs: 10 };

/** process RSS high-water mark (ru_maxrss), MiB */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export async function measure(name: string, fn: () => void, budget: TimingBudget): Promise<Timing> {
  const t0 = performance.now();
  fn();
  const probe = performance.now() - t0;
  // a task slower than the whole budget (tfjs-cpu's grad-weight takes seconds): the probe
  // is the one sample; JIT warmup is noise at that length
  if (probe >= budget.maxTaskMs) return { medianMs: probe, meanMs: probe, minMs: probe, samples: 1, peakRssMiB: peakRssMiB() };
  const fast = probe * budget.minSamples <= budget.maxTaskMs;
  const iterations = fast ? budget.minSamples : Math.max(1, Math.floor(budget.maxTaskMs / Math.max(probe, 1e-3)));
  const bench = new Bench({
    name,
    time: fast ? budget.timeMs : 0,
    iterations,
    // the probe warmed a slow task; a fast one gets a few more calls for the JIT to settle
    warmup: probe < 50,
    warmupIterations: 3,
    warmupTime: budget.warmupMs,
    throws: true,
  });
  bench.add(name, fn, { async: false });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench: task ${name} ended in state ${r.state}`);
  return {
    medianMs: r.latency.p50,
    meanMs: r.latency.mean,
    minMs: r.latency.min,
    samples: r.latency.samplesCount,
    peakRssMiB: peakRssMiB(),
  };
}
