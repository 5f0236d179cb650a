// the conv schedule (src/plan/schedule.ts) is plain data the planner chooses per target, and
// the one conv lowering (src/kernels/conv.ts) follows it: change a block, a tile or the
// split-K in the data and the kernels change with it, still agreeing with the reference
import { describe, expect, it } from 'vitest';
import { planModel } from '../src/plan/plan.ts';
import { parseModelText } from '../src/spec/parse.ts';
import { scheduleConv, scheduleModel, splitK, type ConvKernelSchedule, type ConvLayerSchedule } from '../src/plan/schedule.ts';
import { formatConvSchedule } from '../src/plan/schedule-table.ts';
import { lowerConv } from '../src/kernels/conv.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { lowerKernel, dumpKernel } from '../src/ir/passes.ts';
import { checkConvLayer, withStrategy } from './helpers/conv-harness.ts';
import { planOf } from './helpers/conv-configs.ts';
import { EXAMPLES, exampleText } from './spec-mutations.ts';

const layer = planOf({ kind: 'conv2d', batch: 2, groups: 1, cinPer: 3, coutPer: 8, k: [3, 3], s: [2, 1], d: [1, 1], pad: [1, 1, 1, 1], extra: [1, 2], op: [0, 0], bias: true });

/** the schedule with one role's record changed */
const edit = (s: ConvLayerSchedule, role: ConvKernelSchedule['role'], change: Partial<ConvKernelSchedule>): ConvLayerSchedule => ({
  ...s,
  kernels: s.kernels.map((k) => (k.role === role ? { ...k, ...change } : k)),
});
const code = (s: ConvLayerSchedule, part: 'forward' | 'backward') => lowerConv(layer, s)[part].map((c) => dumpKernel(lowerKernel(c.kernel))).join('\n');
const allOk = (s: ConvLayerSchedule) => checkConvLayer(layer, 7, { schedule: s }).map((r) => [r.buffer, r.ok]);

