// Timing with tinybench. The implementations of one op are timed as a group, interleaved:
// each fast task runs in several short rounds, round-robin with the others (the calibration
// GEMM included), and its median is taken over the samples of all rounds. On a shared
// machine the load drifts within seconds; interleaving spreads the drift over every row
// instead of penalizing whichever row ran during a busy moment, so ratios hold up.
//
// Probe calls per task (they also warm the JIT) decide its treatment: a fast task gets the
// rounds; a slow one (tfjs-cpu's grad-weight takes seconds) gets a few samples in one go, or
// only the probe when it alone exceeds the budget.

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
  /** cap of a generated kernel's warmup until steady, ms */
  readonly maxWarmupMs: number;
}

export const FULL_BUDGET: TimingBudget = { timeMs: 1000, minSamples: 6, maxTaskMs: 4000, warmupMs: 250, rounds: 4, maxWarmupMs: 12000 };
export const QUICK_BUDGET: TimingBudget = { timeMs: 20, minSamples: 2, maxTaskMs: 500, warmupMs: 10, rounds: 2, maxWarmupMs: 200 };

/** process RSS high-water mark (ru_maxrss), MiB */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export interface GroupTask {
  readonly name: string;
  readonly fn: () => void;
  /** run before each of its benches (tfjs: make its backend current) */
  readonly before?: () => Promise<void>;
  /** generated code: warm up until its speed settles (see warmUntilSteady) */
  readonly untilSteady?: boolean;
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

/** how a task was warmed before its samples: calls and time until its speed settled */
export interface Warmup {
  readonly calls: number;
  readonly ms: number;
  /** the fastest warmup call, ms */
  readonly minMs: number;
}

/** a few calls for the JIT (at most 10, at most the warmup budget, one when it is slow) */
function probeShort(fn: () => void, budget: TimingBudget): Warmup {
  let minMs = Infinity;
  let ms = 0;
  let calls = 0;
  while (calls < 10) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    calls++;
    minMs = Math.min(minMs, dt);
    ms += dt;
    if (ms >= budget.warmupMs || dt >= budget.maxTaskMs / 4) break;
  }
  return { calls, ms, minMs };
}

/**
 * generated code: V8 compiles big unrolled kernels in the background for seconds (LeNet's
 * direct-strategy module runs its first steps 10-50x slower than its steady state), so call
 * until three calls in a row are within 25% of the fastest (or enough calls and time went by):
 * a training loop runs thousands of steps, the steady state is what it sees
 */
function warmUntilSteady(fn: () => void, budget: TimingBudget): Warmup {
  const times: number[] = [];
  let minMs = Infinity;
  let ms = 0;
  while (times.length < 200) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    times.push(dt);
    minMs = Math.min(minMs, dt);
    ms += dt;
    // the first calls can be uniformly slow (still interpreted): ask for 10 calls first;
    // on a noisy machine "steady" may never come, so 30 calls and 3 s are enough too
    const last3 = times.slice(-3);
    const steady = times.length >= 10 && last3.every((x) => x <= 1.25 * minMs);
    if ((ms >= budget.warmupMs && steady) || (times.length >= 30 && ms >= 3000) || ms >= budget.maxWarmupMs) break;
  }
  return { calls: times.length, ms, minMs };
}

export async function measureGroup(tasks: readonly GroupTask[], budget: TimingBudget): Promise<{ timings: Map<string, Timing>; warmups: Map<string, Warmup> }> {
  const out = new Map<string, Timing>();
  const warmups = new Map<string, Warmup>();
  const fast: GroupTask[] = [];
  for (const t of tasks) {
    await t.before?.();
    const w = t.untilSteady ? warmUntilSteady(t.fn, budget) : probeShort(t.fn, budget);
    const probe = w.minMs;
    warmups.set(t.name, w);
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
  return { timings: out, warmups };
}
