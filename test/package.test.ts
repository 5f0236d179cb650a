// convgen as an app installs it: the packed tarball installed into a fresh folder with no dev
// tools (no typescript, no tsx), then the CLI (both flavours), the generated module imported
// from plain Node, the package API, and types that resolve for an app's TypeScript.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { appEnv, packTarball } from './helpers/pack.ts';
import { readmeBlock } from './helpers/readme.ts';
import { CONFIGS, STRICT } from './helpers/tsconfigs.ts';

let tarball = '';
let app = '';

const run = (cmd: string, args: string[], cwd = app) => spawnSync(cmd, args, { cwd, encoding: 'utf8', env: appEnv });
const convgen = (...args: string[]) => run(process.execPath, [join(app, 'node_modules', 'convgen', 'bin', 'convgen.js'), ...args]);

beforeAll(() => {
  tarball = packTarball();
  app = mkdtempSync(join(tmpdir(), 'convgen-app-'));
  // a CommonJS app (no "type"): the generated JS flavour must bring its own ESM marker
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }, null, 2));
  const r = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
  if (r.status !== 0) throw new Error(`npm install of the tarball failed:\n${r.stderr}`);
  copyFileSync('examples/lenet.json', join(app, 'lenet.json'));
}, 180_000);
afterAll(() => app && rmSync(app, { recursive: true, force: true }));

