// `convgen plan` end to end, through bin/convgen.js as a user runs it (no build step)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planFile } from '../src/cli/plan.ts';
import { formatPlanTable } from '../src/plan/table.ts';
import { EXAMPLES } from './spec-mutations.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const convgen = (...args: string[]) => spawnSync(process.execPath, ['bin/convgen.js', ...args], { cwd: root, encoding: 'utf8' });
const examples = EXAMPLES.map((e) => `examples/${e}.json`);

describe('convgen plan', () => {
  it('prints the table of every example and exits 0', () => {
    const r = convgen('plan', ...examples);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(examples.map((f) => formatPlanTable(planFile(join(root, f)))).join('\n'));
  });

  it('--json prints the plan as data', () => {
    const r = convgen('plan', 'examples/lenet.json', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(planFile(join(root, 'examples/lenet.json')));
  });

  it('a bad file: one line on stderr naming the file and the path, exit 2, nothing on stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-cli-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'm', batch: 1, input: [1, 4, 4], layers: [{ type: 'conv2d', out_channels: 2, kernel: 7 }] }));
    const r = convgen('plan', 'examples/seed.json', bad);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`convgen plan: ${bad}: layers[0] (conv2d "conv2d0"): output height = floor((4 + 0 + 0 - 1*(7-1) - 1) / 1) + 1 = -2 <= 0: the input (4) is smaller than the kernel (7); add padding or use a smaller kernel\n`);
  });

  it('--help prints the flags; bad usage exits 2', () => {
    const help = convgen('plan', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--json');
    expect(help.stdout).toContain('--strategy');
    const flag = convgen('plan', 'examples/seed.json', '--jsn');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe('convgen plan: --jsn: unknown flag; see convgen plan --help\n');
  });
});

describe('planFile', () => {
  it('forces a strategy when asked', () => {
    const plan = planFile(join(root, 'examples/vgg.json'), { strategy: 'im2row' });
    for (const l of plan.layers) if ('schedule' in l) expect(l.schedule).toEqual({ forward: 'im2row', gradInput: 'im2row', gradWeight: 'im2row' });
  });

  it('attributes planner errors to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-cli-'));
    const f = join(dir, 'm.json');
    writeFileSync(f, JSON.stringify({ name: 'm', batch: 1, input: [1, 4, 4], layers: [{ type: 'linear', out_features: 2 }] }));
    expect(() => planFile(f)).toThrow(`${f}: layers[0] (linear "linear0"): linear needs a vector per sample, but its input is [1, 4, 4]; add a { "type": "flatten" } layer before it`);
  });
});
