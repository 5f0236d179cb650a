// convgen plan's table: one snapshot per example (test/__snapshots__/plan-table/*.txt), and
// the k/s/p/d cell for the cases a snapshot of the examples does not show
import { describe, expect, it } from 'vitest';
import { planModel } from '../src/plan/plan.ts';
import { formatPlanTable } from '../src/plan/table.ts';
import { fitTable, wrapCell, type FitColumn } from '../src/plan/fit.ts';
import { formatGpuSchedule, scheduleGpu } from '../src/gpu/schedule.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { parseModel, parseModelText } from '../src/spec/parse.ts';
import { EXAMPLES, exampleText } from './spec-mutations.ts';

const table = (layers: unknown[], input = [4, 9, 8]) => formatPlanTable(planModel(parseModel({ name: 't', batch: 2, input, layers })));
/** the k/s/p/d cell of the first layer row */
const cell = (layers: unknown[], input?: number[]) => table(layers, input).split('\n')[4].split('|')[5].trim();

describe('plan table', () => {
  it.each(EXAMPLES)('%s', async (name) => {
    await expect(formatPlanTable(planModel(parseModelText(exampleText(name))))).toMatchFileSnapshot(`__snapshots__/plan-table/${name}.txt`);
  });

  it('is deterministic', () => {
    const text = exampleText('vgg');
    expect(formatPlanTable(planModel(parseModelText(text)))).toBe(formatPlanTable(planModel(parseModelText(text))));
  });

  it('k/s/p/d: non-square, asymmetric "same", groups, dilation, output_padding, 1D, upsample, activation constants', () => {
    expect(cell([{ type: 'conv2d', out_channels: 4, kernel: [3, 5], stride: [2, 1], padding: [1, 2], dilation: [1, 2] }])).toBe('3x5/2x1/1x2/1x2');
    // an even kernel with "same": PyTorch puts the extra pad at the end (bottom, right)
    expect(cell([{ type: 'conv2d', out_channels: 4, kernel: 4, padding: 'same' }])).toBe('4x4/1/1,2,1,2/1');
    expect(cell([{ type: 'conv2d', out_channels: 4, kernel: 3, groups: 4 }])).toBe('3x3/1/0/1 g4');
    expect(cell([{ type: 'conv_transpose2d', out_channels: 2, kernel: 3, stride: [2, 3], padding: 1, output_padding: [1, 2] }])).toBe('3x3/2x3/1/1 op1x2');
    expect(cell([{ type: 'conv1d', out_channels: 2, kernel: 4, stride: 2, padding: 'same' }], [3, 16])).toBe('4/2/1/1');
    // stride > 1 follows TensorFlow: out = ceil(15 / 2) = 8, total pad = 7*2 + 4 - 15 = 3
    expect(cell([{ type: 'conv1d', out_channels: 2, kernel: 4, stride: 2, padding: 'same' }], [3, 15])).toBe('4/2/1,2/1');
    expect(cell([{ type: 'conv1d', out_channels: 2, kernel: 4, padding: 'same' }], [3, 16])).toBe('4/1/1,2/1');
    expect(cell([{ type: 'maxpool1d', kernel: 3, stride: 2, padding: 1 }], [3, 16])).toBe('3/2/1/1');
    expect(cell([{ type: 'avgpool2d', kernel: [2, 3] }])).toBe('2x3/2x3/0/1');
    expect(cell([{ type: 'global_maxpool' }])).toBe('9x8/9x8/0/1');
    expect(cell([{ type: 'upsample_bilinear2d', scale_factor: [2, 3] }])).toBe('x2x3');
    expect(cell([{ type: 'relu' }])).toBe('-');
    expect(cell([{ type: 'conv_transpose1d', out_channels: 2, kernel: 4, stride: 3, padding: 1, output_padding: 2 }], [3, 16])).toBe('4/3/1/1 op2');
    expect(cell([{ type: 'avgpool1d', kernel: 3, stride: 2, padding: 1 }], [3, 16])).toBe('3/2/1/1');
    expect(cell([{ type: 'upsample_nearest2d', scale_factor: [2, 3] }])).toBe('x2x3');
    // an activation's constant, by PyTorch's key
    expect(cell([{ type: 'leaky_relu', negative_slope: 0.2 }])).toBe('slope=0.2');
    expect(cell([{ type: 'elu' }])).toBe('alpha=1');
    expect(cell([{ type: 'gelu', approximate: 'tanh' }])).toBe('tanh');
    expect(cell([{ type: 'gelu' }])).toBe('-');
  });

  it('inputs column: only when the model branches; "-" for a chain step, names where it branches', () => {
    expect(table([{ type: 'relu' }, { type: 'relu', inputs: ['relu0'] }])).not.toContain('inputs');
    const t = table([
      { type: 'conv2d', name: 'a', out_channels: 4, kernel: 1 },
      { type: 'relu', name: 'r' },
      { type: 'add', name: 'res', inputs: ['r', 'input'] },
      { type: 'concat', name: 'cat', inputs: ['res', 'a', 'res'] },
    ]).split('\n');
    expect(t[2]).toMatch(/^\| layer +\| op +\| inputs +\| in +\| out +\|/);
    const cells = (i: number) => t[4 + i].split('|').slice(1, 5).map((c) => c.trim());
    expect(cells(0)).toEqual(['a', 'conv2d', '-', '4x9x8']);
    expect(cells(1)).toEqual(['r', 'relu', '-', '4x9x8']);
    expect(cells(2)).toEqual(['res', 'add', 'r, input', '4x9x8']);
    expect(cells(3)).toEqual(['cat', 'concat', 'res, a, res', '4x9x8 + 4x9x8 + 4x9x8']);
    expect(t[4 + 4]).toMatch(/^\| total +\| +\| +\| 4x9x8 +\| 12x9x8 +\|/);
  });

  it('strategy column: one name, or forward/gradInput/gradWeight', () => {
    const row = (strategy: unknown) => table([{ type: 'conv2d', out_channels: 4, kernel: 3, strategy }]).split('\n')[4].split('|')[6].trim();
    expect(row('im2row')).toBe('im2row');
    expect(row({ forward: 'direct', gradInput: 'im2row', gradWeight: 'direct' })).toBe('direct/im2row/direct');
  });

  it('totals add up the rows', () => {
    for (const name of EXAMPLES) {
      const lines = formatPlanTable(planModel(parseModelText(exampleText(name)))).trimEnd().split('\n');
      // columns by their header: a model that branches has an inputs column
      const header = lines[2].split('|').map((c) => c.trim());
      const col = (h: string) => header.indexOf(h);
      const rows = lines.slice(4).map((r) => r.split('|').map((c) => c.trim()));
      const total = rows.pop()!;
      expect(total[1]).toBe('total');
      const sum = (c: number) => rows.reduce((a, r) => a + Number(r[c]), 0);
      expect(sum(col('params'))).toBe(Number(total[col('params')]));
      // rounded cells: the sum of the rounded rows is within half a unit per row of the total
      for (const [h, unit] of [['MFLOP fwd', 0.001], ['MFLOP bwd', 0.001], ['act KiB', 0.1]] as const) expect(Math.abs(sum(col(h)) - Number(total[col(h)]))).toBeLessThanOrEqual((rows.length * unit) / 2 + 1e-9);
    }
    // LeNet-5's well-known parameter count
    expect(planModel(parseModelText(exampleText('lenet'))).totals.params).toBe(61706);
  });
});

