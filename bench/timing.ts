// Timing with tinybench. The implementations of one op are timed as a group, interleaved:
// each fast task runs in several short rounds, round-robin with the others (the calibration
// GEMM included), and its median is taken over the samples of all rounds. On a shared
// machine the load drifts within seconds; interleaving spreads the drift over every row
// instead of penalizing whichever row ran during a busy moment, so ratios hold up.
//
// One probe call per task (it also warms the JIT) decides its treatment: a fast task gets
// the rounds; a slow one (tfjs-cpu's grad-weight takes seconds) gets a few samples in one
// go, or only the probe when it alone exceeds the budget.

import { Bench } from 'tinybench';

export interface Timing {
  /** median latency, ms */
  readonly medianMs: number;
  readonly minMs: number;
  /** timed calls (the probe and warmup calls not included, except for a probe-only task) */
  readonly samples: number;
  /** process RSS high-water after this task, MiB */
  readonly peakRssMiB: number;
}

export interface TimingBudget {
  /** time budget per fast task over all rounds, ms */
  readonly timeMs: number;
  /** samples wanted when the task is fast enough (over all rounds) */
  readonly minSamples: number;
  /** a slow task gets fewer samples, so that it stays below this, ms */
  readonly maxTaskMs: number;
  /** warmup budget of a fast task in its first round, ms: enough calls for V8 to tier up */
  readonly warmupMs: number;
  /** interleaved rounds per group */
  readonly rounds: number;
}

export const FULL_BUDGET: TimingBudget = { timeMs: 1000, minSamples: 6, maxTaskMs: 4000, warmupMs: 250, rounds: 4 };
export const QUICK_BUDGET: TimingBudget = { timeMs: 20, minSamples: 2, maxTaskMs: 500, warmupMs: 10, rounds: 2 };

/** process RSS high-water mark (ru_maxrss), MiB */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export interface GroupTask {
  readonly name: string;
  readonly fn: () => void;
  /** run before each of its benches (tfjs: make its backend current) */
  readonly before?: () => Promise<void>;
}

async function bench(t: GroupTask, opts: { time: number; iterations: number; warmup: boolean; warmupMs: number }): Promise<number[]> {
  await t.before?.();
  const b = new Bench({
    name: t.name,
    time: opts.time,
    iterations: opts.iterations,
    warmup: opts.warmup,
    warmupIterations: 3,
    warmupTime: opts.warmupMs,
    retainSamples: true,
    throws: true,
  });
  b.add(t.name, t.fn, { async: false });
  await b.run();
  const r = b.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench: task ${t.name} ended in state ${r.state}`);
  return [...(r.latency.samples ?? [])];
}

function summarize(samples: number[]): Timing {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const medianMs = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { medianMs, minMs: s[0], samples: s.length, peakRssMiB: peakRssMiB() };
}

export async function measureGroup(tasks: readonly GroupTask[], budget: TimingBudget): Promise<Map<string, Timing>> {
  const out = new Map<string, Timing>();
  const fast: GroupTask[] = [];
  for (const t of tasks) {
    await t.before?.();
    let t0 = performance.now();
    t.fn();
    let probe = performance.now() - t0;
    // a first call pays for compiling (a generated module's big kernels take 100+ ms in
    // V8's compilers); when it is cheap enough, a second call decides on warmer code
    if (probe < budget.maxTaskMs / 4) {
      t0 = performance.now();
      t.fn();
      probe = performance.now() - t0;
    }
    if (probe * budget.minSamples <= budget.timeMs) {
      fast.push(t);
    } else if (probe >= budget.maxTaskMs) {
      // JIT warmup is noise at this length: the probe is the one sample
      out.set(t.name, summarize([probe]));
    } else {
      const iterations = Math.max(1, Math.min(budget.minSamples, Math.floor(budget.maxTaskMs / probe)));
      out.set(t.name, summarize(await bench(t, { time: 0, iterations, warmup: false, warmupMs: 0 })));
    }
  }
  const samples = new Map<string, number[]>(fast.map((t) => [t.name, []]));
  for (let round = 0; round < budget.rounds; round++) {
    for (const t of fast) {
      const got = await bench(t, {
        time: budget.timeMs / budget.rounds,
        iterations: Math.ceil(budget.minSamples / budget.rounds),
        warmup: round === 0,
        warmupMs: budget.warmupMs,
      });
      samples.get(t.name)!.push(...got);
    }
  }
  for (const t of fast) out.set(t.name, summarize(samples.get(t.name)!));
  return out;
}
