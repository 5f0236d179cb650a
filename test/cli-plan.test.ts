// `convgen plan` end to end, through bin/convgen.js as a user runs it (no build step)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planCommand, planFile } from '../src/cli/plan.ts';
import { runCaptured } from './helpers/cli.ts';
import { formatPlanTable } from '../src/plan/table.ts';
import { scheduleLinear, scheduleModel } from '../src/plan/schedule.ts';
import { formatConvSchedule, formatLinearSchedule } from '../src/plan/schedule-table.ts';
import type { LinearLayerPlan } from '../src/plan/types.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { formatGpuSchedule, scheduleGpu } from '../src/gpu/schedule.ts';
import { DEFAULT_LIMITS } from '../src/gpu/limits.ts';
import { EXAMPLES } from './spec-mutations.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** the CLI with stdout a pipe and no $COLUMNS (full tables), unless `env` sets it */
const convgenEnv = (env: Record<string, string>, ...args: string[]) => {
  const { COLUMNS: _, ...rest } = process.env;
  return spawnSync(process.execPath, ['bin/convgen.js', ...args], { cwd: root, encoding: 'utf8', env: { ...rest, ...env } });
};
const convgen = (...args: string[]) => convgenEnv({}, ...args);
const examples = EXAMPLES.map((e) => `examples/${e}.json`);