describe('conv schedule', () => {
  it.each(EXAMPLES)('%s: both targets, as printed by convgen plan --target', async (name) => {
    const plan = planModel(parseModelText(exampleText(name)));
    const text = (['ts', 'wgsl'] as const).map((t) => formatConvSchedule(scheduleModel(plan, t))).join('\n');
    await expect(text).toMatchFileSnapshot(`__snapshots__/plan-schedule/${name}.txt`);
  });

  it('is plain data: JSON keeps all of it', () => {
    for (const t of ['ts', 'wgsl'] as const) {
      const s = scheduleConv(layer, t);
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
      expect(s.kernels.map((k) => k.role)).toEqual(['forward', 'gradInput', 'gradWeight', 'gradBias']);
    }
  });

  it('ts: the gather reads its register block and the reduce its block from the schedule', () => {
    const s = scheduleConv(withStrategy(layer, 'direct'), 'ts');
    expect(s.kernels.find((k) => k.role === 'forward')!.block).toEqual([4, 4]);
    const narrow = edit(edit(s, 'forward', { block: [2, 2] }), 'gradWeight', { block: [1, 1, 3] });
    expect(code(narrow, 'forward')).not.toBe(code(s, 'forward'));
    expect(code(narrow, 'forward')).not.toMatch(/acc3_|acc\d_3/); // no 4th channel or column in a block
    expect(code(narrow, 'backward')).not.toBe(code(s, 'backward'));
    expect(allOk(narrow)).toEqual(allOk(s));
    expect(allOk(narrow).every(([, ok]) => ok)).toBe(true);
  });

  it('ts: the unroll budget splits a window into passes', () => {
    const s = scheduleConv(withStrategy(layer, 'direct'), 'ts');
    const tiny = edit(s, 'forward', { unrollBudget: 50 });
    expect(lowerConv(layer, tiny).forward.length).toBeGreaterThan(lowerConv(layer, s).forward.length);
    expect(allOk(tiny).every(([, ok]) => ok)).toBe(true);
  });

  it('wgsl: the gather block, the GEMM tile and the split-K come from the schedule', () => {
    const s = scheduleConv(withStrategy(layer, 'im2row'), 'wgsl');
    const dw = s.kernels.find((k) => k.role === 'gradWeight')!;
    const g = layer.geometry;
    // one sample x one output row per chunk (the planner's has more)
    const split = splitK(g.batch, g.outH, g.outW, 1, { invocations: 1e9, minChunk: 1 });
    expect(split.chunks).toBe(g.batch * g.outH);
    expect(split.chunks).toBeGreaterThan(dw.splitK!.chunks);
    const changed = edit(edit(edit(s, 'gradInput', { block: [1] }), 'gradWeight', { splitK: split }), 'forward', {
      tile: { tm: 8, tn: 4, tk: 4, rm: 2, rn: 1, size: 16 },
      block: [2, 1],
    });
    const prog = lowerConv(layer, changed);
    // dW's partials: one per chunk, output channel and weight (+ the fused bias column)
    expect(prog.scratch.find((d) => d.name === 'dwPartial')!.length).toBe(split.chunks * 8 * (3 * 9 + 1));
    expect(lowerConv(layer, s).scratch.find((d) => d.name === 'dwPartial')!.length).toBe(dw.splitK!.chunks * 8 * 28);
    expect(prog.forward[1].kernel.workgroup!.size).toBe(16);
    expect(code(changed, 'backward')).not.toBe(code(s, 'backward'));
    expect(checkConvLayer(layer, 7, { schedule: changed }).every((r) => r.ok)).toBe(true);
  });

  it("one description per algorithm: the im2row copy follows the schedule's pixels, the grad-bias sum its split-K", () => {
    // the wgsl im2row forward's copy with its pixels as loops is the TS copy, statement for statement
    const ts = scheduleConv(withStrategy(layer, 'im2row'), 'ts');
    const gpu = scheduleConv(withStrategy(layer, 'im2row'), 'wgsl');
    const loops = edit(gpu, 'forward', { pixels: 'loops' });
    const copyOf = (s: ConvLayerSchedule) => lowerConv(layer, s).forward[0]!.kernel.body;
    expect(copyOf(loops)).toEqual(copyOf(ts));
    expect(copyOf(gpu)).not.toEqual(copyOf(ts));
    expect(checkConvLayer(layer, 7, { schedule: loops }).every((r) => r.ok)).toBe(true);
    // a conv_transpose's bias gradient (not fused into the split-K): without the split it is the TS sum
    const convT = planOf({ kind: 'conv_transpose2d', batch: 3, groups: 1, cinPer: 2, coutPer: 3, k: [3, 3], s: [2, 2], d: [1, 1], pad: [1, 1, 1, 1], extra: [3, 4], op: [1, 1], bias: true });
    const sumOf = (s: ConvLayerSchedule) => lowerConv(convT, s).backward.find((c) => c.kernel.name.includes('_db'))!.kernel;
    const gpuT = scheduleConv(convT, 'wgsl');
    expect(gpuT.kernels.find((k) => k.role === 'gradBias')!.splitK!.chunks).toBe(3);
    const whole = edit(gpuT, 'gradBias', { splitK: null });
    expect(sumOf(whole).body).toEqual(sumOf(scheduleConv(convT, 'ts')).body);
    expect(sumOf(gpuT).buffers.map((b) => b.name)).toEqual(['dy', 'partial', 'db']);
    for (const s of [gpuT, whole]) expect(checkConvLayer(convT, 7, { schedule: s }).every((r) => r.ok)).toBe(true);
  });

  it('wasm: packed gathers from 4 output channels per group, grad-weight packed from 4 output channels per group', () => {
    const wide = withStrategy(planOf({ kind: 'conv2d', batch: 2, groups: 1, cinPer: 4, coutPer: 8, k: [3, 3], s: [2, 1], d: [1, 1], pad: [1, 1, 1, 1], extra: [1, 2], op: [0, 0], bias: true }), 'direct');
    const ts = scheduleConv(wide, 'ts');
    const wasm = scheduleConv(wide, 'wasm');
    const role = (s: ConvLayerSchedule, r: string) => s.kernels.find((k) => k.role === r)!;
    expect(role(ts, 'gradWeight').algorithm).toBe('reduce');
    // grad-weight: the packed reduction, 8 output channels (2 vectors) x 2 input channels x a kernel row's 3 taps
    expect(role(wasm, 'gradWeight')).toEqual({ ...role(ts, 'gradWeight'), block: [8, 2, 3], unrollBudget: null, dyPacked: true });
    // without it (dwPacked: false): the TS im2row kernel with the wasm GEMM block (4 channels x 8 columns of 36)
    expect(role(scheduleConv(wide, 'wasm', { dwPacked: false }), 'gradWeight')).toEqual({ ...role(scheduleConv(withStrategy(wide, 'im2row'), 'ts'), 'gradWeight'), block: [4, 8], colsByRow: true });
    // forward (8 output channels) and grad-input (4 input channels): gathers over packed weights, loops not unrolled
    expect(role(wasm, 'forward')).toEqual({ ...role(ts, 'forward'), block: [8, 4], unrollBudget: null, packed: true, evenWidth: 5 });
    expect(role(wasm, 'gradInput')).toEqual({ ...role(ts, 'gradInput'), block: [4, 4], unrollBudget: null, packed: true, evenWidth: 5 });
    expect(role(wasm, 'gradBias')).toEqual(role(ts, 'gradBias'));
    // the plan's im2row strategy too: its forward GEMM would run scalar on wasm
    const viaIm2row = scheduleConv(withStrategy(wide, 'im2row'), 'wasm');
    expect(role(viaIm2row, 'forward')).toEqual(role(wasm, 'forward'));
    expect(role(viaIm2row, 'gradInput')).toEqual(role(wasm, 'gradInput'));
    expect(checkConvLayer(wide, 7, { schedule: wasm }).every((r) => r.ok)).toBe(true);
    // 3 input channels: the packed grad-weight's block as above, and a grad-input over 3
    // channels keeps the column vectors, 8 columns per block
    const narrow = withStrategy(layer, 'direct');
    expect(role(scheduleConv(narrow, 'wasm'), 'gradWeight')).toMatchObject({ algorithm: 'reduce', block: [8, 2, 3], dyPacked: true });
    expect(checkConvLayer(narrow, 7, { schedule: scheduleConv(narrow, 'wasm') }).every((r) => r.ok)).toBe(true);
    // fewer than 4 output channels per group (depthwise): the TS grad-weight reduction
    const dw = withStrategy(planOf({ kind: 'conv2d', batch: 2, groups: 4, cinPer: 1, coutPer: 1, k: [3, 3], s: [1, 1], d: [1, 1], pad: [1, 1, 1, 1], extra: [1, 2], op: [0, 0], bias: true }), 'direct');
    expect(role(scheduleConv(dw, 'wasm'), 'gradWeight')).toEqual(role(scheduleConv(dw, 'ts'), 'gradWeight'));
    expect(role(scheduleConv(narrow, 'wasm'), 'gradInput')).toEqual({ ...role(scheduleConv(narrow, 'ts'), 'gradInput'), block: [3, 8], unrollBudget: null });
  });

  it('a schedule for another target is refused', () => {
    const plan = planModel(parseModelText(exampleText('seed')));
    expect(() => lowerModel(plan, { target: 'wgsl', schedule: scheduleModel(plan, 'ts') })).toThrow(/a ts schedule for the wgsl target/);
    expect(lowerModel(plan, { target: 'wgsl', schedule: scheduleModel(plan, 'wgsl') })).toEqual(lowerModel(plan, { target: 'wgsl' }));
  });
});
