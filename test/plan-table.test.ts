// convgen plan's table: one snapshot per example (test/__snapshots__/plan-table/*.txt), and
// the k/s/p/d cell for the cases a snapshot of the examples does not show
import { describe, expect, it } from 'vitest';
import { planModel } from '../src/plan/plan.ts';
import { formatPlanTable } from '../src/plan/table.ts';
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