// `convgen plan` fitted to a terminal (src/plan/fit.ts): snapshots of the widest example (vgg) at
// 100 and 80 columns, both targets, and the one-block-per-layer form; no line over the width
describe('plan tables fitted to a width', () => {
  const vgg = () => planModel(parseModelText(exampleText('vgg')));
  const longest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

  it.each([100, 80, 30])('vgg, TS plan, %i columns', async (width) => {
    const text = formatPlanTable(vgg(), { width });
    expect(longest(text)).toBeLessThanOrEqual(width);
    await expect(text).toMatchFileSnapshot(`__snapshots__/plan-fit/vgg-ts-${width}.txt`);
  });

  it.each([100, 80])('vgg, WGSL schedule, %i columns', async (width) => {
    const plan = vgg();
    const text = formatGpuSchedule(scheduleGpu(plan, lowerModel(plan, { target: 'wgsl' })), { width });
    expect(longest(text)).toBeLessThanOrEqual(width);
    // wg mem is 0 on every row of vgg: left out, and said so
    expect(text).not.toMatch(/\| wg mem/);
    expect(text).toContain('not shown: wg mem (0 in every row)');
    await expect(text).toMatchFileSnapshot(`__snapshots__/plan-fit/vgg-wgsl-${width}.txt`);
  });

  it('every example fits 100 and 60 columns on both targets, and loses no row', () => {
    for (const name of EXAMPLES) {
      const plan = planModel(parseModelText(exampleText(name)));
      const schedule = scheduleGpu(plan, lowerModel(plan, { target: 'wgsl' }));
      for (const width of [100, 60]) {
        const ts = formatPlanTable(plan, { width });
        expect(longest(ts), `${name} ts ${width}`).toBeLessThanOrEqual(width);
        for (const l of plan.layers) expect(ts, `${name} ts ${width}`).toContain(l.name.slice(0, 8));
        expect(longest(formatGpuSchedule(schedule, { width })), `${name} wgsl ${width}`).toBeLessThanOrEqual(width);
      }
    }
  });

  it('fitTable: zero columns go, headers shorten, cells wrap, columns go by priority, then blocks', () => {
    const cols: FitColumn[] = [
      { header: 'name', priority: Infinity },
      { header: 'kernel', priority: Infinity, wrap: { after: '_', minWidth: 6 } },
      { header: 'zeros', priority: 9, zeroDrop: true },
      { header: 'count', short: 'n', right: true, priority: 2 },
      { header: 'extra', priority: 1 },
    ];
    const rows = [['a', 'conv_fwd_gpu', '0', '12', 'x'], ['bb', 'relu', '0.0', '3', 'y']];
    expect(fitTable(cols, rows, { width: 100, style: 'plain' })).toEqual(['name | kernel       | count | extra', '-----|--------------|-------|------', 'a    | conv_fwd_gpu |    12 | x', 'bb   | relu         |     3 | y', '', 'not shown: zeros (0 in every row)']);
    // 20: the short header (and its legend), the kernel wrapped after "_", extra (lowest priority) gone
    expect(fitTable(cols, rows, { width: 20, style: 'plain' })).toEqual([
      'name | kernel   |  n', '-----|----------|---', 'a    | conv_    | 12', '     | fwd_gpu  |', 'bb   | relu     |  3', '',
      'not shown: zeros (0', 'in every row)', 'n: count', 'not shown at 20', 'columns: extra (a', 'wider terminal,', '--width N or --json', 'shows them)',
    ]);
    // 12: name and kernel (required) cannot fit: one block per row
    expect(fitTable(cols, rows, { width: 12, style: 'plain' })).toEqual([
      'a', '  kernel:', '  conv_fwd_', '  gpu', '  count: 12', '  extra: x',
      'bb', '  kernel:', '  relu', '  count: 3', '  extra: y', '',
      'not shown:', 'zeros (0 in', 'every row)',
    ]);
    expect(wrapCell('conv_fwd_gpu', 6, '_')).toEqual(['conv_', 'fwd_', 'gpu']);
    expect(wrapCell('abcdefgh', 3)).toEqual(['abc', 'def', 'gh']);
  });
});