describe('the tarball', () => {
  it('ships the compiled CLI, the API with types, the templates and the schema, and nothing of the repository', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['bin/convgen.js', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts', 'dist/io/safetensors.js', 'templates/index.ts.hbs', 'schema/model.schema.json', 'README.md', 'package.json']) {
      expect(files).toContain(f);
    }
    for (const dir of ['src/', 'test/', 'generated/', 'bench/', 'examples/', '.ci/', 'scripts/', 'node_modules/']) {
      expect(files.filter((f) => f.startsWith(dir))).toEqual([]);
    }
  });

  it('installs without dev tools: no typescript, no tsx', () => {
    expect(existsSync(join(app, 'node_modules', 'convgen', 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  });
});

describe('the CLI in an app', () => {
  it('--help prints the commands', () => {
    const r = convgen('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/convgen build\s+model.json/);
  });

  it('builds both flavours; the JS one trains in plain Node', { timeout: 60_000 }, () => {
    for (const emit of ['ts', 'js']) {
      const r = convgen('build', 'lenet.json', '--emit', emit, '--out', `gen-${emit}`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^wrote gen-${emit}/lenet5/ \\(\\d+ files\\)`));
    }
    writeFileSync(
      join(app, 'train.mjs'),
      `import { createModel } from './gen-js/lenet5/index.js';
import * as gpu from './gen-js/lenet5/gpu.js';
const model = createModel({ seed: 1 });
// a learnable batch: each class its own frequency
const labels = Int32Array.from({ length: 32 }, (_, i) => i % 10);
const x = new Float32Array(32 * 784).map((_, i) => Math.sin((i % 784) * 0.05 * (1 + labels[Math.floor(i / 784)])));
const losses = [];
for (let i = 0; i < 10; i++) { losses.push(model.lossAndGrad(x, labels)); model.sgdStep(0.05, { momentum: 0.9 }); }
console.log(JSON.stringify({ losses, gpu: typeof gpu.createGpuModel }));
`,
    );
    const r = run(process.execPath, ['train.mjs']);
    expect(r.stderr).toBe('');
    const { losses, gpu } = JSON.parse(r.stdout) as { losses: number[]; gpu: string };
    expect(gpu).toBe('function');
    expect(losses.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]!);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.03);
  });

  it('the .ts flavour the app built type-checks under every strict app configuration', { timeout: 120_000 }, () => {
    expect(existsSync(join(app, 'gen-ts', 'lenet5', 'index.ts'))).toBe(true);
    for (const [i, c] of CONFIGS.entries()) {
      // each configuration an app of its own: its package.json files, generated/ copied in
      const root = join(app, `typecheck-${i}`);
      cpSync(join(app, 'gen-ts'), join(root, 'generated'), { recursive: true });
      for (const [folder, pkg] of Object.entries(c.packages)) {
        mkdirSync(join(root, folder), { recursive: true });
        writeFileSync(join(root, folder, 'package.json'), JSON.stringify(pkg));
      }
      const dir = join(root, 'generated', 'lenet5');
      const roots = [...readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)), ...readdirSync(join(dir, 'layers')).map((f) => join(dir, 'layers', f))];
      const program = ts.createProgram(roots, { ...STRICT, ...c.options });
      const diags = ts.getPreEmitDiagnostics(program).slice(0, 5);
      expect(ts.formatDiagnostics(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }), c.name).toBe('');
    }
  });

  it('bad input: exit 2, one line naming the file, no stack trace, nothing written', () => {
    writeFileSync(join(app, 'bad.json'), JSON.stringify({ name: 'bad', batch: 1, input: [1, 4, 4], layers: [{ type: 'conv2d', out_channels: 2, kernel: 9 }] }));
    const r = convgen('build', 'bad.json', '--out', 'gen-bad');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^convgen build: bad.json: layers\[0\]/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(app, 'gen-bad'))).toBe(false);
  });

  it('check runs without typescript in the app', { timeout: 60_000 }, () => {
    const r = convgen('check', 'lenet.json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/model lenet5 \(target ts, seed 1\): all within tolerance/);
  });
});

describe('the package API in an app', () => {
  it('imports from plain Node and builds in memory', () => {
    writeFileSync(
      join(app, 'api.mjs'),
      `import { build, plan, formatPlanTable } from 'convgen';
import { readFileSync } from 'node:fs';
const model = JSON.parse(readFileSync('lenet.json', 'utf8'));
const r = await build(model, { target: 'ts', emit: 'js' });
console.log(JSON.stringify({ name: r.name, files: Object.keys(r.files).length, table: formatPlanTable(plan('lenet.json')).split('\\n').length }));
`,
    );
    const r = run(process.execPath, ['api.mjs']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { name: string; files: number; table: number };
    expect(out.name).toBe('lenet5');
    expect(out.files).toBeGreaterThan(20);
    expect(out.table).toBeGreaterThan(10);
  });

  it("its types resolve for an app's TypeScript (nodenext and bundler)", () => {
    writeFileSync(
      join(app, 'api-use.mts'),
      `import { build, check, ConvgenError, type BuildResult, type CheckReport } from 'convgen';
import { decodeSafetensors } from 'convgen/safetensors';
export async function go(): Promise<[BuildResult, CheckReport]> {
  const r = await build('lenet.json', { emit: 'js', target: 'ts', strategy: 'auto' });
  const c = await check('lenet.json', { seed: 2 });
  if (!(r.plan.layers.length > 0) || c.failures !== 0) throw new ConvgenError('x', 'y', 'z');
  decodeSafetensors(new Uint8Array(0));
  return [r, c];
}
`,
    );
    for (const moduleResolution of [ts.ModuleResolutionKind.NodeNext, ts.ModuleResolutionKind.Bundler]) {
      const options: ts.CompilerOptions = {
        strict: true,
        noEmit: true,
        types: [],
        lib: ['lib.es2022.d.ts'],
        target: ts.ScriptTarget.ES2022,
        module: moduleResolution === ts.ModuleResolutionKind.NodeNext ? ts.ModuleKind.NodeNext : ts.ModuleKind.ESNext,
        moduleResolution,
        skipLibCheck: false,
        verbatimModuleSyntax: true,
      };
      const program = ts.createProgram([join(app, 'api-use.mts')], options);
      const diags = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || !d.file.fileName.includes('/node_modules/@types/'));
      const text = ts.formatDiagnostics(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => app, getNewLine: () => '\n' });
      expect(text).toBe('');
    }
  });
});

describe("the README's app snippets, run as written", () => {
  it('the CLI block (npm install is the tarball here)', () => {
    for (const line of readmeBlock('cli').split('\n')) {
      const cmd = line.replace(/\s+#.*$/, '').trim();
      if (cmd === '' || cmd === 'npm install convgen') continue;
      const r = run('bash', ['-c', cmd], app);
      expect(r.stderr, cmd).toBe('');
      expect(r.status, cmd).toBe(0);
    }
    expect(existsSync(join(app, 'generated', 'lenet5', 'index.js'))).toBe(true);
  });

  it('train.mjs trains a step and saves PyTorch weights', () => {
    writeFileSync(join(app, 'train.mjs'), readmeBlock('train.mjs'));
    const r = run(process.execPath, ['train.mjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^loss \d+\.\d{4}\n$/);
    expect(existsSync(join(app, 'lenet5.safetensors'))).toBe(true);
  });

  it('api.mjs plans, builds, writes and checks', { timeout: 60_000 }, () => {
    writeFileSync(join(app, 'api.mjs'), readmeBlock('api.mjs'));
    const r = run(process.execPath, ['api.mjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^61706\n\d+ files, all within tolerance\n$/);
  });
});