// each test spawns the CLI a few times: 30 s, not vitest's 5 s, for a loaded CI machine
describe('convgen plan', { timeout: 30_000 }, () => {
  it('prints the table of every example and exits 0: the full tables when stdout is not a terminal, $COLUMNS when set', () => {
    const fitted = convgenEnv({ COLUMNS: '100' }, 'plan', ...examples);
    expect(fitted.stdout).toBe(examples.map((f) => formatPlanTable(planFile(join(root, f)), { width: 100 })).join('\n'));
    const r = convgen('plan', ...examples);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(examples.map((f) => formatPlanTable(planFile(join(root, f)))).join('\n'));
    expect(Math.max(...fitted.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    // --width: the full table when it is wide enough
    expect(convgen('plan', 'examples/vgg.json', '--width', '200').stdout).toBe(formatPlanTable(planFile(join(root, 'examples/vgg.json'))));
    expect(convgen('plan', 'examples/vgg.json', '--width=60').stdout).toBe(formatPlanTable(planFile(join(root, 'examples/vgg.json')), { width: 60 }));
  });

  // in process (planCommand): nine runs of every example would take a minute as child processes
  it('at any width from 20 up, no line of any target\'s output is wider: titles and notes wrap too', async () => {
    for (const target of ['ts', 'wgsl', 'wasm']) {
      for (const width of [20, 33, 60]) {
        const r = await runCaptured(planCommand, [...examples.map((f) => join(root, f)), '--target', target, '--width', String(width)]);
        expect(r.code).toBe(0);
        expect(r.out.split('\n').filter((l) => l.length > width)).toEqual([]);
      }
    }
  }, 60_000);

  it('--width must be a whole number of columns, 20 or more', () => {
    for (const bad of ['19', 'wide', '']) {
      const r = convgen('plan', 'examples/vgg.json', `--width=${bad}`);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`convgen plan: --width: must be a whole number of columns, 20 or more, got ${JSON.stringify(bad)}; write --width 100, or leave it out for the terminal's width\n`);
    }
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

  it('a graph error (a reference to a layer below, an add of two shapes): exit 2, one line with the JSON path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convgen-cli-'));
    const conv = (name: string, extra = {}) => ({ type: 'conv2d', name, out_channels: 2, kernel: 3, ...extra });
    const below = join(dir, 'below.json');
    writeFileSync(below, JSON.stringify({ name: 'm', batch: 1, input: [1, 8, 8], layers: [conv('a'), { type: 'add', inputs: ['a', 'b'] }, conv('b')] }));
    let r = convgen('plan', below);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^convgen plan: ${below.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: layers\\[1\\]\\.inputs\\[1\\]: "b" is layers\\[2\\], below this layer: .*\n$`));
    const shapes = join(dir, 'shapes.json');
    writeFileSync(shapes, JSON.stringify({ name: 'm', batch: 1, input: [1, 8, 8], layers: [conv('a'), conv('b', { inputs: ['input'], padding: 1 }), { type: 'add', inputs: ['a', 'b'] }] }));
    r = convgen('build', shapes, '--out', join(dir, 'out'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${shapes}: layers[2] (add "add2").inputs: add sums inputs of one shape, but "a" gives [2, 6, 6] and "b" gives [2, 8, 8] (per sample)`);
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

describe('convgen plan --target wgsl', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convgen-cli-wgsl-'));
  const limitsFile = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const scheduleOf = (file: string, limits = DEFAULT_LIMITS) => {
    const plan = planFile(join(root, file));
    return scheduleGpu(plan, lowerModel(plan, { target: 'wgsl' }), limits);
  };

  it('prints the schedule of the wgsl program per model; --json prints it as data; the default target is unchanged', () => {
    const r = convgen('plan', 'examples/lenet.json', 'examples/seed.json', '--target', 'wgsl', '--width', '1000');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const wide = { width: 1000 };
    const both = (f: string) => `${formatConvSchedule(scheduleModel(planFile(join(root, f)), 'wgsl'), wide)}\n${formatGpuSchedule(scheduleOf(f), wide)}`;
    expect(r.stdout).toBe(`model lenet5 (target wgsl)\n${both('examples/lenet.json')}\nmodel seed_problem (target wgsl)\n${both('examples/seed.json')}`);
    // the wgsl program (GPU-shaped convs), not the TS one (direct / im2row)
    expect(r.stdout).toMatch(/^c1 +\| forward +\| conv5x5_p2_1x28x28_to_6_fwd_gpu +\| main +\| 75264 \(/m);
    expect(r.stdout).not.toMatch(/_(direct|im2row)\b/);
    const json = convgen('plan', 'examples/seed.json', '--target=wgsl', '--json');
    expect(json.status).toBe(0);
    const seed = planFile(join(root, 'examples/seed.json'));
    expect(JSON.parse(json.stdout)).toEqual({ model: 'seed_problem', conv: scheduleModel(seed, 'wgsl').layers, ...JSON.parse(JSON.stringify(scheduleOf('examples/seed.json'))) });
    // --target ts: the plan table, then the TS conv schedule (fitted to 100 columns: not a terminal)
    expect(convgen('plan', 'examples/seed.json', '--target', 'ts').stdout).toBe(`${formatPlanTable(seed)}\n${formatConvSchedule(scheduleModel(seed, 'ts'))}`);
    // --target wasm: the same with the wasm target's conv schedule, then its linear schedule
    const linears = seed.layers.filter((l): l is LinearLayerPlan => l.type === 'linear').map((l) => scheduleLinear(l, 'wasm'));
    expect(convgen('plan', 'examples/seed.json', '--target', 'wasm').stdout).toBe(`${formatPlanTable(seed)}\n${formatConvSchedule(scheduleModel(seed, 'wasm'))}\n${formatLinearSchedule(linears)}`);
    // LeNet's f5 (batch 32): W packed for the forward and for dx
    const lenetWasm = convgen('plan', 'examples/lenet.json', '--target', 'wasm', '--width', '1000').stdout;
    expect(lenetWasm).toMatch(/^\| f5 +\| forward +\| gemm +\| 4x8 GEMM +\| W packed per call into column panels/m);
    expect(lenetWasm).toMatch(/^\| +\| gradInput +\| gemm +\| 4x8 GEMM +\| W's columns packed per call/m);
  });

  it('--limits: missing keys keep the defaults, a small dispatch limit folds grids into 2D', () => {
    const f = limitsFile('fold.json', JSON.stringify({ maxComputeWorkgroupsPerDimension: 100, maxTextureDimension2D: 8192 }));
    const r = convgen('plan', 'examples/lenet.json', '--target', 'wgsl', '--limits', f, '--width', '1000');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const limits = { ...DEFAULT_LIMITS, maxComputeWorkgroupsPerDimension: 100 };
    expect(r.stdout).toBe(`model lenet5 (target wgsl)\n${formatConvSchedule(scheduleModel(planFile(join(root, 'examples/lenet.json')), 'wgsl'), { width: 1000 })}\n${formatGpuSchedule(scheduleOf('examples/lenet.json', limits), { width: 1000 })}`);
    expect(r.stdout).toContain('limits: 100 workgroups/dim, 256 invocations/workgroup');
    // every grid fits the limit, and the big ones fold into 2D / 3D
    const grids = [...r.stdout.matchAll(/\| (\d+)x(\d+)x(\d+) +\|/g)].map((m) => m.slice(1, 4).map(Number));
    expect(grids.length).toBeGreaterThan(30);
    for (const g of grids) expect(Math.max(...g)).toBeLessThanOrEqual(100);
    expect(grids.some((g) => g[1] > 1)).toBe(true);
  });

  it('a limit breach: exit 2, one line naming the file, the layer and the limit, nothing on stdout', () => {
    const f = limitsFile('tiny.json', JSON.stringify({ maxStorageBufferBindingSize: 100000 }));
    const r = convgen('plan', 'examples/seed.json', 'examples/lenet.json', '--target', 'wgsl', '--limits', f);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^convgen plan: examples\/lenet\.json: layers\[0\] \(conv2d "c1"\): kernel conv5x5_p2_1x28x28_to_6_fwd_gpu binds buffer 'x' of 100352 bytes .*over maxStorageBufferBindingSize = 100000; .*--limits.*\n$/);
  });

  it('a bad limits file: exit 2 naming the file and the fix', () => {
    const missing = join(dir, 'none.json');
    const cases: [string, RegExp][] = [
      [missing, /no such file; pass --limits a JSON file of WebGPU limits/],
      [limitsFile('bad.json', '{"maxStorageBufferBindingSize": '), /not valid JSON \(.*\); pass --limits a JSON file of WebGPU limits/],
      [limitsFile('list.json', '[1, 2]'), /expected a JSON object of WebGPU limits/],
      [limitsFile('zero.json', '{"maxComputeInvocationsPerWorkgroup": 0}'), /\.maxComputeInvocationsPerWorkgroup: expected a positive integer, got 0/],
      [dir, /it is a folder, not a limits file/],
    ];
    for (const [f, why] of cases) {
      const r = convgen('plan', 'examples/seed.json', '--target', 'wgsl', '--limits', f);
      expect(r.status, f).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.startsWith(`convgen plan: ${f}`), r.stderr).toBe(true);
      expect(r.stderr).toMatch(why);
    }
  });

  it('usage errors: --limits needs a file and the wgsl target; an unknown target; --help names the flags', () => {
    const f = limitsFile('ok.json', '{}');
    expect(convgen('plan', 'examples/seed.json', '--limits', f).stderr).toBe('convgen plan: --limits: WebGPU limits apply to the WGSL target only; add --target wgsl (or all, for build), or drop --limits\n');
    expect(convgen('plan', 'examples/seed.json', '--target', 'wgsl', '--limits').stderr).toBe('convgen plan: --limits: needs a file; write --limits limits.json\n');
    const bad = convgen('plan', 'examples/seed.json', '--target', 'cuda');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^convgen plan: --target: must be one of ts, wgsl, wasm, got "cuda"/);
    const help = convgen('plan', '--help');
    expect(help.stdout).toContain('--target ts|wgsl');
    expect(help.stdout).toContain('--limits FILE');
  });
});
